"""The local AWS's blue/green, linear and canary deployments (tests/localaws/strategies.py), through boto3."""

from __future__ import annotations

import time

import botocore.exceptions
import pytest


def register(ecs, tag: str) -> str:
    return ecs.register_task_definition(
        family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "app", "image": f"web:{tag}", "portMappings": [{"containerPort": 8080}]}],
    )["taskDefinition"]["taskDefinitionArn"]


def blue_green_service(aws, out, **config) -> object:
    ecs = aws.client("ecs")
    advanced = {"alternateTargetGroupArn": out["AlternateTargetGroupArn"], "productionListenerRule": out["ProductionListenerRuleArn"],
                "testListenerRule": out["TestListenerRuleArn"], "roleArn": out["EcsInfrastructureRoleArn"]}
    ecs.create_service(
        cluster=out["ClusterName"], serviceName="web", taskDefinition=register(ecs, "1"), desiredCount=2,
        loadBalancers=[{"targetGroupArn": out["TargetGroupArn"], "containerName": "app", "containerPort": 8080, "advancedConfiguration": advanced}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": [out["PrivateSubnet1"]], "securityGroups": [out["ServiceSecurityGroup"]]}},
        deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1, **config},
    )
    until(lambda: ecs.describe_services(cluster=out["ClusterName"], services=["web"])["services"][0]["deployments"][0]["rolloutState"] == "COMPLETED")
    return ecs


def until(predicate, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def current_record(ecs, out) -> dict:
    arn = ecs.describe_services(cluster=out["ClusterName"], services=["web"])["services"][0]["currentServiceDeployment"]
    return ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]


def test_update_without_advanced_configuration_is_refused(aws, platform):
    out = platform["outputs"]
    ecs = blue_green_service(aws, out)
    plain = [{"targetGroupArn": out["TargetGroupArn"], "containerName": "app", "containerPort": 8080}]
    with pytest.raises(botocore.exceptions.ClientError, match="advancedConfiguration.alternateTargetGroupArn is required"):
        ecs.update_service(cluster=out["ClusterName"], service="web", loadBalancers=plain)


def test_pause_hook_waits_for_continue_and_stages_advance(aws, platform):
    out = platform["outputs"]
    ecs = blue_green_service(aws, out, lifecycleHooks=[{"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"]}])
    ecs.update_service(cluster=out["ClusterName"], service="web", taskDefinition=register(ecs, "2"))
    paused = until(lambda: (r := current_record(ecs, out)).get("lifecycleHookDetails") and r)
    hook = paused["lifecycleHookDetails"][0]
    assert (paused["lifecycleStage"], hook["status"], hook["targetType"]) == ("POST_SCALE_UP", "AWAITING_ACTION", "PAUSE")
    time.sleep(0.5)
    assert current_record(ecs, out)["lifecycleStage"] == "POST_SCALE_UP"  # it waits
    with pytest.raises(botocore.exceptions.ClientError, match="is not the hook awaiting action"):
        ecs.continue_service_deployment(serviceDeploymentArn=paused["serviceDeploymentArn"], hookId="nope", action="CONTINUE")
    ecs.continue_service_deployment(serviceDeploymentArn=paused["serviceDeploymentArn"], hookId=hook["hookId"], action="CONTINUE")
    done = until(lambda: (r := current_record(ecs, out))["status"] == "SUCCESSFUL" and r)
    assert done["lifecycleHookDetails"][0]["status"] == "SUCCEEDED"
    with pytest.raises(botocore.exceptions.ClientError, match="not paused at a lifecycle hook"):
        ecs.continue_service_deployment(serviceDeploymentArn=done["serviceDeploymentArn"], hookId=hook["hookId"], action="CONTINUE")


def test_a_lambda_hook_without_its_function_fails_and_rolls_back(aws, platform):
    out = platform["outputs"]
    missing = "arn:aws:lambda:us-east-1:123456789012:function:demo-missing"
    ecs = blue_green_service(aws, out, deploymentCircuitBreaker={"enable": True, "rollback": True},
                             lifecycleHooks=[{"targetType": "AWS_LAMBDA", "hookTargetArn": missing, "roleArn": out["EcsInfrastructureRoleArn"],
                                              "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}])
    ecs.update_service(cluster=out["ClusterName"], service="web", taskDefinition=register(ecs, "2"))
    record = until(lambda: (r := current_record(ecs, out))["status"] == "ROLLBACK_SUCCESSFUL" and r)
    assert record["lifecycleHookDetails"][0]["status"] == "FAILED"
    assert "Function not found" in record["rollback"]["reason"] and "POST_TEST_TRAFFIC_SHIFT" in record["rollback"]["reason"]


def test_a_lambda_hook_that_never_answers_times_out_with_its_action(aws, platform):
    out = platform["outputs"]
    slow = "arn:aws:lambda:us-east-1:123456789012:function:demo-slow"
    aws.configure(lifecycle_hooks={slow: {"result": "IN_PROGRESS"}}, strategy_minute_seconds=0.5)
    ecs = blue_green_service(aws, out, lifecycleHooks=[{
        "targetType": "AWS_LAMBDA", "hookTargetArn": slow, "roleArn": out["EcsInfrastructureRoleArn"], "lifecycleStages": ["POST_SCALE_UP"],
        "timeoutConfiguration": {"timeoutInMinutes": 1, "action": "CONTINUE"}}])
    ecs.update_service(cluster=out["ClusterName"], service="web", taskDefinition=register(ecs, "2"))
    record = until(lambda: (r := current_record(ecs, out))["status"] == "SUCCESSFUL" and r)
    assert record["lifecycleHookDetails"][0]["status"] == "TIMED_OUT" and record["lifecycleHookDetails"][0]["timeoutAction"] == "CONTINUE"
