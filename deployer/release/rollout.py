"""Watching a rollout and giving the verdict.

Success means: the deployment *this run started* reached its end (ECS's record: SUCCESSFUL; else
rolloutState COMPLETED) and the service runs the revision this run deployed. A service "stable" on
another revision (the circuit breaker rolled it back) is a failure; so is FAILED, ECS's rollback
(ROLLBACK_* in ECS's record) and a timeout with no progress. A deployment replaced by someone else's
(the console, another tool) is SUPERSEDED: a failure that must not be rolled back.

Where ECS answers the Service Deployments API, the verdict follows ECS's own record of the deployment
(matched by creation time and target revision); where it is denied or absent, DescribeServices alone,
following the deployment by its id wherever it sits in the list. One DescribeServices call per poll
serves every service (and one DescribeServiceDeployments call every record); the poll interval starts
at 1 s and stretches to 2 s; a throttled poll is asked again after a fraction of a second.
"""

from __future__ import annotations

import math
import os
import random
import time
from dataclasses import dataclass, field
from typing import Callable

from ..aws.session import is_transient
from ..core.console import quote_untrusted
from ..aws.ecs import ApiUnavailable, ClusterNotFound, Ecs, primary_deployment, short_name
from ..core.errors import BadInput, ExternalError
from . import rollout

FIRST_INTERVAL = 1.0
MAX_INTERVAL = 2.0
STRETCH = 0.05  # seconds added to the interval after each poll
FIRST_RETRY = 0.15  # a throttled or failed poll is asked again after about this long, not a whole interval;
# then twice as long each time (to MAX_INTERVAL), jittered ×0.5–1.5 so callers sharing the throttling bucket spread out
RECORD_ROLLBACK = ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")


# The watch's windows, in seconds: DEPLOYER_* variables override them, read when used (never at import);
# check_windows() refuses a bad value when a command starts, before anything changes.
def unseen_window() -> float:
    """A deployment this run started but DescribeServices has not listed yet (the API is eventually
    consistent) is pending this long; then the watch ends with what it saw."""
    return _seconds("DEPLOYER_UNSEEN_WINDOW", 30)


def lost_sight_after() -> float:
    """No answer from ECS for this long (throttling, network): the watch ends with exit 3 and how to resume."""
    return _seconds("DEPLOYER_LOST_SIGHT_AFTER", 60)


def placement_confirm() -> float:
    """A placement failure ("was unable to place a task") ends the watch once it has held this long with no
    task of the deployment placed since: ECS retries placement, and a brief lack of capacity may pass."""
    return _seconds("DEPLOYER_PLACEMENT_CONFIRM", 10)


def _seconds(variable: str, default: float) -> float:
    """A window in seconds from the environment, read when it is used (not when the module is imported)."""
    raw = os.environ.get(variable)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise BadInput(f"{variable}={raw[:40]!r}: must be a number of seconds, 0 or more")
    return value


def check_windows() -> None:
    """A bad DEPLOYER_* window is refused (exit 2) when a command starts, not in the middle of a watch."""
    unseen_window(), lost_sight_after(), placement_confirm()


PLACEMENT_EVENTS = ("was unable to place a task", "no container instance met all of its requirements", "capacity is unavailable")


@dataclass
class Target:
    service: str
    deployment_id: str | None
    task_definition: str  # the ARN the service must end on
    started_at: float | None = None  # epoch seconds just before the call that started it (ECS record match)
    seen: bool = True  # listed by DescribeServices at least once; False for a deployment this run just started
    # Following ECS's own rollback of this service deployment (the record ending ROLLBACK_SUCCESSFUL = success).
    rollback_of: str | None = None
    service_deployment: str | None = None  # ECS's record, once matched


