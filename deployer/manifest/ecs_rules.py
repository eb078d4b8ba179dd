"""ECS's own validation, before any write: what real ECS refuses at RegisterTaskDefinition,
CreateService and UpdateService that botocore's input shapes let through.

Pure: dicts in (the RegisterTaskDefinition input, the CreateService input), a list of
`Problem`s out, each with the JSON path of the field and a message. `enforce` turns them into
one BadInput (exit 2) naming the files. Bounds are the API reference's (ContainerDefinition,
HealthCheck, TaskDefinition cpu/memory, DeploymentConfiguration); the Fargate features list is
the developer guide's "task definition differences for Fargate".

The compatibilities ECS computes: a task definition registered without `requiresCompatibilities`
is EC2-compatible always, and Fargate-compatible only when it meets Fargate's requirements
(awsvpc, task cpu/memory of a Fargate size, no EC2-only feature). A service that runs it on
Fargate is refused at CreateService, after the revision was registered — so it is refused here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .definitions import FARGATE_SIZES  # Fargate's task sizes: cpu units → memory MiB (one table for both checks)

TASK = "task"
SERVICE = "service"

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")

# HealthCheck bounds (API reference, HealthCheck).
HEALTH_CHECK_BOUNDS = {"interval": (5, 300), "timeout": (2, 60), "retries": (1, 10), "startPeriod": (0, 300)}
# Enumerations whose values have been stable for years: a value outside is refused; "" is refused for any.
_ENUMS_TASK = {"networkMode": ("bridge", "host", "awsvpc", "none"), "ipcMode": ("host", "task", "none"), "pidMode": ("host", "task")}
_ENUMS_PORT = {"protocol": ("tcp", "udp"), "appProtocol": ("http", "http2", "grpc")}
_ENUMS_SERVICE = {"propagateTags": ("TASK_DEFINITION", "SERVICE", "NONE"), "schedulingStrategy": ("REPLICA", "DAEMON")}
_DEPENDS_ON = ("START", "COMPLETE", "SUCCESS", "HEALTHY")
_FARGATE_LOG_DRIVERS = ("awslogs", "splunk", "awsfirelens")
_FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


@dataclass(frozen=True)
class Problem:
    document: str  # TASK or SERVICE: which definition the path is in
    path: str  # JSON path of the field, e.g. containerDefinitions[0].memory
    message: str

    def line(self, task_file: str = "task definition", service_file: str = "service definition") -> str:
        shown = task_file if self.document == TASK else service_file
        return f"{shown}: {self.path}: {self.message}" if self.path else f"{shown}: {self.message}"


# ---------------------------------------------------------------------------------------
# sizes


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]*)\s*$")
_UNITS = {"cpu": {"": 1, "vcpu": 1024, "vcpus": 1024}, "memory": {"": 1, "mb": 1, "mib": 1, "gb": 1024, "gib": 1024}}


def task_size(value: Any, key: str) -> int | None:
    """Task-level cpu/memory as ECS reads them ("0.25 vcpu" → 256, "0.5 GB" → 512, 512 → 512); None if unreadable."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    match = _SIZE.match(str(value))
    factor = _UNITS[key].get(match.group(2).lower()) if match else None
    if factor is None:
        return None
    amount = float(match.group(1)) * factor
    return int(amount) if amount == int(amount) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _containers(td: dict) -> list[tuple[int, dict]]:
    containers = td.get("containerDefinitions")
    return [(n, c) for n, c in enumerate(containers) if isinstance(c, dict)] if isinstance(containers, list) else []


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


# ---------------------------------------------------------------------------------------
# compatibilities


