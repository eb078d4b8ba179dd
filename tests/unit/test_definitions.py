"""Definitions: botocore-shape validation with field paths, environment defaults, image injection."""

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deployer.manifest import definitions, normalize
from deployer.core.errors import BadInput

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


# ---- task definitions as people have them (deployer/manifest/taskdef_input.py) ----------------------

from deployer.manifest import taskdef_input  # noqa: E402


class Notes:
    def __init__(self):
        self.infos, self.warnings = [], []

    def info(self, message):
        self.infos.append(message)

    def warn(self, message):
        self.warnings.append(message)


def prepared(rendered, **kwargs):
    notes = Notes()
    params = definitions.task_definition(rendered, TD_PATH, container="app", image="img", port=kwargs.pop("port", 8080), family="web", console=notes)
    return params, notes


def test_wrapper_tags_are_kept_and_every_read_only_field_named_once():
    described = {**td(), "taskDefinitionArn": "arn", "revision": 3, "status": "ACTIVE", "deleteRequestedAt": "2025-01-01", "registeredBy": "me"}
    params, notes = prepared({"taskDefinition": described, "tags": [{"key": "team", "value": "a"}], "ResponseMetadata": {}})
    assert params["tags"] == [{"key": "team", "value": "a"}]
    [notice] = [n for n in notes.infos if "read-only" in n]
    assert notice.endswith("taskDefinitionArn, revision, status, registeredBy, deleteRequestedAt")
    assert not set(taskdef_input.READ_ONLY) & set(params)


def test_nulls_and_empty_values_are_dropped_with_one_notice():
    params, notes = prepared({**td(user=None, command=[], dockerLabels={}), "ipcMode": None, "volumes": []})
    assert "ipcMode" not in params and "user" not in params["containerDefinitions"][0]
    [notice] = notes.infos
    assert "5 null or empty values dropped" in notice and "containerDefinitions[0].user" in notice


def test_pascal_case_is_converted_along_the_api_shape():
    cfn = {
        "Family": "web", "NetworkMode": "awsvpc", "Cpu": 256, "Memory": "1GB",
        "ContainerDefinitions": [{"Name": "app", "Image": "x", "PortMappings": [{"ContainerPort": "8080"}], "Essential": "true",
                                  "DockerLabels": {"Team": "A"}, "LogConfiguration": {"LogDriver": "awslogs", "Options": {"awslogs-group": "g"}}}],
        "ProxyConfiguration": {"ContainerName": "envoy", "ProxyConfigurationProperties": [{"Name": "AppPorts", "Value": "8080"}]},
        "Tags": [{"Key": "team", "Value": "a"}],
    }
    params, notes = prepared({"Type": "AWS::ECS::TaskDefinition", "Properties": cfn})
    assert params["cpu"] == "256" and params["memory"] == "1024"
    c = params["containerDefinitions"][0]
    assert c["portMappings"] == [{"containerPort": 8080}] and c["essential"] is True
    assert c["dockerLabels"] == {"Team": "A"} and c["logConfiguration"]["options"] == {"awslogs-group": "g"}
    assert params["proxyConfiguration"]["properties"] == [{"name": "AppPorts", "value": "8080"}]
    assert params["tags"] == [{"key": "team", "value": "a"}]
    assert any("PascalCase" in n for n in notes.infos)


@pytest.mark.parametrize(
    "key, value, expected",
    [("cpu", ".25 vcpu", "256"), ("cpu", "1 vCPU", "1024"), ("cpu", 512, "512"), ("memory", "0.5 GB", "512"), ("memory", "2GB", "2048"), ("memory", "3072 MiB", "3072")],
)
def test_task_size_units_become_integer_strings(key, value, expected):
    assert taskdef_input.task_size(value, key, "td") == expected


def test_task_size_that_is_not_whole_is_refused():
    with pytest.raises(BadInput, match=r"`cpu` '0.1 vCPU' is not a whole number of CPU units"):
        taskdef_input.task_size("0.1 vCPU", "cpu", "td")


def test_placeholders_are_found_with_where_they_are():
    found = taskdef_input.placeholders({"a": "arn:${AWS_ACCOUNT_ID}:x", "b": [{"value": "<ES-URL>"}, "<aws_region>", "echo <html>", "PLACEHOLDER"]})
    assert found == [("${AWS_ACCOUNT_ID}", "a"), ("<ES-URL>", "b[0].value"), ("<aws_region>", "b[1]"), ("PLACEHOLDER", "b[3]")]


