"""Who owns a service: CloudFormation, Proton or deployer."""

from __future__ import annotations

from dataclasses import dataclass

from ..aws.cloudformation import active_stack_names, stack_resources
from ..aws.ecs import Ecs

OWNER_TAG = "aws:cloudformation:stack-name"
_ACTIVE_STACKS = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE")


@dataclass
class Ownership:
    stack: str
    resources: dict[str, str]  # logical id → physical id of the service and task definition in the stack
    how: str  # how it was found: "tag" or "stack resources"


def find_owner(aws, service: dict, *, scan: bool = True) -> Ownership | None:
    """The stack that owns the service or its task definition: named by CloudFormation's
    `aws:cloudformation:stack-name` tag and confirmed by the stack's resources (the tag stays after
    a hand-over), or, with scan=True, found among the stacks' resources."""
    wanted = {service.get("serviceArn"), service.get("taskDefinition")} - {None}
    named = list(dict.fromkeys(t.get("value") for t in [*(service.get("tags") or []), *_task_definition_tags(aws, service)] if t.get("key") == OWNER_TAG))
    for stack in named:
        found = _owned_in(aws, stack, wanted, service)
        if found:
            return Ownership(stack, found, "tag")
    if not scan:
        return None
    for stack in active_stack_names(aws, _ACTIVE_STACKS):
        if stack in named:
            continue
        found = _owned_in(aws, stack, wanted, service)
        if found:
            return Ownership(stack, found, "stack resources")
    return None


def _task_definition_tags(aws, service: dict) -> list[dict]:
    """The tags of the revision the service runs (a stack may own the task definition alone)."""
    if not service.get("taskDefinition"):
        return []
    try:
        return Ecs(aws).task_definition_tags(service["taskDefinition"])
    except Exception:  # noqa: BLE001 - no tags to go by; the stack scan still looks
        return []


def _owned_in(aws, stack: str, wanted: set[str], service: dict) -> dict[str, str]:
    from ..aws.session import error_code, translate_errors

    with translate_errors(f"listing the resources of stack {stack} (cloudformation ListStackResources)"):
        try:
            resources = stack_resources(aws, stack)
        except Exception as exc:
            if error_code(exc) == "ValidationError":  # a stack that is gone owns nothing we can hand over
                return {}
            raise  # unreadable (AccessDenied, throttled): "nothing owns it" would be a guess
    found = {}
    for r in resources:
        physical = r.get("PhysicalResourceId") or ""
        if r.get("ResourceStatus", "").startswith("DELETE"):
            continue
        if physical in wanted or (r.get("ResourceType") == "AWS::ECS::Service" and physical.rsplit("/", 1)[-1] == service.get("serviceName") and service.get("clusterArn", "").rsplit("/", 1)[-1] in physical):
            found[r["LogicalResourceId"]] = physical
    return found


def ownership_warning(aws, cluster: str, service_name: str) -> str | None:
    """What init and verify say about a service a CloudFormation stack owns (None: no stack does)."""
    service = describe_with_tags(aws, cluster, service_name)
    owner = find_owner(aws, service, scan=False) if service else None
    if owner is None:
        return None
    return (
        f"service {service_name} belongs to CloudFormation stack {owner.stack} ({', '.join(sorted(owner.resources))}): "
        "a later update or deletion of that stack reverts or deletes what deployer deploys; hand it over with "
        f"`deployer adopt --cluster {cluster} --service {service_name}` (with --stack or --proton, as for init)"
    )


def ownership_check(run, service_name: str):
    """verify's check: WARN when a CloudFormation stack owns the service."""
    from ..release.checks import Check

    try:
        warning = ownership_warning(run.aws, run.environment.cluster, service_name)
    except Exception as exc:  # noqa: BLE001 - a check that cannot look says so, it does not fail verify
        return Check("stack ownership", "warn", f"could not check which stack owns {service_name}: {exc}")
    if warning:
        return Check("stack ownership", "warn", warning)
    return Check("stack ownership", "pass", f"no CloudFormation stack owns {service_name}")


def describe_with_tags(aws, cluster: str, service_name: str) -> dict | None:
    return Ecs(aws).service_with_tags(cluster, service_name)
