"""`deployer rollback [--to N]`: back to the last revision that was healthy — never blindly N-1."""

from __future__ import annotations

import time

from ..release import deploy as pipeline, rollout, schedules
from ..release import rollback as rollback_
from ..aws.ecs import arn_revision, find_in_progress, primary_deployment, short_name
from ..core.errors import BadInput, DeploymentFailed
from ..release.plan import last_healthy


def choose_target(run, svc, live: dict, to: int | None):
    current = live.get("taskDefinition")
    if to is not None:
        return run.ecs.active_revision(svc.family, to, "--to")
    below = arn_revision(current) if current else None
    rev = last_healthy(run.ecs, svc.family, below=below, exclude=current)
    if rev is None:
        raise BadInput(
            f"{svc.name}: no earlier revision of {svc.family} is marked healthy (tag deployer:healthy); nothing to roll back to",
            hint="name one with `deployer rollback --to N` (see `deployer revisions`)",
        )
    return rev


def warn_guardrails(run, chosen: dict) -> None:
    """A rollback goes back to a revision that already ran: the admins' policy is said, never a refusal
    (a rollback is the way out of a bad release, and a policy that cannot be read must not block it)."""
    from ..manifest import guardrails
    from ..manifest.definitions import TASK_DEF_READ_ONLY

    try:
        policy = run.policy
    except BadInput as exc:
        run.console.warn(f"{exc.message}; rolling back without checking the guardrails")
        return
    if policy is None:
        return
    for name, rev in chosen.items():
        td = {k: v for k, v in rev.definition.items() if k not in TASK_DEF_READ_ONLY}
        for violation in guardrails.check(policy, td, None):
            run.console.warn(f"{name}: {short_name(rev.arn)} breaks the deployer policy ({policy.source}): {violation}; rolling back anyway")


def rollback(run, *, to: int | None, services: list[str] | None = None, force: bool = False) -> dict:
    started = time.monotonic()
    console = run.console
    cluster = run.environment.cluster
    pairs = run.live_services(services, must_exist=True)
    live = {svc.name: service for svc, service in pairs}
    chosen = {svc.name: choose_target(run, svc, service, to) for svc, service in pairs}
    entries = [
        {"service": name, "from": live[name].get("taskDefinition"), "to": rev.arn}
        for name, rev in chosen.items()
    ]
    for entry in entries:
        console.info(f"{entry['service']}: {short_name(entry['from'])} → {short_name(entry['to'])}")
    warn_guardrails(run, chosen)
    result = {"status": "planned", "cluster": cluster, "services": entries}
    if run.options.dry_run:
        return result
    # A deployment still in progress (an interrupted release, say) is what a rollback is for: it is replaced,
    # not waited for. `force` is accepted for symmetry with deploy; there is nothing to force.
    # A blue/green, linear or canary deployment in flight is stopped instead: StopServiceDeployment(ROLLBACK)
    # puts production traffic back on the previous revision at once (strategies.py).
    stopping = rollback_.stoppable(run, live) if to is None else {}
    for name, service in live.items():
        running = find_in_progress(service)
        if name not in stopping and running and running.get("taskDefinition") != chosen[name].arn:
            console.info(f"{name}: deployment {running.get('id')} of {short_name(running.get('taskDefinition'))} is in progress; the rollback replaces it")
    run.confirm("Roll back " + ", ".join(f"{e['service']} to {short_name(e['to'])}" for e in entries) + "?")

    seen = {name: rollout.event_ids(svc) for name, svc in live.items()}
    targets = []
    for entry in entries:
        if entry["service"] in stopping:
            targets.append(rollback_.stop(run, cluster, entry, stopping[entry["service"]]))
            # `deployer wait` judges what this rollback started: ECS's rollback to entry["to"], not the stopped release.
            pipeline.record_release(run, (live.get(entry["service"]) or {}).get("serviceArn"),
                                    rollout.Target(entry["service"], entry.get("deployment_id"), entry["to"], started_at=time.time()))
            continue
        if entry["from"] == entry["to"]:
            console.info(f"{entry['service']} already runs {short_name(entry['to'])}")
            continue
        started_at = time.time()
        service = run.ecs.update_service(cluster, entry["service"], {}, entry["to"])
        entry["deployment_id"] = (primary_deployment(service) or {}).get("id")
        targets.append(rollout.Target(entry["service"], entry["deployment_id"], entry["to"], started_at=started_at, seen=False))
        pipeline.record_release(run, service.get("serviceArn"), targets[-1])
    result.update(status="rolled_back", duration_s=None)
    healthy: set[str] = set()
    if targets and not run.options.no_wait:
        verdicts = rollout.watch(run.ecs, cluster, targets, timeout=run.timeout, console=console, since_events=seen)
        for entry in entries:
            verdict = verdicts.get(entry["service"])
            if verdict is not None:
                entry["verdict"] = verdict.state
                if verdict.ok:
                    pipeline.mark_healthy(run, entry["to"])
                    healthy.add(entry["service"])
        bad = [v for v in verdicts.values() if not v.ok]
        result["duration_s"] = round(time.monotonic() - started, 2)
        if bad:
            result["status"] = "failed"
            raise DeploymentFailed("rollback did not complete: " + "; ".join(f"{v.service}: {v.reason}" for v in bad), result=result)
    elif targets:
        result["status"] = "started"
    if result["status"] == "rolled_back":
        # The schedules go back with their service (to the revision the service now runs healthy).
        back = {e["service"]: e["to"] for e in entries if e["service"] in healthy or (e["from"] == e["to"] and e["service"] not in stopping)}
        moved = schedules.sync(run, back, delete=False)
        result["schedules"] = [c.as_dict() for c in moved]
    result["duration_s"] = round(time.monotonic() - started, 2)
    for entry in entries:
        console.ok(f"{entry['service']}: on {short_name(entry['to'])} (revision {arn_revision(entry['to'])})")
    return result