@dataclass
class Verdict:
    service: str
    ok: bool
    state: str  # COMPLETED | FAILED | ROLLED_BACK_BY_ECS | SUPERSEDED | TIMEOUT | MISSING
    reason: str = ""
    deployment_id: str | None = None
    running_task_definition: str | None = None
    ecs_rollback_deployment: str | None = None  # the deployment ECS started to roll back, if any
    failed_tasks: int = 0
    desired_count: int | None = None
    service_deployment: str | None = None  # ECS's record of the deployment (Service Deployments API)
    ecs_rollback_task_definition: str | None = None  # where ECS's rollback goes
    triggered_alarms: list[str] = field(default_factory=list)
    progressing: bool = False  # TIMEOUT only: tasks were still being replaced (slow, not stuck)
    # What deployer judged by itself: "failed_tasks" (no circuit breaker, failed tasks over the threshold),
    # "placement" (ECS could not place the tasks: `event` says why), "deleted" (the service or cluster is gone).
    cause: str = ""
    event: str = ""  # placement: ECS's event

    def __post_init__(self) -> None:
        # The reason quotes ECS (rolloutStateReason, a record's statusReason, an event): data, on one
        # line with its control characters escaped, wherever the verdict is printed.
        self.reason = quote_untrusted(self.reason)
        self.event = quote_untrusted(self.event) if self.event else ""


class LostSight(ExternalError):
    """The watch could not see the deployment for long, or never saw it: exit 3, where things stand."""


def find_deployment(service: dict, deployment_id: str | None) -> dict | None:
    for deployment in service.get("deployments", []):
        if deployment.get("id") == deployment_id:
            return deployment
    return None


def is_ecs_rollback(deployment: dict | None) -> bool:
    """ECS's own rollback deployment (circuit breaker, alarm) says so in its reason."""
    return "rolling back" in ((deployment or {}).get("rolloutStateReason") or "").lower()


def failure_event(service: dict, deployment_id: str | None) -> str | None:
    """ECS's event saying the deployment failed (it stays among the service's events after the rollback)."""
    needle = f"(deployment {deployment_id}) deployment failed"
    for event in service.get("events", []):
        message = event.get("message") or ""
        if deployment_id and needle in message:
            return "deployment failed" + message.split(needle, 1)[1].rstrip(".")
    return None


def failure_threshold(desired: int | None) -> int:
    """ECS's circuit-breaker threshold: half the desired count (rounded up), at least 3, at most 200."""
    return min(200, max(3, math.ceil(0.5 * (desired or 0))))


def breaker_enabled(service: dict) -> bool:
    return bool(((service.get("deploymentConfiguration") or {}).get("deploymentCircuitBreaker") or {}).get("enable"))


def gone(service: dict | None, target: Target) -> Verdict | None:
    """The service was deleted during the watch (DRAINING, INACTIVE, not found): a verdict at once."""
    status = (service or {}).get("status")
    if service is not None and status not in ("DRAINING", "INACTIVE"):
        return None
    what = f"{target.service} is {status}" if service is not None else f"{target.service} is INACTIVE or no longer exists"
    return Verdict(target.service, False, "DELETED", f"{what}: the service was deleted during the watch (by the console, CloudFormation, "
                   f"Terraform or another tool); deployment {target.deployment_id} of {short_name(target.task_definition)} ends with it",
                   target.deployment_id, (service or {}).get("taskDefinition"), cause="deleted")


def too_many_failed(service: dict, target: Target) -> Verdict | None:
    """Without a circuit breaker ECS never fails a deployment whose tasks keep dying (at start, on ELB
    health checks, in a crash after RUNNING): it replaces them forever, so the running counts move.
    Failed tasks are not progress: over ECS's own threshold, the deployment has failed."""
    ours = find_deployment(service, target.deployment_id) if target.deployment_id else None
    if not ours or breaker_enabled(service) or ours.get("rolloutState") not in (None, "IN_PROGRESS"):
        return None
    failed = int(ours.get("failedTasks") or 0)
    desired = ours.get("desiredCount") if ours.get("desiredCount") is not None else service.get("desiredCount")
    threshold = failure_threshold(desired)
    if failed < threshold:
        return None
    return Verdict(target.service, False, "FAILED",
                   f"{failed} tasks of {short_name(target.task_definition)} failed, {ours.get('runningCount', 0)}/{desired} running: the service has "
                   f"no circuit breaker, so ECS would replace them forever; deployer fails the deployment at ECS's threshold "
                   f"({threshold}: half the desired count, at least 3, at most 200)",
                   target.deployment_id, service.get("taskDefinition"), failed_tasks=failed, desired_count=service.get("desiredCount"),
                   service_deployment=target.service_deployment, cause="failed_tasks")


