"""`deployer run -- CMD...`: a one-off task (a migration, say) from the revision the service runs.

The task gets the service's task definition (the revision it runs now), its network
configuration and launch type (or capacity provider strategy), and the command of the
service's container overridden (no CMD: the definition's own). deployer waits until the task
STOPPED (bounded by --timeout), prints its CloudWatch log lines as they arrive, and exits
with the container's exit code (1 when the task stopped without one: it never started).
"""

from __future__ import annotations

import shlex
import sys
import time
import uuid

from ..aws import monitoring
from ..core.console import quote_untrusted, untrusted_line
from ..aws.ecs import short_name
from ..core.errors import BadInput, DeploymentFailed, ExternalError, Interrupted

STARTED_BY = "deployer-run"
FIRST_INTERVAL = 1.0  # seconds between DescribeTasks polls, stretched up to MAX_INTERVAL
MAX_INTERVAL = 5.0
STRETCH = 1.5
LOG_GRACE = 5.0  # after STOPPED: how long to wait for log lines CloudWatch has not shown yet
MAX_RESULT_LINES = 5000  # the result (JSON) keeps the last lines; all are printed


def run_task(run, *, command: list[str], service: str | None = None) -> dict:
    cluster = run.environment.cluster
    # `run` uses the revision the service runs, so the service must exist.
    svc, live = run.live_services([service or run.config.service.name], must_exist=True)[0]
    revision = run.ecs.revision(live["taskDefinition"])
    td = revision.definition
    container = revision.container(svc.container)
    if container is None:
        names = ", ".join(c.get("name", "?") for c in td.get("containerDefinitions", []))
        raise BadInput(f"service.container: {short_name(revision.arn)} has no container `{svc.container}` (it has: {names})")
    unmasked = _learn_secrets(run, container)

    params = _run_task_params(run, cluster, svc, live, revision.arn, td, command)
    shown = shlex.join(command) if command else f"its own command ({shlex.join(container.get('command') or []) or 'the image default'})"
    run.console.step(f"{svc.name}: running {shown} in a one-off task of {short_name(revision.arn)} (cluster {cluster})")
    started = time.monotonic()
    task = _start(run, params)
    task_arn = task["taskArn"]
    task_id = task_arn.rsplit("/", 1)[-1]
    run.console.info(f"task {task_id} started; waiting until it stops (timeout {run.timeout}s)")

    follower = _LogFollower(run, container, task_id, echo=run.options.output != "json")
    result = {
        "task_arn": task_arn,
        "task_definition": revision.arn,
        "cluster": cluster,
        "service": svc.name,
        "container": svc.container,
        "command": list(command) or None,
        "exit_code": None,
        "stopped_reason": None,
        "logs": follower.lines,
        "duration_s": None,
        "unmasked_secrets": [u.as_dict() for u in unmasked],
    }
    try:
        task = _wait(run, cluster, task, follower, started, result)
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted while waiting for task {task_id}: the task goes on in ECS",
            hint=f"stop it with `{_stop_command(run, cluster, task_id)}`",
        ) from None
    follower.drain(started_at=task.get("startedAt"))

    main = next((c for c in task.get("containers", []) if c.get("name") == svc.container), {})
    exit_code = main.get("exitCode")
    reason = task.get("stoppedReason") or "no reason given"
    result.update(stopped_reason=task.get("stoppedReason"), duration_s=round(time.monotonic() - started, 1))
    if exit_code is None:
        detail = f" ({main['reason']})" if main.get("reason") and main.get("reason") != reason else ""
        run.console.error(f"task {task_id} stopped without an exit code from `{svc.container}`: {run.console.quote(reason)}{run.console.quote(detail)}")
        exit_code = 1
    elif exit_code != 0:
        run.console.error(f"task {task_id}: `{svc.container}` exited with code {exit_code} ({run.console.quote(reason)})")
    else:
        run.console.ok(f"task {task_id}: `{svc.container}` exited with code 0 after {result['duration_s']}s")
    result["exit_code"] = int(exit_code)
    if len(follower.lines) > MAX_RESULT_LINES:
        result["logs"] = follower.lines[-MAX_RESULT_LINES:]
        result["logs_truncated"] = True
    return result


def text(run, result: dict) -> str | None:
    return None  # the log lines went to stdout as they arrived; the verdict to stderr


# ---------------------------------------------------------------------------------------


def _run_task_params(run, cluster: str, svc, live: dict, td_arn: str, td: dict, command: list[str]) -> dict:
    params: dict = {
        "cluster": cluster,
        "taskDefinition": td_arn,
        "count": 1,
        "startedBy": STARTED_BY,
        "group": f"{STARTED_BY}:{svc.name}",
        # One token for every attempt of this call: a retry after a lost answer starts no second task.
        "clientToken": uuid.uuid4().hex,
    }
    if live.get("capacityProviderStrategy"):
        params["capacityProviderStrategy"] = live["capacityProviderStrategy"]
    else:
        params["launchType"] = live.get("launchType") or "FARGATE"
        if params["launchType"] == "FARGATE" and live.get("platformVersion"):
            params["platformVersion"] = live["platformVersion"]
    network = live.get("networkConfiguration")
    if not network and td.get("networkMode") == "awsvpc":
        env = run.environment
        network = {"awsvpcConfiguration": {"subnets": list(env.subnets), "securityGroups": list(env.security_groups), "assignPublicIp": "DISABLED"}}
    if network:
        params["networkConfiguration"] = network
    if command:
        params["overrides"] = {"containerOverrides": [{"name": svc.container, "command": list(command)}]}
    return params


