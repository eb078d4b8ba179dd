"""Canonical forms of task and service definitions, so "unchanged" compares equal.

ECS fills in defaults (cpu 0, essential true, hostPort = containerPort, protocol tcp, empty
lists) and reorders nothing we can rely on; both sides go through the same function.
"""

from __future__ import annotations

import copy
from typing import Any

from .definitions import SERVICE_READ_ONLY, TASK_DEF_READ_ONLY

_BY_NAME = ("environment", "secrets", "ulimits", "systemControls", "extraHosts")


def _prune(value: Any) -> Any:
    """Drop None, empty lists and empty mappings, recursively."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _container(container: dict) -> dict:
    c = copy.deepcopy(container)
    if c.get("cpu") == 0:
        del c["cpu"]
    if c.get("essential") is True:
        del c["essential"]
    for key in _BY_NAME:
        if isinstance(c.get(key), list):
            c[key] = sorted(c[key], key=lambda item: str(item.get("name", item.get("namespace", item))))
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
    return c


def task_definition(td: dict) -> dict:
    t = {k: v for k, v in td.items() if k not in TASK_DEF_READ_ONLY and k != "tags"}
    t["containerDefinitions"] = sorted((_container(c) for c in t.get("containerDefinitions", [])), key=lambda c: c.get("name", ""))
    for key in ("cpu", "memory"):
        if key in t and t[key] is not None:
            t[key] = str(t[key])
    if isinstance(t.get("requiresCompatibilities"), list):
        t["requiresCompatibilities"] = sorted(t["requiresCompatibilities"])
    return _prune(t)


def service_settings(params: dict) -> dict:
    """The comparable part of a service: what UpdateService could change."""
    s = {k: copy.deepcopy(v) for k, v in params.items() if k not in SERVICE_READ_ONLY}
    for key in ("taskDefinition", "serviceName", "cluster", "service", "launchType", "platformFamily", "deploymentController", "schedulingStrategy", "tags", "propagateTags", "enableECSManagedTags", "platformVersion"):
        s.pop(key, None)
    vpc = s.get("networkConfiguration", {}).get("awsvpcConfiguration")
    if vpc:
        for key in ("subnets", "securityGroups"):
            if isinstance(vpc.get(key), list):
                vpc[key] = sorted(vpc[key])
    if isinstance(s.get("loadBalancers"), list):
        s["loadBalancers"] = sorted(s["loadBalancers"], key=lambda lb: (lb.get("targetGroupArn", ""), lb.get("containerName", "")))
    return _prune(s)


def changed_settings(wanted: dict, live: dict) -> dict[str, tuple[Any, Any]]:
    """Keys of `wanted` whose canonical value differs from the live service (keys it does not set are left alone)."""
    w, l = service_settings(wanted), service_settings(live)
    changes = {}
    for key, value in w.items():
        live_value = l.get(key)
        if isinstance(value, dict) and isinstance(live_value, dict):
            # Compare only what the definition sets inside nested settings (ECS adds defaults).
            live_value = {k: live_value.get(k) for k in value}
            live_value = _prune(live_value)
        if value != live_value:
            changes[key] = (live_value, value)
    return changes
