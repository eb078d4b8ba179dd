"""The verdicts deployer gives by itself (issue 20): ECS's failure threshold without a circuit breaker,
placement events, a deleted service; and an HTML error page summed up in one line."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from deployer.aws.session import short_message
from deployer.release.rollout import Target, failure_threshold, gone, placement_event, too_many_failed

TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("desired,threshold", [(0, 3), (1, 3), (2, 3), (6, 3), (7, 4), (10, 5), (21, 11), (400, 200), (1000, 200)])
def test_the_threshold_is_ecs_half_the_desired_count_at_least_3_at_most_200(desired, threshold):
    assert failure_threshold(desired) == threshold


def service(failed: int, *, breaker: bool = False, desired: int = 2, state: str = "IN_PROGRESS", running: int = 1) -> dict:
    return {
        "status": "ACTIVE", "desiredCount": desired, "taskDefinition": TD,
        "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": breaker, "rollback": breaker}},
        "deployments": [{"id": "ecs-svc/2", "status": "PRIMARY", "taskDefinition": TD, "desiredCount": desired,
                         "runningCount": running, "failedTasks": failed, "rolloutState": state, "createdAt": NOW}],
        "events": [],
    }


TARGET = Target("web", "ecs-svc/2", TD)


def test_failed_tasks_under_the_threshold_are_no_verdict():
    assert too_many_failed(service(2), TARGET) is None


def test_failed_tasks_at_the_threshold_without_a_breaker_are_failed():
    verdict = too_many_failed(service(3), TARGET)
    assert verdict is not None and not verdict.ok and verdict.state == "FAILED" and verdict.cause == "failed_tasks"
    assert verdict.failed_tasks == 3
    assert "3 tasks of web:2 failed, 1/2 running" in verdict.reason and "(3: half the desired count, at least 3, at most 200)" in verdict.reason


def test_with_a_circuit_breaker_ecs_judges_the_failed_tasks():
    assert too_many_failed(service(45, breaker=True), TARGET) is None


def test_a_deployment_already_ended_is_not_judged_again():
    assert too_many_failed(service(45, state="COMPLETED"), TARGET) is None
    assert too_many_failed(service(45, state="FAILED"), TARGET) is None


def test_the_threshold_follows_the_desired_count():
    assert too_many_failed(service(9, desired=20), TARGET) is None
    assert too_many_failed(service(10, desired=20), TARGET).state == "FAILED"


@pytest.mark.parametrize("status", ["DRAINING", "INACTIVE"])
def test_a_draining_or_inactive_service_is_deleted(status):
    verdict = gone({**service(0), "status": status}, TARGET)
    assert verdict.state == "DELETED" and verdict.cause == "deleted" and f"web is {status}" in verdict.reason


def test_a_missing_service_is_deleted_and_an_active_one_is_not():
    assert gone(None, TARGET).state == "DELETED"
    assert gone(service(0), TARGET) is None


def event(message: str, at: datetime) -> dict:
    return {"id": message, "message": message, "createdAt": at}


def test_a_placement_event_counts_only_after_the_deployment_started():
    svc = service(0)
    ours = svc["deployments"][0]
    old = "(service web) was unable to place a task because no container instance met all of its requirements."
    svc["events"] = [event("(service web) has started 1 tasks", NOW + timedelta(seconds=3)), event(old, NOW - timedelta(minutes=5))]
    assert placement_event(svc, ours) is None
    new = "(service web) was unable to place a task. Reason: Capacity is unavailable at this time."
    svc["events"].insert(0, event(new, NOW + timedelta(seconds=5)))
    assert placement_event(svc, ours)["message"] == new


def test_an_html_error_page_is_summed_up_as_its_status_and_title():
    page = "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1><p>The server..."
    assert short_message(page, 500) == "500 Internal Server Error"
    assert short_message("<html><body>bad gateway</body></html>", 502) == "HTTP 502: an HTML error page"
    assert short_message("Rate exceeded", 400) == "Rate exceeded"
