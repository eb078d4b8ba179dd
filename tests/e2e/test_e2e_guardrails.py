"""End to end: the admins' guardrails (stack output DeployerPolicy) through the real `deployer` command.

The policy is examples/platform/deployer-policy.yaml with one adaptation, the registry rule pointed at
the local platform's ECR account (the example names the admins' 111111111111; the README says to
change it). The example app is left as it is: it breaks exactly one rule of the example policy (no
`readonlyRootFilesystem`), which is that rule's violating fixture; the other cases run on a copy of
the app that sets it (`compliant`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import ecs_state, image_ref

ROOT = Path(__file__).resolve().parents[2]
POLICY_PARAMETER = "/platform/deployer-policy"
LOCAL_ACCOUNT = "123456789012"


def example_policy() -> dict:
    text = (ROOT / "examples" / "platform" / "deployer-policy.yaml").read_text()
    return yaml.safe_load(text.replace("111111111111", LOCAL_ACCOUNT))


def compact(document: dict) -> str:
    return json.dumps(document, separators=(",", ":"))


@pytest.fixture
def policy_ref() -> str:
    """The value of the platform's DeployerPolicy output ("" = no output); tests parametrize it."""
    return f"ssm:{POLICY_PARAMETER}"


@pytest.fixture
def platform(aws, policy_ref):
    """The admins' environment with the DeployerPolicy output (overrides conftest's, which has none)."""
    from tests.localaws.platform import create_environment

    if policy_ref.startswith("ssm:"):
        put_policy(aws, compact(example_policy()))
    stack, outputs = create_environment(aws.endpoint, env="demo", inputs={"deployer_policy": policy_ref})
    return {"stack": stack, "outputs": outputs, "endpoint": aws.endpoint}  # image_ref() pushes what it names


def put_policy(aws, text: str, name: str = POLICY_PARAMETER) -> None:
    aws.client("ssm").put_parameter(Name=name, Value=text, Type="String", Tier="Advanced", Overwrite=True)


@pytest.fixture
def compliant(app):
    """The example app with the one setting the example policy asks for and the app leaves out."""
    app.edit("ecs-task-def.json.j2", '"essential": true,', '"essential": true, "readonlyRootFilesystem": true,')
    app.commit("read-only root filesystem")
    return app


def cluster(platform) -> str:
    return platform["outputs"]["ClusterName"]


COMMANDS = (("render",), ("verify",), ("deploy", "--dry-run"), ("deploy",))


def run_all(app, platform, aws, *extra: str, image: str | None = None):
    """Each command that checks the guardrails; the AWS state before and after."""
    before = ecs_state(aws, cluster(platform))
    image = image or image_ref(platform, "v1")
    results = {}
    for command in COMMANDS:
        args = [*command, *extra]
        if command[0] in ("render", "deploy"):
            args += ["--image", image]
        results[" ".join(command)] = app.cli(*args)
    return results, before, ecs_state(aws, cluster(platform))


def test_the_compliant_app_passes_every_command(compliant, platform, aws):
    results, _, after = run_all(compliant, platform, aws)
    for command, result in results.items():
        assert result.code == 0, (command, result.stderr)
    assert "PASS  guardrails" in results["verify"].stdout
    assert f"SSM parameter {POLICY_PARAMETER}" in results["verify"].stdout
    assert after["service_task_definition"].endswith("web:1")


# kind → (the edits that break the rule, the message, the edit that keeps within it). deployer itself
# refuses a FARGATE task of a size Fargate does not have; the policy holds every task definition to
# the Fargate pairs, so an EC2 one with 256 CPU units and 4 GiB breaks it. A privileged container and a
# json-file log driver are EC2-only too (deployer refuses them on Fargate as ECS would, before the policy).
VIOLATIONS = {
    "cpu-memory": ([('"requiresCompatibilities": ["FARGATE"]', '"requiresCompatibilities": ["EC2"]'), ('"memory": "512"', '"memory": "4096"')],
                   'task_definition: cpu "256", memory "4096" matches none of the 7 allowed alternatives', ('"memory": "512"', '"memory": "2048"')),
    "privileged": ([('"requiresCompatibilities": ["FARGATE"]', '"requiresCompatibilities": ["EC2"]'), ('"essential": true,', '"essential": true, "privileged": true,')],
                   "task_definition.containerDefinitions[0].privileged: true is not allowed — no privileged containers",
                   ('"essential": true,', '"essential": true, "privileged": false,')),
    "log-configuration": ([('"requiresCompatibilities": ["FARGATE"]', '"requiresCompatibilities": ["EC2"]'), ('"logDriver": "awslogs"', '"logDriver": "json-file"')],
                          'task_definition.containerDefinitions[0].logConfiguration.logDriver: "json-file" is not the required value "awslogs"',
                          None),
}


