"""The ECS service scheduler moto lacks: deployments that start tasks over time,
drain the old ones, fail on a broken task definition and trip the circuit breaker.

State lives on moto's own objects (service.deployments, service.events,
backend.tasks) so every moto API over HTTP shows it; the engine keeps only what ECS
keeps internally (which task belongs to which deployment, the last good revision)."""
from __future__ import annotations

import copy
import fnmatch
import math
import random
import time
import uuid
from typing import Any

from moto.core.utils import utcnow
from moto.ecs.exceptions import ECSException
from moto.ecs.models import EC2ContainerServiceBackend, Service, Task, TaskDefinition

from .service_deployments import REVISION_FIELDS, ServiceDeployments
from .settings import Settings

FAILURE_ENV = "LOCALAWS_TASK_FAILURE"
EXIT_CODE_ENV = "LOCALAWS_EXIT_CODE"
MAX_EVENTS = 100
PLACEMENT_EVENT_EVERY = 5.0  # seconds between two "unable to place a task" events of one deployment
DEFAULT_DEPLOYMENT_CONFIGURATION = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}


class LocalTask(Task):
    """A service task whose state only the engine changes.

    moto's Task advances RUNNING -> ... -> STOPPED on every describe_tasks (its state
    manager) and, for awsvpc, creates an ENI that needs a VPC with DNS hostnames. We
    skip Task.__init__ and set the attributes the serializer reads ourselves."""

    __module__ = "moto.ecs.localaws"  # moto files model classes by module path

    def __init__(self, backend: EC2ContainerServiceBackend, cluster: Any, td: TaskDefinition,
                 deployment: dict[str, Any], service: Service) -> None:
        self._status = "PROVISIONING"
        self._tick = 0
        self._transitions = [("RUNNING", "STOPPED")]
        self.model_name = "ecs::task"
        self.id = uuid.uuid4().hex
        self.cluster_name = cluster.name
        self.cluster_arn = cluster.arn
        self.container_instance_arn = None
        self.desired_status = "RUNNING"
        self.task_definition_arn = td.arn
        self.overrides: dict[str, Any] = {}
        self.started_by = deployment["id"]
        self.group = f"service:{service.name}"
        self.tags: list[dict[str, str]] = []
        self.launch_type = deployment.get("launchType") or "FARGATE"
        self.platform_version = "1.4.0"
        self.platform_family = "Linux"
        self.stopped_reason = ""
        self.stop_code: str | None = None
        self.resource_requirements = None
        self.region_name = cluster.region_name
        self._account_id = backend.account_id
        self._backend = backend
        self.cpu = td.cpu
        self.memory = td.memory
        self.availability_zone = f"{cluster.region_name}{random.choice('ab')}"
        self.connectivity = "CONNECTED"
        self.health_status = "UNKNOWN"
        self.created_at = utcnow()
        self.started_at = None
        self.stopping_at = None
        self.stopped_at = None
        self.version = 1
        self.private_ip = f"10.0.{random.randint(0, 255)}.{random.randint(4, 254)}"
        net = (deployment.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
        eni_id = "eni-" + uuid.uuid4().hex[:17]
        attachment_id = str(uuid.uuid4())
        self.attachments = [{
            "id": attachment_id, "type": "ElasticNetworkInterface", "status": "ATTACHED",
            "details": [
                {"name": "subnetId", "value": (net.get("subnets") or ["subnet-local"])[0]},
                {"name": "networkInterfaceId", "value": eni_id},
                {"name": "privateIPv4Address", "value": self.private_ip},
            ],
        }]
        self.containers = [{
            "containerArn": f"arn:aws:ecs:{self.region_name}:{self._account_id}:container/"
                            f"{cluster.name}/{self.id}/{uuid.uuid4()}",
            "taskArn": self.task_arn,
            "name": c.get("name"),
            "image": c.get("image"),
            "lastStatus": "PENDING",
            "healthStatus": "UNKNOWN",
            "networkInterfaces": [{"attachmentId": attachment_id, "privateIpv4Address": self.private_ip}],
            "runtimeId": f"{self.id}-{n}",  # ECS Exec's target: ecs:<cluster>_<task id>_<runtime id>
        } for n, c in enumerate(td.container_definitions)]
        # ECS Exec: a task can be exec'd into when its service enabled it as the task started.
        self.enable_execute_command = bool(getattr(service, "enable_execute_command", False))

    # Plain attribute: no state-manager progression.
    @property
    def status(self) -> str:  # type: ignore[override]
        return self._status

    @status.setter
    def status(self, value: str) -> None:
        self._status = value


def new_deployment_id() -> str:
    return f"ecs-svc/{random.randrange(10**18, 10**19)}"


def failure_of(td: TaskDefinition, settings: Settings) -> tuple[str, int, str] | None:
    """(failure text, exit code, failing container) when tasks of `td` must fail."""
    for c in td.container_definitions:
        env = {e.get("name"): e.get("value") for e in c.get("environment") or []}
        if FAILURE_ENV in env:
            code = int(env.get(EXIT_CODE_ENV) or settings.failure_exit_code)
            return env[FAILURE_ENV] or "task failure", code, c.get("name")
    mark = mark_of(td, settings)
    if mark and mark.get("after_running") is None and not mark.get("placement") and not mark.get("stuck"):
        return _mark_failure(td, settings, mark)
    return None


def mark_of(td: TaskDefinition, settings: Settings) -> dict[str, Any] | None:
    """The first `broken` entry that matches the task definition."""
    names = [f"{td.family}:{td.revision}", td.arn] + [c.get("image") or "" for c in td.container_definitions]
    return next((m for m in settings.broken if any(fnmatch.fnmatchcase(n, m["match"]) for n in names)), None)


def _mark_failure(td: TaskDefinition, settings: Settings, mark: dict[str, Any]) -> tuple[str, int, str]:
    essential = next((c for c in td.container_definitions if c.get("essential", True)), td.container_definitions[0])
    text = mark.get("reason") or f"exit {settings.failure_exit_code}: marked broken via localaws"
    return text, settings.failure_exit_code, essential.get("name")


def late_failure_of(td: TaskDefinition, settings: Settings) -> tuple[dict[str, Any], tuple[str, int, str]] | None:
    """(mark, failure) when tasks of `td` run, then die after mark["after_running"] seconds."""
    mark = mark_of(td, settings)
    if mark and mark.get("after_running") is not None and not mark.get("placement"):
        if mark.get("count") is not None and mark.get("failed", 0) >= int(mark["count"]):
            return None  # a flaky start: the next tasks live
        return mark, _mark_failure(td, settings, mark)
    return None


def placement_failure_of(td: TaskDefinition, settings: Settings) -> str | None:
    """ECS's reason when no task of `td` can be placed (no capacity, no instance meets its requirements)."""
    mark = mark_of(td, settings)
    return mark.get("placement") if mark else None


class Engine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # (backend, service) pairs the engine drives, keyed by service ARN.
        self.services: dict[str, tuple[EC2ContainerServiceBackend, Service]] = {}
        self.tasks: dict[str, list[LocalTask]] = {}  # deployment id -> its tasks
        # Every deployment ever made, with wall-clock times of the verdicts (for
        # benchmarks that measure how fast a client notices COMPLETED/FAILED).
        self.history: dict[str, dict[str, Any]] = {}
        # One-off tasks (RunTask outside a service, e.g. `deployer run`): see oneoff.py.
        from .oneoff import OneOffs  # here, not at the top: oneoff.py imports this module

        self.oneoffs = OneOffs(settings)
        # The Service Deployments API's records (service_deployments.py).
        self.service_deployments = ServiceDeployments()
        self.baked_from: dict[str, float] = {}  # deployment id -> when its tasks all ran (alarm bake time)
        # Blue/green, linear and canary deployments (strategies.py).
        from .strategies import Strategies

        self.strategies = Strategies(self)

    # ---- entry points from the patched moto API --------------------------------
    def service_created(self, backend: EC2ContainerServiceBackend, service: Service) -> None:
        service.deployments = []
        service.running_count = 0
        service.pending_count = 0
        service.localaws_last_good = None  # (deployment id, task def ARN, service revision ARN) of last COMPLETED
        if not getattr(service, "deployment_configuration", None):
            service.deployment_configuration = copy.deepcopy(DEFAULT_DEPLOYMENT_CONFIGURATION)
        self.services[service.arn] = (backend, service)
        if service.task_definition:
            self.start_deployment(backend, service)

    def start_deployment(self, backend: EC2ContainerServiceBackend, service: Service,
                         rollback_of: str | None = None, reason: str | None = None) -> dict[str, Any]:
        now = utcnow()
        dep_id = new_deployment_id()
        sources = list(service.deployments)
        for old in service.deployments:
            old["status"] = "ACTIVE"
            old["updatedAt"] = now
        dep = {
            "id": dep_id,
            "status": "PRIMARY",
            "taskDefinition": service.task_definition,
            "desiredCount": service.desired_count,
            "pendingCount": 0,
            "runningCount": 0,
            "failedTasks": 0,
            "createdAt": now,
            "updatedAt": now,
            "launchType": service.launch_type or "FARGATE",
            "platformVersion": "1.4.0",
            "platformFamily": "Linux",
            "networkConfiguration": service.network_configuration or None,
            "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": reason or f"ECS deployment {dep_id} in progress.",
        }
        # ECS reports these on the deployment, not on the service (DescribeServices has no such
        # top-level fields).
        for attr in ("capacity_provider_strategy", "service_connect_configuration", "volume_configurations",
                     "vpc_lattice_configurations"):
            if getattr(service, attr, None):
                dep[REVISION_FIELDS[attr]] = getattr(service, attr)
        service.deployments.insert(0, dep)
        self.tasks[dep_id] = []
        self.history[dep_id] = {
            "id": dep_id, "cluster": service.cluster_name, "service": service.name,
            "taskDefinition": service.task_definition, "createdAt": time.time(),
            "rolloutState": "IN_PROGRESS", "completedAt": None, "failedAt": None,
            "rollbackOf": rollback_of,
        }
        service.localaws_settled = False
        if rollback_of:
            revision = (service.localaws_last_good or (None, None, None))[2]
            why = next((d.get("rolloutStateReason") for d in sources if d["id"] == rollback_of), None)
            self.service_deployments.rollback_started(rollback_of, dep, why or reason or "rollback", revision)
        else:
            self.service_deployments.started(service, dep, sources, self._breaker(service),
                                             self._threshold(service.desired_count),
                                             self._alarms_in_alarm(backend, _alarm_names(service)))
            self.strategies.started(service, dep, sources)
        return dep

    def service_configured(self, backend: EC2ContainerServiceBackend, service: Service) -> None:
        """CreateService's deploymentConfiguration arrived after the first deployment started."""
        if service.deployments:
            self.service_deployments.configured(service, service.deployments[0]["id"], self._breaker(service),
                                                self._threshold(service.desired_count),
                                                self._alarms_in_alarm(backend, _alarm_names(service)))

    def desired_count_changed(self, service: Service) -> None:
        if service.deployments:
            service.deployments[0]["desiredCount"] = service.desired_count
            service.deployments[0]["updatedAt"] = utcnow()
        service.localaws_settled = False

    # ---- the ticker ------------------------------------------------------------
    def service_deleted(self, service: Service) -> bool:
        """DeleteService: True when the engine drives it (it drains, then turns INACTIVE)."""
        if service.arn not in self.services:
            return False
        service.localaws_inactive_at = time.time() + float(self.settings.draining_seconds or 0)
        service.desired_count = 0
        return True

    def tick(self) -> None:
        for arn, (backend, service) in list(self.services.items()):
            current = backend.services.get(f"{service.cluster_name}:{service.name}")
            if current is service and service.status == "DRAINING":
                self._retire(backend, service)
                if time.time() >= getattr(service, "localaws_inactive_at", 0):
                    service.status = "INACTIVE"
                continue
            if current is not service or service.status != "ACTIVE":
                self._retire(backend, service)
                del self.services[arn]
                continue
            self._tick_service(backend, service)
        self.oneoffs.tick()  # one-off tasks (oneoff.py); service tasks are never among them

    def _tick_service(self, backend: EC2ContainerServiceBackend, svc: Service) -> None:
        s = self.settings
        per_tick = max(1, int(s.tasks_per_tick))
        if not svc.deployments:  # created without a task definition
            return
        primary, older = svc.deployments[0], svc.deployments[1:]
        changed = False

        # 1. Drain first, from what ran at the end of the last tick, so new and old tasks
        #    are seen running side by side for a tick (minimumHealthyPercent 100): old
        #    deployments keep serving until the primary's tasks run; the primary sheds
        #    tasks above desired.
        primary_running = self._running(primary)
        room = max(0, svc.desired_count - len(primary_running))
        old_running = [] if self.strategies.holds_blue(primary) else [t for dep in reversed(older) for t in self._running(dep)]
        to_stop = old_running[: max(0, len(old_running) - room)][:per_tick]
        extra = len(primary_running) - svc.desired_count
        if extra > 0:
            to_stop += primary_running[:min(extra, per_tick)]
        if to_stop:
            reason = f"Scaling activity initiated by (deployment {primary['id']})"
            for task in to_stop:
                self._stop(task, reason, "ServiceSchedulerInitiated", exit_code=0)
            self._event(svc, f"has stopped {len(to_stop)} running tasks: " + _task_list(to_stop) + ".")
            if svc.load_balancers:
                self._event(svc, f"deregistered {len(to_stop)} targets in "
                                 f"(target-group {self.strategies.target_group_of(svc, to_stop[0].started_by)})")
            changed = True

        # 2. Tasks launched last tick come up, or die if their task definition is broken; running
        #    tasks of a definition broken "after_running" die once they ran that long.
        for dep in svc.deployments:
            for task in self._live(dep):
                if task.last_status == "RUNNING":
                    late = late_failure_of(backend.describe_task_definition(task.task_definition_arn), s)
                    since = task.started_at
                    if late and late[0].get("after_completed"):  # only once the deployment completed
                        since = dep.get("localaws_completed_at")
                    if late and since is not None and (utcnow() - since).total_seconds() >= late[0]["after_running"]:
                        self._fail_running(backend, svc, dep, task, *late)
                        changed = True
                elif task.last_status == "PROVISIONING":
                    task.last_status = "PENDING"
                    changed = True
                elif task.last_status == "PENDING":
                    td = backend.describe_task_definition(task.task_definition_arn)
                    if (mark_of(td, s) or {}).get("stuck"):
                        continue  # never leaves PENDING (an image pull that hangs)
                    failure = failure_of(td, s)
                    if failure:
                        self._fail(backend, svc, dep, task, failure)
                    else:
                        self._run(backend, svc, task)
                    changed = True

        # 3. Circuit breaker, then the deployment's alarms (those not already in ALARM at its start).
        if primary["rolloutState"] == "IN_PROGRESS" and self._breaker(svc)["enable"]:
            if primary["failedTasks"] >= self._threshold(svc.desired_count):
                self._trip(backend, svc, primary, "ECS deployment circuit breaker: tasks failed to start.",
                           "tasks failed to start", self._breaker(svc)["rollback"], breaker_tripped=True)
                primary, older = svc.deployments[0], svc.deployments[1:]
                changed = True
        alarms = self._alarm_config(primary)
        if primary["rolloutState"] == "IN_PROGRESS" and alarms.get("enable"):
            record = self.service_deployments.record_of(primary["id"]) or {}
            ignored = self.service_deployments.ignored_alarms.get(record.get("serviceDeploymentArn"), set())
            fired = sorted(self._alarms_in_alarm(backend, alarms.get("alarmNames")) - ignored)
            if fired:
                names = ", ".join(fired)
                self._trip(backend, svc, primary, f"ECS deployment alarms: alarm(s) {names} in ALARM state.",
                           f"alarm(s) {names} in ALARM state", bool(alarms.get("rollback")), triggered_alarms=fired)
                primary, older = svc.deployments[0], svc.deployments[1:]
                changed = True

        # 4. Launch tasks for the primary (not for one the breaker stopped).
        if primary["rolloutState"] != "FAILED" and not self.strategies.holds_launch(primary):
            live = len(self._live(primary))
            launch = min(per_tick, svc.desired_count - live)
            td = backend.describe_task_definition(primary["taskDefinition"]) if launch > 0 else None
            unplaceable = placement_failure_of(td, s) if td is not None else None
            if unplaceable:
                # ECS sends the event once, then again only every so often (not every attempt).
                last = primary.get("localaws_unplaced_at")
                if last is None or time.time() - last >= PLACEMENT_EVENT_EVERY:
                    primary["localaws_unplaced_at"] = time.time()
                    self._event(svc, f"was unable to place a task{_placement_text(unplaceable)}")
                    changed = True
                launch = 0
            if launch > 0:
                cluster = backend._get_cluster(svc.cluster_name)
                backend.tasks.setdefault(cluster.name, {})
                started = []
                for _ in range(launch):
                    task = LocalTask(backend, cluster, td, primary, svc)
                    backend.tasks[cluster.name][task.task_arn] = task
                    self.tasks[primary["id"]].append(task)
                    started.append(task)
                self._event(svc, f"has started {len(started)} tasks: " + _task_list(started) + ".")
                changed = True

        # 5. Counts, then the verdict.
        self._recount(svc)
        self.service_deployments.progress(primary, baking=primary["id"] in self.baked_from)
        self.strategies.tick(backend, svc, primary)
        if changed:
            svc.localaws_settled = False
        if not to_stop:  # tasks stopped this tick are seen draining before the verdict
            self._maybe_complete(svc, primary, older)

    # ---- steps -------------------------------------------------------------------
    def _run(self, backend: EC2ContainerServiceBackend, svc: Service, task: LocalTask) -> None:
        task.last_status = "RUNNING"
        task.started_at = utcnow()
        task.health_status = "HEALTHY"
        for c in task.containers:
            c["lastStatus"] = "RUNNING"
            c["healthStatus"] = "HEALTHY"
        td = backend.describe_task_definition(task.task_definition_arn)
        self._write_logs(backend, td, task, None)
        if svc.load_balancers:
            self._event(svc, f"registered 1 targets in (target-group {self.strategies.target_group_of(svc, task.started_by)})")

    def _fail(self, backend: EC2ContainerServiceBackend, svc: Service, dep: dict[str, Any],
              task: LocalTask, failure: tuple[str, int, str]) -> None:
        text, code, container = failure
        task.started_at = utcnow()
        self._stop(task, "Essential container in task exited", "EssentialContainerExited", None)
        for c in task.containers:
            if c["name"] == container:
                c["exitCode"] = code
                c["reason"] = text
            else:
                c["exitCode"] = 137
        dep["failedTasks"] += 1
        dep["updatedAt"] = utcnow()
        td = backend.describe_task_definition(task.task_definition_arn)
        self._write_logs(backend, td, task, failure)
        self._event(svc, f"has stopped 1 running tasks: (task {task.id}).")

    def _fail_running(self, backend: EC2ContainerServiceBackend, svc: Service, dep: dict[str, Any],
                      task: LocalTask, mark: dict[str, Any], failure: tuple[str, int, str]) -> None:
        """A task that ran dies: its essential container exits (a crash), or it fails the target
        group's health checks and the scheduler stops it. ECS counts both in failedTasks."""
        text, code, container = failure
        mark["failed"] = mark.get("failed", 0) + 1
        if mark.get("stop") == "health_check" and svc.load_balancers:
            group = self.strategies.target_group_of(svc, task.started_by)
            self._event(svc, f"(task {task.id}) failed ELB health checks in (target-group {group})")
            self._stop(task, f"Task failed ELB health checks in (target-group {group})", "ServiceSchedulerInitiated", None)
            for c in task.containers:
                c["exitCode"] = 143  # SIGTERM from the scheduler
            failure = (text, 143, container)
        else:
            self._stop(task, "Essential container in task exited", "EssentialContainerExited", None)
            for c in task.containers:
                c["exitCode"] = code if c["name"] == container else 137
                if c["name"] == container:
                    c["reason"] = text
        dep["failedTasks"] += 1
        dep["updatedAt"] = utcnow()
        td = backend.describe_task_definition(task.task_definition_arn)
        self._write_logs(backend, td, task, failure if mark.get("stop") != "health_check" else None)
        if svc.load_balancers:
            self._event(svc, f"deregistered 1 targets in (target-group {self.strategies.target_group_of(svc, task.started_by)})")
        self._event(svc, f"has stopped 1 running tasks: (task {task.id}).")

    def _stop(self, task: LocalTask, reason: str, stop_code: str, exit_code: int | None) -> None:
        now = utcnow()
        task.last_status = "STOPPED"
        task.desired_status = "STOPPED"
        task.stopped_reason = reason
        task.stop_code = stop_code
        task.stopping_at = now
        task.stopped_at = now
        task.execution_stopped_at = now
        task.health_status = "UNKNOWN"
        task.attachments[0]["status"] = "DELETED"
        for c in task.containers:
            c["lastStatus"] = "STOPPED"
            c["healthStatus"] = "UNKNOWN"
            if exit_code is not None:
                c["exitCode"] = exit_code

    def _trip(self, backend: EC2ContainerServiceBackend, svc: Service, failed: dict[str, Any], reason: str,
              event: str, rollback: bool, *, breaker_tripped: bool = False,
              triggered_alarms: list[str] | None = None) -> None:
        """The deployment failed (breaker, alarm, StopServiceDeployment); ECS rolls it back if asked
        to and a deployment completed before: to that service revision, not only its task definition."""
        failed["rolloutState"] = "FAILED"
        failed["rolloutStateReason"] = reason
        failed["updatedAt"] = utcnow()
        record = self.history[failed["id"]]
        record.update(rolloutState="FAILED", failedAt=time.time())
        self._event(svc, f"(deployment {failed['id']}) deployment failed: {event}.")
        monitors = {"breaker_tripped": breaker_tripped, "triggered_alarms": triggered_alarms or [],
                    "failure_count": failed["failedTasks"]}
        last_good = svc.localaws_last_good
        if not (rollback and last_good):
            self.service_deployments.failed(failed["id"], reason, **monitors)
            return
        self.service_deployments.fired(failed["id"], **monitors)
        good_id, good_td, good_revision = last_good
        self.restore_revision(svc, good_td, good_revision)
        self._event(svc, f"rolling back to deployment {good_id}.")
        cause = "ECS deployment circuit breaker" if breaker_tripped else "ECS deployment alarms" if triggered_alarms else "Service deployment stopped"
        rollback_dep = self.start_deployment(backend, svc, rollback_of=failed["id"],
                                             reason=f"{cause}: rolling back to deploymentId {good_id}.")
        self.strategies.rolled_back(backend, svc, failed, rollback_dep)

    def restore_revision(self, svc: Service, task_definition: str, revision_arn: str | None) -> None:
        svc.task_definition = task_definition
        revision = self.service_deployments.revisions.get(revision_arn or "") or {}
        for attr, key in REVISION_FIELDS.items():
            if attr != "task_definition" and hasattr(svc, attr):
                setattr(svc, attr, revision.get(key, [] if attr in ("load_balancers", "service_registries") else None))

    def stop_service_deployment(self, backend: EC2ContainerServiceBackend, arn: str, stop_type: str) -> None:
        """StopServiceDeployment(ROLLBACK): the deployment fails and ECS rolls back to the last
        deployment that completed (its whole service revision)."""
        record = self.service_deployments.stoppable(arn, stop_type)
        svc = next((s for _, s in self.services.values() if s.arn == record["serviceArn"]), None)
        primary = svc.deployments[0] if svc and svc.deployments else None
        if svc is None or primary is None or self.service_deployments.record_of(primary["id"]) is not record:
            raise ECSException("InvalidParameterException", f"Service deployment {arn} is not the service's current deployment.")
        if stop_type != "ROLLBACK":
            raise ECSException("UnsupportedFeatureException", "stopType ABORT is not supported for rolling deployments.")
        if not svc.localaws_last_good:
            raise ECSException("InvalidParameterException", "No service revision to roll back to: no deployment of the service completed.")
        record.update(status="ROLLBACK_REQUESTED", updatedAt=utcnow())
        self._trip(backend, svc, primary, "Service deployment rolled back: StopServiceDeployment requested a rollback.",
                   "stopped, rollback requested", True)

    def _alarm_config(self, dep: dict[str, Any]) -> dict[str, Any]:
        """The alarms of the deployment's configuration, as it was when the deployment started
        (not watched, nor baked, during a rollback)."""
        record = self.service_deployments.record_of(dep["id"]) or {}
        if record.get("status") != "IN_PROGRESS":
            return {}
        return (record.get("deploymentConfiguration") or {}).get("alarms") or {}

    def _alarms_in_alarm(self, backend: EC2ContainerServiceBackend, names: list[str] | None) -> set[str]:
        """Those of `names` that CloudWatch (moto) has in state ALARM."""
        if not names:
            return set()
        from moto.cloudwatch.models import cloudwatch_backends

        alarms = cloudwatch_backends[backend.account_id][backend.region_name].alarms
        return {n for n in names if n in alarms and alarms[n].state_value == "ALARM"}

    def _maybe_complete(self, svc: Service, primary: dict[str, Any], older: list[dict[str, Any]]) -> None:
        if primary["rolloutState"] == "FAILED":
            return
        if primary["rolloutState"] == "IN_PROGRESS":
            late = late_failure_of(self._backend_of(svc).describe_task_definition(primary["taskDefinition"]), self.settings)
            if late and not late[0].get("after_completed") and late[0].get("count") is None:
                return  # its tasks die before they are steady (health checks, a crash): never complete
        settled = (primary["runningCount"] == svc.desired_count and primary["pendingCount"] == 0
                   and all(d["runningCount"] == 0 and d["pendingCount"] == 0 for d in older))
        if not settled:
            return
        now = time.time()
        for d in older:  # a failed deployment stays visible a little while
            failed_at = self.history.get(d["id"], {}).get("failedAt")
            if failed_at and now - failed_at < self.settings.failed_visible_seconds:
                return
        if primary["rolloutState"] == "IN_PROGRESS" and self._baking(svc, primary, now):
            return
        if primary["rolloutState"] == "IN_PROGRESS":
            del svc.deployments[1:]
            primary["rolloutState"] = "COMPLETED"
            primary["localaws_completed_at"] = utcnow()
            primary["rolloutStateReason"] = f"ECS deployment {primary['id']} completed."
            primary["updatedAt"] = utcnow()
            self.history[primary["id"]].update(rolloutState="COMPLETED", completedAt=now)
            svc.localaws_last_good = (primary["id"], primary["taskDefinition"], primary.get("localaws_revision"))
            self.service_deployments.completed(primary["id"])
            self.strategies.completed(svc, primary)
            self._event(svc, f"(deployment {primary['id']}) deployment completed.")
            svc.localaws_settled = False
        if not svc.localaws_settled:
            self._event(svc, "has reached a steady state.")
            svc.localaws_settled = True

    def _baking(self, svc: Service, primary: dict[str, Any], now: float) -> bool:
        """With alarms, ECS keeps a deployment IN_PROGRESS for a bake time after its tasks run."""
        bake = float(self.settings.alarm_bake_seconds or 0)
        if bake <= 0 or not self._alarm_config(primary).get("enable"):
            return False
        since = self.baked_from.setdefault(primary["id"], now)
        self.service_deployments.progress(primary, baking=True)
        return now - since < bake

    def _retire(self, backend: EC2ContainerServiceBackend, svc: Service) -> None:
        """Service deleted: its tasks stop."""
        for dep in svc.deployments:
            for task in self._live(dep):
                self._stop(task, "Service deleted", "ServiceSchedulerInitiated", exit_code=0)
        svc.running_count = svc.pending_count = 0

    # ---- helpers -----------------------------------------------------------------
    def _backend_of(self, svc: Service) -> EC2ContainerServiceBackend:
        return self.services[svc.arn][0]

    def _live(self, dep: dict[str, Any]) -> list[LocalTask]:
        return [t for t in self.tasks.get(dep["id"], []) if t.last_status != "STOPPED"]

    def _running(self, dep: dict[str, Any]) -> list[LocalTask]:
        return [t for t in self.tasks.get(dep["id"], []) if t.last_status == "RUNNING"]

    def _recount(self, svc: Service) -> None:
        running = pending = 0
        for i, dep in enumerate(svc.deployments):
            live = self._live(dep)
            r = sum(1 for t in live if t.last_status == "RUNNING")
            p = len(live) - r
            if (dep["runningCount"], dep["pendingCount"]) != (r, p):
                dep["updatedAt"] = utcnow()
            dep["runningCount"], dep["pendingCount"] = r, p
            # ECS lowers an old deployment's desiredCount as it drains.
            dep["desiredCount"] = svc.desired_count if i == 0 else r
            running += r
            pending += p
        svc.running_count, svc.pending_count = running, pending

    def _breaker(self, svc: Service) -> dict[str, Any]:
        config = getattr(svc, "deployment_configuration", None) or {}
        breaker = config.get("deploymentCircuitBreaker") or {}
        return {"enable": bool(breaker.get("enable")), "rollback": bool(breaker.get("rollback"))}

    def _threshold(self, desired: int) -> int:
        if self.settings.circuit_breaker_threshold:
            return int(self.settings.circuit_breaker_threshold)
        return min(200, max(3, math.ceil(0.5 * desired)))

    def _event(self, svc: Service, message: str) -> None:
        svc.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": utcnow(),
                              "message": f"(service {svc.name}) {message}"})
        del svc.events[MAX_EVENTS:]

    def _write_logs(self, backend: EC2ContainerServiceBackend, td: TaskDefinition, task: LocalTask,
                    failure: tuple[str, int, str] | None) -> None:
        """What a service task's containers print: start, then ready, a failure, or SIGTERM."""
        for c in td.container_definitions:
            port = next((p.get("containerPort") for p in c.get("portMappings") or []), None)
            lines = [f"starting {c.get('image')}"]
            if failure and failure[2] == c.get("name"):
                lines += [f"ERROR {failure[0]}", f"process exited with code {failure[1]}"]
            elif failure:
                lines += ["received SIGTERM, shutting down"]
            else:
                lines += [f"listening on 0.0.0.0:{port}" if port else "ready"]
            put_container_logs(backend, c, task.id, lines)


