"""The verdict: follow the deployment this run started, by id, and the task definition the service runs."""

import pytest

from deployer.release.rollout import Target, judge

OLD = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
NEW = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"
TARGET = Target("web", "ecs-svc/2", NEW)


def dep(id_, status, td, state, running=2, desired=2, failed=0, reason=None):
    return {"id": id_, "status": status, "taskDefinition": td, "rolloutState": state, "runningCount": running, "desiredCount": desired, "failedTasks": failed, "rolloutStateReason": reason}


def svc(td, *deployments):
    return {"serviceName": "web", "taskDefinition": td, "deployments": list(deployments), "runningCount": 2, "desiredCount": 2}


def test_in_progress_keeps_watching():
    assert judge(svc(NEW, dep("ecs-svc/2", "PRIMARY", NEW, "IN_PROGRESS", running=1), dep("ecs-svc/1", "ACTIVE", OLD, "COMPLETED")), TARGET) is None


def test_completed_on_our_revision_is_success():
    v = judge(svc(NEW, dep("ecs-svc/2", "PRIMARY", NEW, "COMPLETED")), TARGET)
    assert v.ok and v.state == "COMPLETED"


def test_stable_on_the_old_revision_after_circuit_breaker_is_failure():
    # What `services-stable` calls success: one deployment, running == desired — but on the OLD revision,
    # and ECS's event says ours failed.
    service = svc(OLD, dep("ecs-svc/3", "PRIMARY", OLD, "COMPLETED"))
    service["events"] = [{"id": "e1", "message": "(service web) (deployment ecs-svc/2) deployment failed: tasks failed to start."}]
    v = judge(service, TARGET)
    assert not v.ok and v.state == "ROLLED_BACK_BY_ECS" and v.ecs_rollback_deployment == "ecs-svc/3"
    assert v.reason.endswith("deployment failed: tasks failed to start")


def test_replaced_by_another_actor_is_superseded():
    # Our deployment gone, the service on a revision ECS did not roll back to (no failure event): someone else's.
    v = judge(svc(OLD, dep("ecs-svc/9", "PRIMARY", OLD, "IN_PROGRESS", running=1)), TARGET)
    assert not v.ok and v.state == "SUPERSEDED" and "ecs-svc/9 of web:1" in v.reason
    # Still listed, but no longer the primary, and the primary is not ECS's rollback.
    v = judge(svc(NEW, dep("ecs-svc/9", "PRIMARY", OLD, "IN_PROGRESS", running=0), dep("ecs-svc/2", "ACTIVE", NEW, "IN_PROGRESS", running=1)), TARGET)
    assert v.state == "SUPERSEDED"


def test_failed_deployment_listed_as_active_during_ecs_rollback():
    v = judge(
        svc(OLD, dep("ecs-svc/3", "PRIMARY", OLD, "IN_PROGRESS", running=0), dep("ecs-svc/2", "ACTIVE", NEW, "FAILED", failed=3, reason="ECS deployment circuit breaker: tasks failed to start.")),
        TARGET,
    )
    assert not v.ok and v.state == "ROLLED_BACK_BY_ECS" and "circuit breaker" in v.reason and v.failed_tasks == 3


def test_failed_without_rollback():
    v = judge(svc(NEW, dep("ecs-svc/2", "PRIMARY", NEW, "FAILED", reason="alarm fired"), dep("ecs-svc/1", "ACTIVE", OLD, "COMPLETED")), TARGET)
    assert not v.ok and v.state == "FAILED" and v.reason == "alarm fired"


def test_completed_but_service_on_another_revision_is_failure():
    v = judge(svc(OLD, dep("ecs-svc/2", "PRIMARY", NEW, "COMPLETED")), TARGET)
    assert not v.ok and v.state == "SUPERSEDED"


def test_missing_service_is_failure():
    assert judge(None, TARGET).state == "MISSING"


class ScriptedEcs:
    """A stub of the ECS adapter (named as such): answers DescribeServices from a timeline of states,
    on a simulated clock, so the polling schedule itself can be measured without waiting."""

    def __init__(self, clock, completes_at: float, throttled_calls: int = 0):
        self.clock = clock
        self.completes_at = completes_at
        self.throttled_calls = throttled_calls  # this many calls right after completion are throttled
        self.calls = []

    def describe_services(self, cluster, names, attempts=None):
        self.calls.append(self.clock.now)
        if self.clock.now >= self.completes_at and self.throttled_calls:
            self.throttled_calls -= 1
            raise throttled()
        done = self.clock.now >= self.completes_at
        state = "COMPLETED" if done else "IN_PROGRESS"
        return {"web": svc(NEW, dep("ecs-svc/2", "PRIMARY", NEW, state, running=2 if done else 1))}