@pytest.mark.parametrize("kind", sorted(VIOLATIONS))
def test_a_broken_task_definition_rule_is_refused_before_any_write(compliant, platform, aws, kind):
    edits, message, passing = VIOLATIONS[kind]
    if passing:
        compliant.edit("ecs-task-def.json.j2", *passing)
        ok = compliant.cli("render", "--image", image_ref(platform, "v1"))
        assert ok.code == 0, ok.stderr
        compliant.edit("ecs-task-def.json.j2", passing[1], passing[0])
    for old, new in edits:
        compliant.edit("ecs-task-def.json.j2", old, new)
    results, before, after = run_all(compliant, platform, aws)
    for command, result in results.items():
        assert result.code == 2, (command, result.stderr)
        assert "of the platform's deployer policy" in result.stderr, (command, result.stderr)
        assert message in result.stderr, (command, result.stderr)
        assert "nothing was changed in AWS" in result.stderr
    assert after == before


def test_cpu_memory_pair_names_the_admins_description(compliant, platform):
    for old, new in VIOLATIONS["cpu-memory"][0]:
        compliant.edit("ecs-task-def.json.j2", old, new)
    refused = compliant.cli("render", "--image", image_ref(platform, "v1"))
    assert refused.code == 2
    assert "Fargate cpu/memory pairs (CPU units → MiB)" in refused.stderr


def test_read_only_root_filesystem_the_example_app_leaves_out(app, platform, aws):
    """The example app as shipped breaks exactly this rule of the example policy."""
    results, before, after = run_all(app, platform, aws)
    for command, result in results.items():
        assert result.code == 2, (command, result.stderr)
        assert "break 1 rule of" in result.stderr
        assert "task_definition.containerDefinitions[0].readonlyRootFilesystem: is required but missing" in result.stderr
        assert "every container's root filesystem is read-only" in result.stderr
    assert after == before


def test_desired_count_over_the_maximum_flag_and_template(compliant, platform, aws):
    ok = compliant.cli("render", "--image", image_ref(platform, "v1"), "--var", "replicas=4")
    assert ok.code == 0, ok.stderr
    expected = "service.desiredCount: 6 is greater than the maximum of 4 — at most 4 tasks per service"
    results, before, after = run_all(compliant, platform, aws, "--var", "replicas=6")
    for command, result in results.items():
        assert result.code == 2, (command, result.stderr)
        assert expected in result.stderr
    assert after == before
    # The --desired-count override is what would be sent: checked too.
    deployed = compliant.cli("deploy", "--image", image_ref(platform, "v1"))
    assert deployed.code == 0, deployed.stderr
    before = ecs_state(aws, cluster(platform))
    for args in (("deploy", "--dry-run"), ("deploy",)):
        refused = compliant.cli(*args, "--image", image_ref(platform, "v2"), "--desired-count", "5")
        assert refused.code == 2, refused.stderr
        assert "service.desiredCount: 5 is greater than the maximum of 4" in refused.stderr
    assert ecs_state(aws, cluster(platform)) == before


def test_an_image_from_another_registry_is_refused(compliant, platform, aws):
    ok = compliant.cli("render", "--image", "public.ecr.aws/docker/library/busybox:1.36")
    assert ok.code == 0, ok.stderr
    results, before, after = run_all(compliant, platform, aws, image="docker.io/library/busybox:1.36")
    for command, result in results.items():
        if command == "verify":  # verify checks the image release would build: the environment's repository
            assert result.code == 0, result.stderr
            continue
        assert result.code == 2, (command, result.stderr)
        assert "task_definition.containerDefinitions[0].image: \"docker.io/library/busybox:1.36\" does not match" in result.stderr
        assert "images come from the platform's ECR registry" in result.stderr
    assert after == before


