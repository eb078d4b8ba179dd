"""Definitions: botocore-shape validation with field paths, environment defaults, image injection."""

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deployer import definitions, normalize
from deployer.errors import BadInput

TD_PATH = Path("td.json.j2")
SD_PATH = Path("sd.json.j2")


def td(**container):
    return {
        "family": "web",
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "placeholder", "portMappings": [{"containerPort": 8080}], **container}],
    }


@dataclass
class Env:  # plain data standing in for environment.Environment
    cluster: str = "c1"
    subnets: list = field(default_factory=lambda: ["subnet-1", "subnet-2"])
    security_groups: list = field(default_factory=lambda: ["sg-1"])
    target_group: str | None = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/abc"


@dataclass
class Svc:
    name: str = "web"
    container: str = "app"
    port: int | None = 8080


def test_image_goes_to_the_named_container():
    params = definitions.task_definition(td(), TD_PATH, container="app", image="repo@sha256:1", port=8080, family="web")
    assert params["containerDefinitions"][0]["image"] == "repo@sha256:1"


def test_describe_output_is_accepted_and_read_only_keys_dropped():
    described = {"taskDefinition": {**td(), "taskDefinitionArn": "arn", "revision": 3, "status": "ACTIVE", "registeredAt": "x", "compatibilities": ["FARGATE"]}}
    params = definitions.task_definition(described, TD_PATH, container="app", image=None, port=None, family="web")
    assert "revision" not in params and "taskDefinitionArn" not in params and params["family"] == "web"


def test_wrong_type_names_field_path():
    with pytest.raises(BadInput) as caught:
        definitions.task_definition(td(memory="lots"), TD_PATH, container="app", image="i", port=None, family="web")
    assert "containerDefinitions[0].memory" in caught.value.message
    assert "RegisterTaskDefinition" in caught.value.message


def test_unknown_field_is_named():
    with pytest.raises(BadInput, match=r'Unknown parameter in containerDefinitions\[0\]: "imagePullPolicy"'):
        definitions.task_definition(td(imagePullPolicy="Always"), TD_PATH, container="app", image="i", port=None, family="web")


def test_unknown_container_lists_the_containers():
    with pytest.raises(BadInput, match=r"container `web` is not in td.json.j2 \(containers: app\)"):
        definitions.task_definition(td(), TD_PATH, container="web", image="i", port=None, family="web")


def test_port_must_be_mapped():
    with pytest.raises(BadInput, match="has no portMapping for 9090"):
        definitions.task_definition(td(), TD_PATH, container="app", image="i", port=9090, family="web")


def test_service_defaults_come_from_the_environment():
    sd = definitions.service_definition(None, None, environment=Env(), service=Svc(), desired_count_flag=None)
    create = sd.create_params
    assert create["networkConfiguration"]["awsvpcConfiguration"] == {"subnets": ["subnet-1", "subnet-2"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}
    assert create["loadBalancers"] == [{"targetGroupArn": Env().target_group, "containerName": "app", "containerPort": 8080}]
    assert create["desiredCount"] == 1 and create["launchType"] == "FARGATE"
    assert create["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    # Update leaves desiredCount alone (autoscaling) and never sends create-only keys.
    assert "desiredCount" not in sd.update_params and "launchType" not in sd.update_params


def test_service_definition_overrides_and_flag_wins():
    rendered = {"desiredCount": 3, "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-9"], "assignPublicIp": "ENABLED"}}}
    sd = definitions.service_definition(rendered, SD_PATH, environment=Env(target_group=None), service=Svc(), desired_count_flag=5)
    assert sd.update_params["desiredCount"] == 5
    assert sd.create_params["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == ["subnet-9"]
    assert "loadBalancers" not in sd.create_params


def test_service_definition_wrong_type():
    with pytest.raises(BadInput, match=r"sd.json.j2: invalid for ECS CreateService:\n.*desiredCount"):
        definitions.service_definition({"desiredCount": "two"}, SD_PATH, environment=Env(), service=Svc(), desired_count_flag=None)


def test_service_definition_may_not_set_the_task_definition():
    with pytest.raises(BadInput, match="`taskDefinition` is set by deployer"):
        definitions.service_definition({"taskDefinition": "web:1"}, SD_PATH, environment=Env(), service=Svc(), desired_count_flag=None)


def test_invalid_json_after_render_names_line():
    with pytest.raises(BadInput, match=r"td.json.j2: rendered output is not valid JSON at line 2 column 8"):
        definitions.parse_rendered('{\n  "a": ,\n}', TD_PATH)


def test_yaml_definitions_are_parsed():
    assert definitions.parse_rendered("family: web\ncpu: '256'\n", Path("td.yaml.j2")) == {"family": "web", "cpu": "256"}


def test_normalised_equal_despite_ecs_defaults():
    rendered = td(environment=[{"name": "B", "value": "2"}, {"name": "A", "value": "1"}])
    live = {
        **td(environment=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}], cpu=0, essential=True, mountPoints=[], volumesFrom=[]),
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:4",
        "revision": 4,
        "status": "ACTIVE",
    }
    live["containerDefinitions"][0]["portMappings"] = [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}]
    assert normalize.task_definition(rendered) == normalize.task_definition(live)
    changed = td(environment=[{"name": "A", "value": "2"}])
    assert normalize.task_definition(changed) != normalize.task_definition(live)
