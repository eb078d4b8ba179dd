"""End to end: `deployer adopt` hands a service over from the Proton-style *service* stack that owns
it (created here with the local AWS's CloudFormation, from tests/fixtures/proton/service-stack.yaml
rendered the way Proton rendered service templates) — the stack lets go of the service, the
service keeps running on the same revision, and `deployer diff` in the directory `init` wrote is
empty. The admins' environment stack is never touched.
"""

from __future__ import annotations

import time
from pathlib import Path

import jinja2
import pytest

from tests.conftest import App, image_ref

SERVICE_TEMPLATE = Path(__file__).parents[1] / "fixtures" / "proton" / "service-stack.yaml"
SERVICE_STACK = "AWSProton-web-prod-cloudformation--QWERTYUIOP"


def create_service_stack(aws, platform, *, with_alarm_topic: bool = False) -> str:
    inputs = {"task_size": "x-small", "image": f"{platform['outputs']['EcrRepositoryUri']}:1.0.0", "port": 8080, "desired_count": 2, "with_alarm_topic": with_alarm_topic}
    body = jinja2.Template(SERVICE_TEMPLATE.read_text()).render(
        environment={"outputs": platform["outputs"]}, service={"name": "web"}, service_instance={"name": "app", "inputs": inputs}
    )
    cfn = aws.client("cloudformation")
    cfn.create_stack(StackName=SERVICE_STACK, TemplateBody=body, Tags=[{"Key": "aws:proton:service", "Value": "arn:aws:proton:us-east-1:123456789012:service/web"}])
    for _ in range(100):
        status = cfn.describe_stacks(StackName=SERVICE_STACK)["Stacks"][0]["StackStatus"]
        if status == "CREATE_COMPLETE":
            break
        assert status.endswith("IN_PROGRESS"), status
        time.sleep(0.1)
    return SERVICE_STACK


def stack_state(aws, platform) -> dict:
    """Everything adopt may change: the stacks (resources, outputs, template) and the service."""
    cfn, ecs = aws.client("cloudformation"), aws.client("ecs")
    stacks = {}
    for summary in cfn.list_stacks()["StackSummaries"]:
        if summary["StackStatus"] == "DELETE_COMPLETE":
            continue
        name = summary["StackName"]
        described = cfn.describe_stacks(StackName=name)["Stacks"][0]
        stacks[name] = {
            "resources": sorted(r["LogicalResourceId"] for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]),
            "outputs": sorted(o["OutputKey"] for o in described.get("Outputs", [])),
            "template": str(cfn.get_template(StackName=name)["TemplateBody"]),
        }
    [service] = ecs.describe_services(cluster=platform["outputs"]["ClusterName"], services=["web"])["services"]
    return {
        "stacks": stacks,
        "service": (service["status"], service["taskDefinition"], service["desiredCount"]),
        "task_definitions": sorted(ecs.list_task_definitions()["taskDefinitionArns"]),
    }


@pytest.fixture
def workdir(tmp_path, aws) -> App:
    path = tmp_path / "adopted"
    path.mkdir()
    return App(path, aws)


def adopt(app: App, platform, *args: str):
    return app.cli("adopt", "--cluster", platform["outputs"]["ClusterName"], "--service", "web", "--stack", platform["stack"], *args)


def test_adopt_deletes_a_stack_that_only_held_the_service(workdir, aws, platform):
    create_service_stack(aws, platform)
    before = stack_state(aws, platform)
    env_stack_before = before["stacks"][platform["stack"]]

    result = adopt(workdir, platform, "--yes")
    assert result.code == 0, result.stderr
    err = result.stderr
    assert f"web belongs to CloudFormation stack {SERVICE_STACK} (found by its tag)" in err
    assert "1. update stack" in err and "DeletionPolicy and UpdateReplacePolicy Retain on ServiceTaskDefinition (AWS::ECS::TaskDefinition), Service (AWS::ECS::Service)" in err
    assert f"2. delete stack {SERVICE_STACK}: nothing else is in it" in err
    assert "checked: `deployer diff` shows no difference against the live service" in result.stdout

    after = stack_state(aws, platform)
    assert SERVICE_STACK not in after["stacks"]
    assert after["stacks"][platform["stack"]] == env_stack_before  # the environment stack is untouched
    assert after["service"] == before["service"] == ("ACTIVE", before["task_definitions"][0], 2)
    assert after["task_definitions"] == before["task_definitions"]  # the revision the service runs is still registered

    diff = workdir.cli("diff", "--exit-code")
    assert diff.code == 0 and diff.stdout == "", diff.stdout + diff.stderr

    # Idempotent: nothing owns it any more; the files are there.
    again = adopt(workdir, platform, "--yes")
    assert again.code == 0, again.stderr
    assert "no CloudFormation stack owns web: nothing to hand over" in again.stderr
    assert "deployer.yaml already exists: init skipped" in again.stderr
    assert stack_state(aws, platform) == after

    # And deployer now deploys it.
    deployed = workdir.cli("deploy", "--image", image_ref(platform, "1.0.1"), "--output", "json")
    assert deployed.code == 0, deployed.stderr
    assert deployed.json["task_definition"].endswith("web:2")


