"""Canonical task and service definitions (deployer.manifest.normalize): what ECS fills in, reorders, or
spells as an ARN must not count as a difference; a real change must."""

from __future__ import annotations

import copy

from deployer.manifest import normalize

ACCOUNT = "123456789012"
EXEC_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"
TASK_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/service/web-task"
TG_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/web-tg/0123456789abcdef"
PARAM_ARN = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/web/db-password"


def rendered_td(**container) -> dict:
    return {
        "family": "web",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": 256,
        "memory": 512,
        "executionRoleArn": EXEC_ROLE_ARN,
        "taskRoleArn": TASK_ROLE_ARN,
        "containerDefinitions": [
            {
                "name": "app",
                "image": "repo/web:v1",
                "portMappings": [{"containerPort": 8080}],
                "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
                "secrets": [{"name": "DB_PASSWORD", "valueFrom": "/web/db-password"}],
                "healthCheck": {"command": ["CMD-SHELL", "true"]},
                **container,
            }
        ],
    }


def live_td(rendered: dict) -> dict:
    """What DescribeTaskDefinition answers for `rendered`: defaults filled in, read-only keys added."""
    live = copy.deepcopy(rendered)
    live.update(
        taskDefinitionArn=f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:7",
        revision=7,
        status="ACTIVE",
        compatibilities=["EC2", "FARGATE"],
        requiresAttributes=[{"name": "ecs.capability.execution-role-awslogs"}],
        registeredAt="2026-01-01T00:00:00Z",
        registeredBy=f"arn:aws:sts::{ACCOUNT}:assumed-role/dev/me",
        cpu="256",
        memory="512",
        volumes=[],
        placementConstraints=[],
        enableFaultInjection=False,
    )
    for c in live["containerDefinitions"]:
        c.update(cpu=0, essential=True, mountPoints=[], volumesFrom=[], systemControls=[], versionConsistency="enabled")
        c["portMappings"] = [{**m, "hostPort": m["containerPort"], "protocol": "tcp"} for m in c.get("portMappings", [])]
        c["environment"] = list(reversed(c.get("environment", [])))
        if "healthCheck" in c:
            c["healthCheck"] = {"interval": 30, "timeout": 5, "retries": 3, **c["healthCheck"]}
    return live


# ---- task definitions --------------------------------------------------------------


def test_ecs_defaults_and_order_are_not_differences():
    rendered = rendered_td()
    assert normalize.task_definition(rendered) == normalize.task_definition(live_td(rendered))


def test_canonical_form_drops_defaults_and_sorts():
    canonical = normalize.task_definition(live_td(rendered_td()))
    container = canonical["containerDefinitions"][0]
    for key in ("cpu", "essential", "mountPoints", "volumesFrom", "systemControls", "versionConsistency"):
        assert key not in container, key
    assert container["portMappings"] == [{"containerPort": 8080}]
    assert [e["name"] for e in container["environment"]] == ["A", "B"]
    assert container["healthCheck"] == {"command": ["CMD-SHELL", "true"]}
    for key in ("taskDefinitionArn", "revision", "status", "compatibilities", "requiresAttributes", "registeredAt", "volumes", "enableFaultInjection"):
        assert key not in canonical, key
    assert canonical["cpu"] == "256" and canonical["memory"] == "512"


