"""The ECS Service Deployments API moto lacks: one record per deployment of a service, with its
source and target service revisions, its fate (SUCCESSFUL, STOPPED, ROLLBACK_*), the rollback,
the circuit breaker's failure count and threshold, the alarms that fired, the lifecycle stage.

ECS keeps one service deployment per UpdateService (or CreateService) that starts a deployment;
the circuit breaker's (or an alarm's, or StopServiceDeployment's) rollback is part of that same
service deployment: it goes ROLLBACK_IN_PROGRESS, then ROLLBACK_SUCCESSFUL when the rollback's
own ecs-svc deployment (listed by DescribeServices) completes. A deployment replaced by a newer
one goes STOPPED.

The rollout engine (rollout.py) calls the hooks here; ecs_patch.py routes the four operations.
"""
from __future__ import annotations

import random
import string
from datetime import datetime, timezone
from typing import Any

from moto.core.utils import utcnow
from moto.ecs.exceptions import ECSException

OPERATIONS = ("ListServiceDeployments", "DescribeServiceDeployments", "DescribeServiceRevisions",
              "StopServiceDeployment", "ContinueServiceDeployment")
ACTIVE_STATUSES = ("PENDING", "IN_PROGRESS", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
# Service attributes (moto's snake_case) a service revision captures, with ECS's names.
REVISION_FIELDS = {
    "task_definition": "taskDefinition",
    "launch_type": "launchType",
    "capacity_provider_strategy": "capacityProviderStrategy",
    "platform_version": "platformVersion",
    "load_balancers": "loadBalancers",
    "service_registries": "serviceRegistries",
    "network_configuration": "networkConfiguration",
    "service_connect_configuration": "serviceConnectConfiguration",
    "volume_configurations": "volumeConfigurations",
    "vpc_lattice_configurations": "vpcLatticeConfigurations",
}


class NotFound(ECSException):
    def __init__(self, what: str) -> None:
        super().__init__("ServiceDeploymentNotFoundException", f"{what} not found.")


class Conflict(ECSException):
    def __init__(self, message: str) -> None:
        super().__init__("ConflictException", message)


class ServiceDeployments:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}  # service deployment ARN -> record
        self.revisions: dict[str, dict[str, Any]] = {}  # service revision ARN -> revision
        self.by_ecs_id: dict[str, str] = {}  # ecs-svc/… id (DescribeServices) -> record ARN
        self.ignored_alarms: dict[str, set[str]] = {}  # record ARN -> alarms in ALARM at its start

    def clear(self) -> None:
        self.records.clear()
        self.revisions.clear()
        self.by_ecs_id.clear()
        self.ignored_alarms.clear()

    # ---- hooks from the rollout engine -------------------------------------------------
    def revision_of(self, svc: Any) -> dict[str, Any]:
        """A new service revision: the service's configuration as this deployment runs it."""
        arn = f"{_prefix(svc, 'service-revision')}/{random.randrange(10**18, 10**19)}"
        revision = {"serviceRevisionArn": arn, "serviceArn": svc.arn, "clusterArn": svc.cluster_arn,
                    "createdAt": utcnow(), "platformFamily": "Linux"}
        for attr, key in REVISION_FIELDS.items():
            value = getattr(svc, attr, None)
            if value not in (None, [], {}):
                revision[key] = value
        self.revisions[arn] = revision
        return revision

    def started(self, svc: Any, dep: dict[str, Any], sources: list[dict[str, Any]],
                breaker: dict[str, Any], threshold: int, alarms_in_alarm: set[str]) -> dict[str, Any]:
        """A new deployment of `svc` (dep: its ecs-svc entry); older unfinished ones are STOPPED."""
        now = utcnow()
        for record in self._of_service(svc.arn):
            if record["status"] in ("PENDING", "IN_PROGRESS"):
                record.update(status="STOPPED", stoppedAt=now, updatedAt=now, lifecycleStage="CLEAN_UP",
                              statusReason="Service deployment stopped: a newer deployment of the service started.")
        revision = self.revision_of(svc)
        dep["localaws_revision"] = revision["serviceRevisionArn"]
        arn = f"{_prefix(svc, 'service-deployment')}/" + "".join(
            random.choices(string.ascii_letters + string.digits + "-_", k=21))
        record = {
            "serviceDeploymentArn": arn, "serviceArn": svc.arn, "clusterArn": svc.cluster_arn,
            "createdAt": now, "startedAt": now, "updatedAt": now,
            "sourceServiceRevisions": [{"arn": s.get("localaws_revision"), "requestedTaskCount": s["desiredCount"],
                                        "runningTaskCount": s["runningCount"], "pendingTaskCount": s["pendingCount"]}
                                       for s in sources if s.get("localaws_revision")],
            "targetServiceRevision": {"arn": revision["serviceRevisionArn"]},
            "status": "IN_PROGRESS",
            "statusReason": "",
            "lifecycleStage": "SCALE_UP",
        }
        self.records[arn] = record
        self.by_ecs_id[dep["id"]] = arn
        self.configured(svc, dep["id"], breaker, threshold, alarms_in_alarm)
        svc.current_service_deployment = arn
        svc.current_service_revisions = [{"arn": revision["serviceRevisionArn"]}]
        return record

    def configured(self, svc: Any, dep_id: str, breaker: dict[str, Any], threshold: int,
                   alarms_in_alarm: set[str]) -> None:
        """The deployment's configuration and monitors (again after CreateService's answer set them)."""
        record = self.record_of(dep_id)
        if record is None:
            return
        config = dict(getattr(svc, "deployment_configuration", None) or {})
        alarms = config.get("alarms") or {}
        record.update(
            deploymentConfiguration=config,
            deploymentCircuitBreaker={"status": "MONITORING" if breaker["enable"] else "DISABLED",
                                      "failureCount": 0, "threshold": threshold},
            alarms={"status": "MONITORING" if alarms.get("enable") else "DISABLED",
                    "alarmNames": list(alarms.get("alarmNames") or []), "triggeredAlarmNames": []})
        self.ignored_alarms[record["serviceDeploymentArn"]] = set(alarms_in_alarm)  # ECS ignores those

    def rollback_started(self, failed_id: str, rollback_dep: dict[str, Any], reason: str,
                         revision_arn: str | None) -> None:
        """ECS rolls `failed_id` back (breaker, alarm or StopServiceDeployment): same record."""
        record = self.record_of(failed_id)
        if record is None:
            return
        now = utcnow()
        record.update(status="ROLLBACK_IN_PROGRESS", updatedAt=now, statusReason=reason,
                      rollback={"reason": reason, "startedAt": now, "serviceRevisionArn": revision_arn})
        rollback_dep["localaws_revision"] = revision_arn
        self.by_ecs_id[rollback_dep["id"]] = record["serviceDeploymentArn"]

    def failed(self, dep_id: str, reason: str, *, breaker_tripped: bool, triggered_alarms: list[str],
               failure_count: int) -> None:
        """The deployment failed and nothing rolls it back: ECS stops it where it is."""
        record = self.record_of(dep_id)
        if record is None:
            return
        self._monitors_fired(record, breaker_tripped, triggered_alarms, failure_count)
        now = utcnow()
        record.update(status="STOPPED", statusReason=reason, stoppedAt=now, updatedAt=now)

    def fired(self, dep_id: str, *, breaker_tripped: bool, triggered_alarms: list[str], failure_count: int) -> None:
        record = self.record_of(dep_id)
        if record is not None:
            self._monitors_fired(record, breaker_tripped, triggered_alarms, failure_count)

    def completed(self, dep_id: str) -> None:
        record = self.record_of(dep_id)
        if record is None:
            return
        now = utcnow()
        rolled_back = record["status"] in ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
        record.update(status="ROLLBACK_SUCCESSFUL" if rolled_back else "SUCCESSFUL", finishedAt=now, updatedAt=now,
                      lifecycleStage="CLEAN_UP")
        if not rolled_back:
            record["statusReason"] = "Service deployment completed."
            for monitor in (record["deploymentCircuitBreaker"], record["alarms"]):
                if monitor["status"] == "MONITORING":
                    monitor["status"] = "MONITORING_COMPLETE"

    def progress(self, dep: dict[str, Any], *, baking: bool) -> None:
        """Counts and stage of the record from its ecs-svc deployment, every tick."""
        record = self.record_of(dep["id"])
        if record is None or record["status"] not in ACTIVE_STATUSES:
            return
        summary = {"requestedTaskCount": dep["desiredCount"], "runningTaskCount": dep["runningCount"],
                   "pendingTaskCount": dep["pendingCount"]}
        if record["status"] == "IN_PROGRESS":
            record["targetServiceRevision"].update(summary)
            record["deploymentCircuitBreaker"]["failureCount"] = dep["failedTasks"]
            stage = "BAKE_TIME" if baking else "SCALE_UP"
            if record["lifecycleStage"] != stage and not record.get("localaws_staged"):  # strategies.py stages it
                record.update(lifecycleStage=stage, updatedAt=utcnow())

    def record_of(self, dep_id: str) -> dict[str, Any] | None:
        arn = self.by_ecs_id.get(dep_id)
        return self.records.get(arn) if arn else None

    def _monitors_fired(self, record: dict[str, Any], breaker_tripped: bool, triggered: list[str],
                        failure_count: int) -> None:
        record["deploymentCircuitBreaker"]["failureCount"] = failure_count
        if breaker_tripped:
            record["deploymentCircuitBreaker"]["status"] = "TRIGGERED"
        if triggered:
            record["alarms"].update(status="TRIGGERED", triggeredAlarmNames=list(triggered))

    def _of_service(self, service_arn: str) -> list[dict[str, Any]]:
        return [r for r in self.records.values() if r["serviceArn"] == service_arn]

    # ---- the API ---------------------------------------------------------------------
    def list(self, backend: Any, cluster: str, service: str, statuses: list[str] | None,
             created: dict[str, Any] | None) -> list[dict[str, Any]]:
        svc = backend._get_service(cluster, service.split("/")[-1])  # ServiceNotFoundException
        created = created or {}
        after, before = _epoch(created.get("after")), _epoch(created.get("before"))
        found = []
        for record in sorted(self._of_service(svc.arn), key=lambda r: r["createdAt"], reverse=True):
            at = _epoch(record["createdAt"])
            if statuses and record["status"] not in statuses:
                continue
            if (after is not None and at < after) or (before is not None and at > before):
                continue
            found.append({k: record.get(k) for k in ("serviceDeploymentArn", "serviceArn", "clusterArn", "startedAt",
                                                       "createdAt", "finishedAt", "status", "statusReason")
                          if record.get(k) is not None}
                         | {"targetServiceRevisionArn": record["targetServiceRevision"]["arn"]})
        return found

    def describe(self, arns: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        found = [self.records[a] for a in arns if a in self.records]
        return found, [{"arn": a, "reason": "MISSING"} for a in arns if a not in self.records]

    def describe_revisions(self, arns: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        found = [self.revisions[a] for a in arns if a in self.revisions]
        return found, [{"arn": a, "reason": "MISSING"} for a in arns if a not in self.revisions]

    def stoppable(self, arn: str, stop_type: str) -> dict[str, Any]:
        """The record StopServiceDeployment may stop (the engine does the rollback)."""
        record = self.records.get(arn)
        if record is None:
            raise NotFound(f"Service deployment {arn}")
        if stop_type not in ("ROLLBACK", "ABORT"):
            raise ECSException("InvalidParameterException", f"stopType must be ROLLBACK or ABORT, not {stop_type}")
        if record["status"] not in ("PENDING", "IN_PROGRESS"):
            raise Conflict(f"Service deployment {arn} is {record['status']}; only an IN_PROGRESS deployment can be stopped.")
        return record

    def ecs_ids_of(self, arn: str) -> list[str]:
        return [dep_id for dep_id, a in self.by_ecs_id.items() if a == arn]


def _prefix(svc: Any, kind: str) -> str:
    region, account = svc.region_name, svc._account_id
    return f"arn:aws:ecs:{region}:{account}:{kind}/{svc.cluster_name}/{svc.name}"


def _epoch(value: Any) -> float | None:
    """moto hands timestamps over as naive UTC datetimes (whole seconds), or numbers."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    return value.replace(tzinfo=value.tzinfo or timezone.utc).timestamp()
