"""Whole ecspresso projects (tests/fixtures/ecspresso/<name>/, written the way teams write them, many
as `ecspresso init` leaves them) converted by the real `deployer init --from-ecspresso`, then
`deployer deploy --dry-run`: the planned RegisterTaskDefinition and CreateService carry what
ecspresso itself would send.

The expected dicts are written by hand from ecspresso's source (kayac/ecspresso v2): the config
rendered as a Go template (go-config: env / must_env / json_escape) before its YAML is read;
LoadTaskDefinition unwraps `taskDefinition`, drops nulls and empty lists (walkMap) and decodes into
RegisterTaskDefinitionInput (fields it lacks are not sent; the SDK leaves empty enum strings out);
createService passes only the CreateService members listed in create.go, serviceName from the
config, the registered revision. deployer's own additions are named where they are removed
(its `deployer:*` tags on the revision; cluster / serviceName / taskDefinition are checked apart).

Each refusal leaves the project directory as it was (a listing with contents, before and after).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import App, git

PROJECTS = Path(__file__).parents[1] / "fixtures" / "ecspresso"
ACCOUNT = "123456789012"


def listing(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): (p.read_text() if p.is_file() else "<dir>") for p in sorted(path.rglob("*"))}


@pytest.fixture
def env(platform) -> dict[str, str]:
    out = platform["outputs"]
    return {
        "TARGET_GROUP_ARN": out["TargetGroupArn"], "SECURITY_GROUP": out["ServiceSecurityGroup"], "SUBNET_1": out["PrivateSubnet1"],
        "SUBNET_2": out["PrivateSubnet2"], "IMAGE": out["EcrRepositoryUri"] + ":2024.06.1", "LOG_GROUP": out["LogGroupName"],
        "EXECUTION_ROLE_ARN": out["TaskExecutionRoleArn"], "TASK_ROLE_ARN": out["TaskRoleArn"],
    }


def project(tmp_path: Path, aws, name: str, env: dict) -> App:
    path = tmp_path / name
    shutil.copytree(PROJECTS / name, path)
    app = App(path, aws)
    app.extra_env = dict(env)
    return app


def convert(app: App, platform, config: str = "ecspresso.yml"):
    result = app.cli("init", "--from-ecspresso", config, "--stack", platform["stack"])
    assert result.code == 0, result.stdout + result.stderr
    return result


def planned(app: App, env: dict, service: str, cluster: str = "demo") -> tuple[dict, dict]:
    """What `deploy --dry-run` would register and create, less deployer's own additions."""
    result = app.cli("deploy", "--image", env["IMAGE"], "--dry-run", "--output", "json")
    assert result.code == 0, result.stdout + result.stderr
    [plan] = result.json["plan"]
    steps = {s["call"]: s["params"] for s in plan["steps"]}
    assert list(steps) == ["ecs.RegisterTaskDefinition", "ecs.CreateService"]
    td = steps["ecs.RegisterTaskDefinition"]
    own = [t for t in td.pop("tags", []) if t["key"].startswith("deployer:")]
    assert {t["key"] for t in own} >= {"deployer:image", "deployer:service"}
    theirs = [t for t in result.json["plan"][0]["steps"][0]["params"].get("tags", []) if not t["key"].startswith("deployer:")]
    if theirs:
        td["tags"] = theirs
    create = dict(steps["ecs.CreateService"])
    assert create.pop("cluster") == cluster
    assert create.pop("serviceName") == service  # ecspresso: from the config's `service`
    assert create.pop("taskDefinition") == "<registered revision>"
    if "deploymentCircuitBreaker" not in (app.path / yaml.safe_load((app.path / "deployer.yaml").read_text())["service"]["definition"]).read_text():
        # deployer's one addition: the circuit breaker on when the definition does not say (ecspresso leaves ECS's default, off)
        assert create["deploymentConfiguration"].pop("deploymentCircuitBreaker") == {"enable": True, "rollback": True}
        if not create["deploymentConfiguration"]:
            del create["deploymentConfiguration"]
    return td, create


# ---- the projects ---------------------------------------------------------------------------


