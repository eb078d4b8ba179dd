"""Rendered task and service definitions: parse, complete from the environment, validate.

Validation uses botocore's own input shapes for RegisterTaskDefinition / CreateService /
UpdateService, so a wrong field fails here, with its path, before any AWS write.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import BadInput

# Keys describe_task_definition returns that RegisterTaskDefinition does not accept.
TASK_DEF_READ_ONLY = (
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
)
# Keys describe_services returns that Create/UpdateService do not accept (so a dumped
# service can be used as a definition, ecspresso-style).
SERVICE_READ_ONLY = (
    "serviceArn",
    "clusterArn",
    "status",
    "runningCount",
    "pendingCount",
    "deployments",
    "events",
    "createdAt",
    "createdBy",
    "roleArn",
    "taskSets",
    "loadBalancersDetail",
)
# Set by deployer itself; a service definition that sets them would fight the tool.
SERVICE_OWNED_BY_TOOL = ("cluster", "serviceName", "service", "taskDefinition")
# Only CreateService takes these; UpdateService cannot change them.
CREATE_ONLY = ("launchType", "schedulingStrategy", "deploymentController", "role", "clientToken", "tags", "serviceName")


@dataclass
class ServiceDefinition:
    """What the rendered service definition asks for, completed from the environment."""

    create_params: dict  # for CreateService (without taskDefinition)
    update_params: dict  # for UpdateService (without taskDefinition); desiredCount only if the definition sets it
    desired_count_set: bool


def parse_rendered(text: str, path: Path) -> Any:
    """JSON, or YAML for *.yaml / *.yml templates; errors name the line of the rendered text."""
    shown = os.path.relpath(path)
    name = path.name.removesuffix(".j2").removesuffix(".jinja")
    if name.endswith((".yaml", ".yml")):
        from .config import load_yaml_with_lines

        return _plain(load_yaml_with_lines(text, f"{shown} (rendered)"))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        lines = text.splitlines()
        snippet = lines[exc.lineno - 1].strip() if 0 < exc.lineno <= len(lines) else ""
        raise BadInput(f"{shown}: rendered output is not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}: {snippet[:120]}") from None


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def validate_shape(params: dict, operation: str, what: str) -> None:
    """Check params against botocore's input shape for ecs.<operation>; BadInput names the field path."""
    from botocore.session import get_session
    from botocore.validate import ParamValidator

    model = _ecs_model(get_session)
    shape = model.operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        details = report.generate_report()
        raise BadInput(f"{what}: invalid for ECS {operation}:\n{_indent(details)}")


_MODEL_CACHE: dict = {}


def _ecs_model(get_session):
    if "ecs" not in _MODEL_CACHE:
        _MODEL_CACHE["ecs"] = get_session().get_service_model("ecs")
    return _MODEL_CACHE["ecs"]


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def task_definition(rendered: Any, path: Path, *, container: str, image: str | None, port: int | None, family: str) -> dict:
    """The RegisterTaskDefinition input: read-only keys dropped, image set on `container`."""
    shown = os.path.relpath(path)
    if isinstance(rendered, dict) and "taskDefinition" in rendered and isinstance(rendered["taskDefinition"], dict):
        rendered = rendered["taskDefinition"]  # `aws ecs describe-task-definition` output pasted as is
    if not isinstance(rendered, dict):
        raise BadInput(f"{shown}: a task definition must be a JSON object, got {type(rendered).__name__}")
    params = {k: copy.deepcopy(v) for k, v in rendered.items() if k not in TASK_DEF_READ_ONLY and k != "tags"}
    params.setdefault("family", family)
    if params["family"] != family:
        # Revisions, rollback and pruning look the family up from deployer.yaml: they must agree.
        raise BadInput(f"{shown}: family `{params['family']}` differs from `{family}` (set `service.family` in deployer.yaml, or use {{{{ service.family }}}})")
    containers = params.get("containerDefinitions")
    if not isinstance(containers, list) or not containers:
        raise BadInput(f"{shown}: `containerDefinitions` must be a non-empty list")
    names = [c.get("name") for c in containers if isinstance(c, dict)]
    if container not in names:
        raise BadInput(
            f"service.container: container `{container}` is not in {shown} (containers: {', '.join(map(str, names))})",
            hint="set `service.container` in deployer.yaml to the container that runs the app image",
        )
    target = next(c for c in containers if isinstance(c, dict) and c.get("name") == container)
    if image:
        target["image"] = image
    if not target.get("image"):
        raise BadInput(f"{shown}: container `{container}` has no image (use {{{{ image }}}} or pass --image)")
    validate_shape(params, "RegisterTaskDefinition", shown)
    if port is not None:
        ports = [m.get("containerPort") for m in target.get("portMappings", [])]
        if port not in ports:
            raise BadInput(f"service.port: container `{container}` in {shown} has no portMapping for {port} (it maps {ports or 'no ports'})")
    return params


