"""The common flag groups (@common in deployer/cli/app.py) reach the commands that declare them, through the
real `deployer` command against the local AWS: the lease group on scale, restart and revisions --prune,
which used to be wired by hand, and a flag a command goes without is refused as bad input."""

from __future__ import annotations

import json

from deployer.release import lease
from tests.conftest import ecs_state, image_ref


def hold_lease(aws, platform, owner: str) -> str:
    """Another release holds web's lease: the generation after the last one in SSM (as test_lease.py writes it)."""
    path = lease.lease_path(platform["outputs"]["ClusterName"], "web")
    names = [p["Name"] for p in aws.client("ssm").get_parameters_by_path(Path=path, Recursive=True)["Parameters"]]
    name = lease.generation_name(path, 1 + max((int(n.rsplit("/g", 1)[1]) for n in names), default=0))
    claim = lease.Claim(owner=owner, command="deploy", ttl=600, token=owner + "-token", started_at=lease.now())
    aws.client("ssm").put_parameter(Name=name, Value=json.dumps(claim.value()), Type="String")
    return name


def test_the_lease_flags_reach_scale_restart_and_prune(app, aws, platform):
    assert app.cli("deploy", "--image", image_ref(platform, "v1")).code == 0
    assert app.cli("deploy", "--image", image_ref(platform, "v2")).code == 0
    name = hold_lease(aws, platform, "quinn@ci pid 77")
    held = aws.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
    cluster = platform["outputs"]["ClusterName"]
    before = ecs_state(aws, cluster)
    for command in (["scale", "--desired-count", "3"], ["restart"], ["revisions", "--prune", "--keep", "1", "--yes"]):
        refused = app.cli(*command)
        assert refused.code == 1 and "quinn@ci pid 77 (deploy, since" in refused.stderr, (command, refused.stderr)
        assert "--wait-for-lock" in refused.stderr, (command, refused.stderr)
        bad = app.cli(*command, "--wait-for-lock", "--lock-timeout", "-1")
        assert bad.code == 2 and "--lock-timeout" in bad.stderr, (command, bad.stderr)
    assert ecs_state(aws, cluster) == before
    scaled = app.cli("scale", "--desired-count", "3", "--no-lock", "--output", "json")
    assert scaled.code == 0, scaled.stderr
    assert "--no-lock: not taking the lease" in scaled.stderr
    assert scaled.json["services"][0]["desired_count"] == 3
    pruned = app.cli("revisions", "--prune", "--keep", "1", "--yes", "--no-lock", "--dry-run", "--output", "json")
    assert pruned.code == 0, pruned.stderr
    assert aws.client("ssm").get_parameter(Name=name)["Parameter"]["Value"] == held


def test_a_flag_a_command_goes_without_is_bad_input(app):
    """scale never asks (no --yes), wait only waits (no --no-wait), iam-policy prints a JSON document anyway
    (no --output): each refused by name with exit 2 before anything is read."""
    for command, flag in ((["scale", "--desired-count", "2"], "--yes"), (["wait"], "--no-wait"), (["iam-policy"], "--output")):
        refused = app.cli(*command, flag, *(["json"] if flag == "--output" else []))
        assert refused.code == 2 and f"No such option: {flag}" in refused.stderr, (command, refused.stderr)
