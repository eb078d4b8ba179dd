"""LocalAws: moto's threaded HTTP server + the rollout ticker + a WSGI middleware for
counters, fault injection and the /_localaws/ control endpoint."""
from __future__ import annotations

import io
import json
import logging
import socket
import threading
import time
import traceback
from datetime import datetime
from typing import Any, Iterable

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

from . import cfn_patch, deployment_settings, ecs_patch
from .faults import Counters, FaultInjector, classify, fault_response
from .iam import PolicySimulator
from .rollout import Engine
from .service_deployments import OPERATIONS as SERVICE_DEPLOYMENT_OPERATIONS
from .settings import Settings

log = logging.getLogger("localaws")
CONTROL_PREFIX = "/_localaws"
DEFAULT_REGION = "us-east-1"
ACCOUNT_ID = "123456789012"


class LocalAws:
    """The emulator. `LocalAws(tick=0.1).start()`; `.endpoint`; `.stop()`; or `with`."""

    def __init__(self, tick: float = 0.5, port: int = 0, host: str = "127.0.0.1", **settings: Any):
        self.settings = Settings()
        self.settings.update(dict(settings, tick=tick))
        self.host, self.port = host, port
        # moto isn't thread-safe and the ticker mutates what requests read: one lock
        # serialises every moto request against every tick.
        self.lock = threading.RLock()
        self.engine = Engine(self.settings)
        self.counters = Counters()
        self.faults = FaultInjector(self.settings)
        self.iam = PolicySimulator()  # iam.py: actions recorded, refused when a policy is set
        self.stale_reads = StaleReads(self.settings)
        self._server: _Server | None = None
        self._clients: dict[str, Any] = {}
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # ---- lifecycle -----------------------------------------------------------------
    def start(self) -> "LocalAws":
        if ecs_patch.ENGINE is not None:
            raise RuntimeError("a LocalAws is already running in this process (moto's backends are global)")
        _cache_moto_modules()
        ecs_patch.install()
        deployment_settings.install()  # after ecs_patch: it wraps ecs_patch's handlers
        cfn_patch.install()
        ecs_patch.ENGINE = self.engine
        self._server = _Server(self, self.host, self.port)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]
        self._stop.clear()
        self._ticker = threading.Thread(target=self._tick_loop, name="localaws-ticker", daemon=True)
        self._ticker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._ticker:
            self._ticker.join(timeout=5)
        if self._server:
            self._server.stop()
            self._server = None
        if ecs_patch.ENGINE is self.engine:
            ecs_patch.ENGINE = None

    def __enter__(self) -> "LocalAws":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment for a subprocess (the deployer CLI) to talk to this emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": DEFAULT_REGION,
            "AWS_REGION": DEFAULT_REGION,
        }

    def client(self, service: str, **kwargs: Any):
        """A boto3 client of this local AWS. Without kwargs, one per service for the server's life (making
        one costs ~25 ms of CPU, and the tests ask for thousands); with kwargs (a config, say), a new one."""
        if not kwargs and service in self._clients:
            return self._clients[service]
        import boto3

        client = boto3.client(service, endpoint_url=self.endpoint, region_name=DEFAULT_REGION,
                              aws_access_key_id="testing", aws_secret_access_key="testing", **kwargs)
        if not kwargs:
            self._clients[service] = client
        return client

    # ---- control (same operations as the HTTP control endpoint) ----------------------
    def configure(self, **values: Any) -> dict[str, Any]:
        with self.lock:
            reseed = "seed" in values
            self.settings.update(values)
            if reseed:
                self.faults.reseed()
            return self.settings.as_dict()

    def mark_broken(self, match: str, reason: str | None = None, *, after_running: float | None = None,
                    stop: str = "crash", placement: str | None = None, after_completed: bool = False,
                    count: int | None = None, stuck: bool = False) -> None:
        """Tasks of task definitions matching `match` (glob over "family:rev", ARN, image) fail: before
        they run; or after_running seconds after (stop: an essential container exits, "crash", or ELB
        health checks fail, "health_check"); or, with placement (ECS's reason), are never placed."""
        entry = {"match": match, "reason": reason, "after_running": after_running, "stop": stop, "placement": placement,
                 "after_completed": after_completed, "count": count, "stuck": stuck}
        with self.lock:
            self.settings.update({"broken": self.settings.broken + [entry]})

    def burst(self, seconds: float, kind: str = "throttle", services: list[str] | None = None,
              operations: list[str] | None = None) -> None:
        """From now on, for `seconds`, every matching request fails with `kind` (a throttling burst,
        an outage): what a watch that must not lose its verdict meets."""
        self.configure(burst_until=time.time() + seconds, fault_kinds=[kind],
                       fault_services=services or ["ecs"], fault_operations=operations)

    def clear_broken(self) -> None:
        self.configure(broken=[])

    def get_counters(self, reset: bool = False) -> dict[str, Any]:
        snapshot = self.counters.snapshot()
        if reset:
            self.counters.reset()
        return snapshot

    def reset_counters(self) -> None:
        self.counters.reset()

    def deployment(self, deployment_id: str) -> dict[str, Any] | None:
        """History record: createdAt / completedAt / failedAt as epoch seconds."""
        with self.lock:
            record = self.engine.history.get(deployment_id)
            return dict(record) if record else None

    def state(self) -> dict[str, Any]:
        with self.lock:
            services = []
            for backend, svc in self.engine.services.values():
                services.append({
                    "cluster": svc.cluster_name, "service": svc.name, "arn": svc.arn,
                    "region": backend.region_name, "taskDefinition": svc.task_definition,
                    "desiredCount": svc.desired_count, "runningCount": svc.running_count,
                    "pendingCount": svc.pending_count,
                    "deployments": [_jsonable(d) for d in svc.deployments],
                    "events": [_jsonable(e) for e in svc.events[:10]],
                })
            return {
                "endpoint": self.endpoint,
                "settings": self.settings.as_dict(),
                "services": services,
                "deployments": [dict(r) for r in self.engine.history.values()],
                # The Service Deployments API's records (service_deployments.py).
                "service_deployments": _jsonable(list(self.engine.service_deployments.records.values())),
                # One-off tasks (RunTask): their command, network configuration, exit code.
                "tasks": _jsonable(self.engine.oneoffs.describe()),
            }

    def reset(self) -> None:
        """Forget every AWS resource (moto reset) and the engine's bookkeeping."""
        from moto.moto_api._internal.models import moto_api_backend

        with self.lock:
            moto_api_backend.reset()
            self.engine.services.clear()
            self.engine.tasks.clear()
            self.engine.history.clear()
            self.engine.service_deployments.clear()
            self.engine.baked_from.clear()
            self.engine.strategies.clear()
            self.stale_reads.clear()
            self.engine.oneoffs.clear()  # one-off tasks (oneoff.py)
            self.iam.policy = None  # iam.py: no policy enforced, nothing recorded
            self.iam.untrusted_roles.clear()
            self.iam.clear()

    # ---- internals --------------------------------------------------------------------
    def _tick_loop(self) -> None:
        while not self._stop.wait(max(0.01, float(self.settings.tick))):
            try:
                with self.lock:
                    self.engine.tick()
            except Exception:  # keep ticking; a bug in one tick must not freeze rollouts
                log.error("localaws tick failed:\n%s", traceback.format_exc())