def _start(run, params: dict) -> dict:
    response = run.ecs.run_task(params, doing=f"starting a one-off task of {short_name(params['taskDefinition'])}")
    tasks = response.get("tasks") or []
    if not tasks:
        failures = "; ".join(quote_untrusted(f"{f.get('arn', '')} {f.get('reason', '')} {f.get('detail', '')}".strip()) for f in response.get("failures") or [])
        raise ExternalError(f"ECS started no task: {failures or 'no reason given'}")
    return tasks[0]


def _wait(run, cluster: str, task: dict, follower: "_LogFollower", started: float, result: dict) -> dict:
    task_id = task["taskArn"].rsplit("/", 1)[-1]
    deadline = started + run.timeout
    interval = FIRST_INTERVAL
    shown_status = None
    while True:
        status = task.get("lastStatus")
        if status != shown_status:
            run.console.info(f"task {task_id}: {status}")
            shown_status = status
        if status not in ("PROVISIONING", "PENDING", "ACTIVATING"):
            follower.poll()
        if status == "STOPPED":
            return task
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            result.update(exit_code=None, stopped_reason=None, duration_s=round(time.monotonic() - started, 1))
            raise DeploymentFailed(
                f"task {task_id} is still {status} after {run.timeout}s; it goes on in ECS",
                result=dict(result, status="timeout"),
                hint=f"wait longer with --timeout, or stop it with `{_stop_command(run, cluster, task_id)}`",
            )
        time.sleep(min(interval, remaining))
        interval = min(MAX_INTERVAL, interval * STRETCH)
        task = run.ecs.task(cluster, task["taskArn"]) or task


def _stop_command(run, cluster: str, task_id: str) -> str:
    region = ""
    try:
        region = f" --region {run.aws.region}"
    except Exception:  # noqa: BLE001 - the hint stays useful without it
        pass
    return f"aws ecs stop-task --cluster {cluster} --task {task_id} --reason 'stopped by user'{region}"


class _LogFollower:
    """The container's awslogs stream `<prefix>/<container>/<task id>`, read forward as it grows."""

    def __init__(self, run, container: dict, task_id: str, *, echo: bool):
        self.run = run
        self.name = container.get("name")
        log = container.get("logConfiguration") or {}
        options = log.get("options") or {}
        self.group = options.get("awslogs-group") if log.get("logDriver") == "awslogs" else None
        prefix = options.get("awslogs-stream-prefix")
        self.stream = f"{prefix}/{self.name}/{task_id}" if prefix else task_id
        self.region = options.get("awslogs-region")
        self.echo = echo
        self.token: str | None = None
        self.lines: list[str] = []
        self.warned = False
        if self.group is None:
            run.console.warn(f"container `{self.name}` does not log to CloudWatch (awslogs): no log lines to show")

    def poll(self) -> int:
        """Read what is new; print it. Returns how many lines arrived. Never fails the run."""
        if self.group is None:
            return 0
        count = 0
        try:
            while True:
                # (a log group in another region than the cluster's: rare, but ECS allows it)
                events, token = monitoring.log_events(self.run.aws, self.group, self.stream, region=self.region, token=self.token)
                self.token = token or self.token
                for event in events:
                    self._show(event.get("message", ""))
                count += len(events)
                if not events:
                    return count
        except monitoring.NoLogStream:  # the stream appears once the container runs
            return count
        except Exception as exc:  # noqa: BLE001 - the log is shown best effort, it never fails the run
            if not self.warned:
                self.warned = True
                self.run.console.warn(f"could not read the log stream {self.group}/{self.stream}: {self.run.console.quote(exc)}")
            return count

    def drain(self, *, started_at) -> None:
        """After STOPPED: the last lines. CloudWatch may show them a few seconds late."""
        self.poll()
        if self.group is None or self.lines or not started_at:
            return
        deadline = time.monotonic() + LOG_GRACE
        while not self.lines and time.monotonic() < deadline:
            time.sleep(1.0)
            self.poll()

    def _show(self, message: str) -> None:
        line = self.run.secrets.mask(message.rstrip("\n"))
        self.lines.append(line)  # the JSON result: JSON escapes its control characters itself
        if self.echo:
            # The app's words are data: `  app| ` and escaped, so no line of it reads like deployer's.
            sys.stdout.write(untrusted_line("app", line) + "\n")
            sys.stdout.flush()
        else:
            self.run.console.untrusted("app", line, kind="info")


def _learn_secrets(run, container: dict) -> list:
    """Values of the container's `secrets` are masked in the log lines (best effort: needs read access).
    Those the role cannot read are named in one warning, before the first line, and returned."""
    from ..release.secret_values import learn_container_secrets, unmasked_warning

    unread = learn_container_secrets(run, [container])
    warning = unmasked_warning(unread, use="run")
    if warning:
        run.console.warn(warning)
    return unread