def test_ecspresso_init_fargate_with_alb(tmp_path, aws, platform, env):
    """`ecspresso init` output: alarms without alarmNames, platformFamily, empty ipcMode/pidMode/appProtocol;
    region: '{{ must_env `AWS_REGION` }}' in the config."""
    app = project(tmp_path, aws, "init-fargate", env)
    result = convert(app, platform)
    assert "ecs-service-def.json: left out, as ecspresso does not send them to ECS: platformFamily, deploymentConfiguration.alarms (no alarmNames)" in result.stderr
    assert "ecs-task-def.json: left out, as ecspresso does not send them to ECS: containerDefinitions[0].portMappings[0].appProtocol, ipcMode, pidMode" in result.stderr
    assert "service shop-api does not run in cluster demo yet: `deployer deploy --image …` creates it" in result.stdout
    assert "deployer diff` on the written files shows differences" not in result.stderr  # no diff against nothing
    config = yaml.safe_load((app.path / "deployer.yaml").read_text())
    assert "region" not in config  # read from AWS_REGION when deployer runs, as ecspresso reads it
    td, create = planned(app, env, "shop-api")
    assert td == {
        "containerDefinitions": [{
            "cpu": 0, "essential": True, "image": env["IMAGE"], "name": "app",
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": env["LOG_GROUP"], "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app"}},
            "portMappings": [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}],
            "environment": [{"name": "NODE_ENV", "value": "production"}],
        }],
        "cpu": "256", "memory": "512", "family": "shop-api", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "executionRoleArn": env["EXECUTION_ROLE_ARN"], "taskRoleArn": env["TASK_ROLE_ARN"],
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
    }
    assert create == {
        "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True}, "maximumPercent": 200, "minimumHealthyPercent": 100},
        "deploymentController": {"type": "ECS"}, "desiredCount": 2, "enableECSManagedTags": True, "enableExecuteCommand": False,
        "healthCheckGracePeriodSeconds": 60, "launchType": "FARGATE",
        "loadBalancers": [{"containerName": "app", "containerPort": 3000, "targetGroupArn": env["TARGET_GROUP_ARN"]}],
        "networkConfiguration": {"awsvpcConfiguration": {"assignPublicIp": "DISABLED", "securityGroups": [env["SECURITY_GROUP"]], "subnets": [env["SUBNET_1"], env["SUBNET_2"]]}},
        "platformVersion": "LATEST", "propagateTags": "SERVICE", "schedulingStrategy": "REPLICA", "tags": [{"key": "Project", "value": "shop"}],
    }


def test_describe_services_output_pasted_with_unquoted_config_templates(tmp_path, aws, platform, env):
    """describe-services / describe-task-definition output as the definitions; `cluster: {{ env "ECS_CLUSTER" "demo" }}`."""
    aws.client("ssm").put_parameter(Name="/orders/database-url", Value="postgres://db/orders", Type="SecureString")
    parameter = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/orders/database-url"
    app = project(tmp_path, aws, "describe-leftovers", {**env, "SERVICE_NAME": "orders", "DATABASE_URL_PARAMETER": parameter})
    result = convert(app, platform)
    for leftover in ("serviceArn", "serviceName", "clusterArn", "status", "runningCount", "pendingCount", "platformFamily", "taskDefinition", "deployments", "roleArn", "events", "createdAt", "createdBy"):
        assert leftover in result.stderr
    td, create = planned(app, env, "orders")
    assert td == {
        "containerDefinitions": [{
            "name": "orders", "image": env["IMAGE"], "cpu": 0, "essential": True,
            "secrets": [{"name": "DATABASE_URL", "valueFrom": parameter}],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": env["LOG_GROUP"], "awslogs-region": "us-east-1", "awslogs-stream-prefix": "orders"}},
        }],
        "family": "orders", "taskRoleArn": env["TASK_ROLE_ARN"], "executionRoleArn": env["EXECUTION_ROLE_ARN"], "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"], "cpu": "512", "memory": "1024",
    }
    assert create == {
        "loadBalancers": [], "serviceRegistries": [], "desiredCount": 1, "launchType": "FARGATE", "platformVersion": "1.4.0",
        "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": False, "rollback": False}, "maximumPercent": 200, "minimumHealthyPercent": 100},
        "placementConstraints": [], "placementStrategy": [],
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": [env["SUBNET_1"]], "securityGroups": [env["SECURITY_GROUP"]], "assignPublicIp": "ENABLED"}},
        "schedulingStrategy": "REPLICA", "deploymentController": {"type": "ECS"}, "enableECSManagedTags": False, "propagateTags": "NONE", "enableExecuteCommand": True,
    }


