"""The planner: rendered definitions + what runs now → the exact ECS calls a deploy will make.

A plan is plain data. `--dry-run` prints it; the executor (deployer/release/execute.py) runs it; tests
assert on it without AWS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..manifest import normalize
from ..aws.ecs import Ecs, Revision, primary_deployment, short_name
from ..core.errors import BadInput

REGISTERED = "<registered revision>"  # placeholder the executor replaces with the new ARN


@dataclass
class Step:
    call: str  # e.g. "ecs.RegisterTaskDefinition"
    params: dict
    why: str

    def as_dict(self) -> dict:
        return {"call": self.call, "params": self.params, "why": self.why}


@dataclass
class ServicePlan:
    service: str
    cluster: str
    family: str
    action: str  # "create" | "update" | "none"
    task_definition: str | None  # ARN to deploy when reusing one; REGISTERED when a new one is registered
    previous_task_definition: str | None  # what runs now
    rollback_target: str | None  # last healthy revision to return to (recorded before UpdateService)
    steps: list[Step] = field(default_factory=list)
    changed_settings: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    @property
    def registers(self) -> bool:
        return any(s.call == "ecs.RegisterTaskDefinition" for s in self.steps)

    def as_dict(self) -> dict:
        return {
            "service": self.service,
            "cluster": self.cluster,
            "action": self.action,
            "reason": self.reason,
            "task_definition": self.task_definition,
            "previous_task_definition": self.previous_task_definition,
            "rollback_target": self.rollback_target,
            "steps": [s.as_dict() for s in self.steps],
        }


# Settings ECS reports on each deployment (and in the service revision), never on the service:
# DescribeServices' service has no such top-level fields, so comparing them there would find every
# release changed and start a needless deployment.
DEPLOYMENT_SETTINGS = ("serviceConnectConfiguration", "volumeConfigurations", "vpcLatticeConfigurations")


def comparable_live(live: dict, wanted: dict | None = None, aws=None) -> dict:
    """The live service with its per-deployment settings read from the PRIMARY deployment (the one
    the service converges to: after ECS's rollback, the rollback's), where ECS reports them.

    With `wanted` (the service definition) and `aws`: a Service Connect namespace named on one
    side and given by ARN on the other counts as the same when Cloud Map names it so (ECS has
    answered either spelling)."""
    primary = primary_deployment(live) or {}
    comparable = {k: v for k, v in live.items() if k not in DEPLOYMENT_SETTINGS}
    comparable.update({k: primary[k] for k in DEPLOYMENT_SETTINGS if primary.get(k) is not None})
    connect = comparable.get("serviceConnectConfiguration")
    wanted_namespace = ((wanted or {}).get("serviceConnectConfiguration") or {}).get("namespace")
    if aws is not None and isinstance(connect, dict) and _same_namespace(aws, wanted_namespace, connect.get("namespace")):
        comparable["serviceConnectConfiguration"] = {**connect, "namespace": wanted_namespace}
    return comparable


def _same_namespace(aws, wanted: str | None, live: str | None) -> bool:
    if not wanted or not live or wanted == live or wanted.startswith("arn:") == live.startswith("arn:"):
        return False
    arn, name = (live, wanted) if live.startswith("arn:") else (wanted, live)
    try:
        from ..aws.resources import namespace as cloud_map_namespace

        namespace = cloud_map_namespace(aws, arn.rsplit("/", 1)[-1])
    except Exception:  # noqa: BLE001 - not readable: the difference shows, as it did before
        return False
    http_name = ((namespace.get("Properties") or {}).get("HttpProperties") or {}).get("HttpName")
    return namespace.get("Arn") == arn and name in (namespace.get("Name"), http_name)


def _file_tags(task_def: dict) -> dict[str, str]:
    """The task definition file's own tags; deployer's win on deployer's keys."""
    return {t["key"]: t["value"] for t in task_def.get("tags") or []}


def _live_is_settled(live: dict) -> bool:
    primary = primary_deployment(live)
    if primary is None:
        return False
    state = primary.get("rolloutState")
    # Without the ECS controller's rolloutState, one deployment left means it settled.
    return state == "COMPLETED" or (state is None and len(live.get("deployments", [])) == 1)