def placement_event(service: dict, ours: dict) -> dict | None:
    """ECS's newest "unable to place a task" event since the deployment was created."""
    created = ours.get("createdAt")
    for event in service.get("events", []):  # newest first
        message = (event.get("message") or "").lower()
        at = event.get("createdAt")
        if created is not None and at is not None and hasattr(at, "timestamp") and hasattr(created, "timestamp") and at.timestamp() < created.timestamp() - 1:
            break
        if any(p in message for p in PLACEMENT_EVENTS):
            return event
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
        return Verdict(name, ok, state, reason, target.deployment_id, running, rollback, failed, service.get("desiredCount"),
                       ecs_rollback_task_definition=other_primary.get("taskDefinition") if rollback else None)

    def superseded(why: str) -> Verdict:
        other = f"deployment {other_primary.get('id')} of {short_name(other_primary.get('taskDefinition'))}" if other_primary else f"{short_name(running)}"
        return verdict(False, "SUPERSEDED", f"{why}; replaced by {other}, which this run did not start (the console or another tool)")

    if ours is None:
        # Our deployment left the list: it completed and was merged away, ECS rolled it back, or another took over.
        settled = primary.get("rolloutState") == "COMPLETED" or (
            primary.get("rolloutState") is None and len(service.get("deployments", [])) == 1 and service.get("runningCount") == service.get("desiredCount")
        )
        if running == target.task_definition and settled:
            return verdict(True, "COMPLETED", f"{name} runs {short_name(running)}")
        if target.deployment_id is None and running == target.task_definition:
            return None if not settled else verdict(True, "COMPLETED", "")
        if running != target.task_definition:
            gone = f"deployment {target.deployment_id} is gone; {name} runs {short_name(running)}, not {short_name(target.task_definition)}"
            failure = failure_event(service, target.deployment_id)
            if rollback and (failure or is_ecs_rollback(other_primary)):
                return verdict(False, "ROLLED_BACK_BY_ECS", f"{gone}: {failure}" if failure else gone)
            return superseded(gone)
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
        return superseded(f"deployment {target.deployment_id} completed but {name} runs {short_name(running)}")
    if other_primary and not is_ecs_rollback(other_primary):
        return superseded(f"deployment {target.deployment_id} is no longer the service's primary")
    if state is None and len(service.get("deployments", [])) == 1 and ours.get("runningCount") == ours.get("desiredCount") and running == target.task_definition:
        return verdict(True, "COMPLETED", "single deployment at desired count (no rolloutState: not the ECS deployment controller)")
    return None


