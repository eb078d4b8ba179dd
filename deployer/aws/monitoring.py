"""CloudWatch: alarms and log streams, read only."""

from __future__ import annotations

from ..core.errors import ExternalError
from .session import error_code, translate_errors


class NoLogStream(ExternalError):
    """The log stream is not there (yet: it appears once the container runs)."""


def alarms(aws, names: list[str]) -> list[dict]:
    """DescribeAlarms of the named metric alarms (MetricAlarms: AlarmName, StateValue, StateReason...)."""
    with translate_errors("reading the deployment alarms"):
        return aws.client("cloudwatch").describe_alarms(AlarmNames=names).get("MetricAlarms", [])


def log_events(aws, group: str, stream: str, *, region: str | None = None, limit: int | None = None,
               from_head: bool = True, token: str | None = None) -> tuple[list[dict], str | None]:
    """A page of the stream's events and the token of the next one (GetLogEvents). NoLogStream when the
    stream (or its group) does not exist; other refusals are ExternalError."""
    kwargs = {"logGroupName": group, "logStreamName": stream, "startFromHead": from_head}
    if limit is not None:
        kwargs["limit"] = limit
    if token:
        kwargs["nextToken"] = token
    page = _logs(aws, region, f"reading the log stream {group}/{stream}", lambda logs: logs.get_log_events(**kwargs))
    return page.get("events") or [], page.get("nextForwardToken")


def filter_log_events(aws, group: str, streams: list[str], *, start_ms: int | None = None, region: str | None = None,
                      token: str | None = None) -> tuple[list[dict], str | None]:
    """A page of FilterLogEvents over the named streams of one group (at most 100 streams a call),
    oldest first, and the token of the next page (None: no more for now). A missing group is
    NoLogStream; other refusals are ExternalError. Each event: logStreamName, timestamp, message."""
    kwargs: dict = {"logGroupName": group, "logStreamNames": list(streams)[:100]}
    if start_ms is not None:
        kwargs["startTime"] = int(start_ms)
    if token:
        kwargs["nextToken"] = token
    page = _logs(aws, region, f"reading the log group {group}", lambda logs: logs.filter_log_events(**kwargs))
    return page.get("events") or [], page.get("nextToken")


def _logs(aws, region: str | None, doing: str, call):
    """One CloudWatch Logs call in `region`: a missing stream or group is NoLogStream, other refusals ExternalError."""
    try:
        with translate_errors(doing):
            return call(aws.client("logs", region=region))
    except ExternalError as exc:
        if error_code(exc.__cause__) == "ResourceNotFoundException":
            raise NoLogStream(exc.message) from exc.__cause__
        raise
