"""Patches to moto's ECS backend and response handler (same process as the HTTP
server) for the behaviour a deployment tool relies on and moto 5.2 lacks.

Installed once per process; the rollout engine is looked up at call time, so the
patches are inert (plain moto) until a LocalAws sets `ENGINE`. Every patch takes and
passes on arguments it does not use (`*args, **kwargs`): a newer moto that adds a
parameter still reaches its own code (compat.py checks the moto version range)."""
from __future__ import annotations

import base64
import copy
import json
from typing import Any

from moto.core.responses import ActionResult
from moto.ecs.exceptions import EcsClientException, InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend
from moto.ecs.responses import EC2ContainerServiceResponse

from . import ecs_validation
from .rollout import Engine

ENGINE: Engine | None = None
_installed = False

_orig_create_service = EC2ContainerServiceBackend.create_service
_orig_update_service = EC2ContainerServiceBackend.update_service
_orig_list_tasks = EC2ContainerServiceBackend.list_tasks
_orig_run_task = EC2ContainerServiceBackend.run_task
_orig_delete_service = EC2ContainerServiceBackend.delete_service
_orig_delete_cluster = EC2ContainerServiceBackend.delete_cluster
_orig_create_service_response = EC2ContainerServiceResponse.create_service
_orig_responses = {name: getattr(EC2ContainerServiceResponse, name)
                   for name in ("list_task_definitions", "list_tasks", "list_services",
                                "register_task_definition", "update_service")}


def install() -> None:
    global _installed
    if _installed:
        return
    EC2ContainerServiceBackend.create_service = create_service
    EC2ContainerServiceBackend.update_service = update_service
    EC2ContainerServiceBackend.list_tasks = list_tasks
    EC2ContainerServiceBackend.run_task = run_task
    EC2ContainerServiceBackend.delete_service = delete_service
    EC2ContainerServiceBackend.delete_cluster = delete_cluster
    EC2ContainerServiceResponse.create_service = create_service_response
    EC2ContainerServiceResponse.register_task_definition = register_task_definition_response
    EC2ContainerServiceResponse.update_service = update_service_response
    EC2ContainerServiceResponse.list_task_definitions = list_task_definitions_response
    EC2ContainerServiceResponse.list_tasks = list_tasks_response
    EC2ContainerServiceResponse.list_services = list_services_response
    # The Service Deployments API (service_deployments.py): moto routes an action to the
    # response method of the same name, so adding the methods adds the operations.
    EC2ContainerServiceResponse.list_service_deployments = list_service_deployments_response
    EC2ContainerServiceResponse.describe_service_deployments = describe_service_deployments_response
    EC2ContainerServiceResponse.describe_service_revisions = describe_service_revisions_response
    EC2ContainerServiceResponse.stop_service_deployment = stop_service_deployment_response
    EC2ContainerServiceResponse.continue_service_deployment = continue_service_deployment_response
    EC2ContainerServiceResponse.execute_command = execute_command_response
    from moto.ssm.responses import SimpleSystemManagerResponse

    SimpleSystemManagerResponse.start_session = start_session_response  # port forwarding to an ECS Exec target
    _installed = True


# ---- backend ---------------------------------------------------------------------
def delete_service(self: EC2ContainerServiceBackend, cluster_name: str, service_name: str, force: bool, *args: Any, **kwargs: Any):
    """ECS: a deleted service is DRAINING (its tasks stop), then INACTIVE (the engine's tick)."""
    service = _orig_delete_service(self, cluster_name, service_name, force, *args, **kwargs)
    if ENGINE is not None and ENGINE.service_deleted(service):
        service.status = "DRAINING"
    return service


def delete_cluster(self: EC2ContainerServiceBackend, cluster_str: str, *args: Any, **kwargs: Any):
    """ECS refuses to delete a cluster with ACTIVE or DRAINING services; a deleted cluster is gone
    at once for every call that names it (ClusterNotFoundException)."""
    cluster = self._get_cluster(cluster_str)
    if ENGINE is None:
        return _orig_delete_cluster(self, cluster_str, *args, **kwargs)
    busy = [s for s in self.services.values() if s.cluster_name == cluster.name and s.status in ("ACTIVE", "DRAINING")]
    if busy:
        raise EcsClientException("The Cluster cannot be deleted while Services are active.")
    deleted = _orig_delete_cluster(self, cluster_str, *args, **kwargs)
    self.clusters.pop(cluster.name, None)
    return deleted


