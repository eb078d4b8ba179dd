"""Canonical forms of task and service definitions, so "unchanged" compares equal.

ECS fills in defaults (cpu 0, essential true, hostPort = containerPort, protocol tcp, health
check timings, empty lists) and reorders nothing we can rely on; both sides go through the
same function. What one side cannot settle alone — a role given by name in the template
while ECS answers its ARN, `family:rev` against an ARN, an SSM parameter name against its ARN —
`reconcile` settles pairwise: a name on one side and an ARN of that name on the other count
as the same value (two different ARNs never do).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .definitions import SERVICE_READ_ONLY, TASK_DEF_READ_ONLY

_BY_NAME = ("environment", "secrets", "ulimits", "systemControls", "extraHosts")
# Tag keys that are not the file's own: deployer's bookkeeping, and AWS's (CloudFormation's stack tags).
_NOT_USER_TAGS = ("deployer:", "aws:")
# ECS's answers for a container health check the template left to the defaults.
_HEALTH_CHECK_DEFAULTS = {"interval": 30, "timeout": 5, "retries": 3, "startPeriod": 0}
# Keys whose values name an AWS resource: by name or by ARN (see `reconcile`).
RESOURCE_KEYS = frozenset(
    ("executionRoleArn", "taskRoleArn", "valueFrom", "credentialsParameter", "targetGroupArn", "taskDefinition", "cluster", "role", "roleArn")
)


def _prune(value: Any) -> Any:
    """Drop None, empty lists and empty mappings, recursively."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def prune(value: Any) -> Any:
    """Public alias of the pruning step (None, [] and {} dropped, recursively)."""
    return _prune(value)


def _sort_named(items: list) -> list:
    return sorted(items, key=lambda item: str(item.get("name", item.get("namespace", item))) if isinstance(item, dict) else str(item))


def _container(container: dict) -> dict:
    c = copy.deepcopy(container)
    if c.get("cpu") == 0:
        del c["cpu"]
    if c.get("essential") is True:
        del c["essential"]
    if c.get("versionConsistency") == "enabled":  # the default newer ECS APIs spell out
        del c["versionConsistency"]
    for key in _BY_NAME:
        if isinstance(c.get(key), list):
            c[key] = _sort_named(c[key])
    if isinstance(c.get("dependsOn"), list):
        c["dependsOn"] = sorted(c["dependsOn"], key=lambda d: str(d.get("containerName", "")))
    mappings = []
    for mapping in c.get("portMappings", []) or []:
        m = dict(mapping)
        if m.get("hostPort") == m.get("containerPort"):
            m.pop("hostPort", None)
        if m.get("protocol") == "tcp":
            m.pop("protocol")
        mappings.append(m)
    if mappings:
        c["portMappings"] = sorted(mappings, key=lambda m: (m.get("containerPort", 0), m.get("name", "")))
    health = c.get("healthCheck")
    if isinstance(health, dict):
        c["healthCheck"] = {k: v for k, v in health.items() if _HEALTH_CHECK_DEFAULTS.get(k, object()) != v}
    log = c.get("logConfiguration")
    if isinstance(log, dict) and isinstance(log.get("secretOptions"), list):
        c["logConfiguration"] = {**log, "secretOptions": _sort_named(log["secretOptions"])}
    return c


def user_tags(tags: Any) -> list[dict]:
    """The tags a file sets (deployer's and AWS's own left out), sorted by key: a list of {key, value}."""
    pairs = tags.items() if isinstance(tags, dict) else ((t.get("key"), t.get("value")) for t in tags or [] if isinstance(t, dict))
    return sorted(({"key": k, "value": v} for k, v in pairs if k and not str(k).startswith(_NOT_USER_TAGS)), key=lambda t: t["key"])


def with_tags(definition: dict, tags: dict[str, str]) -> dict:
    """A described revision with its tags beside it, as a rendered definition carries them (for comparing)."""
    return {**definition, "tags": user_tags(tags)}


