"""End to end: the real `deployer` command against the local AWS over HTTP (no Docker: deploy --image)."""

from __future__ import annotations

from tests.conftest import ecs_state, image_ref

REPO_DIGEST = "sha256:" + "a" * 64


def deploy(app, platform, tag: str, *extra: str):
    return app.cli("deploy", "--image", image_ref(platform, tag), "--output", "json", *extra)


def service(aws, platform, name="web"):
    return aws.client("ecs").describe_services(cluster=platform["outputs"]["ClusterName"], services=[name])["services"][0]


def tags_of(aws, arn):
    return {t["key"]: t["value"] for t in aws.client("ecs").describe_task_definition(taskDefinition=arn, include=["TAGS"])["tags"]}


def test_first_deploy_creates_the_service_then_a_healthy_update(app, aws, platform):
    first = deploy(app, platform, "v1")
    assert first.code == 0, first.stderr
    result = first.json
    assert result["status"] == "deployed"
    assert result["task_definition"].endswith("task-definition/web:1")
    assert result["previous_task_definition"] is None
    svc = service(aws, platform)
    assert svc["taskDefinition"] == result["task_definition"]
    assert svc["runningCount"] == svc["desiredCount"] == 2
    # Network and load balancer came from the environment outputs.
    out = platform["outputs"]
    assert sorted(svc["networkConfiguration"]["awsvpcConfiguration"]["subnets"]) == sorted([out["PrivateSubnet1"], out["PrivateSubnet2"]])
    assert svc["loadBalancers"][0]["targetGroupArn"] == out["TargetGroupArn"]
    td = aws.client("ecs").describe_task_definition(taskDefinition=result["task_definition"])["taskDefinition"]
    assert td["containerDefinitions"][0]["image"] == image_ref(platform, "v1")
    assert td["executionRoleArn"] == out["TaskExecutionRoleArn"]
    assert "deployer:healthy" in tags_of(aws, result["task_definition"])
    # Progress went to stderr, the JSON object alone to stdout.
    assert "web:1" in first.stderr and first.stdout.count("\n") == 1

    second = deploy(app, platform, "v2")
    assert second.code == 0, second.stderr
    assert second.json["task_definition"].endswith("web:2")
    assert second.json["previous_task_definition"].endswith("web:1")
    assert service(aws, platform)["taskDefinition"].endswith("web:2")
    assert "has reached a steady state" in second.stderr or "completed" in second.stderr