def test_capacity_providers_empty_launch_type_and_nested_nulls(tmp_path, aws, platform, env):
    app = project(tmp_path, aws, "capacity-provider", env)
    convert(app, platform)
    td, create = planned(app, env, "batch-web")
    assert td == {
        "containerDefinitions": [{
            "essential": True, "image": env["IMAGE"], "name": "web",
            "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}],
            "linuxParameters": {"initProcessEnabled": True},
        }],
        "cpu": "1024", "executionRoleArn": env["EXECUTION_ROLE_ARN"], "family": "batch-web", "memory": "2048", "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
    }
    assert create == {
        "capacityProviderStrategy": [{"base": 1, "capacityProvider": "FARGATE", "weight": 1}, {"base": 0, "capacityProvider": "FARGATE_SPOT", "weight": 3}],
        "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True}, "maximumPercent": 200, "minimumHealthyPercent": 50},
        "desiredCount": 3, "enableECSManagedTags": False, "enableExecuteCommand": False,
        "networkConfiguration": {"awsvpcConfiguration": {"assignPublicIp": "DISABLED", "subnets": [env["SUBNET_1"], env["SUBNET_2"]]}},
        "platformVersion": "LATEST", "propagateTags": "NONE", "schedulingStrategy": "REPLICA",
    }


def _state(resources: list, outputs: dict | None = None) -> str:
    return json.dumps({"version": 4, "outputs": {k: {"value": v} for k, v in (outputs or {}).items()}, "resources": resources})


def _resource(rtype: str, name: str, attributes: dict | list, module: str | None = None) -> dict:
    instances = [{"index_key": k, "attributes": a} for k, a in attributes] if isinstance(attributes, list) else [{"attributes": attributes}]
    return {**({"module": module} if module else {}), "mode": "managed", "type": rtype, "name": name, "instances": instances}


def test_tfstate_with_func_prefix_two_states_tfstatef_and_outputs(tmp_path, aws, platform, env):
    app = project(tmp_path, aws, "tfstate-prefix", env)
    # A monorepo: the network's Terraform state sits beside the app, inside the one repository
    # (deployer reads no file outside the repository, a state included).
    git(tmp_path, "init", "-q")
    (tmp_path / "network").mkdir()
    (tmp_path / "network" / "terraform.tfstate").write_text(_state([_resource("aws_subnet", "private", [("a", {"id": env["SUBNET_1"]}), ("c", {"id": env["SUBNET_2"]})])]))
    queue = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/jobs"
    (app.path / "app.tfstate").write_text(_state(
        [_resource("aws_security_group", "worker", {"id": env["SECURITY_GROUP"]}), _resource("aws_sqs_queue", "jobs", {"url": queue}),
         _resource("aws_iam_role", "task", {"arn": env["TASK_ROLE_ARN"]}, module="module.worker")],
        {"execution_role_arn": env["EXECUTION_ROLE_ARN"]},
    ))
    result = convert(app, platform)
    assert "network_tfstate `aws_subnet.private['a'].id` (../network/terraform.tfstate) is now `vars.network_tfstate_aws_subnet_private_a_id`" in result.stderr
    config = yaml.safe_load((app.path / "deployer.yaml").read_text())
    assert config["deploy"]["timeout"] == 900
    assert config["vars"]["network_tfstate_aws_subnet_private_c_id"] == env["SUBNET_2"]  # network_tfstatef `…['%s']…` `c`
    td, create = planned(app, env, "worker")
    assert td == {
        "family": "worker", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "512", "memory": "1024",
        "executionRoleArn": env["EXECUTION_ROLE_ARN"], "taskRoleArn": env["TASK_ROLE_ARN"],
        "containerDefinitions": [{"name": "worker", "image": env["IMAGE"], "command": ["./worker", "--queue", queue]}],
    }
    assert create == {
        "desiredCount": 1, "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": [env["SUBNET_1"], env["SUBNET_2"]], "securityGroups": [env["SECURITY_GROUP"]], "assignPublicIp": "DISABLED"}},
    }


