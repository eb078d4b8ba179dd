"""`deployer restart`: a new deployment of the revision the service runs (UpdateService
forceNewDeployment): every task is replaced, e.g. to pick up a rotated secret or a re-pushed tag.

Watched to the same verdicts as a release. A failed restart is not rolled back to another revision:
the revision is the one that ran; ECS's circuit breaker (when enabled) brings the previous deployment
(the same revision, the old tasks' settings) back. Exit 1 says so, and `deployer rollback` goes back
to the last healthy earlier revision.
"""

from __future__ import annotations

from ..aws.ecs import short_name
from ..release import operate


def restart(run, *, service: str | None = None, force: bool = False) -> dict:
    cluster = run.environment.cluster
    svc, live = run.live_services([service or run.config.service.name], must_exist=True)[0]
    operate.refuse_in_progress(live, force, "restart")
    revision = live.get("taskDefinition")
    run.console.step(f"{svc.name}: new deployment of {short_name(revision)} (every task replaced; {live.get('desiredCount')} desired)")
    result: dict = {"cluster": cluster, "service": svc.name, "task_definition": revision, "services": []}
    if run.options.dry_run:
        result["status"] = "planned"
        return result
    entry = operate.update_and_watch(run, svc.name, live, {"forceNewDeployment": True}, command="restart")
    result["services"] = [entry]
    result["status"] = "restarted" if entry["status"] == "steady" else entry["status"]
    if entry["status"] == "steady":
        run.console.ok(f"{svc.name}: restarted on {short_name(revision)}, {entry['running_count']} task(s) running")
    return result


def text(run, result: dict) -> str | None:
    return "\n".join(f"{s['service']}: {result['status']} {short_name(s.get('task_definition'))} (deployment {s.get('deployment_id')}, {s.get('verdict') or 'not watched'})"
                     for s in result.get("services", [])) or None