def test_every_broken_rule_is_named_at_once(app, platform, aws):
    app.edit("ecs-task-def.json.j2", '"essential": true,', '"essential": true, "privileged": true,')
    app.edit("ecs-task-def.json.j2", '"requiresCompatibilities": ["FARGATE"]', '"requiresCompatibilities": ["EC2"]')  # privileged is EC2-only
    refused = app.cli("deploy", "--image", image_ref(platform, "v1"), "--var", "replicas=9")
    assert refused.code == 2
    assert "break 3 rules of the platform's deployer policy" in refused.stderr
    for rule in ("privileged: true is not allowed", "readonlyRootFilesystem: is required", "service.desiredCount: 9"):
        assert rule in refused.stderr
    assert ecs_state(aws, cluster(platform))["service_task_definition"] is None


def test_policy_command_prints_the_policy_and_its_source(compliant, platform):
    shown = compliant.cli("policy")
    assert shown.code == 0, shown.stderr
    assert shown.stdout.startswith(f"# the deployer policy of stack {platform['stack']}, from SSM parameter {POLICY_PARAMETER}")
    assert "maximum: 4" in shown.stdout and "at most 4 tasks per service" in shown.stdout
    as_json = compliant.cli("policy", "--output", "json")
    assert as_json.code == 0
    assert as_json.json["reference"] == f"ssm:{POLICY_PARAMETER}"
    assert as_json.json["policy"] == example_policy()


@pytest.mark.parametrize("policy_ref", [""])
def test_no_output_no_guardrails(app, platform, aws):
    shown = app.cli("policy")
    assert shown.code == 0, shown.stderr
    assert shown.stdout.strip() == f"no DeployerPolicy output in stack {platform['stack']}: no guardrails"
    assert app.cli("policy", "-o", "json").json["policy"] is None
    # The example app as shipped (no readonlyRootFilesystem, 6 tasks) deploys: nothing to check against.
    deployed = app.cli("deploy", "--image", image_ref(platform, "v1"), "--var", "replicas=6")
    assert deployed.code == 0, deployed.stderr


@pytest.mark.parametrize("policy_ref", ["s3://platform-policies/deployer/policy.yaml"])
def test_policy_in_s3_as_yaml(compliant, platform, aws):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="platform-policies")
    text = (ROOT / "examples" / "platform" / "deployer-policy.yaml").read_text().replace("111111111111", LOCAL_ACCOUNT)
    s3.put_object(Bucket="platform-policies", Key="deployer/policy.yaml", Body=text.encode())
    shown = compliant.cli("policy", "-o", "json")
    assert shown.code == 0, shown.stderr
    assert shown.json["source"].startswith("s3://platform-policies/deployer/policy.yaml (from output DeployerPolicy of stack")
    refused = compliant.cli("deploy", "--image", image_ref(platform, "v1"), "--desired-count", "7")
    assert refused.code == 2
    assert "service.desiredCount: 7 is greater than the maximum of 4" in refused.stderr
    assert "s3://platform-policies/deployer/policy.yaml" in refused.stderr
    assert compliant.cli("deploy", "--image", image_ref(platform, "v1")).code == 0


INLINE = {"service": {"properties": {"desiredCount": {"maximum": 2, "description": "two tasks at most here"}}}}


@pytest.mark.parametrize("policy_ref", [compact(INLINE)])
def test_inline_policy(app, platform, aws):
    shown = app.cli("policy", "-o", "json")
    assert shown.code == 0, shown.stderr
    assert shown.json["policy"] == INLINE
    assert shown.json["source"] == "the inline JSON of stack output DeployerPolicy"
    refused = app.cli("render", "--image", image_ref(platform, "v1"), "--var", "replicas=3")
    assert refused.code == 2
    assert "service.desiredCount: 3 is greater than the maximum of 2 — two tasks at most here" in refused.stderr
    assert app.cli("deploy", "--image", image_ref(platform, "v1")).code == 0


@pytest.mark.parametrize("policy_ref", ["ssm:/platform/missing-policy"])
def test_a_policy_that_cannot_be_read_refuses_every_command(compliant, platform, aws):
    results, before, after = run_all(compliant, platform, aws)
    for command, result in results.items():
        assert result.code == 2, (command, result.stderr)
        assert "cannot read SSM parameter /platform/missing-policy" in result.stderr
        assert "deployer refuses to deploy unchecked" in result.stderr
    assert after == before
    shown = compliant.cli("policy")
    assert shown.code == 2 and "/platform/missing-policy" in shown.stderr


