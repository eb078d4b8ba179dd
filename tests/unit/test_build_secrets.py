"""Build secret sources (flags, deployer.yaml) and the secret-looking build-arg rule."""

from __future__ import annotations

import pytest

from deployer.image.secrets import (SecretSource, from_config, looks_secret, merge, parse_flag,
    refuse_secret_build_args, resolve)
from deployer.core.errors import BadInput


@pytest.mark.parametrize("text, expected", [
    ("id=npm,env=NPM_TOKEN", ("npm", "env", "NPM_TOKEN")),
    ("id=pip,src=~/.pip/pip.conf", ("pip", "src", "~/.pip/pip.conf")),
    ("type=file,id=pip,source=pip.conf", ("pip", "src", "pip.conf")),
    ("id=gh,ssm=/ci/github-token", ("gh", "ssm", "/ci/github-token")),
    ("id=db,secretsmanager=prod/db", ("db", "secretsmanager", "prod/db")),
    ("id=NPM_TOKEN", ("NPM_TOKEN", "env", "NPM_TOKEN")),  # BuildKit: the id names the variable
])
def test_flag_forms(text, expected):
    source = parse_flag(text)
    assert (source.id, source.kind, source.ref) == expected and source.origin == "--secret"


@pytest.mark.parametrize("text, message", [
    ("npm", "expected id=NAME,env=VAR"),
    ("id=npm,env=A,src=b", "unknown or repeated field"),
    ("id=npm,vault=x", "unknown or repeated field 'vault'"),
    ("id=bad id,env=A", "the secret id must be"),
    ("id=npm,env=", "the env source is empty"),
])
def test_bad_flags_are_bad_input(text, message):
    with pytest.raises(BadInput) as caught:
        parse_flag(text)
    assert message in caught.value.message and caught.value.exit_code == 2


def test_config_sources_and_flags_override_them():
    config = from_config({"npm": "env:NPM_TOKEN", "pip": "ssm:/ci/pip"}, "deployer.yaml")
    assert config[1] == SecretSource("pip", "ssm", "/ci/pip", "deployer.yaml image.secrets.pip")
    merged = merge(config, [parse_flag("id=pip,env=PIP_TOKEN")])
    assert [(s.id, s.kind) for s in merged] == [("npm", "env"), ("pip", "env")]
    with pytest.raises(BadInput, match="deployer.yaml image.secrets.x: 'vault:y' is not a secret source"):
        from_config({"x": "vault:y"}, "deployer.yaml")


def test_env_and_file_sources_never_copy_the_value_into_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("NPM_TOKEN", "tok-123")
    (tmp_path / "pip.conf").write_text("index-url = https://u:p@pypi.example.com\n")
    resolved = resolve([parse_flag("id=npm,env=NPM_TOKEN"), parse_flag("id=pip,src=pip.conf")], None, tmp_path)
    assert resolved.flags == ["id=npm,env=NPM_TOKEN", f"id=pip,src={tmp_path / 'pip.conf'}"]
    # the file's value, and its token that is not a key (a file secret's one token is masked alone too)
    assert resolved.env == {} and resolved.values == ["tok-123", "index-url = https://u:p@pypi.example.com", "p@pypi.example.com"]
    (tmp_path / "netrc").write_text("machine example.com\nlogin u\npassword p4ssw0rd-xyz\n")
    masked = resolve([parse_flag("id=netrc,src=netrc")], None, tmp_path).values
    # the value, each line, and each token of 8+ characters (the word `password` too: no masker knows a file's grammar)
    assert masked == ["machine example.com\nlogin u\npassword p4ssw0rd-xyz", "machine example.com", "login u", "password p4ssw0rd-xyz",
                      "example.com", "password", "p4ssw0rd-xyz"]
    with pytest.raises(BadInput, match="file nope.conf not found"):
        resolve([parse_flag("id=pip,src=nope.conf")], None, tmp_path)


@pytest.mark.parametrize("name", ["NPM_TOKEN", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY", "apiKey", "GITHUB_TOKEN", "SSH_KEY", "PIP_PASSWD", "client_secret", "MYTOKEN"])
def test_secret_looking_names(name):
    assert looks_secret(name)


@pytest.mark.parametrize("name", ["BASE_IMAGE", "PYTHON_VERSION", "UID", "NODE_ENV", "KEYBOARD", "MONKEY_BUSINESS"])
def test_ordinary_names(name):
    assert not looks_secret(name)


def test_a_secret_looking_build_arg_is_refused_without_its_value():
    with pytest.raises(BadInput) as caught:
        refuse_secret_build_args({"BASE_IMAGE": "x", "NPM_TOKEN": "tok-SECRET"}, {})
    assert caught.value.message.startswith("--build-arg NPM_TOKEN: `NPM_TOKEN` looks like a secret")
    assert "tok-SECRET" not in caught.value.message + caught.value.hint
    assert "--secret id=npm_token,env=NPM_TOKEN" in caught.value.hint
