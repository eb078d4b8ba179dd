"""Parameters and secrets: SSM Parameter Store and Secrets Manager, read only.

Each reader returns plain data, or None when the parameter or secret does not exist; any other
refusal is an ExternalError that says what the tool was doing (InvalidName when AWS says the
name itself is not valid).
"""

from __future__ import annotations

from ..core.errors import ExternalError
from .session import error_code, translate_errors

MISSING_CODES = ("ParameterNotFound", "ResourceNotFoundException")


class InvalidName(ExternalError):
    """AWS refused the name itself (ValidationException)."""


def _read(aws_call, doing: str):
    try:
        with translate_errors(doing):
            return aws_call()
    except ExternalError as exc:
        code = error_code(exc.__cause__)
        if code in MISSING_CODES:
            return None
        if code == "ValidationException":
            raise InvalidName(exc.message, hint=exc.hint) from exc.__cause__
        raise


def parameter(aws, name: str, *, doing: str, attempts: int | None = None) -> dict | None:
    """The SSM parameter, decrypted (Name, Type, Value, ARN...), or None when there is none."""
    return _read(lambda: aws.client("ssm", attempts=attempts).get_parameter(Name=name, WithDecryption=True)["Parameter"], doing)


def secret_arn(aws, secret_id: str, *, doing: str) -> str | None:
    """The ARN of a Secrets Manager secret (DescribeSecret: the value is not read), or None when there is none."""
    return _read(lambda: aws.client("secretsmanager").describe_secret(SecretId=secret_id)["ARN"], doing)


def secret_value(aws, secret_id: str, *, doing: str, attempts: int | None = None) -> str | None:
    """A Secrets Manager secret's value (SecretString, else SecretBinary as UTF-8), or None when there is none."""
    found = _read(lambda: aws.client("secretsmanager", attempts=attempts).get_secret_value(SecretId=secret_id), doing)
    if found is None:
        return None
    if "SecretString" in found:
        return found["SecretString"]
    return found["SecretBinary"].decode("utf-8", errors="replace")
