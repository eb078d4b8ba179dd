"""deployer/ecs_rules.py: each rule ECS applies at RegisterTaskDefinition / CreateService, with a
definition that passes and one that fails (naming the field)."""
from __future__ import annotations

import copy

import pytest

from deployer.manifest import ecs_rules
from deployer.core.errors import BadInput


def td(**changes) -> dict:
    base = {
        "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "app:1", "essential": True, "portMappings": [{"containerPort": 8080}]}],
    }
    base.update(changes)
    return base


def container(definition: dict, n: int = 0, **changes) -> dict:
    definition = copy.deepcopy(definition)
    definition["containerDefinitions"][n].update(changes)
    return definition


def service(**changes) -> dict:
    return {"serviceName": "web", "desiredCount": 1, "launchType": "FARGATE", **changes}


def paths(problems) -> list[str]:
    return [p.path for p in problems]


def test_the_example_task_definition_and_service_pass():
    assert ecs_rules.check(td(), service()) == []


# ---- task definition: (passing definition, failing definition, path named, words in the message)
TASK_RULES = [
    ("family", td(family="web-api_2"), td(family="<TASK_NAME>"), "family", "placeholder"),
    ("family length", td(family="a" * 255), td(family="a" * 256), "family", "255"),
    ("container name", td(), container(td(), name="my.app"), "containerDefinitions[0].name", "letters, digits"),
    ("container names unique",
     td(containerDefinitions=[{"name": "app", "image": "a"}, {"name": "log", "image": "b", "essential": False}]),
     td(containerDefinitions=[{"name": "app", "image": "a"}, {"name": "app", "image": "b"}]), "containerDefinitions[1].name", "twice"),
    ("container memory within the task's", container(td(), memory=512), container(td(), memory=1024), "containerDefinitions[0].memory", "1024 MiB is more than the task's 512 MiB"),
    ("reservation within the task's", container(td(), memoryReservation=256), container(td(), memoryReservation=1024), "containerDefinitions[0].memoryReservation", "more than the task's"),
    ("reservation within memory", container(td(cpu="512", memory="1024"), memory=512, memoryReservation=512),
     container(td(cpu="512", memory="1024"), memory=256, memoryReservation=512), "containerDefinitions[0].memoryReservation", "container's memory"),
    ("reservations together", td(containerDefinitions=[{"name": "a", "image": "a", "memoryReservation": 256}, {"name": "b", "image": "b", "memoryReservation": 256}]),
     td(containerDefinitions=[{"name": "a", "image": "a", "memoryReservation": 384}, {"name": "b", "image": "b", "memoryReservation": 256}]), "memory", "640 MiB together"),
    ("container cpu within the task's", container(td(), cpu=256), container(td(), cpu=512), "containerDefinitions[0].cpu", "more than the task's 256"),
    ("cpu together", td(containerDefinitions=[{"name": "a", "image": "a", "cpu": 128}, {"name": "b", "image": "b", "cpu": 128}]),
     td(containerDefinitions=[{"name": "a", "image": "a", "cpu": 200}, {"name": "b", "image": "b", "cpu": 100}]), "cpu", "300 CPU units together"),
    ("memory without task memory", {"family": "web", "containerDefinitions": [{"name": "app", "image": "a", "memoryReservation": 128}]},
     {"family": "web", "containerDefinitions": [{"name": "app", "image": "a"}]}, "containerDefinitions[0]", "needs `memory` or `memoryReservation`"),
    ("Fargate size", td(cpu="512", memory="3072"), td(cpu="512", memory="5120"), "memory", "memory is 1024, 2048, 3072, 4096"),
    ("Fargate size 16 vCPU", td(cpu="16384", memory="122880"), td(cpu="16384", memory="36864"), "memory", "32768 to 122880 in steps of 8192"),
    ("Fargate cpu", td(cpu="8192", memory="16384"), td(cpu="3072", memory="8192"), "cpu", "not a Fargate cpu size"),
    ("Fargate units", td(cpu="0.25 vcpu", memory="0.5 GB"), td(cpu="0.25 vcpu", memory="4 GB"), "memory", "4096 MiB with cpu 256"),
    ("unreadable size", td(cpu="1 vCPU", memory="2GB"), td(cpu="1 core", memory="2048"), "cpu", "not a number of CPU units"),
    ("Fargate task memory", td(), {k: v for k, v in td().items() if k != "memory"}, "memory", "no task-level memory"),
    ("Fargate awsvpc", td(), td(networkMode="bridge"), "networkMode", "networkMode `bridge`"),
    ("Fargate privileged", container(td(requiresCompatibilities=["EC2"], networkMode="bridge"), privileged=True), container(td(), privileged=True),
     "containerDefinitions[0].privileged", "privileged container"),
    ("Fargate host volume", td(volumes=[{"name": "scratch", "host": {}}]), td(volumes=[{"name": "data", "host": {"sourcePath": "/data"}}]), "volumes[0].host.sourcePath", "host volume"),
    ("Fargate devices", td(), container(td(), linuxParameters={"devices": [{"hostPath": "/dev/fuse"}]}), "containerDefinitions[0].linuxParameters.devices", "host devices"),
    ("Fargate capabilities", container(td(), linuxParameters={"capabilities": {"add": ["SYS_PTRACE"]}}),
     container(td(), linuxParameters={"capabilities": {"add": ["NET_ADMIN"]}}), "containerDefinitions[0].linuxParameters.capabilities.add", "NET_ADMIN"),
    ("Fargate pidMode", td(pidMode="task"), td(pidMode="host"), "pidMode", "pidMode `host`"),
    ("Fargate placement constraints", td(), td(placementConstraints=[{"type": "memberOf", "expression": "attribute:x == y"}]), "placementConstraints", "placement constraints"),
    ("Fargate docker volume", td(), td(volumes=[{"name": "v", "dockerVolumeConfiguration": {"scope": "task"}}]), "volumes[0].dockerVolumeConfiguration", "Docker volume"),
    ("Fargate log driver", container(td(), logConfiguration={"logDriver": "awsfirelens"}), container(td(), logConfiguration={"logDriver": "json-file"}),
     "containerDefinitions[0].logConfiguration.logDriver", "json-file"),
    ("hostPort under awsvpc", container(td(), portMappings=[{"containerPort": 80, "hostPort": 80}]), container(td(), portMappings=[{"containerPort": 80, "hostPort": 8080}]),
     "containerDefinitions[0].portMappings[0].hostPort", "must equal containerPort 80"),
    ("bridge takes any hostPort", container(td(requiresCompatibilities=["EC2"], networkMode="bridge"), portMappings=[{"containerPort": 80, "hostPort": 0}]),
     container(td(requiresCompatibilities=["EC2"], networkMode="none"), portMappings=[{"containerPort": 80}]), "containerDefinitions[0].portMappings", "`none` takes no port mappings"),
    ("essential container", td(), container(td(), essential=False), "containerDefinitions", "no container is essential"),
    ("dependsOn names a container",
     td(containerDefinitions=[{"name": "app", "image": "a", "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]}, {"name": "init", "image": "b", "essential": False}]),
     container(td(), dependsOn=[{"containerName": "db", "condition": "START"}]), "containerDefinitions[0].dependsOn[0].containerName", "`db` is not a container"),
    ("dependsOn condition", container(td(), dependsOn=[]), td(containerDefinitions=[{"name": "app", "image": "a", "dependsOn": [{"containerName": "b", "condition": "READY"}]}, {"name": "b", "image": "b"}]),
     "containerDefinitions[0].dependsOn[0].condition", "`READY` is not one of"),
    ("dependsOn cycle",
     td(containerDefinitions=[{"name": "a", "image": "a", "dependsOn": [{"containerName": "b", "condition": "START"}]}, {"name": "b", "image": "b"}]),
     td(containerDefinitions=[{"name": "a", "image": "a", "dependsOn": [{"containerName": "b", "condition": "START"}]},
                              {"name": "b", "image": "b", "dependsOn": [{"containerName": "a", "condition": "START"}]}]),
     "containerDefinitions[0].dependsOn", "a → b → a"),
    ("health check interval", container(td(), healthCheck={"command": ["CMD", "true"], "interval": 5}), container(td(), healthCheck={"command": ["CMD", "true"], "interval": 4}),
     "containerDefinitions[0].healthCheck.interval", "outside 5–300"),
    ("health check timeout", container(td(), healthCheck={"command": ["CMD", "true"], "timeout": 60}), container(td(), healthCheck={"command": ["CMD", "true"], "timeout": 61}),
     "containerDefinitions[0].healthCheck.timeout", "outside 2–60"),
    ("health check retries", container(td(), healthCheck={"command": ["CMD", "true"], "retries": 10}), container(td(), healthCheck={"command": ["CMD", "true"], "retries": 0}),
     "containerDefinitions[0].healthCheck.retries", "outside 1–10"),
    ("health check startPeriod", container(td(), healthCheck={"command": ["CMD", "true"], "startPeriod": 300}), container(td(), healthCheck={"command": ["CMD", "true"], "startPeriod": 301}),
     "containerDefinitions[0].healthCheck.startPeriod", "outside 0–300"),
    ("empty ipcMode", td(requiresCompatibilities=["EC2"], ipcMode="task"), td(ipcMode=""), "ipcMode", "empty string"),
    ("empty pidMode", td(pidMode="task"), td(pidMode=""), "pidMode", "remove the field"),
    ("empty appProtocol", container(td(), portMappings=[{"containerPort": 80, "appProtocol": "http"}]), container(td(), portMappings=[{"containerPort": 80, "appProtocol": ""}]),
     "containerDefinitions[0].portMappings[0].appProtocol", "empty string"),
    ("environment names unique", container(td(), environment=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]),
     container(td(), environment=[{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]), "containerDefinitions[0].environment[1].name", "set twice"),
    ("secret names unique", container(td(), secrets=[{"name": "A", "valueFrom": "x"}]),
     container(td(), secrets=[{"name": "A", "valueFrom": "x"}, {"name": "A", "valueFrom": "y"}]), "containerDefinitions[0].secrets[1].name", "set twice"),
    ("mountPoints name a volume", container(td(volumes=[{"name": "v"}]), mountPoints=[{"sourceVolume": "v", "containerPath": "/v"}]),
     container(td(), mountPoints=[{"sourceVolume": "v", "containerPath": "/v"}]), "containerDefinitions[0].mountPoints[0].sourceVolume", "not a volume"),
    ("links only in bridge", container(td(requiresCompatibilities=["EC2"], networkMode="bridge"), links=["db"]), container(td(requiresCompatibilities=["EC2"]), links=["db"]),
     "containerDefinitions[0].links", "only with networkMode bridge"),
]


@pytest.mark.parametrize("rule,good,bad,path,words", TASK_RULES, ids=[r[0] for r in TASK_RULES])
def test_task_definition_rule(rule, good, bad, path, words):
    assert ecs_rules.check_task_definition(good) == []
    problems = ecs_rules.check_task_definition(bad)
    assert path in paths(problems), problems
    assert any(words in p.message for p in problems if p.path == path), problems


# ---- service: (passing service, failing service, task definition, path, words)
EC2_ONLY = container({k: v for k, v in td().items() if k != "requiresCompatibilities"}, privileged=True)
SERVICE_RULES = [
    ("EC2-only task definition on Fargate", service(launchType="EC2"), service(), EC2_ONLY, "launchType", "EC2-only"),
    ("EC2-only task definition on a Fargate capacity provider", service(launchType=None, capacityProviderStrategy=[{"capacityProvider": "my-asg", "weight": 1}]),
     {k: v for k, v in service(capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}]).items() if k != "launchType"}, EC2_ONLY, "capacityProviderStrategy", "containerDefinitions[0].privileged"),
    ("Fargate needs task cpu", service(launchType="EC2"), service(), {k: v for k, v in td().items() if k not in ("requiresCompatibilities", "cpu")}, "launchType", "no task-level cpu"),
    ("requiresCompatibilities", service(launchType="EC2"), service(launchType="FARGATE"), td(requiresCompatibilities=["EC2"], networkMode="bridge"), "launchType", "requiresCompatibilities is ['EC2']"),
    ("launch type and strategy", service(), service(capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}]), td(), "launchType", "one or the other"),
    ("empty launch type", service(), service(launchType="", capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}]), td(), "launchType", "empty string"),
    ("desired count", service(desiredCount=0), service(desiredCount=-1), td(), "desiredCount", "negative"),
    ("one base", service(launchType=None, capacityProviderStrategy=[{"capacityProvider": "FARGATE", "base": 1}, {"capacityProvider": "FARGATE_SPOT", "weight": 1}]),
     service(launchType=None, capacityProviderStrategy=[{"capacityProvider": "FARGATE", "base": 1}, {"capacityProvider": "FARGATE_SPOT", "base": 1}]), td(),
     "capacityProviderStrategy[1].base", "only one"),
    ("minimum healthy percent", service(deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 200}),
     service(deploymentConfiguration={"minimumHealthyPercent": 150}), td(), "deploymentConfiguration.minimumHealthyPercent", "outside 0–100"),
    ("maximum below minimum", service(deploymentConfiguration={"minimumHealthyPercent": 0, "maximumPercent": 100}),
     service(deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 50}), td(), "deploymentConfiguration.maximumPercent", "below minimumHealthyPercent"),
    ("alarms without names", service(deploymentConfiguration={"alarms": {"alarmNames": ["high-5xx"], "enable": True, "rollback": True}}),
     service(deploymentConfiguration={"alarms": {"enable": True, "rollback": True}}), td(), "deploymentConfiguration.alarms", "no `alarmNames`"),
    ("load balancer container", service(loadBalancers=[{"targetGroupArn": "tg", "containerName": "app", "containerPort": 8080}]),
     service(loadBalancers=[{"targetGroupArn": "tg", "containerName": "web", "containerPort": 8080}]), td(), "loadBalancers[0].containerName", "`web` is not a container"),
    ("load balancer port", service(loadBalancers=[{"targetGroupArn": "tg", "containerName": "app", "containerPort": 8080}]),
     service(loadBalancers=[{"targetGroupArn": "tg", "containerName": "app", "containerPort": 80}]), td(), "loadBalancers[0].containerPort", "no portMapping for 80"),
    ("grace period needs load balancers", service(healthCheckGracePeriodSeconds=30, loadBalancers=[{"targetGroupArn": "tg", "containerName": "app", "containerPort": 8080}]),
     service(healthCheckGracePeriodSeconds=30), td(), "healthCheckGracePeriodSeconds", "load balancers"),
    ("subnets", service(networkConfiguration={"awsvpcConfiguration": {"subnets": ["s-1"]}}),
     service(networkConfiguration={"awsvpcConfiguration": {"subnets": [], "securityGroups": ["sg"]}}), td(), "networkConfiguration.awsvpcConfiguration.subnets", "at least one"),
]


