"""The validation real ECS does at RegisterTaskDefinition / CreateService / UpdateService and
moto 5.2 does not: the local AWS refuses what ECS refuses, with ECS's error types
(ClientException at registration, InvalidParameterException for services) and message style.

Written on its own, from the API reference, not from deployer's code (deployer/manifest/ecs_rules.py):
two implementations of the same rules, so a test that passes through deployer meets an AWS that
would still refuse what deployer let through. Requests are the JSON bodies (camelCase).

Also computes `compatibilities` as ECS does (moto answers ["EC2"] for any task definition
registered without requiresCompatibilities): Fargate-compatible when the task definition meets
Fargate's requirements.
"""
from __future__ import annotations

import re
from typing import Any

from moto.ecs.exceptions import EcsClientException, InvalidParameterException

NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,255}")
FARGATE_TABLE = {  # cpu → (lowest MiB, highest MiB, step)
    256: (512, 2048, 512), 512: (1024, 4096, 1024), 1024: (2048, 8192, 1024), 2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024), 8192: (16384, 61440, 4096), 16384: (32768, 122880, 8192),
}
ENUM_VALUES = {  # request path → allowed values (the API's enumerations)
    "networkMode": ["bridge", "host", "awsvpc", "none"], "ipcMode": ["host", "task", "none"], "pidMode": ["host", "task"],
    "protocol": ["tcp", "udp"], "appProtocol": ["http", "http2", "grpc"], "condition": ["START", "COMPLETE", "SUCCESS", "HEALTHY"],
    "launchType": ["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"], "propagateTags": ["TASK_DEFINITION", "SERVICE", "NONE"],
    "schedulingStrategy": ["REPLICA", "DAEMON"], "assignPublicIp": ["ENABLED", "DISABLED"],
}
HEALTH = (("interval", 5, 300), ("timeout", 2, 60), ("retries", 1, 10), ("startPeriod", 0, 300))


def _enum_error(where: str, value: Any, key: str) -> None:
    allowed = ENUM_VALUES[key]
    if value is not None and value not in allowed:
        raise EcsClientException(f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy constraint: "
                                 f"Member must satisfy enum value set: [{', '.join(allowed)}]")


def _units(value: Any, per_unit: dict[str, int]) -> int | None:
    if value is None:
        return None
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", str(value))
    if not match or match.group(2).lower() not in per_unit:
        return -1
    number = float(match.group(1)) * per_unit[match.group(2).lower()]
    return int(number) if number.is_integer() else -1


def task_cpu(td: dict) -> int | None:
    return _units(td.get("cpu"), {"": 1, "vcpu": 1024, "vcpus": 1024})


def task_memory(td: dict) -> int | None:
    return _units(td.get("memory"), {"": 1, "mb": 1, "mib": 1, "gb": 1024, "gib": 1024})


def fargate_unsupported(td: dict) -> str | None:
    """Why this task definition cannot run on Fargate (the first reason), or None."""
    if td.get("networkMode") != "awsvpc":
        return "Fargate only supports network mode 'awsvpc'."
    cpu, memory = task_cpu(td), task_memory(td)
    if cpu is None or memory is None:
        return f"Fargate requires that '{'cpu' if cpu is None else 'memory'}' be defined at the task level."
    low_high_step = FARGATE_TABLE.get(cpu)
    if low_high_step is None or not (low_high_step[0] <= memory <= low_high_step[1] and (memory - low_high_step[0]) % low_high_step[2] == 0):
        return "No Fargate configuration exists for given values."
    if td.get("ipcMode"):
        return "Tasks using the Fargate launch type do not support ipcMode."
    if td.get("pidMode") not in (None, "task"):
        return f"Tasks using the Fargate launch type do not support pidMode '{td['pidMode']}'. The supported value for pidMode is 'task'."
    if td.get("placementConstraints"):
        return "Task placement constraints are not supported for tasks using the Fargate launch type."
    if td.get("inferenceAccelerators"):
        return "Inference accelerators are not supported for tasks using the Fargate launch type."
    for volume in td.get("volumes") or []:
        if (volume.get("host") or {}).get("sourcePath"):
            return f"Host volume '{volume.get('name')}' with a sourcePath is not supported for tasks using the Fargate launch type."
        if volume.get("dockerVolumeConfiguration"):
            return f"Docker volume '{volume.get('name')}' is not supported for tasks using the Fargate launch type."
        if volume.get("fsxWindowsFileServerVolumeConfiguration"):
            return f"FSx for Windows File Server volume '{volume.get('name')}' is not supported for tasks using the Fargate launch type."
    for container in td.get("containerDefinitions") or []:
        name = container.get("name")
        linux = container.get("linuxParameters") or {}
        if container.get("privileged"):
            return f"Container '{name}': privileged mode is not supported for tasks using the Fargate launch type."
        for key in ("devices", "sharedMemorySize", "tmpfs", "maxSwap", "swappiness"):
            if linux.get(key) not in (None, []):
                return f"Container '{name}': linuxParameters.{key} is not supported for tasks using the Fargate launch type."
        if set((linux.get("capabilities") or {}).get("add") or []) - {"SYS_PTRACE"}:
            return f"Container '{name}': only SYS_PTRACE can be added to the capabilities of tasks using the Fargate launch type."
        if container.get("dockerSecurityOptions"):
            return f"Container '{name}': dockerSecurityOptions is not supported for tasks using the Fargate launch type."
        if container.get("links"):
            return f"Container '{name}': links are not supported for tasks using the Fargate launch type."
        if any(r.get("type") == "GPU" for r in container.get("resourceRequirements") or []):
            return f"Container '{name}': GPUs are not supported for tasks using the Fargate launch type."
        driver = (container.get("logConfiguration") or {}).get("logDriver")
        if driver and driver not in ("awslogs", "splunk", "awsfirelens"):
            return f"Container '{name}': log driver '{driver}' is not supported for tasks using the Fargate launch type."
    return None


