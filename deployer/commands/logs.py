"""`deployer logs`: the service's container logs from CloudWatch Logs, interleaved by time.

The streams are those the awslogs driver writes, `<awslogs-stream-prefix>/<container>/<task id>`
in each container's `awslogs-group`, for the service's tasks that ECS lists (running, and stopped
in about the last hour; `--task ID` names any task, even one ECS forgot). One FilterLogEvents call
per log group and page; each line is `<time> <task>/<container>| <text>`, the text masked (the
values of the task definition's `secrets` are learnt first; one the role cannot read is named in a
warning on stderr before the first line, and in the JSON result's `unmasked_secrets`) and escaped. `--follow` polls every
two seconds, picks up new tasks, and ends on Ctrl-C with exit 0 (following is ended that way; it
is not a failure).
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from ..aws import monitoring
from ..aws.ecs import short_name
from ..core.console import quote_untrusted
from ..core.errors import BadInput

FOLLOW_INTERVAL = 2.0
TASKS_EVERY = 5  # --follow: the service's tasks are listed again every this many polls
MAX_RESULT_EVENTS = 10000
_SINCE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(value: str, now: float | None = None) -> int:
    """`10m`, `2h`, `1d`, `30s`, `1w`, or an ISO 8601 time: the epoch milliseconds to start from."""
    now = time.time() if now is None else now
    text = (value or "").strip()
    match = _SINCE.match(text)
    if match:
        return int((now - int(match.group(1)) * _UNITS[match.group(2)]) * 1000)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"--since {value[:50]!r}: not a duration (like 10m, 2h, 1d) or an ISO 8601 time (like 2026-05-01T12:00:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class Stream:
    group: str
    region: str | None
    name: str
    task_id: str
    container: str


def streams_of(task_id: str, definition: dict, container: str | None) -> tuple[list[Stream], list[tuple[str, str]]]:
    """The awslogs streams of one task's containers, and (container, driver) of those that log elsewhere."""
    streams, elsewhere = [], []
    for c in definition.get("containerDefinitions") or []:
        name = c.get("name")
        if container and name != container:
            continue
        log = c.get("logConfiguration") or {}
        options = log.get("options") or {}
        if log.get("logDriver") != "awslogs" or not options.get("awslogs-group"):
            driver = log.get("logDriver") or "none"
            if driver == "awsfirelens":
                driver = "awsfirelens (FireLens)"
            elsewhere.append((name, driver))
            continue
        prefix = options.get("awslogs-stream-prefix")
        stream = f"{prefix}/{name}/{task_id}" if prefix else task_id
        streams.append(Stream(options["awslogs-group"], options.get("awslogs-region"), stream, task_id, name))
    return streams, elsewhere


