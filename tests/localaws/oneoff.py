"""One-off tasks: what RunTask starts outside a service (a migration, `deployer run`).

moto's RunTask creates a Task whose state manager walks it RUNNING -> ... -> STOPPED on
every describe_tasks, never writes logs and gives every container exit code 0; on Fargate
it also creates an ENI that needs a VPC with DNS hostnames. Here a one-off task is a
LocalTask (no state manager, no ENI) that the ticker moves like Fargate does:

    tick 1: PROVISIONING -> PENDING
    tick 2: PENDING -> RUNNING         awslogs: "$ <shlex.join(command)>", then the command's output
    then:   RUNNING -> DEPROVISIONING  after at least one tick and the command's `sleep`s;
                                       containers STOPPED with their exitCode, awslogs "exit <code>",
                                       stoppedReason "Essential container in task exited"
    tick:   DEPROVISIONING -> STOPPED

What the "command" does, deterministically (command = the container override's, else the
task definition's; environment = the definition's, overridden by the container override's):
  - `["sh"|"bash", "-c", SCRIPT]` runs SCRIPT's steps split on `;`, `&&` and newlines; any
    other command is one step. Steps understood: `echo ARGS` (prints ARGS, `$NAME`/`${NAME}`
    expanded from the environment and the container's SSM `secrets`), `exit N` (ends with N),
    `sleep N` (stays RUNNING N seconds longer), `false` (ends with 1); others print nothing.
  - exit code: `LOCALAWS_EXIT_CODE` from the environment if set, else the `exit N` reached,
    else 0.
  - a broken task definition (`LOCALAWS_TASK_FAILURE` in the environment, or a `broken` glob,
    see rollout.failure_of) exits with the failure's code and logs "ERROR <text>".
  - `LOCALAWS_START_FAILURE=<reason>` in the environment: the task never starts; it goes
    PENDING -> STOPPED with stopCode TaskFailedToStart, stoppedReason <reason>, no exit code
    and no log lines (as with CannotPullContainerError).
  - StopTask: the tick after, containers that ran get exit code 143 (SIGTERM), stopCode
    UserInitiated, the log "received SIGTERM".
Only the first essential container runs the command; the others exit 0 (137 after a
failure) when it ends. Service tasks (rollout.Engine) are not affected.
"""
from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from moto.core.utils import utcnow
from moto.ecs.exceptions import InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend, TaskDefinition

from .rollout import EXIT_CODE_ENV, FAILURE_ENV, LocalTask, failure_of
from .settings import Settings

START_FAILURE_ENV = "LOCALAWS_START_FAILURE"
SHELLS = ("sh", "bash", "/bin/sh", "/bin/bash", "/usr/bin/env sh")
SIGTERM_EXIT = 143


@dataclass
class Plan:
    """What the one-off task's main container does, decided when it is started."""

    container: str
    command: list[str] | None
    output: list[str] = field(default_factory=list)
    exit_code: int = 0
    run_seconds: float = 0.0
    start_failure: str | None = None
    failure_text: str | None = None


class OneOffTask(LocalTask):
    __module__ = "moto.ecs.localaws"  # moto files model classes by module path

    def __init__(self, backend: EC2ContainerServiceBackend, cluster: Any, td: TaskDefinition, *,
                 overrides: dict[str, Any] | None, started_by: str | None, group: str | None,
                 tags: list[dict[str, str]] | None, launch_type: str | None,
                 network_configuration: dict[str, Any] | None, platform_version: str | None,
                 plan: Plan) -> None:
        deployment = {"id": started_by or "", "launchType": launch_type or "FARGATE",
                      "networkConfiguration": network_configuration}
        super().__init__(backend, cluster, td, deployment, SimpleNamespace(name=""))
        self.group = group or f"family:{td.family}"
        self.started_by = started_by or ""
        self.overrides = overrides or {}
        self.tags = tags or []
        self.platform_version = platform_version or "1.4.0"
        self.network_configuration = network_configuration  # not in DescribeTasks; see LocalAws.state()
        self.pull_started_at = None
        self.pull_stopped_at = None
        self.execution_stopped_at = None
        self.plan = plan
        self.phase = "PROVISIONING"  # what the ticker last set; differs from last_status after StopTask
        self.running_since: float | None = None