def ec2_only_features(td: dict) -> list[tuple[str, str]]:
    """(path, what) for each thing that keeps a task definition off Fargate."""
    found: list[tuple[str, str]] = []
    mode = td.get("networkMode")
    if mode != "awsvpc":
        found.append(("networkMode", f"networkMode `{mode}`" if mode else "networkMode not set (bridge)"))
    cpu, memory = task_size(td.get("cpu"), "cpu"), task_size(td.get("memory"), "memory")
    if td.get("cpu") in (None, ""):
        found.append(("cpu", "no task-level cpu"))
    if td.get("memory") in (None, ""):
        found.append(("memory", "no task-level memory"))
    if cpu is not None and memory is not None and memory not in FARGATE_SIZES.get(cpu, ()):
        found.append(("memory", f"cpu {cpu} with memory {memory}, not a Fargate task size"))
    if td.get("ipcMode"):
        found.append(("ipcMode", f"ipcMode `{td['ipcMode']}`"))
    if td.get("pidMode") and td.get("pidMode") != "task":
        found.append(("pidMode", f"pidMode `{td['pidMode']}`"))
    if _list(td.get("placementConstraints")):
        found.append(("placementConstraints", "placement constraints"))
    if _list(td.get("inferenceAccelerators")):
        found.append(("inferenceAccelerators", "inference accelerators"))
    for n, volume in enumerate(_list(td.get("volumes"))):
        volume = _dict(volume)
        if _dict(volume.get("host")).get("sourcePath"):
            found.append((f"volumes[{n}].host.sourcePath", "a host volume"))
        if volume.get("dockerVolumeConfiguration"):
            found.append((f"volumes[{n}].dockerVolumeConfiguration", "a Docker volume"))
        if volume.get("fsxWindowsFileServerVolumeConfiguration"):
            found.append((f"volumes[{n}].fsxWindowsFileServerVolumeConfiguration", "an FSx for Windows volume"))
    for n, c in _containers(td):
        at = f"containerDefinitions[{n}]"
        if c.get("privileged") is True:
            found.append((f"{at}.privileged", "a privileged container"))
        linux = _dict(c.get("linuxParameters"))
        for key, what in (("devices", "host devices"), ("sharedMemorySize", "sharedMemorySize"), ("tmpfs", "tmpfs mounts"), ("maxSwap", "maxSwap"), ("swappiness", "swappiness")):
            if linux.get(key) not in (None, [], ""):
                found.append((f"{at}.linuxParameters.{key}", what))
        added = [cap for cap in _list(_dict(linux.get("capabilities")).get("add")) if cap != "SYS_PTRACE"]
        if added:
            found.append((f"{at}.linuxParameters.capabilities.add", f"added capabilities {', '.join(map(str, added))} (Fargate adds SYS_PTRACE only)"))
        if _list(c.get("dockerSecurityOptions")):
            found.append((f"{at}.dockerSecurityOptions", "dockerSecurityOptions"))
        if _list(c.get("links")):
            found.append((f"{at}.links", "links"))
        for m, requirement in enumerate(_list(c.get("resourceRequirements"))):
            if _dict(requirement).get("type") == "GPU":
                found.append((f"{at}.resourceRequirements[{m}]", "a GPU"))
        driver = _dict(c.get("logConfiguration")).get("logDriver")
        if driver and driver not in _FARGATE_LOG_DRIVERS:
            found.append((f"{at}.logConfiguration.logDriver", f"log driver `{driver}` (Fargate: {', '.join(_FARGATE_LOG_DRIVERS)})"))
    return found


def compatibilities(td: dict) -> list[str]:
    """What ECS answers in `compatibilities` for this task definition."""
    required = [c for c in _list(td.get("requiresCompatibilities")) if isinstance(c, str)]
    if required:
        return sorted(set(required) | {"EC2"}) if "FARGATE" in required and not ec2_only_features(td) else sorted(set(required))
    return ["EC2"] if ec2_only_features(td) else ["EC2", "FARGATE"]


def service_launch(service: dict) -> tuple[str | None, str]:
    """(FARGATE | EC2 | EXTERNAL | … | None when the cluster's default decides, the field that says so)."""
    launch = service.get("launchType")
    if isinstance(launch, str) and launch:
        return launch, "launchType"
    providers = [str(_dict(i).get("capacityProvider")) for i in _list(service.get("capacityProviderStrategy"))]
    if providers and all(p in _FARGATE_PROVIDERS for p in providers):
        return "FARGATE", "capacityProviderStrategy"
    if providers and not any(p in _FARGATE_PROVIDERS for p in providers):
        return "EC2", "capacityProviderStrategy"
    return None, ""


# ---------------------------------------------------------------------------------------
# the task definition