def service_definition(rendered: Any | None, path: Path | None, *, environment, service, desired_count_flag: int | None) -> ServiceDefinition:
    """CreateService / UpdateService params; network and load balancer from the environment unless set."""
    shown = os.path.relpath(path) if path else "service definition"
    base = rendered or {}
    if not isinstance(base, dict):
        raise BadInput(f"{shown}: a service definition must be a JSON object, got {type(base).__name__}")
    owned = [k for k in SERVICE_OWNED_BY_TOOL if k in base and k not in ("serviceName",)]
    if owned:
        raise BadInput(f"{shown}: `{owned[0]}` is set by deployer (from deployer.yaml and the registered revision); remove it")
    params = {k: copy.deepcopy(v) for k, v in base.items() if k not in SERVICE_READ_ONLY and k not in ("serviceName", "taskDefinition")}
    if "serviceName" in base and base["serviceName"] != service.name:
        raise BadInput(f"{shown}: serviceName `{base['serviceName']}` differs from the service `{service.name}` in deployer.yaml")

    params.setdefault(
        "networkConfiguration",
        {"awsvpcConfiguration": {"subnets": list(environment.subnets), "securityGroups": list(environment.security_groups), "assignPublicIp": "DISABLED"}},
    )
    if "loadBalancers" not in params and environment.target_group:
        if service.port is None:
            raise BadInput("service.port: required when the environment has a target group (the container port the load balancer sends traffic to)")
        params["loadBalancers"] = [{"targetGroupArn": environment.target_group, "containerName": service.container, "containerPort": service.port}]
    from .strategies import complete_load_balancers

    complete_load_balancers(params, environment, shown)  # blue/green: advancedConfiguration from the environment
    if "capacityProviderStrategy" not in params:
        params.setdefault("launchType", "FARGATE")
    # A circuit breaker that rolls back is what an experienced ECS user turns on; opt out explicitly.
    deployment_config = params.setdefault("deploymentConfiguration", {})
    deployment_config.setdefault("deploymentCircuitBreaker", {"enable": True, "rollback": True})

    desired_count_set = desired_count_flag is not None or "desiredCount" in params
    if desired_count_flag is not None:
        params["desiredCount"] = desired_count_flag
    create = {"serviceName": service.name, **params}
    create.setdefault("desiredCount", 1)
    update = {k: v for k, v in params.items() if k not in CREATE_ONLY}
    if not desired_count_set:
        # Leave desiredCount as it is on update: never fight autoscaling.
        update.pop("desiredCount", None)

    validate_shape({"cluster": environment.cluster, "taskDefinition": "x", **create}, "CreateService", shown)
    validate_shape({"cluster": environment.cluster, "service": service.name, "taskDefinition": "x", **update}, "UpdateService", shown)
    return ServiceDefinition(create_params=create, update_params=update, desired_count_set=desired_count_set)