def test_adopt_removes_the_service_from_a_stack_that_keeps_other_resources(workdir, aws, platform):
    create_service_stack(aws, platform, with_alarm_topic=True)
    before = stack_state(aws, platform)
    assert before["stacks"][SERVICE_STACK]["resources"] == ["AlarmTopic", "Service", "ServiceTaskDefinition"]

    result = adopt(workdir, platform, "--yes")
    assert result.code == 0, result.stderr
    assert "remove ServiceTaskDefinition, Service from stack" in result.stderr
    assert "(and the outputs that name them: ServiceName, TaskDefinitionArn)" in result.stderr

    after = stack_state(aws, platform)
    assert after["stacks"][SERVICE_STACK]["resources"] == ["AlarmTopic"]
    assert after["stacks"][SERVICE_STACK]["outputs"] == ["AlarmTopicArn"]
    assert after["service"] == before["service"]
    assert after["task_definitions"] == before["task_definitions"]
    assert workdir.cli("diff", "--exit-code").code == 0


def test_adopt_shows_the_plan_and_changes_nothing_without_yes(workdir, aws, platform):
    create_service_stack(aws, platform)
    before = stack_state(aws, platform)

    planned = adopt(workdir, platform, "--dry-run")
    assert planned.code == 0, planned.stderr
    assert "1. update stack" in planned.stderr and "3. deployer init" in planned.stderr
    assert planned.stdout.strip() == "planned (--dry-run): nothing was changed"

    refused = adopt(workdir, platform)  # no terminal to ask on, no --yes
    assert refused.code == 2
    assert "pass --yes to go ahead (nothing was changed)" in refused.stderr
    assert stack_state(aws, platform) == before
    assert not (workdir.path / "deployer.yaml").exists()


def test_init_and_verify_say_a_stack_owns_the_service(workdir, aws, platform):
    create_service_stack(aws, platform)
    init = workdir.cli("init", "--cluster", platform["outputs"]["ClusterName"], "--service", "web", "--stack", platform["stack"])
    assert init.code == 0, init.stderr
    assert f"service web belongs to CloudFormation stack {SERVICE_STACK} (Service, ServiceTaskDefinition)" in init.stderr
    assert "deployer adopt --cluster demo --service web" in init.stderr
    verify = workdir.cli("verify")
    assert "WARN  stack ownership" in verify.stdout and SERVICE_STACK in verify.stdout


def test_adopt_never_changes_the_environment_stack(workdir, aws, platform):
    create_service_stack(aws, platform)
    before = stack_state(aws, platform)
    result = workdir.cli("adopt", "--cluster", "demo", "--service", "web", "--stack", SERVICE_STACK, "--yes")
    assert result.code == 2
    assert f"belongs to {SERVICE_STACK}, the admins' environment stack; deployer never changes that stack" in result.stderr
    assert stack_state(aws, platform) == before


def test_a_stack_that_owns_only_the_task_definition_is_found_and_handed_over(workdir, aws, platform):
    import json

    out = platform["outputs"]
    template = {"Resources": {"TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
        "Family": "web", "NetworkMode": "awsvpc", "RequiresCompatibilities": ["FARGATE"], "Cpu": "256", "Memory": "512",
        "ExecutionRoleArn": out["TaskExecutionRoleArn"],
        "ContainerDefinitions": [{"Name": "app", "Image": f"{out['EcrRepositoryUri']}:1.0.0", "PortMappings": [{"ContainerPort": 8080}]}],
    }}}}
    cfn, ecs = aws.client("cloudformation"), aws.client("ecs")
    cfn.create_stack(StackName="web-task-definition", TemplateBody=json.dumps(template))
    arn = cfn.list_stack_resources(StackName="web-task-definition")["StackResourceSummaries"][0]["PhysicalResourceId"]
    ecs.create_service(cluster=out["ClusterName"], serviceName="web", taskDefinition=arn, desiredCount=1, launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": [out["PrivateSubnet1"]], "securityGroups": [out["ServiceSecurityGroup"]]}})

    result = adopt(workdir, platform, "--yes")
    assert result.code == 0, result.stderr
    assert "web belongs to CloudFormation stack web-task-definition (found by its tag)" in result.stderr
    assert "delete stack web-task-definition: nothing else is in it" in result.stderr
    assert "web-task-definition" not in stack_state(aws, platform)["stacks"]
    assert ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["status"] == "ACTIVE"