def compatibilities(td: dict) -> list[str]:
    required = list(td.get("requiresCompatibilities") or [])
    if required:
        return sorted(set(required) | ({"EC2"} if "FARGATE" in required else set()))
    return ["EC2"] if fargate_unsupported(td) else ["EC2", "FARGATE"]


def validate_register(td: dict) -> None:
    """RegisterTaskDefinition: ClientException as ECS answers it."""
    family = td.get("family") or ""
    if not NAME_PATTERN.fullmatch(family):
        raise EcsClientException("Family contains invalid characters or is too long. Up to 255 letters (uppercase and lowercase), "
                                 "numbers, hyphens, and underscores are allowed.")
    for key in ("networkMode", "ipcMode", "pidMode"):
        _enum_error(key, td.get(key), key)
    if "FARGATE" in (td.get("requiresCompatibilities") or []):
        reason = fargate_unsupported(td)
        if reason:
            raise EcsClientException(reason)
    cpu, memory = task_cpu(td), task_memory(td)
    if cpu == -1:
        raise EcsClientException("Invalid 'cpu' setting for task.")
    if memory == -1:
        raise EcsClientException("Invalid 'memory' setting for task.")
    containers = td.get("containerDefinitions") or []
    names = [c.get("name") for c in containers]
    for name in names:
        if not NAME_PATTERN.fullmatch(name or ""):
            raise EcsClientException(f"Container name '{name}' is invalid. Up to 255 letters (uppercase and lowercase), numbers, "
                                     "hyphens, and underscores are allowed.")
    if len(set(names)) != len(names):
        raise EcsClientException("Duplicate container names are not allowed in a task definition.")
    if all(c.get("essential") is False for c in containers):
        raise EcsClientException("Task definition must have at least one essential container.")
    mode = td.get("networkMode") or "bridge"
    volume_names = [v.get("name") for v in td.get("volumes") or []]
    total_reserved = total_cpu = 0
    for c in containers:
        name = c.get("name")
        hard, soft = c.get("memory"), c.get("memoryReservation")
        if memory is not None:
            if hard is not None and hard > memory:
                raise EcsClientException(f"Invalid 'memory' setting for container '{name}': {hard} MiB is greater than the task memory {memory} MiB.")
            if soft is not None and soft > memory:
                raise EcsClientException(f"Invalid 'memoryReservation' setting for container '{name}': {soft} MiB is greater than the task memory {memory} MiB.")
        elif hard is None and soft is None:
            raise EcsClientException(f"Invalid setting for container '{name}'. At least one of 'memory' or 'memoryReservation' must be specified.")
        if hard is not None and soft is not None and soft > hard:
            raise EcsClientException(f"Invalid setting for container '{name}': 'memoryReservation' must not be greater than 'memory'.")
        total_reserved += soft if soft is not None else hard or 0
        total_cpu += c.get("cpu") or 0
        for mapping in c.get("portMappings") or []:
            for key in ("protocol", "appProtocol"):
                _enum_error(f"containerDefinitions.{name}.portMappings.{key}", mapping.get(key), key)
            if mode in ("awsvpc", "host") and mapping.get("hostPort") is not None and mapping.get("hostPort") != mapping.get("containerPort"):
                raise EcsClientException(f"When networkMode={mode}, the host ports and container ports in port mappings must match.")
        if mode == "none" and c.get("portMappings"):
            raise EcsClientException("Port mappings are not supported when networkMode=none.")
        if mode != "bridge" and c.get("links"):
            raise EcsClientException(f"Links are not supported when networkMode={mode}.")
        for dependency in c.get("dependsOn") or []:
            _enum_error(f"containerDefinitions.{name}.dependsOn.condition", dependency.get("condition"), "condition")
            if dependency.get("containerName") not in names or dependency.get("containerName") == name:
                raise EcsClientException(f"Container '{name}' depends on container '{dependency.get('containerName')}', which is not another container of this task definition.")
        for mount in c.get("mountPoints") or []:
            if mount.get("sourceVolume") is not None and mount["sourceVolume"] not in volume_names:
                raise EcsClientException(f"Invalid 'sourceVolume' in mountPoints of container '{name}': unknown volume '{mount['sourceVolume']}'.")
        for source in c.get("volumesFrom") or []:
            if source.get("sourceContainer") not in names:
                raise EcsClientException(f"Invalid 'sourceContainer' in volumesFrom of container '{name}'.")
        health = c.get("healthCheck") or {}
        for key, low, high in HEALTH:
            if health.get(key) is not None and not low <= health[key] <= high:
                raise EcsClientException(f"Invalid '{key}' setting for the health check of container '{name}': must be between {low} and {high}.")
        for key, what in (("environment", "environment variable"), ("secrets", "secret")):
            listed = [item.get("name") for item in c.get(key) or []]
            twice = sorted({n for n in listed if listed.count(n) > 1})
            if twice:
                raise EcsClientException(f"Duplicate {what} names in container '{name}': {', '.join(twice)}.")
    if memory is not None and total_reserved > memory:
        raise EcsClientException(f"The memory reserved by the containers ({total_reserved} MiB) is greater than the task memory {memory} MiB.")
    if cpu is not None and total_cpu > cpu:
        raise EcsClientException(f"The cpu of the containers ({total_cpu} units) is greater than the task cpu {cpu}.")
    _no_cycles(containers)


