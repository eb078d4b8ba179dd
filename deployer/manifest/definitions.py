"""Rendered task and service definitions: parse, complete from the environment, validate.

Validation uses botocore's own input shapes for RegisterTaskDefinition / CreateService /
UpdateService, so a wrong field fails here, with its path, before any AWS write.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import taskdef_input
from ..core.errors import BadInput

# Keys describe_task_definition returns that RegisterTaskDefinition does not accept.
TASK_DEF_READ_ONLY = taskdef_input.READ_ONLY
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


_CFN_SHORT_TAG = re.compile(r"could not determine a constructor for the tag '!(\w+)'")
_CFN_FUNCTIONS = {
    "Ref", "Sub", "GetAtt", "Join", "Select", "Split", "FindInMap", "ImportValue", "If", "Equals", "Not", "And", "Or",
    "Base64", "Cidr", "GetAZs", "Condition", "Transform", "Length", "ToJsonString", "ForEach",
}


def parse_rendered(text: str, path: Path, context: dict | None = None, repo_root: Path | None = None) -> Any:
    """JSON, YAML for *.yaml / *.yml templates, Jsonnet for *.jsonnet (template values as external
    variables); errors name the line of the rendered text. Refused, naming the line or field: duplicate
    keys (JSON keeps only the last, the reader sees the first), NaN and Infinity (not JSON; ECS refuses them)."""
    shown = os.path.relpath(path)
    name = path.name.removesuffix(".j2").removesuffix(".jinja")
    if name.endswith(".jsonnet"):
        from .jsonnet import evaluate

        text = evaluate(text, path, context or {}, repo_root)
        shown = f"{shown} (after Jsonnet)"
    if name.endswith((".yaml", ".yml")):
        from .config import load_yaml_with_lines

        try:
            document = _plain(load_yaml_with_lines(text, f"{shown} (rendered)"))
        except BadInput as exc:
            raise _cloudformation_yaml(exc, shown) or exc from None
        check_finite(document, shown)
        return document
    return parse_json(text, shown)


def _cloudformation_yaml(exc: BadInput, shown: str) -> BadInput | None:
    match = _CFN_SHORT_TAG.search(exc.message)
    if not match or match.group(1) not in _CFN_FUNCTIONS:
        return None
    where = exc.message.split(": invalid YAML:", 1)[0]
    return BadInput(
        f"{where}: `!{match.group(1)}` is a CloudFormation intrinsic function (YAML short form): this is a CloudFormation "
        "template, and deployer does not evaluate CloudFormation",
        hint="deployer takes the task definition itself: put the `Properties` of the AWS::ECS::TaskDefinition resource in the "
        "file and replace each `!Ref`/`!Sub`/`!GetAtt` with its value or a template value such as {{ environment.outputs.Key }}",
    )


def parse_json(text: str, shown: str) -> Any:
    """json.loads, refusing duplicate keys (naming both lines) and NaN/Infinity (naming the line)."""
    duplicates: list = []

    def pairs(items: list) -> dict:
        seen: dict = {}
        for key, value in items:
            if key in seen and not duplicates:
                duplicates.append(key)
            seen[key] = value
        return seen

    def constant(value: str):
        raise _NonFinite(value)

    try:
        document = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except _NonFinite as exc:
        line = _constant_line(text, exc.args[0])
        raise BadInput(f"{shown}: `{exc.args[0]}` at line {line} of the rendered output is not a JSON number (JSON has no NaN or Infinity, nor does ECS)") from None
    except json.JSONDecodeError as exc:
        lines = text.splitlines()
        snippet = lines[exc.lineno - 1].strip() if 0 < exc.lineno <= len(lines) else ""
        raise BadInput(f"{shown}: rendered output is not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}: {snippet[:120]}") from None
    if duplicates:
        from .jsonlines import first_duplicate

        found = first_duplicate(text)
        if found is not None:
            key, first, second, where = found
            raise BadInput(
                f"{shown}: duplicate key \"{key}\" in {where or 'the top-level object'} at lines {first} and {second} of the rendered output; "
                "JSON keeps only the last one, so a reader of the first is misled",
                hint="remove one of them",
            )
        raise BadInput(f"{shown}: duplicate key \"{duplicates[0]}\" in the rendered output; JSON keeps only the last one", hint="remove one of them")
    return document


class _NonFinite(Exception):
    pass


def _constant_line(text: str, constant: str) -> int:
    match = re.search(r"(?<![\w\"])" + re.escape(constant) + r"(?![\w\"])", text)
    return text.count("\n", 0, match.start()) + 1 if match else 0


def check_finite(value: Any, shown: str, path: str = "") -> None:
    """NaN and Infinity (YAML's .nan and .inf) anywhere: refused, naming the field."""
    if isinstance(value, float) and not math.isfinite(value):
        raise BadInput(f"{shown}: `{path or '(top)'}` is {value}, not a number ECS accepts (no NaN or Infinity)")
    if isinstance(value, dict):
        for key, item in value.items():
            check_finite(item, shown, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            check_finite(item, shown, f"{path}[{n}]")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def validate_shape(params: dict, operation: str, what: str) -> None:
    """Check params against botocore's input shape for ecs.<operation>; BadInput names the field path."""
    from ..aws.model import input_errors

    details = input_errors("ecs", operation, params)
    if details:
        raise BadInput(f"{what}: invalid for ECS {operation}:\n{_indent(details)}")


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def task_definition(rendered: Any, path: Path, *, container: str, image: str | None, port: int | None, family: str, console=None) -> dict:
    """The RegisterTaskDefinition input from the forms people have (deployer/manifest/taskdef_input.py), image
    set on `container`; the file's own tags kept under "tags". Notices and placeholder warnings go to `console`."""
    shown = os.path.relpath(path)
    prepared = taskdef_input.prepare(rendered, shown)
    params = prepared.params
    for notice in prepared.notices if console else ():
        console.info(notice)
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
    check_ecs_limits(params, shown)
    validate_shape(params, "RegisterTaskDefinition", shown)
    check_task_rules(params, shown)
    if port is not None:
        ports = [m.get("containerPort") for m in target.get("portMappings", [])]
        if port not in ports:
            raise BadInput(f"service.port: container `{container}` in {shown} has no portMapping for {port} (it maps {ports or 'no ports'})")
    for text, where in taskdef_input.placeholders(params) if console else ():
        console.warn(f"{shown}: placeholder `{text}` left in {where}")
    return params


# ECS's own limits of RegisterTaskDefinition (service quotas that cannot be raised).
MAX_CONTAINERS = 10
MAX_TASK_DEFINITION_BYTES = 64 * 1024


def check_ecs_limits(params: dict, shown: str) -> None:
    """What RegisterTaskDefinition would refuse for its size: found before any write."""
    containers = params.get("containerDefinitions") or []
    if len(containers) > MAX_CONTAINERS:
        raise BadInput(f"{shown}: `containerDefinitions` has {len(containers)} containers; ECS allows at most {MAX_CONTAINERS} in a task definition")
    check_finite(params, shown)
    # What botocore sends (json.dumps with its default separators): ECS counts the request it receives.
    size = len(json.dumps(params).encode("utf-8"))
    if size > MAX_TASK_DEFINITION_BYTES:
        biggest = max(((k, len(json.dumps(v))) for k, v in params.items()), key=lambda item: item[1])
        raise BadInput(
            f"{shown}: the task definition is {size} bytes as registered; ECS allows at most {MAX_TASK_DEFINITION_BYTES} bytes (64 KiB) "
            f"(the largest field is `{biggest[0]}`, {biggest[1]} bytes)"
        )


# Fargate's valid task sizes: cpu units → memory MiB allowed.
FARGATE_SIZES = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}


def network_mode(td: dict) -> str:
    """A task definition without networkMode runs in bridge mode (on EC2; Fargate refuses it)."""
    return td.get("networkMode") or "bridge"


def check_task_rules(params: dict, shown: str) -> None:
    """What ECS would refuse at registration or at the first task: found before any write."""
    mode = network_mode(params)
    fargate = "FARGATE" in (params.get("requiresCompatibilities") or [])
    if fargate:
        if mode != "awsvpc":
            said = f"`{mode}`" if params.get("networkMode") else "not set (bridge)"
            raise BadInput(f"{shown}: requiresCompatibilities FARGATE needs networkMode `awsvpc`; networkMode is {said}")
        missing = [k for k in ("cpu", "memory") if not params.get(k)]
        if missing:
            raise BadInput(f"{shown}: requiresCompatibilities FARGATE needs task-level {' and '.join(f'`{k}`' for k in missing)} (e.g. \"cpu\": \"256\", \"memory\": \"512\")")
        cpu, memory = int(params["cpu"]), int(params["memory"])
        if memory not in FARGATE_SIZES.get(cpu, ()):
            if cpu not in FARGATE_SIZES:
                allowed = f"cpu must be one of {', '.join(map(str, FARGATE_SIZES))}"
            else:
                sizes = FARGATE_SIZES[cpu]
                allowed = f"with cpu {cpu}, memory is {', '.join(map(str, sizes))}" if len(sizes) <= 4 else f"with cpu {cpu}, memory is {sizes[0]} to {sizes[-1]} in steps of {sizes[1] - sizes[0]}"
            raise BadInput(f"{shown}: cpu {cpu} with memory {memory} is not a Fargate task size; {allowed}")
    if mode in ("awsvpc", "host"):
        for n, c in enumerate(params["containerDefinitions"]):
            for m, mapping in enumerate(c.get("portMappings") or []):
                host, port = mapping.get("hostPort"), mapping.get("containerPort")
                if host is not None and port is not None and host != port:
                    raise BadInput(
                        f"{shown}: containerDefinitions[{n}].portMappings[{m}]: hostPort {host} must equal containerPort {port} "
                        f"with networkMode {mode}" + (" (Fargate)" if fargate else "")
                    )


def service_definition(
    rendered: Any | None, path: Path | None, *, environment, service, desired_count_flag: int | None, task_definition: dict | None = None, task_definition_path: Path | None = None,
    alarms: list[str] | None = None
) -> ServiceDefinition:
    """CreateService / UpdateService params; launch type and network follow the task definition
    (see `placement`), the load balancer comes from the environment unless set. A top-level key set
    to null is switched off: not derived, not sent."""
    shown = os.path.relpath(path) if path else "service definition"
    base = rendered or {}
    if not isinstance(base, dict):
        raise BadInput(f"{shown}: a service definition must be a JSON object, got {type(base).__name__}")
    owned = [k for k in SERVICE_OWNED_BY_TOOL if k in base and k not in ("serviceName",)]
    if owned:
        raise BadInput(f"{shown}: `{owned[0]}` is set by deployer (from deployer.yaml and the registered revision); remove it")
    params = {k: copy.deepcopy(v) for k, v in base.items() if k not in SERVICE_READ_ONLY and k not in ("serviceName", "taskDefinition") and v is not None}
    if "serviceName" in base and base["serviceName"] != service.name:
        raise BadInput(f"{shown}: serviceName `{base['serviceName']}` differs from the service `{service.name}` in deployer.yaml")

    td_shown = os.path.relpath(task_definition_path) if task_definition_path else "the task definition"
    awsvpc = placement(params, base, task_definition, shown=shown, td_shown=td_shown)
    if awsvpc and "networkConfiguration" not in base:
        params["networkConfiguration"] = {
            "awsvpcConfiguration": {"subnets": list(environment.subnets), "securityGroups": list(environment.security_groups), "assignPublicIp": "DISABLED"}
        }
    if "loadBalancers" not in base and environment.target_group:
        if service.port is None:
            raise BadInput("service.port: required when the environment has a target group (the container port the load balancer sends traffic to)")
        params["loadBalancers"] = [{"targetGroupArn": environment.target_group, "containerName": service.container, "containerPort": service.port}]
    from .strategies import complete_load_balancers

    complete_load_balancers(params, environment, shown)  # blue/green: advancedConfiguration from the environment
    # A circuit breaker that rolls back is what an experienced ECS user turns on; opt out explicitly.
    deployment_config = params.setdefault("deploymentConfiguration", {})
    deployment_config.setdefault("deploymentCircuitBreaker", {"enable": True, "rollback": True})
    # Alarm names an environment output provides watch every deployment, unless the definition names its own.
    if getattr(environment, "alarms", None) and "alarms" not in deployment_config:
        deployment_config["alarms"] = {"alarmNames": list(environment.alarms), "enable": True, "rollback": True}
    if alarms is not None:  # environments.<env>.services.<service>.alarms: this environment's own ([]: none)
        deployment_config["alarms"] = {"alarmNames": list(alarms), "enable": bool(alarms), "rollback": bool(alarms)}

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


_FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


def placement(params: dict, base: dict, td: dict | None, *, shown: str, td_shown: str) -> bool:
    """Set the launch type the task definition asks for (unless the service definition chooses one or a
    capacity provider strategy), refuse combinations ECS would refuse, and say whether the service
    needs an awsvpc networkConfiguration (True) or must have none (False)."""
    if params.get("capacityProviderStrategy") == []:
        del params["capacityProviderStrategy"]  # an empty strategy (a dumped service) is no strategy
    if td is None:  # no task definition to follow: the Fargate default
        if "capacityProviderStrategy" not in params:
            params.setdefault("launchType", "FARGATE")
        return True
    mode = network_mode(td)
    mode_said = f"`{mode}`" if td.get("networkMode") else "not set (bridge)"
    compat = list(td.get("requiresCompatibilities") or [])
    if "capacityProviderStrategy" in params:
        providers = [str(item.get("capacityProvider")) for item in params["capacityProviderStrategy"] if isinstance(item, dict)]
        fargate = any(p in _FARGATE_PROVIDERS for p in providers)
        if fargate and not all(p in _FARGATE_PROVIDERS for p in providers):
            raise BadInput(f"{shown}: capacityProviderStrategy mixes Fargate and EC2 capacity providers ({', '.join(providers)}); ECS refuses that")
        launch, source = ("FARGATE" if fargate else "EC2"), f"capacityProviderStrategy in {shown}"
    elif "launchType" in params:
        launch, source = params["launchType"], f"launchType {params['launchType']} in {shown}"
    else:
        if compat == ["EXTERNAL"]:
            launch = "EXTERNAL"
        elif mode != "awsvpc" or (compat and "FARGATE" not in compat):
            launch = "EC2"
        else:
            launch = "FARGATE"
        params["launchType"], source = launch, f"launch type {launch} (from {td_shown})"
    if launch == "FARGATE" and mode != "awsvpc":
        raise BadInput(
            f"{td_shown}: networkMode is {mode_said}, but {source} runs it on Fargate, which needs networkMode `awsvpc`",
            hint=f"set \"networkMode\": \"awsvpc\" in {td_shown}, or \"launchType\": \"EC2\" in {shown}",
        )
    if compat and launch not in compat:
        raise BadInput(f"{td_shown}: requiresCompatibilities {compat} does not allow {source}", hint=f"add {launch} to requiresCompatibilities, or change {shown}")
    if mode == "awsvpc" and "networkConfiguration" in base and base["networkConfiguration"] is None:
        raise BadInput(f"{shown}: networkConfiguration is switched off (null), but {td_shown} uses networkMode `awsvpc`, which needs subnets and security groups")
    if mode != "awsvpc" and params.get("networkConfiguration"):
        raise BadInput(
            f"{shown}: networkConfiguration is only for networkMode `awsvpc`; {td_shown} has networkMode {mode_said}",
            hint="remove networkConfiguration from the service definition (or set it to null)",
        )
    return mode == "awsvpc"