def judge_record(record: dict, target: Target, service: dict | None, rollback_to: str | None) -> Verdict | None:
    """The verdict from ECS's own record of the deployment; None: keep watching.

    rollback_to: the task definition of the service revision ECS rolls back to (if it does)."""
    name = target.service
    status = record.get("status")
    service = service or {}
    primary = primary_deployment(service) or {}
    breaker = record.get("deploymentCircuitBreaker") or {}
    alarms = record.get("alarms") or {}
    fired = list(alarms.get("triggeredAlarmNames") or [])
    failed = int(breaker.get("failureCount") or 0)

    def verdict(ok: bool, state: str, reason: str) -> Verdict:
        return Verdict(name, ok, state, reason, target.deployment_id, service.get("taskDefinition"),
                       primary.get("id") if rollback_to and primary.get("taskDefinition") == rollback_to else None,
                       failed, service.get("desiredCount"), record.get("serviceDeploymentArn"), rollback_to, fired)

    if target.rollback_of:  # following ECS's rollback of a failed deployment
        if status == "ROLLBACK_SUCCESSFUL":
            return verdict(True, "COMPLETED", f"ECS rolled back to {short_name(rollback_to)}")
        if status == "ROLLBACK_FAILED":
            return verdict(False, "FAILED", record.get("statusReason") or "ECS's rollback failed")
        return None
    if status == "SUCCESSFUL":
        return verdict(True, "COMPLETED", record.get("statusReason") or "service deployment SUCCESSFUL")
    if status in RECORD_ROLLBACK:
        why = ((record.get("rollback") or {}).get("reason") or record.get("statusReason") or status).rstrip(".")
        if fired:
            why = f"alarm {', '.join(fired)} fired ({why})"
        where = f"; ECS {'rolled' if status == 'ROLLBACK_SUCCESSFUL' else 'is rolling'} back to {short_name(rollback_to)}" if rollback_to else ""
        if breaker.get("status") == "TRIGGERED":
            where += f" ({failed} failed tasks, threshold {breaker.get('threshold')})"
        if status == "ROLLBACK_FAILED":
            return verdict(False, "FAILED", f"{why}; ECS's rollback failed: {record.get('statusReason') or ''}".rstrip(": "))
        return verdict(False, "ROLLED_BACK_BY_ECS", why + where)
    if status == "STOPPED":
        if primary and primary.get("id") != target.deployment_id and primary.get("taskDefinition") != target.task_definition:
            return verdict(False, "SUPERSEDED", f"ECS stopped deployment {target.deployment_id}: {record.get('statusReason') or 'STOPPED'}; "
                           f"replaced by deployment {primary.get('id')} of {short_name(primary.get('taskDefinition'))}, which this run did not start (the console or another tool)")
        if "newer deployment" in (record.get("statusReason") or ""):
            return verdict(False, "SUPERSEDED", f"{record.get('statusReason')} (not started by this run: the console or another tool)")
        return verdict(False, "FAILED", record.get("statusReason") or "ECS stopped the deployment")
    return None


class Records:
    """ECS's records of the watched deployments, while the Service Deployments API answers.

    The record of a deployment is found once (ListServiceDeployments created after the call that
    started it, whose target service revision runs the target's task definition) and then read with
    one DescribeServiceDeployments per poll for every service."""

    def __init__(self, ecs: Ecs, cluster: str, console):
        self.ecs, self.cluster, self.console = ecs, cluster, console
        self.available = True
        self.revision_task_definitions: dict[str, str] = {}

    def off(self, why: str) -> None:
        if self.available:
            self.available = False
            self.console.info(f"the ECS Service Deployments API is not available ({why}); judging from DescribeServices alone")

    def read(self, targets: list[Target]) -> dict[str, dict]:
        """service name -> ECS's record of its watched deployment (absent: not found yet, or no API)."""
        if not self.available or not any(t.service_deployment or t.started_at is not None or t.rollback_of for t in targets):
            return {}
        try:
            for target in targets:
                if target.service_deployment is None and (target.started_at is not None or target.rollback_of):
                    target.service_deployment = self._match(target)
            arns = [t.service_deployment for t in targets if t.service_deployment]
            records = self.ecs.service_deployments(arns) if arns else {}
            self._learn_revisions([(r.get("rollback") or {}).get("serviceRevisionArn") for r in records.values()])
        except ApiUnavailable as exc:
            self.off(str(exc))
            return {}
        return {t.service: records[t.service_deployment] for t in targets if t.service_deployment in records}

    def rollback_to(self, record: dict) -> str | None:
        return self.revision_task_definitions.get((record.get("rollback") or {}).get("serviceRevisionArn") or "")

    def _match(self, target: Target) -> str | None:
        if target.rollback_of:
            return target.rollback_of
        # 60 s of slack for a clock that runs ahead of AWS's; the target revision tells ours apart.
        briefs = self.ecs.service_deployments_since(self.cluster, target.service, (target.started_at or 0) - 60)
        self._learn_revisions([b.get("targetServiceRevisionArn") for b in briefs])
        for brief in sorted(briefs, key=lambda b: str(b.get("createdAt")), reverse=True):
            if self.revision_task_definitions.get(brief.get("targetServiceRevisionArn")) == target.task_definition:
                return brief["serviceDeploymentArn"]
        return None

    def _learn_revisions(self, arns: list[str | None]) -> None:
        unknown = [a for a in arns if a and a not in self.revision_task_definitions]
        for arn, revision in self.ecs.service_revisions(unknown).items():
            self.revision_task_definitions[arn] = revision.get("taskDefinition")


