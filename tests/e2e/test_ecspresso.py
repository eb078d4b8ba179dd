"""`deployer init --from-ecspresso`: ecspresso projects (tests/fixtures/ecspresso/, one per style:
Go-template JSON with must_env/env/ssm/secretsmanager_arn/json_escape, tfstate, Jsonnet with native
functions and cfn_output) deployed the way ecspresso deploys them — their templates evaluated
here with ecspresso's functions, registered and created with boto3 — then converted by the real
`deployer` command; `deployer diff` right after shows no difference. The conversion functions alone:
tests/unit/test_ecspresso_functions.py.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import App, ecs_state, image_ref

PROJECTS = Path(__file__).parents[1] / "fixtures" / "ecspresso"


# ---- ecspresso's side: its template functions, evaluated the way it does --------------------


class Ecspresso:
    """What `ecspresso deploy` does with a project: render the definitions, register, create the service."""

    def __init__(self, aws, env: dict[str, str], tfstate: dict[str, str] | None = None):
        self.aws, self.env, self.tfstate = aws, env, tfstate or {}

    def functions(self) -> dict:
        ssm, secrets, cfn = self.aws.client("ssm"), self.aws.client("secretsmanager"), self.aws.client("cloudformation")
        return {
            "must_env": lambda name: self.env[name],
            "env": lambda name, default="": self.env.get(name, default),
            "ssm": lambda name: ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"],
            "secretsmanager_arn": lambda name: secrets.describe_secret(SecretId=name)["ARN"],
            "cfn_output": lambda stack, key: next(o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"] if o["OutputKey"] == key),
            "tfstate": lambda address: self.tfstate[address],
        }

    def render(self, path: Path) -> dict:
        functions = self.functions()
        if path.suffix == ".jsonnet":
            import _jsonnet

            natives = {name: (("a", "b") if name in ("env", "cfn_output") else ("a",), fn) for name, fn in functions.items()}
            return json.loads(self.go_template(_jsonnet.evaluate_file(str(path), native_callbacks=natives), functions))

        return json.loads(self.go_template(path.read_text(), functions))

    @staticmethod
    def go_template(text: str, functions: dict) -> str:
        """ecspresso's Go template pass: `{{ fn `a` `b` }}`, optionally `| json_escape`."""

        def action(match: re.Match) -> str:
            args = re.findall(r"`([^`]*)`", match.group(2))
            value = str(functions[match.group(1)](*args))
            return json.dumps(value)[1:-1] if match.group(3) else value

        return re.sub(r"\{\{\s*(\w+)((?:\s+`[^`]*`)*)\s*(\|\s*json_escape\s*)?\}\}", action, text)

    def deploy(self, project: Path) -> str:
        config = yaml.safe_load((project / "ecspresso.yml").read_text())
        td = self.render(project / config["task_definition"])
        sd = self.render(project / config["service_definition"])
        ecs = self.aws.client("ecs")
        arn = ecs.register_task_definition(**td)["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(cluster=config["cluster"], serviceName=config["service"], taskDefinition=arn, **sd)
        return arn


@pytest.fixture
def shared(aws, platform):
    """What the projects' functions read: an SSM parameter, a secret, a log group, another stack's output."""
    aws.client("ssm").put_parameter(Name="/api/base-url", Value="https://api.example.com", Type="String")
    aws.client("secretsmanager").create_secret(Name="api/db-password", SecretString="s3cret")
    aws.client("logs").create_log_group(logGroupName="/ecs/web")
    template = {
        "Resources": {"Marker": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/shared-roles/marker", "Type": "String", "Value": "1"}}},
        "Outputs": {"ExecutionRoleArn": {"Value": platform["outputs"]["TaskExecutionRoleArn"]}},
    }
    aws.client("cloudformation").create_stack(StackName="shared-roles", TemplateBody=json.dumps(template))
    out = platform["outputs"]
    return {
        "EXECUTION_ROLE_ARN": out["TaskExecutionRoleArn"], "REPOSITORY": out["EcrRepositoryUri"], "IMAGE_TAG": "1.4.2",
        "IMAGE": f"{out['EcrRepositoryUri']}:1.4.2", "FEATURES_JSON": '{"beta": true, "name": "a \\"quoted\\" value"}',
        "LOG_GROUP": out["LogGroupName"], "TARGET_GROUP_ARN": out["TargetGroupArn"], "SECURITY_GROUP": out["ServiceSecurityGroup"],
        "SUBNET_1": out["PrivateSubnet1"], "SUBNET_2": out["PrivateSubnet2"],
    }


def project(tmp_path: Path, aws, name: str, env: dict) -> App:
    path = tmp_path / name
    shutil.copytree(PROJECTS / name, path)
    app = App(path, aws)
    app.extra_env = env
    return app


def converted(app: App, platform) -> str:
    result = app.cli("init", "--from-ecspresso", "ecspresso.yml", "--stack", platform["stack"])
    assert result.code == 0, result.stderr
    assert "checked: `deployer diff` shows no difference against the live service" in result.stdout, result.stdout + result.stderr
    diff = app.cli("diff", "--exit-code")
    assert diff.code == 0 and diff.stdout == "", diff.stdout + diff.stderr
    return result.stderr


def test_go_template_json_project(tmp_path, aws, platform, shared):
    app = project(tmp_path, aws, "json", shared)
    Ecspresso(aws, shared).deploy(app.path)
    converted(app, platform)

    config = yaml.safe_load((app.path / "deployer.yaml").read_text())
    assert config["app"] == "api" and config["deploy"]["timeout"] == 600
    assert config["task_definition"] == "ecs-task-def.json.j2"
    assert config["service"] == {"definition": "ecs-service-def.json.j2", "container": "api", "port": 8080}
    assert config["environment"] == {"stack": platform["stack"], "outputs": {"cluster": "ClusterName"}}
    td = (app.path / "ecs-task-def.json.j2").read_text()
    assert "{{ must_env('REPOSITORY') }}:{{ must_env('IMAGE_TAG') }}" in td
    assert "{{ (env('LOG_LEVEL') or 'info') }}" in td  # go-config: unset or empty → the default
    assert '"value": {{ must_env(\'FEATURES_JSON\') | tojson }}' in td
    assert "{{ ssm('/api/base-url') }}" in td and "{{ secretsmanager_arn('api/db-password') }}" in td

    # deployer now deploys the converted project; ecspresso's tag on the task definition stays.
    before = ecs_state(aws, "demo", "api")
    deployed = app.cli("deploy", "--image", image_ref(platform, "1.4.3"), "--output", "json")
    assert deployed.code == 0, deployed.stderr
    assert deployed.json["task_definition"].endswith("api:2") and len(ecs_state(aws, "demo", "api")["task_definitions"]) == len(before["task_definitions"]) + 1
    tags = aws.client("ecs").describe_task_definition(taskDefinition="api:2", include=["TAGS"])["tags"]
    assert {"key": "team", "value": "payments"} in tags


def test_tfstate_project_becomes_vars_with_comments(tmp_path, aws, platform, shared):
    out = platform["outputs"]
    values = {
        "aws_iam_role.execution.arn": out["TaskExecutionRoleArn"],
        "module.worker.aws_iam_role.task.arn": out["TaskRoleArn"],
        "aws_sqs_queue.jobs.url": "https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
        "data.aws_cloudwatch_log_group.app.name": out["LogGroupName"],
        "aws_subnet.private[0].id": out["PrivateSubnet1"],
        "aws_subnet.private[1].id": out["PrivateSubnet2"],
        "aws_security_group.worker.id": out["ServiceSecurityGroup"],
    }
    app = project(tmp_path, aws, "tfstate", shared)
    state = {"version": 4, "resources": [
        {"mode": "managed", "type": "aws_iam_role", "name": "execution", "instances": [{"attributes": {"arn": values["aws_iam_role.execution.arn"]}}]},
        {"module": "module.worker", "mode": "managed", "type": "aws_iam_role", "name": "task", "instances": [{"attributes": {"arn": values["module.worker.aws_iam_role.task.arn"]}}]},
        {"mode": "managed", "type": "aws_sqs_queue", "name": "jobs", "instances": [{"attributes": {"url": values["aws_sqs_queue.jobs.url"]}}]},
        {"mode": "data", "type": "aws_cloudwatch_log_group", "name": "app", "instances": [{"attributes": {"name": values["data.aws_cloudwatch_log_group.app.name"]}}]},
        {"mode": "managed", "type": "aws_subnet", "name": "private", "instances": [
            {"index_key": 0, "attributes": {"id": values["aws_subnet.private[0].id"]}}, {"index_key": 1, "attributes": {"id": values["aws_subnet.private[1].id"]}}]},
        {"mode": "managed", "type": "aws_security_group", "name": "worker", "instances": [{"attributes": {"id": values["aws_security_group.worker.id"]}}]},
    ]}
    (app.path / "terraform.tfstate").write_text(json.dumps(state))
    Ecspresso(aws, shared, values).deploy(app.path)
    stderr = converted(app, platform)

    assert "tfstate `aws_iam_role.execution.arn` (terraform.tfstate) is now `vars.tfstate_aws_iam_role_execution_arn`" in stderr
    text = (app.path / "deployer.yaml").read_text()
    assert "  # from tfstate `aws_subnet.private[0].id` (terraform.tfstate), as it was at conversion; deployer does not read Terraform state when it deploys\n" in text
    config = yaml.safe_load(text)
    assert config["vars"]["tfstate_aws_subnet_private_0_id"] == out["PrivateSubnet1"]
    assert config["deploy"]["timeout"] == 300  # "5m"
    assert config["environment"]["outputs"]["target_group"] is None  # no load balancer: none added
    assert "{{ vars.tfstate_module_worker_aws_iam_role_task_arn }}" in (app.path / "ecs-task-def.json.j2").read_text()


def test_jsonnet_project_with_native_functions(tmp_path, aws, platform, shared):
    app = project(tmp_path, aws, "jsonnet", shared)
    Ecspresso(aws, shared).deploy(app.path)
    converted(app, platform)
    td = (app.path / "ecs-task-def.jsonnet.j2").read_text()
    assert "std.native" not in td and "local must_env" not in td
    assert "image: {{ must_env('IMAGE') | tojson }}," in td
    assert "{{ cfn_output('shared-roles', 'ExecutionRoleArn') | tojson }}" in td
    assert "import 'container.libsonnet'" in td  # Jsonnet imports resolve beside the file
    assert "value: '{{ (env('STAGE') or 'prod') }}'" in td  # a Go template action in a Jsonnet string
    deployed = app.cli("deploy", "--image", image_ref(platform, "1.5.0"), "--output", "json")
    assert deployed.code == 0, deployed.stderr


def test_what_cannot_be_converted_is_named_and_nothing_is_written(tmp_path, aws, platform, shared):
    app = project(tmp_path, aws, "json", shared)
    app.edit("ecs-task-def.json", '"{{ env `LOG_LEVEL` `info` }}"', '"{{ if env `DEBUG` }}debug{{ end }}"')
    result = app.cli("init", "--from-ecspresso", "ecspresso.yml", "--stack", platform["stack"])
    assert result.code == 2
    assert "ecs-task-def.json:15: the Go template `if` has no automatic conversion; rewrite it in Jinja" in result.stderr
    assert not (app.path / "deployer.yaml").exists() and not (app.path / "ecs-task-def.json.j2").exists()
