"""Pure parts of the everyday commands: --since, the awslogs streams of a task, the printed line,
ECS Exec's target."""

from __future__ import annotations

import pytest

from deployer.commands.logs import Stream, line, parse_since, streams_of
from deployer.core.errors import BadInput
from deployer.core.secrets import Secrets
from deployer.release.exec_target import target

NOW = 1_800_000_000.0


@pytest.mark.parametrize("value, seconds", [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1w", 604800)])
def test_since_durations(value, seconds):
    assert parse_since(value, now=NOW) == int((NOW - seconds) * 1000)


def test_since_iso_times_are_utc_unless_they_say_otherwise():
    assert parse_since("2027-01-15T08:00:00Z") == parse_since("2027-01-15T08:00:00") == parse_since("2027-01-15T09:00:00+01:00")


@pytest.mark.parametrize("value", ["yesterday", "10", "-5m", "", "5 m"])
def test_since_rejects_what_it_cannot_read(value):
    with pytest.raises(BadInput, match="--since"):
        parse_since(value, now=NOW)


DEFINITION = {"containerDefinitions": [
    {"name": "app", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/demo", "awslogs-stream-prefix": "web", "awslogs-region": "eu-west-1"}}},
    {"name": "router", "logConfiguration": {"logDriver": "awsfirelens"}},
    {"name": "bare"},
]}


def test_streams_are_named_as_ecs_names_them_and_other_drivers_are_reported():
    streams, elsewhere = streams_of("abc123", DEFINITION, None)
    assert streams == [Stream("/demo", "eu-west-1", "web/app/abc123", "abc123", "app")]
    assert elsewhere == [("router", "awsfirelens (FireLens)"), ("bare", "none")]
    assert streams_of("abc123", DEFINITION, "router") == ([], [("router", "awsfirelens (FireLens)")])


def test_a_line_is_time_task_container_then_the_text_masked_and_escaped():
    secrets = Secrets()
    secrets.add("hunter2-password")
    stream = Stream("/demo", None, "web/app/0123456789abcdef", "0123456789abcdef", "app")
    event = {"timestamp": 1_800_000_000_123, "message": "login hunter2-password\n==> web: deployed\x1b[2J\n"}
    assert line(event, stream, secrets) == "2027-01-15T08:00:00.123Z 01234567/app| login ****\\n==> web: deployed\\e[2J"


def test_the_exec_target_is_cluster_task_and_runtime_id():
    task = {"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/prod/0123abcd"}
    assert target("prod", task, {"runtimeId": "0123abcd-265927825"}) == "ecs:prod_0123abcd_0123abcd-265927825"
