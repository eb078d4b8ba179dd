"""Say why a rollout failed: its reason, the stopped tasks, their exit codes, their last log lines."""

from __future__ import annotations

from ..aws import monitoring
from ..core.console import untrusted_line
from ..aws.ecs import short_name

MAX_TASKS = 3
LOG_LINES = 10


def diagnose(run, cluster: str, verdict) -> list[str]:
    """Print and return the diagnosis lines. Best effort: a failure here never hides the verdict.

    Every piece of text from ECS (stopped reasons, container reasons, alarm reasons) and from the
    app (its log lines) is quoted (masked, control characters escaped) before it is put in a line;
    log lines are printed as `  app| ...` lines. The values of the stopped tasks' `secrets` are
    learnt first, so an app that logs them, or exits with one in its reason, does not print them."""
    lines: list[str] = []
    try:
        lines = _collect(run, cluster, verdict)
    except Exception as exc:  # noqa: BLE001 - diagnosis must not mask the real failure
        lines = [f"(could not collect the stopped tasks: {run.console.quote(exc)})"]
    lines = [run.secrets.mask(line) for line in lines]  # the returned lines go into the JSON result too
    for line in lines:
        run.console.error(line) if not line.startswith(" ") else run.console.info(line)
    return lines


def _collect(run, cluster: str, verdict) -> list[str]:
    cause = getattr(verdict, "cause", "")
    if cause == "deleted":  # the tasks stopped because the service went: nothing of theirs explains it
        return []
    if cause == "placement":  # no task of the deployment ever ran: ECS's event is the reason, not older tasks
        return [f"{verdict.service}: no task of deployment {verdict.deployment_id} was placed; ECS said: {verdict.event}"]
    if getattr(verdict, "triggered_alarms", None) or "alarm" in (verdict.reason or "").lower():
        # An alarm failed the release: the tasks ECS's rollback stopped say nothing about why.
        lines = _alarm_lines(run, cluster, verdict)
        if lines:
            return lines
    lines: list[str] = []
    tasks = run.ecs.stopped_tasks(cluster, started_by=verdict.deployment_id, service=verdict.service)
    if not tasks:
        return [f"{verdict.service}: no stopped tasks found for deployment {verdict.deployment_id}"]
    tasks = [t for t in tasks if not verdict.deployment_id or t.get("startedBy") in (None, verdict.deployment_id)] or tasks
    tasks.sort(key=lambda t: str(t.get("stoppedAt") or ""), reverse=True)
    # Tasks that failed the same way are reported once, with their ids, and the logs of the newest.
    groups: dict[tuple, list[dict]] = {}
    for task in tasks:
        signature = (
            task.get("taskDefinitionArn"),
            task.get("stoppedReason"),
            tuple((c.get("name"), c.get("exitCode"), c.get("reason")) for c in task.get("containers", [])),
        )
        groups.setdefault(signature, []).append(task)
    shown = list(groups.values())[:MAX_TASKS]
    log_configs = _log_configs(run, [group[0] for group in shown])
    quote = run.console.quote
    for group in shown:
        task = group[0]
        ids = [t["taskArn"].rsplit("/", 1)[-1] for t in group]
        label = f"task {ids[0]}" if len(ids) == 1 else f"{len(ids)} tasks ({', '.join(i[:8] for i in ids[:5])}{'…' if len(ids) > 5 else ''})"
        lines.append(f"{label} of {short_name(task.get('taskDefinitionArn'))} stopped: {quote(task.get('stoppedReason', 'no reason given'))}")
        for container in task.get("containers", []):
            exit_code = container.get("exitCode")
            reason = container.get("reason")
            lines.append(f"  container {quote(container.get('name'))}: exit code {exit_code if exit_code is not None else '-'}" + (f", {quote(reason)}" if reason else ""))
            cfg = log_configs.get((task.get("taskDefinitionArn"), container.get("name")))
            if cfg:
                lines.append(f"  last log lines of task {ids[0]}:")
                lines.extend("  " + untrusted_line("app", line) for line in _log_tail(run, cfg, container.get("name"), ids[0]))
    if len(groups) > MAX_TASKS:
        lines.append(f"... and {len(groups) - MAX_TASKS} more kinds of stopped tasks")
    return lines


def _alarm_lines(run, cluster: str, verdict) -> list[str]:
    names = list(getattr(verdict, "triggered_alarms", None) or [])
    if not names:  # without ECS's record: the service's alarms that are in ALARM now
        service = run.ecs.describe_service(cluster, verdict.service) or {}
        names = ((service.get("deploymentConfiguration") or {}).get("alarms") or {}).get("alarmNames") or []
    if not names:
        return []
    alarms = monitoring.alarms(run.aws, names)
    fired = [a for a in alarms if a.get("StateValue") == "ALARM" or a["AlarmName"] in (getattr(verdict, "triggered_alarms", None) or [])]
    quote = run.console.quote
    return [f"alarm {quote(a['AlarmName'])} fired ({quote(a.get('StateValue'))} since {a.get('StateUpdatedTimestamp')}): {quote(a.get('StateReason'))}" for a in fired]