def test_unquoted_tfstate_lists_and_numbers(tmp_path, aws, platform, env):
    app = project(tmp_path, aws, "tfstate-list", env)
    (app.path / "terraform.tfstate").write_text(_state([], {
        "desired_count": 2, "private_subnet_ids": [env["SUBNET_1"], env["SUBNET_2"]], "security_group_ids": [env["SECURITY_GROUP"]],
        "execution_role_arn": env["EXECUTION_ROLE_ARN"],
    }))
    convert(app, platform)
    text = (app.path / "ecs-service-def.json.j2").read_text()
    assert '"subnets": {{ vars.tfstate_output_private_subnet_ids | tojson }}' in text
    td, create = planned(app, env, "api")
    assert td == {
        "family": "api", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
        "executionRoleArn": env["EXECUTION_ROLE_ARN"], "containerDefinitions": [{"name": "api", "image": env["IMAGE"], "portMappings": [{"containerPort": 80}]}],
    }
    assert create == {
        "desiredCount": 2, "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": [env["SUBNET_1"], env["SUBNET_2"]], "securityGroups": [env["SECURITY_GROUP"]], "assignPublicIp": "DISABLED"}},
    }


def test_tfstate_in_s3_is_read_at_conversion(tmp_path, aws, platform, env):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="team-tfstate")
    s3.put_object(Bucket="team-tfstate", Key="app/terraform.tfstate", Body=_state([
        _resource("aws_lb_target_group", "web", {"arn": env["TARGET_GROUP_ARN"]}), _resource("aws_security_group", "web", {"id": env["SECURITY_GROUP"]}),
        _resource("aws_subnet", "private", [(0, {"id": env["SUBNET_1"]}), (1, {"id": env["SUBNET_2"]})]), _resource("aws_iam_role", "execution", {"arn": env["EXECUTION_ROLE_ARN"]}),
    ]).encode())
    app = project(tmp_path, aws, "tfstate-s3", {**env, "SERVICE": "web", "TFSTATE_BUCKET": "team-tfstate"})
    result = convert(app, platform)
    assert "tfstate `aws_iam_role.execution.arn` (s3://team-tfstate/app/terraform.tfstate) is now `vars.tfstate_aws_iam_role_execution_arn`" in result.stderr
    td, create = planned(app, env, "web")
    assert td == {
        "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512", "executionRoleArn": env["EXECUTION_ROLE_ARN"],
        "containerDefinitions": [{"name": "web", "image": env["IMAGE"], "portMappings": [{"containerPort": 80, "protocol": "tcp"}]}],
    }
    assert create == {
        "desiredCount": 2, "launchType": "FARGATE", "loadBalancers": [{"containerName": "web", "containerPort": 80, "targetGroupArn": env["TARGET_GROUP_ARN"]}],
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": [env["SUBNET_1"], env["SUBNET_2"]], "securityGroups": [env["SECURITY_GROUP"]]}},
    }


def test_ssm_with_func_prefix_and_string_list_index(tmp_path, aws, platform, env):
    ssm = aws.client("ssm")
    ssm.put_parameter(Name="/mailer/subnets", Value=f"{env['SUBNET_1']},{env['SUBNET_2']}", Type="StringList")
    ssm.put_parameter(Name="/mailer/security-group", Value=env["SECURITY_GROUP"], Type="String")
    ssm.put_parameter(Name="/mailer/execution-role-arn", Value=env["EXECUTION_ROLE_ARN"], Type="String")
    ssm.put_parameter(Name="/mailer/smtp-host", Value="smtp.example.com", Type="String")
    app = project(tmp_path, aws, "ssm-prefix", env)
    convert(app, platform)
    assert "{{ ssm('/mailer/security-group') }}" in (app.path / "ecs-service-def.json.j2").read_text()  # param_ssm is ssm
    td, create = planned(app, env, "mailer")
    assert td == {
        "family": "mailer", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512", "executionRoleArn": env["EXECUTION_ROLE_ARN"],
        "containerDefinitions": [{"name": "mailer", "image": env["IMAGE"], "environment": [{"name": "SMTP_HOST", "value": "smtp.example.com"}]}],
    }
    assert create == {
        "desiredCount": 1, "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": [env["SUBNET_1"], env["SUBNET_2"]], "securityGroups": [env["SECURITY_GROUP"]], "assignPublicIp": "DISABLED"}},
    }