def test_same_image_twice_registers_nothing(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    before = ecs_state(aws, platform["outputs"]["ClusterName"])
    again = deploy(app, platform, "v1")
    assert again.code == 0, again.stderr
    assert again.json["status"] == "unchanged"
    assert "already deployed" in again.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"]) == before


def test_failing_update_with_circuit_breaker_ends_on_previous_revision(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    aws.mark_broken("*:broken", reason="exit 1: cannot connect to database")
    failed = deploy(app, platform, "broken")
    assert failed.code == 1, failed.stderr
    result = failed.json
    assert result["status"] == "rolled_back"
    assert result["services"][0]["verdict"] == "ROLLED_BACK_BY_ECS"
    assert "circuit breaker" in failed.stderr
    svc = service(aws, platform)
    assert svc["taskDefinition"].endswith("web:1")
    assert "deployer:healthy" not in tags_of(aws, result["task_definition"])


def test_failing_update_without_breaker_fails_at_the_threshold_and_deployer_rolls_back(app, aws, platform):
    app.edit("ecs-service-def.json.j2", '"deploymentCircuitBreaker": { "enable": true, "rollback": true }', '"deploymentCircuitBreaker": { "enable": false, "rollback": false }')
    assert deploy(app, platform, "v1").code == 0
    aws.mark_broken("*:broken")
    failed = deploy(app, platform, "broken", "--timeout", "60")
    assert failed.code == 1, failed.stderr
    result = failed.json
    assert result["services"][0]["verdict"] == "FAILED"
    assert result["services"][0]["rolled_back_to"].endswith("web:1")
    assert result["services"][0]["rollback_state"] == "COMPLETED"
    assert "the service has no circuit breaker" in failed.stderr and "timed out" not in failed.stderr
    assert service(aws, platform)["taskDefinition"].endswith("web:1")


def test_rollback_goes_to_last_healthy_revision_not_n_minus_1(app, aws, platform):
    app.edit("ecs-service-def.json.j2", '"deploymentCircuitBreaker": { "enable": true, "rollback": true }', '"deploymentCircuitBreaker": { "enable": true, "rollback": false }')
    assert deploy(app, platform, "v1").code == 0  # web:1 healthy
    aws.mark_broken("*:broken")
    # web:2 fails; deployer itself puts the service back on web:1 (the breaker does not roll back).
    assert deploy(app, platform, "broken").code == 1
    assert service(aws, platform)["taskDefinition"].endswith("web:1")
    assert deploy(app, platform, "v3").code == 0  # web:3 healthy
    # N-1 would be the failed web:2; the last healthy revision before web:3 is web:1.
    back = app.cli("rollback", "--output", "json")
    assert back.code == 0, back.stderr
    assert back.json["services"][0]["to"].endswith("web:1")
    assert service(aws, platform)["taskDefinition"].endswith("web:1")

    forward = app.cli("rollback", "--to", "3", "--output", "json")
    assert forward.code == 0, forward.stderr
    assert service(aws, platform)["taskDefinition"].endswith("web:3")


def test_rollback_refuses_an_inactive_revision(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    assert deploy(app, platform, "v2").code == 0
    aws.client("ecs").deregister_task_definition(taskDefinition="web:1")
    before = ecs_state(aws, platform["outputs"]["ClusterName"])
    refused = app.cli("rollback", "--to", "1")
    assert refused.code == 2
    assert "web:1 is INACTIVE" in refused.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"]) == before


def test_redeploy_a_revision(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    assert deploy(app, platform, "v2").code == 0
    again = app.cli("deploy", "--revision", "1", "--output", "json")
    assert again.code == 0, again.stderr
    assert service(aws, platform)["taskDefinition"].endswith("web:1")
    assert len(aws.client("ecs").list_task_definitions()["taskDefinitionArns"]) == 2


def test_proton_environment_resolves_through_its_stack(app, platform):
    result = app.cli("env", "--output", "json")
    assert result.code == 0, result.stderr
    env = result.json
    assert env["source"] == "proton" and env["stack"] == platform["stack"]
    assert env["stack"].startswith("AWSProton-demo-cloudformation--")
    assert env["cluster"] == platform["outputs"]["ClusterName"]
    text = app.cli("env")
    assert "ClusterName = " in text.stdout and text.code == 0


def test_outputs_remapped(app, aws, platform):
    app.edit("deployer.yaml", "subnets: [PrivateSubnet1, PrivateSubnet2]", "subnets: [PrivateSubnet2]")
    assert deploy(app, platform, "v1").code == 0
    subnets = service(aws, platform)["networkConfiguration"]["awsvpcConfiguration"]["subnets"]
    assert subnets == [platform["outputs"]["PrivateSubnet2"]]


def test_render_prints_both_definitions(app, platform):
    result = app.cli("render", "--image", "repo@" + REPO_DIGEST, "--var", "replicas=3")
    assert result.code == 0, result.stderr
    assert '"image": "repo@' + REPO_DIGEST + '"' in result.stdout
    assert '"desiredCount": 3' in result.stdout
    assert platform["outputs"]["TargetGroupArn"] in result.stdout
    as_json = app.cli("render", "--image", "repo@" + REPO_DIGEST, "--output", "json").json
    assert as_json["web"]["taskDefinition"]["containerDefinitions"][0]["image"] == "repo@" + REPO_DIGEST
    assert as_json["web"]["service"]["cluster"] == platform["outputs"]["ClusterName"]


def test_dry_run_prints_the_plan_and_changes_nothing(app, aws, platform):
    result = app.cli("deploy", "--image", image_ref(platform, "v1"), "--dry-run", "--output", "json")
    assert result.code == 0, result.stderr
    plan = result.json["plan"][0]
    assert [s["call"] for s in plan["steps"]] == ["ecs.RegisterTaskDefinition", "ecs.CreateService"]
    assert ecs_state(aws, platform["outputs"]["ClusterName"])["task_definitions"] == []


def test_rollback_asks_on_a_terminal_and_no_changes_nothing(app, aws, platform):
    import os
    import shlex
    import subprocess
    import sys

    assert deploy(app, platform, "v1").code == 0
    assert deploy(app, platform, "v2").code == 0
    before = ecs_state(aws, platform["outputs"]["ClusterName"])
    env = {**os.environ, **aws.env()}
    env.pop("CI", None)
    command = shlex.join([sys.executable, "-m", "deployer", "rollback"])
    # `script` gives the command a terminal; "n" answers the question.
    proc = subprocess.run(["script", "-qec", command, "/dev/null"], input="n\n", cwd=app.path, env=env, capture_output=True, text=True, timeout=60)
    assert "Roll back web to web:1? [y/N]" in proc.stdout
    assert proc.returncode == 2 and "cancelled: nothing was changed" in proc.stdout
    assert ecs_state(aws, platform["outputs"]["ClusterName"]) == before


def test_desired_count_flag_then_definition_then_left_as_is(app, aws, platform):
    cluster = platform["outputs"]["ClusterName"]
    assert deploy(app, platform, "v1", "--desired-count", "3").code == 0  # the flag wins
    assert service(aws, platform)["desiredCount"] == 3
    assert deploy(app, platform, "v2").code == 0  # then the definition's desiredCount (vars.replicas = 2)
    assert service(aws, platform)["desiredCount"] == 2
    # A definition without desiredCount leaves the service's count alone (autoscaling owns it).
    app.edit("ecs-service-def.json.j2", '"desiredCount": {{ vars.replicas }},', "")
    aws.client("ecs").update_service(cluster=cluster, service="web", desiredCount=4)
    result = deploy(app, platform, "v3")
    assert result.code == 0, result.stderr
    svc = service(aws, platform)
    assert svc["taskDefinition"].endswith("web:3") and svc["desiredCount"] == 4
