"""`deployer init --from-ecspresso`: the conversion alone (Go durations, tfstate lookups, Go templates
and Jsonnet to Jinja), without AWS. Whole ecspresso projects against the local AWS:
tests/e2e/test_ecspresso.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.onboard import ecspresso
from deployer.core.errors import BadInput


def test_go_duration():
    assert [ecspresso.go_duration(t, "x") for t in ("10m0s", "1h30m", "90s", "300", "1m30.5s")] == [600, 5400, 90, 300, 90]
    with pytest.raises(BadInput, match="not a Go duration"):
        ecspresso.go_duration("ten minutes", "x")


def test_tfstate_lookup_addresses():
    state = {"resources": [
        {"mode": "managed", "type": "aws_lb", "name": "x", "module": "module.a.module.b", "instances": [{"attributes": {"arn": "lb"}}]},
        {"mode": "managed", "type": "aws_subnet", "name": "s", "instances": [{"index_key": "a", "attributes": {"tags": {"Name": "n"}, "ids": ["i0", "i1"]}}]},
    ]}
    assert ecspresso.tfstate_lookup(state, "module.a.module.b.aws_lb.x.arn") == "lb"
    assert ecspresso.tfstate_lookup(state, 'aws_subnet.s["a"].tags.Name') == "n"
    assert ecspresso.tfstate_lookup(state, 'aws_subnet.s["a"].ids[1]') == "i1"
    assert ecspresso.tfstate_lookup(state, "aws_lb.x.arn") is None  # not in the root module


def _context(name: str, plugins: list | None = None) -> "ecspresso._Context":
    functions = ecspresso._functions(plugins, Path("."), "ecspresso.yml", ecspresso.Readers())
    return ecspresso._Context(name, functions, ecspresso.Converted({}, {}, "", None), ecspresso.Readers())


def test_jsonnet_errors_name_the_line_of_the_file():
    text = "local must_env = std.native('must_env');\n{\n  a: must_env('A'),\n  b: std.native('nope')('x'),\n}\n"
    with pytest.raises(BadInput, match=r"td.jsonnet:4: std.native\('nope'\) is not a function of this project"):
        ecspresso.jsonnet_to_jinja(text, _context("td.jsonnet"))
    with pytest.raises(BadInput, match=r"native function call with arguments other than literals \(`must_env`\)"):
        ecspresso.jsonnet_to_jinja("local must_env = std.native('must_env');\n{ a: must_env(std.extVar('x')) }\n", _context("td.jsonnet"))


def test_go_actions_keep_their_quotes_unless_json_escape_fills_the_string():
    out = ecspresso.json_to_jinja('{"networkMode": "{{ must_env `A` }}", "family": "{{ env `B` | json_escape }}", "cpu": "x-{{ env `C` | json_escape }}"}', _context("td.json"), "task")
    assert '"networkMode": "{{ must_env(\'A\') }}"' in out
    assert "\"family\": {{ (env('B') or 'B') | tojson }}" in out
    assert "\"cpu\": \"x-{{ ((env('C') or 'C') | tojson)[1:-1] }}\"" in out
