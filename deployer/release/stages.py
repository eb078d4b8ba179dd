"""Blue/green, linear and canary stages while watching; early results (paused, stage reached)."""

from __future__ import annotations

from ..aws.ecs import DeploymentsDenied
from ..core.console import quote_untrusted
from ..core.errors import DeployerError
from ..manifest.strategies import PAUSED, STAGES, STAGE_REACHED, STAGE_TEXT, STRATEGIES, strategy_of, wait_until_stage


def awaiting_hook(record: dict | None) -> dict | None:
    return next((h for h in (record or {}).get("lifecycleHookDetails") or [] if h.get("status") == "AWAITING_ACTION"), None)


def in_flight(ecs, service: dict | None) -> dict | None:
    """The service's strategy deployment still IN_PROGRESS (its record), if any."""
    if not service or strategy_of(service.get("deploymentConfiguration")) not in STRATEGIES or not service.get("currentServiceDeployment"):
        return None
    record = ecs.service_deployment(service["currentServiceDeployment"])
    return record if record and record.get("status") in ("PENDING", "IN_PROGRESS") else None


# ---- watching by stage -------------------------------------------------------------------------
class StageWatch:
    """Called by rollout.watch for each service on each poll while no verdict is in: shows the
    lifecycle stage and hooks of a strategy deployment; returns an early-stop Verdict when it is
    paused at a hook, or reached the `--wait-until` stage."""

    def __init__(self, run, wait_until: str | None = None, services: set[str] | None = None, watched: list[str] = ()):
        self.run = run
        self.services = services  # the services deployed with a strategy (None: look at each)
        self.wait_until = wait_until_stage(wait_until)
        self.shown: dict[str, tuple] = {}
        self.hooks_shown: dict[str, str] = {}
        self.records: dict[str, dict] = {}  # service -> the last record read
        self.available = True
        for name in watched:
            if self.wait_until and services is not None and name not in services:
                self._rolling_note(name)

    def __call__(self, name: str, service: dict, target):
        from .rollout import Verdict

        if strategy_of(service.get("deploymentConfiguration")) not in STRATEGIES:
            if self.wait_until and name not in self.shown:
                self._rolling_note(name)
            return None
        if not self.available:
            return None
        arn = service.get("currentServiceDeployment")
        if not arn:
            return None
        try:
            record = self.run.ecs.service_deployment(arn)
        except DeploymentsDenied as exc:
            self.available = False
            self.run.console.info(f"cannot read the deployment's lifecycle stage ({exc.message}); watching without it")
            return None
        except DeployerError:
            return None
        if record is None:
            return None
        self.records[name] = record
        stage, status = record.get("lifecycleStage"), record.get("status")
        if self.shown.get(name) != (stage, status):
            self.shown[name] = (stage, status)
            self.run.console.info(f"{name}: {status} at {stage} — {STAGE_TEXT.get(stage, stage)}")
        for hook in record.get("lifecycleHookDetails") or []:
            key = f"{hook.get('hookId')}:{hook.get('status')}"
            if key not in self.hooks_shown:
                self.hooks_shown[key] = name
                running = hook.get("status") in ("IN_PROGRESS", "AWAITING_ACTION")  # then the record's stage is the hook's
                self.run.console.info(f"{name}: lifecycle hook {quote_untrusted(hook.get('targetArn') or hook.get('targetType'))}{f' at {stage}' if running else ''}: {quote_untrusted(hook.get('status'))}")
        if status != "IN_PROGRESS":
            return None
        hook = awaiting_hook(record)
        if hook is not None:
            message = (f"deployment paused at {stage} (PAUSE hook {hook.get('hookId')}"
                       + (f", times out at {hook['expiresAt']} with {hook.get('timeoutAction')}" if hook.get("expiresAt") else "")
                       + f"); resume: `deployer continue --service {name}`; roll back: `deployer continue --rollback --service {name}`")
            return Verdict(name, True, PAUSED, message, target.deployment_id, service.get("taskDefinition"))
        if self.wait_until and stage in STAGES and STAGES.index(stage) >= STAGES.index(self.wait_until):
            message = f"reached {stage} (--wait-until); the deployment goes on in ECS: `deployer wait` follows it to the verdict"
            return Verdict(name, True, STAGE_REACHED, message, target.deployment_id, service.get("taskDefinition"))
        return None

    def _rolling_note(self, name: str) -> None:
        self.shown[name] = ()
        self.run.console.info(f"{name}: --wait-until applies to blue/green, linear and canary deployments; watching to the verdict")

    def explain(self, name: str) -> list[str]:
        """A failed hook's Lambda, stage and reason (hooks leave no stopped tasks to explain them)."""
        if self.services is not None and name not in self.services:
            return []  # a rolling service: no hooks, no extra call
        try:
            arn = (self.records.get(name) or {}).get("serviceDeploymentArn")
            if arn is None:  # it failed before a poll saw it: the service still points at its record
                live = self.run.ecs.describe_service(self.run.environment.cluster, name) or {}
                if strategy_of(live.get("deploymentConfiguration")) not in STRATEGIES:
                    return []
                arn = live.get("currentServiceDeployment")
            record = self.run.ecs.service_deployment(arn) if arn else None
        except DeployerError:
            record = self.records.get(name)
        if record is None:
            return []
        lines = []
        for hook in record.get("lifecycleHookDetails") or []:
            if hook.get("status") in ("FAILED", "TIMED_OUT"):
                reason = quote_untrusted((record.get("rollback") or {}).get("reason") or record.get("statusReason") or "")  # ECS's words: data
                lines.append(f"{name}: lifecycle hook {quote_untrusted(hook.get('targetArn') or 'PAUSE')} ({quote_untrusted(hook.get('targetType'))}) "
                             f"{quote_untrusted(hook.get('status'))} at {quote_untrusted(record.get('lifecycleStage'))}: {reason}".rstrip(": "))
        for line in lines:
            self.run.console.error(line)
        return lines


