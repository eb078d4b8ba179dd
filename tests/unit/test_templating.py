"""Jinja rendering: StrictUndefined, file:line in every error, the context docs/configuration.md lists."""

import pytest

from deployer.manifest import templating
from deployer.core import secret_names
from deployer.core.errors import BadInput

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


# --- issue 11: sandbox, JSON-safe values, the env() rule, secrets, files inside the repository

import json  # noqa: E402
from pathlib import Path  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "app"


def functions(**kwargs):
    return templating.TemplateFunctions(aws=None, secrets=templating.Secrets(), **kwargs)


def test_example_templates_render_exactly_as_plain_jinja_did(tmp_path):
    """The JSON-escaping finalize changes nothing for values that need no escaping."""
    import jinja2

    context = {**CONTEXT, "service": {"name": "web", "family": "web", "container": "app", "port": 8080}, "vars": {"replicas": 2, "log_level": "info"}}
    context["environment"]["outputs"].update(TaskExecutionRoleArn="arn:aws:iam::1:role/x", TaskRoleArn="arn:aws:iam::1:role/y", LogGroupName="/ecs/web")
    for name in ("ecs-task-def.json.j2", "ecs-service-def.json.j2"):
        plain = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True).from_string((EXAMPLE / name).read_text())
        assert templating.render_file(EXAMPLE / name, EXAMPLE, context, functions()) == plain.render(**context)


def test_values_stay_inside_their_json_string(tmp_path):
    context = {**CONTEXT, "vars": {"x": 'a"}], "user": "0", "b": "\\\n'}}
    out = render(tmp_path, '{"v": "{{ vars.x }}", "j": {{ vars.x | tojson }}, "n": {{ vars.replicas | default(2) }}}', context)
    assert json.loads(out) == {"v": context["vars"]["x"], "j": context["vars"]["x"], "n": 2}


def test_tojson_inserts_structured_values(tmp_path):
    out = render(tmp_path, '{"command": {{ vars.cmd | tojson }}}', {**CONTEXT, "vars": {"cmd": ["sh", "-c", "echo \"hi\""]}})
    assert json.loads(out) == {"command": ["sh", "-c", 'echo "hi"']}


@pytest.mark.parametrize(
    "expression",
    ["cycler.__init__.__globals__.os", "env.__globals__", "env.__closure__", "joiner.__init__.__globals__", "().__class__.__base__.__subclasses__()", "lipsum.__globals__"],
)
def test_sandbox_refuses_internals(tmp_path, expression):
    with pytest.raises(BadInput, match=r"td.json.j2:1: (template error|undefined name).*(unsafe|__)"):
        render(tmp_path, "{{ " + expression + " }}")


def test_sandbox_refuses_mutation_and_huge_values(tmp_path):
    with pytest.raises(BadInput, match="td.json.j2:1: template error"):
        render(tmp_path, "{% set l = [1] %}{{ l.append(2) }}")
    with pytest.raises(BadInput, match="repeating a value"):
        render(tmp_path, "{{ 'ab' * 10**9 }}")
    with pytest.raises(BadInput, match="exponent"):
        render(tmp_path, "{{ 2 ** 100000 }}")