def throttled():
    from botocore.exceptions import ClientError

    from deployer.core.errors import ExternalError

    cause = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "DescribeServices")
    error = ExternalError("AWS refused while describing services: ThrottlingException: Rate exceeded")
    error.__cause__ = cause
    return error


class SimulatedClock:
    def __init__(self):
        self.now = 0.0

    def sleep(self, seconds):
        self.now += seconds

    def __call__(self):
        return self.now


def test_polling_is_prompt_and_economical():
    import io

    from deployer.core.console import Console
    from deployer.release.rollout import watch

    for completes_at in (3.0, 60.0, 600.0):
        clock = SimulatedClock()
        ecs = ScriptedEcs(clock, completes_at)
        verdicts = watch(ecs, "c", [TARGET], timeout=900, console=Console(io.StringIO(), quiet=True), sleep=clock.sleep, clock=clock)
        assert verdicts["web"].ok
        detected = clock.now - completes_at
        assert 0 <= detected <= 2.0  # the verdict is seen within 2 s of ECS reaching it
        assert len(ecs.calls) <= completes_at  # at most one DescribeServices per second on average
        assert ecs.calls[0] == 1.0  # a deployment started a moment ago is not asked about at once
    assert len(ecs.calls) <= 0.55 * 600  # long rollouts: about one call every 2 s


def test_a_throttled_poll_is_retried_by_the_next_poll_not_by_backoff():
    import io

    from deployer.core.console import Console
    from deployer.release.rollout import watch

    clock = SimulatedClock()
    ecs = ScriptedEcs(clock, completes_at=10.0, throttled_calls=1)
    verdicts = watch(ecs, "c", [TARGET], timeout=900, console=Console(io.StringIO(), quiet=True), sleep=clock.sleep, clock=clock)
    assert verdicts["web"].ok
    assert clock.now - 10.0 <= 2 * 2.0  # one lost poll costs at most one more interval


def test_lost_sight_ends_the_watch_with_exit_3_and_how_to_resume():
    import io

    import pytest

    from deployer.core.console import Console
    from deployer.release.rollout import LostSight, lost_sight_after, watch

    clock = SimulatedClock()
    ecs = ScriptedEcs(clock, completes_at=0.0, throttled_calls=1000)
    with pytest.raises(LostSight, match="no answer from ECS for .*ThrottlingException") as err:
        watch(ecs, "c", [TARGET], timeout=900, console=Console(io.StringIO(), quiet=True), sleep=clock.sleep, clock=clock)
    assert err.value.exit_code == 3 and "deployer wait --service web" in err.value.hint
    assert lost_sight_after() <= clock.now <= lost_sight_after() + 4  # gave up once the window passed
    assert len(ecs.calls) <= lost_sight_after() / 2 + 10  # backed off to one call per interval, not a storm


def test_a_rollout_that_never_shows_up_is_pending_then_an_error_naming_what_was_seen():
    import io

    import pytest

    from deployer.core.console import Console
    from deployer.release.rollout import LostSight, unseen_window, watch

    class StaleEcs:  # a stub of the ECS adapter (named as such): DescribeServices stuck on the old PRIMARY
        calls = 0

        def describe_services(self, cluster, names, attempts=None):
            self.calls += 1
            return {"web": svc(OLD, dep("ecs-svc/1", "PRIMARY", OLD, "COMPLETED"))}

    clock = SimulatedClock()
    fresh = Target("web", "ecs-svc/2", NEW, seen=False)
    with pytest.raises(LostSight, match="ecs-svc/2 of web:2, started by this run, was not listed .* PRIMARY deployment ecs-svc/1 of web:1"):
        watch(StaleEcs(), "c", [fresh], timeout=900, console=Console(io.StringIO(), quiet=True), sleep=clock.sleep, clock=clock)
    assert clock.now >= unseen_window()  # pending, not failed, for the whole window


