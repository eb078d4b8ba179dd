"""Parameters and secrets: SSM Parameter Store and Secrets Manager (and the plain String
parameters the release lease is kept in).

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


def parameter_text(aws, name: str, *, doing: str) -> str | None:
    """The value of an SSM parameter (GetParameter WithDecryption), or None when there is none."""
    found = parameter(aws, name, doing=doing)
    return None if found is None else found.get("Value", "")


def s3_object(aws, bucket: str, key: str, *, doing: str, max_bytes: int) -> bytes | None:
    """An S3 object's bytes (GetObject, at most max_bytes + 1 read), or None when the bucket or key does not exist."""
    def get():
        body = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
        try:
            return body.read(max_bytes + 1)
        finally:
            body.close()

    try:
        with translate_errors(doing):
            return get()
    except ExternalError as exc:
        if error_code(exc.__cause__) in ("NoSuchKey", "NoSuchBucket", "404"):
            return None
        raise


def secret_arn(aws, secret_id: str, *, doing: str) -> str | None:
    """The ARN of a Secrets Manager secret (DescribeSecret: the value is not read), or None when there is none."""
    return _read(lambda: aws.client("secretsmanager").describe_secret(SecretId=secret_id)["ARN"], doing)


def secret(aws, secret_id: str, *, doing: str, stage: str | None = None, version: str | None = None, attempts: int | None = None) -> dict | None:
    """GetSecretValue as AWS answers it (SecretString or SecretBinary, at a version stage or id), or None when there is none."""
    kwargs = {"SecretId": secret_id, **({"VersionStage": stage} if stage else {}), **({"VersionId": version} if version else {})}
    return _read(lambda: aws.client("secretsmanager", attempts=attempts).get_secret_value(**kwargs), doing)


def secret_value(aws, secret_id: str, *, doing: str, attempts: int | None = None) -> str | None:
    """A Secrets Manager secret's value (SecretString, else SecretBinary as UTF-8), or None when there is none."""
    found = _read(lambda: aws.client("secretsmanager", attempts=attempts).get_secret_value(SecretId=secret_id), doing)
    if found is None:
        return None
    if "SecretString" in found:
        return found["SecretString"]
    return found["SecretBinary"].decode("utf-8", errors="replace")


# ---- String parameters a release writes (the lease) ------------------------------------------------
def _ssm(aws, attempts: int | None, timeout: float | None):
    if attempts:
        return aws.client("ssm", attempts=attempts, timeout=timeout)
    return aws.client("ssm")


def parameters_under(aws, path: str, *, doing: str, attempts: int | None = None, timeout: float | None = None) -> list[dict]:
    """The parameters directly under path (GetParametersByPath, all pages): Name, Value, Version,
    LastModifiedDate, and ServerDate — the Date header of the answer that carried it (SSM's clock)."""
    found = []
    with translate_errors(doing):
        for page in _ssm(aws, attempts, timeout).get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=False):
            server_date = ((page.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}).get("date")
            found += [{**p, "ServerDate": server_date} for p in page.get("Parameters", [])]
    return found


def create_parameter(aws, name: str, value: str, *, doing: str, attempts: int | None = None, timeout: float | None = None) -> bool:
    """PutParameter without overwrite: False when the name exists already."""
    with translate_errors(doing):
        try:
            _ssm(aws, attempts, timeout).put_parameter(Name=name, Value=value, Type="String", Overwrite=False)
        except Exception as exc:
            if error_code(exc) == "ParameterAlreadyExists":
                return False
            raise
    return True


def overwrite_parameter(aws, name: str, value: str, *, doing: str, attempts: int | None = None, timeout: float | None = None) -> None:
    with translate_errors(doing):
        _ssm(aws, attempts, timeout).put_parameter(Name=name, Value=value, Type="String", Overwrite=True)


def delete_parameter(aws, name: str, *, doing: str, attempts: int | None = None, timeout: float | None = None) -> None:
    """DeleteParameter; one that is gone already is no error."""
    with translate_errors(doing):
        try:
            _ssm(aws, attempts, timeout).delete_parameter(Name=name)
        except Exception as exc:
            if error_code(exc) != "ParameterNotFound":
                raise
