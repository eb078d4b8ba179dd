"""The secrets deployer cannot read to mask (release/secret_values.py): which, why, and the one warning
`logs` and `run` print about them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from deployer.core.secrets import Secrets
from deployer.release.secret_values import Unread, learn_container_secrets, unmasked_warning

SSM_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/demo/db-password"
SM_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:demo/api-AbCdEf"
DENIED = "User: arn:aws:sts::123456789012:assumed-role/oncall/s is not authorized to perform: {action} on resource: x"


def refusal(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)


class FakeStores:
    """aws.client("ssm" | "secretsmanager"): answers from `values`, refuses with `refused[name]`."""

    def __init__(self, values: dict, refused: dict):
        self.values, self.refused = values, refused

    def client(self, service, **_kwargs):
        return self

    def get_parameter(self, Name, WithDecryption):  # noqa: N803 - boto3's names
        return {"Parameter": {"Value": self._answer(Name)}}

    def get_secret_value(self, SecretId, **_kwargs):  # noqa: N803
        return {"SecretString": self._answer(SecretId)}

    def _answer(self, name):
        if name in self.refused:
            raise self.refused[name]
        if name not in self.values:
            code = "ResourceNotFoundException" if ":secretsmanager:" in name else "ParameterNotFound"
            raise refusal(code, "not found", "Get")
        return self.values[name]


def fake_run(values: dict, refused: dict) -> SimpleNamespace:
    console = SimpleNamespace(debugged=[])
    console.debug = console.debugged.append
    console.quote = str
    return SimpleNamespace(aws=FakeStores(values, refused), secrets=Secrets(), console=console)


def containers(*secrets: tuple[str, str]) -> list[dict]:
    return [{"name": "app", "secrets": [{"name": name, "valueFrom": ref} for name, ref in secrets]}]


def test_a_secret_the_role_cannot_read_is_returned_with_why_and_the_others_are_still_masked():
    run = fake_run({SM_ARN: "api-key-value"}, {"/demo/db-password": refusal("AccessDeniedException", DENIED.format(action="ssm:GetParameter"), "GetParameter")})
    unread = learn_container_secrets(run, containers(("DB_PASSWORD", SSM_ARN), ("API_KEY", SM_ARN)))
    assert unread == [Unread("DB_PASSWORD", "app", SSM_ARN, "access denied")]
    assert run.secrets.mask("key api-key-value") == "key ****"
    assert run.console.debugged and "DB_PASSWORD" in run.console.debugged[0]


@pytest.mark.parametrize(("error", "reason"), [
    (refusal("AccessDeniedException", DENIED.format(action="kms:Decrypt"), "GetParameter"), "KMS refused to decrypt it"),
    (refusal("AccessDeniedException", "Access to KMS is not allowed", "GetSecretValue"), "KMS refused to decrypt it"),
    (refusal("AccessDeniedException", DENIED.format(action="secretsmanager:GetSecretValue"), "GetSecretValue"), "access denied"),
    (refusal("ThrottlingException", "Rate exceeded", "GetParameter"), "ThrottlingException"),
])
def test_why_a_secret_could_not_be_read(error, reason):
    run = fake_run({}, {"/demo/db-password": error, SM_ARN: error})
    assert [u.reason for u in learn_container_secrets(run, containers(("A", SSM_ARN), ("B", SM_ARN)))] == [reason, reason]


def test_a_deleted_secret_is_unread_not_an_empty_value():
    run = fake_run({}, {})
    assert learn_container_secrets(run, containers(("DB_PASSWORD", SSM_ARN), ("API_KEY", f"{SM_ARN}:key::"))) == [
        Unread("DB_PASSWORD", "app", SSM_ARN, "not found (deleted?)"), Unread("API_KEY", "app", f"{SM_ARN}:key::", "not found (deleted?)")]


def test_everything_read_means_no_warning():
    run = fake_run({"/demo/db-password": "pw-value"}, {})
    assert learn_container_secrets(run, containers(("DB_PASSWORD", SSM_ARN))) == []
    assert unmasked_warning([], use="operate") is None


def test_the_warning_names_the_secret_says_not_masked_and_the_statement_of_the_use():
    one = unmasked_warning([Unread("DB_PASSWORD", "app", SSM_ARN, "access denied")], use="operate")
    assert one == (f"could not read the task's secret to mask it: DB_PASSWORD of container app ({SSM_ARN}: access denied) — its value is NOT "
                   "masked in the lines below; to mask it, give the role the statement MaskTaskSecrets (ssm:GetParameter) of `deployer iam-policy --for operate`")
    two = unmasked_warning([Unread("DB_PASSWORD", "app", SSM_ARN, "KMS refused to decrypt it"), Unread("API_KEY", "app", SM_ARN, "access denied")], use="run")
    assert "could not read the task's 2 secrets to mask them: DB_PASSWORD of container app" in two and "API_KEY of container app" in two
    assert "their values are NOT masked in the lines below" in two
    assert ("give the role the statements MaskTaskSecrets (ssm:GetParameter) and DecryptSecureStrings (kms:Decrypt via SSM) and "
            "MaskTaskSecretsManager (secretsmanager:GetSecretValue) of `deployer iam-policy --for run`") in two


def test_a_deleted_secret_is_not_fixed_by_a_statement():
    text = unmasked_warning([Unread("DB_PASSWORD", "app", SSM_ARN, "not found (deleted?)")], use="operate")
    assert "NOT masked" in text and "iam-policy" not in text and "deleted since the task started" in text


def test_a_secrets_manager_secret_kms_refuses_points_at_its_key_not_at_a_statement():
    text = unmasked_warning([Unread("API_KEY", "app", SM_ARN, "KMS refused to decrypt it")], use="operate")
    assert "NOT masked" in text and "MaskTaskSecretsManager" not in text
    assert "needs kms:Decrypt on that key" in text


def test_names_from_the_task_definition_cannot_start_a_line_or_colour_the_terminal():
    forged = "DB\n12:00:00Z web: healthy on web:9\x1b[2J"
    text = unmasked_warning([Unread(forged, "app\r", SSM_ARN + "\u202e", "access denied")], use="operate")
    assert "\n" not in text and "\r" not in text and "\x1b" not in text and "\u202e" not in text
    assert "DB\\n12:00:00Z web: healthy on web:9\\e[2J of container app\\r" in text


def test_an_error_code_from_aws_as_the_reason_cannot_start_a_line_either():
    text = unmasked_warning([Unread("DB", "app", SSM_ARN, "Throttled\n12:00:00Z web: healthy\x1b[32m")], use="operate")
    assert "\n" not in text and "\x1b" not in text
    assert f"({SSM_ARN}: Throttled\\n12:00:00Z web: healthy\\e[32m)" in text
