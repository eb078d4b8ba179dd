"""deployer/manifest/strategies.py: the pure parts (flag, timeout, wiring, early results, policy documents)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from deployer.manifest import strategies
from deployer.release import stages
from deployer.core.errors import BadInput
from deployer.release.rollout import Verdict

TRAFFIC = {"alternate_target_group": "arn:tg/green", "production_listener_rule": "arn:rule/prod",
           "test_listener_rule": "arn:rule/test", "traffic_role": "arn:role/ecs"}


def test_wait_until_names_and_stages():
    assert strategies.wait_until_stage("traffic-shifted") == "POST_PRODUCTION_TRAFFIC_SHIFT"
    assert strategies.wait_until_stage("bake-done") == "CLEAN_UP"
    assert strategies.wait_until_stage("bake-time") == "BAKE_TIME"
    assert strategies.wait_until_stage("POST_SCALE_UP") == "POST_SCALE_UP"
    assert strategies.wait_until_stage(None) is None
    with pytest.raises(BadInput, match="--wait-until shifted: not a stage"):
        strategies.wait_until_stage("shifted")


def test_bake_seconds_per_strategy():
    assert strategies.bake_seconds([{"strategy": "ROLLING", "bakeTimeInMinutes": 60}]) == 0
    assert strategies.bake_seconds([{"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 15}]) == 900
    canary = {"strategy": "CANARY", "bakeTimeInMinutes": 5, "canaryConfiguration": {"canaryPercent": 10, "canaryBakeTimeInMinutes": 3}}
    assert strategies.bake_seconds([canary]) == 480
    linear = {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 25, "stepBakeTimeInMinutes": 2}}
    assert strategies.bake_seconds([linear, None]) == 3 * 2 * 60  # 4 steps, 3 bakes between them


def test_load_balancers_get_advanced_configuration_from_the_environment():
    params = {"deploymentConfiguration": {"strategy": "BLUE_GREEN"},
              "loadBalancers": [{"targetGroupArn": "arn:tg/blue", "containerName": "app", "containerPort": 8080}]}
    strategies.complete_load_balancers(params, SimpleNamespace(traffic=TRAFFIC), "svc.json")
    assert params["loadBalancers"][0]["advancedConfiguration"] == {
        "alternateTargetGroupArn": "arn:tg/green", "productionListenerRule": "arn:rule/prod",
        "testListenerRule": "arn:rule/test", "roleArn": "arn:role/ecs"}
    rolling = {"loadBalancers": [{"targetGroupArn": "arn:tg/blue"}]}
    strategies.complete_load_balancers(rolling, SimpleNamespace(traffic=TRAFFIC), "svc.json")
    assert "advancedConfiguration" not in rolling["loadBalancers"][0]


def test_a_strategy_without_the_traffic_outputs_is_bad_input():
    params = {"deploymentConfiguration": {"strategy": "LINEAR"}, "loadBalancers": [{"targetGroupArn": "arn:tg/blue"}]}
    with pytest.raises(BadInput, match=r"svc.json: deploymentConfiguration.strategy LINEAR needs loadBalancers\[0\].advancedConfiguration.*environment.outputs.traffic_role"):
        strategies.complete_load_balancers(params, SimpleNamespace(traffic={k: v for k, v in TRAFFIC.items() if k != "traffic_role"}), "svc.json")


def test_load_balancers_are_sent_only_when_changed():
    update = {"loadBalancers": [{"targetGroupArn": "a"}], "desiredCount": 2}
    strategies.keep_wiring(update, changes={})
    assert "loadBalancers" not in update
    update = {"loadBalancers": [{"targetGroupArn": "b"}]}
    strategies.keep_wiring(update, changes={"loadBalancers": ([], [])})
    assert update["loadBalancers"] == [{"targetGroupArn": "b"}]


def test_early_result_when_a_service_stopped_early_and_none_failed():
    paused = Verdict("web", True, strategies.PAUSED, "paused at POST_TEST_TRAFFIC_SHIFT")
    done = Verdict("api", True, "COMPLETED", "")
    failed = Verdict("api", False, "FAILED", "circuit breaker")
    assert stages.early_result({"status": "started", "services": []}, {"api": done}) is None  # nothing stopped early
    # Another service failed: the failure path (rollback) decides, not the pause.
    assert stages.early_result({"status": "started", "services": []}, {"web": paused, "api": failed}) is None
    result = stages.early_result({"status": "started", "services": [{"service": "web", "status": "deployed"}]}, {"web": paused})
    assert result["status"] == "paused"
    assert result["services"][0] == {"service": "web", "status": "paused", "stage": None, "reason": "paused at POST_TEST_TRAFFIC_SHIFT"}
    # A paused service next to a finished one is not reported deployed; the finished one keeps its status.
    mixed = stages.early_result(
        {"status": "started", "services": [{"service": "web", "status": "deployed"}, {"service": "api", "status": "deployed"}]},
        {"web": paused, "api": done},
    )
    assert mixed["status"] == "paused"
    assert [(e["service"], e["status"]) for e in mixed["services"]] == [("web", "paused"), ("api", "deployed")]


def test_policy_documents_in_every_shape_iam_hands_over():
    document = {"Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"}]}
    assert strategies._policy_document(document) == document
    assert strategies._policy_document("%7B%22Statement%22%3A%20%5B%5D%7D") == {"Statement": []}
    assert strategies._policy_document(str(document)) == document  # moto's CloudFormation stores a Python literal


class RecordsClient:
    """A stub of the boto3 ECS client (named as such): DescribeServiceDeployments from a dict."""

    def __init__(self, record: dict):
        self.record = record
        self.calls = 0

    def describe_service_deployments(self, serviceDeploymentArns):
        self.calls += 1
        return {"serviceDeployments": [self.record]}


def stage_watch(record: dict, wait_until: str | None = None):
    import io

    from deployer.aws.ecs import Ecs
    from deployer.core.console import Console

    client = RecordsClient(record)
    run = SimpleNamespace(ecs=Ecs(SimpleNamespace(client=lambda name, **_: client)), console=Console(io.StringIO(), quiet=True))
    return stages.StageWatch(run, wait_until), client


BLUE_GREEN_SERVICE = {"deploymentConfiguration": {"strategy": "BLUE_GREEN"}, "currentServiceDeployment": "arn:sd/1", "taskDefinition": "web:2"}
TARGET = SimpleNamespace(deployment_id="ecs-svc/2")


def test_stage_watch_stops_at_a_pause_hook_and_at_the_wait_until_stage():
    paused = {"serviceDeploymentArn": "arn:sd/1", "status": "IN_PROGRESS", "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
              "lifecycleHookDetails": [{"hookId": "h1", "targetType": "PAUSE", "status": "AWAITING_ACTION"}]}
    watch, _ = stage_watch(paused)
    verdict = watch("web", BLUE_GREEN_SERVICE, TARGET)
    assert verdict.state == strategies.PAUSED and "deployer continue --service web" in verdict.reason

    baking = {"serviceDeploymentArn": "arn:sd/1", "status": "IN_PROGRESS", "lifecycleStage": "BAKE_TIME"}
    assert stage_watch(baking)[0]("web", BLUE_GREEN_SERVICE, TARGET) is None
    assert stage_watch(baking, "traffic-shifted")[0]("web", BLUE_GREEN_SERVICE, TARGET).state == strategies.STAGE_REACHED
    assert stage_watch(baking, "bake-done")[0]("web", BLUE_GREEN_SERVICE, TARGET) is None


def test_stage_watch_makes_no_call_for_a_rolling_service():
    watch, client = stage_watch({"status": "IN_PROGRESS"}, "traffic-shifted")
    assert watch("web", {"deploymentConfiguration": {"strategy": "ROLLING"}, "currentServiceDeployment": "arn:sd/1"}, TARGET) is None
    assert client.calls == 0


def test_the_watch_hands_undecided_polls_to_the_observer():
    import io

    from deployer.core.console import Console
    from deployer.release.rollout import watch
    from tests.unit.test_rollout import TARGET as ROLLOUT_TARGET, ScriptedEcs, SimulatedClock

    clock = SimulatedClock()
    ecs = ScriptedEcs(clock, completes_at=600.0)
    stop = Verdict("web", True, strategies.PAUSED, "paused")
    verdicts = watch(ecs, "c", [ROLLOUT_TARGET], timeout=900, console=Console(io.StringIO(), quiet=True), sleep=clock.sleep, clock=clock,
                     observer=lambda name, service, target: stop if clock.now >= 10 else None)
    assert verdicts["web"] is stop and 10 <= clock.now < 13
