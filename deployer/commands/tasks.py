"""`deployer tasks`: the service's tasks (running, and stopped in about the last hour, as ECS lists
them) with revision, status, health, start and stopped reason; `deployer tasks stop ID`: StopTask
with a reason naming deployer (ECS starts a replacement to keep the desired count)."""

from __future__ import annotations

from ..aws.ecs import short_name
from ..core.console import quote_untrusted
from ..core.errors import BadInput


def _when(value) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _row(task: dict) -> dict:
    return {
        "id": task["taskArn"].rsplit("/", 1)[-1],
        "task_arn": task["taskArn"],
        "task_definition": task.get("taskDefinitionArn"),
        "last_status": task.get("lastStatus"),
        "desired_status": task.get("desiredStatus"),
        "health": task.get("healthStatus"),
        "started_at": _when(task.get("startedAt")),
        "stopped_at": _when(task.get("stoppedAt")),
        "stopped_reason": task.get("stoppedReason") or None,
        "started_by": task.get("startedBy"),
        "exec_enabled": task.get("enableExecuteCommand"),
        "containers": [{"name": c.get("name"), "last_status": c.get("lastStatus"), "exit_code": c.get("exitCode"), "health": c.get("healthStatus")}
                       for c in task.get("containers") or []],
    }


def tasks(run, *, service: str | None = None) -> dict:
    cluster = run.environment.cluster
    svc, _ = run.live_services([service or run.config.service.name], must_exist=True)[0]
    rows = [_row(t) for t in run.ecs.service_tasks(cluster, svc.name)]
    rows.sort(key=lambda r: (r["last_status"] == "STOPPED", str(r["started_at"] or "")), reverse=False)
    return {"cluster": cluster, "service": svc.name, "tasks": rows}


def text(run, result: dict) -> str | None:
    rows = result["tasks"]
    if not rows:
        return f"{result['service']}: no running or recently stopped task"
    header = ("TASK", "REVISION", "STATUS", "HEALTH", "STARTED", "STOPPED REASON")
    table = [(r["id"], short_name(r["task_definition"]) or "-", r["last_status"] or "-", r["health"] or "-",
              (r["started_at"] or "-")[:19], quote_untrusted(r["stopped_reason"] or "")) for r in rows]
    widths = [max(len(str(x[i])) for x in [header, *table]) for i in range(5)]
    return "\n".join("  ".join(str(v).ljust(widths[i]) if i < 5 else str(v) for i, v in enumerate(line)).rstrip() for line in [header, *table])


def stop(run, *, task: str, service: str | None = None) -> dict:
    from ..release.lease import whoami

    cluster = run.environment.cluster
    svc, _ = run.live_services([service or run.config.service.name], must_exist=True)[0]
    wanted = task.rsplit("/", 1)[-1]
    found = [t for t in run.ecs.service_tasks(cluster, svc.name, stopped=False)
             if t["taskArn"].rsplit("/", 1)[-1] == wanted or (len(wanted) >= 6 and t["taskArn"].rsplit("/", 1)[-1].startswith(wanted))]
    if not found:
        raise BadInput(f"{task}: no running task of {svc.name} with this id (see `deployer tasks`)")
    if len(found) > 1:
        raise BadInput(f"{task}: matches {len(found)} tasks of {svc.name}; give more of the id")
    arn = found[0]["taskArn"]
    task_id = arn.rsplit("/", 1)[-1]
    run.confirm(f"Stop task {task_id} of {svc.name}? (ECS starts a replacement)")
    reason = f"stopped by deployer tasks stop ({whoami()})"[:255]
    result = {"cluster": cluster, "service": svc.name, "task": task_id, "task_arn": arn, "reason": reason, "status": "planned"}
    if run.options.dry_run:
        return result
    stopped = run.ecs.stop_task(cluster, arn, reason)
    result.update(status="stopping", desired_status=stopped.get("desiredStatus"), last_status=stopped.get("lastStatus"))
    run.console.ok(f"task {task_id}: stopping, reason: {reason}; ECS replaces it to keep the desired count")
    return result


def stop_text(run, result: dict) -> str | None:
    return f"{result['task']}: {result['status']}"