def _log_configs(run, tasks: list[dict]) -> dict:
    """(task definition ARN, container) → awslogs options, for containers that log to CloudWatch."""
    from .secret_values import learn_container_secrets

    found = {}
    for arn in {t.get("taskDefinitionArn") for t in tasks if t.get("taskDefinitionArn")}:
        containers = run.ecs.revision(arn).definition.get("containerDefinitions", [])
        # Before any reason or log line is printed. Those it cannot read are only said at debug level: the
        # release role has no GetSecretValue by design (`logs` and `run` warn; see secret_values.unmasked_warning).
        learn_container_secrets(run, containers)
        for container in containers:
            log = container.get("logConfiguration") or {}
            if log.get("logDriver") == "awslogs":
                found[(arn, container.get("name"))] = log.get("options", {})
    return found


def _log_tail(run, options: dict, container: str, task_id: str) -> list[str]:
    group, prefix = options.get("awslogs-group"), options.get("awslogs-stream-prefix")
    if not group or not prefix:
        return []
    try:
        events, _ = monitoring.log_events(run.aws, group, f"{prefix}/{container}/{task_id}", region=options.get("awslogs-region"),
                                          limit=LOG_LINES, from_head=False)
    except Exception:  # noqa: BLE001 - the stream may not exist (the task never started)
        return ["(no log stream)"]
    return [run.secrets.mask(e.get("message", "").rstrip("\n")) for e in events]


# ---- after the verdict: tasks that keep stopping ------------------------------------------------------
RECENT_STOPPED = 5
CRASH_LOOP_WINDOW = 600  # seconds: "in the last 10 minutes"
_ROUTINE = ("Scaling activity initiated by", "Service deleted", "Task stopped by user", "Deployment")


def _epoch(value) -> float | None:
    return value.timestamp() if hasattr(value, "timestamp") else None


def recent_stops(run, cluster: str, service: dict) -> tuple[list[dict], str | None]:
    """The service's last stopped tasks (newest first: reason, exit codes), and a warning when tasks of its
    deployment keep stopping after the deployment COMPLETED (a crash loop no circuit breaker watches any more).
    Every text from ECS is left as data: the caller prints it through console.untrusted / quote."""
    import time as _time

    name = service.get("serviceName")
    tasks = run.ecs.stopped_tasks(cluster, started_by=None, service=name)
    tasks.sort(key=lambda t: _epoch(t.get("stoppedAt")) or 0, reverse=True)
    stopped = [{
        "task": t.get("taskArn", "").rsplit("/", 1)[-1],
        "task_definition": t.get("taskDefinitionArn"),
        "deployment_id": t.get("startedBy"),
        "stopped_at": t["stoppedAt"].isoformat() if hasattr(t.get("stoppedAt"), "isoformat") else t.get("stoppedAt"),
        "stopped_reason": t.get("stoppedReason"),
        "stop_code": t.get("stopCode"),
        "containers": [{"name": c.get("name"), "exit_code": c.get("exitCode"), "reason": c.get("reason")} for c in t.get("containers", [])],
    } for t in tasks]
    primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), None) or {}
    warning = None
    if primary.get("rolloutState") == "COMPLETED":
        needle = f"(deployment {primary.get('id')}) deployment completed"
        done = next((_epoch(e.get("createdAt")) for e in service.get("events", []) if needle in (e.get("message") or "")), None)
        # The "deployment completed" event may have left the last 100 events (a busy crash loop): then it
        # completed before them, and the window alone counts.
        since = max(done or 0, _time.time() - CRASH_LOOP_WINDOW)
        after = [t for t in tasks if t.get("startedBy") == primary.get("id") and (_epoch(t.get("stoppedAt")) or 0) > since
                 and not any((t.get("stoppedReason") or "").startswith(r) for r in _ROUTINE)]
        if after:
            latest = after[0]
            codes = ", ".join(f"{c.get('name')}: exit code {c.get('exitCode')}" + (f" ({c['reason']})" if c.get("reason") else "")
                              for c in latest.get("containers", []) if c.get("exitCode") not in (None, 0, 137, 143) or c.get("reason")) or \
                ", ".join(f"{c.get('name')}: exit code {c.get('exitCode')}" for c in latest.get("containers", []))
            warning = (f"{len(after)} task{'s' if len(after) != 1 else ''} stopped in the last {CRASH_LOOP_WINDOW // 60} minutes after the deployment "
                       f"completed: {latest.get('stoppedReason') or 'no reason given'}; {codes} — ECS keeps replacing them "
                       f"({service.get('runningCount', 0)}/{service.get('desiredCount', 0)} running)")
    return stopped[:RECENT_STOPPED], warning
