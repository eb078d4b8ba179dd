"""The one credential predicate (deployer/core/secret_names.py) and what uses it: templates, build secrets,
build args, --var. Issue 17."""

from __future__ import annotations


import pytest

from deployer.image import secrets as build_secrets
from deployer.manifest import templating
from deployer.core import secret_names
from deployer.core.errors import BadInput
from deployer.core.secret_names import (is_aws_credential, is_credential_name, looks_like_credential_value,
    looks_secret, words)


@pytest.mark.parametrize("name", [
    "NPM_TOKEN", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY", "apiKey", "GITHUB_TOKEN", "SSH_KEY", "PIP_PASSWD", "client_secret",
    "MYTOKEN", "DOCKER_AUTH_CONFIG", "CI_JOB_JWT", "STRIPE_KEY", "PRIVATE_KEY", "privateKey", "SECRET_KEY_BASE", "db_pass", "SMTP_PWD",
    "NPM_AUTH", "GOOGLE_APPLICATION_CREDENTIALS", "SYSTEM_ACCESSTOKEN", "ACTIONS_RUNTIME_TOKEN", "db-password", "MySqlPassword",
])
def test_names_that_say_secret(name):
    assert looks_secret(name) and is_credential_name(name)


@pytest.mark.parametrize("name", [
    "BASE_IMAGE", "PYTHON_VERSION", "UID", "NODE_ENV", "KEYBOARD", "MONKEY_BUSINESS", "KMS_KEY_ID", "SORT_KEY", "PUBLIC_KEY",
    "AUTH_URL", "PWD", "OLDPWD", "HOME", "STAGE", "LOG_LEVEL", "PRIVATE_SUBNETS", "KEY", "DEMO_LICENSE", "replicas", "log_level", "",
])
def test_ordinary_names(name):
    assert not looks_secret(name)


@pytest.mark.parametrize("name", ["AWS_SECRET_ACCESS_KEY", "aws_session_token", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "ACTIONS_ID_TOKEN_REQUEST_URL", "AWS_PROFILE"])
def test_aws_credentials(name):
    assert is_aws_credential(name) and is_credential_name(name)


@pytest.mark.parametrize("name", ["ACTIONS_RUNTIME_URL", "ACTIONS_CACHE_URL", "CI_JOB_JWT_V2", "GH_TOKEN"])
def test_ci_credentials_whatever_their_name_says(name):
    assert is_credential_name(name) and not is_aws_credential(name)


def test_words():
    assert words("apiKey") == ["API", "KEY"] and words("db-password.x") == ["DB", "PASSWORD", "X"]


@pytest.mark.parametrize("value", [
    "AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE", "ghp_" + "a1B2" * 9, "github_pat_11ABCDEFG0123456789_abcdefghij", "glpat-abcdefghij0123456789",
    "postgres://app:p4ssw0rd@db.internal:5432/app", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIE", "a7zBjEotaOwRt8sHPal4fwfkB6ecIEzt_hxUCs-Sq64"  # a token_urlsafe(32), fixed: xdist workers must collect the same ids,
])
def test_values_that_are_credentials(value):
    assert looks_like_credential_value(value)


@pytest.mark.parametrize("value", [
    "a" * 40, "0f1e2d3c" * 5, "ccd7f912-6e00-450c-930d-dc667c0acb66", "arn:aws:ecs:us-east-1:123456789012:service/demo/web", "sha256:" + "ab" * 32,
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:0f1e2d3c", "ThisIsAVeryLongVariableNameWithoutSecrets", "info", "",
    "https://example.com/path/to/something", "registry.example.com/busybox:1.36", None,
])
def test_values_that_are_not(value):
    assert not looks_like_credential_value(value)


def test_the_duplicates_are_one_predicate():
    for name in ("NPM_TOKEN", "KMS_KEY_ID", "AUTH_URL", "apiKey"):
        assert secret_names.looks_secret(name) == build_secrets.looks_secret(name) == looks_secret(name)
    assert templating.is_credential_variable("AWS_SESSION_TOKEN") and not templating.is_credential_variable("GITHUB_TOKEN")


# ---------------------------------------------------------------------------------------
# Templates: env()/must_env() and --var


def _functions(env_allow=None):
    return templating.TemplateFunctions(aws=None, secrets=templating.Secrets(), env_allow=env_allow)


