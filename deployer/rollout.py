"""Watching a rollout and giving the verdict.

Success means: the deployment *this run started* reached rolloutState COMPLETED and the service
runs the revision this run deployed. A service "stable" on another revision (the circuit breaker
rolled it back) is a failure; so is FAILED and the timeout. The deployment is followed by its id,
wherever it sits in the list: during ECS's own rollback the failed one may be listed as ACTIVE.

One DescribeServices call per poll serves every service of a release. The poll interval starts at
1 s and stretches to 2 s, so a verdict is seen within 2 s and long rollouts cost fewer calls.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from .aws import is_transient
from .ecs import Ecs, primary_deployment, short_name
from .errors import ExternalError

FIRST_INTERVAL = 1.0
MAX_INTERVAL = 2.0
STRETCH = 0.05  # seconds added to the interval after each poll
MAX_SKIPPED_POLLS = 20  # transient failures in a row before the watch gives up (exit 3)


@dataclass
class Target:
    service: str
    deployment_id: str | None
    task_definition: str  # the ARN the service must end on


@dataclass
class Verdict:
    service: str
    ok: bool
    state: str  # COMPLETED | FAILED | ROLLED_BACK_BY_ECS | REPLACED | TIMEOUT | MISSING
    reason: str = ""
    deployment_id: str | None = None
    running_task_definition: str | None = None
    ecs_rollback_deployment: str | None = None  # the deployment ECS started to roll back, if any
    failed_tasks: int = 0


def find_deployment(service: dict, deployment_id: str | None) -> dict | None:
    for deployment in service.get("deployments", []):
        if deployment.get("id") == deployment_id:
            return deployment
    return None


def judge(service: dict | None, target: Target) -> Verdict | None:
    """The verdict for one service from one DescribeServices answer; None means: keep watching."""
    name = target.service
    if service is None:
        return Verdict(name, False, "MISSING", "the service no longer exists (deleted or INACTIVE)", target.deployment_id)
    running = service.get("taskDefinition")
    ours = find_deployment(service, target.deployment_id) if target.deployment_id else None
    primary = primary_deployment(service) or {}
    other_primary = primary if primary.get("id") != target.deployment_id else {}
    rollback = other_primary.get("id") if other_primary and other_primary.get("taskDefinition") != target.task_definition else None

    def verdict(ok: bool, state: str, reason: str) -> Verdict:
        failed = (ours or {}).get("failedTasks", 0) or 0
        return Verdict(name, ok, state, reason, target.deployment_id, running, rollback, failed)

    if ours is None:
        # Our deployment left the list: either it completed and was merged away, or ECS rolled it back.
        settled = primary.get("rolloutState") == "COMPLETED" or (
            primary.get("rolloutState") is None and len(service.get("deployments", [])) == 1 and service.get("runningCount") == service.get("desiredCount")
        )
        if running == target.task_definition and settled:
            return verdict(True, "COMPLETED", f"{name} runs {short_name(running)}")
        if target.deployment_id is None and running == target.task_definition:
            return None if not settled else verdict(True, "COMPLETED", "")
        if running != target.task_definition:
            state = "ROLLED_BACK_BY_ECS" if rollback else "REPLACED"
            return verdict(False, state, f"deployment {target.deployment_id} is gone; {name} runs {short_name(running)}, not {short_name(target.task_definition)}")
        return None

    state = ours.get("rolloutState")
    if state == "FAILED":
        reason = ours.get("rolloutStateReason") or "rolloutState FAILED"
        if rollback:
            return verdict(False, "ROLLED_BACK_BY_ECS", f"{reason.rstrip('.')}; ECS is rolling back to {short_name(other_primary.get('taskDefinition'))}")
        return verdict(False, "FAILED", reason)
    if state == "COMPLETED":
        if running == target.task_definition:
            return verdict(True, "COMPLETED", ours.get("rolloutStateReason") or "deployment completed")
        return verdict(False, "REPLACED", f"deployment completed but {name} runs {short_name(running)}, not {short_name(target.task_definition)}")
    if state is None and len(service.get("deployments", [])) == 1 and ours.get("runningCount") == ours.get("desiredCount") and running == target.task_definition:
        return verdict(True, "COMPLETED", "single deployment at desired count (no rolloutState: not the ECS deployment controller)")
    return None


@dataclass
class _Progress:
    seen_events: set = field(default_factory=set)
    last_line: dict = field(default_factory=dict)


def watch(
    ecs: Ecs,
    cluster: str,
    targets: list[Target],
    *,
    timeout: float,
    console,
    since_events: dict[str, set] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    just_started: bool = True,
    observer: Callable | None = None,
) -> dict[str, Verdict]:
    """Poll until every target has a verdict or the timeout passes; stream new events and progress.

    just_started: the deployments were started a moment ago and cannot have a verdict yet, so the
    first look waits one interval (a call saved); `deployer wait` looks at once.
    """
    deadline = clock() + timeout
    if just_started:
        sleep(FIRST_INTERVAL)
    pending = {t.service: t for t in targets}
    verdicts: dict[str, Verdict] = {}
    # The caller's sets are updated in place: a later watch (the rollback's) does not repeat events.
    since_events = since_events if since_events is not None else {}
    progress = {name: _Progress(seen_events=since_events.setdefault(name, set())) for name in pending}
    with console.activity(f"watching {', '.join(pending)}") as activity:
        return _poll(ecs, cluster, pending, progress, verdicts, deadline, timeout, console, activity, sleep, clock, observer)


def _poll(ecs, cluster, pending, progress, verdicts, deadline, timeout, console, activity, sleep, clock, observer=None):
    interval = FIRST_INTERVAL
    last: dict[str, dict | None] = {}
    failures = 0
    while True:
        try:
            described = ecs.describe_services(cluster, list(pending), attempts=1)
            failures = 0
        except ExternalError as exc:
            # Throttled or a 5xx: no answer this time. The next poll is the retry (at most one call per
            # interval, so the shared throttling bucket is spared); a verdict is not delayed by backoff.
            failures += 1
            if not is_transient(exc.__cause__) or failures > MAX_SKIPPED_POLLS or clock() >= deadline:
                raise
            console.debug(f"no answer from DescribeServices ({exc.message}); asking again next poll")
            sleep(interval)
            continue
        last.update(described)
        for name, service in described.items():
            _report(console, name, service, pending[name], progress[name])
            result = judge(service, pending[name])
            if result is None and observer is not None and service is not None:
                result = observer(name, service, pending[name])  # lifecycle stages (strategies.StageWatch)
            if result is not None:
                verdicts[name] = result
        for name in verdicts:
            pending.pop(name, None)
        if not pending:
            return verdicts
        activity.update("watching " + "; ".join(progress[name].last_line.get(name, name) for name in pending))
        remaining = deadline - clock()
        if remaining <= 0:
            for name, target in pending.items():
                service = last.get(name) or {}
                ours = find_deployment(service, target.deployment_id) or {}
                verdicts[name] = Verdict(
                    name,
                    False,
                    "TIMEOUT",
                    f"timed out after {timeout:.0f}s: deployment {target.deployment_id} is {ours.get('rolloutState', 'unknown')}, "
                    f"{ours.get('runningCount', 0)}/{ours.get('desiredCount', '?')} running, {ours.get('failedTasks', 0)} failed tasks",
                    target.deployment_id,
                    service.get("taskDefinition"),
                    failed_tasks=ours.get("failedTasks", 0) or 0,
                )
            return verdicts
        sleep(min(interval, remaining))
        interval = min(MAX_INTERVAL, interval + STRETCH)


def _report(console, name: str, service: dict | None, target: Target, progress: _Progress) -> None:
    if service is None:
        return
    new_events = [e for e in service.get("events", []) if e.get("id") not in progress.seen_events]
    for event in reversed(new_events):  # ECS lists newest first
        progress.seen_events.add(event.get("id"))
        console.event(event.get("message", ""))
    ours = find_deployment(service, target.deployment_id)
    if ours:
        line = (
            f"{name}: {short_name(ours.get('taskDefinition'))} {ours.get('runningCount', 0)}/{ours.get('desiredCount', 0)} running, "
            f"{ours.get('pendingCount', 0)} pending, {ours.get('failedTasks', 0)} failed ({ours.get('rolloutState', '?')})"
        )
        if progress.last_line.get(name) != line:
            progress.last_line[name] = line
            console.info(line)


def event_ids(service: dict | None) -> set:
    """Events already there before this run started: not news for the watch."""
    return {e.get("id") for e in (service or {}).get("events", [])}