def status_of(run, service: dict) -> dict:
    """`deployer status`: a strategy service's strategy and where its current deployment stands."""
    strategy = strategy_of(service.get("deploymentConfiguration"))
    if strategy not in STRATEGIES:
        return {}
    try:
        record = run.ecs.service_deployment(service["currentServiceDeployment"]) if service.get("currentServiceDeployment") else None
    except DeployerError:
        record = None
    hook = awaiting_hook(record) if record and record.get("status") == "IN_PROGRESS" else None
    return {"strategy": strategy, "service_deployment": None if record is None else {
        "arn": record.get("serviceDeploymentArn"), "status": record.get("status"), "stage": record.get("lifecycleStage"),
        "paused_at_hook": hook.get("hookId") if hook else None}}


def status_text(entry: dict) -> list[str]:
    if not entry.get("strategy"):
        return []
    record = entry.get("service_deployment") or {}
    line = f"  strategy {entry['strategy']}" + (f": deployment {record['status']} at {record['stage']}" if record else "")
    if record.get("paused_at_hook"):
        line += " — paused at a hook: `deployer continue` (or `deployer continue --rollback`)"
    return [line]


def is_early(verdict) -> bool:
    """The watch stopped before the verdict (paused at a hook, or the --wait-until stage reached)."""
    return verdict.state in (PAUSED, STAGE_REACHED)


def early_result(payload: dict, verdicts: dict, stages: StageWatch | None = None) -> dict | None:
    """The release/wait result when the watch stopped early (paused, or --wait-until) for at least one
    service and every other one succeeded: no verdict yet for those. Each of them gets the lifecycle
    `stage` it stopped at and the `reason` (what to run next); a finished one keeps its own status.
    None when nothing stopped early, or when another service failed (the failure path decides)."""
    early = {n: v for n, v in verdicts.items() if is_early(v)}
    if not early or any(not v.ok for n, v in verdicts.items() if n not in early):
        return None
    for entry in payload.get("services") or []:
        verdict = early.get(entry.get("service"))
        if verdict is not None:
            entry["status"] = "paused" if verdict.state == PAUSED else "started"
            entry["stage"] = ((stages.records if stages else {}).get(verdict.service) or {}).get("lifecycleStage")
            entry["reason"] = verdict.reason
    payload["status"] = "paused" if any(v.state == PAUSED for v in early.values()) else "started"
    return payload


def report_early(console, verdicts: dict) -> None:
    for verdict in verdicts.values():
        if not is_early(verdict):
            continue  # a finished service next to one stopped early: its own lines were said
        (console.warn if verdict.state == PAUSED else console.ok)(f"{verdict.service}: {verdict.reason}")
