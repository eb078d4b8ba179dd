"""From rendered definitions to a verdict: plan → execute → watch → mark healthy or roll back.

Shared by `release` (after the image stage) and `deploy`. Several services are planned from one
DescribeServices answer, deployed together, watched together, and rolled back together: if any
fails, every one goes back to the revision it ran before (an atomic release).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from . import checks, credentials, execute, lease, plan as planner, rollout, strategies
from .ecs import (TAG_DEPLOYMENT, TAG_DEPLOYMENT_STARTED, TAG_DEPLOYMENT_TARGET, TAG_HEALTHY, ApiUnavailable, find_in_progress,
                  primary_deployment, short_name)
from .errors import DeployerError, DeploymentFailed, ExternalError, Interrupted


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
    outcomes = [ServiceOutcome(p.service, p, live_before=live.get(p.service)) for p in plans]
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
    try:
        try:
            for outcome in outcomes:
                if outcome.plan.action == "none":
                    continue
                started_at = time.time()
                steps: dict = {}
                try:
                    outcome.executed = execute.run(run.ecs, outcome.plan, console, progress=steps)
                finally:
                    if outcome.executed is None and steps.get("registered"):
                        outcome.registered_unused = steps["registered"]
                target = rollout.Target(outcome.service, outcome.executed.deployment_id, outcome.executed.task_definition, started_at=started_at, seen=False)
                record_release(run, (outcome.executed.service_after or {}).get("serviceArn"), target)
                targets.append(target)
        except KeyboardInterrupt:
            raise interrupted(targets, outcomes, stage="starting the deployments", run=run) from None
        if run.options.no_wait:
            console.info("not waiting for the rollout (--no-wait); follow it with `deployer wait` (or `deployer status`)")
            return result("started")

        # Blue/green, linear, canary: the bake times add to the timeout; stages are shown (strategies.py).
        timeout = watch_timeout(run, live, [t.service for t in targets]) + strategies.bake_seconds(
            [r.service_definition.update_params.get("deploymentConfiguration") for r in rendered_list])
        stages = strategies.StageWatch(run, run.options.wait_until, services={
            r.service.name for r in rendered_list if strategies.strategy_of(r.service_definition.update_params.get("deploymentConfiguration")) in strategies.STRATEGIES}, watched=[t.service for t in targets])
        console.step(f"watching {', '.join(t.service for t in targets)} (timeout {timeout}s)")
        records = rollout.Records(run.ecs, run.environment.cluster, console)
        try:
            verdicts = rollout.watch(run.ecs, run.environment.cluster, targets, timeout=timeout, console=console, since_events=seen_events, records=records, observer=stages)
        except KeyboardInterrupt:
            raise interrupted(targets, outcomes) from None
        by_name = {o.service: o for o in outcomes}
        for name, verdict in verdicts.items():
            by_name[name].verdict = verdict
        early = strategies.early_result(result("started"), verdicts, stages)  # paused at a hook, or --wait-until reached
        if early:
            healthy_on_the_way_out(run, outcomes)  # a service that finished next to one stopped early (skips those)
            strategies.report_early(console, verdicts)
            return early

        if all(v.ok for v in verdicts.values()):
            healthy_on_the_way_out(run, outcomes)
            return result("deployed")

        failed = [v for v in verdicts.values() if not v.ok]
        if all(v.state == "TIMEOUT" and v.progressing for v in failed):
            # Slow, not stuck: rolling back a rollout that is getting there would throw away good progress.
            for v in failed:
                console.warn(f"{v.service}: {v.reason}")
            raise StillRollingOut(
                "; ".join(f"{v.service}: {v.reason}" for v in failed) + " — not rolled back: the rollout is still making progress",
                hint=rollout.resume_hint([v.service for v in failed]) + "; or give it more time with --timeout",
                result=result("started"),
            )
        for verdict in failed:
            console.error(f"{verdict.service}: deployment failed ({verdict.state}): {verdict.reason}")
            from .diagnose import diagnose

            by_name[verdict.service].diagnosis = diagnose(run, run.environment.cluster, verdict) + stages.explain(verdict.service)
        if run.config.deploy.rollback_on_failure:
            try:
                roll_back_outcomes(run, [o for o in outcomes if o.executed], seen_events, records=records, timeout=timeout)
            except KeyboardInterrupt:
                raise interrupted_rollback(run, outcomes, failed) from None
        else:
            console.warn("deploy.rollback_on_failure is false: services left as they are")
        payload = result("rolled_back" if any(o.rolled_back_to for o in outcomes) else "failed")
        failed = ", ".join(v.service for v in verdicts.values() if not v.ok)
        raise DeploymentFailed(f"release failed for {failed}; " + _rollback_summary(outcomes), result=payload)
    except lease.LeaseLost as lost:
        raise lost_lease(run, lost, outcomes, seen_events, result) from None
    except ExternalError as exc:
        if not credentials.expired(exc) or not any(o.executed for o in outcomes):
            raise
        raise credentials_expired(run, exc, outcomes, result) from None


def _started(o: ServiceOutcome) -> str:
    return (f"{o.service}: deployment {o.executed.deployment_id} of {short_name(o.executed.task_definition)} "
            f"(it ran {short_name(o.plan.rollback_target or o.plan.previous_task_definition) or 'nothing before'})")


def lost_lease(run, lost: lease.LeaseLost, outcomes: list[ServiceOutcome], seen_events: dict, result) -> lease.LeaseLost:
    """A read proved the lease is not ours any more. Another release holds it: no write (one now would
    race with that release), say what this run started. Nobody holds it: take it again and roll back
    what this run started that has no healthy verdict (unless another actor's deployment replaced it)."""
    lost.acknowledge()
    started = [o for o in outcomes if o.executed]
    undo = [o for o in started if not (o.verdict and o.verdict.ok)]
    if not undo:
        done = "; ".join(f"{o.service} deployed on {short_name(o.executed.task_definition)}" for o in started)
        return lease.LeaseLost(f"{lost.message}; " + (done or "nothing of this run was started in ECS"),
                               hint=lost.hint, result=result("deployed" if started else "failed"), holder=lost.holder)
    holder = lost.holder
    why_not = "another release took it meanwhile"
    try:
        again = lost.retake() if holder is None else None
    except DeployerError as exc:  # SSM refused: without the lease, no write
        again, why_not = None, f"it could not be taken again ({exc.message})"
    if again is None:
        who = "" if holder is not None else f" ({why_not})"
        return lease.LeaseLost(
            f"{lost.message}{who}: not rolled back (without the lease, a write could race with another release); this run started "
            + "; ".join(_started(o) for o in undo) + ", which goes on in ECS",
            hint=f"`deployer status` shows where it stands; once the other release is done, undo it if needed: `deployer rollback "
                 + " ".join(f"--service {o.service}" for o in undo) + "`",
            result=result("started"), holder=holder)
    run.console.warn(f"{again.service}: nobody held the lease: took it again ({again.name}) to roll back what this run started")
    current = run.ecs.describe_services(run.environment.cluster, [o.service for o in undo])
    mine = []
    for o in undo:
        primary = primary_deployment(current.get(o.service) or {}) or {}
        if o.executed.deployment_id and primary.get("id") not in (None, o.executed.deployment_id):
            run.console.warn(f"{o.service}: not rolled back: another actor's deployment {primary.get('id')} replaced this run's, and a rollback would undo it")
            continue
        mine.append(o)
    roll_back_outcomes(run, mine, seen_events, timeout=run.timeout)
    reason = lost.lease.lost if lost.lease is not None and lost.lease.lost else "nobody holds it now"
    return lease.LeaseLost(
        f"lost the lease: {reason}; took it again and rolled back what this run started: " + _rollback_summary(undo),
        hint="`deployer status` shows where the service stands; release again when ready",
        result=result("rolled_back" if any(o.rolled_back_to for o in undo) else "failed"))


class CredentialsExpired(DeploymentFailed):
    """The AWS credentials expired after this run started deployments: outcome unknown (exit 3)."""

    exit_code = 3


def credentials_expired(run, exc: ExternalError, outcomes: list[ServiceOutcome], result) -> CredentialsExpired:
    started = [o for o in outcomes if o.executed]
    services = [o.service for o in started]
    flags = " ".join(f"--service {s}" for s in services)
    ttl = run.config.deploy.lock_ttl
    leased = "" if (run.options.no_lock or run.options.dry_run) else (
        f"; the lease of {', '.join(services)} is left to expire (it cannot be released without credentials): "
        f"another release can take it {ttl}s after its last heartbeat")
    return CredentialsExpired(
        f"the AWS credentials expired ({exc.message}); this run started " + "; ".join(_started(o) for o in started)
        + ": its outcome is unknown, ECS goes on with it and nothing was rolled back" + leased,
        hint=f"with fresh credentials, follow it to its verdict: `deployer wait {flags}`; undo it: `deployer rollback {flags}`",
        result=result("started"))


class StillRollingOut(DeploymentFailed):
    """The timeout came while tasks were still being replaced: no verdict, no rollback (exit 3)."""

    exit_code = 3


def interrupted(targets: list[rollout.Target], outcomes: list[ServiceOutcome], stage: str = "watching", run=None) -> Interrupted:
    """Ctrl-C / SIGTERM: ECS goes on with what was started; say exactly what was and was not done."""
    if stage == "watching":
        started = ", ".join(f"{t.service}: deployment {t.deployment_id} of {short_name(t.task_definition)}" for t in targets)
        previous = ", ".join(f"{o.service} ran {short_name(o.plan.rollback_target or o.plan.previous_task_definition) or 'nothing before'}" for o in outcomes if o.executed)
        return Interrupted(f"interrupted while watching ({started}); the deployment goes on in ECS ({previous})",
                           hint=rollout.resume_hint([t.service for t in targets]))
    parts = []
    started = [o.service for o in outcomes if o.executed]
    for o in outcomes:
        if o.executed:
            parts.append(f"{o.service}: deployment {o.executed.deployment_id} of {short_name(o.executed.task_definition)} goes on in ECS "
                         f"(it ran {short_name(o.plan.rollback_target or o.plan.previous_task_definition) or 'nothing before'})")
        elif o.registered_unused and _runs(run, o.service) == o.registered_unused:
            parts.append(f"{o.service}: registered {short_name(o.registered_unused)} and the service update went through: its deployment goes on in ECS")
            started.append(o.service)
        elif o.registered_unused:
            parts.append(f"{o.service}: registered {short_name(o.registered_unused)}, unused: the service was not updated "
                         f"and still runs {short_name(o.plan.previous_task_definition) or 'nothing'}")
        elif o.plan.action != "none":
            parts.append(f"{o.service}: untouched")
    hint = (rollout.resume_hint(started) if started else "nothing to undo; release again when ready")
    return Interrupted(f"interrupted while {stage}: " + "; ".join(parts), hint=hint)


def _runs(run, service: str) -> str | None:
    """What the service runs now (asked on the way out of an interrupt: was the update made?)."""
    try:
        return (run.ecs.describe_service(run.environment.cluster, service) or {}).get("taskDefinition") if run else None
    except (DeployerError, KeyboardInterrupt):
        return None


def interrupted_rollback(run, outcomes: list[ServiceOutcome], failed: list[rollout.Verdict]) -> Interrupted:
    """Ctrl-C during the tool's rollback: which rollbacks really started (asked on the way out)."""
    going = []
    for o in outcomes:
        goal, now = o.plan.rollback_target, _runs(run, o.service) if o.executed else None
        if goal and now == goal:
            going.append(f"{o.service} → {short_name(goal)}")
        elif goal and now:
            going.append(f"{o.service} still on {short_name(now)}, its rollback to {short_name(goal)} not started")
    return Interrupted(
        f"interrupted while rolling back ({'; '.join(going) or 'no rollback started'}); the release had failed: "
        + "; ".join(f"{v.service}: {v.state}" for v in failed) + ". A rollback already started goes on in ECS",
        hint="see where it stands: `deployer status`; finish it: `deployer rollback`",
    )


def record_release(run, arn: str | None, target: rollout.Target) -> None:
    """Tag the service with the deployment this release (or `deployer rollback`) started: `deployer wait`
    judges that one."""
    if not arn or not target.deployment_id:
        return
    tags = {TAG_DEPLOYMENT: target.deployment_id, TAG_DEPLOYMENT_TARGET: target.task_definition,
            TAG_DEPLOYMENT_STARTED: f"{target.started_at:.0f}"}
    try:
        run.ecs.tag(arn, tags)
    except ExternalError as exc:  # the release goes on; only a later `deployer wait` loses its bearings
        run.console.warn(f"{target.service}: could not tag the service with its deployment ({exc.message}); `deployer wait` will follow its current deployment")


def watch_timeout(run, live: dict, services: list[str]) -> int:
    """--timeout when given; else deploy.timeout, raised to cover the target groups' deregistration delay
    and health checks (a healthy rollout drains old targets for that long)."""
    if run.options.timeout or run.config.deploy.timeout_set:
        return run.timeout
    timeout = run.config.deploy.timeout
    needed, why = 0, ""
    for name in services:
        for lb in (live.get(name) or {}).get("loadBalancers") or []:
            arn = lb.get("targetGroupArn")
            if not arn:
                continue
            try:
                elb = run.aws.client("elbv2")
                group = elb.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]
                attrs = {a["Key"]: a["Value"] for a in elb.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]}
            except Exception as exc:  # noqa: BLE001 - the timeout stays deploy.timeout; say why
                run.console.debug(f"could not read target group {arn}: {exc}")
                continue
            delay = int(attrs.get("deregistration_delay.timeout_seconds", 300))
            checks_s = int(group.get("HealthCheckIntervalSeconds") or 30) * int(group.get("HealthyThresholdCount") or 5)
            grace = int((live.get(name) or {}).get("healthCheckGracePeriodSeconds") or 0)
            # Each of two waves of tasks (min 100 %, max 200 %) passes the health checks; then the old targets drain.
            wanted = grace + 2 * checks_s + delay + 60
            if wanted > needed:
                needed, why = wanted, f"deregistration delay {delay}s + health checks 2×{checks_s}s + grace {grace}s + 60s"
    if needed > timeout:
        run.console.info(f"timeout {needed}s instead of deploy.timeout {timeout}s: {why} (pass --timeout to choose)")
        return needed
    return timeout