def _cache_moto_modules() -> None:
    """moto's dispatcher lists its own package directory (a listdir and ~150 isdir) for every request
    to find the backend; the list does not change while the process runs."""
    from moto import backends

    if not getattr(backends.list_of_moto_modules, "localaws_cached", False):
        modules = tuple(backends.list_of_moto_modules())

        def list_of_moto_modules():
            return iter(modules)

        list_of_moto_modules.localaws_cached = True
        backends.list_of_moto_modules = list_of_moto_modules


class _Server(ThreadedMotoServer):
    """ThreadedMotoServer whose WSGI app is wrapped by the localaws middleware."""

    def __init__(self, aws: LocalAws, host: str, port: int) -> None:
        super().__init__(ip_address=host, port=port, verbose=False)
        self.aws = aws

    def _server_entry(self) -> None:
        app = Middleware(DomainDispatcherApplication(create_backend_app), self.aws)
        self._server = make_server(self._ip_address, self._port, app, True,
                                   request_handler=_QuietHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request (a rollout poll is many requests)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class Middleware:
    def __init__(self, moto_app: Any, aws: LocalAws) -> None:
        self.moto_app = moto_app
        self.aws = aws

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(CONTROL_PREFIX):
            return control(self.aws, environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        service, operation = classify(environ, body)
        denied = self.aws.iam.check(service, operation, environ, body)
        if denied is not None:
            self.aws.counters.add(service, operation, "failed")
            start_response(denied[0], denied[1] + [("Content-Length", str(len(denied[2])))])
            return [denied[2]]
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("AwsProton"):
            # AWS Proton reached end of support on 2026-10-07: its API answers no more.
            self.aws.counters.add("proton", operation, "failed")
            payload = json.dumps({"__type": "UnknownOperationException", "message": "AWS Proton has reached end of support"}).encode()
            start_response("404 Not Found", [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(payload)))])
            return [payload]

        api = self.aws.settings.service_deployments_api
        if service == "ecs" and operation in SERVICE_DEPLOYMENT_OPERATIONS and api != "on":
            self.aws.counters.add(service, operation, "failed")
            return _error(start_response, *_API_OFF[api], operation)

        delay = (self.aws.settings.slow_operations or {}).get(operation)
        if delay:
            time.sleep(float(delay))
            if _client_gone(environ):
                self.aws.counters.add(service, operation, "failed")
                return []

        kind = self.aws.faults.decide(service, operation)
        if kind is not None:
            self.aws.counters.add(service, operation, "faulted")
            if kind in ("drop", "lost"):
                if kind == "lost":
                    with self.aws.lock:  # the request takes effect; only its answer is lost
                        result = self.moto_app(environ, lambda *args, **kwargs: None)
                        list(result)
                        if hasattr(result, "close"):
                            result.close()
                # Headers "sent" into a socket we already shut: the client sees the
                # connection close without a response; werkzeug swallows the EPIPE.
                start_response("500 Internal Server Error", [("Content-Length", "0")])
                sock = environ.get("werkzeug.socket")
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return []
            status, headers, payload = fault_response(kind, service, environ)
            start_response(status, headers + [("Content-Length", str(len(payload)))])
            return [payload]

        seen: dict[str, Any] = {}

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            seen["status"], seen["headers"] = status, list(headers)
            return lambda data: None  # the body is returned, not written

        with self.aws.lock:
            try:
                result = self.moto_app(environ, recording_start_response)
            except Exception:  # an operation moto lacks: the server answers 500 with an HTML page
                self.aws.counters.add(service, operation, "failed")
                raise
            try:
                chunks = list(result)  # serialise inside the lock: the ticker mutates state
            finally:
                if hasattr(result, "close"):
                    result.close()
        ok = seen.get("status", "500")[:1] in ("2", "3")
        self.aws.counters.add(service, operation, "succeeded" if ok else "failed")
        headers = seen.get("headers", [])
        if ok and service == "ecs" and operation in ("UpdateService", "DescribeServices"):
            body = self.aws.stale_reads.answer(operation, b"".join(chunks))
            chunks = [body]
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"] + [("Content-Length", str(len(body)))]
        start_response(seen.get("status", "500 Internal Server Error"), headers)
        return chunks


