"""End to end: task definitions as people have them, registered with the real `deployer` command
against the local AWS. One fixture per shape (tests/fixtures/taskdefs/, written in the forms of
public files); each is deployed, then deployed again unchanged (nothing registered the second
time), and `diff` of it is empty. Bad shapes exit 2 with nothing changed in AWS.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import App, ecs_state, image_ref

FIXTURES = Path(__file__).parents[1] / "fixtures" / "taskdefs"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/demo/web:1.0.0"


def project(tmp_path: Path, aws, platform, task_definition: str, *, text: str | None = None, service_definition: dict | None = None, load_balancer: bool = True) -> App:
    """A directory with deployer.yaml, the task definition (a fixture, or `text`) and an optional service definition."""
    path = tmp_path / "project"
    path.mkdir(exist_ok=True)
    assert image_ref(platform, "1.0.0") == IMAGE  # pushed to the local ECR: deploy checks it exists
    if text is None:
        shutil.copy(FIXTURES / task_definition, path / task_definition)
    else:
        (path / task_definition).write_text(text)
    service = {"name": "web", "container": "app", "port": 8080 if load_balancer else None}
    if service_definition is not None:
        (path / "service.json").write_text(json.dumps(service_definition))
        service["definition"] = "service.json"
    config = {
        "app": "web",
        "region": "us-east-1",
        "environment": {"stack": platform["stack"], "outputs": {} if load_balancer else {"target_group": None}},
        "task_definition": task_definition,
        "service": {k: v for k, v in service.items() if v is not None},
        "deploy": {"timeout": 60},
    }
    (path / "deployer.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    logs = aws.client("logs")
    if not logs.describe_log_groups(logGroupNamePrefix="/ecs/web")["logGroups"]:
        logs.create_log_group(logGroupName="/ecs/web")
    return App(path, aws)


def cluster(platform) -> str:
    return platform["outputs"]["ClusterName"]


def deployed(app: App, *args: str) -> dict:
    result = app.cli("deploy", "--image", IMAGE, "--output", "json", *args)
    assert result.code == 0, result.stderr
    return {**result.json, "stderr": result.stderr}


def registered(aws, arn: str) -> tuple[dict, dict[str, str]]:
    answer = aws.client("ecs").describe_task_definition(taskDefinition=arn, include=["TAGS"])
    return answer["taskDefinition"], {t["key"]: t["value"] for t in answer.get("tags", [])}


def assert_redeploy_registers_nothing(app: App, aws, platform) -> None:
    before = ecs_state(aws, cluster(platform))
    again = deployed(app)
    assert again["status"] == "unchanged", again
    assert ecs_state(aws, cluster(platform)) == before
    diff = app.cli("diff", "--exit-code")
    assert diff.code == 0 and diff.stdout == "", diff.stdout + diff.stderr


def lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


# ---- shapes that register ----------------------------------------------------------------


def test_describe_output_keeps_its_tags_and_drops_read_only_fields_with_one_notice(tmp_path, aws, platform):
    app = project(tmp_path, aws, platform, "describe-task-definition.json")
    first = deployed(app)
    assert first["status"] == "deployed"
    [notice] = lines_with(first["stderr"], "read-only fields")
    for key in ("taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt", "registeredBy"):
        assert key in notice
    td, tags = registered(aws, first["task_definition"])
    assert tags["team"] == "payments" and tags["cost-center"] == "4711"
    assert tags["deployer:service"] == "web"  # ours beside the file's
    assert td["containerDefinitions"][0]["image"] == IMAGE
    assert_redeploy_registers_nothing(app, aws, platform)

    # A changed tag is a difference: diff shows it, and the next deploy registers it.
    app.edit("describe-task-definition.json", '"value": "4711"', '"value": "4712"')
    changed = app.cli("diff", "--exit-code")
    assert changed.code == 1
    assert '-      "value": "4711"' in changed.stdout and '+      "value": "4712"' in changed.stdout
    second = deployed(app)
    assert second["status"] == "deployed" and second["task_definition"].endswith("web:2")
    assert registered(aws, second["task_definition"])[1]["cost-center"] == "4712"


def test_console_export_with_nulls_registers_with_one_notice(tmp_path, aws, platform):
    app = project(tmp_path, aws, platform, "console-export.json")
    first = deployed(app)
    [notice] = lines_with(first["stderr"], "null or empty values dropped")
    assert "ipcMode" in notice and "containerDefinitions[0].user" not in notice.split(":", 2)[1]  # paths, then "and N more"
    assert "and " in notice and " more" in notice
    td, _ = registered(aws, first["task_definition"])
    assert td["cpu"] == "512" and td["memory"] == "1024"
    assert "ipcMode" not in td and "user" not in td["containerDefinitions"][0]
    assert_redeploy_registers_nothing(app, aws, platform)


def test_cloudformation_pascal_case_with_units_is_converted(tmp_path, aws, platform):
    app = project(tmp_path, aws, platform, "cloudformation.json")
    first = deployed(app)
    assert lines_with(first["stderr"], "PascalCase keys converted")
    td, tags = registered(aws, first["task_definition"])
    # ".25 vCPU" and "0.5 GB" are registered as ECS answers them, so the next release registers nothing.
    assert (td["cpu"], td["memory"]) == ("256", "512")
    container = td["containerDefinitions"][0]
    assert container["portMappings"][0]["containerPort"] == 8080
    assert container["dockerLabels"] == {"com.example.Team": "payments"}  # map keys are data: not converted
    assert container["healthCheck"]["interval"] == 15
    assert tags["team"] == "payments"
    assert_redeploy_registers_nothing(app, aws, platform)


def test_aws_sample_warns_about_each_placeholder_and_where(tmp_path, aws, platform):
    app = project(tmp_path, aws, platform, "aws-sample.json")
    first = deployed(app)
    warnings = lines_with(first["stderr"], "placeholder")
    assert any("`${AWS_ACCOUNT_ID}` left in executionRoleArn" in w for w in warnings), warnings
    assert any("`<ES-URL>` left in containerDefinitions[0].environment[0].value" in w for w in warnings), warnings
    assert any("`PLACEHOLDER` left in containerDefinitions[0].environment[1].value" in w for w in warnings), warnings
    assert not any("<IMAGE1_NAME>" in w for w in warnings)  # deployer sets the app container's image
    td, _ = registered(aws, first["task_definition"])
    assert (td["cpu"], td["memory"]) == ("1024", "2048")  # "1 vCPU", "2GB"
    assert_redeploy_registers_nothing(app, aws, platform)


def test_ec2_bridge_task_definition_gets_an_ec2_service_without_awsvpc_network(tmp_path, aws, platform):
    app = project(tmp_path, aws, platform, "ec2-bridge.json", load_balancer=False)
    first = deployed(app)
    assert first["status"] == "deployed"
    td, _ = registered(aws, first["task_definition"])
    assert td["containerDefinitions"][0]["logConfiguration"]["options"]["tag"] == "{{.Name}}/{{.ID}}"  # {% raw %} kept it
    svc = aws.client("ecs").describe_services(cluster=cluster(platform), services=["web"])["services"][0]
    assert svc["launchType"] == "EC2"
    assert not (svc.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    # No networkMode in the file: bridge, whatever the answer spells.
    assert_redeploy_registers_nothing(app, aws, platform)


def test_host_mode_with_the_network_switched_off_in_the_service_definition(tmp_path, aws, platform):
    app = project(tmp_path, aws, platform, "host-mode.json", service_definition={"networkConfiguration": None, "desiredCount": 1}, load_balancer=False)
    rendered = app.cli("render", "--image", IMAGE, "--output", "json")
    assert rendered.code == 0, rendered.stderr
    first = deployed(app)
    svc = aws.client("ecs").describe_services(cluster=cluster(platform), services=["web"])["services"][0]
    assert svc["launchType"] == "EC2" and svc["taskDefinition"] == first["task_definition"]
    assert not (svc.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    assert_redeploy_registers_nothing(app, aws, platform)


# ---- shapes refused before anything is registered -------------------------------------------


def refused(app: App, aws, platform, *needles: str, hint: str | None = None) -> None:
    before = ecs_state(aws, cluster(platform))
    result = app.cli("deploy", "--image", IMAGE)
    assert result.code == 2, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr
    if hint:
        assert hint in result.stderr, result.stderr
    assert ecs_state(aws, cluster(platform)) == before


def test_terraform_container_list_gets_a_hint(tmp_path, aws, platform):
    app = project(tmp_path, aws, platform, "terraform-containers.json")
    refused(app, aws, platform, "terraform-containers.json: this is a list of containers", hint='"containerDefinitions": [ …the list… ]')


def test_docker_go_template_points_to_raw(tmp_path, aws, platform):
    text = (FIXTURES / "ec2-bridge.json").read_text().replace("{% raw %}", "").replace("{% endraw %}", "")
    app = project(tmp_path, aws, platform, "ec2-bridge.json", text=text, load_balancer=False)
    refused(app, aws, platform, "ec2-bridge.json:14: template syntax error", hint="{% raw %}{{.Name}}{% endraw %}")


BRIDGE = {
    "family": "web", "requiresCompatibilities": ["EC2"],
    "containerDefinitions": [{"name": "app", "image": "x", "memory": 256, "portMappings": [{"containerPort": 8080, "hostPort": 0}]}],
}
FARGATE = {
    "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
    "containerDefinitions": [{"name": "app", "image": "x", "portMappings": [{"containerPort": 8080}]}],
}


def _with(base: dict, **changes) -> dict:
    td = json.loads(json.dumps(base))
    for key, value in changes.items():
        if value is None:
            td.pop(key, None)
        else:
            td[key] = value
    return td


@pytest.mark.parametrize(
    "td, service_definition, needles",
    [
        (BRIDGE, {"launchType": "FARGATE"}, ["networkMode is not set (bridge), but launchType FARGATE in service.json runs it on Fargate"]),
        (_with(BRIDGE, requiresCompatibilities=None), {"capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]}, ["needs networkMode `awsvpc`"]),
        (BRIDGE, {"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}}, ["networkConfiguration is only for networkMode `awsvpc`"]),
        (FARGATE, {"networkConfiguration": None}, ["networkConfiguration is switched off (null)"]),
        (FARGATE, {"launchType": "EC2"}, ["requiresCompatibilities ['FARGATE'] does not allow launchType EC2"]),
        (_with(FARGATE, networkMode="bridge"), None, ["requiresCompatibilities FARGATE needs networkMode `awsvpc`"]),
        (_with(FARGATE, memory="4096"), None, ["cpu 256 with memory 4096 is not a Fargate task size; with cpu 256, memory is 512, 1024, 2048"]),
        (_with(FARGATE, cpu=None), None, ["requiresCompatibilities FARGATE needs task-level `cpu`"]),
        (_with(FARGATE, cpu="3 vCPU", memory="8 GB"), None, ["cpu 3072 with memory 8192 is not a Fargate task size; cpu must be one of 256, 512"]),
        (_with(FARGATE, containerDefinitions=[{"name": "app", "image": "x", "portMappings": [{"containerPort": 8080, "hostPort": 80}]}]), None,
         ["containerDefinitions[0].portMappings[0]: hostPort 80 must equal containerPort 8080 with networkMode awsvpc (Fargate)"]),
        (_with(FARGATE, cpu="a lot"), None, ["`cpu` is 'a lot'; expected a number of CPU units or vCPU"]),
    ],
    ids=["bridge-on-fargate", "bridge-on-fargate-capacity", "network-for-bridge", "awsvpc-without-network", "fargate-only-on-ec2",
         "fargate-bridge", "fargate-size", "fargate-no-cpu", "fargate-cpu-units", "fargate-host-port", "cpu-garbage"],
)
def test_impossible_combinations_exit_2_before_registering(tmp_path, aws, platform, td, service_definition, needles):
    app = project(tmp_path, aws, platform, "task.json", text=json.dumps(td, indent=2), service_definition=service_definition, load_balancer=False)
    refused(app, aws, platform, *needles)


def test_pascal_case_without_an_ecs_equivalent_is_refused(tmp_path, aws, platform):
    text = (FIXTURES / "cloudformation.json").read_text().replace('"Family": "web",', '"Family": "web", "TaskRoleArn": {"Fn::GetAtt": ["TaskRole", "Arn"]},')
    app = project(tmp_path, aws, platform, "cloudformation.json", text=text)
    refused(app, aws, platform, "`TaskRoleArn` is a CloudFormation intrinsic function (Fn::GetAtt)")
    app.edit("cloudformation.json", '"TaskRoleArn": {"Fn::GetAtt": ["TaskRole", "Arn"]},', '"Frobnicate": 1,')
    refused(app, aws, platform, "`Frobnicate` has no equivalent in ECS's RegisterTaskDefinition")


def test_jsonnet_task_definition_renders_jinja_first_then_jsonnet(tmp_path, aws, platform):
    app = project(tmp_path, aws, platform, "ecs-task-def.jsonnet")
    first = app.cli("deploy", "--image", IMAGE, "--var", "log_level=debug", "--output", "json")
    assert first.code == 0, first.stderr
    td, _ = registered(aws, first.json["task_definition"])
    container = td["containerDefinitions"][0]
    assert container["image"] == IMAGE and container["portMappings"][0]["containerPort"] == 8080
    assert {"name": "LOG_LEVEL", "value": "debug"} in container["environment"]  # Jinja
    assert td["executionRoleArn"] == platform["outputs"]["TaskExecutionRoleArn"]  # std.extVar('environment')
    assert container["logConfiguration"]["options"]["awslogs-group"] == platform["outputs"]["LogGroupName"]
    before = ecs_state(aws, cluster(platform))
    again = app.cli("deploy", "--image", IMAGE, "--var", "log_level=debug", "--output", "json")
    assert again.code == 0 and again.json["status"] == "unchanged"
    assert ecs_state(aws, cluster(platform)) == before

    app.edit("ecs-task-def.jsonnet", "cpu: '256',", "cpu: '256'")  # a Jsonnet syntax error
    broken = app.cli("render", "--image", IMAGE)
    assert broken.code == 2
    assert "ecs-task-def.jsonnet (after Jinja): Jsonnet error:" in broken.stderr and ":10:" in broken.stderr


def test_init_of_an_ec2_bridge_service_then_diff_shows_nothing(tmp_path, aws, platform):
    app = project(tmp_path, aws, platform, "host-mode.json", load_balancer=False)
    deployed(app)
    imported = App(tmp_path / "imported", aws)
    imported.path.mkdir()
    init = imported.cli("init", "--cluster", cluster(platform), "--service", "web", "--stack", platform["stack"])
    assert init.code == 0, init.stderr
    assert "checked: `deployer diff` shows no difference against the live service" in init.stdout, init.stdout + init.stderr
    assert json.loads((imported.path / "ecs-service-def.json.j2").read_text())["launchType"] == "EC2"
    assert "networkConfiguration" not in (imported.path / "ecs-service-def.json.j2").read_text()
