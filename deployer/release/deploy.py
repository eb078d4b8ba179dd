"""From rendered definitions to a verdict: plan → execute → watch → mark healthy or roll back.

Shared by `release` (after the image stage) and `deploy`. Several services are planned from one
DescribeServices answer, deployed together, watched together, and rolled back together: if any
fails, every one goes back to the revision it ran before (an atomic release).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from . import checks, execute, lease, plan as planner, rollout, schedules as schedules_
from ..aws import credentials
from ..manifest import strategies
from . import stages as stages_
from ..aws import resources
from ..aws.ecs import (TAG_DEPLOYMENT, TAG_DEPLOYMENT_STARTED, TAG_DEPLOYMENT_TARGET, TAG_HEALTHY, find_in_progress,
    primary_deployment, short_name, TAG_COMMIT, TAG_IMAGE)
from ..core.errors import BadInput, DeployerError, DeploymentFailed, ExternalError, Interrupted
from .outcome import ServiceOutcome
from .rollback import _rollback_summary, _runs, interrupted_rollback, roll_back_outcomes


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
    schedules_.require_role(run)  # a missing scheduler role is bad input, before any write
    plans, live = make_plans(run, rendered_list, tags=tags, force=force, revision_arns=revision_arns)
    if rendered_list:
        schedules_.validate(run, rendered_list[0].image)  # their own templates too
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
            "schedules": [c.as_dict() for c in schedule_changes],
        }

    schedule_changes: list = []

    def move_schedules() -> None:
        """After the healthy verdict: every schedule to the revision its service now runs."""
        revisions = {o.service: (o.executed.task_definition if o.executed else o.plan.task_definition) for o in outcomes}
        schedule_changes[:] = schedules_.sync(run, {k: v for k, v in revisions.items() if v and v != planner.REGISTERED})

    for p in plans:
        console.info(f"{p.service}: {p.action}" + (f" — {p.reason}" if p.reason else ""))
    if run.options.dry_run:
        revisions = {p.service: schedules_.NEW_REVISION if p.task_definition == planner.REGISTERED else p.task_definition for p in plans}
        schedule_changes[:] = schedules_.plan(run, {k: v for k, v in revisions.items() if v}, live)
        schedules_.show(console, schedule_changes)
        return result("planned")
    if all(p.action == "none" for p in plans):
        console.ok("already deployed: nothing registered, no deployment started")
        move_schedules()
        return result("unchanged")
    refuse_concurrent({p.service: live[p.service] for p in plans if p.action != "none"}, force)
    if preflight:
        checks.require(run, rendered_list, images=True)  # deploy --image/--revision: the image must be in ECR

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
            _schedules_stay(run, "without a verdict (--no-wait)")
            return result("started")

        # Blue/green, linear, canary: the bake times add to the timeout; stages are shown (strategies.py).
        timeout = watch_timeout(run, live, [t.service for t in targets]) + strategies.bake_seconds(
            [r.service_definition.update_params.get("deploymentConfiguration") for r in rendered_list])
        stages = stages_.StageWatch(run, run.options.wait_until, services={
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
        early = stages_.early_result(result("started"), verdicts, stages)  # paused at a hook, or --wait-until reached
        if early:
            healthy_on_the_way_out(run, outcomes)  # a service that finished next to one stopped early (skips those)
            stages_.report_early(console, verdicts)
            _schedules_stay(run, "before the verdict")
            return early

        if all(v.ok for v in verdicts.values()):
            healthy_on_the_way_out(run, outcomes)
            move_schedules()
            return result("deployed")

        failed = [v for v in verdicts.values() if not v.ok]
        if all(v.state == "TIMEOUT" and v.progressing for v in failed):
            # Slow, not stuck: rolling back a rollout that is getting there would throw away good progress.
            from .diagnose import diagnose

            for v in failed:
                console.warn(f"{v.service}: {v.reason}")
                if v.failed_tasks:  # some tasks died on the way: say why, though it is no verdict yet
                    by_name[v.service].diagnosis = diagnose(run, run.environment.cluster, v)
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
        _schedules_stay(run, "after a failed release")
        payload = result("rolled_back" if any(o.rolled_back_to for o in outcomes) else "failed")
        failed = ", ".join(v.service for v in verdicts.values() if not v.ok)
        raise DeploymentFailed(f"release failed for {failed}; " + _rollback_summary(outcomes), result=payload)
    except lease.LeaseLost as lost:
        raise lost_lease(run, lost, outcomes, seen_events, result) from None
    except BadInput as exc:
        # Exit 2 says "nothing was changed": once a revision is registered or a deployment started, it is not.
        changed = [o for o in outcomes if o.executed or o.registered_unused]
        if not changed:
            raise
        raise DeploymentFailed(f"{exc.message}; this run had already changed AWS: " + "; ".join(
            _started(o) if o.executed else f"{o.service}: registered {short_name(o.registered_unused)}, unused" for o in changed),
            hint=exc.hint or "`deployer status` shows where the service stands", result=result("failed")) from None
    except ExternalError as exc:
        if not credentials.expired(exc) or not any(o.executed for o in outcomes):
            raise
        raise credentials_expired(run, exc, outcomes, result) from None


def _schedules_stay(run, when: str) -> None:
    if run.config.schedules:
        run.console.info(f"schedules not moved {when}: they run the revision they ran before this release "
                         "(a release moves them once its services are healthy)")


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
                group = resources.target_groups(run.aws, [arn])[0]
                attrs = resources.target_group_attributes(run.aws, arn)
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
    pending = [o for o in outcomes if o.executed and o.executed.task_definition and not (o.verdict and stages_.is_early(o.verdict))]
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


def release_tags(run, image: str) -> dict[str, str]:
    return {TAG_IMAGE: image[-256:], TAG_COMMIT: run.git.sha}