def check_task_definition(td: dict) -> list[Problem]:
    problems: list[Problem] = []

    def add(path: str, message: str) -> None:
        problems.append(Problem(TASK, path, message))

    family = td.get("family")
    if not isinstance(family, str) or not _NAME.match(family):
        add("family", f"{_said(family)} is not a valid family: up to 255 letters, digits, `-` and `_`" + (" (a placeholder left in?)" if isinstance(family, str) and "<" in family else ""))
    for key, allowed in _ENUMS_TASK.items():
        _enum(add, key, td.get(key), allowed)
    for n, value in enumerate(_list(td.get("requiresCompatibilities"))):
        _enum(add, f"requiresCompatibilities[{n}]", value, None)
    for key, value in _dict(td.get("runtimePlatform")).items():
        _enum(add, f"runtimePlatform.{key}", value, None)

    required = _list(td.get("requiresCompatibilities"))
    if "FARGATE" in required:
        for path, what in ec2_only_features(td):
            if path in ("cpu", "memory") and td.get(path) not in (None, ""):
                continue  # a size that is not Fargate's: said below, with the sizes allowed
            add(path, f"{what}: Fargate does not support it, and requiresCompatibilities includes FARGATE")
    cpu_set, memory_set = td.get("cpu") not in (None, ""), td.get("memory") not in (None, "")
    task_cpu, task_memory = task_size(td.get("cpu"), "cpu"), task_size(td.get("memory"), "memory")
    if cpu_set and task_cpu is None:
        add("cpu", f"{td.get('cpu')!r} is not a number of CPU units or vCPU (\"256\", \"0.25 vCPU\")")
    if memory_set and task_memory is None:
        add("memory", f"{td.get('memory')!r} is not a number of MiB or GB (\"512\", \"0.5 GB\")")
    if "FARGATE" in required and task_cpu is not None and task_cpu not in FARGATE_SIZES:
        add("cpu", f"{task_cpu} is not a Fargate cpu size ({', '.join(map(str, FARGATE_SIZES))})")
    elif "FARGATE" in required and task_cpu is not None and task_memory is not None and task_memory not in FARGATE_SIZES[task_cpu]:
        add("memory", f"{task_memory} MiB with cpu {task_cpu} is not a Fargate task size; {_sizes(task_cpu)}")

    containers = _containers(td)
    if not containers:
        add("containerDefinitions", "at least one container is required")
        return problems
    names = [c.get("name") for _, c in containers]
    seen: set = set()
    for n, c in containers:
        name = c.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            add(f"containerDefinitions[{n}].name", f"{_said(name)} is not a valid container name: up to 255 letters, digits, `-` and `_`")
        elif name in seen:
            add(f"containerDefinitions[{n}].name", f"container `{name}` is defined twice; container names are unique in a task definition")
        seen.add(name)
    if not any(c.get("essential", True) is not False for _, c in containers):
        add("containerDefinitions", "no container is essential; a task needs at least one (\"essential\": true)")

    mode = td.get("networkMode") or "bridge"
    volumes = [_dict(v).get("name") for v in _list(td.get("volumes"))]
    for n, name in enumerate(volumes):
        if volumes.index(name) != n:
            add(f"volumes[{n}].name", f"volume `{name}` is defined twice")
    reserved, cpus, port_names = 0, 0, {}
    for n, c in containers:
        at = f"containerDefinitions[{n}]"
        memory, reservation, cpu = _int(c.get("memory")), _int(c.get("memoryReservation")), _int(c.get("cpu"))
        if task_memory is not None:
            for key, value in (("memory", memory), ("memoryReservation", reservation)):
                if value is not None and value > task_memory:
                    add(f"{at}.{key}", f"{value} MiB is more than the task's {task_memory} MiB")
        elif not memory_set and memory is None and reservation is None:
            add(at, f"container `{c.get('name')}` needs `memory` or `memoryReservation` when the task sets no memory")
        if memory is not None and reservation is not None and reservation > memory:
            add(f"{at}.memoryReservation", f"{reservation} MiB is more than the container's memory {memory} MiB")
        reserved += reservation if reservation is not None else memory or 0
        cpus += cpu or 0
        if task_cpu is not None and cpu is not None and cpu > task_cpu:
            add(f"{at}.cpu", f"{cpu} CPU units is more than the task's {task_cpu}")
        problems += _container_rules(c, at, names, volumes, mode)
        for m, mapping in enumerate(_list(c.get("portMappings"))):
            port_name = _dict(mapping).get("name")
            if port_name is not None and port_name in port_names:
                add(f"{at}.portMappings[{m}].name", f"port name `{port_name}` is used twice (also {port_names[port_name]})")
            port_names.setdefault(port_name, f"{at}.portMappings[{m}]")
    if task_memory is not None and len(containers) > 1 and reserved > task_memory:
        add("memory", f"the containers reserve {reserved} MiB together (memoryReservation, else memory), more than the task's {task_memory} MiB")
    if task_cpu is not None and len(containers) > 1 and cpus > task_cpu:
        add("cpu", f"the containers ask {cpus} CPU units together, more than the task's {task_cpu}")
    problems += _dependency_cycles(containers)
    return problems