class OneOffs:
    """The one-off tasks the ticker drives (Engine.oneoffs)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tasks: list[tuple[EC2ContainerServiceBackend, OneOffTask]] = []

    # ---- RunTask -----------------------------------------------------------------
    def run(self, backend: EC2ContainerServiceBackend, cluster_str: str, task_definition_str: str,
            count: int, overrides: dict[str, Any] | None, started_by: str | None,
            tags: list[dict[str, str]] | None, launch_type: str | None,
            network_configuration: dict[str, Any] | None = None, group: str | None = None,
            platform_version: str | None = None) -> list[OneOffTask]:
        cluster = backend._get_cluster(cluster_str)
        td = backend.describe_task_definition(task_definition_str)
        if td.status != "ACTIVE":
            raise InvalidParameterException("TaskDefinition is inactive")
        if td.network_mode == "awsvpc":
            subnets = ((network_configuration or {}).get("awsvpcConfiguration") or {}).get("subnets")
            if not subnets:
                raise InvalidParameterException(
                    "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
        if not 1 <= int(count or 1) <= 10:
            raise InvalidParameterException("count must be between 1 and 10")
        backend.tasks.setdefault(cluster.name, {})
        started = []
        for _ in range(int(count or 1)):
            task = OneOffTask(backend, cluster, td, overrides=overrides, started_by=started_by,
                              group=group, tags=tags, launch_type=launch_type,
                              network_configuration=network_configuration,
                              platform_version=platform_version,
                              plan=plan_for(backend, td, overrides or {}, self.settings))
            backend.tasks[cluster.name][task.task_arn] = task
            self.tasks.append((backend, task))
            started.append(task)
        return started

    def clear(self) -> None:
        self.tasks.clear()

    def describe(self) -> list[dict[str, Any]]:
        """For LocalAws.state(): what each one-off task was started with, and how it ended."""
        return [{
            "taskArn": t.task_arn, "cluster": t.cluster_name, "taskDefinitionArn": t.task_definition_arn,
            "lastStatus": t.last_status, "startedBy": t.started_by, "group": t.group,
            "launchType": t.launch_type, "overrides": t.overrides,
            "networkConfiguration": t.network_configuration, "command": t.plan.command,
            "exitCode": None if t.plan.start_failure else t.plan.exit_code,
            "stoppedReason": t.stopped_reason,
        } for _, t in self.tasks]

    # ---- the ticker ----------------------------------------------------------------
    def tick(self) -> None:
        for backend, task in list(self.tasks):
            if task.phase == "STOPPED":
                continue
            if task.last_status == "STOPPED":  # StopTask (moto's) set it
                self._stopped_by_user(backend, task)
            elif task.phase == "PROVISIONING":
                self._set(task, "PENDING")
                task.pull_started_at = utcnow()
            elif task.phase == "PENDING":
                if task.plan.start_failure:
                    self._never_started(task)
                else:
                    self._start(backend, task)
            elif task.phase == "RUNNING":
                if time.monotonic() - task.running_since >= task.plan.run_seconds:
                    self._exit(backend, task)
            elif task.phase == "DEPROVISIONING":
                self._set(task, "STOPPED")
                task.stopped_at = utcnow()
                task.version += 1

    def _set(self, task: OneOffTask, status: str) -> None:
        task.phase = status
        task.last_status = status
        task.version += 1

    def _start(self, backend: EC2ContainerServiceBackend, task: OneOffTask) -> None:
        self._set(task, "RUNNING")
        task.pull_stopped_at = task.started_at = utcnow()
        task.running_since = time.monotonic()
        for c in task.containers:
            c["lastStatus"] = "RUNNING"
        shown = shlex.join(task.plan.command) if task.plan.command else "(the image's default command)"
        write_logs(backend, task, {task.plan.container: [f"$ {shown}", *task.plan.output]},
                   others=lambda c: [f"starting {c.get('image')}"])

    def _exit(self, backend: EC2ContainerServiceBackend, task: OneOffTask) -> None:
        plan = task.plan
        lines = ([f"ERROR {plan.failure_text}"] if plan.failure_text else []) + [f"exit {plan.exit_code}"]
        self._finish(task, "Essential container in task exited", "EssentialContainerExited", "DEPROVISIONING")
        for c in task.containers:
            if c["name"] == plan.container:
                c["exitCode"] = plan.exit_code
                if plan.failure_text:
                    c["reason"] = plan.failure_text
            else:
                c["exitCode"] = 137 if plan.exit_code else 0
        write_logs(backend, task, {plan.container: lines})

    def _never_started(self, task: OneOffTask) -> None:
        self._finish(task, task.plan.start_failure, "TaskFailedToStart", "STOPPED")
        for c in task.containers:
            c["reason"] = task.plan.start_failure

    def _stopped_by_user(self, backend: EC2ContainerServiceBackend, task: OneOffTask) -> None:
        was_running = task.phase == "RUNNING"
        reason = task.stopped_reason or "Task stopped by user"
        self._finish(task, reason, "UserInitiated", "STOPPED")
        if was_running:
            for c in task.containers:
                c["exitCode"] = SIGTERM_EXIT
            write_logs(backend, task, {task.plan.container: ["received SIGTERM", f"exit {SIGTERM_EXIT}"]})

    def _finish(self, task: OneOffTask, reason: str, stop_code: str, status: str) -> None:
        now = utcnow()
        task.desired_status = "STOPPED"
        task.stopped_reason = reason
        task.stop_code = stop_code
        task.stopping_at = task.execution_stopped_at = now
        if status == "STOPPED":
            task.stopped_at = now
        task.attachments[0]["status"] = "DELETED"
        for c in task.containers:
            c["lastStatus"] = "STOPPED"
        self._set(task, status)


# ---- what the command does ------------------------------------------------------------
def plan_for(backend: EC2ContainerServiceBackend, td: TaskDefinition, overrides: dict[str, Any],
             settings: Settings) -> Plan:
    containers = td.container_definitions
    main = next((c for c in containers if c.get("essential", True)), containers[0])
    override = next((o for o in overrides.get("containerOverrides") or [] if o.get("name") == main.get("name")), {})
    command = override.get("command") or main.get("command") or None
    env = {e.get("name"): e.get("value") for e in main.get("environment") or []}
    env.update({e.get("name"): e.get("value") for e in override.get("environment") or []})
    plan = Plan(container=main.get("name"), command=list(command) if command else None)
    if env.get(START_FAILURE_ENV):
        plan.start_failure = env[START_FAILURE_ENV]
        return plan
    values = {**_secret_values(backend, main), **env}
    exit_code = None
    for step in _steps(plan.command):
        word, args = step[0], step[1:]
        if word == "echo":
            plan.output.append(" ".join(_expand(a, values) for a in args))
        elif word == "sleep" and args:
            plan.run_seconds += _number(args[0], 0.0)
        elif word == "exit":
            exit_code = int(_number(args[0], 0)) if args else 0
            break
        elif word == "false":
            exit_code = 1
            break
    plan.exit_code = exit_code or 0
    if env.get(EXIT_CODE_ENV) not in (None, ""):
        plan.exit_code = int(env[EXIT_CODE_ENV])
    failure = failure_of(td, settings)
    if env.get(FAILURE_ENV) is not None and failure is None:  # set by the container override
        failure = (env[FAILURE_ENV] or "task failure", int(env.get(EXIT_CODE_ENV) or settings.failure_exit_code), plan.container)
    if failure:
        plan.failure_text, plan.exit_code = failure[0], failure[1]
    return plan


def _steps(command: list[str] | None) -> list[list[str]]:
    if not command:
        return []
    if command[0] in SHELLS and len(command) >= 3 and command[1] == "-c":
        steps = []
        for part in re.split(r"\s*(?:;|&&|\n)\s*", command[2]):
            try:
                words = shlex.split(part)
            except ValueError:
                words = part.split()
            if words:
                steps.append(words)
        return steps
    return [list(command)]


def _expand(word: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: str(values.get(m.group(1) or m.group(2), "")), word)


def _number(text: str, default: float) -> float:
    try:
        return float(text)
    except ValueError:
        return default


def _secret_values(backend: EC2ContainerServiceBackend, container: dict[str, Any]) -> dict[str, str]:
    """The container's `secrets` that name SSM parameters, resolved as ECS would inject them."""
    from moto.ssm.models import ssm_backends

    found = {}
    for item in container.get("secrets") or []:
        ref = str(item.get("valueFrom", ""))
        if ":secretsmanager:" in ref:
            continue
        name = ref.split(":parameter", 1)[1] if ":parameter" in ref else ref
        param = None
        for candidate in dict.fromkeys([name, name.lstrip("/")]):  # ARNs drop a name's missing "/"
            try:
                param = param or ssm_backends[backend.account_id][backend.region_name].get_parameter(candidate)
            except Exception:  # noqa: BLE001 - ECS would fail the task; the emulator leaves it empty
                pass
        if param is not None:
            found[item.get("name")] = param.decrypt(param.value) or ""  # SecureString: "kms:<key>:<value>"
    return found


def write_logs(backend: EC2ContainerServiceBackend, task: OneOffTask, lines: dict[str, list[str]],
               others: Any = None) -> None:
    """awslogs: lines[container] to stream <prefix>/<container>/<task id> (as ECS names it);
    others(container definition) gives the lines of containers not in `lines`."""
    from .rollout import put_container_logs

    td = backend.describe_task_definition(task.task_definition_arn)
    for c in td.container_definitions:
        text = lines.get(c.get("name"))
        if text is None:
            text = others(c) if others else []
        put_container_logs(backend, c, task.id, text)