def test_cloudformation_plugin_with_prefix_output_and_export(tmp_path, aws, platform, env):
    template = {
        "Resources": {"Marker": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/shared-network/marker", "Type": "String", "Value": "1"}}},
        "Outputs": {
            "SecurityGroup": {"Value": env["SECURITY_GROUP"]}, "ExecutionRoleArn": {"Value": env["EXECUTION_ROLE_ARN"]},
            "PrivateSubnet1": {"Value": env["SUBNET_1"], "Export": {"Name": "shared-network-PrivateSubnet1"}},
        },
    }
    aws.client("cloudformation").create_stack(StackName="shared-network", TemplateBody=json.dumps(template))
    app = project(tmp_path, aws, "cfn-plugin", env)
    result = convert(app, platform)
    assert "cf_cfn_export `shared-network-PrivateSubnet1`" not in result.stderr or "vars.cf_cfn_export_shared_network_PrivateSubnet1" in result.stderr
    td, create = planned(app, env, "billing")
    assert td == {
        "family": "billing", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512", "executionRoleArn": env["EXECUTION_ROLE_ARN"],
        "containerDefinitions": [{"name": "billing", "image": env["IMAGE"], "essential": True}],
    }
    assert create == {
        "desiredCount": 1, "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": [env["SUBNET_1"]], "securityGroups": [env["SECURITY_GROUP"]], "assignPublicIp": "DISABLED"}},
    }


def test_jsonnet_project_as_ecspresso_init_writes_it(tmp_path, aws, platform, env):
    aws.client("ssm").put_parameter(Name="/search/index-prefix", Value="prod-", Type="String")
    app = project(tmp_path, aws, "jsonnet-init", env)
    convert(app, platform, "ecspresso.jsonnet")
    td, create = planned(app, env, "search")
    assert td == {
        "containerDefinitions": [{
            "cpu": 0, "essential": True, "image": env["IMAGE"], "name": "search",
            "portMappings": [{"containerPort": 9200, "hostPort": 9200, "protocol": "tcp"}],
            "environment": [{"name": "LOG_LEVEL", "value": "warn"}, {"name": "INDEX_PREFIX", "value": "prod-"}],
        }],
        "cpu": "512", "executionRoleArn": env["EXECUTION_ROLE_ARN"], "family": "search", "memory": "1024", "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
    }
    assert create == {
        "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True}, "maximumPercent": 200, "minimumHealthyPercent": 100},
        "desiredCount": 2, "enableECSManagedTags": False, "enableExecuteCommand": False, "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"assignPublicIp": "DISABLED", "securityGroups": [env["SECURITY_GROUP"]], "subnets": [env["SUBNET_1"], env["SUBNET_2"]]}},
        "platformVersion": "LATEST", "propagateTags": "NONE", "schedulingStrategy": "REPLICA",
    }


def test_env_defaults_json_escape_trim_markers_and_comments(tmp_path, aws, platform, env):
    flags = '{"text": "deploy \\"done\\"", "beta": true}'
    app = project(tmp_path, aws, "env-defaults", {**env, "SLACK_TEMPLATE": flags})
    convert(app, platform)
    td, create = planned(app, env, "notifier")
    assert td == {
        "family": "notifier", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512", "executionRoleArn": env["EXECUTION_ROLE_ARN"],
        "containerDefinitions": [{"name": "notifier", "image": env["IMAGE"], "environment": [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "REGION_NAME", "value": "NOTIFIER_REGION"},  # go-config's env with one name, unset: the name itself
            {"name": "SLACK_TEMPLATE", "value": flags},
            {"name": "GREETING", "value": "hello,world!"},  # {{- … -}} trims the spaces beside it
            {"name": "SHELL_SNIPPET", "value": "echo ${#ARGS[@]}"},
        ]}],
    }
    assert create == {
        "desiredCount": 1, "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": [env["SUBNET_1"]], "securityGroups": [env["SECURITY_GROUP"]], "assignPublicIp": "DISABLED"}},
    }
    # The values stay deploy-time values: another environment gives another definition.
    result = app.cli("render", "-o", "json", env={"DESIRED_COUNT": "4", "LOG_LEVEL": "debug"})
    assert result.code == 0, result.stderr
    rendered = result.json["notifier"]
    assert rendered["service"]["desiredCount"] == 4
    assert rendered["taskDefinition"]["containerDefinitions"][0]["environment"][0] == {"name": "LOG_LEVEL", "value": "debug"}


