"""Secrets and untrusted input (issue 11), end to end: the real `deployer` against the local AWS.

Each test replays a leak or an escape that was observed, with the command quoted in the issue, and
asserts the secret is nowhere (stdout, stderr, -v, JSON, files), the template cannot escape, and AWS
is unchanged when the input is refused.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.parse

import pytest

from tests.conftest import ecs_state, git, image_ref

TD = "ecs-task-def.json.j2"
YAML = "deployer.yaml"
# Quotes, a backslash, a newline, non-ASCII, a percent: its JSON, repr and URL forms all differ from the raw one.
SECRET = 'hunter2 "pa\\ss"\nline-ü%40'
PARAM = "/demo/db-password"
PARAM_ARN = f"arn:aws:ssm:us-east-1:123456789012:parameter{PARAM}"


def encodings(value: str) -> list[str]:
    """Every form a value can take in output: raw, JSON (ASCII or not), repr, URL, base64."""
    forms = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        urllib.parse.quote(value),
        urllib.parse.quote_plus(value),
        base64.b64encode(value.encode()).decode(),
    }
    # Each line of a multi-line value on its own (a log line, a diff line).
    forms |= {line for line in value.splitlines() if len(line) >= 4}
    return sorted(forms)


def assert_nowhere(text: str, value: str = SECRET) -> None:
    for form in encodings(value):
        assert form not in text, f"secret leaked as {form!r}"


def cluster(platform) -> str:
    return platform["outputs"]["ClusterName"]


def secure_string(aws, name: str = PARAM, value: str = SECRET) -> None:
    aws.client("ssm").put_parameter(Name=name, Value=value, Type="SecureString")


def secret_in_environment(app) -> None:
    app.edit(TD, '{ "name": "LOG_LEVEL"', '{ "name": "DB_PASSWORD", "value": "{{ ssm(\'/demo/db-password\') }}" },\n        { "name": "LOG_LEVEL"')


def allow_plaintext(app) -> None:
    app.edit(YAML, "vars:\n", "allow_plaintext_secrets: true\nvars:\n")


# ---------------------------------------------------------------------------------------
# Secrets never leave as plaintext


@pytest.mark.parametrize(
    "args",
    [("render", "--output", "json"), ("deploy", "--dry-run"), ("deploy", "--dry-run", "--output", "json"), ("render", "-v"), ("diff",)],
    ids=["render json", "deploy dry-run", "deploy dry-run json", "render -v", "diff"],
)
def test_secure_string_in_plain_environment_is_refused_and_never_printed(app, aws, platform, args):
    assert app.cli("deploy", "--image", image_ref(platform, "v1")).code == 0
    secure_string(aws)
    secret_in_environment(app)
    before = ecs_state(aws, cluster(platform))
    extra = ("--image", image_ref(platform, "v2")) if args[0] in ("deploy", "render") else ()
    result = app.cli(*args, *extra)
    assert result.code == 2, result.stdout + result.stderr
    assert "container `app` variable `DB_PASSWORD`" in result.stderr
    assert f'{{"name": "DB_PASSWORD", "valueFrom": "{PARAM_ARN}"}}' in result.stderr
    assert_nowhere(result.stdout + result.stderr)
    assert ecs_state(aws, cluster(platform)) == before


@pytest.mark.parametrize("args", [("render", "--output", "json"), ("render",), ("deploy", "--dry-run"), ("deploy", "--dry-run", "--output", "json"), ("diff", "-v")])
def test_allowed_plaintext_secret_is_masked_in_every_encoding(app, aws, platform, args):
    assert app.cli("deploy", "--image", image_ref(platform, "v1")).code == 0
    secure_string(aws)
    secret_in_environment(app)
    allow_plaintext(app)
    extra = ("--image", image_ref(platform, "v2")) if args[0] in ("deploy", "render") else ()
    result = app.cli(*args, *extra)
    assert result.code == 0, result.stderr
    assert "****" in result.stdout
    assert_nowhere(result.stdout + result.stderr)


def test_allowed_plaintext_secret_deploys_and_errors_mask_it(app, aws, platform):
    secure_string(aws)
    secret_in_environment(app)
    allow_plaintext(app)
    deployed = app.cli("deploy", "--image", image_ref(platform, "v1"), "-v", "--output", "json")
    assert deployed.code == 0, deployed.stderr
    assert_nowhere(deployed.stdout + deployed.stderr)
    registered = aws.client("ecs").describe_task_definition(taskDefinition="web:1")["taskDefinition"]
    env = {e["name"]: e["value"] for e in registered["containerDefinitions"][0]["environment"]}
    assert env["DB_PASSWORD"] == SECRET  # explicitly allowed: the value does reach the task definition
    # An error message quoting the rendered value (ECS refuses the key) masks it too.
    app.edit(TD, '"essential": true,', '"essential": true, "dockerLabels": {"x": {{ ssm(\'/demo/db-password\') | tojson }}, "y": 1},')
    failed = app.cli("deploy", "--image", image_ref(platform, "v2"))
    assert failed.code == 2
    assert_nowhere(failed.stdout + failed.stderr)


def test_secret_in_an_error_message_is_masked_in_every_encoding(app, aws, platform):
    secure_string(aws)
    allow_plaintext(app)
    # The rendered JSON is broken right after the secret: the error quotes the line.
    app.edit(TD, '"cpu": "256",', '"cpu": "256", "x": "{{ ssm(\'/demo/db-password\') }}",,')
    result = app.cli("render", "--output", "json")
    assert result.code == 2
    assert "not valid JSON" in result.stderr
    assert_nowhere(result.stdout + result.stderr)


def test_marked_secret_is_masked(app, aws, platform, monkeypatch):
    app.edit(TD, '"{{ vars.log_level }}"', '"{{ env(\'DEMO_LICENSE\') | secret }}"')
    allow_plaintext(app)
    result = app.cli("render", "--image", "repo:tag", env={"DEMO_LICENSE": SECRET})
    assert result.code == 0, result.stderr
    assert '"value": "****"' in result.stdout
    assert_nowhere(result.stdout + result.stderr)


# ---------------------------------------------------------------------------------------
# init never writes a secret into a template


def test_init_writes_no_secret_looking_value(app, aws, platform, tmp_path):
    from tests.e2e.test_e2e_diff_init import create_service_with_boto3

    ecs = aws.client("ecs")
    td = create_service_with_boto3(aws, platform)
    td.pop("taskDefinitionArn")
    for key in ("revision", "status", "requiresAttributes", "compatibilities", "registeredAt", "registeredBy"):
        td.pop(key, None)
    td["containerDefinitions"][0]["environment"].append({"name": "API_TOKEN", "value": "tok-7f3a9c1e55"})
    new = ecs.register_task_definition(**td)["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=cluster(platform), service="api", taskDefinition=new)
    target = tmp_path / "adopted"
    result = app.cli("init", "--cluster", cluster(platform), "--service", "api", "--stack", platform["stack"], "--dir", str(target))
    assert result.code == 0, result.stderr
    written = "".join(p.read_text() for p in target.iterdir())
    assert "tok-7f3a9c1e55" not in written + result.stdout + result.stderr
    assert "API_TOKEN" in result.stderr and "put-parameter" in result.stderr
    template = json.loads(_strip_jinja((target / "ecs-task-def.json.j2").read_text()))
    api = template["containerDefinitions"][0]
    assert "API_TOKEN" not in {e["name"] for e in api["environment"]}
    assert {"name": "API_TOKEN", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/legacy-api/API_TOKEN"} in api["secrets"]
    for path in target.iterdir():
        assert not os.stat(path).st_mode & 0o002  # not world-writable


def _strip_jinja(text: str) -> str:
    import re

    return re.sub(r"\{\{.*?\}\}", "x", text.replace("{% raw %}", "").replace("{% endraw %}", ""))


# ---------------------------------------------------------------------------------------
# Templates are sandboxed


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("cycler.__init__.__globals__.os.popen('echo ESCAPED').read()", "unsafe"),
        ("ssm.__self__.aws.session.get_credentials().secret_key", "has no attribute '__self__'"),  # a plain function
        ("env.__globals__['os'].environ['AWS_SECRET_ACCESS_KEY']", "unsafe"),
        ("lipsum.__globals__['os'].popen('echo ESCAPED').read()", "unsafe"),
        ("env('AWS_SECRET_ACCESS_KEY')", "env('AWS_SECRET_ACCESS_KEY'): AWS credential"),
        ("must_env('AWS_SESSION_TOKEN')", "must_env('AWS_SESSION_TOKEN'): AWS credential"),
        ("env('AWS_CONTAINER_CREDENTIALS_RELATIVE_URI')", "AWS credential"),
        ("env('aws_access_key_id')", "AWS credential"),
    ],
)
def test_template_cannot_escape_or_read_credentials(app, aws, platform, expression, expected):
    app.edit(TD, '"{{ vars.log_level }}"', "{{ (" + expression + ") | tojson }}")
    result = app.cli("render", "--image", "repo:tag", env={"AWS_SESSION_TOKEN": "sess-token-1234567", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/creds/abc"})
    assert result.code == 2, result.stdout + result.stderr
    assert "ecs-task-def.json.j2:16:" in result.stderr and expected in result.stderr
    assert "ESCAPED" not in result.stdout + result.stderr
    assert "testing" not in result.stdout and "sess-token" not in result.stdout + result.stderr


def test_env_allow_list(app, aws, platform):
    app.edit(YAML, "vars:\n", "env_allow: [STAGE]\nvars:\n")
    app.edit(TD, '"{{ vars.log_level }}"', '"{{ env(\'STAGE\') }}-{{ env(\'HOME\') }}"')
    result = app.cli("render", "--image", "repo:tag", env={"STAGE": "blue"})
    assert result.code == 2
    assert "env('HOME'): not in `env_allow`" in result.stderr
    app.edit(YAML, "env_allow: [STAGE]", "env_allow: [STAGE, AWS_SECRET_ACCESS_KEY]")
    refused = app.cli("render", "--image", "repo:tag")
    assert refused.code == 2
    assert "deployer.yaml:" in refused.stderr and "`env_allow` AWS_SECRET_ACCESS_KEY: an AWS credential variable" in refused.stderr


def test_var_cannot_rewrite_the_task_definition(app, aws, platform):
    assert app.cli("deploy", "--image", image_ref(platform, "v1")).code == 0
    attack = 'x"}], "user": "0", "command": ["sh", "-c", "id"], "environment": [{"name": "A", "value": "b'
    result = app.cli("deploy", "--image", image_ref(platform, "v2"), "--var", f"log_level={attack}", "--output", "json")
    assert result.code == 0, result.stderr
    registered = aws.client("ecs").describe_task_definition(taskDefinition="web:2")["taskDefinition"]["containerDefinitions"][0]
    assert "user" not in registered and "command" not in registered
    env = {e["name"]: e["value"] for e in registered["environment"]}
    assert env["LOG_LEVEL"] == attack


def test_branch_name_stays_one_argument(app, aws, platform):
    branch = 'x","-h","/etc'
    git(app.path, "checkout", "-q", "-b", branch)
    app.edit(TD, '"essential": true,', '"essential": true, "command": ["serve", "--branch", "{{ git.branch }}"],')
    result = app.cli("render", "--image", "repo:tag", "--output", "json")
    assert result.code == 0, result.stderr
    [container] = result.json["web"]["taskDefinition"]["containerDefinitions"]
    assert container["command"] == ["serve", "--branch", branch]


def test_structured_values_with_tojson_render_as_before(app, aws, platform):
    app.edit(YAML, "  log_level: info", '  log_level: info\n  command: ["serve", "--port", "8080"]')
    app.edit(TD, '"essential": true,', '"essential": true, "command": {{ vars.command | tojson }},')
    result = app.cli("render", "--image", "repo:tag", "--output", "json")
    assert result.code == 0, result.stderr
    assert result.json["web"]["taskDefinition"]["containerDefinitions"][0]["command"] == ["serve", "--port", "8080"]


# ---------------------------------------------------------------------------------------
# Files stay inside the app repository


def _outside_cases(app, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "td.json").write_text('{"family": "web", "OUTSIDE-CONTENT": 1}')
    (outside / "Dockerfile").write_text("FROM scratch\n# OUTSIDE-CONTENT\n")
    os.symlink(outside / "td.json", app.path / "linked.json")
    return outside


@pytest.mark.parametrize(
    "edit, expected",
    [
        ((YAML, "task_definition: ecs-task-def.json.j2", "task_definition: /etc/passwd"), "deployer.yaml:17: `task_definition` /etc/passwd is outside the app repository"),
        ((YAML, "task_definition: ecs-task-def.json.j2", "task_definition: /proc/self/environ"), "is outside the app repository"),
        ((YAML, "task_definition: ecs-task-def.json.j2", "task_definition: ../outside/td.json"), "`task_definition` ../outside/td.json is outside the app repository"),
        ((YAML, "task_definition: ecs-task-def.json.j2", "task_definition: linked.json"), "`task_definition` linked.json is outside the app repository (a symlink to"),
        ((YAML, "  definition: ecs-service-def.json.j2", "  definition: ../outside/td.json"), "`service.definition` ../outside/td.json is outside the app repository"),
        ((YAML, "  context: .", "  context: .."), "`image.context` .. is outside the app repository"),
        ((YAML, "  dockerfile: Dockerfile", "  dockerfile: ../outside/Dockerfile"), "`image.dockerfile` ../outside/Dockerfile is outside the app repository"),
        ((YAML, "  dockerfile: Dockerfile", "  dockerfile: /etc/passwd"), "`image.dockerfile` /etc/passwd is outside the app repository"),
        ((TD, '"cpu": "256",', '"cpu": "256", {% include "../outside/td.json" %}'), "ecs-task-def.json.j2:5: include `../outside/td.json` is outside the app repository"),
        ((TD, '"cpu": "256",', '"cpu": "256", {% include "/etc/passwd" %}'), "ecs-task-def.json.j2:5: include `/etc/passwd` is outside the app repository"),
        ((TD, '"cpu": "256",', '"cpu": "256", {% include "linked.json" %}'), "ecs-task-def.json.j2:5: include `linked.json` is outside the app repository"),
    ],
    ids=["abs passwd", "proc environ", "dotdot", "symlink", "service dotdot", "context", "dockerfile dotdot", "dockerfile abs", "include dotdot", "include abs", "include symlink"],
)
def test_files_outside_the_repository_are_refused_without_quoting_them(app, aws, platform, tmp_path, edit, expected):
    assert app.cli("deploy", "--image", image_ref(platform, "v1")).code == 0
    _outside_cases(app, tmp_path)
    app.edit(*edit)
    before = ecs_state(aws, cluster(platform))
    result = app.cli("deploy", "--image", image_ref(platform, "v2"), env={"AWS_SESSION_TOKEN": "sess-token-1234567"})
    assert result.code == 2, result.stdout + result.stderr
    assert expected in result.stderr
    out = result.stdout + result.stderr
    assert "OUTSIDE-CONTENT" not in out and "root:" not in out and "sess-token" not in out
    assert ecs_state(aws, cluster(platform)) == before


# ---------------------------------------------------------------------------------------
# Least privilege that works: the local AWS checks every request against the printed policy
# (tests/localaws/iam.py: actions, with the ones a request implies, such as iam:PassRole).


def policy_for(app, use: str) -> dict:
    result = app.cli("iam-policy", "--for", use)
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def policy_actions(policy: dict) -> set[str]:
    return {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def without(policy: dict, action: str) -> dict:
    statements = []
    for s in policy["Statement"]:
        actions = [a for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]) if a != action]
        if actions:
            statements.append({**s, "Action": actions})
    return {**policy, "Statement": statements}


def assert_within(aws, policy: dict) -> set[str]:
    from tests.localaws.iam import ALWAYS_ALLOWED, allowed

    called = aws.iam.recorded - ALWAYS_ALLOWED
    assert called, "nothing recorded: the check would prove nothing"
    assert {a for a in called if not allowed(policy, a)} == set()
    return called


def deploy_three(app, platform):
    for tag in ("v1", "v2", "v3"):
        assert app.cli("deploy", "--image", image_ref(platform, tag)).code == 0


def test_release_policy_runs_the_release_commands_and_nothing_else(app, aws, platform, enforce):
    release = policy_for(app, "release")
    assert "ecs:DeregisterTaskDefinition" not in policy_actions(release)
    assert {"ssm:PutParameter", "ssm:GetParametersByPath", "ssm:DeleteParameter", "ecs:ListServiceDeployments", "ecs:DescribeServiceDeployments",
            "ecs:DescribeServiceRevisions", "ecs:StopServiceDeployment", "cloudwatch:DescribeAlarms", "iam:PassRole"} <= policy_actions(release)
    enforce(release)
    for args in (("deploy", "--image", image_ref(platform, "v1")), ("deploy", "--image", image_ref(platform, "v2")), ("diff",), ("status",),
                 ("revisions",), ("verify",), ("rollback", "--yes"), ("render", "--image", "r:t"), ("env",), ("deploy", "--image", image_ref(platform, "v3"), "--dry-run"),
                 ("deploy", "--image", image_ref(platform, "v3")), ("deploy", "--image", image_ref(platform, "v4"))):
        result = app.cli(*args)
        assert result.code == 0, (args, result.stderr)
    called = assert_within(aws, release)
    assert {"ecs:RegisterTaskDefinition", "ecs:UpdateService", "ecs:CreateService", "iam:PassRole", "iam:GetRole"} <= called
    # The release role cannot prune or run tasks: a clear refusal, nothing deregistered, no task started.
    before = ecs_state(aws, cluster(platform))
    pruned = app.cli("revisions", "--prune", "--keep", "1", "--yes")
    assert pruned.code == 3, pruned.stderr
    # Refused at its first prune-only call: the cluster-wide look at which revisions are in use.
    assert "not authorized to perform: ecs:ListServices" in pruned.stderr, pruned.stderr
    ran = app.cli("run", "--", "echo", "hi")
    assert ran.code == 3 and "not authorized to perform: ecs:RunTask" in ran.stderr, ran.stderr
    assert ecs_state(aws, cluster(platform)) == before and aws.state()["tasks"] == []


def test_release_policy_reads_the_build_secrets_from_ssm_and_secrets_manager(app, aws, platform):
    """image.secrets read at build time: the release role may read exactly those, decrypted through SSM."""
    app.edit("deployer.yaml", "image:\n", "image:\n  secrets: {npm: 'ssm:/build/npm-token', gh: 'secretsmanager:gh-token', local: 'env:HOME_TOKEN'}\n")
    by_sid = {s["Sid"]: s for s in policy_for(app, "release")["Statement"]}
    assert by_sid["BuildSecretParameters"]["Action"] == ["ssm:GetParameter"]
    assert by_sid["BuildSecretParameters"]["Resource"] == ["arn:aws:ssm:us-east-1:123456789012:parameter/build/npm-token"]
    assert by_sid["BuildSecretsManager"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert by_sid["BuildSecretsManager"]["Resource"] == ["arn:aws:secretsmanager:us-east-1:123456789012:secret:gh-token-*"]
    assert by_sid["DecryptSecureStrings"]["Condition"] == {"StringEquals": {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}}
    # The other uses never read build secrets.
    assert not {"BuildSecretParameters", "BuildSecretsManager"} & {s["Sid"] for s in policy_for(app, "run")["Statement"]}


def test_prune_policy_prunes_and_cannot_deploy(app, aws, platform, enforce):
    deploy_three(app, platform)
    prune = policy_for(app, "prune")
    assert "ecs:RegisterTaskDefinition" not in policy_actions(prune)
    enforce(prune)
    result = app.cli("revisions", "--prune", "--keep", "1", "--yes", "--output", "json")
    assert result.code == 0, result.stderr
    assert result.json["services"][0]["deregistered"], result.stdout
    assert_within(aws, prune)
    before = ecs_state(aws, cluster(platform))
    refused = app.cli("deploy", "--image", image_ref(platform, "v4"))
    # Refused at the pre-flight reads (exit 2) or at the first write (exit 3), naming the action.
    assert refused.code in (2, 3) and "not authorized to perform: ecs:" in refused.stderr, refused.stderr
    assert ecs_state(aws, cluster(platform)) == before


def test_run_policy_runs_a_task_and_cannot_deploy(app, aws, platform, enforce):
    assert app.cli("deploy", "--image", image_ref(platform, "v1")).code == 0
    run = policy_for(app, "run")
    enforce(run)
    result = app.cli("run", "--", "echo", "migrated")
    assert result.code == 0, result.stderr
    assert "migrated" in result.stdout + result.stderr
    called = assert_within(aws, run)
    assert {"ecs:RunTask", "iam:PassRole", "ecs:DescribeTasks"} <= called
    before = ecs_state(aws, cluster(platform))
    refused = app.cli("deploy", "--image", image_ref(platform, "v2"))
    # Refused at the service's lease (ssm) or at the first ECS write, naming the action.
    assert refused.code in (2, 3) and "not authorized to perform: " in refused.stderr, refused.stderr
    assert ecs_state(aws, cluster(platform)) == before


def test_each_action_a_deploy_calls_is_needed(app, aws, platform, enforce):
    """Take away any one action the deploy called: it fails (or warns) naming that action."""
    from tests.localaws.iam import ALWAYS_ALLOWED

    release = policy_for(app, "release")
    enforce(release)
    assert app.cli("deploy", "--image", image_ref(platform, "v1")).code == 0
    enforce(release)
    assert app.cli("deploy", "--image", image_ref(platform, "v2")).code == 0
    needed = sorted(aws.iam.recorded - ALWAYS_ALLOWED)
    for tag, action in enumerate(needed, start=3):
        enforce(without(release, action))
        result = app.cli("deploy", "--image", image_ref(platform, f"v{tag}"))
        assert f"not authorized to perform: {action}" in result.stderr, (action, result.code, result.stderr)
        assert "Traceback" not in result.stderr
