"""`deployer continue [--rollback]`: a deployment paused at a PAUSE lifecycle hook goes on (or rolls
back) through ContinueServiceDeployment; then it is watched: on, like `deployer wait` (the deployment
the release recorded); back, like the tool's own rollback (the record's way to ROLLBACK_SUCCESSFUL)."""

from __future__ import annotations

from ..release import rollout
from ..release import rollback as rollback_
from ..release import rollout as rollout_
from ..core.errors import DeploymentFailed
from ..release.follow import wait


def continue_(run, *, rollback: bool, services: list[str] | None = None) -> dict:
    action = "ROLLBACK" if rollback else "CONTINUE"
    pairs = run.live_services(services, must_exist=True)
    resumed = [rollback_.continue_deployment(run, svc.name, service, action) for svc, service in pairs]
    if run.options.no_wait:
        return {"status": "started", "cluster": run.environment.cluster, "services": [{**r, "status": "started"} for r in resumed]}
    if not rollback:
        return wait(run, services=[r["service"] for r in resumed])
    return _watch_rollback(run, resumed, {svc.name: service for svc, service in pairs})


def _watch_rollback(run, resumed: list[dict], live: dict[str, dict]) -> dict:
    """The release's deployment fails on purpose here; what is judged is ECS's rollback of it."""
    cluster = run.environment.cluster
    targets = [rollout_.ecs_rollback_target(r["service"], r["service_deployment"], _previous(live[r["service"]])) for r in resumed]
    verdicts = rollout.watch(run.ecs, cluster, targets, timeout=run.timeout, console=run.console, just_started=False)
    entries = [{**r, "status": "rolled_back" if verdicts[r["service"]].ok else "failed", "verdict": verdicts[r["service"]].state,
                "reason": verdicts[r["service"]].reason, "task_definition": t.task_definition} for r, t in zip(resumed, targets)]
    result = {"status": "rolled_back" if all(v.ok for v in verdicts.values()) else "failed", "cluster": cluster, "services": entries}
    bad = [v for v in verdicts.values() if not v.ok]
    if bad:
        raise DeploymentFailed("rollback did not complete: " + "; ".join(f"{v.service}: {v.reason}" for v in bad), result=result)
    for entry in entries:
        run.console.ok(f"{entry['service']}: rolled back" + (f" to {entry['task_definition'].rsplit('/', 1)[-1]}" if entry["task_definition"] else ""))
    return result


def _previous(service: dict) -> str | None:
    """The revision blue runs: the deployment next to the PRIMARY (green) one."""
    return next((d.get("taskDefinition") for d in service.get("deployments") or [] if d.get("status") == "ACTIVE"), None)
