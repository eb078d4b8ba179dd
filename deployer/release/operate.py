"""An UpdateService that is not a release (`deployer scale`, `deployer restart`), watched to the same
verdicts as a release and then until the service is steady: its running count equals the desired
count, nothing pending, one deployment left.

No rollback to another revision here: the service keeps the revision it runs. A restart whose new
tasks fail is ECS's to roll back (the circuit breaker puts the previous deployment back, which runs
the same revision); deployer reports the failure (exit 1) and says how to go back further.
"""

from __future__ import annotations

import time

from . import deploy as pipeline, rollout
from ..aws.ecs import find_in_progress, primary_deployment, short_name
from ..core.errors import BadInput, DeploymentFailed, Interrupted

STEADY_INTERVAL = 1.0


def refuse_in_progress(live: dict, force: bool, command: str) -> None:
    running = find_in_progress(live)
    if running and not force:
        raise BadInput(
            f"{live.get('serviceName')}: deployment {running.get('id')} of {short_name(running.get('taskDefinition'))} is in progress; "
            f"`deployer {command}` would interfere with it",
            hint="wait for it (`deployer wait`), or pass --force",
        )


def update_and_watch(run, name: str, live: dict, params: dict, *, command: str) -> dict:
    """UpdateService(params) on `name` and its verdict. Returns the entry of the result."""
    cluster = run.environment.cluster
    seen = {name: rollout.event_ids(live)}
    before = (primary_deployment(live) or {}).get("id")
    started_at = time.time()
    service = run.ecs.update_service(cluster, name, params)
    primary = primary_deployment(service) or {}
    started_new = bool(primary.get("id")) and primary.get("id") != before
    revision = service.get("taskDefinition") or live.get("taskDefinition")
    entry = {"service": name, "task_definition": revision, "desired_count": service.get("desiredCount"),
             "deployment_id": primary.get("id"), "new_deployment": started_new, "status": "started", "verdict": None}
    target = rollout.Target(name, primary.get("id"), revision, started_at=started_at, seen=not started_new)
    if started_new:
        pipeline.record_release(run, service.get("serviceArn"), target)  # `deployer wait` follows this one
    if run.options.no_wait:
        return entry
    try:
        verdict = rollout.watch(run.ecs, cluster, [target], timeout=run.timeout, console=run.console, since_events=seen,
                                just_started=started_new)[name]
        entry["verdict"] = verdict.state
        if not verdict.ok:
            entry["status"] = "failed"
            raise DeploymentFailed(f"{name}: {command} failed: {verdict.state}: {verdict.reason}", result={"services": [entry]},
                                   hint=_failure_hint(command, revision))
        steady = wait_steady(run, cluster, name, deadline=time.monotonic() + run.timeout)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while watching the {command} of {name}: ECS goes on",
                          hint="`deployer wait` follows it to its verdict; `deployer status` shows where it stands") from None
    entry.update(status="steady", running_count=steady.get("runningCount"), desired_count=steady.get("desiredCount"))
    if started_new and steady.get("desiredCount"):
        pipeline.mark_healthy(run, revision)
    return entry


def _failure_hint(command: str, revision: str | None) -> str:
    if command == "restart":
        return (f"the service stays on {short_name(revision)} (a restart starts the same revision: ECS's circuit breaker, "
                "when enabled, brings the previous tasks' deployment back; nothing older is deployed); "
                "`deployer rollback` goes back to the last healthy earlier revision")
    return "`deployer status` shows the service's events and tasks"


def wait_steady(run, cluster: str, name: str, *, deadline: float) -> dict:
    """Poll DescribeServices until running == desired, nothing pending and one deployment."""
    shown = None
    while True:
        service = run.ecs.describe_service(cluster, name)
        if service is None:
            raise DeploymentFailed(f"{name}: the service no longer exists")
        counts = (service.get("runningCount"), service.get("desiredCount"), service.get("pendingCount"), len(service.get("deployments") or []))
        if counts != shown:
            run.console.info(f"{name}: {counts[0]}/{counts[1]} running, {counts[2]} pending, {counts[3]} deployment(s)")
            shown = counts
        if counts[0] == counts[1] and not counts[2] and counts[3] <= 1:
            return service
        if time.monotonic() >= deadline:
            raise DeploymentFailed(f"{name}: not steady after {run.timeout}s: {counts[0]}/{counts[1]} running, {counts[2]} pending",
                                   result={"services": [{"service": name, "status": "timeout", "running_count": counts[0], "desired_count": counts[1]}]},
                                   hint="`deployer status` shows the service's events; wait longer with --timeout")
        time.sleep(STEADY_INTERVAL)
