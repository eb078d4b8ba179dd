"""ECS Exec, shared by `deployer exec` and `deployer port-forward`: the Session Manager plugin, the
service's ECS Exec setting, the task and container to connect to, and running the plugin as the
AWS CLI does (`session-manager-plugin <session JSON> <region> StartSession <profile> <request JSON>
<endpoint>`, Ctrl-C left to the plugin)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess

from ..aws.ecs import short_name
from ..core.errors import BadInput

PLUGIN = "session-manager-plugin"
INSTALL_HINT = ("install the Session Manager plugin: https://docs.aws.amazon.com/systems-manager/latest/userguide/"
                "session-manager-working-with-install-plugin.html (macOS: `brew install --cask session-manager-plugin`); "
                f"`{PLUGIN}` must be on PATH")


def plugin_path() -> str:
    found = shutil.which(PLUGIN)
    if not found:
        raise BadInput(f"the Session Manager plugin (`{PLUGIN}`) is not on PATH: ECS Exec needs it", hint=INSTALL_HINT)
    return found


def require_exec_enabled(run, svc, live: dict) -> None:
    if not live.get("enableExecuteCommand"):
        path = getattr(svc, "definition", None)
        definition = path.name if path is not None else "the service definition"
        raise BadInput(
            f"{svc.name}: ECS Exec is not enabled on the service (enableExecuteCommand is false)",
            hint=f'set "enableExecuteCommand": true in {definition} and release (the tasks it starts then accept ECS Exec; '
                 "the task role needs ssmmessages:CreateControlChannel, CreateDataChannel, OpenControlChannel, OpenDataChannel — `deployer verify` checks it)",
        )


def choose(run, svc, *, task: str | None, container: str | None) -> tuple[dict, dict]:
    """(task, container) to connect to: --task or the newest running task; --container or service.container."""
    cluster = run.environment.cluster
    running = [t for t in run.ecs.service_tasks(cluster, svc.name, stopped=False) if t.get("lastStatus") == "RUNNING"]
    if task:
        wanted = task.rsplit("/", 1)[-1]
        running = [t for t in running if t["taskArn"].rsplit("/", 1)[-1] == wanted or (len(wanted) >= 6 and t["taskArn"].rsplit("/", 1)[-1].startswith(wanted))]
        if len(running) != 1:
            raise BadInput(f"--task {task}: {'no' if not running else 'more than one'} RUNNING task of {svc.name} with this id (see `deployer tasks`)")
    if not running:
        raise BadInput(f"{svc.name}: no RUNNING task to connect to (see `deployer tasks`)")
    chosen = max(running, key=lambda t: str(t.get("startedAt") or ""))
    task_id = chosen["taskArn"].rsplit("/", 1)[-1]
    if chosen.get("enableExecuteCommand") is False:
        raise BadInput(f"task {task_id} was started without ECS Exec (before it was enabled on {svc.name})",
                       hint="`deployer restart` replaces the tasks with ones that accept ECS Exec")
    name = container or svc.container
    found = next((c for c in chosen.get("containers") or [] if c.get("name") == name), None)
    if found is None:
        names = ", ".join(c.get("name", "?") for c in chosen.get("containers") or [])
        raise BadInput(f"--container {name}: task {task_id} ({short_name(chosen.get('taskDefinitionArn'))}) has no such container (it has: {names})")
    agent = next((a for a in found.get("managedAgents") or [] if a.get("name") == "ExecuteCommandAgent"), None)
    if agent is not None and agent.get("lastStatus") not in (None, "RUNNING"):
        run.console.warn(f"task {task_id}: the ECS Exec agent of `{name}` is {agent.get('lastStatus')}: {run.console.quote(agent.get('reason') or '')}")
    return chosen, found


def target(cluster: str, task: dict, container: dict) -> str:
    """The SSM target of a container: ecs:<cluster>_<task id>_<runtime id>."""
    return f"ecs:{cluster}_{task['taskArn'].rsplit('/', 1)[-1]}_{container.get('runtimeId') or ''}"


def run_plugin(plugin: str, session: dict, region: str, profile: str, request: dict, endpoint: str) -> int:
    """The plugin in the foreground; deployer ignores Ctrl-C meanwhile (the session's to handle). Its exit code."""
    argv = [plugin, json.dumps(session), region, "StartSession", profile, json.dumps(request), endpoint]
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return subprocess.call(argv)
    finally:
        signal.signal(signal.SIGINT, previous)