class StaleReads:
    """ECS is eventually consistent: after an UpdateService that starts a deployment,
    DescribeServices may go on answering the service as it was (the old PRIMARY, no new
    deployment) for a while. Here: the last answer served before the update, for
    `stale_read_seconds` and/or `stale_read_polls` answers."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.last: dict[str, dict[str, Any]] = {}  # service ARN -> last DescribeServices entry served
        self.windows: dict[str, list[float]] = {}  # service ARN -> [until (epoch), answers left]

    def clear(self) -> None:
        self.last.clear()
        self.windows.clear()

    def answer(self, operation: str, body: bytes) -> bytes:
        data = json.loads(body or b"{}")
        if operation == "UpdateService":
            service = data.get("service") or {}
            seconds, polls = float(self.settings.stale_read_seconds or 0), int(self.settings.stale_read_polls or 0)
            before = self.last.get(service.get("serviceArn", ""))
            if (seconds > 0 or polls > 0) and before and _primary_id(before) != _primary_id(service):
                self.windows[service["serviceArn"]] = [time.time() + seconds, polls]
            return body
        services = data.get("services") or []
        for i, service in enumerate(services):
            arn = service.get("serviceArn", "")
            window = self.windows.get(arn)
            if window and (time.time() < window[0] or window[1] > 0):
                window[1] -= 1
                services[i] = self.last[arn]
            else:
                self.windows.pop(arn, None)
                self.last[arn] = service
        return json.dumps(data).encode()


def _client_gone(environ: dict[str, Any]) -> bool:
    """The client closed its connection (a peek reads end-of-file)."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return False
    try:
        sock.setblocking(False)
        try:
            return sock.recv(1, socket.MSG_PEEK) == b""
        finally:
            sock.setblocking(True)
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True


