"""Request classification, per-operation counters and fault injection.

All of this runs in a WSGI middleware in front of moto, so it sees exactly what a
client speaking HTTP sends (the deployer CLI run as a subprocess)."""
from __future__ import annotations

import json
import random
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from .settings import Settings


def classify(environ: dict[str, Any], body: bytes) -> tuple[str, str]:
    """(service, operation) of an AWS request: signing name from the SigV4 scope,
    operation from X-Amz-Target (JSON protocols) or Action= (query protocols)."""
    service = "unknown"
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" in auth:
        try:
            scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
            service = scope.split("/")[3].lower()
        except IndexError:
            pass
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return service, target.rsplit(".", 1)[-1]
    if service == "scheduler":  # a REST-JSON API: the operation is the method and the path
        return service, _scheduler_operation(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
    params = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" not in params and environ.get("CONTENT_TYPE", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        params = parse_qs(body.decode("utf-8", "replace"))
    action = params.get("Action", [""])[0]
    return service, action or environ.get("REQUEST_METHOD", "?") + " " + environ.get("PATH_INFO", "")


# EventBridge Scheduler's REST routes → operation names (what IAM's scheduler:<Operation> calls them).
_SCHEDULER_ROUTES = {
    ("GET", "schedules"): "ListSchedules", ("GET", "schedule"): "GetSchedule", ("POST", "schedule"): "CreateSchedule",
    ("PUT", "schedule"): "UpdateSchedule", ("DELETE", "schedule"): "DeleteSchedule",
    ("GET", "schedule-groups"): "ListScheduleGroups", ("GET", "schedule-group"): "GetScheduleGroup",
    ("POST", "schedule-group"): "CreateScheduleGroup", ("DELETE", "schedule-group"): "DeleteScheduleGroup",
    ("GET", "tags"): "ListTagsForResource", ("POST", "tags"): "TagResource", ("DELETE", "tags"): "UntagResource",
}


def _scheduler_operation(method: str, path: str) -> str:
    parts = [p for p in path.split("/") if p]
    kind = parts[0] if parts else ""
    if kind in ("schedules", "schedule-groups") and len(parts) > 1:
        kind = kind[:-1]  # /schedules/NAME is one schedule
    return _SCHEDULER_ROUTES.get((method, kind), f"{method} {path}")


class Counters:
    """{service: {operation: {"requests", "faulted", "succeeded", "failed"}}}.
    `succeeded` = moto answered 2xx; `failed` = moto answered an error."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, dict[str, int]]] = {}

    def add(self, service: str, operation: str, outcome: str) -> None:
        with self._lock:
            ops = self._data.setdefault(service, {})
            row = ops.setdefault(operation, {"requests": 0, "faulted": 0, "succeeded": 0, "failed": 0})
            row["requests"] += 1
            row[outcome] += 1

    def snapshot(self) -> dict[str, dict[str, dict[str, int]]]:
        with self._lock:
            return json.loads(json.dumps(self._data))

    def reset(self) -> None:
        with self._lock:
            self._data = {}


class FaultInjector:
    """Decides, per request, whether to answer with a fault instead of moto.
    Deterministic for a given seed and request order (one RNG behind a lock)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._rng = random.Random(settings.seed)
        self._seed = settings.seed

    def reseed(self) -> None:
        with self._lock:
            self._rng = random.Random(self.settings.seed)
            self._seed = self.settings.seed

    def decide(self, service: str, operation: str) -> str | None:
        s = self.settings
        if not s.fault_kinds or service not in s.fault_services:
            return None
        if s.fault_operations is not None and operation not in s.fault_operations:
            return None
        if s.burst_until is not None and time.time() < s.burst_until:
            return s.fault_kinds[0]  # a burst: every matching request, not a sample
        if s.fault_rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= s.fault_rate:
                return None
            return self._rng.choice(list(s.fault_kinds))


def fault_response(kind: str, service: str, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """The error an AWS endpoint sends: JSON for the JSON protocols (ECS, ECR, Logs),
    the query protocol's XML for CloudFormation / ELBv2 / IAM."""
    request_id = str(uuid.uuid4())
    if kind == "expired_token":  # the session's credentials ran out (STS session, SSO): 400, not retried
        message = "The security token included in the request is expired"
        if environ.get("HTTP_X_AMZ_TARGET"):
            body = json.dumps({"__type": "ExpiredTokenException", "message": message}).encode()
            return "400 Bad Request", [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", request_id)], body
        body = (
            '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
            f"<Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        return "400 Bad Request", [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body
    throttle = kind == "throttle"
    status = "400 Bad Request" if throttle else "500 Internal Server Error"
    if environ.get("HTTP_X_AMZ_TARGET"):
        code = "ThrottlingException" if throttle else "ServerException"
        message = "Rate exceeded" if throttle else "Service Unavailable. Please try again later."
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", request_id)]
        return status, headers, body
    # CloudFormation says "Throttling" (botocore treats both spellings as throttling).
    code = "Throttling" if throttle else "InternalFailure"
    kind_tag = "Sender" if throttle else "Receiver"
    message = "Rate exceeded" if throttle else "An internal error occurred."
    body = (
        '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
        f"<Error><Type>{kind_tag}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
    return status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body