@pytest.mark.parametrize("name", ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE", "aws_secret_access_key"])
def test_env_refuses_credential_variables(tmp_path, monkeypatch, name):
    monkeypatch.setenv(name, "credential-value")
    for call in (f"env('{name}')", f"must_env('{name}')", f"env('{name}', 'dflt')"):
        with pytest.raises(BadInput, match="AWS credential and credential-provider variables are never readable") as caught:
            render(tmp_path, "{{ " + call + " }}")
        assert "credential-value" not in caught.value.message


def test_env_allow(tmp_path, monkeypatch):
    monkeypatch.setenv("STAGE", "blue")
    path = tmp_path / "td.json.j2"
    path.write_text("{{ env('STAGE') }}{{ env('HOME') }}")
    with pytest.raises(BadInput, match=r"env\('HOME'\): not in `env_allow` of deployer.yaml \(allowed: STAGE\)"):
        templating.render_file(path, tmp_path, CONTEXT, functions(env_allow=["STAGE"]))


def test_marked_secret_renders_as_a_token_and_is_masked(tmp_path):
    secrets = templating.Secrets()
    fns = templating.TemplateFunctions(aws=None, secrets=secrets)
    path = tmp_path / "td.json.j2"
    path.write_text('"{{ vars.pw | secret }}"')
    out = templating.render_file(path, tmp_path, {**CONTEXT, "vars": {"pw": "s3cr3t\"value"}}, fns)
    assert out == '"<secret:marked-1>"'
    assert fns.secret_refs["<secret:marked-1>"].value == 's3cr3t"value'
    assert secrets.mask('x s3cr3t\\"value y') == "x **** y"


def test_secret_looking_env_values_are_masked(tmp_path, monkeypatch):
    monkeypatch.setenv("NPM_TOKEN", "npm-abcdef123")
    secrets = templating.Secrets()
    path = tmp_path / "td.json.j2"
    path.write_text("{{ env('NPM_TOKEN') }}")
    # A credential variable is read only when env_allow names it (issue 17), and then renders as a token.
    rendered = templating.render_file(path, tmp_path, CONTEXT, templating.TemplateFunctions(aws=None, secrets=secrets, env_allow=["NPM_TOKEN"]))
    assert rendered == "<secret:env:NPM_TOKEN>"
    assert secrets.mask("token npm-abcdef123") == "token ****"


def test_masking_covers_every_encoding():
    import base64
    import urllib.parse

    value = 'pa"ss\\wörd\nline-two%'
    secrets = templating.Secrets({value})
    for form in (value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1], repr(value)[1:-1], urllib.parse.quote(value), urllib.parse.quote_plus(value), base64.b64encode(value.encode()).decode()):
        assert secrets.mask(f"<{form}>") == "<****>", form
    assert secrets.mask("line-two% alone") == "**** alone"
    assert templating.Secrets({"abc"}).mask("abc") == "abc"  # too short to mask usefully


def test_includes_stay_inside_the_repository(tmp_path):
    repo = tmp_path / "repo"
    (repo / "shared").mkdir(parents=True)
    (repo / "shared" / "env.j2").write_text('"LOG_LEVEL"')
    (tmp_path / "secret.txt").write_text("OUTSIDE")
    (repo / "link.j2").symlink_to(tmp_path / "secret.txt")
    path = repo / "td.json.j2"
    for include, ok in (("shared/env.j2", True), ("../secret.txt", False), ("/etc/passwd", False), ("link.j2", False)):
        path.write_text('{% include "' + include + '" %}')
        if ok:
            assert templating.render_file(path, repo, CONTEXT, functions(), repo_root=repo) == '"LOG_LEVEL"'
        else:
            with pytest.raises(BadInput, match=f"td.json.j2:1: include `{include}` is outside the app repository") as caught:
                templating.render_file(path, repo, CONTEXT, functions(), repo_root=repo)
            assert "OUTSIDE" not in caught.value.message and "root:" not in caught.value.message


def test_template_runtime_errors_name_the_line(tmp_path):
    with pytest.raises(BadInput, match=r"td.json.j2:2: template error: ZeroDivisionError"):
        render(tmp_path, "ok\n{{ 1 // 0 }}")
    with pytest.raises(BadInput, match=r"td.json.j2:1: template error: TypeError"):
        render(tmp_path, "{{ must_env() }}")
    with pytest.raises(BadInput, match="template recursion too deep"):
        render(tmp_path, "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")


def test_binary_templates_are_refused(tmp_path):
    path = tmp_path / "td.json.j2"
    path.write_bytes(b'{\n"a": "\xff"}')
    with pytest.raises(BadInput, match=r"td.json.j2:2: not UTF-8 text \(byte 0xff\)"):
        templating.render_file(path, tmp_path, CONTEXT, functions())
    path.write_bytes(b'{\n\n"a": "\x00"}')
    with pytest.raises(BadInput, match=r"td.json.j2:3: contains a NUL byte"):
        templating.render_file(path, tmp_path, CONTEXT, functions())


@pytest.mark.parametrize("name, secret", [("DB_PASSWORD", True), ("NPM_TOKEN", True), ("API_KEY", True), ("GITHUB_TOKEN", True), ("client_secret", True), ("LOG_LEVEL", False), ("KEYSPACE", False), ("MONKEY", False), ("AUTHOR", False)])
def test_looks_secret(name, secret):
    assert secret_names.looks_secret(name) is secret
