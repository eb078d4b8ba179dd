"""`deployer wait`: follow the deployment the last release started to its verdict (after --no-wait or Ctrl-C).

The release tags the service with the deployment it started (deployer:deployment…); that deployment is
judged, wherever it went: a deployment ECS rolled back is a failure even though the service is stable
again. A service without the tag (never released by deployer) has its current deployment followed.
"""

from __future__ import annotations

from . import deploy as pipeline, rollout, stages as stages_
from ..manifest import strategies
from ..aws.ecs import TAG_DEPLOYMENT, TAG_DEPLOYMENT_STARTED, TAG_DEPLOYMENT_TARGET, primary_deployment, short_name
from ..core.errors import DeployerError, DeploymentFailed


def last_release(run, name: str, service: dict) -> rollout.Target:
    tags = run.ecs.service_tags(service["serviceArn"]) if service.get("serviceArn") else {}
    if tags.get(TAG_DEPLOYMENT) and tags.get(TAG_DEPLOYMENT_TARGET):
        started = tags.get(TAG_DEPLOYMENT_STARTED)
        return rollout.Target(name, tags[TAG_DEPLOYMENT], tags[TAG_DEPLOYMENT_TARGET], started_at=float(started) if started else None)
    primary = primary_deployment(service) or {}
    created = primary.get("createdAt")
    run.console.info(f"{name}: no deployment recorded by a release (tag {TAG_DEPLOYMENT}); following its current deployment {primary.get('id')}")
    return rollout.Target(name, primary.get("id"), primary.get("taskDefinition") or service.get("taskDefinition"),
                          started_at=created.timestamp() if hasattr(created, "timestamp") else None)


def wait(run, *, services: list[str] | None = None) -> dict:
    cluster = run.environment.cluster
    pairs = run.live_services(services, must_exist=True)
    targets = [last_release(run, svc.name, service) for svc, service in pairs]
    for t in targets:
        run.console.info(f"{t.service}: judging deployment {t.deployment_id} of {short_name(t.task_definition)}")
    records = rollout.Records(run.ecs, cluster, run.console)
    bake = strategies.bake_seconds([service.get("deploymentConfiguration") for _, service in pairs])  # blue/green: strategies.py
    stages = stages_.StageWatch(run, run.options.wait_until)
    verdicts = rollout.watch(run.ecs, cluster, targets, timeout=run.timeout + bake, console=run.console, just_started=False, records=records, observer=stages)
    entries = []
    for target in targets:
        v = verdicts[target.service]
        status = "deployed" if v.ok else "superseded" if v.state == "SUPERSEDED" else "in_progress" if v.progressing else "failed"
        if v.ok and v.desired_count == 0:
            run.console.warn(f"{v.service}: desiredCount 0: no task ran, so {short_name(target.task_definition)} is not marked healthy")
        elif v.ok and not stages_.is_early(v):
            pipeline.mark_healthy(run, target.task_definition)  # the release may have been stopped before it could
        entries.append({"service": v.service, "status": status, "verdict": v.state, "reason": v.reason, "deployment_id": v.deployment_id,
                        "task_definition": target.task_definition, "running_task_definition": v.running_task_definition,
                        "service_deployment": v.service_deployment, "triggered_alarms": v.triggered_alarms})
    result = {"status": "deployed" if all(v.ok for v in verdicts.values()) else "failed", "cluster": cluster, "services": entries}
    if stages_.early_result(result, verdicts, stages):  # paused at a hook, or --wait-until reached
        stages_.report_early(run.console, verdicts)
        return result
    bad = [v for v in verdicts.values() if not v.ok]
    from .diagnose import diagnose, recent_stops

    for entry in entries:  # deployed, and then? a crash loop that started after COMPLETED
        if verdicts[entry["service"]].ok and not stages_.is_early(verdicts[entry["service"]]):
            try:
                current = run.ecs.describe_service(cluster, entry["service"])
                _, replacing = recent_stops(run, cluster, current) if current else ([], None)
            except DeployerError:
                replacing = None
            if replacing:
                entry["replacing_after_completed"] = replacing
                run.console.warn(f"{entry['service']}: " + run.console.quote(replacing))

    for entry in entries:
        v = verdicts[entry["service"]]
        # Why tasks stopped: for a failure, and for a rollout still going on (exit 3) that lost tasks on the way.
        if not v.ok and v.state not in ("SUPERSEDED", "DELETED") and (not v.progressing or v.failed_tasks) and not stages_.is_early(v):
            if v.progressing:
                run.console.warn(f"{v.service}: {v.reason}")
            else:
                run.console.error(f"{v.service}: {v.state}: {v.reason}")
            entry["diagnosis"] = diagnose(run, cluster, v)
    if bad and all(v.progressing for v in bad):
        result["status"] = "in_progress"
        raise pipeline.StillRollingOut("; ".join(f"{v.service}: {v.reason}" for v in bad), hint=rollout.resume_hint([v.service for v in bad]), result=result)
    if bad:
        raise DeploymentFailed("; ".join(f"{v.service}: {v.state}: {v.reason}" for v in bad), result=result)
    # The release that did not wait (--no-wait, Ctrl-C, exit 3) left its schedules behind: they move now.
    from . import schedules

    result["schedules"] = [c.as_dict() for c in schedules.sync(run, {t.service: t.task_definition for t in targets})]
    return result