def task_definition(td: dict) -> dict:
    t = {k: v for k, v in td.items() if k not in TASK_DEF_READ_ONLY}
    t["tags"] = user_tags(t.get("tags"))
    t["networkMode"] = t.get("networkMode") or "bridge"  # what ECS runs when it is not set
    t["containerDefinitions"] = sorted((_container(c) for c in t.get("containerDefinitions", [])), key=lambda c: c.get("name", ""))
    for key in ("cpu", "memory"):
        if key in t and t[key] is not None:
            t[key] = str(t[key])
    if isinstance(t.get("requiresCompatibilities"), list):
        t["requiresCompatibilities"] = sorted(t["requiresCompatibilities"])
    if t.get("enableFaultInjection") is False:  # the default newer ECS APIs spell out
        del t["enableFaultInjection"]
    if isinstance(t.get("volumes"), list):
        t["volumes"] = _sort_named(t["volumes"])
    return _prune(t)


def service_settings(params: dict, *, live: bool = False) -> dict:
    """The comparable part of a service: what UpdateService could change.

    Defaults ECS applies to what a request leaves out are filled in (assignPublicIp DISABLED,
    capacity-provider base and weight 0). With live=True (a DescribeServices answer) so are
    the defaults of settings an older or emulated answer may leave out (a circuit breaker that
    is off, 200/100 percent, grace period 0, execute command off): "not set" then equals "set to
    the default". A definition's own unset keys are never filled: they are left alone.
    """
    s = {k: copy.deepcopy(v) for k, v in params.items() if k not in SERVICE_READ_ONLY}
    for key in _NOT_SETTINGS:
        s.pop(key, None)
    vpc = (s.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if vpc:
        for key in ("subnets", "securityGroups"):
            if isinstance(vpc.get(key), list):
                vpc[key] = sorted(vpc[key])
        vpc.setdefault("assignPublicIp", "DISABLED")
    if isinstance(s.get("loadBalancers"), list):
        s["loadBalancers"] = sorted(s["loadBalancers"], key=lambda lb: (str(lb.get("targetGroupArn", "")), str(lb.get("containerName", "")), lb.get("containerPort", 0)))
    if isinstance(s.get("serviceRegistries"), list):
        s["serviceRegistries"] = sorted(s["serviceRegistries"], key=lambda r: str(r.get("registryArn", "")))
    if isinstance(s.get("capacityProviderStrategy"), list):
        s["capacityProviderStrategy"] = sorted(
            ({"base": 0, "weight": 0, **item} for item in s["capacityProviderStrategy"]), key=lambda item: str(item.get("capacityProvider", ""))
        )
    config = s.get("deploymentConfiguration")
    if isinstance(config, dict):
        alarms = config.get("alarms")
        if isinstance(alarms, dict) and not alarms.get("enable") and not alarms.get("alarmNames"):
            config.pop("alarms")  # alarms off and none named: the same as not set
    if live:
        for key, default in _LIVE_DEFAULTS.items():
            if s.get(key) is None:
                s[key] = copy.deepcopy(default)
            elif isinstance(default, dict) and isinstance(s[key], dict):
                s[key] = {**copy.deepcopy(default), **s[key]}
    return _prune(s)


# Not settings UpdateService changes (or set by deployer itself).
_NOT_SETTINGS = (
    "taskDefinition", "serviceName", "cluster", "service", "launchType", "platformFamily", "deploymentController", "schedulingStrategy",
    "tags", "propagateTags", "enableECSManagedTags", "platformVersion", "role", "clientToken", "forceNewDeployment",
    "currentServiceDeployment", "currentServiceRevisions", "resourceManagementType",
)
# What a service without these settings does.
_LIVE_DEFAULTS = {
    "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": False, "rollback": False}, "maximumPercent": 200, "minimumHealthyPercent": 100},
    "healthCheckGracePeriodSeconds": 0,
    "enableExecuteCommand": False,
}


def live_settings(live: dict, wanted: dict) -> dict:
    """The live service's canonical settings, limited to what `wanted` (canonical) sets."""
    return project(service_settings(live, live=True), wanted)