def test_go_template_hint_names_the_line():
    assert "line 3 has a Docker/Go template" in taskdef_input.go_template_hint('{\n "a": 1,\n "tag": "{{.Name}}"\n}')
    assert taskdef_input.go_template_hint('{"a": "{{ image }}"}') is None


def bridge_td():
    return {"family": "web", "containerDefinitions": [{"name": "app", "image": "x", "memory": 128, "portMappings": [{"containerPort": 8080}]}]}


def test_launch_type_and_network_follow_the_task_definition():
    fargate = definitions.service_definition(None, None, environment=Env(), service=Svc(), desired_count_flag=None, task_definition=td())
    assert fargate.create_params["launchType"] == "FARGATE" and "networkConfiguration" in fargate.create_params
    bridge = definitions.service_definition(None, None, environment=Env(target_group=None), service=Svc(), desired_count_flag=None, task_definition=bridge_td())
    assert bridge.create_params["launchType"] == "EC2" and "networkConfiguration" not in bridge.create_params
    external = definitions.service_definition(
        None, None, environment=Env(target_group=None), service=Svc(), desired_count_flag=None, task_definition={**bridge_td(), "requiresCompatibilities": ["EXTERNAL"]}
    )
    assert external.create_params["launchType"] == "EXTERNAL"
    on_ec2_capacity = definitions.service_definition(
        {"capacityProviderStrategy": [{"capacityProvider": "asg", "weight": 1}]}, SD_PATH, environment=Env(target_group=None), service=Svc(), desired_count_flag=None, task_definition=bridge_td()
    )
    assert "launchType" not in on_ec2_capacity.create_params and "networkConfiguration" not in on_ec2_capacity.create_params


def test_mixed_capacity_providers_are_refused():
    with pytest.raises(BadInput, match="mixes Fargate and EC2 capacity providers"):
        definitions.service_definition(
            {"capacityProviderStrategy": [{"capacityProvider": "FARGATE"}, {"capacityProvider": "asg"}]}, SD_PATH, environment=Env(), service=Svc(), desired_count_flag=None, task_definition=td()
        )


def test_fargate_sizes_table():
    assert definitions.FARGATE_SIZES[256] == (512, 1024, 2048)
    assert definitions.FARGATE_SIZES[4096][-1] == 30720 and definitions.FARGATE_SIZES[16384][0] == 32768
    with pytest.raises(BadInput, match="with cpu 1024, memory is 2048 to 8192 in steps of 1024"):
        definitions.check_task_rules({**td(), "requiresCompatibilities": ["FARGATE"], "cpu": "1024", "memory": "1024"}, "td")


def test_an_empty_capacity_provider_strategy_is_no_strategy():
    sd = definitions.service_definition({"capacityProviderStrategy": []}, SD_PATH, environment=Env(), service=Svc(), desired_count_flag=None, task_definition=td())
    assert sd.create_params["launchType"] == "FARGATE" and "capacityProviderStrategy" not in sd.create_params


def test_an_environments_own_alarms_replace_the_definitions():
    """environments.<env>.services.<service>.alarms: that environment's alarms, over the definition's; [] turns them off."""
    rendered = {"deploymentConfiguration": {"alarms": {"alarmNames": ["from-the-file"], "enable": True, "rollback": True}}}
    sd = definitions.service_definition(rendered, SD_PATH, environment=Env(), service=Svc(), desired_count_flag=None, alarms=["prod-5xx"])
    assert sd.create_params["deploymentConfiguration"]["alarms"] == {"alarmNames": ["prod-5xx"], "enable": True, "rollback": True}
    off = definitions.service_definition(rendered, SD_PATH, environment=Env(), service=Svc(), desired_count_flag=None, alarms=[])
    assert off.create_params["deploymentConfiguration"]["alarms"]["enable"] is False
    kept = definitions.service_definition(rendered, SD_PATH, environment=Env(), service=Svc(), desired_count_flag=None)
    assert kept.create_params["deploymentConfiguration"]["alarms"]["alarmNames"] == ["from-the-file"]
