"""`deployer continue [--rollback]`: a deployment paused at a PAUSE lifecycle hook goes on (or rolls
back) through ContinueServiceDeployment; then it is watched like `deployer wait`."""

from __future__ import annotations

from .. import strategies
from .wait import wait


def continue_(run, *, rollback: bool, services: list[str] | None = None) -> dict:
    action = "ROLLBACK" if rollback else "CONTINUE"
    pairs = run.live_services(services, must_exist=True)
    resumed = [strategies.continue_deployment(run, svc.name, service, action) for svc, service in pairs]
    if run.options.no_wait:
        return {"status": "started", "cluster": run.environment.cluster, "services": [{**r, "status": "started"} for r in resumed]}
    result = wait(run, services=[r["service"] for r in resumed])
    if rollback and result.get("status") == "deployed":
        result["status"] = "rolled_back"  # the deployment ECS followed is the rollback's
    return result
