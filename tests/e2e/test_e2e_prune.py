"""`revisions --prune` never removes a way back: the observed failures of issue 10, end to end."""

from __future__ import annotations

import time

from tests.conftest import ecs_state
from tests.e2e.test_e2e_deploy import deploy, service


def _active(aws) -> list[int]:
    arns = aws.client("ecs").list_task_definitions(familyPrefix="web", status="ACTIVE")["taskDefinitionArns"]
    return sorted(int(a.rsplit(":", 1)[-1]) for a in arns)


def _until_back_on(aws, platform, revision: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        svc = service(aws, platform)
        if svc["taskDefinition"].endswith(revision) and [d.get("rolloutState") for d in svc["deployments"]] == ["COMPLETED"]:
            return
        time.sleep(0.1)
    raise AssertionError(f"the service never went back to {revision}")


def _kept(result) -> dict[int, str]:
    return {int(k["task_definition"].rsplit(":", 1)[-1]): k["why"] for k in result.json["services"][0]["kept"]}


def test_keep_1_keeps_the_rollback_target_and_a_revision_another_service_runs(app, aws, platform):
    cluster = platform["outputs"]["ClusterName"]
    for tag in ("v1", "v2", "v3"):
        assert deploy(app, platform, tag).code == 0
    # Another service of the cluster runs web:1 (a canary, say).
    live = service(aws, platform)
    aws.client("ecs").create_service(
        cluster=cluster, serviceName="web-canary", taskDefinition="web:1", desiredCount=1, launchType="FARGATE",
        networkConfiguration=live["networkConfiguration"],
    )
    aws.mark_broken("*:broken")
    assert deploy(app, platform, "broken").code == 1  # web:4 failed; ECS rolled back to web:3

    result = app.cli("revisions", "--prune", "--keep", "1", "--output", "json")
    assert result.code == 0, result.stderr
    kept = _kept(result)
    assert kept[3].startswith("running")
    assert kept[2] == "rollback target of web (the previous healthy revision)"
    assert kept[1] == "runs service web-canary"
    assert [int(a.rsplit(":", 1)[-1]) for a in result.json["services"][0]["deregistered"]] == [4]
    assert _active(aws) == [1, 2, 3]
    # And the way back works: rollback goes to web:2.
    back = app.cli("rollback", "--yes", "--output", "json")
    assert back.code == 0, back.stderr
    assert service(aws, platform)["taskDefinition"].endswith("web:2")


def test_default_keep_counts_healthy_revisions_first_after_ten_failed_releases(app, aws, platform):
    for tag in ("v1", "v2"):
        assert deploy(app, platform, tag).code == 0
    aws.mark_broken("*:broken-*")
    # Ten failed releases, each rolled back by the circuit breaker (not watched, to keep the test short).
    for n in range(10):
        assert deploy(app, platform, f"broken-{n}", "--no-wait").code == 0
        _until_back_on(aws, platform, "web:2")
    assert service(aws, platform)["taskDefinition"].endswith("web:2")
    assert _active(aws) == list(range(1, 13))

    dry = app.cli("revisions", "--prune", "--dry-run", "--output", "json")
    assert dry.code == 0 and dry.json["status"] == "planned"
    assert _active(aws) == list(range(1, 13))  # a dry run deregisters nothing

    result = app.cli("revisions", "--prune", "--output", "json")
    assert result.code == 0, result.stderr
    kept = _kept(result)
    assert kept[2].startswith("running") and kept[1] == "rollback target of web (the previous healthy revision)"
    # Ten kept, the two healthy ones first, then the eight newest failed ones: web:3 and web:4 go.
    assert sorted(kept) == [1, 2] + list(range(5, 13))
    assert _active(aws) == [1, 2] + list(range(5, 13))
    assert app.cli("rollback", "--yes").code == 0
    assert service(aws, platform)["taskDefinition"].endswith("web:1")


def test_prune_keeps_every_revision_a_deployment_of_any_service_uses(app, aws, platform):
    cluster = platform["outputs"]["ClusterName"]
    for tag in ("v1", "v2", "v3", "v4"):
        assert deploy(app, platform, tag).code == 0
    live = service(aws, platform)
    ecs = aws.client("ecs")
    ecs.create_service(cluster=cluster, serviceName="web-canary", taskDefinition="web:1", desiredCount=1, launchType="FARGATE",
                       networkConfiguration=live["networkConfiguration"])
    aws.configure(tick=5.0)  # the canary's next deployment stays in progress: web:1 ACTIVE, web:2 PRIMARY
    ecs.update_service(cluster=cluster, service="web-canary", taskDefinition="web:2")
    canary = ecs.describe_services(cluster=cluster, services=["web-canary"])["services"][0]
    assert {d["taskDefinition"].rsplit(":", 1)[-1] for d in canary["deployments"]} == {"1", "2"}

    before = ecs_state(aws, cluster)
    result = app.cli("revisions", "--prune", "--keep", "1", "--output", "json")
    assert result.code == 0, result.stderr
    kept = _kept(result)
    assert kept[4].startswith("running") and kept[3].startswith("rollback target")
    assert kept[2] == "runs service web-canary"
    assert kept[1].startswith("used by deployment ecs-svc/") and kept[1].endswith("of service web-canary")
    assert result.json["services"][0]["deregistered"] == []
    assert ecs_state(aws, cluster) == before
