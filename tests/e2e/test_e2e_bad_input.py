"""The bad-input matrix: each row runs the real `deployer` against the local AWS (and, for the Docker
rows, in tests/docker/test_e2e_bad_input_docker.py, a real engine and registry) and asserts the exit code, a message that names the place, and
that AWS is unchanged: no revision registered, the service untouched."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.conftest import ecs_state, image_ref

TD = "ecs-task-def.json.j2"
SD = "ecs-service-def.json.j2"
YAML = "deployer.yaml"
NO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass
class Case:
    id: str
    expected: str  # part of the message, naming the place
    code: int = 2
    edits: list = field(default_factory=list)  # (file, old, new)
    args: tuple | None = None  # default: deploy --image <repo>:v2
    env: dict = field(default_factory=dict)
    docker: bool = False  # needs the engine and registry (release)
    setup: str | None = None  # a named preparation step, see prepare()


CASES = [
    # the environment's DEPLOYER_* watch windows: refused when the command starts, not mid-watch
    Case("watch window not a number", "DEPLOYER_UNSEEN_WINDOW='soon': must be a number of seconds, 0 or more", env={"DEPLOYER_UNSEEN_WINDOW": "soon"}),
    Case("negative watch window", "DEPLOYER_PLACEMENT_CONFIRM='-5': must be a number of seconds, 0 or more", env={"DEPLOYER_PLACEMENT_CONFIRM": "-5"}),
    # config
    Case("yaml syntax error", "deployer.yaml:9: invalid YAML", edits=[(YAML, "    cluster: ClusterName", "    cluster: [ClusterName")]),
    Case("unknown key", "deployer.yaml:21: `service.containr` is not a known key; did you mean `service.container`?", edits=[(YAML, "  container: app", "  containr: app")]),
    Case("wrong type in config", "deployer.yaml:22: `service.port` must be an integer, got a string ('http')", edits=[(YAML, "  port: 8080", "  port: http")]),
    Case("both stack and proton", "`environment` needs exactly one of `stack` or `proton` (both are set)", edits=[(YAML, "  proton: demo", "  proton: demo\n  stack: AWSProton-demo-cloudformation--X")]),
    Case("missing config file", "nope.yaml: config file not found", args=("deploy", "--image", "x:1", "-c", "nope.yaml")),
    Case("missing template file", "`task_definition` file not found", edits=[(YAML, "task_definition: ecs-task-def.json.j2", "task_definition: ecs-task.json.j2")]),
    # environment
    Case("missing stack", "environment.stack: CloudFormation stack `AWSProton-gone-cloudformation--X` does not exist", edits=[(YAML, "  proton: demo", "  stack: AWSProton-gone-cloudformation--X")]),
    Case("no stack for proton env", "environment.proton: no stack named AWSProton-staging-cloudformation-*", edits=[(YAML, "  proton: demo", "  proton: staging")]),
    Case("missing output", "environment.outputs.cluster: output `EcsClusterName` not found in stack AWSProton-demo-cloudformation--", edits=[(YAML, "cluster: ClusterName", "cluster: EcsClusterName")]),
    Case("missing explicit target group output", "environment.outputs.target_group: output `Tg` not found", edits=[(YAML, "target_group: TargetGroupArn", "target_group: Tg")]),
    # templates
    Case("template syntax error", "ecs-task-def.json.j2:16: template syntax error", edits=[(TD, '"{{ vars.log_level }}"', '"{{ vars.log_level }"')]),
    Case("undefined name", "ecs-task-def.json.j2:16: undefined name in template", edits=[(TD, '"{{ vars.log_level }}"', '"{{ vars.loglevel }}"')]),
    Case("undefined output", "ecs-task-def.json.j2:7: undefined name in template", edits=[(TD, "environment.outputs.TaskExecutionRoleArn", "environment.outputs.ExecRole")]),
    Case("must_env unset", "must_env('DEPLOYER_TEST_UNSET'): environment variable DEPLOYER_TEST_UNSET is not set", edits=[(TD, '"{{ vars.log_level }}"', '"{{ must_env(\'DEPLOYER_TEST_UNSET\') }}"')]),
    Case("missing ssm parameter", "ssm('/nope'): SSM parameter not found", edits=[(TD, '"{{ vars.log_level }}"', '"{{ ssm(\'/nope\') }}"')]),
    # definitions
    Case("invalid json after render", "ecs-task-def.json.j2: rendered output is not valid JSON at line 5", edits=[(TD, '"cpu": "256",', '"cpu": "256",,')]),
    Case("wrong field type", "containerDefinitions[0].portMappings[0].containerPort", edits=[(TD, '"containerPort": 8080,', '"containerPort": "8080",')]),
    Case("unknown field", 'Unknown parameter in containerDefinitions[0]: "imagePullPolicy"', edits=[(TD, '"essential": true,', '"essential": true, "imagePullPolicy": "Always",')]),
    Case("unknown container", "service.container: container `web` is not in ecs-task-def.json.j2", edits=[(YAML, "  container: app", "  container: web")]),
    Case("port not mapped", "service.port: container `app` in ecs-task-def.json.j2 has no portMapping for 9090", edits=[(YAML, "  port: 8080", "  port: 9090")]),
    Case("service def wrong type", "ecs-service-def.json.j2: invalid for ECS CreateService", edits=[(SD, '"healthCheckGracePeriodSeconds": 30', '"healthCheckGracePeriodSeconds": "soon"')]),
    Case("service def sets taskDefinition", "`taskDefinition` is set by deployer", edits=[(SD, '"desiredCount"', '"taskDefinition": "web:1", "desiredCount"')]),
    Case("family mismatch", "family `api` differs from `web`", edits=[(TD, '"family": "{{ service.family }}"', '"family": "api"')]),
    # flags
    Case("bad --var", "--var 'novalue': expected KEY=VALUE", args=("deploy", "--image", "IMAGE", "--var", "novalue")),
    Case("deploy without image or revision", "pass exactly one of --image REF", args=("deploy",)),
    Case("unknown --service", "--service api: not in deployer.yaml", args=("deploy", "--image", "IMAGE", "--service", "api")),
    Case("revision that does not exist", "task definition `web:42` not found", args=("deploy", "--revision", "42")),
    Case("inactive revision", "--revision 1: web:1 is INACTIVE", args=("deploy", "--revision", "1"), setup="deregister web:1"),
    Case("rollback with no healthy revision", "no earlier revision of web is marked healthy", args=("rollback",)),
    Case("bad --output", "--output must be text or json", args=("status", "--output", "yaml")),
    # AWS
    Case("no region", "no AWS region", env={"AWS_REGION": "", "AWS_DEFAULT_REGION": ""}, edits=[(YAML, "region: us-east-1\n", "")]),
    Case("no credentials", "no AWS credentials", code=3, env=NO_CREDENTIALS),
    Case("aws unreachable", "AWS unreachable while", code=3, env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}),
    # Docker (release)
    Case("docker unreachable", "Docker engine unreachable at DOCKER_HOST=unix:///nonexistent", code=3, docker=True, env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"}),
    Case("missing dockerfile", "Dockerfile 'Dockerfile.prod' not found in the image context", docker=True, edits=[(YAML, "  dockerfile: Dockerfile", "  dockerfile: Dockerfile.prod")]),
    Case("push refused", "push refused by registry", code=3, docker=True, setup="wrong registry password"),
]


def prepare(case: Case, app, aws, request) -> dict:
    env = dict(case.env)
    if case.setup == "deregister web:1":
        aws.client("ecs").deregister_task_definition(taskDefinition="web:1")
    if case.docker:
        docker_env = request.getfixturevalue("docker_env")
        env = {**docker_env.environ(), **env}
        if case.setup == "wrong registry password":
            env["DEPLOYER_ECR_ENDPOINT"] = docker_env.start_registry("wrong-password-matrix", "not-the-ecr-token")
    return env


@pytest.mark.parametrize("case", [c for c in CASES if not c.docker], ids=[c.id for c in CASES if not c.docker])
def test_bad_input_changes_nothing(app, aws, platform, request, case):
    """The rows that need Docker (release) run in tests/docker/test_e2e_bad_input_docker.py."""
    check(app, aws, platform, request, case)


def check(app, aws, platform, request, case):
    # A healthy service on web:1 first: "unchanged" must mean something.
    assert app.cli("deploy", "--image", image_ref(platform, "v1")).code == 0
    cluster = platform["outputs"]["ClusterName"]
    env = prepare(case, app, aws, request)
    before = ecs_state(aws, cluster)
    for filename, old, new in case.edits:
        app.edit(filename, old, new)
    if case.docker:
        app.commit("a change to release")
        args = ("release", "--build-arg", "BASE_IMAGE=localhost/busybox:base")
    else:
        args = case.args or ("deploy", "--image", image_ref(platform, "v2"))
        args = tuple(image_ref(platform, "v2") if a == "IMAGE" else a for a in args)
    result = app.cli(*args, env=env)
    assert result.code == case.code, result.stderr
    assert case.expected in result.stderr, result.stderr
    assert ecs_state(aws, cluster) == before


def test_a_code_deploy_service_is_refused_before_any_write(app, aws, platform):
    out = platform["outputs"]
    ecs = aws.client("ecs")
    td = ecs.register_task_definition(family="web", containerDefinitions=[{"name": "app", "image": "x", "memory": 128}])["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=out["ClusterName"], serviceName="web", taskDefinition=td, desiredCount=1, deploymentController={"type": "CODE_DEPLOY"})
    before = ecs_state(aws, out["ClusterName"])
    result = app.cli("deploy", "--image", image_ref(platform, "v1"))
    assert result.code == 2, result.stderr
    assert "service web uses the CODE_DEPLOY deployment controller" in result.stderr
    assert ecs_state(aws, out["ClusterName"]) == before