def create_service(self: EC2ContainerServiceBackend, cluster_str: str, service_name: str,
                   desired_count: int, task_definition_str: str | None = None, *args: Any,
                   **kwargs: Any):
    if ENGINE is None:
        return _orig_create_service(self, cluster_str, service_name, desired_count,
                                    task_definition_str, *args, **kwargs)
    cluster = self._get_cluster(cluster_str)
    existing = self.services.get(f"{cluster.name}:{service_name}")
    if existing is not None and existing.status == "ACTIVE":
        raise InvalidParameterException("Creation of service was not idempotent.")
    if task_definition_str:
        _require_active(self, task_definition_str)
    service = _orig_create_service(self, cluster_str, service_name, desired_count,
                                   task_definition_str, *args, **kwargs)
    if ENGINE is not None:
        ENGINE.service_created(self, service)
    return service


def update_service(self: EC2ContainerServiceBackend, props: dict[str, Any], *args: Any, **kwargs: Any):
    if ENGINE is None:
        return _orig_update_service(self, props, *args, **kwargs)
    props = dict(props)
    service = self._get_service(props.get("cluster", "default"), props["service"].split("/")[-1])
    td_str = props.pop("task_definition", None)
    force = bool(props.pop("force_new_deployment", False))  # moto would rewrite the PRIMARY's id
    old_td, old_desired = service.task_definition, service.desired_count
    # ECS starts a deployment when the revision or the service revision's configuration changes.
    old_config = {attr: copy.deepcopy(getattr(service, attr, None)) for attr in DEPLOYING_ATTRS}
    td = _require_active(self, td_str) if td_str else None
    ENGINE.strategies.validate_update(service, props)  # blue/green needs advancedConfiguration (strategies.py)
    counts = service.running_count, service.pending_count  # moto sets running = desired
    result = _orig_update_service(self, props, *args, **kwargs)
    service.running_count, service.pending_count = counts
    if td is not None:
        service.task_definition = td.arn  # moto stores the raw string; ECS answers the ARN
    config_changed = any(props.get(attr) is not None and props.get(attr) != old_config[attr] for attr in DEPLOYING_ATTRS)
    if force or (td is not None and td.arn != old_td) or config_changed:
        ENGINE.start_deployment(self, service)
    elif service.desired_count != old_desired:
        ENGINE.desired_count_changed(service)
    return result


DEPLOYING_ATTRS = ("network_configuration", "load_balancers", "capacity_provider_strategy",
                   "service_connect_configuration", "volume_configurations", "vpc_lattice_configurations",
                   "platform_version", "service_registries")


def list_tasks(self: EC2ContainerServiceBackend, cluster_str=None, container_instance=None, family=None,
               started_by=None, service_name=None, desiredStatus=None, *args: Any, **kwargs: Any):
    if ENGINE is None:
        return _orig_list_tasks(self, cluster_str, container_instance, family, started_by,
                                service_name, desiredStatus, *args, **kwargs)
    tasks = _orig_list_tasks(self, cluster_str, container_instance, family, started_by, None,
                             desiredStatus or "RUNNING", *args, **kwargs)  # ECS filters on RUNNING by default
    if service_name:
        group = f"service:{service_name.split('/')[-1]}"
        tasks = [t for t in tasks if getattr(t, "group", None) == group]
    return tasks


def run_task(self: EC2ContainerServiceBackend, cluster_str: str, task_definition_str: str, count: int,
             overrides: dict[str, Any] | None, started_by: str, tags: list[dict[str, str]] | None,
             launch_type: str | None, networking_configuration: dict[str, Any] | None = None,
             group: str | None = None, platform_version: str | None = None, *args: Any, **kwargs: Any):
    """Fargate one-off tasks run, log and stop over ticks (oneoff.py); a RunTask without a
    launch type (capacity provider strategy) counts as Fargate. EC2/EXTERNAL: plain moto.
    moto 5.2.3+ passes capacity_provider_strategy after platform_version (in *args)."""
    if ENGINE is None or launch_type not in (None, "", "FARGATE"):
        return _orig_run_task(self, cluster_str, task_definition_str, count, overrides, started_by,
                              tags, launch_type, networking_configuration, group, platform_version,
                              *args, **kwargs)
    return ENGINE.oneoffs.run(self, cluster_str, task_definition_str, count, overrides, started_by,
                              tags, launch_type or "FARGATE", networking_configuration, group,
                              platform_version)


