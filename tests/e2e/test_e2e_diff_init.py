"""End to end: `deployer diff` and `deployer init` (the real command, in a subprocess) against the local AWS.

The contract under test: an unchanged app diffs empty (exit 0 with --exit-code); a change shows
as a unified diff and --exit-code gives 1; `init` of a live service followed by `diff` in the
directory it wrote shows no difference. Neither command changes anything in AWS.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import App, ecs_state, image_ref


def deploy(app, platform, tag: str = "v1"):
    result = app.cli("deploy", "--image", image_ref(platform, tag), "--output", "json")
    assert result.code == 0, result.stderr
    return result.json


def adopted(app: App, tmp_path, name: str = "adopted") -> App:
    """An empty directory (not a git repository) with the `deployer` command run inside it."""
    path = tmp_path / name
    path.mkdir()
    return App(path, app.aws)


def cluster_of(platform) -> str:
    return platform["outputs"]["ClusterName"]


# ---- diff ------------------------------------------------------------------------------


def test_diff_of_an_unchanged_app_prints_nothing(app, aws, platform):
    deploy(app, platform)
    before = ecs_state(aws, cluster_of(platform))

    plain = app.cli("diff")
    assert plain.code == 0, plain.stderr
    assert plain.stdout == ""

    strict = app.cli("diff", "--exit-code")
    assert strict.code == 0, strict.stderr
    assert strict.stdout == ""

    as_json = app.cli("diff", "--exit-code", "--output", "json")
    assert as_json.code == 0, as_json.stderr
    result = as_json.json
    assert result["changed"] is False
    [web] = result["services"]
    assert web["service"] == "web" and web["changed"] is False
    assert web["task_definition_diff"] == "" and web["service_diff"] == ""
    assert web["live_task_definition"].endswith(":task-definition/web:1")
    # Rendering with the image that runs is the same as passing it.
    same_image = app.cli("diff", "--exit-code", "--image", image_ref(platform, "v1"))
    assert same_image.code == 0 and same_image.stdout == ""
    assert ecs_state(aws, cluster_of(platform)) == before


def test_diff_shows_a_changed_var_and_exit_code_1(app, aws, platform):
    deploy(app, platform)
    before = ecs_state(aws, cluster_of(platform))

    changed = app.cli("diff", "--var", "log_level=debug", "--exit-code")
    assert changed.code == 1, changed.stderr
    lines = changed.stdout.splitlines()
    assert lines[0] == "--- live web:1"
    assert lines[1] == "+++ rendered"
    assert '-          "value": "info"' in lines
    assert '+          "value": "debug"' in lines
    assert '           "name": "LOG_LEVEL",' in lines  # context around the change
    assert "desiredCount" not in changed.stdout  # the service settings did not change
    assert "\x1b[" not in changed.stdout  # not a terminal: no colour

    # Without --exit-code a difference is not a failure.
    assert app.cli("diff", "--var", "log_level=debug").code == 0

    replicas = app.cli("diff", "--var", "replicas=3", "--exit-code", "--output", "json")
    assert replicas.code == 1, replicas.stderr
    [web] = replicas.json["services"]
    assert replicas.json["changed"] is True and web["changed"] is True
    assert web["task_definition_diff"] == ""
    assert web["service_diff"].startswith("--- live service web\n+++ rendered service web\n")
    assert '-  "desiredCount": 2,' in web["service_diff"]
    assert '+  "desiredCount": 3,' in web["service_diff"]
    assert ecs_state(aws, cluster_of(platform)) == before


def test_diff_shows_a_new_environment_variable_and_a_new_image(app, platform):
    deploy(app, platform)
    app.edit("ecs-task-def.json.j2", '{ "name": "LOG_LEVEL"', '{ "name": "FEATURE_FLAG", "value": "on" },\n        { "name": "LOG_LEVEL"')
    result = app.cli("diff", "--exit-code", "--image", image_ref(platform, "v2"))
    assert result.code == 1, result.stderr
    out = result.stdout
    assert '+          "name": "FEATURE_FLAG",' in out
    assert '+          "value": "on"' in out
    assert f'-      "image": "{image_ref(platform, "v1")}",' in out
    assert f'+      "image": "{image_ref(platform, "v2")}",' in out
    # Once deployed, nothing is left to show.
    deploy(app, platform, "v2")
    assert app.cli("diff", "--exit-code").stdout == ""


def test_diff_of_a_service_that_does_not_exist_shows_everything_added(app, aws, platform):
    result = app.cli("diff", "--exit-code")
    assert result.code == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "--- live (service web does not exist)"
    body = [line for line in lines if not line.startswith(("---", "+++", "@@"))]
    assert body and all(line.startswith("+") for line in body)
    assert '+  "family": "web",' in lines
    assert '+  "serviceName": "web"' in lines
    assert f'+      "targetGroupArn": "{platform["outputs"]["TargetGroupArn"]}"' in lines
    as_json = app.cli("diff", "--output", "json", "--image", image_ref(platform, "v1"))
    assert as_json.code == 0
    [web] = as_json.json["services"]
    assert web["exists"] is False and web["changed"] is True and web["live_task_definition"] is None
    assert f'+      "image": "{image_ref(platform, "v1")}",' in web["task_definition_diff"]
    assert ecs_state(aws, cluster_of(platform))["task_definitions"] == []


def test_diff_masks_secure_string_values(app, aws, platform):
    aws.client("ssm").put_parameter(Name="/web/api-token", Value="s3cr3t-value-42", Type="SecureString")
    deploy(app, platform)
    app.edit("ecs-task-def.json.j2", '{ "name": "LOG_LEVEL"', '{ "name": "API_TOKEN", "value": "{{ ssm(\'/web/api-token\') }}" },\n        { "name": "LOG_LEVEL"')
    app.edit("deployer.yaml", "vars:\n", "allow_plaintext_secrets: true  # else refused (tests/e2e/test_e2e_security.py)\nvars:\n")
    result = app.cli("diff", "--exit-code")
    assert result.code == 1, result.stderr
    assert '+          "value": "****"' in result.stdout
    assert "s3cr3t" not in result.stdout + result.stderr
    as_json = app.cli("diff", "--output", "json")
    assert "s3cr3t" not in as_json.stdout and "****" in as_json.json["services"][0]["task_definition_diff"]


def test_diff_reconciles_a_role_given_by_name_with_the_arn(app, platform):
    deploy(app, platform)
    role_name = platform["outputs"]["TaskRoleArn"].rsplit("/", 1)[-1]
    app.edit("ecs-task-def.json.j2", '"{{ environment.outputs.TaskRoleArn }}"', f'"{role_name}"')
    result = app.cli("diff", "--exit-code")
    assert result.code == 0, result.stdout + result.stderr
    assert result.stdout == ""
    # Another role is a difference.
    app.edit("ecs-task-def.json.j2", f'"{role_name}"', '"some-other-role"')
    other = app.cli("diff", "--exit-code")
    assert other.code == 1
    assert '+  "taskRoleArn": "some-other-role"' in other.stdout


def test_diff_bad_input_exits_2(app, platform):
    deploy(app, platform)
    unknown = app.cli("diff", "--service", "nope")
    assert unknown.code == 2 and "--service nope: not in deployer.yaml" in unknown.stderr
    assert app.cli("diff", "--output", "yaml").code == 2
    assert app.cli("diff", "--var", "novalue").code == 2
    app.edit("ecs-task-def.json.j2", '"{{ vars.log_level }}"', '"{{ vars.loglevel }}"')
    undefined = app.cli("diff", "--exit-code")
    assert undefined.code == 2 and "undefined name in template" in undefined.stderr
    assert undefined.stdout == ""


def test_diff_text_is_coloured_only_on_a_terminal(monkeypatch):
    from deployer.commands import diff as cmd

    result = {"changed": True, "services": [{"task_definition_diff": "--- live web:1\n+++ rendered\n@@ -1 +1 @@\n-a\n+b", "service_diff": ""}]}
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    coloured = cmd.text(None, result)
    assert "\x1b[" in coloured and "+b" in coloured and "-a" in coloured
    monkeypatch.setenv("NO_COLOR", "1")
    assert cmd.text(None, result) == result["services"][0]["task_definition_diff"]
    assert cmd.text(None, {"changed": False, "services": [{"task_definition_diff": "", "service_diff": ""}]}) is None


# ---- init ------------------------------------------------------------------------------


def test_init_of_a_deployed_service_then_diff_shows_nothing(app, aws, platform, tmp_path):
    deploy(app, platform)
    new = adopted(app, tmp_path)
    before = ecs_state(aws, cluster_of(platform))

    result = new.cli("init", "--cluster", cluster_of(platform), "--service", "web", "--proton", "demo", "--output", "json")
    assert result.code == 0, result.stderr
    info = result.json
    assert info["status"] == "written" and info["verified"] is True and info["app"] == "web" and info["container"] == "app" and info["port"] == 8080
    assert sorted(p.rsplit("/", 1)[-1] for p in info["files"]) == ["deployer.yaml", "ecs-service-def.json.j2", "ecs-task-def.json.j2"]
    assert sorted(info["derived"]) == ["loadBalancers", "networkConfiguration"]

    import yaml

    config = yaml.safe_load((new.path / "deployer.yaml").read_text())
    assert config["app"] == "web"
    assert config["environment"]["proton"] == "demo" and "stack" not in config["environment"]
    assert config["service"]["container"] == "app" and config["service"]["port"] == 8080
    assert config["environment"]["outputs"]["target_group"] == "TargetGroupArn"
    td_text = (new.path / "ecs-task-def.json.j2").read_text()
    assert '"image": "{{ image }}"' in td_text
    assert '"family": "{{ service.family }}"' in td_text
    assert '"executionRoleArn": "{{ environment.outputs.TaskExecutionRoleArn }}"' in td_text
    assert '"awslogs-group": "{{ environment.outputs.LogGroupName }}"' in td_text
    assert "taskDefinitionArn" not in td_text and '"revision"' not in td_text and "registeredAt" not in td_text
    service_def = json.loads((new.path / "ecs-service-def.json.j2").read_text())
    assert service_def["desiredCount"] == 2 and service_def["healthCheckGracePeriodSeconds"] == 30
    assert service_def["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert "networkConfiguration" not in service_def and "loadBalancers" not in service_def

    diff = new.cli("diff", "--exit-code")
    assert diff.code == 0, diff.stdout + diff.stderr
    assert diff.stdout == ""
    assert ecs_state(aws, cluster_of(platform)) == before

    # The imported templates deploy: the next revision comes from them.
    redeploy = new.cli("deploy", "--image", image_ref(platform, "v2"), "--output", "json")
    assert redeploy.code == 0, redeploy.stderr
    assert redeploy.json["task_definition"].endswith("web:2")


def create_service_with_boto3(aws, platform, *, name="api", family="legacy-api", load_balancer=True):
    """A service made without deployer: roles as ARNs, defaults spelled out, lists in another order."""
    out = platform["outputs"]
    ecs = aws.client("ecs")
    aws.client("ssm").put_parameter(Name="/api/db-password", Value="pw", Type="SecureString")
    td = ecs.register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="512",
        memory="1024",
        executionRoleArn=out["TaskExecutionRoleArn"],
        taskRoleArn=out["TaskRoleArn"],
        containerDefinitions=[
            {
                "name": "api",
                "image": out["EcrRepositoryUri"] + ":2024-06-01",
                "cpu": 0,
                "essential": True,
                "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}],
                "environment": [
                    {"name": "VPC", "value": out["VpcId"]},
                    {"name": "MODE", "value": "legacy"},
                    {"name": "QUOTED", "value": 'say "hi" {{ not jinja }}'},
                ],
                "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/api/db-password"}],
                "dockerLabels": {"template": "{{.Name}}"},
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": out["LogGroupName"], "awslogs-region": "us-east-1", "awslogs-stream-prefix": "api"},
                },
            },
            {"name": "sidecar", "image": "public.ecr.aws/nginx/nginx:1.27", "essential": False, "memoryReservation": 64},
        ],
    )["taskDefinition"]
    network = {
        "awsvpcConfiguration": {"subnets": [out["PrivateSubnet2"], out["PrivateSubnet1"]], "securityGroups": [out["ServiceSecurityGroup"]]}
    }
    kwargs = {}
    if load_balancer:
        kwargs["loadBalancers"] = [{"targetGroupArn": out["TargetGroupArn"], "containerName": "api", "containerPort": 8080}]
        kwargs["healthCheckGracePeriodSeconds"] = 45
    else:
        network["awsvpcConfiguration"]["assignPublicIp"] = "ENABLED"
    ecs.create_service(
        cluster=out["ClusterName"],
        serviceName=name,
        taskDefinition=td["taskDefinitionArn"],
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network,
        **kwargs,
    )
    return td


def test_init_of_a_service_created_with_boto3_then_diff_shows_nothing(app, aws, platform, tmp_path):
    create_service_with_boto3(aws, platform)
    new = adopted(app, tmp_path)
    result = new.cli("init", "--cluster", cluster_of(platform), "--service", "api", "--stack", platform["stack"])
    assert result.code == 0, result.stderr
    assert "wrote" in result.stdout and "ecs-task-def.json.j2" in result.stdout
    assert "checked: `deployer diff` shows no difference" in result.stdout
    assert "2 containers: `api` gets the new image" in result.stderr

    import yaml

    config = yaml.safe_load((new.path / "deployer.yaml").read_text())
    assert config["app"] == "legacy-api" and config["service"]["name"] == "api"
    assert config["environment"]["stack"] == platform["stack"]
    assert config["service"]["container"] == "api" and config["service"]["port"] == 8080
    td_text = (new.path / "ecs-task-def.json.j2").read_text()
    assert '"value": "{{ environment.outputs.VpcId }}"' in td_text
    assert '"taskRoleArn": "{{ environment.outputs.TaskRoleArn }}"' in td_text
    assert '"image": "public.ecr.aws/nginx/nginx:1.27"' in td_text  # the sidecar keeps its image
    assert "{% raw %}" in td_text  # strings that look like Jinja stay literal
    service_def = json.loads((new.path / "ecs-service-def.json.j2").read_text())
    # No circuit breaker on the live service: written as off, so deployer does not turn one on.
    assert service_def["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": False, "rollback": False}
    assert service_def["desiredCount"] == 1 and service_def["healthCheckGracePeriodSeconds"] == 45
    assert "networkConfiguration" not in service_def and "loadBalancers" not in service_def

    diff = new.cli("diff", "--exit-code")
    assert diff.code == 0, diff.stdout + diff.stderr
    assert diff.stdout == ""
    rendered = new.cli("render", "--image", "x:1", "--output", "json")
    container = next(c for c in rendered.json["api"]["taskDefinition"]["containerDefinitions"] if c["name"] == "api")
    assert {"name": "QUOTED", "value": 'say "hi" {{ not jinja }}'} in container["environment"]
    assert container["dockerLabels"] == {"template": "{{.Name}}"}

    # A change made after the import shows.
    (new.path / "ecs-task-def.json.j2").write_text(td_text.replace('"value": "legacy"', '"value": "modern"'))
    changed = new.cli("diff", "--exit-code")
    assert changed.code == 1 and '+          "value": "modern"' in changed.stdout


def test_init_of_a_service_without_load_balancer(app, aws, platform, tmp_path):
    create_service_with_boto3(aws, platform, name="worker", family="worker", load_balancer=False)
    new = adopted(app, tmp_path)
    result = new.cli("init", "--cluster", cluster_of(platform), "--service", "worker", "--stack", platform["stack"], "--output", "json")
    assert result.code == 0, result.stderr
    assert result.json["derived"] == [] and result.json["verified"] is True
    config = (new.path / "deployer.yaml").read_text()
    assert "target_group: null" in config  # deployer must not add the environment's load balancer
    service_def = (new.path / "ecs-service-def.json.j2").read_text()
    assert '"assignPublicIp": "ENABLED"' in service_def  # not what deployer derives: kept
    assert "{{ environment.outputs.PrivateSubnet1 }}" in service_def and "loadBalancers" not in service_def
    diff = new.cli("diff", "--exit-code")
    assert diff.code == 0, diff.stdout + diff.stderr
    assert diff.stdout == ""


def test_init_refuses_to_overwrite(app, aws, platform, tmp_path):
    deploy(app, platform)
    new = adopted(app, tmp_path)
    (new.path / "deployer.yaml").write_text("# mine\n")
    refused = new.cli("init", "--cluster", cluster_of(platform), "--service", "web", "--stack", platform["stack"])
    assert refused.code == 2
    assert "deployer.yaml already exists" in refused.stderr and "--overwrite" in refused.stderr
    assert (new.path / "deployer.yaml").read_text() == "# mine\n"
    assert not (new.path / "ecs-task-def.json.j2").exists()

    replaced = new.cli("init", "--cluster", cluster_of(platform), "--service", "web", "--stack", platform["stack"], "--overwrite")
    assert replaced.code == 0, replaced.stderr
    assert (new.path / "deployer.yaml").read_text().count("app: web") == 1
    assert new.cli("diff", "--exit-code").code == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (("--service", "web", "--stack", "S"), "Missing option '--cluster'"),
        (("--cluster", "demo", "--service", "web"), "exactly one of --stack"),
        (("--cluster", "demo", "--service", "web", "--stack", "S", "--proton", "demo"), "(both were given)"),
        (("--cluster", "demo", "--service", "nope", "--proton", "demo"), "service `nope` not found"),
        (("--cluster", "nope", "--service", "web", "--proton", "demo"), "cluster `nope` does not exist"),
        (("--cluster", "demo", "--service", "web", "--stack", "AWSProton-missing"), "stack `AWSProton-missing` does not exist"),
        (("--cluster", "demo", "--service", "web", "--proton", "demo", "--output", "yaml"), "--output must be text or json"),
    ],
    ids=["no cluster", "no environment", "both environments", "unknown service", "unknown cluster", "unknown stack", "bad output"],
)
def test_init_bad_arguments_exit_2_and_write_nothing(app, aws, platform, tmp_path, args, message):
    new = adopted(app, tmp_path)
    result = new.cli("init", *args)
    assert result.code == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert list(new.path.iterdir()) == []


def test_init_into_another_environments_cluster_is_refused(app, aws, platform, tmp_path):
    from tests.localaws.platform import create_environment

    other_stack, _ = create_environment(aws.endpoint, env="other")
    deploy(app, platform)
    new = adopted(app, tmp_path)
    result = new.cli("init", "--cluster", cluster_of(platform), "--service", "web", "--stack", other_stack)
    assert result.code == 2
    assert "names cluster `demo`" in result.stderr
    assert list(new.path.iterdir()) == []


def test_init_of_an_autoscaled_service_leaves_desired_count_to_the_scaler(app, aws, platform, tmp_path):
    deploy(app, platform)
    cluster = cluster_of(platform)
    aws.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs", ResourceId=f"service/{cluster}/web", ScalableDimension="ecs:service:DesiredCount", MinCapacity=2, MaxCapacity=10
    )
    new = adopted(app, tmp_path)
    result = new.cli("init", "--cluster", cluster, "--service", "web", "--proton", "demo", "--output", "json")
    assert result.code == 0, result.stderr
    service_def = json.loads((new.path / "ecs-service-def.json.j2").read_text())
    assert "desiredCount" not in service_def
    assert any("web is autoscaled: desiredCount left out" in w for w in result.json["warnings"])
    assert new.cli("diff", "--exit-code").code == 0
