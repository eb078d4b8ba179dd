"""Every output path goes through the masker, and untrusted text is data (issue 17), end to end: the
real `deployer` command against the local AWS (and the Docker engine for the build).

- a failed release's diagnosis: the stopped task's reason and log lines carry the container's
  `valueFrom` secrets (SSM SecureString, a Secrets Manager JSON key) and forged deployer lines;
- `run` of a task whose secret is a binary Secrets Manager secret;
- JSON output when a SecureString's value is `true`;
- `diff` of a live revision someone registered with a plaintext DB_PASSWORD;
- a build whose RUN step prints one field of a JSON secret and one token of a file secret.
"""

from __future__ import annotations

import base64
import json
import re

from tests.conftest import image_ref
from tests.e2e.test_e2e_deploy import deploy, service

SSM_SECRET = "ssm-pw-Zq81-do-not-leak"
JSON_FIELD = "sm-json-field-Kx42-do-not-leak"
BINARY = b"\x00\x9f-bin-secret-Wm77-do-not-leak\xfe"
FORGED = "10:00:00Z web: healthy on web:2"
# What an app that wants to forge deployer's lines writes: a newline, a carriage return, ANSI escapes.
HOSTILE = f"db login failed for {SSM_SECRET} / {JSON_FIELD}\n{FORGED}\r\x1b[2K\x1b[32m✔ web: deployed\x1b[0m\u2028{FORGED}"
TIMESTAMP = re.compile(r"^\d\d:\d\d:\d\dZ ")


def forged_lines(output: str) -> list[str]:
    """Lines that read as deployer's own and say the forged words (a timestamp stripped)."""
    found = []
    for line in output.splitlines():
        body = TIMESTAMP.sub("", line)
        for cut in (body, TIMESTAMP.sub("", body)):
            if cut.startswith(("web: healthy", "✔ web: deployed", "web: deployed")):
                found.append(line)
    return found


def with_secrets(app, secrets: list[dict]) -> None:
    app.edit("ecs-task-def.json.j2", '"logConfiguration"', f'"secrets": {json.dumps(secrets)},\n      "logConfiguration"')
    app.commit("secrets")


def test_a_failed_release_diagnosis_masks_the_tasks_secrets_and_escapes_forged_lines(app, aws, platform):
    aws.client("ssm").put_parameter(Name="/demo/db-password", Value=SSM_SECRET, Type="SecureString")
    arn = aws.client("secretsmanager").create_secret(Name="demo/api", SecretString=json.dumps({"user": "svc", "key": JSON_FIELD}))["ARN"]
    with_secrets(app, [
        {"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/demo/db-password"},
        {"name": "API_KEY", "valueFrom": f"{arn}:key::"},
    ])
    assert deploy(app, platform, "v1").code == 0
    aws.mark_broken("*:broken", reason=HOSTILE)  # the stopped container's reason and its last log lines

    failed = deploy(app, platform, "broken")

    assert failed.code == 1, failed.stderr
    output = failed.stdout + failed.stderr
    for value in (SSM_SECRET, JSON_FIELD):
        assert value not in output
    assert "db login failed for **** / ****" in failed.stderr
    # The app's words are data: on one line, escaped, behind `  app| ` (the log) or inside deployer's own line (the reason).
    assert "\x1b" not in output and "\r" not in output and "\u2028" not in output
    assert forged_lines(failed.stderr) == [], failed.stderr
    assert f"app| ERROR db login failed for **** / ****\\n{FORGED}\\r\\e[2K\\e[32m✔ web: deployed\\e[0m\\u2028{FORGED}" in failed.stderr
    assert f"container app: exit code 1, db login failed for **** / ****\\n{FORGED}" in failed.stderr
    # The JSON result carries the diagnosis masked, and parses.
    diagnosis = json.dumps(failed.json)
    assert SSM_SECRET not in diagnosis and JSON_FIELD not in diagnosis


def test_run_masks_a_binary_secret_in_every_form(app, aws, platform):
    arn = aws.client("secretsmanager").create_secret(Name="demo/cert-key", SecretBinary=BINARY)["ARN"]
    with_secrets(app, [{"name": "CERT_KEY", "valueFrom": arn}])
    assert deploy(app, platform, "v1").code == 0
    text = BINARY.decode("utf-8", errors="replace")
    printable = "-bin-secret-Wm77-do-not-leak"
    b64 = base64.b64encode(BINARY).decode()

    result = app.cli("run", "--", "sh", "-c", f"echo key {printable}; echo b64 {b64}")

    assert result.code == 0, result.stderr
    output = result.stdout + result.stderr
    assert printable not in output and b64.rstrip("=") not in output and text not in output
    assert "  app| key ****" in result.stdout.splitlines()
    assert any(line.startswith("  app| b64 ****") for line in result.stdout.splitlines()), result.stdout


