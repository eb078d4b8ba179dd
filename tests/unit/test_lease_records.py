"""deployer/release/lease.py without AWS: a lease record parsed and judged live or expired, who owns a claim,
where the lease lives and how long a release waits for it. Acquiring, waiting, taking over and
losing it against SSM of the local AWS: tests/e2e/test_lease.py."""

from __future__ import annotations

import json
from datetime import timedelta

from deployer.release import lease

PATH = lease.lease_path("demo", "web")


def claim(owner: str, ttl: int = 30) -> lease.Claim:
    return lease.Claim(owner=owner, command="deploy", ttl=ttl, token=owner + "-token", started_at=lease.now())


def test_records_parse_and_judge_liveness():
    """Unit-level: liveness by SSM's clock (the record's age), never by the holder's expires_at
    (more cases in tests/unit/test_lease_expiry.py)."""
    at = lease.now()
    value = claim("m", ttl=10).value()
    record = lease.Record.parse(f"{PATH}/g0000000003", json.dumps(value), version=4, modified_at=at, server_now=at + timedelta(seconds=3))
    assert record.generation == 3 and record.owner == "m" and record.ttl == 10 and record.age == 3
    assert lease.staleness(record, lease.Watcher(), 120) is None
    old = lease.Record.parse(f"{PATH}/g0000000003", json.dumps(value), version=4, modified_at=at, server_now=at + timedelta(seconds=13))
    assert "its last heartbeat was 13s ago by SSM's clock (ttl 10s)" == lease.staleness(old, lease.Watcher(), 120)
    released = lease.Record.parse(f"{PATH}/g0000000004", json.dumps({**value, "released": True}))
    assert lease.staleness(released, lease.Watcher(), 120) == "released"
    garbled = lease.Record.parse(f"{PATH}/g0000000005", "not json")
    assert garbled.owner == "an unknown holder" and lease.staleness(garbled, lease.Watcher(), 120)  # unreadable counts as expired
    assert lease.Record.parse(f"{PATH}/other", "{}") is None
    assert lease.head([record, garbled]).generation == 5


def test_owner_is_the_codebuild_build_id_else_user_at_host_and_pid(monkeypatch):
    monkeypatch.setenv("CODEBUILD_BUILD_ID", "web-release:0f1e2d3c")
    assert lease.whoami() == "web-release:0f1e2d3c"
    monkeypatch.delenv("CODEBUILD_BUILD_ID")
    import os

    assert lease.whoami().endswith(f" pid {os.getpid()}") and "@" in lease.whoami()


def test_how_long_a_release_waits_for_the_lease():
    from types import SimpleNamespace

    from deployer.release.context import Options

    def run(**flags):
        return SimpleNamespace(options=Options(**flags), timeout=300, config=SimpleNamespace(deploy=SimpleNamespace(lock_ttl=120)))

    assert lease.wait_seconds(run()) is None  # refuse at once
    assert lease.wait_seconds(run(wait_for_lock=True)) == 2 * 300 + 120  # a release and its rollback
    assert lease.wait_seconds(run(wait_for_lock=True, lock_timeout=45)) == 45
    assert lease.wait_seconds(run(lock_timeout=45)) == 45  # --lock-timeout alone waits too


def test_the_lease_path_names_the_cluster_also_when_given_its_arn():
    assert lease.lease_path("demo", "web") == "/deployer/locks/demo/web"
    assert lease.lease_path("arn:aws:ecs:us-east-1:123456789012:cluster/demo", "web") == "/deployer/locks/demo/web"