def _require_active(backend: EC2ContainerServiceBackend, td_str: str):
    td = backend.describe_task_definition(td_str)
    if td.status != "ACTIVE":
        raise EcsClientException("TaskDefinition is inactive")
    return td


# ---- ECS's own validation (ecs_validation.py) ----------------------------------------
def _request_of(td) -> dict[str, Any]:
    """The RegisterTaskDefinition request a task definition came from (kept at registration;
    rebuilt from moto's attributes for one CloudFormation registered)."""
    kept = getattr(td, "localaws_request", None)
    if kept is not None:
        return kept
    return {"family": td.family, "containerDefinitions": td.container_definitions, "volumes": td.volumes,
            "networkMode": td.network_mode, "requiresCompatibilities": td.requires_compatibilities,
            "cpu": td.cpu, "memory": td.memory, "placementConstraints": td.placement_constraints,
            "ipcMode": getattr(td, "ipc_mode", None), "pidMode": getattr(td, "pid_mode", None)}


def register_task_definition_response(self: EC2ContainerServiceResponse, *args: Any, **kwargs: Any) -> ActionResult:
    if ENGINE is None:
        return _orig_responses["register_task_definition"](self, *args, **kwargs)
    request = copy.deepcopy(self._get_params())
    ecs_validation.validate_register(request)
    result = _orig_responses["register_task_definition"](self, *args, **kwargs)
    revisions = self.ecs_backend.task_definitions[request["family"]]
    td = revisions[max(revisions)]
    td.localaws_request = request
    td.compatibilities = ecs_validation.compatibilities(request)  # moto answers ["EC2"] without requiresCompatibilities
    return result


def update_service_response(self: EC2ContainerServiceResponse, *args: Any, **kwargs: Any) -> ActionResult:
    if ENGINE is None:
        return _orig_responses["update_service"](self, *args, **kwargs)
    request = self._get_params()
    service = self.ecs_backend._get_service(request.get("cluster", "default"), request["service"].split("/")[-1])
    td_str = request.get("taskDefinition") or service.task_definition
    td = _request_of(self.ecs_backend.describe_task_definition(td_str))
    created = getattr(service, "localaws_request", {})
    strategy = request.get("capacityProviderStrategy") or created.get("capacityProviderStrategy")
    launch = None if request.get("capacityProviderStrategy") else service.launch_type
    ecs_validation.validate_service(request, td, launch=launch, strategy=strategy)
    return _orig_responses["update_service"](self, *args, **kwargs)


# ---- responses ---------------------------------------------------------------------
def create_service_response(self: EC2ContainerServiceResponse, *args: Any, **kwargs: Any) -> ActionResult:
    """moto's handler drops these parameters; keep them on the service object (the
    serializer picks snake_case attributes)."""
    if ENGINE is None:
        return _orig_create_service_response(self, *args, **kwargs)
    request = self._get_params()
    if request.get("taskDefinition"):
        td = _request_of(self.ecs_backend.describe_task_definition(request["taskDefinition"]))
        ecs_validation.validate_service(request, td, launch=request.get("launchType"),
                                        strategy=request.get("capacityProviderStrategy"))
    result = _orig_create_service_response(self, *args, **kwargs)
    service = self.ecs_backend._get_service(self._get_param("cluster", "default"),
                                            self._get_param("serviceName"))
    service.localaws_request = copy.deepcopy(request)
    config = self._get_param("deploymentConfiguration")
    if config:
        service.deployment_configuration = config
        ENGINE.service_configured(self.ecs_backend, service)
    grace = self._get_param("healthCheckGracePeriodSeconds")
    if grace is not None:
        service.health_check_grace_period_seconds = int(grace)
    service.enable_execute_command = bool(self._get_param("enableExecuteCommand", False))
    return result