def _no_cycles(containers: list[dict]) -> None:
    edges = {c.get("name"): [d.get("containerName") for d in c.get("dependsOn") or []] for c in containers}
    done: set = set()

    def walk(node, trail):
        if node in trail:
            raise EcsClientException("Container dependencies form a cycle: " + " -> ".join(trail[trail.index(node):] + [node]))
        if node in done:
            return
        for other in edges.get(node, []):
            walk(other, trail + [node])
        done.add(node)

    for name in edges:
        walk(name, [])


def validate_service(request: dict, td: dict, *, launch: str | None, strategy: list | None) -> None:
    """CreateService / UpdateService: InvalidParameterException as ECS answers it. `launch` and
    `strategy`: what the service runs on (the request's, or the service's own on update)."""
    for key in ("launchType", "propagateTags", "schedulingStrategy"):
        if request.get(key) is not None and request.get(key) not in ENUM_VALUES[key]:
            raise InvalidParameterException(f"1 validation error detected: Value '{request[key]}' at '{key}' failed to satisfy constraint: "
                                            f"Member must satisfy enum value set: [{', '.join(ENUM_VALUES[key])}]")
    public_ip = ((request.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}).get("assignPublicIp")
    if public_ip is not None and public_ip not in ENUM_VALUES["assignPublicIp"]:
        raise InvalidParameterException(f"Invalid value '{public_ip}' for assignPublicIp.")
    if request.get("launchType") is not None and request.get("capacityProviderStrategy"):
        raise InvalidParameterException("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
    if request.get("desiredCount") is not None and request["desiredCount"] < 0:
        raise InvalidParameterException("Invalid desiredCount: must be 0 or greater.")
    config = request.get("deploymentConfiguration") or {}
    low, high = config.get("minimumHealthyPercent"), config.get("maximumPercent")
    if low is not None and not 0 <= low <= 100:
        raise InvalidParameterException("minimumHealthyPercent must be between 0 and 100.")
    if high is not None and low is not None and high < low:
        raise InvalidParameterException("maximumPercent must be greater than or equal to minimumHealthyPercent.")
    if "alarms" in config and not (config["alarms"] or {}).get("alarmNames") and (config["alarms"] or {}).get("enable", True):
        raise InvalidParameterException("deploymentConfiguration.alarms requires at least one alarm name.")
    balancers = request.get("loadBalancers")
    grace = request.get("healthCheckGracePeriodSeconds")
    has_health_check = any(c.get("healthCheck") for c in td.get("containerDefinitions") or [])
    if grace and not balancers and not request.get("vpcLatticeConfigurations") and not has_health_check and "service" not in request:
        raise InvalidParameterException("Health check grace period is only valid for services configured to use load balancers")
    containers = {c.get("name"): c for c in td.get("containerDefinitions") or []}
    for balancer in balancers or []:
        name, port = balancer.get("containerName"), balancer.get("containerPort")
        if name is not None and name not in containers:
            raise InvalidParameterException(f"The container {name} does not exist in the task definition.")
        if name is not None and port is not None and port not in [m.get("containerPort") for m in containers[name].get("portMappings") or []]:
            raise InvalidParameterException(f"The container {name} did not have a container port {port} defined.")
    providers = [item.get("capacityProvider") for item in strategy or []]
    if not launch and providers:
        launch = "FARGATE" if all(p in ("FARGATE", "FARGATE_SPOT") for p in providers) else None
    if launch in ("EC2", "FARGATE") and launch not in compatibilities(td):
        raise InvalidParameterException(f"Task definition does not support launch_type {launch}.")