def _container_rules(c: dict, at: str, names: list, volumes: list, mode: str) -> list[Problem]:
    problems: list[Problem] = []

    def add(path: str, message: str) -> None:
        problems.append(Problem(TASK, path, message))

    for m, mapping in enumerate(_list(c.get("portMappings"))):
        mapping = _dict(mapping)
        for key, allowed in _ENUMS_PORT.items():
            _enum(add, f"{at}.portMappings[{m}].{key}", mapping.get(key), allowed)
        host, port = mapping.get("hostPort"), mapping.get("containerPort")
        if mode in ("awsvpc", "host") and host is not None and port is not None and host != port:
            add(f"{at}.portMappings[{m}].hostPort", f"{host} must equal containerPort {port} with networkMode {mode}")
    if mode == "none" and _list(c.get("portMappings")):
        add(f"{at}.portMappings", "networkMode `none` takes no port mappings")
    if mode != "bridge" and _list(c.get("links")):
        add(f"{at}.links", f"links work only with networkMode bridge, not {mode}")
    log = _dict(c.get("logConfiguration"))
    _enum(add, f"{at}.logConfiguration.logDriver", log.get("logDriver"), None)
    _enum(add, f"{at}.versionConsistency", c.get("versionConsistency"), ("enabled", "disabled"))
    for m, dependency in enumerate(_list(c.get("dependsOn"))):
        dependency = _dict(dependency)
        other = dependency.get("containerName")
        if other == c.get("name"):
            add(f"{at}.dependsOn[{m}].containerName", f"container `{other}` depends on itself")
        elif other not in names:
            add(f"{at}.dependsOn[{m}].containerName", f"{_said(other)} is not a container of this task definition")
        _enum(add, f"{at}.dependsOn[{m}].condition", dependency.get("condition"), _DEPENDS_ON)
    for m, mount in enumerate(_list(c.get("mountPoints"))):
        source = _dict(mount).get("sourceVolume")
        if source is not None and source not in volumes:
            add(f"{at}.mountPoints[{m}].sourceVolume", f"{_said(source)} is not a volume of this task definition (volumes: {', '.join(map(str, volumes)) or 'none'})")
    for m, item in enumerate(_list(c.get("volumesFrom"))):
        source = _dict(item).get("sourceContainer")
        if source is not None and source not in names:
            add(f"{at}.volumesFrom[{m}].sourceContainer", f"{_said(source)} is not a container of this task definition")
    health = c.get("healthCheck")
    if isinstance(health, dict):
        for key, (low, high) in HEALTH_CHECK_BOUNDS.items():
            value = health.get(key)
            if _int(value) is not None and not low <= value <= high:
                add(f"{at}.healthCheck.{key}", f"{value} is outside {low}–{high}" + (" seconds" if key != "retries" else ""))
    for key in ("environment", "secrets"):
        seen: dict = {}
        for m, item in enumerate(_list(c.get(key))):
            name = _dict(item).get("name")
            if name in seen:
                add(f"{at}.{key}[{m}].name", f"`{name}` is set twice in {key} (also {key}[{seen[name]}])")
            seen.setdefault(name, m)
    return problems


