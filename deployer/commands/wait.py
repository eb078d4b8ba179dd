"""`deployer wait`: follow the service's current deployment to its verdict (after --no-wait or Ctrl-C)."""

from __future__ import annotations

from .. import rollout, strategies
from ..ecs import primary_deployment
from ..errors import DeploymentFailed


def wait(run, *, services: list[str] | None = None) -> dict:
    cluster = run.environment.cluster
    targets = []
    pairs = run.live_services(services, must_exist=True)
    for svc, service in pairs:
        primary = primary_deployment(service) or {}
        targets.append(rollout.Target(svc.name, primary.get("id"), primary.get("taskDefinition") or service.get("taskDefinition")))
    bake = strategies.bake_seconds([service.get("deploymentConfiguration") for _, service in pairs])  # blue/green: strategies.py
    stages = strategies.StageWatch(run, run.options.wait_until)
    verdicts = rollout.watch(run.ecs, cluster, targets, timeout=run.timeout + bake, console=run.console, just_started=False, observer=stages)
    result = {
        "status": "deployed" if all(v.ok for v in verdicts.values()) else "failed",
        "cluster": cluster,
        "services": [{"service": v.service, "verdict": v.state, "reason": v.reason, "deployment_id": v.deployment_id, "task_definition": v.running_task_definition} for v in verdicts.values()],
    }
    if strategies.early_result(result, verdicts, stages):  # paused at a hook, or --wait-until reached
        strategies.report_early(run.console, verdicts)
        return result
    bad = [v for v in verdicts.values() if not v.ok]
    if bad:
        raise DeploymentFailed("; ".join(f"{v.service}: {v.state}: {v.reason}" for v in bad), result=result)
    return result