@pytest.mark.parametrize("rule,good,bad,definition,path,words", SERVICE_RULES, ids=[r[0] for r in SERVICE_RULES])
def test_service_rule(rule, good, bad, definition, path, words):
    good = {k: v for k, v in good.items() if v is not None}
    bad = {k: v for k, v in bad.items() if v is not None}
    assert ecs_rules.check_service(good, definition) == []
    problems = ecs_rules.check_service(bad, definition)
    assert path in paths(problems), problems
    assert any(words in p.message for p in problems if p.path == path), problems


def test_ec2_bridge_and_host_mode_task_definitions_pass_on_ec2():
    bridge = {"family": "web", "requiresCompatibilities": ["EC2"], "containerDefinitions": [
        {"name": "app", "image": "nginx", "memory": 256, "cpu": 128, "portMappings": [{"containerPort": 8080, "hostPort": 0}]}]}
    host = {"family": "web", "networkMode": "host", "requiresCompatibilities": ["EC2"], "cpu": "256", "memory": "512", "containerDefinitions": [
        {"name": "app", "image": "nginx", "portMappings": [{"containerPort": 8080, "hostPort": 8080}]}]}
    privileged = container({k: v for k, v in td().items() if k != "requiresCompatibilities"}, privileged=True)
    for definition in (bridge, host, privileged):
        assert ecs_rules.check(definition, service(launchType="EC2")) == []