def list_task_definitions_response(self: EC2ContainerServiceResponse, *args: Any, **kwargs: Any) -> ActionResult:
    if ENGINE is None:
        return _orig_responses["list_task_definitions"](self, *args, **kwargs)
    family = self._get_param("familyPrefix")
    status = self._get_param("status") or "ACTIVE"
    sort = (self._get_param("sort") or "ASC").upper()
    found = []
    for revisions in self.ecs_backend.task_definitions.values():
        for td in revisions.values():
            # ECS's familyPrefix is the full family name, not a prefix.
            if (family is None or td.family == family) and td.status == status:
                found.append(td)
    found.sort(key=lambda td: (td.family, td.revision), reverse=(sort == "DESC"))
    page, token = _page(self, [td.arn for td in found], 100)
    return ActionResult(_with_token({"taskDefinitionArns": page}, token))


def list_tasks_response(self: EC2ContainerServiceResponse, *args: Any, **kwargs: Any) -> ActionResult:
    if ENGINE is None:
        return _orig_responses["list_tasks"](self, *args, **kwargs)
    tasks = self.ecs_backend.list_tasks(
        self._get_param("cluster", "default"), self._get_param("containerInstance"),
        self._get_param("family"), self._get_param("startedBy"),
        self._get_param("serviceName"), self._get_param("desiredStatus"))
    page, token = _page(self, [t.task_arn for t in tasks], 100)
    return ActionResult(_with_token({"taskArns": page}, token))


def list_services_response(self: EC2ContainerServiceResponse, *args: Any, **kwargs: Any) -> ActionResult:
    if ENGINE is None:
        return _orig_responses["list_services"](self, *args, **kwargs)
    arns = self.ecs_backend.list_services(self._get_param("cluster", "default"),
                                          self._get_param("schedulingStrategy"),
                                          launch_type=self._get_param("launchType"))
    page, token = _page(self, arns, 10)
    return ActionResult(_with_token({"serviceArns": page}, token))


def _page(response: EC2ContainerServiceResponse, items: list[str], default_size: int):
    """nextToken = base64 offset; maxResults defaults as ECS's do."""
    size = int(response._get_param("maxResults") or default_size)
    token = response._get_param("nextToken")
    start = json.loads(base64.b64decode(token))["offset"] if token else 0
    end = start + size
    next_token = base64.b64encode(json.dumps({"offset": end}).encode()).decode() if end < len(items) else None
    return items[start:end], next_token


def _with_token(body: dict[str, Any], token: str | None) -> dict[str, Any]:
    if token:
        body["nextToken"] = token
    return body


# ---- the Service Deployments API (records kept by service_deployments.py) ------------------
def list_service_deployments_response(self: EC2ContainerServiceResponse) -> ActionResult:
    found = ENGINE.service_deployments.list(self.ecs_backend, self._get_param("cluster", "default"),
                                            self._get_param("service"), self._get_param("status"),
                                            self._get_param("createdAt"))
    page, token = _page(self, found, 20)
    return ActionResult(_with_token({"serviceDeployments": page}, token))


def describe_service_deployments_response(self: EC2ContainerServiceResponse) -> ActionResult:
    found, failures = ENGINE.service_deployments.describe(self._get_param("serviceDeploymentArns") or [])
    return ActionResult({"serviceDeployments": found, "failures": failures})


def describe_service_revisions_response(self: EC2ContainerServiceResponse) -> ActionResult:
    found, failures = ENGINE.service_deployments.describe_revisions(self._get_param("serviceRevisionArns") or [])
    return ActionResult({"serviceRevisions": found, "failures": failures})


def stop_service_deployment_response(self: EC2ContainerServiceResponse) -> ActionResult:
    arn = self._get_param("serviceDeploymentArn")
    ENGINE.stop_service_deployment(self.ecs_backend, arn, self._get_param("stopType") or "ROLLBACK")
    return ActionResult({"serviceDeploymentArn": arn})


def continue_service_deployment_response(self: EC2ContainerServiceResponse) -> ActionResult:
    """A deployment paused at a PAUSE lifecycle hook goes on, or rolls back (strategies.py)."""
    arn = self._get_param("serviceDeploymentArn")
    ENGINE.strategies.continue_deployment(self.ecs_backend, arn, self._get_param("hookId"),
                                          self._get_param("action") or "CONTINUE")
    return ActionResult({"serviceDeploymentArn": arn})