def healthy_on_the_way_out(run, outcomes: list[ServiceOutcome]) -> None:
    """Tag each revision that reached the verdict healthy; an interrupt here still finishes the tagging."""
    # A service stopped early (paused at a hook, --wait-until) next to finished ones has no verdict yet.
    pending = [o for o in outcomes if o.executed and o.executed.task_definition and not (o.verdict and strategies.is_early(o.verdict))]
    interrupted_at = None
    while pending:
        outcome = pending[0]
        try:
            if outcome.verdict and outcome.verdict.desired_count == 0:
                run.console.warn(f"{outcome.service}: deployed with desiredCount 0: no task ran, so {short_name(outcome.executed.task_definition)} "
                                 "is not marked healthy (rollback and prune trust that tag)")
            else:
                mark_healthy(run, outcome.executed.task_definition)
                run.console.ok(f"{outcome.service}: healthy on {short_name(outcome.executed.task_definition)}")
            pending.pop(0)
        except KeyboardInterrupt:
            interrupted_at = interrupted_at or outcome.service  # tag it on the way out, then say so
    if interrupted_at:
        raise Interrupted(
            "interrupted after the verdict: " + ", ".join(f"{o.service} deployed on {short_name(o.executed.task_definition)}" for o in outcomes if o.executed)
            + " (the healthy tags were written on the way out)",
            hint="nothing to do; `deployer status` shows the service",
        )


