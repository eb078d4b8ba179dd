"""`deployer port-forward --local-port N [--remote-port P] [--remote-host H]`: a local port forwarded
into a running task of the service (or through it to a host it reaches, a database say), through
ECS Exec's agent: SSM StartSession with AWS-StartPortForwardingSession(ToRemoteHost) on the target
`ecs:<cluster>_<task id>_<runtime id>`, then the Session Manager plugin until Ctrl-C."""

from __future__ import annotations

from ..aws import sessions
from ..core.errors import BadInput
from ..release import exec_target


def port_forward(run, *, local_port: int, remote_port: int | None = None, remote_host: str | None = None,
                 task: str | None = None, container: str | None = None, service: str | None = None) -> dict:
    plugin = exec_target.plugin_path()
    cluster = run.environment.cluster
    svc, live = run.live_services([service or run.config.service.name], must_exist=True)[0]
    remote_port = remote_port or svc.port
    if not remote_port:
        raise BadInput("--remote-port: give the port to reach (service.port is not set in the config)")
    exec_target.require_exec_enabled(run, svc, live)
    chosen, found = exec_target.choose(run, svc, task=task, container=container)
    task_id = chosen["taskArn"].rsplit("/", 1)[-1]
    parameters = {"portNumber": [str(remote_port)], "localPortNumber": [str(local_port)]}
    document = sessions.PORT_FORWARDING
    if remote_host:
        document = sessions.PORT_FORWARDING_REMOTE
        parameters["host"] = [remote_host]
    where = f"{remote_host}:{remote_port} through task {task_id}" if remote_host else f"port {remote_port} of task {task_id}"
    run.console.step(f"{svc.name}: localhost:{local_port} → {where} (Ctrl-C ends it)")
    response, request, endpoint = sessions.start_session(run.aws, exec_target.target(cluster, chosen, found), document, parameters)
    code = exec_target.run_plugin(plugin, response, run.aws.region, sessions.profile_name(run.aws), request, endpoint)
    return {"cluster": cluster, "service": svc.name, "task": task_id, "document": document, "local_port": local_port,
            "remote_port": remote_port, "remote_host": remote_host, "session_id": response.get("SessionId"), "exit_code": code}
