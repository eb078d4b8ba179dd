"""Jinja rendering: StrictUndefined, file:line in every error, the DESIGN.md context."""

import pytest

from deployer import templating
from deployer.errors import BadInput

CONTEXT = {
    "app": "web",
    "environment": {"name": "prod", "outputs": {"ClusterName": "c1", "LogGroupName": "/ecs/web"}},
    "image": "repo@sha256:abc",
    "service": {"name": "web"},
    "git": {"sha": "0123456789abcdef", "short_sha": "0123456", "branch": "main"},
    "vars": {"replicas": 2},
}


def render(tmp_path, text, context=CONTEXT):
    path = tmp_path / "td.json.j2"
    path.write_text(text)
    return templating.render_file(path, tmp_path, context, templating.TemplateFunctions(aws=None, secrets=templating.Secrets()))


def test_context_values_and_tojson(tmp_path):
    out = render(tmp_path, '{"c": "{{ environment.outputs.ClusterName }}", "i": {{ image | tojson }}, "n": {{ vars.replicas }}, "s": "{{ git.short_sha }}"}')
    assert out == '{"c": "c1", "i": "repo@sha256:abc", "n": 2, "s": "0123456"}'


def test_env_and_must_env(tmp_path, monkeypatch):
    monkeypatch.setenv("STAGE", "blue")
    assert render(tmp_path, "{{ env('STAGE', 'x') }}-{{ env('NOPE', 'dflt') }}-{{ must_env('STAGE') }}") == "blue-dflt-blue"
    monkeypatch.delenv("STAGE")
    with pytest.raises(BadInput, match=r"td.json.j2:1: must_env\('STAGE'\): environment variable STAGE is not set"):
        render(tmp_path, "{{ must_env('STAGE') }}")


def test_undefined_output_names_file_line_and_known_outputs(tmp_path):
    with pytest.raises(BadInput) as caught:
        render(tmp_path, '{\n  "a": 1,\n  "b": "{{ environment.outputs.Nope }}"\n}')
    assert "td.json.j2:3: undefined name in template" in caught.value.message
    assert "Nope" in caught.value.message
    assert caught.value.hint == "environment.outputs has: ClusterName, LogGroupName"


def test_undefined_top_level_name(tmp_path):
    with pytest.raises(BadInput, match=r"td.json.j2:2: undefined name in template: 'imgae' is undefined"):
        render(tmp_path, "x\n{{ imgae }}")


def test_syntax_error_names_line(tmp_path):
    with pytest.raises(BadInput, match=r"td.json.j2:2: template syntax error"):
        render(tmp_path, "ok\n{% if %}\n")


def test_secrets_are_masked():
    secrets = templating.Secrets({"hunter2"})
    assert secrets.mask("password=hunter2;") == "password=****;"