def _digest_of(image: str | None) -> str | None:
    return image.split("@", 1)[1] if image and "@" in image else None


def mark_healthy(run, task_definition_arn: str) -> None:
    """Tag the revision: `rollback` goes to the last revision that reached this verdict."""
    run.ecs.tag(task_definition_arn, {TAG_HEALTHY: datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})


def roll_back_outcomes(run, outcomes: list[ServiceOutcome], seen_events: dict, *, records: rollout.Records | None = None, timeout: int | None = None) -> None:
    """Put every service of the release back where it was before this run: the revision and the service
    settings the release changed. ECS's own rollback (StopServiceDeployment) where it can; else UpdateService."""
    console = run.console
    cluster = run.environment.cluster
    records = records or rollout.Records(run.ecs, cluster, console)
    targets = []
    for outcome in outcomes:
        verdict = outcome.verdict
        goal = outcome.plan.rollback_target
        if verdict and verdict.state == "SUPERSEDED":
            console.warn(f"{outcome.service}: not rolled back: another actor's deployment replaced this run's, and a rollback would undo it")
            continue
        if goal is None:
            console.error(f"{outcome.service}: no earlier healthy revision to return to; it stays on {short_name(outcome.executed.task_definition)}")
            continue
        if verdict and verdict.state == "ROLLED_BACK_BY_ECS" and (verdict.ecs_rollback_task_definition or verdict.running_task_definition) == goal:
            console.info(f"{outcome.service}: ECS is already rolling back to {short_name(goal)}; watching it")
            targets.append(rollout.Target(outcome.service, verdict.ecs_rollback_deployment, goal, rollback_of=verdict.service_deployment if records.available else None))
        elif stop_with_ecs_rollback(run, outcome, records):
            console.step(f"{outcome.service}: rolling back to {short_name(goal)} with ECS's own rollback (StopServiceDeployment): the whole service revision goes back")
            targets.append(ecs_rollback_target(outcome.service, verdict.service_deployment, goal))
        else:
            restore = restored_settings(outcome)
            console.step(f"{outcome.service}: rolling back to {short_name(goal)}" + (f", restoring {', '.join(sorted(restore))}" if restore else ""))
            started_at = time.time()
            service = run.ecs.update_service(cluster, outcome.service, restore, goal)
            primary = primary_deployment(service) or {}
            targets.append(rollout.Target(outcome.service, primary.get("id"), goal, started_at=started_at, seen=False))
        outcome.rolled_back_to = goal
    if not targets:
        return
    verdicts = rollout.watch(run.ecs, cluster, targets, timeout=timeout or run.timeout, console=console, since_events=seen_events, records=records)
    for outcome in outcomes:
        if outcome.service in verdicts:
            outcome.rollback_verdict = verdicts[outcome.service]
            v = verdicts[outcome.service]
            if v.ok:
                console.ok(f"{outcome.service}: back on {short_name(outcome.rolled_back_to)}")
            else:
                console.error(f"{outcome.service}: the rollback to {short_name(outcome.rolled_back_to)} did not complete: {v.reason}")