@dataclass
class _Progress:
    seen_events: set = field(default_factory=set)
    last_line: dict = field(default_factory=dict)
    shape: tuple | None = None  # (our running tasks, the older deployments' running tasks)
    moved_at: float | None = None  # when the shape last changed (tasks replaced); None: not since the watch began
    unplaced: tuple | None = None  # (when a placement event was first seen, our placed tasks then)


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
    records: Records | None = None,
    observer: Callable | None = None,
) -> dict[str, Verdict]:
    """Poll until every target has a verdict or the timeout passes; stream new events and progress.

    just_started: the deployments were started a moment ago and cannot have a verdict yet, so the
    first look waits one interval (a call saved); `deployer wait` looks at once.
    records: ECS's deployment records (shared by the watches of one run: the API is probed once).
    observer(name, service, target): asked while a target has no verdict; may return one that stops the
    watch early (strategies.StageWatch: paused at a lifecycle hook, or the --wait-until stage reached).
    """
    deadline = clock() + timeout
    if just_started:
        sleep(FIRST_INTERVAL)
    pending = {t.service: t for t in targets}
    verdicts: dict[str, Verdict] = {}
    # The caller's sets are updated in place: a later watch (the rollback's) does not repeat events.
    since_events = since_events if since_events is not None else {}
    progress = {name: _Progress(seen_events=since_events.setdefault(name, set())) for name in pending}
    records = records or Records(ecs, cluster, console)
    with console.activity(f"watching {', '.join(pending)}") as activity:
        return _Poll(ecs, cluster, pending, progress, verdicts, deadline, timeout, console, activity, sleep, clock, records, observer).run()