def test_json_output_stays_json_when_a_secret_is_true(app, aws, platform):
    aws.client("ssm").put_parameter(Name="/demo/feature-flag", Value="true", Type="SecureString")
    # The template reads the SecureString (its value joins the masker), and uses none of it.
    app.edit("ecs-task-def.json.j2", '"family"', "{% set _flag = ssm('/demo/feature-flag') %}\"family\"")
    app.commit("a secret flag")

    for args in (("deploy", "--image", image_ref(platform, "v1"), "--output", "json"), ("render", "--image", "web:test", "--output", "json"), ("status", "--output", "json")):
        result = app.cli(*args)
        assert result.code == 0, result.stderr
        parsed = json.loads(result.stdout)  # `"registered": ****` was not JSON
        assert ": ****" not in result.stdout
        if args[0] == "deploy":
            assert parsed["services"][0]["registered"] == "****"  # a non-string leaf equal to a secret: the string "****"
            assert parsed["status"] == "deployed"
    # `render` as text prints JSON too: it parses.
    text = app.cli("render", "--image", "web:test")
    assert text.code == 0 and json.loads(text.stdout)


def test_diff_masks_plaintext_secrets_of_a_live_revision_someone_else_registered(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    ecs = aws.client("ecs")
    cluster = platform["outputs"]["ClusterName"]
    live = ecs.describe_task_definition(taskDefinition=service(aws, platform)["taskDefinition"])["taskDefinition"]
    keep = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "requiresCompatibilities", "cpu", "memory")
    registered = {k: v for k, v in live.items() if k in keep}
    registered["containerDefinitions"][0]["environment"] += [
        {"name": "DB_PASSWORD", "value": "live-plain-Pw-9931-do-not-leak"},
        {"name": "STRIPE_API_KEY", "value": "sk_live_Rt55-do-not-leak"},
        {"name": "PUBLIC_URL", "value": "https://example.com/app"},
    ]
    arn = ecs.register_task_definition(**registered)["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=cluster, service="web", taskDefinition=arn)

    for args in ((), ("--output", "json")):
        result = app.cli("diff", *args)
        assert result.code == 0, result.stderr
        output = result.stdout + result.stderr
        assert "live-plain-Pw-9931-do-not-leak" not in output and "sk_live_Rt55-do-not-leak" not in output
        assert "https://example.com/app" in output  # not secret-looking: shown
        assert "values of secret-looking environment variables are masked" in result.stderr
        assert "web: app.DB_PASSWORD, app.STRIPE_API_KEY" in result.stderr
    assert json.loads(result.stdout)["services"][0]["masked_environment"] == ["app.DB_PASSWORD", "app.STRIPE_API_KEY"]
    removed = [line.replace(" ", "") for line in app.cli("diff").stdout.splitlines() if line.startswith("-")]
    assert '-"value":"****"' in removed and '-"value":"https://example.com/app"' in removed


def test_a_changed_plaintext_secret_shows_as_changed_not_as_its_value(app, aws, platform):
    app.edit("ecs-task-def.json.j2", '{ "name": "LOG_LEVEL"', '{ "name": "DB_PASSWORD", "value": "{{ vars.db_password }}" },\n        { "name": "LOG_LEVEL"')
    # A secret --var is refused in a definition unless the repository says it means it.
    app.path.joinpath("deployer.yaml").write_text(app.path.joinpath("deployer.yaml").read_text() + "allow_plaintext_secrets: true\n")
    app.commit("a plaintext password (on purpose)")
    assert deploy(app, platform, "v1", "--var", "db_password=first-Pw-1234-x").code == 0

    result = app.cli("diff", "--var", "db_password=second-Pw-5678-y")

    assert result.code == 0, result.stderr
    assert "first-Pw-1234-x" not in result.stdout + result.stderr and "second-Pw-5678-y" not in result.stdout + result.stderr
    changed = [line.replace(" ", "") for line in result.stdout.splitlines() if line.startswith(("-", "+"))]
    assert '-"value":"****"' in changed and '+"value":"****(changed)"' in changed
    assert "web: app.DB_PASSWORD" in result.stderr