def line(event: dict, stream: Stream, secrets) -> str:
    stamp = datetime.fromtimestamp(event.get("timestamp", 0) / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    text = secrets.mask(str(event.get("message", "")).rstrip("\n"))
    return f"{stamp} {stream.task_id[:8]}/{stream.container}| {quote_untrusted(text)}"


class _Reader:
    def __init__(self, run, *, service: str | None, task: str | None, container: str | None):
        self.run = run
        self.cluster = run.environment.cluster
        self.svc, self.live = run.live_services([service or run.config.service.name], must_exist=True)[0]
        self.task = task
        self.container = container
        self.definitions: dict[str, dict] = {}
        self.streams: dict[tuple, Stream] = {}
        self.warned: set = set()
        self.unmasked: dict = {}  # valueFrom → Unread: the secrets whose values could not be read (not masked)
        self.unmasked_told: set = set()

    def _definition(self, arn: str) -> dict:
        if arn not in self.definitions:
            revision = self.run.ecs.revision(arn)
            self.definitions[arn] = revision.definition
            from ..release.secret_values import learn_container_secrets

            for unread in learn_container_secrets(self.run, revision.definition.get("containerDefinitions")):
                self.unmasked.setdefault(unread.value_from, unread)
        return self.definitions[arn]

    def tell_unmasked(self) -> None:
        """One warning (stderr) before the lines it concerns: the secrets that could not be read are not masked."""
        from ..release.secret_values import unmasked_warning

        new = [u for ref, u in self.unmasked.items() if ref not in self.unmasked_told]
        self.unmasked_told.update(u.value_from for u in new)
        warning = unmasked_warning(new, use="operate")
        if warning:
            self.run.console.warn(warning)

    def refresh(self, *, first: bool = False) -> None:
        """The streams of the service's tasks (or the one --task)."""
        tasks = self.run.ecs.service_tasks(self.cluster, self.svc.name)
        chosen = [(t["taskArn"].rsplit("/", 1)[-1], t.get("taskDefinitionArn")) for t in tasks]
        if self.task:
            wanted = self.task.rsplit("/", 1)[-1]
            chosen = [(i, arn) for i, arn in chosen if i == wanted or (len(wanted) >= 6 and i.startswith(wanted))]
            if not chosen:  # a task ECS no longer lists: its stream is still named after it
                if not re.fullmatch(r"[0-9a-f]{32}", wanted):
                    raise BadInput(f"--task {self.task}: no task of {self.svc.name} with this id (see `deployer tasks`)")
                chosen = [(wanted, self.live.get("taskDefinition"))]
        if first and self.container:
            names = [c.get("name") for c in self._definition(self.live["taskDefinition"]).get("containerDefinitions") or []]
            if self.container not in names:
                raise BadInput(f"--container {self.container}: {short_name(self.live['taskDefinition'])} has no such container (it has: {', '.join(names)})")
        elsewhere_all = []
        for task_id, arn in chosen:
            found, elsewhere = streams_of(task_id, self._definition(arn or self.live["taskDefinition"]), self.container)
            for s in found:
                self.streams[(s.group, s.region, s.name)] = s
            elsewhere_all += [(name, driver) for name, driver in elsewhere if (name, driver) not in elsewhere_all]
        if first:
            if not chosen:
                self.run.console.info(f"{self.svc.name}: no running or recently stopped task")
            if not self.streams and chosen:
                shown = ", ".join(f"`{n}` ({d})" for n, d in elsewhere_all)
                raise BadInput(f"{self.svc.name}: no container logs to CloudWatch Logs: {shown} use another log driver than awslogs",
                               hint="deployer reads the awslogs driver's streams; read these logs where their driver sends them, "
                                    "or give the container a logConfiguration with logDriver awslogs in the task definition")
        for name, driver in elsewhere_all:
            if name not in self.warned:
                self.warned.add(name)
                self.run.console.warn(f"container `{name}` logs with {driver}, not to CloudWatch Logs (awslogs): its lines are not shown")
        self.tell_unmasked()

    def read(self, start_ms: int) -> list[tuple[dict, Stream]]:
        """Every event since start_ms in every stream, oldest first."""
        by_group: dict[tuple, list[Stream]] = {}
        for s in self.streams.values():
            by_group.setdefault((s.group, s.region), []).append(s)
        found: list[tuple[dict, Stream]] = []
        for (group, region), streams in by_group.items():
            index = {s.name: s for s in streams}
            names = sorted(index)
            for start in range(0, len(names), 100):
                token = None
                while True:
                    try:
                        events, token = monitoring.filter_log_events(self.run.aws, group, names[start:start + 100], start_ms=start_ms,
                                                                     region=region, token=token)
                    except monitoring.NoLogStream:
                        events, token = [], None
                    found += [(e, index[e["logStreamName"]]) for e in events if e.get("logStreamName") in index]
                    if not token:
                        break
        found.sort(key=lambda pair: (pair[0].get("timestamp", 0), pair[0].get("ingestionTime", 0), pair[1].name, pair[0].get("eventId", "")))
        return found


def logs(run, *, since: str = "10m", follow: bool = False, task: str | None = None, container: str | None = None, service: str | None = None) -> dict:
    start_ms = parse_since(since)
    reader = _Reader(run, service=service, task=task, container=container)
    reader.refresh(first=True)
    as_json = run.options.output == "json"
    result: dict = {"service": reader.svc.name, "cluster": reader.cluster, "since": start_ms, "events": []}
    seen: set = set()
    count = 0

    def show(pairs) -> None:
        nonlocal count
        for event, stream in pairs:
            key = (stream.group, stream.name, event.get("eventId") or (event.get("timestamp"), event.get("message")))
            if key in seen:
                continue
            seen.add(key)
            count += 1
            data = {"timestamp": datetime.fromtimestamp(event.get("timestamp", 0) / 1000, timezone.utc).isoformat().replace("+00:00", "Z"),
                    "task": stream.task_id, "container": stream.container, "log_group": stream.group, "log_stream": stream.name,
                    "message": run.secrets.mask(str(event.get("message", "")).rstrip("\n"))}
            if as_json and not follow:
                if len(result["events"]) < MAX_RESULT_EVENTS:
                    result["events"].append(data)
                else:
                    result["truncated"] = True
                continue
            sys.stdout.write((run.secrets.dumps(data) if as_json else line(event, stream, run.secrets)) + "\n")
        sys.stdout.flush()

    def unmasked() -> list[dict]:
        return [u.as_dict() for u in reader.unmasked.values()]

    pairs = reader.read(start_ms)
    show(pairs)
    if not follow:
        result["count"] = count
        result["unmasked_secrets"] = unmasked()
        return result if as_json else {}
    last = max((e.get("timestamp", 0) for e, _ in pairs), default=start_ms)
    polls = 0
    try:
        while True:
            time.sleep(FOLLOW_INTERVAL)
            polls += 1
            if polls % TASKS_EVERY == 0 and not task:
                reader.refresh()
            pairs = reader.read(last)  # from the last timestamp shown: events seen already are skipped
            show(pairs)
            last = max([last] + [e.get("timestamp", 0) for e, _ in pairs])
            if len(seen) > 100000:
                seen.clear()
    except KeyboardInterrupt:
        # Ctrl-C is how --follow ends: exit 0, nothing more printed.
        pass
    return {"status": "stopped", "count": count, "unmasked_secrets": unmasked()} if as_json else {}


def text(run, result: dict) -> str | None:
    return None  # the lines went to stdout as they were read

