"""End to end: definitions real ECS refuses (which the local AWS used to accept) stop the real
`deployer` command with exit 2 naming the file and field, before a revision is registered — on
every path (render, verify, deploy --dry-run, deploy, release before the build). What ECS accepts
(an EC2-only task definition on a service that says EC2) still deploys."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import App, ecs_state, push_image

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/demo/web:1.0.0"
TASK = {
    "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
    "containerDefinitions": [{"name": "app", "image": "{{ image }}", "essential": True, "portMappings": [{"containerPort": 8080}]}],
}


def project(tmp_path: Path, aws, platform, task: dict, service: dict | None = None, *, family: str | None = None) -> App:
    path = tmp_path / "project"
    path.mkdir(exist_ok=True)
    (path / "ecs-task-def.json.j2").write_text(json.dumps(task, indent=2))
    config = {
        "app": "web", "region": "us-east-1",
        "environment": {"stack": platform["stack"], "outputs": {}},
        "task_definition": "ecs-task-def.json.j2",
        "service": {"name": "web", "container": "app", "port": 8080},
        "deploy": {"timeout": 60},
    }
    if family is not None:
        config["service"]["family"] = family
    if service is not None:
        (path / "ecs-service-def.json.j2").write_text(json.dumps(service, indent=2))
        config["service"]["definition"] = "ecs-service-def.json.j2"
    (path / "deployer.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return App(path, aws)


def task(**changes) -> dict:
    td = copy.deepcopy(TASK)
    td.update(changes)
    return td


def with_container(td: dict, **changes) -> dict:
    """td with its first container changed."""
    td = copy.deepcopy(td)
    td["containerDefinitions"][0].update(changes)
    return td


NO_COMPAT = {k: v for k, v in TASK.items() if k != "requiresCompatibilities"}
EC2_ONLY = with_container({**NO_COMPAT, "volumes": [{"name": "docker", "host": {"sourcePath": "/var/run/docker.sock"}}]},
                    privileged=True, mountPoints=[{"sourceVolume": "docker", "containerPath": "/var/run/docker.sock"}])

# (name, task definition, service definition or None, deployer.yaml family, what stderr must say)
REFUSED = [
    ("privileged and host volume, no requiresCompatibilities, Fargate derived", EC2_ONLY, None, None,
     ["ECS computes the task definition as EC2-only", "containerDefinitions[0].privileged", "volumes[0].host.sourcePath", "\"launchType\": \"EC2\""]),
    ("EC2-only on a Fargate capacity provider", EC2_ONLY, {"capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]}, None,
     ["ecs-service-def.json.j2: capacityProviderStrategy: runs the service on FARGATE", "containerDefinitions[0].privileged"]),
    ("family placeholder", task(family="<TASK_NAME>"), None, "<TASK_NAME>", ["ecs-task-def.json.j2: family: `<TASK_NAME>` is not a valid family"]),
    ("container memory above the task's", with_container(TASK, memory=1024), None, None,
     ["ecs-task-def.json.j2: containerDefinitions[0].memory: 1024 MiB is more than the task's 512 MiB"]),
    ("container cpu above the task's", with_container(TASK, cpu=1024), None, None, ["containerDefinitions[0].cpu: 1024 CPU units is more than the task's 256"]),
    ("empty ipcMode, pidMode and appProtocol", with_container(task(ipcMode="", pidMode=""), portMappings=[{"containerPort": 8080, "appProtocol": ""}]), None, None,
     ["ecs-task-def.json.j2: ipcMode: is an empty string", "pidMode: is an empty string", "containerDefinitions[0].portMappings[0].appProtocol: is an empty string", "remove the field"]),
    ("health check interval", with_container(TASK, healthCheck={"command": ["CMD-SHELL", "true"], "interval": 1}), None, None,
     ["containerDefinitions[0].healthCheck.interval: 1 is outside 5–300 seconds"]),
    ("dependsOn cycle", task(containerDefinitions=[
        {"name": "app", "image": "{{ image }}", "portMappings": [{"containerPort": 8080}], "dependsOn": [{"containerName": "proxy", "condition": "START"}]},
        {"name": "proxy", "image": "envoy", "dependsOn": [{"containerName": "app", "condition": "START"}]}]), None, None,
     ["containers depend on each other in a cycle: app → proxy → app"]),
    ("duplicate secret names", with_container(TASK, secrets=[{"name": "DB", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/a"},
                                                       {"name": "DB", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/b"}]), None, None,
     ["containerDefinitions[0].secrets[1].name: `DB` is set twice"]),
    ("empty launchType beside a capacity provider strategy", TASK, {"launchType": "", "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]}, None,
     ["ecs-service-def.json.j2: launchType: is an empty string"]),
    ("alarms enabled without names", TASK, {"deploymentConfiguration": {"alarms": {"alarmNames": [], "enable": True, "rollback": True}}}, None,
     ["ecs-service-def.json.j2: deploymentConfiguration.alarms.alarmNames: is empty while alarms are enabled"]),
    ("load balancer on a port the container does not map", TASK, {"loadBalancers": [{"targetGroupArn": "TG", "containerName": "app", "containerPort": 80}]}, None,
     ["ecs-service-def.json.j2: loadBalancers[0].containerPort: container `app` has no portMapping for 80"]),
    ("minimumHealthyPercent above 100", TASK, {"deploymentConfiguration": {"minimumHealthyPercent": 150, "maximumPercent": 200}}, None,
     ["deploymentConfiguration.minimumHealthyPercent: 150 is outside 0–100"]),
]


@pytest.mark.parametrize("name,td,sd,family,needles", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_before_any_write(tmp_path, aws, platform, name, td, sd, family, needles):
    cluster = platform["outputs"]["ClusterName"]
    if sd and sd.get("loadBalancers"):
        sd = copy.deepcopy(sd)
        sd["loadBalancers"][0]["targetGroupArn"] = platform["outputs"]["TargetGroupArn"]
    app = project(tmp_path, aws, platform, td, sd, family=family)
    before = ecs_state(aws, cluster)
    result = app.cli("deploy", "--image", IMAGE)
    assert result.code == 2, result.stdout + result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr
    assert "nothing was registered" in result.stderr
    assert ecs_state(aws, cluster) == before
    assert before["task_definitions"] == []


@pytest.mark.parametrize("command", [
    ("render", "--image", IMAGE), ("verify",), ("deploy", "--image", IMAGE, "--dry-run"), ("diff", "--image", IMAGE), ("release", "--dry-run"), ("release",)])
def test_every_path_refuses_before_any_write(app, aws, platform, command):
    """The example app with one container asking more memory than its task has."""
    cluster = platform["outputs"]["ClusterName"]
    app.edit("ecs-task-def.json.j2", '"essential": true,', '"essential": true, "memory": 1024,')
    app.commit("container memory above the task's")
    before = ecs_state(aws, cluster)
    result = app.cli(*command)
    said = "ecs-task-def.json.j2: containerDefinitions[0].memory: 1024 MiB is more than the task's 512 MiB"
    if command[0] == "verify":  # verify reports its checks: this one FAILs, exit 1
        assert result.code == 1 and f"FAIL  definitions      {said}" in result.stdout, result.stdout + result.stderr
    else:
        assert result.code == 2, result.stdout + result.stderr
        assert said in result.stderr
    assert ecs_state(aws, cluster) == before


def test_an_ec2_only_task_definition_deploys_when_the_service_says_ec2(tmp_path, aws, platform):
    cluster = platform["outputs"]["ClusterName"]
    app = project(tmp_path, aws, platform, EC2_ONLY, {"launchType": "EC2"})
    push_image(aws.endpoint, "demo/web", "1.0.0")  # deploy checks the image is in ECR before any write
    result = app.cli("deploy", "--image", IMAGE, "--output", "json")
    assert result.code == 0, result.stderr
    ecs = aws.client("ecs")
    live = ecs.describe_services(cluster=cluster, services=["web"])["services"][0]
    assert live["launchType"] == "EC2"
    registered = ecs.describe_task_definition(taskDefinition=live["taskDefinition"])["taskDefinition"]
    assert registered["compatibilities"] == ["EC2"]


def test_the_local_aws_refuses_what_deployer_refuses(aws, platform):
    """The same definition sent straight to the local AWS: ECS's error, no revision."""
    import botocore.exceptions

    ecs = aws.client("ecs")
    td = with_container(TASK, memory=1024, image=IMAGE)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        ecs.register_task_definition(**td)
    assert caught.value.response["Error"]["Code"] == "ClientException"
    assert "'memory' setting for container 'app'" in caught.value.response["Error"]["Message"]
    assert ecs.list_task_definitions()["taskDefinitionArns"] == []
