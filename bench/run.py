"""`python -m bench`: start-up time, API calls, wall time, detection latency and verdicts of
`deployer deploy` against the local AWS (tests/localaws, in this process), next to the AWS CLI
and fabfuel's ecs-deploy doing the same releases. Prints one table; `--json` dumps the figures.

No thresholds: it measures and prints. Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as platform_module
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_APP = ROOT / "examples" / "app"
READ_ONLY_TD_KEYS = {
    "taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
    "registeredAt", "registeredBy", "deregisteredAt",
}
THROTTLE = {"fault_rate": 0.2, "fault_kinds": ["throttle"], "fault_services": ["ecs", "ecr", "cloudformation"]}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# Figures


@dataclass
class Calls:
    total: int = 0  # every request the emulator saw (all services, faulted ones included)
    faulted: int = 0  # answered with an injected fault
    by_operation: dict[str, int] = field(default_factory=dict)  # "ecs.DescribeServices" -> n

    @classmethod
    def from_counters(cls, counters: dict) -> "Calls":
        ops: Counter[str] = Counter()
        faulted = 0
        for service, operations in counters.items():
            for operation, row in operations.items():
                ops[f"{service}.{operation}"] += row["requests"]
                faulted += row["faulted"]
        return cls(sum(ops.values()), faulted, dict(ops.most_common()))

    @property
    def describe_services(self) -> int:
        return self.by_operation.get("ecs.DescribeServices", 0)

    @property
    def ecs_ecr_cfn(self) -> int:
        return sum(n for op, n in self.by_operation.items() if op.split(".")[0] in ("ecs", "ecr", "cloudformation"))

    def top(self, n: int = 4) -> str:
        return " ".join(f"{op.split('.', 1)[1]}={count}" for op, count in list(self.by_operation.items())[:n])


@dataclass
class Measurement:
    tool: str
    scenario: str
    command: str
    exit_code: int | None  # None: killed at the bench's cap
    wall_s: float
    calls: Calls
    detect_s: float | None = None  # emulator COMPLETED/FAILED -> command exited
    rollout_s: float | None = None  # emulator: deployment created -> COMPLETED/FAILED
    after_rollback_s: float | None = None  # ECS's circuit-breaker rollback COMPLETED -> command exited
    verdict_expected: str = ""  # "success" | "failure"
    verdict_right: bool | None = None
    service_on: str | None = None  # family:revision the service runs afterwards
    registered: list[str] = field(default_factory=list)  # revisions this run registered
    faults: bool = False  # fault injection was on during the run
    note: str = ""
    error: str = ""  # last stderr lines when something unexpected happened

    def as_dict(self) -> dict:
        data = asdict(self)
        data["calls"]["describe_services"] = self.calls.describe_services
        data["calls"]["ecs_ecr_cloudformation"] = self.calls.ecs_ecr_cfn
        return data


# ------------------------------------------------------------------------------------------
# The local AWS and one app checkout per scenario


class Lab:
    """LocalAws in this process plus fresh environments (the admins' stack) and app copies."""

    def __init__(self, tick: float, workdir: Path, deployer_cmd: list[str]):
        from tests.localaws import LocalAws

        self.tick = tick
        self.aws = LocalAws(tick=tick).start()
        self.workdir = workdir
        self.deployer_cmd = deployer_cmd
        self.ecs = self.aws.client("ecs")
        self._count = 0
        home = workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env = {
            **env,
            **self.aws.env(),
            "CI": "1",  # plain progress lines
            "HOME": str(home),  # no ~/.aws of the machine
            "AWS_CONFIG_FILE": str(home / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
            "AWS_PAGER": "",
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def close(self) -> None:
        self.aws.stop()

    # ---- environments ------------------------------------------------------------------
    def fresh(self, services: int | None = None) -> "App":
        """Forget everything, create the admins' environment, copy examples/app into a git repo."""
        from tests.localaws.platform import create_environment

        self.aws.reset()
        self.aws.configure(broken=[], fault_rate=0.0, seed=7)
        stack, outputs = create_environment(self.aws.endpoint, env="demo")
        self._count += 1
        path = self.workdir / f"app{self._count}"
        shutil.copytree(EXAMPLE_APP, path)
        names = ["web"]
        if services is not None:
            names = [f"s{i + 1:02d}" for i in range(services)]
            _write_services_config(path, names)
        for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "bench"]):
            subprocess.run(["git", *args], cwd=path, check=True, capture_output=True, env={
                **self.env, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
                "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"})
        self.aws.reset_counters()
        return App(self, path, stack, outputs, names)

    # ---- reading the emulator ------------------------------------------------------------
    def service(self, cluster: str, name: str) -> dict:
        return self.ecs.describe_services(cluster=cluster, services=[name])["services"][0]

    def revisions(self) -> set[str]:
        arns = self.ecs.list_task_definitions()["taskDefinitionArns"]
        return {a.rsplit("/", 1)[-1] for a in arns}

    def history(self) -> list[dict]:
        """Every deployment the emulator made: createdAt / completedAt / failedAt (epoch), rollbackOf."""
        return self.aws.state()["deployments"]

    def deployments_since(self, epoch: float, service: str | None) -> list[dict]:
        """Deployments this run started (not ECS's own circuit-breaker rollbacks), oldest first."""
        records = self.history()
        mine = [r for r in records if service in (None, r["service"]) and r["createdAt"] >= epoch and not r.get("rollbackOf")]
        return sorted(mine, key=lambda r: r["createdAt"])


@dataclass
class App:
    lab: Lab
    path: Path
    stack: str
    outputs: dict
    services: list[str]

    @property
    def cluster(self) -> str:
        return self.outputs["ClusterName"]

    def image(self, tag: str) -> str:
        return f"{self.outputs['EcrRepositoryUri']}:{tag}"

    def deployer(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run([*self.lab.deployer_cmd, *args], cwd=self.path, env=self.lab.env,
                              capture_output=True, text=True, timeout=timeout)

    def baseline(self, tag: str = "v1") -> str:
        """Not measured: the service exists and runs a healthy first revision (web:1)."""
        proc = self.deployer("deploy", "--image", self.image(tag), "--yes")
        if proc.returncode != 0:
            raise RuntimeError(f"baseline deploy failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        self.lab.aws.reset_counters()
        return self.lab.service(self.cluster, self.services[0])["taskDefinition"].rsplit("/", 1)[-1]


def _write_services_config(path: Path, names: list[str]) -> None:
    """deployer.yaml with a `services:` list; every family is <app>-<name>."""
    import yaml

    config = yaml.safe_load((path / "deployer.yaml").read_text())
    config.pop("service", None)
    config["services"] = [
        {"name": n, "task_definition": "ecs-task-def.json.j2", "definition": "ecs-service-def.json.j2", "container": "app", "port": 8080}
        for n in names
    ]
    (path / "deployer.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    td = path / "ecs-task-def.json.j2"
    td.write_text(td.read_text().replace('"family": "{{ app }}"', '"family": "{{ app }}-{{ service.name }}"'))


# ------------------------------------------------------------------------------------------
# Measuring one command


def measure(
    app: App,
    *,
    tool: str,
    scenario: str,
    argv: list[str],
    expect: str,  # "success" | "failure" | "unchanged"
    old_revision: str | None,
    cap_s: float,
    env: dict | None = None,
    note: str = "",
    faults: dict | None = None,
) -> Measurement:
    lab = app.lab
    service = app.services[0]
    before = lab.revisions()
    lab.aws.reset_counters()
    if faults:
        lab.aws.configure(**faults, seed=11)
    started_epoch = time.time()
    t0 = time.monotonic()
    killed = False
    try:
        proc = subprocess.run(argv, cwd=app.path, env=env or lab.env, capture_output=True, text=True, timeout=cap_s)
        code, stderr, stdout = proc.returncode, proc.stderr, proc.stdout
    except subprocess.TimeoutExpired as exc:
        killed = True
        code = None
        stderr = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
    wall = time.monotonic() - t0
    exited_epoch = time.time()
    calls = Calls.from_counters(lab.aws.get_counters(reset=True))
    if faults:
        lab.aws.configure(fault_rate=0.0)

    registered = sorted(lab.revisions() - before, key=_revision_key)
    live = lab.service(app.cluster, service)
    on = live["taskDefinition"].rsplit("/", 1)[-1]
    m = Measurement(tool, scenario, _shown(argv), code, round(wall, 2), calls, verdict_expected=expect,
                    service_on=on, registered=registered, note=note, faults=bool(faults))

    mine = lab.deployments_since(started_epoch, service)
    if mine:
        first = mine[0]
        settled = first.get("failedAt") or first.get("completedAt")
        if settled:
            m.detect_s = round(exited_epoch - settled, 2)
            m.rollout_s = round(settled - first["createdAt"], 2)
        rollbacks = [r for r in lab.history() if r.get("rollbackOf") == first["id"]]
        done = [r["completedAt"] for r in rollbacks if r.get("completedAt")]
        if done:
            m.after_rollback_s = round(exited_epoch - max(done), 2)
            m.note = _join(m.note, f"ECS rollback done -> exit {m.after_rollback_s:.2f} s")
    if expect == "success":
        m.verdict_right = code == 0 and bool(registered) and on == registered[-1]
    elif expect == "unchanged":
        m.verdict_right = code == 0 and not registered and not mine
    else:
        m.verdict_right = code not in (0, None) and on == old_revision
        # What the tool left behind: ecs-deploy deregisters the revision it replaced.
        if old_revision:
            td = lab.ecs.describe_task_definition(taskDefinition=old_revision)["taskDefinition"]
            if td.get("status") != "ACTIVE":
                m.note = _join(m.note, f"{old_revision} (running) left {td.get('status')}")
    if killed:
        m.note = _join(m.note, f"killed at the bench's {cap_s:.0f} s cap")
    if code not in (0, 1) or (m.verdict_right is False and expect != "failure"):
        tail = (stderr or stdout).strip().splitlines()[-3:]
        m.error = " | ".join(tail)[-400:]
    return m


def _revision_key(rev: str) -> tuple[str, int]:
    family, _, number = rev.rpartition(":")
    return family, int(number) if number.isdigit() else 0


def _shown(argv: list[str]) -> str:
    parts = []
    for a in argv:
        if "/" in a and (a.startswith("/") or "dkr.ecr" in a):
            a = a.rsplit("/", 1)[-1]
        parts.append(a)
    return " ".join(parts)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


# ------------------------------------------------------------------------------------------
# Scenarios


SCENARIOS = ("healthy", "breaker", "throttled")


def prepare(lab: Lab, scenario: str):
    """A fresh environment whose service runs web:1; the image tag this scenario releases."""
    app = lab.fresh()
    old = app.baseline("v1")
    tag = "broken" if scenario == "breaker" else "v2"
    if scenario == "breaker":
        lab.aws.mark_broken("*:broken", reason="exit 1: cannot connect to database")
    return app, old, tag


def run_deployer(lab: Lab, scenario: str) -> list[Measurement]:
    app, old, tag = prepare(lab, scenario)
    argv = [*lab.deployer_cmd, "deploy", "--image", app.image(tag), "--yes", "--output", "json"]
    results = [measure(
        app, tool="deployer", scenario=scenario, argv=argv,
        expect="failure" if scenario == "breaker" else "success", old_revision=old, cap_s=120,
        faults=THROTTLE if scenario == "throttled" else None,
    )]
    if scenario == "healthy":
        results.append(measure(app, tool="deployer", scenario="re-release (same image)", argv=argv,
                               expect="unchanged", old_revision=None, cap_s=120))
    return results


def run_awscli(lab: Lab, tools, scenario: str, *, waiter_cap: float) -> Measurement:
    app, old, tag = prepare(lab, scenario)
    # The task definition file a CI job keeps (prepared here, before the timed run).
    td = lab.ecs.describe_task_definition(taskDefinition=old)["taskDefinition"]
    td = {k: v for k, v in td.items() if k not in READ_ONLY_TD_KEYS}
    td["containerDefinitions"][0]["image"] = app.image(tag)
    (app.path / "taskdef.json").write_text(json.dumps(td))
    aws = f'"{tools.aws}" --endpoint-url "{lab.aws.endpoint}" --region us-east-1'
    script = (
        "set -e\n"
        f'arn=$({aws} ecs register-task-definition --cli-input-json file://taskdef.json --query taskDefinition.taskDefinitionArn --output text)\n'
        f'{aws} ecs update-service --cluster {app.cluster} --service web --task-definition "$arn" > /dev/null\n'
        f'{aws} ecs wait services-stable --cluster {app.cluster} --services web\n'
    )
    m = measure(
        app, tool="aws cli", scenario=scenario, argv=["bash", "-c", script],
        expect="failure" if scenario == "breaker" else "success", old_revision=old, cap_s=waiter_cap,
        faults=THROTTLE if scenario == "throttled" else None,
        note="waiter polls every 15 s",
    )
    m.command = "aws ecs register-task-definition --cli-input-json; aws ecs update-service; aws ecs wait services-stable"
    return m


def run_ecs_deploy(lab: Lab, tools, scenario: str, *, timeout: int) -> Measurement:
    app, old, tag = prepare(lab, scenario)
    # ecs-deploy has no endpoint flag: its boto3 reads AWS_ENDPOINT_URL (set in lab.env).
    argv = [tools.ecs, "deploy", app.cluster, "web", "--image", "app", app.image(tag), "--timeout", str(timeout)]
    m = measure(
        app, tool="ecs-deploy", scenario=scenario, argv=argv,
        expect="failure" if scenario == "breaker" else "success", old_revision=old, cap_s=timeout + 60,
        faults=THROTTLE if scenario == "throttled" else None,
    )
    if m.calls.total == 0:
        m.note = _join(m.note, "made no request to the emulator: AWS_ENDPOINT_URL not honoured")
        m.verdict_right = None
    return m


def run_many(lab: Lab, n: int) -> list[Measurement]:
    app = lab.fresh(services=n)
    results = []
    for phase, tag in (("create", "v1"), ("update", "v2")):
        before = lab.revisions()
        lab.aws.reset_counters()
        started_epoch = time.time()
        t0 = time.monotonic()
        proc = app.deployer("deploy", "--image", app.image(tag), "--yes", "--output", "json", timeout=300)
        wall = time.monotonic() - t0
        exited_epoch = time.time()
        mine = lab.deployments_since(started_epoch, None)
        settled = [r.get("completedAt") or r.get("failedAt") for r in mine]
        calls = Calls.from_counters(lab.aws.get_counters(reset=True))
        registered = sorted(lab.revisions() - before, key=_revision_key)
        running = {s["serviceName"]: s["taskDefinition"].rsplit("/", 1)[-1]
                   for s in lab.ecs.describe_services(cluster=app.cluster, services=app.services)["services"]}
        right = proc.returncode == 0 and len(registered) == n and set(running.values()) == set(registered)
        m = Measurement("deployer", f"{n} service{'s' if n > 1 else ''} at once ({phase})", "deployer deploy --image", proc.returncode,
                        round(wall, 2), calls, verdict_expected="success", verdict_right=right,
                        registered=registered)
        if settled and all(settled):  # the last service's verdict -> exit; rollout: first start -> last verdict
            m.detect_s = round(exited_epoch - max(settled), 2)
            m.rollout_s = round(max(settled) - min(r["createdAt"] for r in mine), 2)
        if not right:
            m.error = " | ".join(proc.stderr.strip().splitlines()[-3:])[-400:]
        results.append(m)
    return results


def run_build_scenario(lab: Lab, report: dict) -> None:
    """bench/build.py: a docker init-style app released, then a one-line change from a cold engine, cache vs none."""
    from deployer.image import buildkit

    from . import build

    reason = build.unavailable()
    if reason:
        report["build"] = {"skipped": reason}
        return
    try:
        runs = build.run(lab, log)
    except Exception as exc:  # noqa: BLE001 - a broken scenario is a line, not a crash
        report["build"] = {"skipped": f"bench error: {exc}"[:300]}
        return
    report["build"] = {"builder": buildkit.find_builder().describe(), "runs": [asdict(r) for r in runs]}


# ------------------------------------------------------------------------------------------
# Start-up


def deployer_command() -> tuple[list[str], str]:
    """The installed console script next to this interpreter, else on PATH, else python -m deployer."""
    beside = Path(sys.executable).parent / "deployer"
    if beside.exists():
        return [str(beside)], "console script"
    found = shutil.which("deployer")
    if found:
        return [found], "console script (PATH)"
    return [sys.executable, "-m", "deployer"], "python -m deployer"


def startup(cmd: list[str], runs: int, env: dict) -> dict:
    times = []
    code = None
    for _ in range(runs):
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, env=env, timeout=60)
        times.append(time.monotonic() - t0)
        code = proc.returncode
    return {"command": _shown(cmd), "median_s": round(statistics.median(times), 3),
            "min_s": round(min(times), 3), "max_s": round(max(times), 3), "runs": runs, "exit_code": code}


# ------------------------------------------------------------------------------------------
# Output


def table(report: dict) -> str:
    lines = []
    meta = report["meta"]
    lines.append(
        f"deployer bench — nproc {meta['nproc']}, {meta['machine']}, Python {meta['python']}, "
        f"emulator tick {meta['tick']} s (tests/localaws), {meta['tasks']} tasks per service, "
        f"deployer {meta['deployer_version']} ({meta['deployer_command']})"
    )
    if meta.get("tools"):
        lines.append(f"alternatives from {meta['tools']['venv']}: " + ", ".join(f"{k} {v}" for k, v in meta["tools"].get("versions", {}).items()))
    lines.append("")
    lines.append("Start-up (median of %d runs, wall)" % report["startup"][0]["runs"] if report["startup"] else "Start-up: skipped")
    for row in report["startup"]:
        lines.append(f"  {row['command']:<28} {row['median_s'] * 1000:7.0f} ms   (min {row['min_s'] * 1000:.0f}, max {row['max_s'] * 1000:.0f}, exit {row['exit_code']})")
    lines.append("")

    headers = ["tool", "scenario", "exit", "verdict", "wall s", "rollout s", "detect s", "calls", "Describe", "ECS/ECR/CFN", "top operations / notes"]
    rows = []
    scenario_order = ["healthy", "re-release (same image)", "breaker", "throttled"]
    tool_order = ["deployer", "aws cli", "ecs-deploy"]
    ordered = sorted(report["runs"], key=lambda m: (scenario_order.index(m["scenario"]) if m["scenario"] in scenario_order else len(scenario_order),
                                                    tool_order.index(m["tool"]) if m["tool"] in tool_order else 9))
    for m in ordered:
        calls = m["calls"]
        verdict = {True: "right", False: "WRONG", None: "n/a"}[m["verdict_right"]]
        if m["verdict_right"] is not None:
            verdict += f" ({'ok' if m['verdict_expected'] != 'failure' else 'fail'} expected)"
        exit_code = "cap" if m["exit_code"] is None else str(m["exit_code"])
        total = f"{calls['total']}" + (f" ({calls['faulted']} thr)" if calls["faulted"] or m.get("faults") else "")
        top = " ".join(f"{op.removeprefix('ecs.')}={n}" for op, n in list(calls["by_operation"].items())[:4])
        extra = _join(top, f"on {m['service_on']}" if m["service_on"] else "", m["note"], m["error"] and f"stderr: {m['error']}")
        rows.append([m["tool"], m["scenario"], exit_code, verdict, f"{m['wall_s']:.2f}",
                     "-" if m.get("rollout_s") is None else f"{m['rollout_s']:.2f}",
                     "-" if m["detect_s"] is None else f"{m['detect_s']:.2f}", total, str(calls["describe_services"]),
                     str(calls["ecs_ecr_cloudformation"]), extra])
    for row in report.get("unavailable", []):
        rows.append([row["tool"], row["scenario"], "-", "n/a", "-", "-", "-", "-", "-", "-", row["reason"]])
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    widths[-1] = len(headers[-1])
    fmt = lambda r: "  ".join(c.ljust(w) if i in (0, 1, 3, 10) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    lines.append(fmt(headers).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append(fmt(r).rstrip())

    many = report.get("many")
    if many:
        lines.append("")
        for phase in ("create", "update"):
            one, ten = many.get(f"1/{phase}"), many.get(f"10/{phase}")
            if one and ten:
                lines.append(f"N services at once ({phase}): 1 → {one:.2f} s, 10 → {ten:.2f} s, ratio 10/1 = {ten / one:.2f}")
    if report.get("build"):
        from .build import table as build_table

        lines.append("")
        lines.extend(build_table(report["build"]["runs"], report["build"]["builder"]) if report["build"].get("runs") else [f"Build on a cold runner: skipped ({report['build']['skipped']})"])
    lines.append("")
    lines.extend("  " + n for n in report["notes"])
    lines.append(f"bench wall time: {report['meta']['bench_wall_s']:.0f} s")
    return "\n".join(lines)


def notes(meta: dict) -> list[str]:
    return [
        "wall s: subprocess start to exit. rollout s: the emulator's deployment, created -> COMPLETED/FAILED (10 services: first created -> last verdict).",
        "detect s: the emulator marked the run's deployment COMPLETED/FAILED -> the command exited; it includes what a tool does after the verdict",
        "  (deployer: tag the revision healthy, or read the task logs and watch ECS's rollback to its end; ecs-deploy: deregister the old revision).",
        "calls: every request the emulator answered, all AWS services ('thr': answered with an injected ThrottlingException); Describe: ecs.DescribeServices.",
        "Each scenario starts from a fresh environment whose service 'web' runs web:1 (deployed first by deployer, not measured); 2 tasks, minimumHealthyPercent 100.",
        "verdict right: healthy -> exit 0 and the service on the revision the run registered; breaker -> exit != 0 and the service back on web:1.",
        "breaker: image tag 'broken' marked broken in the emulator; circuit breaker enable + rollback (examples/app/ecs-service-def.json.j2).",
        f"throttled: {int(THROTTLE['fault_rate'] * 100)} % ThrottlingException on ECS/ECR/CloudFormation, one seeded sequence for every tool (the n-th request",
        "  of each run meets the same fate), so a tool that makes few requests may meet none. Retry settings: each tool's defaults.",
        f"aws cli: taskdef.json prepared before the timed run; `wait services-stable` polls every 15 s, up to 40 times (not settable in the CLI); the bench kills it after {meta['waiter_cap']:.0f} s.",
        f"ecs-deploy: default flags (--deregister, --no-rollback) plus --timeout {meta['ecs_deploy_timeout']}; it has no endpoint flag, its boto3 reads AWS_ENDPOINT_URL.",
    ]


# ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON instead of the table")
    parser.add_argument("--tick", type=float, default=0.5, help="emulator tick in seconds (default 0.5: a 2-task rollout then takes ~2.5 s, longer than the AWS CLI's three starts)")
    parser.add_argument("--startup-runs", type=int, default=7)
    parser.add_argument("--no-alternatives", action="store_true", help="skip the AWS CLI and ecs-deploy runs")
    parser.add_argument("--no-install", action="store_true", help="do not create the tools venv; skip what is missing")
    parser.add_argument("--venv", type=Path, default=None, help="where the tools venv lives (default bench/.venv)")
    parser.add_argument("--waiter-cap", type=float, default=60, help="seconds before the bench kills `aws ecs wait services-stable` (default 60)")
    parser.add_argument("--ecs-deploy-timeout", type=int, default=60, help="ecs-deploy --timeout (default 60)")
    parser.add_argument("--skip-many", action="store_true", help="skip the 1 vs 10 services runs")
    parser.add_argument("--skip-build", action="store_true", help="skip the build scenario (real Docker engine and registry)")
    parser.add_argument("--only-build", action="store_true", help="run only the build scenario")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    bench_started = time.monotonic()
    from deployer import __version__

    cmd, how = deployer_command()
    tools = None
    unavailable: list[dict] = []
    if not args.no_alternatives:
        from .tools import DEFAULT_VENV, ensure_venv

        tools = ensure_venv(args.venv or DEFAULT_VENV, install=not args.no_install, log=log)
        if tools.problem:
            log(tools.problem)

    report: dict[str, Any] = {"meta": {
        "nproc": os.cpu_count(), "machine": f"{platform_module.system()} {platform_module.machine()}",
        "python": platform_module.python_version(), "tick": args.tick, "tasks": 2,
        "deployer_version": __version__, "deployer_command": how,
        "tools": {"venv": str(tools.venv), "versions": tools.versions, "problem": tools.problem} if tools else None,
            "waiter_cap": args.waiter_cap, "ecs_deploy_timeout": args.ecs_deploy_timeout,
    }, "startup": [], "runs": [], "unavailable": unavailable}
    report["notes"] = notes(report["meta"])

    workdir = Path(tempfile.mkdtemp(prefix="deployer-bench-"))
    lab = Lab(args.tick, workdir, cmd)
    try:
        env = {k: v for k, v in lab.env.items()}
        log("start-up")
        for extra in (["--help"], ["--version"]):
            report["startup"].append(startup([*cmd, *extra], args.startup_runs, env))
        if tools and tools.aws:
            report["startup"].append(startup([tools.aws, "--version"], args.startup_runs, env))
        if tools and tools.ecs:
            report["startup"].append(startup([tools.ecs, "--help"], args.startup_runs, env))

        def record(what: str, fn: Callable[[], Any]) -> None:
            log(what)
            try:
                out = fn()
            except Exception as exc:  # noqa: BLE001 - a broken scenario is a row, not a crash
                unavailable.append({"tool": what.split(":")[0], "scenario": what.split(":", 1)[-1].strip(), "reason": f"bench error: {exc}"[:300]})
                return
            for m in out if isinstance(out, list) else [out]:
                report["runs"].append(m.as_dict())

        for scenario in SCENARIOS if not args.only_build else ():
            record(f"deployer: {scenario}", lambda s=scenario: run_deployer(lab, s))
        if not args.skip_build:
            run_build_scenario(lab, report)
        if tools is not None and not args.only_build:
            for scenario in SCENARIOS:
                if tools.aws:
                    record(f"aws cli: {scenario}", lambda s=scenario: run_awscli(lab, tools, s, waiter_cap=args.waiter_cap))
                else:
                    unavailable.append({"tool": "aws cli", "scenario": scenario, "reason": tools.problem or "not installed"})
                if tools.ecs:
                    record(f"ecs-deploy: {scenario}", lambda s=scenario: run_ecs_deploy(lab, tools, s, timeout=args.ecs_deploy_timeout))
                else:
                    unavailable.append({"tool": "ecs-deploy", "scenario": scenario, "reason": tools.problem or "not installed"})

        if not args.skip_many and not args.only_build:
            many: dict[str, float] = {}
            for n in (1, 10):
                log(f"deployer: {n} services at once")
                for m in run_many(lab, n):
                    report["runs"].append(m.as_dict())
                    many[f"{n}/{m.scenario.rsplit('(', 1)[1].rstrip(')')}"] = m.wall_s
            report["many"] = many
    finally:
        lab.close()
        shutil.rmtree(workdir, ignore_errors=True)

    report["meta"]["bench_wall_s"] = round(time.monotonic() - bench_started, 1)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(table(report))
    return 0
