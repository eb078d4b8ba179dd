"""The executor: runs a plan's steps, in order, through the ECS adapter."""

from __future__ import annotations

from dataclasses import dataclass

from ..aws.ecs import Ecs, primary_deployment, short_name
from .plan import REGISTERED, ServicePlan


@dataclass
class Executed:
    service: str
    task_definition: str | None  # the ARN the service was sent to
    registered: bool
    deployment_id: str | None  # the deployment this run started (None: nothing started)
    service_after: dict | None


def run(ecs: Ecs, plan: ServicePlan, console, progress: dict | None = None) -> Executed:
    """progress: filled as steps complete ("registered": ARN), for an interrupt to say what was done."""
    target = plan.task_definition
    registered = False
    deployment_id = None
    service_after = None
    for step in plan.steps:
        params = dict(step.params)
        if step.call == "ecs.RegisterTaskDefinition":
            tags = {t["key"]: t["value"] for t in params.pop("tags", [])}
            target = ecs.register(params, tags)
            registered = True
            if progress is not None:
                progress["registered"] = target
            console.info(f"registered {short_name(target)}")
        elif step.call == "ecs.CreateService":
            cluster = params.pop("cluster")
            params.pop("taskDefinition")
            service_after = ecs.create_service(cluster, params, target)
            deployment_id = _started_deployment(service_after)
            console.info(f"created service {plan.service} on {short_name(target)}")
        elif step.call == "ecs.UpdateService":
            cluster, service = params.pop("cluster"), params.pop("service")
            wanted = params.pop("taskDefinition", None)
            if wanted == REGISTERED:
                wanted = target
            service_after = ecs.update_service(cluster, service, params, wanted)
            deployment_id = _started_deployment(service_after)
            console.info(f"updated service {service} → {short_name(wanted or plan.previous_task_definition)}")
        else:  # pragma: no cover - the planner makes only the steps above
            raise AssertionError(step.call)
    return Executed(plan.service, target, registered, deployment_id, service_after)


def _started_deployment(service: dict) -> str | None:
    """Right after our call, the PRIMARY deployment is the one this run started (ECS puts it first)."""
    primary = primary_deployment(service)
    return primary.get("id") if primary else None
