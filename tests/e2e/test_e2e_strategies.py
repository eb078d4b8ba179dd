"""End to end: native ECS blue/green, linear and canary deployments — the real `deployer` command
against the local AWS (tests/localaws/strategies.py walks the lifecycle stages, moves the weights
of the admins' listener rules, bakes, runs lifecycle hooks)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tests.conftest import ecs_state, image_ref

BREAKER = {"enable": True, "rollback": True}


def use_strategy(app, strategy: str, **settings) -> None:
    """The app's service definition asks for a strategy (bake time 1 emulator minute unless set)."""
    config = {"strategy": strategy, "bakeTimeInMinutes": 1, "deploymentCircuitBreaker": BREAKER, **settings}
    (app.path / "ecs-service-def.json.j2").write_text(json.dumps({"desiredCount": 2, "deploymentConfiguration": config}))


def deploy(app, platform, tag: str, *extra: str):
    return app.cli("deploy", "--image", image_ref(platform, tag), "--output", "json", *extra)


def service(aws, platform) -> dict:
    return aws.client("ecs").describe_services(cluster=platform["outputs"]["ClusterName"], services=["web"])["services"][0]


def weights(aws, rule_arn: str) -> dict[str, int]:
    """Target group ARN -> weight on a listener rule."""
    rule = aws.client("elbv2").describe_rules(RuleArns=[rule_arn])["Rules"][0]
    return {g["TargetGroupArn"]: g["Weight"] for g in rule["Actions"][0]["ForwardConfig"]["TargetGroups"]}


def running_task_arns(aws, platform) -> set[str]:
    return set(aws.client("ecs").list_tasks(cluster=platform["outputs"]["ClusterName"], serviceName="web")["taskArns"])


def record(aws, platform) -> dict:
    arn = service(aws, platform)["currentServiceDeployment"]
    return aws.client("ecs").describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]


def released_v1(app, aws, platform, strategy: str = "BLUE_GREEN", **settings) -> str:
    use_strategy(app, strategy, **settings)
    first = deploy(app, platform, "v1")
    assert first.code == 0, first.stderr
    return first.json["task_definition"]