def stop_with_ecs_rollback(run, outcome: ServiceOutcome, records: rollout.Records) -> bool:
    """ECS's rollback fits when the deployment is still in progress and ECS would return where this run
    would: the revision that ran, settled, before the release."""
    verdict = outcome.verdict
    if not (records.available and verdict and verdict.service_deployment and not verdict.ok):
        return False
    if verdict.state not in ("TIMEOUT", "FAILED") or outcome.plan.rollback_target != outcome.plan.previous_task_definition:
        return False
    try:
        stop_deployment(run, verdict.service_deployment)
        return True
    except ApiUnavailable as exc:
        records.off(str(exc))
    except ExternalError as exc:
        run.console.info(f"{outcome.service}: ECS's rollback refused ({exc.message}); rolling back with UpdateService")
    return False


def stop_deployment(run, deployment_arn: str) -> None:
    """StopServiceDeployment(ROLLBACK): ECS's own rollback of a deployment in progress — after a failed
    release (roll_back_outcomes), and for `deployer rollback` of a blue/green, linear or canary
    deployment in flight (strategies.stop), where it also puts production traffic back on blue at once."""
    run.ecs.stop_service_deployment(deployment_arn)


def ecs_rollback_target(service: str, deployment_arn: str, goal: str, deployment_id: str | None = None) -> rollout.Target:
    """What the watch follows after stop_deployment: the stopped deployment's record, to ROLLBACK_SUCCESSFUL."""
    return rollout.Target(service, deployment_id, goal, rollback_of=deployment_arn)