def test_ec2_bridge_placement_and_host_volumes(tmp_path, aws, platform, env):
    app = project(tmp_path, aws, "ec2-bridge", env)
    convert(app, platform)
    td, create = planned(app, env, "legacy-app")
    assert td == {
        "family": "legacy-app", "networkMode": "bridge", "requiresCompatibilities": ["EC2"],
        "containerDefinitions": [{
            "name": "app", "image": env["IMAGE"], "memory": 512, "memoryReservation": 256, "cpu": 256, "essential": True,
            "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp"}],
            "mountPoints": [{"sourceVolume": "cache", "containerPath": "/var/cache/app", "readOnly": False}],
            "dockerLabels": {"team": "legacy", "empty": ""},
        }],
        "volumes": [{"name": "cache", "host": {"sourcePath": "/var/cache/legacy"}}],
    }
    assert create == {
        "desiredCount": 2, "launchType": "EC2", "loadBalancers": [],
        "placementStrategy": [{"field": "attribute:ecs.availability-zone", "type": "spread"}, {"field": "memory", "type": "binpack"}],
        "placementConstraints": [], "schedulingStrategy": "REPLICA", "deploymentConfiguration": {"maximumPercent": 200, "minimumHealthyPercent": 50},
    }


def test_secretsmanager_arns_json_escape_and_deployment_alarms(tmp_path, aws, platform, env):
    secrets = aws.client("secretsmanager")
    stripe = secrets.create_secret(Name="payments/stripe", SecretString="sk")["ARN"]
    db = secrets.create_secret(Name="payments/db", SecretString='{"password": "p"}')["ARN"]
    flags = '{"beta":true,"name":"a \\"q\\""}'
    app = project(tmp_path, aws, "secrets-json-escape", {**env, "FEATURE_FLAGS": flags})
    convert(app, platform)
    assert "region" not in yaml.safe_load((app.path / "deployer.yaml").read_text())  # '{{ env `AWS_REGION` `us-east-1` }}'
    td, create = planned(app, env, "payments")
    assert td == {
        "family": "payments", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512", "executionRoleArn": env["EXECUTION_ROLE_ARN"],
        "containerDefinitions": [{
            "name": "payments", "image": env["IMAGE"], "environment": [{"name": "FEATURE_FLAGS", "value": flags}],
            "secrets": [{"name": "STRIPE_KEY", "valueFrom": stripe}, {"name": "DB_PASSWORD", "valueFrom": f"{db}:password::"}],
        }],
    }
    assert create == {
        "desiredCount": 1, "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": [env["SUBNET_1"], env["SUBNET_2"]], "securityGroups": [env["SECURITY_GROUP"]], "assignPublicIp": "DISABLED"}},
        "deploymentConfiguration": {"alarms": {"alarmNames": ["payments-5xx"], "enable": True, "rollback": True}, "maximumPercent": 200, "minimumHealthyPercent": 100},
    }


# ---- refusals: exit 2, the directory as it was -------------------------------------------------


def refused(app: App, platform, config: str = "ecspresso.yml", code: int = 2):
    before = listing(app.path)
    result = app.cli("init", "--from-ecspresso", config, "--stack", platform["stack"])
    assert result.code == code, result.stdout + result.stderr
    assert listing(app.path) == before
    return result


def test_plugin_functions_in_the_config_are_refused_as_ecspresso_refuses_them(tmp_path, aws, platform, env):
    app = project(tmp_path, aws, "tfstate-list", env)
    app.edit("ecspresso.yml", "cluster: demo", "cluster: {{ tfstate `output.cluster` }}")
    result = refused(app, platform)
    assert 'ecspresso.yml:2: function "tfstate" not defined' in result.stderr
    assert "env, must_env and json_escape only" in result.stderr


def test_must_env_in_the_config_unset(tmp_path, aws, platform, env):
    app = project(tmp_path, aws, "tfstate-s3", env)  # TFSTATE_BUCKET and SERVICE not set
    result = refused(app, platform)
    assert "ecspresso.yml:3: must_env: environment variable SERVICE is not defined" in result.stderr


