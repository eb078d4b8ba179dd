"""Issue 17, the pure parts: what rendering may read (open_inside, the Jsonnet import callback), the
renderer child (budget, environment), and ECS's limits, NaN and duplicate keys in definitions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from deployer.manifest import definitions, files, jsonnet, sandbox, templating
from deployer.manifest import files as files_
from deployer.core.errors import BadInput
from deployer.manifest.jsonlines import first_duplicate


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / "lib").mkdir(parents=True)
    (root / "lib" / "ok.libsonnet").write_text("{ a: 1 }")
    (tmp_path / "outside.txt").write_text("OUTSIDE-CONTENT")
    (root / "out.txt").symlink_to(tmp_path / "outside.txt")
    (root / "proc").symlink_to("/proc/self/environ")
    (root / "zero").symlink_to("/dev/zero")
    os.mkfifo(root / "fifo")
    (root / "big.txt").write_bytes(b"x" * (files.MAX_TEXT_BYTES + 1))
    return root


@pytest.mark.parametrize(
    "name, said",
    [
        ("/etc/passwd", "is outside the app repository (an absolute path)"),
        ("../outside.txt", "is outside the app repository (`..` leads out of it)"),
        ("out.txt", "is outside the app repository (a symlink that leads out of it)"),
        ("proc", "is outside the app repository (a system file)"),
        ("zero", "is outside the app repository (a system file)"),
        ("fifo", "not a regular file (a device, FIFO or socket)"),
        ("lib", "a directory"),
        ("big.txt", "more than the 1048576 bytes"),
        ("a\x00b", "the name contains a NUL byte"),
        ("missing.txt", "file not found"),
    ],
)
def test_open_inside_refuses_without_reading_or_quoting(repo, tmp_path, name, said):
    with pytest.raises(BadInput) as caught:
        files_.open_inside(repo, repo, name, what="import `x`")
    assert said in caught.value.message
    assert "OUTSIDE-CONTENT" not in caught.value.message and str(tmp_path) not in caught.value.message


def test_open_inside_reads_a_file_of_the_repository(repo):
    path, data = files_.open_inside(repo / "lib", repo, "ok.libsonnet", what="import")
    assert path == (repo / "lib" / "ok.libsonnet").resolve() and data == b"{ a: 1 }"


def test_jsonnet_import_callback(repo, tmp_path, monkeypatch):
    monkeypatch.chdir(repo)  # as deployer runs: in the repository, so files are shown relative to it
    main = repo / "td.jsonnet"
    assert json.loads(jsonnet.evaluate("(import 'lib/ok.libsonnet') + { b: importstr 'lib/ok.libsonnet' }", main, {}, repo)) == {"a": 1, "b": "{ a: 1 }"}
    for source in ("importstr '/proc/self/environ'", "importstr '../outside.txt'", "importstr 'out.txt'", "importbin 'zero'", "error importstr 'out.txt'"):
        with pytest.raises(BadInput, match=r"td.jsonnet \(after Jinja\): Jsonnet error: RUNTIME ERROR: couldn't open import") as caught:
            jsonnet.evaluate(source, main, {}, repo)
        assert "OUTSIDE-CONTENT" not in caught.value.message and str(tmp_path) not in caught.value.message
        assert caught.value.message.startswith("td.jsonnet (after Jinja)") and "(at td.jsonnet:1:" in caught.value.message


def test_jsonnet_errors_say_where(repo):
    with pytest.raises(BadInput, match=r"Jsonnet error: RUNTIME ERROR: boom \(at .*td.jsonnet:2:1-13\)"):
        jsonnet.evaluate("\nerror 'boom'", repo / "td.jsonnet", {}, repo)


def test_the_renderer_has_no_credentials_in_its_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETKEY")
    sandbox.shutdown()
    path = tmp_path / "td.json.j2"
    path.write_text("{{ 1 + 1 }}")
    assert templating.render_file(path, tmp_path, {}, templating.TemplateFunctions(aws=None, secrets=templating.Secrets())) == "2"
    environ = Path(f"/proc/{sandbox._CURRENT.process.pid}/environ").read_bytes()
    assert b"AWS_" not in environ and b"SECRETKEY" not in environ
    sandbox.shutdown()


@pytest.mark.parametrize("variable, value", [("DEPLOYER_RENDER_SECONDS", "0"), ("DEPLOYER_RENDER_SECONDS", "lots"), ("DEPLOYER_RENDER_MEMORY_MIB", "16")])
def test_budget_overrides_are_checked(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(BadInput, match=f"{variable}="):
        sandbox.budget()


def test_budget_defaults(monkeypatch):
    monkeypatch.delenv("DEPLOYER_RENDER_SECONDS", raising=False)
    monkeypatch.delenv("DEPLOYER_RENDER_MEMORY_MIB", raising=False)
    assert sandbox.budget() == (sandbox.RENDER_SECONDS, sandbox.RENDER_MEMORY_MIB) == (20, 1024)


def test_a_template_over_budget_is_bad_input_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DEPLOYER_RENDER_SECONDS", "2")
    path = tmp_path / "td.json.j2"
    path.write_text("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
    with pytest.raises(BadInput, match=r"td.json.j2: rendering exceeded the rendering budget of 2 s"):
        templating.render_file(path, tmp_path, {}, templating.TemplateFunctions(aws=None, secrets=templating.Secrets()))
    path.write_text("ok")  # the next render gets a new renderer
    assert templating.render_file(path, tmp_path, {}, templating.TemplateFunctions(aws=None, secrets=templating.Secrets())) == "ok"


# ---------------------------------------------------------------------------------------
# duplicate keys, NaN, ECS's limits


def test_first_duplicate_names_both_lines_and_the_object():
    text = '{\n "a": [1, {\n  "user": "app",\n  "x": {"user": 1},\n  "user": "0"\n }]\n}'
    assert first_duplicate(text) == ("user", 3, 5, "a[1]")
    assert first_duplicate('{"a": 1, "b": {"a": 2}}') is None
    assert first_duplicate('{"k": 1,\n"k": 2}') == ("k", 1, 2, "")


def test_parse_json_refuses_duplicates_and_non_numbers():
    with pytest.raises(BadInput, match=r'td.json: duplicate key "k" in the top-level object at lines 1 and 2'):
        definitions.parse_json('{"k": 1,\n"k": 2}', "td.json")
    for constant in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(BadInput, match=f"td.json: `{constant}` at line 2 of the rendered output is not a JSON number"):
            definitions.parse_json('{"a": "NaN",\n "b": ' + constant + "}", "td.json")
    assert definitions.parse_json('{"a": "NaN Infinity"}', "td.json") == {"a": "NaN Infinity"}


def test_yaml_nan_is_refused_naming_the_field():
    with pytest.raises(BadInput, match=r"td.yaml: `containerDefinitions\[0\].memory` is nan"):
        definitions.parse_rendered("containerDefinitions:\n  - memory: .nan\n", Path("td.yaml"))


def test_cloudformation_short_tags_are_named():
    with pytest.raises(BadInput, match=r"td.yaml \(rendered\):2: `!Ref` is a CloudFormation intrinsic function \(YAML short form\)") as caught:
        definitions.parse_rendered("family: web\nexecutionRoleArn: !Ref Role\n", Path("td.yaml"))
    assert "Properties" in caught.value.hint
    with pytest.raises(BadInput, match="could not determine a constructor"):  # other tags keep YAML's message
        definitions.parse_rendered("a: !!python/object:os.system x\n", Path("td.yaml"))


def test_ecs_limits():
    container = {"name": "app", "image": "x"}
    definitions.check_ecs_limits({"containerDefinitions": [container] * 10}, "td.json")
    with pytest.raises(BadInput, match="`containerDefinitions` has 11 containers; ECS allows at most 10"):
        definitions.check_ecs_limits({"containerDefinitions": [container] * 11}, "td.json")
    big = {"containerDefinitions": [{**container, "dockerLabels": {f"k{i}": "v" * 100 for i in range(700)}}]}
    with pytest.raises(BadInput, match=r"the task definition is \d+ bytes as registered; ECS allows at most 65536 bytes"):
        definitions.check_ecs_limits(big, "td.json")
    with pytest.raises(BadInput, match=r"`containerDefinitions\[0\].memory` is inf"):
        definitions.check_ecs_limits({"containerDefinitions": [{**container, "memory": float("inf")}]}, "td.json")


def test_a_nul_byte_in_a_path_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match=r"`task_definition` td\\x00.json: the path contains a NUL byte"):
        files_.confined("td\x00.json", tmp_path, tmp_path, what="`task_definition` td\x00.json")