def test_compatibilities_as_ecs_computes_them():
    plain = {k: v for k, v in td().items() if k != "requiresCompatibilities"}
    assert ecs_rules.compatibilities(plain) == ["EC2", "FARGATE"]
    assert ecs_rules.compatibilities(container(plain, privileged=True)) == ["EC2"]
    assert ecs_rules.compatibilities(td()) == ["EC2", "FARGATE"]
    assert ecs_rules.compatibilities(td(requiresCompatibilities=["EC2"])) == ["EC2"]


def test_task_size_normalised_as_ecs_does():
    assert [ecs_rules.task_size(v, "cpu") for v in ("256", 256, "0.25 vcpu", "1 vCPU", ".5 vCPU", "x")] == [256, 256, 256, 1024, 512, None]
    assert [ecs_rules.task_size(v, "memory") for v in ("512", "0.5 GB", "2GB", "1024 MiB", "1.1 GB")] == [512, 512, 2048, 1024, None]


def test_enforce_names_the_file_and_every_field():
    bad = container(td(family="<TASK_NAME>"), memory=1024)
    with pytest.raises(BadInput) as caught:
        ecs_rules.enforce(bad, service(), task_file="ecs-task-def.json.j2", service_file="ecs-service-def.json.j2")
    message = caught.value.message
    assert "ecs-task-def.json.j2: family: `<TASK_NAME>` is not a valid family" in message
    assert "ecs-task-def.json.j2: containerDefinitions[0].memory: 1024 MiB is more than the task's 512 MiB" in message
    assert caught.value.exit_code == 2
    with pytest.raises(BadInput) as caught:
        ecs_rules.enforce(td(), service(desiredCount=-1), task_file="t.json", service_file=None)
    assert caught.value.message == "service definition: desiredCount: -1 is negative"
    ecs_rules.enforce(td(), service(), task_file="t.json")  # nothing to say: no exception


def test_odd_values_are_reported_not_crashed_on():
    odd = {"family": 5, "cpu": ["x"], "containerDefinitions": [None, {"name": None, "dependsOn": "x", "healthCheck": {"interval": True}}, "s"]}
    problems = ecs_rules.check(odd, {"launchType": "FARGATE", "capacityProviderStrategy": "x", "deploymentConfiguration": {"alarms": None}})
    assert "family" in paths(problems)
    assert ecs_rules.check({"family": "web"}, {}) == [ecs_rules.Problem("task", "containerDefinitions", "at least one container is required")]


def test_a_derived_launch_type_is_said_to_be_derived():
    derived = ecs_rules.check_service(service(), EC2_ONLY, written={})
    assert "deployer derives from networkMode awsvpc" in derived[0].message
    written = ecs_rules.check_service(service(), EC2_ONLY, written={"launchType": "FARGATE"})
    assert written[0].message.startswith("runs the service on FARGATE")
