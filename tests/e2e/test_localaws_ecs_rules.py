"""The local AWS refuses what real ECS refuses at RegisterTaskDefinition / CreateService /
UpdateService (tests/localaws/ecs_validation.py), with ECS's error codes — boto3 over HTTP,
nothing of deployer's in the way."""
from __future__ import annotations

import copy

import botocore.exceptions
import pytest

from tests.e2e.test_e2e_ecs_rules import with_container

FAMILY = "rules"


def fargate_td(**changes) -> dict:
    td = {
        "family": FAMILY, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "app:1", "essential": True, "portMappings": [{"containerPort": 8080}]}],
    }
    td.update(changes)
    return td


def refused(call, code: str, *needles: str) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    assert error["Code"] == code, error
    for needle in needles:
        assert needle in error["Message"], error
    return error["Message"]


def revisions(ecs) -> list[str]:
    return ecs.list_task_definitions(familyPrefix=FAMILY)["taskDefinitionArns"]


def network(out) -> dict:
    return {"awsvpcConfiguration": {"subnets": [out["PrivateSubnet1"]], "securityGroups": [out["ServiceSecurityGroup"]]}}


REGISTER_REFUSALS = [
    ("family placeholder", lambda: fargate_td(family="<TASK_NAME>"), "Family contains invalid characters"),
    ("family too long", lambda: fargate_td(family="a" * 256), "Family contains invalid characters"),
    ("container name", lambda: with_container(fargate_td(), name="my.app"), "Container name 'my.app' is invalid"),
    ("duplicate containers", lambda: {**fargate_td(), "containerDefinitions": fargate_td()["containerDefinitions"] * 2}, "Duplicate container names"),
    ("container memory above the task's", lambda: with_container(fargate_td(), memory=1024), "'memory' setting for container 'app'"),
    ("reservation above memory", lambda: with_container(fargate_td(memory="1024", cpu="512"), memory=256, memoryReservation=512), "'memoryReservation' must not be greater"),
    ("container cpu above the task's", lambda: with_container(fargate_td(), cpu=512), "cpu of the containers"),
    ("not a Fargate size", lambda: fargate_td(cpu="256", memory="4096"), "No Fargate configuration exists"),
    ("Fargate without awsvpc", lambda: fargate_td(networkMode="bridge"), "Fargate only supports network mode 'awsvpc'"),
    ("Fargate without memory", lambda: {k: v for k, v in fargate_td().items() if k != "memory"}, "'memory' be defined at the task level"),
    ("Fargate privileged", lambda: with_container(fargate_td(), privileged=True), "privileged"),
    ("Fargate host volume", lambda: fargate_td(volumes=[{"name": "data", "host": {"sourcePath": "/data"}}]), "Host volume 'data'"),
    ("hostPort under awsvpc", lambda: with_container(fargate_td(), portMappings=[{"containerPort": 8080, "hostPort": 80}]), "host ports and container ports"),
    ("no essential container", lambda: with_container(fargate_td(), essential=False), "at least one essential container"),
    ("dependsOn unknown", lambda: with_container(fargate_td(), dependsOn=[{"containerName": "db", "condition": "START"}]), "depends on container 'db'"),
    ("health check interval", lambda: with_container(fargate_td(), healthCheck={"command": ["CMD", "true"], "interval": 1}), "'interval' setting"),
    ("empty ipcMode", lambda: fargate_td(ipcMode=""), "Value '' at 'ipcMode'"),
    ("empty appProtocol", lambda: with_container(fargate_td(), portMappings=[{"containerPort": 8080, "appProtocol": ""}]), "Value '' at"),
    ("duplicate secret", lambda: with_container(fargate_td(), secrets=[{"name": "A", "valueFrom": "x"}, {"name": "A", "valueFrom": "y"}]), "Duplicate secret names"),
    ("unknown sourceVolume", lambda: with_container(fargate_td(), mountPoints=[{"sourceVolume": "nope", "containerPath": "/x"}]), "unknown volume 'nope'"),
]


@pytest.mark.parametrize("name,td,needle", REGISTER_REFUSALS, ids=[r[0] for r in REGISTER_REFUSALS])
def test_register_refuses_what_ecs_refuses_and_registers_nothing(aws, name, td, needle):
    ecs = aws.client("ecs")
    refused(lambda: ecs.register_task_definition(**td()), "ClientException", needle)
    assert revisions(ecs) == []


def test_valid_shapes_register_with_the_compatibilities_ecs_computes(aws):
    ecs = aws.client("ecs")
    fargate = ecs.register_task_definition(**{k: v for k, v in fargate_td().items() if k != "requiresCompatibilities"})["taskDefinition"]
    assert fargate["compatibilities"] == ["EC2", "FARGATE"]
    ec2_only = ecs.register_task_definition(**with_container({k: v for k, v in fargate_td().items() if k != "requiresCompatibilities"}, privileged=True))["taskDefinition"]
    assert ec2_only["compatibilities"] == ["EC2"]
    units = ecs.register_task_definition(**fargate_td(cpu="0.25 vcpu", memory="0.5 GB"))["taskDefinition"]
    assert units["compatibilities"] == ["EC2", "FARGATE"]
    bridge = ecs.register_task_definition(family=FAMILY, containerDefinitions=[{"name": "app", "image": "a", "memory": 128, "portMappings": [{"containerPort": 80, "hostPort": 0}]}])["taskDefinition"]
    assert bridge["compatibilities"] == ["EC2"]
    assert len(revisions(ecs)) == 4