def put_container_logs(backend: EC2ContainerServiceBackend, container: dict[str, Any], task_id: str,
                       lines: list[str]) -> None:
    """awslogs driver: lines to stream <prefix>/<container>/<task id>, as ECS names it."""
    from moto.logs.models import logs_backends

    log = container.get("logConfiguration") or {}
    options = log.get("options") or {}
    if not lines or log.get("logDriver") != "awslogs" or "awslogs-group" not in options:
        return
    logs = logs_backends[backend.account_id][options.get("awslogs-region") or backend.region_name]
    group = options["awslogs-group"]
    if group not in logs.groups:
        if str(options.get("awslogs-create-group", "")).lower() != "true":
            return  # ECS could not ship the logs either
        logs.create_log_group(group, {})
    prefix = options.get("awslogs-stream-prefix")
    stream = f"{prefix}/{container['name']}/{task_id}" if prefix else task_id
    logs.ensure_log_stream(group, stream)
    now_ms = int(time.time() * 1000)
    logs.put_log_events(group, stream, [{"timestamp": now_ms + i, "message": m} for i, m in enumerate(lines)])


def _alarm_names(svc: Service) -> list[str]:
    return ((getattr(svc, "deployment_configuration", None) or {}).get("alarms") or {}).get("alarmNames") or []


def _placement_text(reason: str) -> str:
    """ECS's wording: "was unable to place a task because no container instance met all of its
    requirements. Reason: …" or "was unable to place a task. Reason: Capacity is unavailable …"."""
    if reason.startswith("because") or reason.startswith(". Reason") or reason.startswith("."):
        return (" " if reason.startswith("because") else "") + reason
    return f". Reason: {reason}"


def _task_list(tasks: list[LocalTask]) -> str:
    return " ".join(f"(task {t.id})" for t in tasks)