def test_env_refuses_credential_variables_unless_allowed(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_abcdefghijklmnopqrstuvwxyz0123")
    with pytest.raises(BadInput, match=r"env\('GITHUB_TOKEN'\): a credential variable") as caught:
        _functions().env("GITHUB_TOKEN")
    assert "ghs_" not in caught.value.message + (caught.value.hint or "")
    functions = _functions(env_allow=["GITHUB_TOKEN"])
    assert functions.env("GITHUB_TOKEN") == "<secret:env:GITHUB_TOKEN>"
    assert functions.secret_refs["<secret:env:GITHUB_TOKEN>"].value == "ghs_abcdefghijklmnopqrstuvwxyz0123"
    assert functions._secrets.mask("x ghs_abcdefghijklmnopqrstuvwxyz0123") == "x ****"
    with pytest.raises(BadInput, match="AWS credential"):
        _functions(env_allow=["AWS_SECRET_ACCESS_KEY"]).env("AWS_SECRET_ACCESS_KEY")


def test_env_values_that_are_credentials_become_tokens_and_others_stay(monkeypatch):
    monkeypatch.setenv("STAGE", "blue")
    monkeypatch.setenv("LEGACY", "AKIAIOSFODNN7EXAMPLE")
    functions = _functions()
    assert functions.env("STAGE") == "blue" and functions.env("UNSET_X", "d") == "d"
    assert functions.env("LEGACY") == "<secret:env:LEGACY>"


def test_secret_vars_become_tokens():
    functions = _functions()
    out = functions.secret_vars({"db_password": "hunter2-xyz", "replicas": "3", "sha": "0f1e2d3c" * 5, "legacy": "AKIAIOSFODNN7EXAMPLE"})
    assert out == {"db_password": "<secret:var:db_password>", "replicas": "3", "sha": "0f1e2d3c" * 5, "legacy": "<secret:var:legacy>"}
    assert functions.mark_secret("<secret:var:db_password>") == "<secret:var:db_password>"  # | secret on a secret: the same token


def test_run_masks_secret_vars():
    from deployer.release.context import Options, Target

    run = Target(Options(vars={"api_token": "tok-0123456789", "log_level": "debug"}))
    assert run.secrets.mask("tok-0123456789 debug") == "**** debug"


# ---------------------------------------------------------------------------------------
# Build secrets


def _source(spec: str, origin: str = "deployer.yaml image.secrets.x"):
    kind, _, ref = spec.partition(":")
    return build_secrets.SecretSource("x", kind, ref, origin)


@pytest.mark.parametrize("spec, origin, allow, message", [
    ("env:AWS_SECRET_ACCESS_KEY", "deployer.yaml image.secrets.x", ["AWS_SECRET_ACCESS_KEY"], "is an AWS credential variable"),
    ("env:AWS_SESSION_TOKEN", "--secret", None, "is an AWS credential variable"),
    ("env:GITHUB_TOKEN", "deployer.yaml image.secrets.x", None, "GITHUB_TOKEN is a credential variable"),
    ("env:NPM_TOKEN", "deployer.yaml image.secrets.x", ["OTHER"], "NPM_TOKEN is a credential variable"),
    ("src:/proc/self/environ", "deployer.yaml image.secrets.x", None, "file /proc/self/environ is outside the app repository"),
    ("src:/proc/self/environ", "--secret", None, "is a file the kernel makes up"),
    ("src:/dev/zero", "--secret", None, "is a file the kernel makes up"),
    ("src:../x", "deployer.yaml image.secrets.x", None, "file ../x is outside the app repository"),
])
def test_build_secret_checks(tmp_path, spec, origin, allow, message):
    with pytest.raises(BadInput, match=message) as caught:
        build_secrets.check([_source(spec, origin)], root=tmp_path, repo_root=tmp_path, env_allow=allow)
    assert caught.value.exit_code == 2


def test_build_secrets_allowed(tmp_path):
    (tmp_path / "pip.conf").write_text("x")
    build_secrets.check(
        [_source("env:NPM_TOKEN"), _source("env:GITHUB_TOKEN", "--secret"), _source("src:pip.conf"), _source("env:BASE")],
        root=tmp_path, repo_root=tmp_path, env_allow=["NPM_TOKEN"],
    )


def test_a_build_secret_file_is_bounded(tmp_path):
    (tmp_path / "big").write_bytes(b"x" * (build_secrets.MAX_SECRET_BYTES + 1))
    with pytest.raises(BadInput, match="more than the 512000"):
        build_secrets.resolve([_source("src:big")], None, tmp_path, repo_root=tmp_path)