def test_healthy_blue_green_release_keeps_the_wiring_and_judges_after_the_bake(app, aws, platform):
    out = platform["outputs"]
    v1 = released_v1(app, aws, platform)
    advanced = {"alternateTargetGroupArn": out["AlternateTargetGroupArn"], "productionListenerRule": out["ProductionListenerRuleArn"],
                "testListenerRule": out["TestListenerRuleArn"], "roleArn": out["EcsInfrastructureRoleArn"]}
    assert service(aws, platform)["loadBalancers"][0]["advancedConfiguration"] == advanced
    blue = running_task_arns(aws, platform)

    # The UpdateService a release makes leaves loadBalancers alone (unchanged: not sent).
    planned = deploy(app, platform, "v2", "--dry-run")
    update = next(s for s in planned.json["plan"][0]["steps"] if s["call"] == "ecs.UpdateService")
    assert "loadBalancers" not in update["params"] and update["params"]["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"

    aws.reset_counters()
    second = deploy(app, platform, "v2")
    assert second.code == 0, second.stderr
    assert second.json["status"] == "deployed" and second.json["task_definition"] != v1
    assert aws.get_counters()["ecs"]["UpdateService"]["requests"] == 1
    svc = service(aws, platform)
    assert svc["loadBalancers"][0]["advancedConfiguration"] == advanced  # the wiring survived the release
    assert svc["taskDefinition"] == second.json["task_definition"]
    assert record(aws, platform)["status"] == "SUCCESSFUL"
    # Production traffic moved to the other target group; blue's tasks were replaced only after the bake.
    assert weights(aws, out["ProductionListenerRuleArn"]) == {out["TargetGroupArn"]: 0, out["AlternateTargetGroupArn"]: 100}
    assert running_task_arns(aws, platform).isdisjoint(blue)
    log = second.stderr
    assert "IN_PROGRESS at BAKE_TIME" in log  # the stage the watch saw (the others pass within a poll here)
    assert log.index("BAKE_TIME") < log.index("healthy on")
    assert "production traffic shifted: 100%" in log

    # The next release alternates back to the first target group, with the same wiring.
    third = deploy(app, platform, "v3")
    assert third.code == 0, third.stderr
    assert weights(aws, out["ProductionListenerRuleArn"]) == {out["TargetGroupArn"]: 100, out["AlternateTargetGroupArn"]: 0}


def test_failing_green_leaves_blue_serving_and_exits_1(app, aws, platform):
    out = platform["outputs"]
    v1 = released_v1(app, aws, platform)
    blue = running_task_arns(aws, platform)
    aws.mark_broken("web:2", reason="exit 1: cannot reach the database")
    failed = deploy(app, platform, "v2")
    assert failed.code == 1, failed.stderr
    assert failed.json["status"] == "rolled_back"
    svc = service(aws, platform)
    assert svc["taskDefinition"] == v1
    assert running_task_arns(aws, platform) == blue  # blue's own tasks served throughout
    assert weights(aws, out["ProductionListenerRuleArn"]) == {out["TargetGroupArn"]: 100, out["AlternateTargetGroupArn"]: 0}
    assert "cannot reach the database" in failed.stderr


def test_rollback_during_bake_stops_the_deployment(app, aws, platform):
    out = platform["outputs"]
    v1 = released_v1(app, aws, platform, bakeTimeInMinutes=600)  # a long bake: 10 minutes of emulator time
    blue = running_task_arns(aws, platform)
    started = deploy(app, platform, "v2", "--wait-until", "traffic-shifted")
    assert started.code == 0, started.stderr
    assert started.json["status"] == "started"
    assert started.json["services"][0]["stage"] == "BAKE_TIME" and "--wait-until" in started.json["services"][0]["reason"]
    assert weights(aws, out["ProductionListenerRuleArn"])[out["AlternateTargetGroupArn"]] == 100
    assert record(aws, platform)["status"] == "IN_PROGRESS"

    aws.reset_counters()
    back = app.cli("rollback", "--yes", "--output", "json")
    assert back.code == 0, back.stderr
    ecs_calls = aws.get_counters()["ecs"]
    assert ecs_calls["StopServiceDeployment"]["succeeded"] == 1 and "UpdateService" not in ecs_calls
    assert back.json["services"][0]["via"] == "StopServiceDeployment" and back.json["services"][0]["to"] == v1
    assert service(aws, platform)["taskDefinition"] == v1
    assert running_task_arns(aws, platform) == blue
    assert weights(aws, out["ProductionListenerRuleArn"]) == {out["TargetGroupArn"]: 100, out["AlternateTargetGroupArn"]: 0}
    assert record(aws, platform)["status"] == "ROLLBACK_SUCCESSFUL"
    # `deployer wait` now judges the rollback (what the last command started), not the stopped release.
    waited = app.cli("wait", "--output", "json")
    assert waited.code == 0, waited.stderr
    assert waited.json["status"] == "deployed" and waited.json["services"][0]["task_definition"] == v1


def test_canary_release_shows_each_step(app, aws, platform):
    released_v1(app, aws, platform, "CANARY", canaryConfiguration={"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 1})
    second = deploy(app, platform, "v2")
    assert second.code == 0, second.stderr
    log = second.stderr
    assert log.index("production traffic shifted: 10% on the new") < log.index("production traffic shifted: 100% on the new")
    assert record(aws, platform)["status"] == "SUCCESSFUL"


def test_linear_release_shows_each_step(app, aws, platform):
    released_v1(app, aws, platform, "LINEAR", linearConfiguration={"stepPercent": 25.0, "stepBakeTimeInMinutes": 1})
    second = deploy(app, platform, "v2")
    assert second.code == 0, second.stderr
    shifted = [line for line in second.stderr.splitlines() if "production traffic shifted" in line]
    assert [line.split("shifted: ")[1].split("%")[0] for line in shifted] == ["25", "50", "75", "100"]


def test_pause_hook_resumed_by_continue(app, aws, platform):
    out = platform["outputs"]
    hook = {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}
    v1 = released_v1(app, aws, platform, lifecycleHooks=[hook])
    paused = deploy(app, platform, "v2")
    assert paused.code == 0, paused.stderr
    assert paused.json["status"] == "paused" and paused.json["services"][0]["stage"] == "POST_TEST_TRAFFIC_SHIFT"
    assert "paused at POST_TEST_TRAFFIC_SHIFT" in paused.stderr and "deployer continue" in paused.stderr
    # Test traffic is on green, production still on blue, while it waits.
    assert weights(aws, out["ProductionListenerRuleArn"])[out["TargetGroupArn"]] == 100
    assert weights(aws, out["TestListenerRuleArn"])[out["AlternateTargetGroupArn"]] == 100
    assert service(aws, platform)["taskDefinition"] != v1

    shown = app.cli("status")
    assert shown.code == 0, shown.stderr
    assert "strategy BLUE_GREEN: deployment IN_PROGRESS at POST_TEST_TRAFFIC_SHIFT — paused at a hook: `deployer continue`" in shown.stdout

    resumed = app.cli("continue", "--output", "json")
    assert resumed.code == 0, resumed.stderr
    assert resumed.json["status"] == "deployed"
    assert record(aws, platform)["status"] == "SUCCESSFUL"
    assert weights(aws, out["ProductionListenerRuleArn"])[out["AlternateTargetGroupArn"]] == 100

    nothing = app.cli("continue")
    assert nothing.code == 2 and "nothing to continue" in nothing.stderr


def test_pause_hook_rolled_back_by_continue_rollback(app, aws, platform):
    hook = {"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"]}
    v1 = released_v1(app, aws, platform, lifecycleHooks=[hook])
    assert deploy(app, platform, "v2").json["status"] == "paused"
    back = app.cli("continue", "--rollback", "--output", "json")
    assert back.code == 0, back.stderr
    assert back.json["status"] == "rolled_back"
    assert service(aws, platform)["taskDefinition"] == v1
    assert record(aws, platform)["status"] == "ROLLBACK_SUCCESSFUL"


def test_failing_hook_is_explained(app, aws, platform):
    fn = "arn:aws:lambda:us-east-1:123456789012:function:demo-smoke-test"
    aws.configure(lifecycle_hooks={fn: {"result": "FAILED", "reason": "GET /health on the test listener answered 503"}})
    hook = {"targetType": "AWS_LAMBDA", "hookTargetArn": fn, "roleArn": platform["outputs"]["EcsInfrastructureRoleArn"],
            "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}
    v1 = released_v1(app, aws, platform, lifecycleHooks=[hook])
    failed = deploy(app, platform, "v2")
    assert failed.code == 1, failed.stderr
    assert service(aws, platform)["taskDefinition"] == v1
    explained = [line for line in failed.stderr.splitlines() if "lifecycle hook" in line and "FAILED" in line and "ERROR" in line]
    assert explained, failed.stderr
    assert fn in explained[0] and "POST_TEST_TRAFFIC_SHIFT" in explained[0] and "answered 503" in explained[0]


def test_wait_until_then_wait_follows_to_the_verdict(app, aws, platform):
    released_v1(app, aws, platform, bakeTimeInMinutes=3)
    early = deploy(app, platform, "v2", "--wait-until", "traffic-shifted")
    assert early.code == 0, early.stderr
    assert early.json["status"] == "started"
    assert record(aws, platform)["status"] == "IN_PROGRESS"
    waited = app.cli("wait", "--output", "json")
    assert waited.code == 0, waited.stderr
    assert waited.json["status"] == "deployed"
    assert record(aws, platform)["status"] == "SUCCESSFUL"


def test_blue_green_without_the_traffic_outputs_is_bad_input(app, aws, platform):
    use_strategy(app, "ROLLING")
    assert deploy(app, platform, "v1").code == 0
    before = ecs_state(aws, platform["outputs"]["ClusterName"])
    use_strategy(app, "BLUE_GREEN")
    app.edit("deployer.yaml", "    repository: EcrRepositoryUri\n", "    repository: EcrRepositoryUri\n    alternate_target_group: null\n")
    bad = deploy(app, platform, "v2")
    assert bad.code == 2, bad.stderr
    assert "environment.outputs.alternate_target_group" in bad.stderr and "BLUE_GREEN" in bad.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"]) == before


def test_diff_shows_the_strategy_and_traffic_settings(app, aws, platform):
    use_strategy(app, "ROLLING")
    assert deploy(app, platform, "v1").code == 0
    use_strategy(app, "BLUE_GREEN")
    shown = app.cli("diff", "--image", image_ref(platform, "v1"))
    assert shown.code == 0, shown.stderr
    assert "BLUE_GREEN" in shown.stdout and "alternateTargetGroupArn" in shown.stdout and "productionListenerRule" in shown.stdout


def test_code_deploy_service_is_refused_naming_native_blue_green(app, aws, platform):
    out = platform["outputs"]
    ecs = aws.client("ecs")
    td = ecs.register_task_definition(family="web", containerDefinitions=[{"name": "app", "image": "x:1", "portMappings": [{"containerPort": 8080}]}],
                                      networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512")["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=out["ClusterName"], serviceName="web", taskDefinition=td, desiredCount=1, deploymentController={"type": "CODE_DEPLOY"})
    before = ecs_state(aws, out["ClusterName"])
    refused = deploy(app, platform, "v2")
    assert refused.code == 2, refused.stderr
    assert "CODE_DEPLOY" in refused.stderr and "BLUE_GREEN" in refused.stderr and "native blue/green" in refused.stderr
    assert ecs_state(aws, out["ClusterName"]) == before


def lambda_function(aws, name: str, role: str) -> str:
    import io
    import zipfile

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("hook.py", "def handler(event, context):\n    return {'hookStatus': 'SUCCEEDED'}\n")
    return aws.client("lambda").create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="hook.handler",
                                                Code={"ZipFile": code.getvalue()})["FunctionArn"]


def checks_named(result, name: str) -> list[dict]:
    return [c for c in result.json["checks"] if c["name"] == name]


def test_verify_checks_the_traffic_wiring_and_the_hooks(app, aws, platform):
    out = platform["outputs"]
    role = out["EcsInfrastructureRoleArn"]
    smoke = "arn:aws:lambda:us-east-1:123456789012:function:demo-smoke-test"  # the role may invoke demo-*
    billing = "arn:aws:lambda:us-east-1:123456789012:function:billing-check"  # ... but not this one
    hooks = [{"targetType": "AWS_LAMBDA", "hookTargetArn": arn, "roleArn": role, "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]} for arn in (smoke, billing)]
    use_strategy(app, "BLUE_GREEN", lifecycleHooks=hooks)

    missing = app.cli("verify", "--output", "json")
    assert missing.code == 1
    assert [c["status"] for c in checks_named(missing, "traffic wiring")] == ["pass"]
    assert [c["status"] for c in checks_named(missing, "traffic role")] == ["pass"]
    hook_checks = checks_named(missing, "lifecycle hook")
    assert [c["status"] for c in hook_checks] == ["fail", "fail"] and smoke in hook_checks[0]["reason"]

    for arn in (smoke, billing):
        assert lambda_function(aws, arn.rsplit(":", 1)[-1], out["TaskRoleArn"]) == arn
    found = app.cli("verify", "--output", "json")
    first, second = checks_named(found, "lifecycle hook")
    assert first["status"] == "pass", first
    assert second["status"] == "fail" and "may not invoke" in second["reason"] and billing in second["reason"]

    # The same target group as the alternate: nothing to alternate with.
    app.edit("deployer.yaml", "    repository: EcrRepositoryUri\n", "    repository: EcrRepositoryUri\n    alternate_target_group: TargetGroupArn\n")
    crossed = app.cli("verify", "--output", "json")
    wiring = checks_named(crossed, "traffic wiring")[0]
    assert wiring["status"] == "fail" and "alternate target group is the service's own" in wiring["reason"]


def test_iam_policy_names_the_strategy_calls_and_roles(app, aws, platform):
    role = platform["outputs"]["EcsInfrastructureRoleArn"]
    use_strategy(app, "BLUE_GREEN")
    shown = app.cli("iam-policy")
    assert shown.code == 0, shown.stderr
    statements = {s["Sid"]: s for s in json.loads(shown.stdout)["Statement"]}
    # StopServiceDeployment is granted once, on the service deployments: the release's own statement
    # (verdict branch) serves the strategies' rollback too.
    stopping = [s for s in statements.values() if "ecs:StopServiceDeployment" in s["Action"]]
    assert len(stopping) == 1
    assert any(":service-deployment/demo/web/" in r for r in stopping[0]["Resource"])
    assert "ecs:ContinueServiceDeployment" in statements["StrategyDeploymentsControl"]["Action"]
    assert statements["PassTrafficRoles"]["Resource"] == [role]
    assert statements["PassTrafficRoles"]["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}}


def test_wait_until_on_a_rolling_service_watches_to_the_verdict(app, aws, platform):
    done = deploy(app, platform, "v1", "--wait-until", "traffic-shifted")
    assert done.code == 0, done.stderr
    assert done.json["status"] == "deployed"
    assert "--wait-until applies to blue/green, linear and canary deployments" in done.stderr