def _primary_id(service: dict[str, Any]) -> str | None:
    return next((d.get("id") for d in service.get("deployments") or [] if d.get("status") == "PRIMARY"), None)


# What a Service Deployments API call answers when the API is switched off.
_API_OFF = {
    "denied": ("400 Bad Request", "AccessDeniedException",
               "User: arn:aws:sts::123456789012:assumed-role/release/deployer is not authorized to perform: ecs:{op}"),
    "unknown": ("400 Bad Request", "UnknownOperationException", "Unknown operation {op}"),
}


def _error(start_response: Any, status: str, code: str, message: str, operation: str) -> list[bytes]:
    payload = json.dumps({"__type": code, "message": message.format(op=operation)}).encode()
    start_response(status, [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(payload)))])
    return [payload]


def control(aws: LocalAws, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """GET  /_localaws/state | /_localaws/config | /_localaws/counters | /_localaws/health
    POST /_localaws/config {settings...}   POST /_localaws/counters (returns, then resets)
    POST /_localaws/broken {"match", "reason"}   DELETE /_localaws/broken
    POST /_localaws/reset (forget all AWS resources)"""
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "")[len(CONTROL_PREFIX):].strip("/")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        payload = json.loads(raw) if raw.strip() else {}
        if path == "health":
            result: Any = {"ok": True}
        elif path == "state" and method == "GET":
            result = aws.state()
        elif path == "config" and method == "GET":
            result = aws.settings.as_dict()
        elif path == "config" and method == "POST":
            result = aws.configure(**payload)
        elif path == "counters" and method == "GET":
            result = aws.get_counters()
        elif path == "counters" and method in ("POST", "DELETE"):
            result = aws.get_counters(reset=True)
        elif path == "broken" and method == "POST":
            aws.mark_broken(payload["match"], payload.get("reason"), after_running=payload.get("after_running"),
                            stop=payload.get("stop") or "crash", placement=payload.get("placement"),
                            after_completed=bool(payload.get("after_completed")), count=payload.get("count"),
                            stuck=bool(payload.get("stuck")))
            result = aws.settings.broken
        elif path == "broken" and method == "DELETE":
            aws.clear_broken()
            result = []
        elif path.startswith("deployments/") and method == "GET":
            result = aws.deployment(path[len("deployments/"):])
            if result is None:
                return _json(start_response, "404 Not Found", {"error": "no such deployment"})
        elif path == "reset" and method == "POST":
            aws.reset()
            result = {"ok": True}
        else:
            return _json(start_response, "404 Not Found", {"error": f"no control route {method} /{path}"})
    except (ValueError, KeyError, TypeError) as exc:
        return _json(start_response, "400 Bad Request", {"error": str(exc)})
    return _json(start_response, "200 OK", result)


def _json(start_response: Any, status: str, body: Any) -> list[bytes]:
    data = json.dumps(body, default=str).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