def _dependency_cycles(containers: list[tuple[int, dict]]) -> list[Problem]:
    graph = {c.get("name"): [_dict(d).get("containerName") for d in _list(c.get("dependsOn"))] for _, c in containers}
    index = {c.get("name"): n for n, c in containers}
    state: dict = {}
    for start in graph:
        path: list = []

        def visit(node) -> list | None:
            if state.get(node) == "done" or node not in graph:
                return None
            if state.get(node) == "open":
                return path[path.index(node) :] + [node]
            state[node] = "open"
            path.append(node)
            for other in graph[node]:
                if other != node:
                    cycle = visit(other)
                    if cycle:
                        return cycle
            path.pop()
            state[node] = "done"
            return None

        cycle = visit(start)
        if cycle:
            return [Problem(TASK, f"containerDefinitions[{index[cycle[0]]}].dependsOn", "containers depend on each other in a cycle: " + " → ".join(map(str, cycle)))]
    return []


# ---------------------------------------------------------------------------------------
# the service


def check_service(service: dict, td: dict | None = None, written: dict | None = None) -> list[Problem]:
    """CreateService input (without taskDefinition) against the task definition it will run.
    `written`: the service definition as the file has it (before deployer derived the launch type),
    so a message says where a value came from."""
    problems: list[Problem] = []

    def add(path: str, message: str) -> None:
        problems.append(Problem(SERVICE, path, message))

    _enum(add, "launchType", service.get("launchType"), None)
    for key, allowed in _ENUMS_SERVICE.items():
        _enum(add, key, service.get(key), allowed)
    _enum(add, "deploymentController.type", _dict(service.get("deploymentController")).get("type"), ("ECS", "CODE_DEPLOY", "EXTERNAL"))
    vpc = _dict(_dict(service.get("networkConfiguration")).get("awsvpcConfiguration"))
    _enum(add, "networkConfiguration.awsvpcConfiguration.assignPublicIp", vpc.get("assignPublicIp"), ("ENABLED", "DISABLED"))
    if vpc:
        if not _list(vpc.get("subnets")):
            add("networkConfiguration.awsvpcConfiguration.subnets", "at least one subnet is required")
        elif len(vpc["subnets"]) > 16:
            add("networkConfiguration.awsvpcConfiguration.subnets", f"{len(vpc['subnets'])} subnets; ECS takes up to 16")
        if len(_list(vpc.get("securityGroups"))) > 5:
            add("networkConfiguration.awsvpcConfiguration.securityGroups", f"{len(vpc['securityGroups'])} security groups; ECS takes up to 5")

    desired = service.get("desiredCount")
    if _int(desired) is not None and desired < 0:
        add("desiredCount", f"{desired} is negative")
    strategy = _list(service.get("capacityProviderStrategy"))
    if service.get("launchType") and strategy:
        add("launchType", "set together with capacityProviderStrategy; ECS takes one or the other (remove launchType)")
    with_base = [n for n, item in enumerate(strategy) if (_int(_dict(item).get("base")) or 0) > 0]
    if len(with_base) > 1:
        add(f"capacityProviderStrategy[{with_base[1]}].base", "only one capacity provider in a strategy can have a base")
    for n, item in enumerate(strategy):
        for key, high in (("weight", 1000), ("base", 100000)):
            value = _int(_dict(item).get(key))
            if value is not None and not 0 <= value <= high:
                add(f"capacityProviderStrategy[{n}].{key}", f"{value} is outside 0–{high}")

    config = _dict(service.get("deploymentConfiguration"))
    low, high = _int(config.get("minimumHealthyPercent")), _int(config.get("maximumPercent"))
    if low is not None and not 0 <= low <= 100:
        add("deploymentConfiguration.minimumHealthyPercent", f"{low} is outside 0–100")
    if high is not None and high < 0:
        add("deploymentConfiguration.maximumPercent", f"{high} is negative")
    if low is not None and high is not None and 0 <= high < low:
        add("deploymentConfiguration.maximumPercent", f"{high} is below minimumHealthyPercent {low}")
    if service.get("schedulingStrategy") == "DAEMON" and high is not None and high > 100:
        add("deploymentConfiguration.maximumPercent", f"{high}: a DAEMON service takes at most 100")
    if "alarms" in config:
        alarms = config["alarms"]
        if not isinstance(alarms, dict) or "alarmNames" not in alarms:
            add("deploymentConfiguration.alarms", "has no `alarmNames`; name the CloudWatch alarms, or remove `alarms`")
        elif alarms.get("enable") and not _list(alarms.get("alarmNames")):
            add("deploymentConfiguration.alarms.alarmNames", "is empty while alarms are enabled; name the CloudWatch alarms, or remove `alarms`")

    balancers = _list(service.get("loadBalancers"))
    grace = _int(service.get("healthCheckGracePeriodSeconds"))
    if grace is not None and grace > 0 and not balancers and not _list(service.get("vpcLatticeConfigurations")):
        if td is None or not any(isinstance(c.get("healthCheck"), dict) for _, c in _containers(td)):
            add("healthCheckGracePeriodSeconds", "is only for a service with load balancers (or container health checks); ECS refuses it here (remove it)")
    if td is None:
        return problems
    containers = {c.get("name"): c for _, c in _containers(td)}
    for n, balancer in enumerate(balancers):
        balancer = _dict(balancer)
        name, port = balancer.get("containerName"), balancer.get("containerPort")
        if name is None:
            continue
        if name not in containers:
            add(f"loadBalancers[{n}].containerName", f"{_said(name)} is not a container of the task definition (containers: {', '.join(map(str, containers))})")
        elif port is not None and port not in [_dict(m).get("containerPort") for m in _list(containers[name].get("portMappings"))]:
            add(f"loadBalancers[{n}].containerPort", f"container `{name}` has no portMapping for {port}")

    launch, field = service_launch(service)
    required = [c for c in _list(td.get("requiresCompatibilities")) if isinstance(c, str)]
    if launch == "FARGATE" and service.get("schedulingStrategy") == "DAEMON":
        add("schedulingStrategy", "DAEMON does not run on Fargate")
    if launch in ("EC2", "FARGATE") and required and launch not in compatibilities(td):
        add(field, f"runs the service on {launch}, but the task definition's requiresCompatibilities is {required}")
    elif launch == "FARGATE" and not required:
        features = ec2_only_features(td)
        if features:
            listed = "; ".join(f"{path} ({what})" for path, what in features)
            derived = written is not None and not written.get("launchType") and not written.get("capacityProviderStrategy")
            add(
                field,
                ("FARGATE, which deployer derives from networkMode awsvpc (the service definition sets no launchType), runs the service on Fargate"
                 if derived else "runs the service on FARGATE") + f", but ECS computes the task definition as EC2-only (it has {listed}), "
                "so CreateService would refuse it after the revision is registered; set \"launchType\": \"EC2\" in the service definition "
                "(or \"requiresCompatibilities\": [\"EC2\"] in the task definition), or remove those from the task definition",
            )
    return problems


