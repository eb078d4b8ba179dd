"""Hostile and broken inputs (issue 11): each row runs the real `deployer` against the local AWS and
asserts exit 2, one message naming the file/line/flag, no traceback, and AWS unchanged. Then a
property: no input at all, random byte damage included, produces a traceback; an unexpected
exception is one line with a "please report" hint and exit 1 (the traceback only with -v)."""

from __future__ import annotations

import random
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from tests.conftest import ecs_state, image_ref

TD = "ecs-task-def.json.j2"
SD = "ecs-service-def.json.j2"
YAML = "deployer.yaml"
LOG_LEVEL = '"{{ vars.log_level }}"'  # line 16 of the task definition template


def billion_laughs() -> str:
    lines = ['lol0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        lines.append(f"lol{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    return "\n".join("  " + line for line in lines) + "\n"


@dataclass
class Case:
    id: str
    expected: str
    code: int = 2
    edits: list = field(default_factory=list)  # (file, old, new) text replacements
    files: dict = field(default_factory=dict)  # file -> bytes (whole content)
    args: tuple = ("deploy", "--image", "IMAGE")


DEEP_YAML = "app: web\nvars:\n  deep: " + "[" * 20_000 + "]" * 20_000 + "\n"

CASES = [
    # bytes that are not text
    Case("config not utf-8", "deployer.yaml:2: not UTF-8 text (byte 0xff)", files={YAML: b"app: web\nregion: \xff\xfe\n"}),
    Case("config with NUL", "deployer.yaml:2: invalid YAML: control character '\\x00'", files={YAML: b"app: web\nregion: us\x00east-1\n"}),
    Case("config is binary", "deployer.yaml:1: not UTF-8 text (byte 0x89)", files={YAML: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"}),
    Case("template not utf-8", "ecs-task-def.json.j2:16: not UTF-8 text (byte 0xe9)", edits=[(TD, LOG_LEVEL, '"caf\udce9"')]),
    Case("template with NUL", "ecs-task-def.json.j2:16: contains a NUL byte", edits=[(TD, LOG_LEVEL, '"a\x00b"')]),
    # sizes and depths
    Case("20,000-deep YAML", "deployer.yaml:29: invalid YAML: nested too deep (more than 200 levels", edits=[(YAML, "  log_level: info\n", "  log_level: info\n  deep: " + "[" * 20_000 + "]" * 20_000 + "\n")]),
    Case("100,000-deep rendered JSON", "ecs-task-def.json.j2: rendered output nests deeper than a definition can", edits=[(TD, LOG_LEVEL, "{{ '[' * 100000 }}{{ ']' * 100000 }}")]),
    Case("YAML billion laughs", "YAML aliases expand to more than 100000 values", edits=[(YAML, "vars:\n", "vars:\n" + billion_laughs())]),
    Case("template repeats a string 10^12 times", "ecs-task-def.json.j2:16: template error: repeating a value", edits=[(TD, LOG_LEVEL, "\"{{ 'x' * 10**12 }}\"")]),
    Case("template range of 10^9", "ecs-task-def.json.j2:16: template error: OverflowError", edits=[(TD, LOG_LEVEL, "\"{{ range(10**9) | list | length }}\"")]),
    # structure
    Case("services: [null]", "deployer.yaml:18: `services[0]` must be a mapping, got null", edits=[(YAML, "service:\n  name: web\n", "services: [null]\nservice_:\n  name: web\n")]),
    Case("services: []", "`services` must list at least one service", edits=[(YAML, "service:\n  name: web\n", "services: []\nservice_:\n  name: web\n")]),
    Case("config is a list", "`(top level)` must be a mapping, got a list", files={YAML: b"- app: web\n"}),
    Case("service definition renders []", "ecs-service-def.json.j2: a service definition must be a JSON object, got a list", files={SD: b"[]\n"}),
    Case("service definition renders 0", "ecs-service-def.json.j2: a service definition must be a JSON object, got a number", files={SD: b"{{ 0 }}\n"}),
    Case("task definition renders []", "ecs-task-def.json.j2: a task definition must be a JSON object, got a list", files={TD: b"[]\n"}),
    # template errors
    Case("template divides by zero", "ecs-task-def.json.j2:16: template error: ZeroDivisionError", edits=[(TD, LOG_LEVEL, '"{{ 1 // 0 }}"')]),
    Case("function with wrong arguments", "ecs-task-def.json.j2:16: template error: TypeError", edits=[(TD, LOG_LEVEL, '"{{ env() }}"')]),
    Case("function with too many arguments", "ecs-task-def.json.j2:16: template error: TypeError", edits=[(TD, LOG_LEVEL, "\"{{ ssm('a', 'b', 'c') }}\"")]),
    Case("recursive include", "template recursion too deep", edits=[(TD, LOG_LEVEL, '"{% include "ecs-task-def.json.j2" %}"')]),
    Case("recursive macro", "template recursion too deep", edits=[(TD, LOG_LEVEL, '"{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"')]),
    Case("include of a missing file", "ecs-task-def.json.j2:16: include `nope.j2`: file not found", edits=[(TD, LOG_LEVEL, '"{% include "nope.j2" %}"')]),
    Case("config region not a region", "deployer.yaml:3: `region` is not an AWS region name", edits=[(YAML, "region: us-east-1", "region: 'not a region!'")]),
    # flags
    Case("--region not a region", "--region 'not a region!': not an AWS region name", args=("deploy", "--image", "IMAGE", "--region", "not a region!")),
    Case("--assume-role-arn junk", "--assume-role-arn 'junk': not an IAM role ARN", args=("deploy", "--image", "IMAGE", "--assume-role-arn", "junk")),
    Case("negative --timeout", "--timeout -1: must be a positive number of seconds", args=("deploy", "--image", "IMAGE", "--timeout", "-1")),
    Case("zero --timeout", "--timeout 0: must be a positive number of seconds", args=("wait", "--timeout", "0")),
    Case("negative --desired-count", "--desired-count -1: must be a task count", args=("deploy", "--image", "IMAGE", "--desired-count", "-1")),
    Case("negative --limit", "--limit -1: must be how many revisions to list", args=("revisions", "--limit", "-1")),
    Case("negative --keep", "--keep -3: must be how many revisions to keep", args=("revisions", "--prune", "--keep", "-3")),
    Case("negative --revision", "--revision -2: must be a revision number", args=("deploy", "--revision", "-2")),
    Case("100 KB --image", "--image 102400 characters: not an image reference", args=("deploy", "--image", "r" * 102_400)),
    Case("--image with a newline", "--image 'repo:tag\\nuser': not an image reference", args=("deploy", "--image", "repo:tag\nuser")),
    Case("--var with a newline injection", "deployer.yaml", code=0, args=("render", "--image", "repo:tag", "--var", 'log_level=a"\n}, "user": "0')),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_clear_error(app, aws, platform, case):
    assert app.cli("deploy", "--image", image_ref(platform, "v1")).code == 0
    cluster = platform["outputs"]["ClusterName"]
    before = ecs_state(aws, cluster)
    for name, old, new in case.edits:
        path = app.path / name
        text = path.read_text()
        assert old in text
        path.write_bytes(text.replace(old, new).encode("utf-8", "surrogateescape"))
    for name, content in case.files.items():
        (app.path / name).write_bytes(content)
    args = tuple(image_ref(platform, "v2") if a == "IMAGE" else a for a in case.args)
    result = app.cli(*args)
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out
    assert result.code == case.code, out
    if case.code == 2:
        assert case.expected in result.stderr, result.stderr
        errors = [line for line in result.stderr.splitlines() if "ERROR" in line or line.startswith("error:")]
        assert len(errors) == 1, result.stderr
    else:
        assert '\\"user\\": \\"0' in result.stdout  # the injection stayed inside its string
    assert ecs_state(aws, cluster) == before


def _damaged(data: bytes, rng: random.Random) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        kind = rng.choice(("flip", "insert", "delete", "truncate"))
        at = rng.randrange(len(data)) if data else 0
        if kind == "flip" and data:
            data[at] = rng.randrange(256)
        elif kind == "insert":
            data[at:at] = rng.choice([b"\x00", b"{{", b"}}", b"{%", b"[", b"&a", b"*a", b"\xff", b"\n  - ", b":", b'"'])
        elif kind == "delete" and data:
            del data[at : at + rng.randint(1, 20)]
        elif kind == "truncate":
            data = data[:at]
    return bytes(data)


@pytest.mark.parametrize("target", [YAML, TD, SD])
def test_no_input_produces_a_traceback(app, aws, platform, target):
    """Seeded random damage to a file: whatever happens, it is an answer (0, or 2 with one message), never a crash."""
    rng = random.Random(f"fuzz-{target}")
    original = (app.path / target).read_bytes()
    codes = []
    for _ in range(12):
        (app.path / target).write_bytes(_damaged(original, rng))
        result = app.cli("render", "--image", "repo:tag")
        out = result.stdout + result.stderr
        assert "Traceback" not in out and "unexpected error" not in out, out
        assert result.code in (0, 2), out
        codes.append(result.code)
    assert 2 in codes  # the damage was noticed at least once (else the test proves nothing)


BUG = "import deployer.manifest.render as r\ndef boom(*a, **k):\n    raise KeyError('injected bug')\nr.render_service = boom\n"


@pytest.mark.parametrize("verbose", [False, True])
def test_an_unexpected_exception_is_one_line_and_exit_1(app, aws, platform, verbose):
    """A bug injected into the real CLI (render_service replaced by a function that raises): the
    catch-all at the top prints one line with a "please report" hint; the traceback only with -v."""
    args = ["render", "--image", "repo:tag"] + (["-v"] if verbose else [])
    code = BUG + f"import sys\nsys.argv = ['deployer', *{args!r}]\nfrom deployer.cli.app import main\nmain()\n"
    proc = subprocess.run([sys.executable, "-c", code], cwd=app.path, env=app.environ(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "unexpected error (KeyError: 'injected bug'); this is a bug in deployer, please report it" in errors[0]
    assert ("Traceback" in proc.stderr) is verbose
