"""Settings ECS keeps per deployment, not on the service: serviceConnectConfiguration,
volumeConfigurations, vpcLatticeConfigurations.

DescribeServices shows them only on each `deployments[]` entry (and in the service revision):
the service itself has no such top-level fields. moto drops them from CreateService and keeps
them from UpdateService on an attribute the answer never shows. Here:
- CreateService / UpdateService remember what the request sets (an update keeps what it leaves
  out) as the service's current deployment settings;
- every new deployment carries the current settings; a circuit-breaker rollback carries those of
  the deployment it returns to, which become current again;
- an UpdateService that sets one of them starts a new deployment (new tasks get the new
  settings), as ECS does, even when the task definition stays the same.
"""
from __future__ import annotations

import copy
from typing import Any

from moto.ecs.responses import EC2ContainerServiceResponse

from .rollout import Engine

KEYS = ("serviceConnectConfiguration", "volumeConfigurations", "vpcLatticeConfigurations")

_installed = False
_orig_create = None
_orig_update = None
_orig_start = Engine.start_deployment
# The settings of the request being handled (moto requests are serialised by LocalAws's lock).
_request: dict[str, Any] | None = None


def install() -> None:
    """After ecs_patch.install(): wraps the handlers it installed."""
    global _installed, _orig_create, _orig_update
    if _installed:
        return
    _orig_create = EC2ContainerServiceResponse.create_service
    _orig_update = EC2ContainerServiceResponse.update_service
    EC2ContainerServiceResponse.create_service = create_service_response
    EC2ContainerServiceResponse.update_service = update_service_response
    Engine.start_deployment = start_deployment
    _installed = True


def _requested(response: EC2ContainerServiceResponse) -> dict[str, Any]:
    return {key: response._get_param(key) for key in KEYS if response._get_param(key) is not None}


def create_service_response(self: EC2ContainerServiceResponse):
    global _request
    _request = _requested(self)
    try:
        return _orig_create(self)
    finally:
        _request = None


def update_service_response(self: EC2ContainerServiceResponse):
    global _request
    requested = _requested(self)
    if not requested:
        return _orig_update(self)
    service = self.ecs_backend._get_service(self._get_param("cluster", "default"), self._get_param("service").split("/")[-1])
    before = service.deployments[0]["id"] if getattr(service, "deployments", None) else None
    _request = {**current(service), **requested}
    try:
        result = _orig_update(self)
        started = service.deployments[0]["id"] if service.deployments else None
        if started == before and hasattr(service, "localaws_settled"):
            from . import ecs_patch

            if ecs_patch.ENGINE is not None:
                ecs_patch.ENGINE.start_deployment(self.ecs_backend, service)
        return result
    finally:
        _request = None


def answered(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings as a deployment entry shows them: with the Service Connect defaults ECS applies
    (discoveryName = portName, a client alias's dnsName = <discoveryName>.<namespace>) spelled out."""
    out = copy.deepcopy(settings)
    connect = out.get("serviceConnectConfiguration") or {}
    for entry in connect.get("services") or []:
        entry.setdefault("discoveryName", entry.get("portName"))
        for alias in entry.get("clientAliases") or []:
            alias.setdefault("dnsName", f"{entry['discoveryName']}.{connect.get('namespace')}")
    return out


def current(service) -> dict[str, Any]:
    return copy.deepcopy(getattr(service, "localaws_deployment_settings", None) or {})


def start_deployment(self: Engine, backend, service, rollback_of: str | None = None, reason: str | None = None):
    if _request is not None:
        settings = copy.deepcopy(_request)
    elif rollback_of is not None and getattr(service, "localaws_last_good", None):
        settings = copy.deepcopy(getattr(self, "localaws_settings_by_deployment", {}).get(service.localaws_last_good[0], {}))
    else:
        settings = current(service)
    dep = _orig_start(self, backend, service, rollback_of=rollback_of, reason=reason)
    dep.update(answered(settings))
    service.localaws_deployment_settings = settings
    if not hasattr(self, "localaws_settings_by_deployment"):
        self.localaws_settings_by_deployment = {}
    self.localaws_settings_by_deployment[dep["id"]] = settings
    return dep