def test_a_policy_that_is_not_a_schema_is_refused(compliant, platform, aws):
    put_policy(aws, '{"service": {"properties": {"desiredCount": {"maximum": "four"}}}}')
    refused = compliant.cli("deploy", "--image", image_ref(platform, "v1"))
    assert refused.code == 2
    assert f"deployer policy (SSM parameter {POLICY_PARAMETER}" in refused.stderr
    assert "is not a valid JSON Schema" in refused.stderr
    assert ecs_state(aws, cluster(platform))["service_task_definition"] is None


def test_rollback_to_a_revision_that_breaks_a_newer_policy_warns(compliant, platform, aws):
    assert compliant.cli("deploy", "--image", image_ref(platform, "v1")).code == 0
    assert compliant.cli("deploy", "--image", image_ref(platform, "v2")).code == 0
    stricter = example_policy()
    stricter["task_definition"]["properties"] = {"cpu": {"const": "512", "description": "512 CPU units on this platform"}}
    put_policy(aws, compact(stricter))
    back = compliant.cli("rollback", "--yes")
    assert back.code == 0, back.stderr
    assert "web:1 breaks the deployer policy" in back.stderr
    assert 'task_definition.cpu: "256" is not the required value "512"' in back.stderr
    assert "rolling back anyway" in back.stderr
    assert ecs_state(aws, cluster(platform))["service_task_definition"].endswith("web:1")
    # A policy that cannot be read does not block the way out either.
    put_policy(aws, "{not json")
    again = compliant.cli("rollback", "--yes", "--to", "2")
    assert again.code == 0, again.stderr
    assert "rolling back without checking the guardrails" in again.stderr


@pytest.mark.parametrize("policy_ref", [f"ssm:{POLICY_PARAMETER}", "s3://platform-policies/deployer-policy.json"])
def test_the_release_role_may_read_the_policy_and_nothing_more(compliant, platform, aws, enforce, policy_ref):
    from tests.localaws.iam import ALWAYS_ALLOWED, allowed

    if policy_ref.startswith("s3://"):
        aws.client("s3").create_bucket(Bucket="platform-policies")
        aws.client("s3").put_object(Bucket="platform-policies", Key="deployer-policy.json", Body=compact(example_policy()).encode())
    printed = compliant.cli("iam-policy", "--for", "release")
    assert printed.code == 0, printed.stderr
    release = json.loads(printed.stdout)
    by_sid = {s["Sid"]: s for s in release["Statement"]}
    if policy_ref.startswith("ssm:"):
        assert by_sid["DeployerPolicy"] == {"Sid": "DeployerPolicy", "Effect": "Allow", "Action": ["ssm:GetParameter"],
                                            "Resource": f"arn:aws:ssm:us-east-1:{LOCAL_ACCOUNT}:parameter{POLICY_PARAMETER}"}
    else:
        assert by_sid["DeployerPolicy"]["Action"] == ["s3:GetObject"]
        assert by_sid["DeployerPolicy"]["Resource"] == "arn:aws:s3:::platform-policies/deployer-policy.json"
    enforce(release)
    for args in (("policy",), ("render", "--image", image_ref(platform, "v1")), ("verify",), ("deploy", "--image", image_ref(platform, "v1"))):
        result = compliant.cli(*args)
        assert result.code == 0, (args, result.stderr)
    called = aws.iam.recorded - ALWAYS_ALLOWED
    assert ("ssm:GetParameter" if policy_ref.startswith("ssm:") else "s3:GetObject") in called
    assert {a for a in called if not allowed(release, a)} == set()
    # Without the policy's read, every command refuses: the policy cannot be read, nothing is deployed unchecked.
    enforce({**release, "Statement": [s for s in release["Statement"] if s["Sid"] != "DeployerPolicy"]})
    refused = compliant.cli("deploy", "--image", image_ref(platform, "v2"))
    assert refused.code == 2, refused.stderr
    assert "deployer refuses to deploy unchecked" in refused.stderr


def test_release_is_refused_before_the_build(app, platform, aws):
    """The definitions are checked before anything is built or pushed (no Docker is needed to be refused)."""
    before = ecs_state(aws, cluster(platform))
    repository = platform["outputs"]["EcrRepositoryUri"].split("/", 1)[1]
    for args in (("release", "--dry-run"), ("release",)):
        refused = app.cli(*args)
        assert refused.code == 2, (args, refused.stderr)
        assert "readonlyRootFilesystem: is required but missing" in refused.stderr
        assert "docker" not in refused.stderr.lower() and "builder:" not in refused.stderr
    assert ecs_state(aws, cluster(platform)) == before
    assert aws.client("ecr").describe_images(repositoryName=repository)["imageDetails"] == []