# ---- ECS Exec ---------------------------------------------------------------------------
EXEC_SESSIONS: list[dict[str, Any]] = []  # what ExecuteCommand was asked (tests read it through state())


def execute_command_response(self: EC2ContainerServiceResponse) -> ActionResult:
    """ExecuteCommand: a session for the Session Manager plugin (nothing connects to it here).
    Refused as ECS does when the task was not started with ECS Exec enabled."""
    import uuid as uuid_
    from moto.ecs.exceptions import InvalidParameterException

    cluster_str = self._get_param("cluster", "default")
    task_id = self._get_param("task").split("/")[-1]
    tasks = self.ecs_backend.describe_tasks(cluster_str, [task_id])
    if not tasks:
        raise InvalidParameterException(f"The task {task_id} was not found.")
    task = tasks[0]
    if not getattr(task, "enable_execute_command", False):
        raise InvalidParameterException("The execute command failed because execute command was not enabled when the task was run "
                                        "or the execute command agent isn\u2019t running. Wait and try again or run a new task with "
                                        "execute command enabled and try again.")
    name = self._get_param("container") or task.containers[0]["name"]
    container = next((c for c in task.containers if isinstance(c, dict) and c.get("name") == name), None)
    if container is None:
        raise InvalidParameterException(f"The container {name} was not found in task {task_id}.")
    session_id = f"ecs-execute-command-{uuid_.uuid4().hex[:17]}"
    region = self.ecs_backend.region_name
    asked = {"cluster": cluster_str, "task": task.task_arn, "container": name, "command": self._get_param("command"),
             "interactive": self._get_param("interactive")}
    EXEC_SESSIONS.append(asked)
    return ActionResult({
        "clusterArn": task.cluster_arn, "containerArn": container["containerArn"], "containerName": name,
        "interactive": True, "taskArn": task.task_arn,
        "session": {"sessionId": session_id, "streamUrl": f"wss://ssmmessages.{region}.amazonaws.com/v1/data-channel/{session_id}?role=publish_subscribe",
                    "tokenValue": "AAEAA" + uuid_.uuid4().hex},
    })


PORT_FORWARDING_DOCUMENTS = ("AWS-StartPortForwardingSession", "AWS-StartPortForwardingSessionToRemoteHost")


def start_session_response(self: Any) -> ActionResult:
    """SSM StartSession on an ECS Exec target (ecs:<cluster>_<task id>_<runtime id>) with a port-forwarding
    document: a session for the Session Manager plugin. Refused, as SSM does, for another target or document."""
    import uuid as uuid_
    from moto.ecs.models import ecs_backends
    from moto.ssm.exceptions import InvalidDocument, ValidationException

    target = self._get_param("Target") or ""
    document = self._get_param("DocumentName") or "SSM-SessionManagerRunShell"
    if document not in PORT_FORWARDING_DOCUMENTS:
        raise InvalidDocument(f"Document {document} is not a port-forwarding document here")
    parts = target[4:].split("_") if target.startswith("ecs:") else []
    if len(parts) != 3:
        raise ValidationException(f"Target {target} is not an ECS Exec target")
    cluster, task_id, runtime_id = parts
    tasks = ecs_backends[self.current_account][self.region].describe_tasks(cluster, [task_id])
    ok = bool(tasks) and getattr(tasks[0], "enable_execute_command", False) and any(
        isinstance(c, dict) and c.get("runtimeId") == runtime_id for c in tasks[0].containers)
    if not ok:
        raise ValidationException(f"{target} is not connected.")
    session_id = f"deployer-{uuid_.uuid4().hex[:17]}"
    EXEC_SESSIONS.append({"target": target, "document": document, "parameters": self._get_param("Parameters")})
    return ActionResult({"SessionId": session_id, "TokenValue": "AAEAA" + uuid_.uuid4().hex,
                         "StreamUrl": f"wss://ssmmessages.{self.region}.amazonaws.com/v1/data-channel/{session_id}?role=publish_subscribe"})