def last_healthy(ecs: Ecs, family: str, *, below: int | None = None, exclude: str | None = None) -> Revision | None:
    """Newest ACTIVE revision marked healthy (optionally with a lower revision number than `below`)."""
    from ..aws.ecs import arn_revision

    for arn in ecs.revision_arns(family):
        if (below is not None and arn_revision(arn) >= below) or arn == exclude:
            continue
        rev = ecs.revision(arn)
        if rev.healthy:
            return rev
    return None


def rollback_target(ecs: Ecs, live: dict | None, family: str) -> str | None:
    """The revision that was live and healthy before this run: not simply N-1."""
    if live is None:
        return None
    current = live.get("taskDefinition")
    if current and _live_is_settled(live):
        return current
    healthy = last_healthy(ecs, family)
    return healthy.arn if healthy else current


def plan_service(
    ecs: Ecs,
    *,
    cluster: str,
    service_name: str,
    family: str,
    task_def: dict | None,
    service_def,
    live: dict | None,
    tags: dict[str, str],
    revision_arn: str | None = None,
    force: bool = False,
) -> ServicePlan:
    """Decide create/update/none. Either task_def (to register unless equal to what runs) or revision_arn (redeploy)."""
    controller = ((live or {}).get("deploymentController") or {}).get("type", "ECS")
    if controller != "ECS":
        # Under CODE_DEPLOY (blue/green) or EXTERNAL, UpdateService cannot change the task definition.
        raise BadInput(
            f"service {service_name} uses the {controller} deployment controller; deployer deploys services "
            "with the ECS controller, which does blue/green natively (deploymentConfiguration.strategy BLUE_GREEN, LINEAR or CANARY)",
            hint="move the service to native ECS blue/green: README, section 'From CodeDeploy to native blue/green'",
        )
    previous = live.get("taskDefinition") if live else None
    target: str | None = revision_arn
    steps: list[Step] = []
    reason = ""

    if task_def is not None:
        live_rev = ecs.revision(previous) if previous else None
        live_td = normalize.with_tags(live_rev.definition, live_rev.tags) if live_rev else None  # the file's tags count too
        if live_td is not None and normalize.same_task_definition(task_def, live_td):
            target = previous
            reason = f"rendered task definition equals the running revision {short_name(previous)}: nothing to register"
        else:
            target = REGISTERED
            steps.append(Step("ecs.RegisterTaskDefinition", {**task_def, "tags": [{"key": k, "value": v} for k, v in {**_file_tags(task_def), **tags}.items() if v]}, "new revision of " + family))

    plan = ServicePlan(
        service=service_name,
        cluster=cluster,
        family=family,
        action="none",
        task_definition=target,
        previous_task_definition=previous,
        rollback_target=None,
        reason=reason,
    )
    if live is None:
        plan.action = "create"
        plan.steps = steps + [Step("ecs.CreateService", {"cluster": cluster, "taskDefinition": target, **service_def.create_params}, "service does not exist yet")]
        return plan

    plan.rollback_target = rollback_target(ecs, live, family)
    changes = normalize.changed_settings(service_def.update_params, comparable_live(live, service_def.update_params, ecs.aws))
    plan.changed_settings = {k: {"live": v[0], "wanted": v[1]} for k, v in changes.items()}
    new_revision = target != previous
    if not new_revision and not changes and not force:
        plan.reason = f"already deployed: {service_name} runs {short_name(previous)} with these settings"
        plan.steps = steps
        return plan
    plan.action = "update"
    update = {"cluster": cluster, "service": service_name, **service_def.update_params}
    from ..manifest.strategies import keep_wiring

    keep_wiring(update, changes)  # loadBalancers only when changed (blue/green target-group alternation)
    if new_revision or force:
        update["taskDefinition"] = target
    if force:
        update["forceNewDeployment"] = True
    why = "new revision" if new_revision else "forced new deployment" if force else "settings changed: " + ", ".join(sorted(changes))
    plan.steps = steps + [Step("ecs.UpdateService", update, why)]
    return plan