# Settings a release may change and how to say "none" when the service had none before.
_UNSET = {"loadBalancers": [], "serviceRegistries": [], "serviceConnectConfiguration": {"enabled": False}}


def restored_settings(outcome: ServiceOutcome) -> dict:
    """The service settings the release changed, as they were before it (from DescribeServices; the
    deployment carries what the service does not report, such as Service Connect)."""
    live = outcome.live_before or {}
    deployment = primary_deployment(live) or {}
    restore = {}
    for key in outcome.plan.changed_settings:
        value = live.get(key, deployment.get(key))
        if value is None:
            value = _UNSET.get(key)
        if value is not None and key != "desiredCount":
            restore[key] = value
    return restore


def _rollback_summary(outcomes: list[ServiceOutcome]) -> str:
    parts = []
    for o in outcomes:
        if o.rolled_back_to:
            ok = o.rollback_verdict.ok if o.rollback_verdict else False
            parts.append(f"{o.service} {'rolled back to' if ok else 'rollback incomplete, target'} {short_name(o.rolled_back_to)}")
        elif o.verdict and o.verdict.state == "SUPERSEDED":
            parts.append(f"{o.service} superseded by another deployment, not rolled back")
        elif o.executed:
            parts.append(f"{o.service} left on {short_name(o.executed.task_definition)}")
    return "; ".join(parts) or "nothing was changed"