def test_create_service_refuses_fargate_for_an_ec2_only_task_definition(aws, platform):
    out, ecs = platform["outputs"], aws.client("ecs")
    arn = ecs.register_task_definition(**with_container({k: v for k, v in fargate_td().items() if k != "requiresCompatibilities"}, privileged=True))["taskDefinition"]["taskDefinitionArn"]
    refused(lambda: ecs.create_service(cluster=out["ClusterName"], serviceName="web", taskDefinition=arn, desiredCount=1,
                                       launchType="FARGATE", networkConfiguration=network(out)),
            "InvalidParameterException", "Task definition does not support launch_type FARGATE.")
    refused(lambda: ecs.create_service(cluster=out["ClusterName"], serviceName="web", taskDefinition=arn, desiredCount=1,
                                       capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}], networkConfiguration=network(out)),
            "InvalidParameterException", "launch_type FARGATE")
    assert ecs.describe_services(cluster=out["ClusterName"], services=["web"])["services"] == []
    created = ecs.create_service(cluster=out["ClusterName"], serviceName="web", taskDefinition=arn, desiredCount=1,
                                 launchType="EC2", networkConfiguration=network(out))["service"]
    assert created["launchType"] == "EC2"


SERVICE_REFUSALS = [
    ("launch type and strategy", {"launchType": "FARGATE", "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]}, "Specifying both a launch type and capacity provider strategy"),
    ("empty launch type", {"launchType": ""}, "Value '' at 'launchType'"),
    ("negative desired count", {"launchType": "FARGATE", "desiredCount": -1}, "desiredCount"),
    ("minimum healthy above 100", {"launchType": "FARGATE", "deploymentConfiguration": {"minimumHealthyPercent": 150, "maximumPercent": 200}}, "minimumHealthyPercent"),
    ("alarms without names", {"launchType": "FARGATE", "deploymentConfiguration": {"alarms": {"alarmNames": [], "enable": True, "rollback": True}}}, "alarm name"),
    ("load balancer container", {"launchType": "FARGATE", "loadBalancers": [{"targetGroupArn": "TG", "containerName": "web", "containerPort": 8080}]}, "The container web does not exist"),
    ("load balancer port", {"launchType": "FARGATE", "loadBalancers": [{"targetGroupArn": "TG", "containerName": "app", "containerPort": 9090}]}, "did not have a container port 9090"),
    ("grace without load balancer", {"launchType": "FARGATE", "healthCheckGracePeriodSeconds": 30}, "only valid for services configured to use load balancers"),
]


@pytest.mark.parametrize("name,params,needle", SERVICE_REFUSALS, ids=[r[0] for r in SERVICE_REFUSALS])
def test_create_service_refusals(aws, platform, name, params, needle):
    out, ecs = platform["outputs"], aws.client("ecs")
    arn = ecs.register_task_definition(**fargate_td())["taskDefinition"]["taskDefinitionArn"]
    params = copy.deepcopy(params)
    for balancer in params.get("loadBalancers", []):
        balancer["targetGroupArn"] = out["TargetGroupArn"]
    kwargs = {"cluster": out["ClusterName"], "serviceName": "web", "taskDefinition": arn, "desiredCount": 1, "networkConfiguration": network(out), **params}
    refused(lambda: ecs.create_service(**kwargs), "InvalidParameterException", needle)
    assert ecs.describe_services(cluster=out["ClusterName"], services=["web"])["services"] == []


def test_update_service_refuses_an_ec2_only_revision_on_a_fargate_service(aws, platform):
    out, ecs = platform["outputs"], aws.client("ecs")
    good = ecs.register_task_definition(**fargate_td())["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=out["ClusterName"], serviceName="web", taskDefinition=good, desiredCount=1, launchType="FARGATE", networkConfiguration=network(out))
    ec2_only = ecs.register_task_definition(**fargate_td(requiresCompatibilities=["EC2"], networkMode="bridge", volumes=[{"name": "d", "host": {"sourcePath": "/d"}}]))
    refused(lambda: ecs.update_service(cluster=out["ClusterName"], service="web", taskDefinition=ec2_only["taskDefinition"]["taskDefinitionArn"]),
            "InvalidParameterException", "Task definition does not support launch_type FARGATE.")
    refused(lambda: ecs.update_service(cluster=out["ClusterName"], service="web", deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 50}),
            "InvalidParameterException", "maximumPercent")
    service = ecs.describe_services(cluster=out["ClusterName"], services=["web"])["services"][0]
    assert service["taskDefinition"] == good
