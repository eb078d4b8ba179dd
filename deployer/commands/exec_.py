"""`deployer exec [--task ID] [--container NAME] -- CMD`: a command (default: a shell) in a running
task of the service, through ECS Exec: ExecuteCommand, then the Session Manager plugin with the
session (as `aws ecs execute-command` does). The exit code is the plugin's."""

from __future__ import annotations

import shlex

from ..aws.sessions import profile_name
from ..release import exec_target

DEFAULT_COMMAND = ["/bin/sh"]


def exec_(run, *, command: list[str], task: str | None = None, container: str | None = None, service: str | None = None) -> dict:
    plugin = exec_target.plugin_path()
    cluster = run.environment.cluster
    svc, live = run.live_services([service or run.config.service.name], must_exist=True)[0]
    exec_target.require_exec_enabled(run, svc, live)
    chosen, found = exec_target.choose(run, svc, task=task, container=container)
    task_id = chosen["taskArn"].rsplit("/", 1)[-1]
    shown = shlex.join(command or DEFAULT_COMMAND)
    run.console.step(f"{svc.name}: {shown} in task {task_id}, container {found['name']} (ECS Exec)")
    response = run.ecs.execute_command(cluster, chosen["taskArn"], found["name"], shown)
    session = response.get("session") or {}
    request = {"Target": exec_target.target(cluster, chosen, found)}
    code = exec_target.run_plugin(plugin, session, run.aws.region, profile_name(run.aws), request, run.ecs.endpoint_url)
    return {"cluster": cluster, "service": svc.name, "task": task_id, "container": found["name"], "command": shown,
            "session_id": session.get("sessionId"), "exit_code": code}