# ---- ECS's own record of the deployment (Service Deployments API) -------------------------------------
def record(status, **extra):
    return {"serviceDeploymentArn": "arn:sd/1", "status": status, "statusReason": extra.pop("reason", ""),
            "deploymentCircuitBreaker": extra.pop("breaker", {"status": "MONITORING", "failureCount": 0, "threshold": 3}),
            "alarms": extra.pop("alarms", {"status": "DISABLED", "alarmNames": [], "triggeredAlarmNames": []}), **extra}


def test_record_successful_is_success_and_in_progress_keeps_watching():
    from deployer.release.rollout import judge_record

    service = svc(NEW, dep("ecs-svc/2", "PRIMARY", NEW, "IN_PROGRESS"))
    assert judge_record(record("IN_PROGRESS"), TARGET, service, None) is None
    v = judge_record(record("SUCCESSFUL"), TARGET, service, None)
    assert v.ok and v.state == "COMPLETED" and v.service_deployment == "arn:sd/1"


def test_record_rollback_successful_is_a_failure_naming_the_alarm():
    from deployer.release.rollout import judge_record

    rec = record("ROLLBACK_SUCCESSFUL", rollback={"reason": "ECS deployment alarms: rolling back."},
                 alarms={"status": "TRIGGERED", "alarmNames": ["web-5xx"], "triggeredAlarmNames": ["web-5xx"]})
    v = judge_record(rec, TARGET, svc(OLD, dep("ecs-svc/3", "PRIMARY", OLD, "COMPLETED")), OLD)
    assert not v.ok and v.state == "ROLLED_BACK_BY_ECS" and v.triggered_alarms == ["web-5xx"]
    assert v.reason == "alarm web-5xx fired (ECS deployment alarms: rolling back); ECS rolled back to web:1"
    assert v.ecs_rollback_task_definition == OLD and v.ecs_rollback_deployment == "ecs-svc/3"


def test_record_stopped_by_a_newer_deployment_is_superseded():
    from deployer.release.rollout import judge_record

    other = svc(OLD, dep("ecs-svc/9", "PRIMARY", OLD, "IN_PROGRESS"), dep("ecs-svc/2", "ACTIVE", NEW, "IN_PROGRESS"))
    v = judge_record(record("STOPPED", reason="stopped: a newer deployment started"), TARGET, other, None)
    assert not v.ok and v.state == "SUPERSEDED" and "ecs-svc/9 of web:1" in v.reason
    # Stopped with nothing newer (breaker without rollback): failed.
    v = judge_record(record("STOPPED", reason="ECS deployment circuit breaker: tasks failed to start."), TARGET,
                     svc(NEW, dep("ecs-svc/2", "PRIMARY", NEW, "FAILED")), None)
    assert v.state == "FAILED"


def test_following_ecs_rollback_succeeds_when_the_rollback_does():
    from deployer.release.rollout import judge_record

    following = Target("web", None, OLD, rollback_of="arn:sd/1")
    assert judge_record(record("ROLLBACK_IN_PROGRESS"), following, None, OLD) is None
    assert judge_record(record("ROLLBACK_SUCCESSFUL"), following, None, OLD).ok
    assert judge_record(record("ROLLBACK_FAILED", reason="no capacity"), following, None, OLD).state == "FAILED"


@pytest.mark.parametrize("raw, seconds", [(None, 30.0), ("", 30.0), ("2", 2.0), ("0.5", 0.5), ("0", 0.0)])
def test_a_watch_window_is_its_default_or_the_number_of_seconds_given(monkeypatch, raw, seconds):
    from deployer.release.rollout import check_windows, unseen_window

    if raw is None:
        monkeypatch.delenv("DEPLOYER_UNSEEN_WINDOW", raising=False)
    else:
        monkeypatch.setenv("DEPLOYER_UNSEEN_WINDOW", raw)
    check_windows()
    assert unseen_window() == seconds


@pytest.mark.parametrize("raw", ["soon", "-1", "nan", "inf", "1e400"])
def test_a_watch_window_that_is_not_a_number_of_seconds_is_refused_naming_the_variable(monkeypatch, raw):
    from deployer.core.errors import BadInput
    from deployer.release.rollout import check_windows

    monkeypatch.setenv("DEPLOYER_LOST_SIGHT_AFTER", raw)
    with pytest.raises(BadInput) as refused:
        check_windows()
    assert refused.value.message == f"DEPLOYER_LOST_SIGHT_AFTER={raw!r}: must be a number of seconds, 0 or more"
    assert refused.value.exit_code == 2