# ---------------------------------------------------------------------------------------


def check(task_definition: dict, service: dict | None = None, written: dict | None = None) -> list[Problem]:
    """Everything ECS would refuse in this task definition and (optionally) the service that runs it."""
    problems = check_task_definition(task_definition)
    if service is not None:
        problems += check_service(service, task_definition, written)
    return problems


def enforce(task_definition: dict, service: dict | None, *, task_file: str, service_file: str | None = None, written: dict | None = None) -> None:
    """BadInput (exit 2) listing every problem, each naming its file and field. `written`: the service
    definition as its file has it ({} without a file); None when not known."""
    problems = check(task_definition, service, written)
    if not problems:
        return
    from ..core.errors import BadInput

    lines = [p.line(task_file, service_file or "service definition") for p in problems]
    message = lines[0] if len(lines) == 1 else f"ECS would refuse these definitions ({len(lines)} problems):\n" + "\n".join("  " + line for line in lines)
    raise BadInput(message, hint="real ECS refuses these at RegisterTaskDefinition / CreateService; nothing was registered")


def _enum(add, path: str, value: Any, allowed: tuple | None) -> None:
    if value == "":
        add(path, "is an empty string, which ECS refuses; remove the field (not set means the default)")
    elif allowed is not None and isinstance(value, str) and value not in allowed:
        add(path, f"`{value}` is not one of {', '.join(allowed)}")


def _said(value: Any) -> str:
    return f"`{value}`" if isinstance(value, str) else "missing" if value is None else repr(value)


def _sizes(cpu: int) -> str:
    sizes = FARGATE_SIZES[cpu]
    if len(sizes) <= 4:
        return f"with cpu {cpu}, memory is {', '.join(map(str, sizes))}"
    return f"with cpu {cpu}, memory is {sizes[0]} to {sizes[-1]} in steps of {sizes[1] - sizes[0]}"