@dataclass
class _Poll:
    ecs: Ecs
    cluster: str
    pending: dict
    progress: dict
    verdicts: dict
    deadline: float
    timeout: float
    console: object
    activity: object
    sleep: Callable
    clock: Callable
    records: Records
    observer: Callable | None = None  # called when no verdict is in: lifecycle stages (strategies.StageWatch)

    def run(self) -> dict[str, Verdict]:
        interval = FIRST_INTERVAL
        last: dict[str, dict | None] = {}
        started = self.clock()
        seen_at = started
        misses = 0
        while True:
            try:
                described = self.ecs.describe_services(self.cluster, list(self.pending), attempts=1)
                seen_at, misses = self.clock(), 0
            except ClusterNotFound:
                # The cluster was deleted under the watch, with its services: nothing left to judge or roll back.
                for name, target in self.pending.items():
                    self.verdicts[name] = Verdict(
                        name, False, "DELETED", f"cluster {self.cluster} no longer exists (ClusterNotFoundException): it was deleted during the "
                        f"watch, with {name}; deployment {target.deployment_id} of {short_name(target.task_definition)} ends with it",
                        target.deployment_id, cause="deleted")
                return self.verdicts
            except ExternalError as exc:
                # Throttled, a 5xx or a dropped connection: ask again in a fraction of a second (jittered, so
                # callers sharing the throttling bucket spread out) rather than after a whole interval.
                if not is_transient(exc.__cause__):
                    raise
                blind = self.clock() - seen_at
                if blind >= lost_sight_after() or self.clock() >= self.deadline:
                    raise self.lost_sight(last, f"no answer from ECS for {blind:.0f}s ({exc.message})") from None
                self.console.debug(f"no answer from DescribeServices ({exc.message}); asking again")
                misses += 1
                self.sleep(min(MAX_INTERVAL, FIRST_RETRY * 2 ** (misses - 1)) * random.uniform(0.5, 1.5))
                continue
            last.update(described)
            records = self._records() if self._needs_records(described) else {}
            for name, service in described.items():
                target = self.pending[name]
                _report(self.console, name, service, target, self.progress[name], self.clock())
                result = self._judge(service, target, records, started)
                if result is None and self.observer is not None and service is not None:
                    result = self.observer(name, service, target)  # paused at a hook, or the --wait-until stage
                if result is not None:
                    self.verdicts[name] = result
            for name in self.verdicts:
                self.pending.pop(name, None)
            if not self.pending:
                return self.verdicts
            self.activity.update("watching " + "; ".join(self.progress[name].last_line.get(name, name) for name in self.pending))
            remaining = self.deadline - self.clock()
            if remaining <= 0:
                records = self._records() or {}  # ECS's record, for the verdict and for ECS's own rollback
                for name, target in self.pending.items():
                    self.verdicts[name] = self.timed_out(target, last.get(name) or {}, records.get(name))
                return self.verdicts
            self.sleep(min(interval, remaining))
            interval = min(MAX_INTERVAL, interval + STRETCH)

    def _needs_records(self, described: dict) -> bool:
        """ECS's record decides unless DescribeServices shows success (our deployment COMPLETED, the service on
        our revision: a stale read cannot show that): while ours is unseen, on a failure, during ECS's rollback."""
        for name, service in described.items():
            target = self.pending[name]
            if service is not None and target.deployment_id and find_deployment(service, target.deployment_id):
                target.seen = True
            if not target.seen or target.rollback_of:
                return True
            verdict = judge(service, target)
            if verdict is not None and not verdict.ok:
                return True
        return False

    def _records(self) -> dict[str, dict] | None:
        """None: the records could not be read this time (transient); {}: none to follow."""
        try:
            return self.records.read(list(self.pending.values()))
        except ExternalError as exc:
            if not is_transient(exc.__cause__):
                self.records.off(exc.message)
                return {}
            return None

    def _judge(self, service: dict | None, target: Target, records: dict | None, started: float) -> Verdict | None:
        deleted = gone(service, target)
        if deleted is not None and (target.seen or service is not None):
            return deleted
        verdict = self._judge_by_ecs(service, target, records, started)
        if verdict is None and service is not None and target.seen and not target.rollback_of:
            verdict = too_many_failed(service, target) or self._unplaceable(service, target)
        return verdict

    def _unplaceable(self, service: dict, target: Target) -> Verdict | None:
        """ECS could not place the deployment's tasks (no capacity, no instance meets its requirements) and no
        task of it was placed for placement_confirm() seconds since: the event is the verdict's reason."""
        ours = find_deployment(service, target.deployment_id) if target.deployment_id else None
        progress = self.progress[target.service]
        event = placement_event(service, ours) if ours else None
        placed = (ours or {}).get("runningCount", 0) + (ours or {}).get("pendingCount", 0)
        if event is None or (ours or {}).get("runningCount", 0) >= (ours or {}).get("desiredCount", 0):
            progress.unplaced = None
            return None
        now = self.clock()
        if progress.unplaced is None or placed > progress.unplaced[1]:
            progress.unplaced = (now, placed)
            return None
        if now - progress.unplaced[0] < placement_confirm():
            return None
        message = event.get("message") or ""
        return Verdict(target.service, False, "FAILED",
                       f"ECS could not place the tasks of {short_name(target.task_definition)} ({ours.get('runningCount', 0)}/{ours.get('desiredCount')} running, "
                       f"none placed for {now - progress.unplaced[0]:.0f}s): {message}",
                       target.deployment_id, service.get("taskDefinition"), failed_tasks=int(ours.get("failedTasks") or 0),
                       desired_count=service.get("desiredCount"), service_deployment=target.service_deployment, cause="placement", event=message)

    def _judge_by_ecs(self, service: dict | None, target: Target, records: dict | None, started: float) -> Verdict | None:
        if records is None and not target.seen:
            return None  # neither source is safe to judge by this time
        record = (records or {}).get(target.service)
        if service is not None and target.deployment_id and find_deployment(service, target.deployment_id):
            target.seen = True
        if record is not None:
            target.seen = True
            return judge_record(record, target, service, self.records.rollback_to(record))
        if target.seen or target.deployment_id is None or service is None:
            return judge(service, target)
        # Started by this run, not listed yet: DescribeServices may still show the service as it was.
        if self.clock() - started < unseen_window():
            return None
        primary = primary_deployment(service) or {}
        raise LostSight(
            f"{target.service}: deployment {target.deployment_id} of {short_name(target.task_definition)}, started by this run, "
            f"was not listed by DescribeServices in {unseen_window():.0f}s; the service showed PRIMARY deployment {primary.get('id')} of "
            f"{short_name(primary.get('taskDefinition'))} ({primary.get('rolloutState')}), running {short_name(service.get('taskDefinition'))}",
            hint=resume_hint([target.service]),
        )

    def timed_out(self, target: Target, service: dict, record: dict | None) -> Verdict:
        """TIMEOUT, stuck or slow: slow when tasks were replaced during the last third of the timeout."""
        ours = find_deployment(service, target.deployment_id) or {}
        progress = self.progress[target.service]
        quiet = self.clock() - (progress.moved_at if progress.moved_at is not None else self.deadline - self.timeout)
        window = min(300.0, max(MAX_INTERVAL * 2, self.timeout / 3))
        progressing = progress.moved_at is not None and quiet < window
        failed = ours.get("failedTasks", 0) or 0
        old_running = sum(d.get("runningCount", 0) or 0 for d in service.get("deployments", []) if d.get("id") != target.deployment_id)
        counts = (f"{ours.get('runningCount', 0)}/{ours.get('desiredCount', '?')} running on {short_name(target.task_definition)}, "
                  f"{old_running} old tasks still running, {failed} failed tasks")
        if progressing:
            reason = f"still rolling out after {self.timeout:.0f}s (slow, not stuck: tasks replaced {quiet:.0f}s ago): {counts}"
        else:
            reason = f"stuck: no task replaced for {quiet:.0f}s, timed out after {self.timeout:.0f}s: {counts}"
        status = (record or {}).get("status") or ours.get("rolloutState", "unknown")
        which = f"deployment {target.deployment_id}" if target.deployment_id else f"ECS's rollback ({short_name(target.rollback_of or target.service_deployment)})"
        return Verdict(target.service, False, "TIMEOUT", f"{which} is {status}; {reason}", target.deployment_id,
                       service.get("taskDefinition"), failed_tasks=failed, desired_count=service.get("desiredCount"),
                       service_deployment=target.service_deployment, progressing=progressing)

    def lost_sight(self, last: dict, why: str) -> LostSight:
        where = []
        for name, target in self.pending.items():
            service = last.get(name) or {}
            ours = find_deployment(service, target.deployment_id) or {}
            if ours:
                where.append(f"{name}: deployment {target.deployment_id} of {short_name(target.task_definition)} was {ours.get('rolloutState')}, "
                             f"{ours.get('runningCount', 0)}/{ours.get('desiredCount', '?')} running, {ours.get('failedTasks', 0)} failed tasks when last seen")
            else:
                where.append(f"{name}: deployment {target.deployment_id} of {short_name(target.task_definition)} not seen yet")
        return LostSight(f"lost sight of the rollout: {why}; " + "; ".join(where) + " — ECS goes on; no verdict was given and nothing was rolled back",
                         hint=resume_hint(list(self.pending)))


def resume_hint(services: list[str]) -> str:
    flags = " ".join(f"--service {s}" for s in services)
    return f"follow it to its verdict: `deployer wait {flags}`; undo it: `deployer rollback {flags}`"


def _report(console, name: str, service: dict | None, target: Target, progress: _Progress, now: float) -> None:
    if service is None:
        return
    new_events = [e for e in service.get("events", []) if e.get("id") not in progress.seen_events]
    for event in reversed(new_events):  # ECS lists newest first
        progress.seen_events.add(event.get("id"))
        console.untrusted("ecs", event.get("message", ""))
    ours = find_deployment(service, target.deployment_id)
    others = sum(d.get("runningCount", 0) or 0 for d in service.get("deployments", []) if d.get("id") != target.deployment_id)
    shape = ((ours or {}).get("runningCount", 0), others)
    if progress.shape is not None and shape != progress.shape:
        progress.moved_at = now
    progress.shape = shape
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


def ecs_rollback_target(service: str, deployment_arn: str, goal: str, deployment_id: str | None = None) -> rollout.Target:
    """What the watch follows after stop_deployment: the stopped deployment's record, to ROLLBACK_SUCCESSFUL."""
    return rollout.Target(service, deployment_id, goal, rollback_of=deployment_arn)
