"""From rendered definitions to a verdict: plan → execute → watch → mark healthy or roll back.

Shared by `release` (after the image stage) and `deploy`. Several services are planned from one
DescribeServices answer, deployed together, watched together, and rolled back together: if any
fails, every one goes back to the revision it ran before (an atomic release).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from . import checks, execute, plan as planner, rollout, strategies
from .ecs import TAG_HEALTHY, find_in_progress, short_name
from .errors import DeployerError, DeploymentFailed, Interrupted


@dataclass
class ServiceOutcome:
    service: str
    plan: planner.ServicePlan
    executed: execute.Executed | None = None
    verdict: rollout.Verdict | None = None
    rolled_back_to: str | None = None
    rollback_verdict: rollout.Verdict | None = None
    diagnosis: list[str] = field(default_factory=list)

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
        return "failed"


def _arn_or_none(value: str | None) -> str | None:
    return None if value == planner.REGISTERED else value


def make_plans(run, rendered_list, *, tags: dict[str, str], force: bool = False, revision_arns: dict[str, str] | None = None):
    env = run.environment
    live = run.ecs.describe_services(env.cluster, [r.service.name for r in rendered_list])
    plans = []
    for rendered in rendered_list:
        svc = rendered.service
        plans.append(
            planner.plan_service(
                run.ecs,
                cluster=env.cluster,
                service_name=svc.name,
                family=svc.family,
                task_def=None if revision_arns else rendered.task_definition,
                service_def=rendered.service_definition,
                live=live[svc.name],
                tags={**tags, "deployer:service": svc.name},
                revision_arn=(revision_arns or {}).get(svc.name),
                force=force,
            )
        )
    return plans, live


def refuse_concurrent(live: dict[str, dict | None], force: bool) -> None:
    """One release at a time: another deployment in progress is named, unless --force."""
    if force:
        return
    for name, service in live.items():
        running = find_in_progress(service)
        if running:
            started = running.get("createdAt")
            when = started.isoformat() if hasattr(started, "isoformat") else str(started)
            raise DeployerError(
                f"{name}: deployment {running.get('id')} of {short_name(running.get('taskDefinition'))} is still in progress (started {when})",
                hint="wait for it (`deployer wait`), or pass --force to deploy anyway",
            )


def deploy(run, rendered_list, *, tags: dict[str, str], force: bool = False, revision_arns: dict | None = None, image_info: dict | None = None, preflight: bool = True) -> dict:
    """preflight=False: the caller already ran the pre-flight checks (release does, before its push)."""
    started = time.monotonic()
    console = run.console
    plans, live = make_plans(run, rendered_list, tags=tags, force=force, revision_arns=revision_arns)
    outcomes = [ServiceOutcome(p.service, p) for p in plans]
    image = rendered_list[0].image if rendered_list else None

    def result(status: str) -> dict:
        per_service = [o.as_dict(image) for o in outcomes]
        first = per_service[0] if per_service else {}
        return {
            "status": status,
            "cluster": run.environment.cluster,
            "service": first.get("service"),
            "task_definition": first.get("task_definition"),
            "previous_task_definition": first.get("previous_task_definition"),
            "image": image,
            "image_digest": (image_info or {}).get("digest") or _digest_of(image),
            "deployment_id": first.get("deployment_id"),
            "duration_s": round(time.monotonic() - started, 2),
            "services": per_service,
            "plan": [p.as_dict() for p in plans] if run.options.dry_run else None,
        }

    for p in plans:
        console.info(f"{p.service}: {p.action}" + (f" — {p.reason}" if p.reason else ""))
    if run.options.dry_run:
        return result("planned")
    if all(p.action == "none" for p in plans):
        console.ok("already deployed: nothing registered, no deployment started")
        return result("unchanged")
    refuse_concurrent({p.service: live[p.service] for p in plans if p.action != "none"}, force)
    if preflight:
        checks.require(run, rendered_list)

    seen_events = {name: rollout.event_ids(svc) for name, svc in live.items()}
    targets = []
    for outcome in outcomes:
        if outcome.plan.action == "none":
            continue
        outcome.executed = execute.run(run.ecs, outcome.plan, console)
        targets.append(rollout.Target(outcome.service, outcome.executed.deployment_id, outcome.executed.task_definition))
    if run.options.no_wait:
        console.info("not waiting for the rollout (--no-wait); follow it with `deployer status`")
        return result("started")

    # Blue/green, linear, canary: the bake times add to the timeout; stages are shown (strategies.py).
    timeout = run.timeout + strategies.bake_seconds([r.service_definition.update_params.get("deploymentConfiguration") for r in rendered_list])
    stages = strategies.StageWatch(run, run.options.wait_until, services={
        r.service.name for r in rendered_list if strategies.strategy_of(r.service_definition.update_params.get("deploymentConfiguration")) in strategies.STRATEGIES}, watched=[t.service for t in targets])
    console.step(f"watching {', '.join(t.service for t in targets)} (timeout {timeout}s)")
    try:
        verdicts = rollout.watch(run.ecs, run.environment.cluster, targets, timeout=timeout, console=console, since_events=seen_events, observer=stages)
    except KeyboardInterrupt:
        raise interrupted(targets, outcomes) from None
    by_name = {o.service: o for o in outcomes}
    for name, verdict in verdicts.items():
        by_name[name].verdict = verdict
    early = strategies.early_result(result("started"), verdicts, stages)  # paused at a hook, or --wait-until reached
    if early:
        strategies.report_early(console, verdicts)
        return early

    if all(v.ok for v in verdicts.values()):
        for outcome in outcomes:
            if outcome.executed and outcome.executed.task_definition:
                mark_healthy(run, outcome.executed.task_definition)
                console.ok(f"{outcome.service}: healthy on {short_name(outcome.executed.task_definition)}")
        return result("deployed")

    for verdict in verdicts.values():
        if not verdict.ok:
            console.error(f"{verdict.service}: deployment failed ({verdict.state}): {verdict.reason}")
            from .diagnose import diagnose

            by_name[verdict.service].diagnosis = diagnose(run, run.environment.cluster, verdict) + stages.explain(verdict.service)
    if run.config.deploy.rollback_on_failure:
        roll_back_outcomes(run, [o for o in outcomes if o.executed], seen_events)
    else:
        console.warn("deploy.rollback_on_failure is false: services left as they are")
    payload = result("rolled_back" if any(o.rolled_back_to for o in outcomes) else "failed")
    failed = ", ".join(v.service for v in verdicts.values() if not v.ok)
    raise DeploymentFailed(f"release failed for {failed}; " + _rollback_summary(outcomes), result=payload)


def interrupted(targets: list[rollout.Target], outcomes: list[ServiceOutcome]) -> Interrupted:
    """Ctrl-C / SIGTERM while watching: ECS goes on; say where things stand and how to continue."""
    started = ", ".join(f"{t.service}: deployment {t.deployment_id} of {short_name(t.task_definition)}" for t in targets)
    previous = ", ".join(f"{o.service} ran {short_name(o.plan.rollback_target or o.plan.previous_task_definition) or 'nothing before'}" for o in outcomes if o.executed)
    return Interrupted(
        f"interrupted while watching ({started}); the deployment goes on in ECS ({previous})",
        hint="keep watching: `deployer wait`; undo it: `deployer rollback`",
    )


def _digest_of(image: str | None) -> str | None:
    return image.split("@", 1)[1] if image and "@" in image else None


def mark_healthy(run, task_definition_arn: str) -> None:
    """Tag the revision: `rollback` goes to the last revision that reached this verdict."""
    run.ecs.tag(task_definition_arn, {TAG_HEALTHY: datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})


def roll_back_outcomes(run, outcomes: list[ServiceOutcome], seen_events: dict) -> None:
    """Put every service of the release back on the revision it ran before this run."""
    console = run.console
    cluster = run.environment.cluster
    targets = []
    for outcome in outcomes:
        verdict = outcome.verdict
        goal = outcome.plan.rollback_target
        if goal is None:
            console.error(f"{outcome.service}: no earlier healthy revision to return to; it stays on {short_name(outcome.executed.task_definition)}")
            continue
        if verdict and verdict.state == "ROLLED_BACK_BY_ECS" and verdict.running_task_definition == goal:
            console.info(f"{outcome.service}: ECS's circuit breaker is already rolling back to {short_name(goal)}; watching it")
            targets.append(rollout.Target(outcome.service, verdict.ecs_rollback_deployment, goal))
        else:
            console.step(f"{outcome.service}: rolling back to {short_name(goal)}")
            service = run.ecs.update_service(cluster, outcome.service, {}, goal)
            primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})
            targets.append(rollout.Target(outcome.service, primary.get("id"), goal))
        outcome.rolled_back_to = goal
    if not targets:
        return
    verdicts = rollout.watch(run.ecs, cluster, targets, timeout=run.timeout, console=console, since_events=seen_events)
    for outcome in outcomes:
        if outcome.service in verdicts:
            outcome.rollback_verdict = verdicts[outcome.service]
            v = verdicts[outcome.service]
            if v.ok:
                console.ok(f"{outcome.service}: back on {short_name(outcome.rolled_back_to)}")
            else:
                console.error(f"{outcome.service}: the rollback to {short_name(outcome.rolled_back_to)} did not complete: {v.reason}")


def _rollback_summary(outcomes: list[ServiceOutcome]) -> str:
    parts = []
    for o in outcomes:
        if o.rolled_back_to:
            ok = o.rollback_verdict.ok if o.rollback_verdict else False
            parts.append(f"{o.service} {'rolled back to' if ok else 'rollback incomplete, target'} {short_name(o.rolled_back_to)}")
        elif o.executed:
            parts.append(f"{o.service} left on {short_name(o.executed.task_definition)}")
    return "; ".join(parts) or "nothing was changed"