def test_a_refused_jsonnet_project_writes_nothing(tmp_path, aws, platform, env):
    app = project(tmp_path, aws, "jsonnet-init", env)
    app.edit("ecs-task-def.jsonnet", "std.native('ssm')('/search/index-prefix')", "std.native('vault')('/search/index-prefix')")
    result = refused(app, platform, "ecspresso.jsonnet")
    assert "ecs-task-def.jsonnet:20: std.native('vault') is not a function of this project" in result.stderr


def test_go_control_structures_are_refused(tmp_path, aws, platform, env):
    app = project(tmp_path, aws, "env-defaults", env)
    app.edit("ecs-task-def.json", '"{{ env `LOG_LEVEL` `info` }}"', '"{{ if env `DEBUG` }}debug{{ else }}info{{ end }}"')
    result = refused(app, platform)
    assert "ecs-task-def.json:13: the Go template `if` has no automatic conversion; rewrite it in Jinja" in result.stderr


def test_a_prefixed_function_needs_its_plugin(tmp_path, aws, platform, env):
    app = project(tmp_path, aws, "tfstate-prefix", env)
    git(tmp_path, "init", "-q")  # the monorepo that holds ../network
    app.edit("ecspresso.yml", "    func_prefix: network_\n", "")
    result = refused(app, platform)
    assert "template function tfstate already exists. set func_prefix to tfstate plugin" in result.stderr


def test_an_unknown_function_in_a_definition(tmp_path, aws, platform, env):
    app = project(tmp_path, aws, "ssm-prefix", env)
    app.edit("ecs-service-def.json", "param_ssm", "params_ssm")
    result = refused(app, platform)
    assert 'ecs-service-def.json:7: `{{ params_ssm `/mailer/security-group` }}`: function "params_ssm" not defined' in result.stderr


def test_an_unknown_plugin(tmp_path, aws, platform, env):
    app = project(tmp_path, aws, "ssm-prefix", env)
    app.edit("ecspresso.yml", "  - name: ssm\n", "  - name: vault\n")
    result = refused(app, platform)
    assert "plugin `vault` is not available" in result.stderr


def test_definitions_that_do_not_render_now_are_not_written(tmp_path, aws, platform, env):
    app = project(tmp_path, aws, "init-fargate", {k: v for k, v in env.items() if k != "TASK_ROLE_ARN"})
    result = refused(app, platform)
    assert "the converted ecs-task-def.json.j2 does not render, nothing was written" in result.stderr
    assert "TASK_ROLE_ARN" in result.stderr


def test_values_that_cannot_be_read_are_left_to_fill_and_init_fails(tmp_path, aws, platform, env):
    """A state deployer cannot read (gs://): the files are written with the vars to fill, init exits 1, render names the var."""
    app = project(tmp_path, aws, "tfstate-list", env)
    app.edit("ecspresso.yml", "    config:\n      path: terraform.tfstate", "    config:\n      url: gs://team-state/api/default.tfstate")
    result = app.cli("init", "--from-ecspresso", "ecspresso.yml", "--stack", platform["stack"])
    assert result.code == 1, result.stderr
    assert "do not render until these values are filled in deployer.yaml" in result.stderr
    assert "vars.tfstate_output_private_subnet_ids: from tfstate `output.private_subnet_ids` (gs://team-state/api/default.tfstate): deployer reads local and s3:// states" in result.stderr
    text = (app.path / "deployer.yaml").read_text()
    assert "  # tfstate_output_private_subnet_ids: ...\n" in text
    render = app.cli("render", "-o", "json")
    assert render.code == 2 and "undefined name in template: 'dict object' has no attribute 'tfstate_output_" in render.stderr
    filled = text
    for key, value in (("tfstate_output_desired_count", 1), ("tfstate_output_private_subnet_ids", [env["SUBNET_1"]]),
                       ("tfstate_output_security_group_ids", [env["SECURITY_GROUP"]]), ("tfstate_output_execution_role_arn", env["EXECUTION_ROLE_ARN"])):
        filled = filled.replace(f"  # {key}: ...\n", f"  {key}: {json.dumps(value)}\n")
    (app.path / "deployer.yaml").write_text(filled)
    render = app.cli("render", "-o", "json")
    assert render.code == 0, render.stderr
    assert render.json["api"]["service"]["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == [env["SUBNET_1"]]