def project(live: Any, wanted: Any) -> Any:
    """The part of `live` that `wanted` sets: mappings keep wanted's keys (recursively); other values as they are."""
    if isinstance(wanted, dict) and isinstance(live, dict):
        return _prune({k: project(live.get(k), v) for k, v in wanted.items() if k in live})
    if isinstance(wanted, list) and isinstance(live, list) and len(wanted) == len(live):
        # Item by item: ECS spells out defaults inside list items too (a Service Connect alias's dnsName).
        return [project(item, w) for item, w in zip(live, wanted)]
    return live


def changed_settings(wanted: dict, live: dict) -> dict[str, tuple[Any, Any]]:
    """Keys of `wanted` whose canonical value differs from the live service (keys it does not set are left alone)."""
    w, l = service_settings(wanted), service_settings(live, live=True)
    changes = {}
    for key, value in w.items():
        live_value = l.get(key)
        if isinstance(value, (dict, list)) and type(live_value) is type(value):
            # Compare only what the definition sets inside nested settings (ECS adds defaults).
            live_value = project(live_value, value)
        value = reconcile(value, live_value, key)
        if value != live_value:
            changes[key] = (live_value, value)
    return changes


# ---------------------------------------------------------------------------------------
# Names against ARNs

_SECRET_SUFFIX = re.compile(r"^(?P<name>.+)-[A-Za-z0-9]{6}$")


def arn_names(arn: str) -> set[str]:
    """The names an ARN may be given by: a role's name (with or without its path), a target group's
    name, an SSM parameter's name (with or without the leading /), a secret's name (without the
    random suffix), a task definition's family:revision, the last part of other resources."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return set()
    service, resource = parts[2], parts[5]
    names = {resource}
    if service == "iam" and resource.startswith("role/"):
        path_name = resource[len("role/") :]
        names |= {path_name, path_name.rsplit("/", 1)[-1]}
    elif service == "elasticloadbalancing" and resource.startswith("targetgroup/"):
        names.add(resource.split("/")[1])
    elif service == "ssm" and resource.startswith("parameter/"):
        name = resource[len("parameter") :]
        names |= {name, name.lstrip("/")}
    elif service == "secretsmanager" and resource.startswith("secret:"):
        name = resource[len("secret:") :]
        names.add(name)
        match = _SECRET_SUFFIX.match(name)
        if match:
            names.add(match.group("name"))
    elif "/" in resource:
        rest = resource.split("/", 1)[1]
        names |= {rest, rest.rsplit("/", 1)[-1]}
    return names


def same_resource(a: Any, b: Any) -> bool:
    """Equal values, or a name and an ARN of that name."""
    if a == b:
        return True
    if not (isinstance(a, str) and isinstance(b, str)):
        return False
    a_arn, b_arn = a.startswith("arn:"), b.startswith("arn:")
    if a_arn == b_arn:
        return False  # two names, or two ARNs: only equal when identical
    arn, name = (a, b) if a_arn else (b, a)
    return name in arn_names(arn)


def reconcile(wanted: Any, live: Any, key: str | None = None) -> Any:
    """`wanted` with each resource reference (RESOURCE_KEYS) that names the same resource as
    `live` does (a name against its ARN) replaced by live's spelling, so equality then holds.

    Lists of named items are matched by name, other lists by position; nothing else changes.
    """
    if isinstance(wanted, dict) and isinstance(live, dict):
        return {k: reconcile(v, live[k], k) if k in live else v for k, v in wanted.items()}
    if isinstance(wanted, list) and isinstance(live, list):
        named = all(isinstance(i, dict) and "name" in i for i in wanted + live)
        if named:
            by_name = {i["name"]: i for i in live}
            return [reconcile(i, by_name[i["name"]], key) if i["name"] in by_name else i for i in wanted]
        return [reconcile(w, live[n], key) if n < len(live) else w for n, w in enumerate(wanted)]
    if key in RESOURCE_KEYS and wanted != live and same_resource(wanted, live):
        return live
    return wanted


def compare_task_definitions(wanted: dict, live: dict) -> tuple[dict, dict]:
    """(wanted, live) in canonical form with names reconciled against live's ARNs: equal iff unchanged."""
    w, l = task_definition(wanted), task_definition(live)
    return reconcile(w, l), l


def same_task_definition(wanted: dict, live: dict) -> bool:
    w, l = compare_task_definitions(wanted, live)
    return w == l
