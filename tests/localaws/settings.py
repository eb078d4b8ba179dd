"""Knobs of the emulator, shared by the rollout engine, the fault injector and the
control endpoint. One process = one set of moto backends, so one Settings object."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

# drop: connection closed before the request is handled; lost: handled (side effects and all),
# then the connection closes before the answer: the ambiguous case a retry must not duplicate.
FAULT_KINDS = ("throttle", "error500", "drop", "lost", "expired_token")
SERVICE_DEPLOYMENTS_API = ("on", "denied", "unknown")


@dataclass
class Settings:
    # Rollout speed: the ticker advances every service once per `tick` seconds and
    # starts/stops at most `tasks_per_tick` tasks per deployment per tick.
    tick: float = 0.5
    tasks_per_tick: int = 1
    # None = ECS's rule: 0.5 x desiredCount, at least 3, at most 200.
    circuit_breaker_threshold: int | None = None
    # A FAILED deployment stays listed (ACTIVE) at least this long before the
    # rollback may complete and remove it, so pollers get to see it.
    failed_visible_seconds: float = 1.0
    failure_exit_code: int = 1
    # Task definitions whose tasks fail: [{"match": glob, "reason": text, "after_running": s,
    # "stop": "crash"|"health_check", "placement": text}], the glob is matched against
    # "family:revision", the task definition ARN and each image. Without after_running/placement
    # a task stops before it runs; with after_running it runs that many seconds, then dies
    # (an essential container exits, or ELB health checks fail) and the deployment never completes,
    # or, with after_completed, only once its deployment completed (a crash loop that starts
    # later: the breaker has nothing to judge any more); "count": only that many tasks die
    # (a flaky start; "failed" counts them); "stuck": tasks stay PENDING, never fail nor run
    # (an image pull that hangs: a rollout stuck with nothing failing); with placement no task is
    # ever placed and the service sends "was unable to place a task" events (that text).
    broken: list[dict[str, Any]] = field(default_factory=list)
    # A deleted service stays DRAINING this long (its tasks stop), then is INACTIVE.
    draining_seconds: float = 1.0
    # Fault injection.
    fault_rate: float = 0.0
    fault_kinds: list[str] = field(default_factory=lambda: ["throttle"])
    fault_services: list[str] = field(default_factory=lambda: ["ecs", "ecr", "cloudformation"])
    fault_operations: list[str] | None = None  # None = every operation
    seed: int | None = None
    # A burst: until this epoch time, every request matching fault_services/fault_operations
    # gets the first of fault_kinds (LocalAws.burst(seconds) sets it).
    burst_until: float | None = None
    # The Service Deployments API (List/DescribeServiceDeployments, DescribeServiceRevisions,
    # StopServiceDeployment): "on", "denied" (AccessDeniedException: a role without the
    # permission) or "unknown" (UnknownOperationException: an endpoint without the API).
    service_deployments_api: str = "on"
    # Eventual consistency: after an UpdateService that starts a deployment, DescribeServices
    # keeps answering the service as it was before, for this many seconds and/or answers.
    stale_read_seconds: float = 0.0
    stale_read_polls: int = 0
    # Deployments with alarms stay IN_PROGRESS this long after their tasks run (ECS's bake time),
    # watching the alarms.
    alarm_bake_seconds: float = 0.0
    # {operation: seconds}: those requests wait that long before they are handled; one whose client
    # went away meanwhile (Ctrl-C) is dropped unhandled. For tests that interrupt between two calls.
    slow_operations: dict[str, float] = field(default_factory=dict)
    # Blue/green, linear and canary (strategies.py): one "minute" of bakeTimeInMinutes, the
    # linear/canary step bakes and hook timeouts lasts this many seconds.
    strategy_minute_seconds: float = 1.0
    # AWS_LAMBDA lifecycle hooks: {ARN glob: {"result": SUCCEEDED|FAILED|IN_PROGRESS, "reason": text}}.
    # Unlisted: SUCCEEDED when moto's Lambda has the function, else FAILED (function not found).
    lifecycle_hooks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name for f in dataclasses.fields(self)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown setting(s): {sorted(unknown)}")
        if "broken" in values:
            values = dict(values, broken=[normalise_broken(b) for b in values["broken"] or []])
        for kind in values.get("fault_kinds") or []:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; use {FAULT_KINDS}")
        api = values.get("service_deployments_api", self.service_deployments_api)
        if api not in SERVICE_DEPLOYMENTS_API:
            raise ValueError(f"service_deployments_api must be one of {SERVICE_DEPLOYMENTS_API}")
        for pattern, answer in (values.get("lifecycle_hooks") or {}).items():
            if not isinstance(answer, dict) or answer.get("result", "SUCCEEDED") not in ("SUCCEEDED", "FAILED", "IN_PROGRESS"):
                raise ValueError(f"lifecycle_hooks[{pattern!r}]: {{'result': SUCCEEDED|FAILED|IN_PROGRESS, 'reason': text}}")
        rate = values.get("fault_rate", self.fault_rate)
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError("fault_rate must be within 0..1")
        for key, value in values.items():
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


BROKEN_STOPS = ("crash", "health_check")


def normalise_broken(entry: Any) -> dict[str, Any]:
    """Accept "web:3" or {"match": "web:3", "reason": "...", "after_running": s, "stop": ..., "placement": text}."""
    if isinstance(entry, str):
        entry = {"match": entry}
    if not (isinstance(entry, dict) and "match" in entry):
        raise ValueError(f"broken entries are strings or {{'match': ..., 'reason': ...}}: {entry!r}")
    unknown = set(entry) - {"match", "reason", "after_running", "stop", "placement", "after_completed", "count", "failed", "stuck"}
    if unknown:
        raise ValueError(f"broken entry {entry!r}: unknown key(s) {sorted(unknown)}")
    stop = entry.get("stop") or "crash"
    if stop not in BROKEN_STOPS:
        raise ValueError(f"broken entry {entry!r}: stop is one of {BROKEN_STOPS}")
    after = entry.get("after_running")
    return {"match": str(entry["match"]), "reason": entry.get("reason"),
            "after_running": None if after is None else float(after), "stop": stop, "placement": entry.get("placement"),
            "after_completed": bool(entry.get("after_completed")), "count": entry.get("count"), "failed": int(entry.get("failed") or 0),
            "stuck": bool(entry.get("stuck"))}
