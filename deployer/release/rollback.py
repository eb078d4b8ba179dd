"""Back to the revision before: ECS's own rollback (StopServiceDeployment) or UpdateService."""

from __future__ import annotations

import time

from . import rollout
from ..aws.ecs import ApiUnavailable, primary_deployment, short_name
from ..core.errors import BadInput, DeployerError, ExternalError, Interrupted
from .outcome import ServiceOutcome
from .rollout import ecs_rollback_target
from .stages import awaiting_hook, in_flight


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
        if verdict and verdict.state == "DELETED":
            console.warn(f"{outcome.service}: not rolled back: the service no longer exists")
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
        elif o.verdict and o.verdict.state == "DELETED":
            parts.append(f"{o.service} deleted during the release, nothing to roll back")
        elif o.executed:
            parts.append(f"{o.service} left on {short_name(o.executed.task_definition)}")
    return "; ".join(parts) or "nothing was changed"



# ---- control -------------------------------------------------------------------------------------
def stoppable(run, live: dict[str, dict | None]) -> dict[str, dict]:
    """Services whose blue/green, linear or canary deployment is in flight: service -> its record."""
    found = {}
    for name, service in live.items():
        try:
            record = in_flight(run.ecs, service)
        except DeployerError:
            record = None  # no Service Deployments API: the rollback goes the UpdateService way
        if record:
            found[name] = record
    return found


def stop(run, cluster: str, entry: dict, record: dict):
    """`deployer rollback` of a deployment in flight: ECS's own rollback, the same call a failed release
    makes (pipeline.stop_deployment); production traffic goes back on blue at once."""
    from ..aws.ecs import primary_deployment, short_name
    from .rollout import ecs_rollback_target

    run.console.step(f"{entry['service']}: stopping deployment {record['serviceDeploymentArn'].rsplit('/', 1)[-1]} "
                     f"at {record.get('lifecycleStage')} (StopServiceDeployment ROLLBACK: traffic back on the previous revision)")
    stop_deployment(run, record["serviceDeploymentArn"])
    service = run.ecs.describe_service(cluster, entry["service"]) or {}
    primary = primary_deployment(service) or {}
    entry.update(to=primary.get("taskDefinition") or entry["to"], deployment_id=primary.get("id"), via="StopServiceDeployment")
    run.console.info(f"{entry['service']}: ECS rolls back to {short_name(entry['to'])}")
    return ecs_rollback_target(entry["service"], record["serviceDeploymentArn"], entry["to"], entry["deployment_id"])


def continue_deployment(run, name: str, service: dict, action: str) -> dict:
    """ContinueServiceDeployment for the hook the service's deployment is paused at."""
    record = in_flight(run.ecs, service)
    hook = awaiting_hook(record)
    if hook is None:
        where = f"its deployment is at {record.get('lifecycleStage')}" if record else "no blue/green, linear or canary deployment is in progress"
        raise BadInput(f"{name}: nothing to continue: no deployment is paused at a lifecycle hook ({where})",
                       hint="`deployer status` shows the deployment; `deployer wait` follows it")
    run.ecs.continue_service_deployment(record["serviceDeploymentArn"], hook["hookId"], action, doing=f"continuing the deployment of {name}")
    run.console.ok(f"{name}: {'continuing' if action == 'CONTINUE' else 'rolling back'} from {record.get('lifecycleStage')} (hook {hook['hookId']})")
    return {"service": name, "service_deployment": record["serviceDeploymentArn"], "stage": record.get("lifecycleStage"), "action": action}
