"""One service's outcome of a release."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from . import execute, plan as planner, rollout


@dataclass
class ServiceOutcome:
    service: str
    plan: planner.ServicePlan
    executed: execute.Executed | None = None
    verdict: rollout.Verdict | None = None
    rolled_back_to: str | None = None
    rollback_verdict: rollout.Verdict | None = None
    diagnosis: list[str] = field(default_factory=list)
    live_before: dict | None = None  # the service as DescribeServices showed it before this run
    registered_unused: str | None = None  # registered, then interrupted before UpdateService

    def as_dict(self, image: str | None) -> dict:
        executed = self.executed
        return {
            "service": self.service,
            "status": self.status,
            "cluster": self.plan.cluster,
            "task_definition": (executed.task_definition if executed else None) or _arn_or_none(self.plan.task_definition),
            "previous_task_definition": self.plan.previous_task_definition,
            "registered": bool(executed and executed.registered),
            "deployment_id": executed.deployment_id if executed else None,
            "image": image,
            "verdict": self.verdict.state if self.verdict else None,
            "reason": self.verdict.reason if self.verdict else self.plan.reason,
            "rolled_back_to": self.rolled_back_to,
            "rollback_state": self.rollback_verdict.state if self.rollback_verdict else None,
        }

    @property
    def status(self) -> str:
        if self.executed is None:
            return "planned" if self.plan.action != "none" else "unchanged"
        if self.verdict is None:
            return "started" if self.plan.action != "none" else "unchanged"
        if self.verdict.ok and not self.rolled_back_to:
            return "deployed" if self.plan.action != "none" else "unchanged"
        if self.rolled_back_to:
            return "rolled_back"
        return "superseded" if self.verdict.state == "SUPERSEDED" else "failed"


def _arn_or_none(value: str | None) -> str | None:
    return None if value == planner.REGISTERED else value
