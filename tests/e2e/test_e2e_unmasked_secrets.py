"""The task's own secrets that deployer cannot read to mask (the role lacks the masking statement, KMS
refuses, the secret was deleted): `logs` and `run` print one warning on stderr before the first line,
naming them and saying their values are NOT masked, with the statement that fixes it; the JSON result
lists them; the exit code is unchanged. A failed release's diagnosis does not warn (the release role has
no GetSecretValue by design).
Run against the local AWS with its IAM simulation (tests/localaws/iam.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import image_ref
from tests.e2e.test_e2e_everyday import SECRET, deploy, running_tasks, with_secret, write_app_lines
from tests.e2e.test_e2e_iam_operate import policy_for_operate, without_statement

PARAMETER_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/demo/db-password"


def policy_for(app, use: str) -> dict:
    result = app.cli("iam-policy", "--for", use)
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def warnings_about_masking(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "NOT masked" in line]


def merged_output(app, *args: str) -> tuple[int, str]:
    """The command with stderr and stdout in one stream, in the order they were written."""
    env = app.environ()
    proc = subprocess.run([sys.executable, "-m", "deployer", *args], cwd=app.path, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=180)
    return proc.returncode, proc.stdout


def the_task_says_its_secret(app, aws, platform) -> str:
    with_secret(app, aws)
    deploy(app, platform, "v1")
    task_id = running_tasks(aws, platform)[0]["taskArn"].rsplit("/", 1)[-1]
    write_app_lines(aws, platform, task_id, [f"connecting with {SECRET}", "connected"])
    return task_id


# ---- deployer logs ----------------------------------------------------------------------------


def test_logs_without_the_masking_statement_warns_once_before_the_first_line_naming_the_secret(app, aws, platform, enforce):
    task_id = the_task_says_its_secret(app, aws, platform)
    policy, _ = policy_for_operate(app)
    enforce(without_statement(policy, "MaskTaskSecrets"))

    code, output = merged_output(app, "logs", "--since", "5m")

    assert code == 0, output
    [warning] = warnings_about_masking(output)
    assert "WARNING: could not read the task's secret to mask it: " in warning, warning
    assert f"DB_PASSWORD of container app ({PARAMETER_ARN}: access denied)" in warning
    assert "its value is NOT masked in the lines below" in warning
    assert "give the role the statement MaskTaskSecrets (ssm:GetParameter) of `deployer iam-policy --for operate`" in warning
    lines = output.splitlines()
    first_line = next(i for i, line in enumerate(lines) if f"{task_id[:8]}/app| " in line)
    assert lines.index(warning) < first_line
    # Said, not hidden: the line is printed as the app wrote it.
    assert f"{task_id[:8]}/app| connecting with {SECRET}" in output

    as_json = app.cli("logs", "--since", "5m", "--output", "json")
    assert as_json.code == 0, as_json.stderr
    assert as_json.json["unmasked_secrets"] == [{"name": "DB_PASSWORD", "container": "app", "value_from": PARAMETER_ARN, "reason": "access denied"}]
    assert len(warnings_about_masking(as_json.stderr)) == 1


def test_logs_under_the_operate_policy_masks_and_does_not_warn(app, aws, platform, enforce):
    task_id = the_task_says_its_secret(app, aws, platform)
    policy, _ = policy_for_operate(app)
    enforce(policy)

    result = app.cli("logs", "--since", "5m")
    as_json = app.cli("logs", "--since", "5m", "--output", "json")

    assert result.code == 0 and as_json.code == 0, result.stderr + as_json.stderr
    assert f"{task_id[:8]}/app| connecting with ****" in result.stdout
    assert SECRET not in result.stdout + result.stderr + as_json.stdout + as_json.stderr
    assert warnings_about_masking(result.stderr + as_json.stderr) == []
    assert as_json.json["unmasked_secrets"] == []


def test_logs_when_kms_refuses_names_the_decrypt_statement(app, aws, platform, enforce):
    the_task_says_its_secret(app, aws, platform)
    policy, _ = policy_for_operate(app)
    enforce(without_statement(policy, "DecryptSecureStrings"))

    result = app.cli("logs", "--since", "5m")

    assert result.code == 0, result.stderr
    [warning] = warnings_about_masking(result.stderr)
    assert f"DB_PASSWORD of container app ({PARAMETER_ARN}: KMS refused to decrypt it)" in warning
    assert "DecryptSecureStrings (kms:Decrypt via SSM) of `deployer iam-policy --for operate`" in warning


def test_logs_of_a_task_whose_secret_was_deleted_says_it_cannot_be_masked(app, aws, platform):
    task_id = the_task_says_its_secret(app, aws, platform)
    aws.client("ssm").delete_parameter(Name="/demo/db-password")

    result = app.cli("logs", "--since", "5m", "--output", "json")

    assert result.code == 0, result.stderr
    [warning] = warnings_about_masking(result.stderr)
    assert f"DB_PASSWORD of container app ({PARAMETER_ARN}: not found (deleted?))" in warning
    assert "deleted since the task started" in warning and "iam-policy" not in warning
    assert result.json["unmasked_secrets"][0]["reason"] == "not found (deleted?)"
    assert any(e["task"] == task_id and e["message"] == f"connecting with {SECRET}" for e in result.json["events"])


# ---- deployer run -----------------------------------------------------------------------------


def test_run_without_the_masking_statement_warns_and_keeps_the_commands_exit_code(app, aws, platform, enforce):
    with_secret(app, aws)
    deploy(app, platform, "v1")
    policy = policy_for(app, "run")
    enforce(without_statement(policy, "MaskTaskSecrets"))

    code, output = merged_output(app, "run", "--", "sh", "-c", "echo connecting with $DB_PASSWORD; exit 3")

    assert code == 3, output
    [warning] = warnings_about_masking(output)
    assert f"DB_PASSWORD of container app ({PARAMETER_ARN}: access denied)" in warning
    assert "give the role the statement MaskTaskSecrets (ssm:GetParameter) of `deployer iam-policy --for run`" in warning
    lines = output.splitlines()
    assert lines.index(warning) < lines.index(f"  app| connecting with {SECRET}")

    as_json = app.cli("run", "--output", "json", "--", "sh", "-c", "echo connecting with $DB_PASSWORD")
    assert as_json.code == 0, as_json.stderr
    assert as_json.json["unmasked_secrets"] == [{"name": "DB_PASSWORD", "container": "app", "value_from": PARAMETER_ARN, "reason": "access denied"}]


def test_run_under_the_run_policy_masks_and_does_not_warn(app, aws, platform, enforce):
    with_secret(app, aws)
    deploy(app, platform, "v1")
    enforce(policy_for(app, "run"))

    result = app.cli("run", "--output", "json", "--", "sh", "-c", "echo connecting with $DB_PASSWORD")

    assert result.code == 0, result.stderr
    assert "connecting with ****" in result.json["logs"]
    assert SECRET not in result.stdout + result.stderr
    assert warnings_about_masking(result.stderr) == [] and result.json["unmasked_secrets"] == []


# ---- a release's diagnosis --------------------------------------------------------------------


def test_a_failed_release_under_the_release_role_diagnoses_without_the_warning(app, aws, platform, enforce):
    """The release role cannot read a Secrets Manager container secret (no GetSecretValue by design):
    the diagnosis is printed as before, and no masking warning is added to it."""
    arn = aws.client("secretsmanager").create_secret(Name="demo/api", SecretString="api-key-value")["ARN"]
    app.edit("ecs-task-def.json.j2", '"logConfiguration"', f'"secrets": [{{"name": "API_KEY", "valueFrom": "{arn}"}}],\n      "logConfiguration"')
    app.commit("secret")
    deploy(app, platform, "v1")
    aws.mark_broken("*:broken", reason="panic: cannot connect to database")
    release = policy_for(app, "release")
    assert "secretsmanager:GetSecretValue" not in {a for s in release["Statement"] for a in s["Action"]}
    enforce(release)

    failed = app.cli("deploy", "--image", image_ref(platform, "broken"))

    assert failed.code == 1, failed.stderr
    assert "container app: exit code 1" in failed.stderr and "panic: cannot connect to database" in failed.stderr
    assert warnings_about_masking(failed.stderr) == [] and "could not read the task's secret" not in failed.stderr