def test_real_changes_are_differences():
    live = live_td(rendered_td())
    for change in (
        {"environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]},
        {"image": "repo/web:v2"},
        {"portMappings": [{"containerPort": 9090}]},
        {"essential": False},
        {"cpu": 128},
        {"healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 10}},
    ):
        assert not normalize.same_task_definition(rendered_td(**change), live), change
    assert not normalize.same_task_definition({**rendered_td(), "memory": "1024"}, live)


def test_non_default_host_port_and_protocol_are_kept():
    canonical = normalize.task_definition(rendered_td(portMappings=[{"containerPort": 53, "hostPort": 5353, "protocol": "udp"}]))
    assert canonical["containerDefinitions"][0]["portMappings"] == [{"containerPort": 53, "hostPort": 5353, "protocol": "udp"}]


def test_containers_sorted_by_name():
    td = rendered_td()
    td["containerDefinitions"].append({"name": "aaa-sidecar", "image": "envoy"})
    reordered = {**td, "containerDefinitions": list(reversed(td["containerDefinitions"]))}
    assert normalize.task_definition(td) == normalize.task_definition(reordered)
    assert [c["name"] for c in normalize.task_definition(td)["containerDefinitions"]] == ["aaa-sidecar", "app"]


def test_role_by_name_equals_the_arn_ecs_answers():
    rendered = rendered_td()
    rendered["executionRoleArn"] = "ecsTaskExecutionRole"
    rendered["taskRoleArn"] = "web-task"  # the role's name; its ARN has a path
    live = live_td(rendered_td())
    assert normalize.task_definition(rendered) != normalize.task_definition(live)  # one side alone cannot tell
    wanted, canonical_live = normalize.compare_task_definitions(rendered, live)
    assert wanted == canonical_live
    assert normalize.same_task_definition(rendered, live)


def test_another_role_is_a_difference():
    live = live_td(rendered_td())
    by_other_name = {**rendered_td(), "executionRoleArn": "otherRole"}
    other_account = {**rendered_td(), "executionRoleArn": "arn:aws:iam::999999999999:role/ecsTaskExecutionRole"}
    assert not normalize.same_task_definition(by_other_name, live)
    assert not normalize.same_task_definition(other_account, live)


def test_ssm_parameter_name_equals_its_arn():
    live = live_td(rendered_td(secrets=[{"name": "DB_PASSWORD", "valueFrom": PARAM_ARN}]))
    assert normalize.same_task_definition(rendered_td(), live)
    assert not normalize.same_task_definition(rendered_td(secrets=[{"name": "DB_PASSWORD", "valueFrom": "/web/other"}]), live)


def test_plain_values_are_never_reconciled_with_arns():
    # An environment value "web" is not the cluster ARN that happens to end in /web.
    live = live_td(rendered_td(environment=[{"name": "CLUSTER", "value": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/web"}]))
    assert not normalize.same_task_definition(rendered_td(environment=[{"name": "CLUSTER", "value": "web"}]), live)


def test_arn_names():
    assert {"ecsTaskExecutionRole"} <= normalize.arn_names(EXEC_ROLE_ARN)
    assert {"service/web-task", "web-task"} <= normalize.arn_names(TASK_ROLE_ARN)
    assert "web-tg" in normalize.arn_names(TG_ARN)
    assert {"/web/db-password", "web/db-password"} <= normalize.arn_names(PARAM_ARN)
    assert "db" in normalize.arn_names(f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbC123")
    assert "web:7" in normalize.arn_names(f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:7")
    assert normalize.arn_names("not-an-arn") == set()


def test_same_resource():
    assert normalize.same_resource("web:7", f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:7")
    assert not normalize.same_resource("web:6", f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:7")
    assert normalize.same_resource("web-tg", TG_ARN)
    assert not normalize.same_resource(TG_ARN, TG_ARN.replace("0123456789abcdef", "fedcba9876543210"))  # recreated: same name, new ARN
    assert not normalize.same_resource("a", "b")


def test_normalising_does_not_modify_its_input():
    live = live_td(rendered_td())
    before = copy.deepcopy(live)
    normalize.task_definition(live)
    normalize.service_settings({"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["b", "a"]}}})
    assert live == before


# ---- services ----------------------------------------------------------------------


def wanted_service(**overrides) -> dict:
    """UpdateService params as definitions.service_definition makes them."""
    return {
        "desiredCount": 2,
        "healthCheckGracePeriodSeconds": 30,
        "deploymentConfiguration": {"maximumPercent": 200, "minimumHealthyPercent": 100, "deploymentCircuitBreaker": {"enable": True, "rollback": True}},
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-b", "subnet-a"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}},
        "loadBalancers": [{"targetGroupArn": TG_ARN, "containerName": "app", "containerPort": 8080}],
        **overrides,
    }


def live_service(**overrides) -> dict:
    """What DescribeServices answers for a service deployed with wanted_service()."""
    return {
        "serviceArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/demo/web",
        "serviceName": "web",
        "clusterArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/demo",
        "status": "ACTIVE",
        "desiredCount": 2,
        "runningCount": 2,
        "pendingCount": 0,
        "launchType": "FARGATE",
        "platformVersion": "LATEST",
        "platformFamily": "Linux",
        "taskDefinition": f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:7",
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "alarms": {"alarmNames": [], "enable": False, "rollback": False},
        },
        "deployments": [{"id": "ecs-svc/1", "status": "PRIMARY"}],
        "events": [],
        "loadBalancers": [{"targetGroupArn": TG_ARN, "containerName": "app", "containerPort": 8080}],
        "serviceRegistries": [],
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a", "subnet-b"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}},
        "healthCheckGracePeriodSeconds": 30,
        "schedulingStrategy": "REPLICA",
        "deploymentController": {"type": "ECS"},
        "enableECSManagedTags": False,
        "propagateTags": "NONE",
        "enableExecuteCommand": False,
        "availabilityZoneRebalancing": "ENABLED",
        **overrides,
    }


def test_unchanged_service_has_no_changed_settings():
    assert normalize.changed_settings(wanted_service(), live_service()) == {}


def test_changed_settings_are_reported_with_live_and_wanted():
    changes = normalize.changed_settings(wanted_service(desiredCount=3), live_service())
    assert changes == {"desiredCount": (2, 3)}
    changes = normalize.changed_settings(wanted_service(networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-c"], "securityGroups": ["sg-1"]}}), live_service())
    assert set(changes) == {"networkConfiguration"}


def test_settings_the_definition_leaves_out_are_left_alone():
    wanted = wanted_service()
    del wanted["healthCheckGracePeriodSeconds"], wanted["desiredCount"]
    assert normalize.changed_settings(wanted, live_service(healthCheckGracePeriodSeconds=120, desiredCount=7)) == {}
    # ... and not filled in on the wanted side.
    assert "healthCheckGracePeriodSeconds" not in normalize.service_settings(wanted)


def test_live_defaults_fill_what_an_answer_leaves_out():
    # An answer without a circuit breaker, grace period or execute command (older APIs, emulators).
    live = live_service(deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 100})
    del live["healthCheckGracePeriodSeconds"], live["enableExecuteCommand"]
    live["networkConfiguration"]["awsvpcConfiguration"].pop("assignPublicIp")
    wanted = wanted_service(
        healthCheckGracePeriodSeconds=0,
        enableExecuteCommand=False,
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": False, "rollback": False}},
    )
    wanted["networkConfiguration"]["awsvpcConfiguration"].pop("assignPublicIp")
    assert normalize.changed_settings(wanted, live) == {}
    # The breaker deployer turns on by default is a change against a service without one.
    assert set(normalize.changed_settings(wanted_service(), live)) == {"deploymentConfiguration", "healthCheckGracePeriodSeconds"}


def test_target_group_name_against_arn_and_a_recreated_target_group():
    by_name = wanted_service(loadBalancers=[{"targetGroupArn": "web-tg", "containerName": "app", "containerPort": 8080}])
    assert normalize.changed_settings(by_name, live_service()) == {}
    recreated = TG_ARN.replace("0123456789abcdef", "fedcba9876543210")
    changes = normalize.changed_settings(wanted_service(loadBalancers=[{"targetGroupArn": recreated, "containerName": "app", "containerPort": 8080}]), live_service())
    assert set(changes) == {"loadBalancers"}


def test_capacity_provider_base_and_weight_defaults():
    wanted = wanted_service(capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}])
    live = live_service(capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}])
    assert normalize.changed_settings(wanted, live) == {}


def test_service_settings_leave_out_what_update_service_cannot_change():
    settings = normalize.service_settings(live_service(), live=True)
    for key in ("serviceArn", "taskDefinition", "launchType", "platformVersion", "deployments", "events", "runningCount", "propagateTags", "serviceName"):
        assert key not in settings, key
    assert settings["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == ["subnet-a", "subnet-b"]
    assert "alarms" not in settings["deploymentConfiguration"]  # off and empty: as if not set


def test_live_settings_are_projected_on_what_the_definition_sets():
    wanted = normalize.service_settings({"desiredCount": 2, "deploymentConfiguration": {"maximumPercent": 200}})
    assert normalize.live_settings(live_service(), wanted) == {"desiredCount": 2, "deploymentConfiguration": {"maximumPercent": 200}}
    assert normalize.project({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": 0}}) == {"b": {"c": 2}}


def test_user_tags_leave_out_deployer_and_aws_tags():
    tags = {"deployer:commit": "abc", "aws:cloudformation:stack-name": "s", "team": "a", "app": "web"}
    assert normalize.user_tags(tags) == [{"key": "app", "value": "web"}, {"key": "team", "value": "a"}]
    assert normalize.user_tags([{"key": "b", "value": "1"}, {"key": "deployer:token", "value": "t"}]) == [{"key": "b", "value": "1"}]


def test_tags_are_compared_and_only_deployer_tags_are_not_a_difference():
    live = {"family": "web", "containerDefinitions": [{"name": "app", "image": "i"}]}
    wanted = {**live, "tags": [{"key": "team", "value": "a"}]}
    assert normalize.same_task_definition(wanted, normalize.with_tags(live, {"team": "a", "deployer:commit": "c"}))
    assert not normalize.same_task_definition(wanted, normalize.with_tags(live, {"team": "b"}))
    assert normalize.same_task_definition(live, normalize.with_tags(live, {"deployer:commit": "c"}))


def test_missing_network_mode_is_bridge():
    td = {"family": "web", "containerDefinitions": [{"name": "app", "image": "i"}]}
    assert normalize.same_task_definition(td, {**td, "networkMode": "bridge"})
    assert not normalize.same_task_definition(td, {**td, "networkMode": "awsvpc"})
