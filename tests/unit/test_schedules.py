"""`schedules:` in deployer.yaml, the schedule plan's comparison, and prune's reading of targets: pure logic."""

from __future__ import annotations

import json

import pytest

from deployer.commands.revisions import _resolve
from deployer.core.errors import BadInput
from deployer.manifest.config import load, schedule_expression_error
from deployer.release.schedules import ScheduleChange, differences


@pytest.mark.parametrize("expression", ["cron(0 3 * * ? *)", "cron(0/15 * ? * MON-FRI *)", "rate(1 hour)", "rate(5 minutes)", "at(2027-01-31T03:00:00)"])
def test_valid_expressions(expression):
    assert schedule_expression_error(expression) is None


@pytest.mark.parametrize("expression, why", [
    ("cron(0 3 * * *)", "six fields"), ("cron(0 3 1 * MON *)", "`?` in day-of-month or day-of-week"),
    ("rate(1 hours)", "write `1 hour`"), ("rate(0 minutes)", "rate(N minutes|hours|days)"), ("at(tomorrow)", "at(yyyy-mm-ddThh:mm:ss)"),
    ("every day", "cron(...), rate(...) or at(...)"),
])
def test_invalid_expressions_say_why(expression, why):
    assert why in schedule_expression_error(expression)


def write(tmp_path, schedules: str) -> str:
    (tmp_path / "td.json.j2").write_text("{}")
    path = tmp_path / "deployer.yaml"
    path.write_text("app: web\nenvironment:\n  stack: s\ntask_definition: td.json.j2\n" + schedules)
    return str(path)


def test_schedules_are_read_with_their_defaults(tmp_path):
    config = load(write(tmp_path, "schedules:\n  report:\n    expression: rate(1 hour)\n    command: python report.py\n    cpu: 512\n    enabled: false\n"))
    [schedule] = config.schedules
    assert (schedule.name, schedule.key, schedule.service, schedule.command, schedule.cpu, schedule.enabled, schedule.line) == \
        ("web-report", "report", "web", ["python report.py"], "512", False, 6)
    assert config.schedules_line == 5 and config.environment.outputs.scheduler_role == "SchedulerRoleArn"


@pytest.mark.parametrize("body, message", [
    ("schedules:\n  report:\n    expression: rate(1 hour)\n    comand: [x]\n", "deployer.yaml:8: `schedules.report.comand` is not a known key; did you mean `schedules.report.command`?"),
    ("schedules:\n  report:\n    expression: cron(0 3 * * *)\n", "deployer.yaml:7: `schedules.report.expression` 'cron(0 3 * * *)': a cron expression has six fields"),
    ("schedules:\n  report:\n    command: [x]\n", "deployer.yaml:6: `schedules.report.expression` is required"),
    ("schedules:\n  report:\n    expression: rate(1 hour)\n    timezone: Mars/Base\n", "deployer.yaml:8: `schedules.report.timezone` 'Mars/Base' is not a time zone name"),
    ("schedules:\n  report:\n    expression: rate(1 hour)\n    service: api\n", "deployer.yaml:8: `schedules.report.service` 'api' is not a service of this file"),
    ("schedules:\n  report: rate(1 hour)\n", "deployer.yaml:6: `schedules.report` must be a mapping"),
    ("schedules:\n  \"a b\":\n    expression: rate(1 hour)\n", "deployer.yaml:6: `schedules.a b` is not a valid schedule name"),
])
def test_bad_schedules_name_the_line(tmp_path, body, message):
    with pytest.raises(BadInput) as caught:
        load(write(tmp_path, body))
    assert message in caught.value.message


def live_and_wanted():
    want = {"ScheduleExpression": "rate(1 hour)", "Description": "managed by deployer: web", "State": "ENABLED", "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {"Arn": "c", "RoleArn": "r", "Input": json.dumps({"containerOverrides": [{"name": "app", "command": ["x"]}]}),
                       "EcsParameters": {"TaskDefinitionArn": "td:2", "TaskCount": 1, "LaunchType": "FARGATE"}}}
    live = json.loads(json.dumps(want))
    live["Target"]["RetryPolicy"] = {"MaximumRetryAttempts": 185}  # AWS's default: not a difference
    live["Target"]["Input"] = json.dumps({"containerOverrides": [{"command": ["x"], "name": "app"}]})  # key order: not a difference
    return live, want


def test_only_what_deployer_sets_counts_as_a_difference():
    live, want = live_and_wanted()
    assert differences(live, want) == []
    live["Target"]["EcsParameters"]["TaskDefinitionArn"] = "td:1"
    live["ScheduleExpression"] = "rate(2 hours)"
    assert differences(live, want) == ["expression", "revision"]


def test_a_change_says_what_it_does():
    moved = ScheduleChange("web-r", "update", "web", "arn:aws:ecs:r:1:task-definition/web:3", "arn:aws:ecs:r:1:task-definition/web:2", "rate(1 hour)", changed=["revision"])
    assert moved.describe() == "schedule web-r: update web:2 → web:3 (revision)"
    assert ScheduleChange("web-r", "delete", None, None, "arn:aws:ecs:r:1:task-definition/web:2").describe() == \
        "schedule web-r: delete (no longer in deployer.yaml; it ran web:2)"


def test_prune_resolves_what_a_target_names():
    active = {"web": ["arn:aws:ecs:r:1:task-definition/web:5", "arn:aws:ecs:r:1:task-definition/web:3"]}
    assert _resolve("arn:aws:ecs:r:1:task-definition/web:3", active) == active["web"][1]
    assert _resolve("web:3", active) == active["web"][1]
    assert _resolve("arn:aws:ecs:r:1:task-definition/web", active) == active["web"][0]  # no revision: the newest ACTIVE
    assert _resolve("web:4", active) is None and _resolve("api:1", active) is None
