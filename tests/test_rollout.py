"""The verdict: follow the deployment this run started, by id, and the task definition the service runs."""

from deployer.rollout import Target, judge

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
    # What `services-stable` calls success: one deployment, running == desired — but on the OLD revision.
    v = judge(svc(OLD, dep("ecs-svc/3", "PRIMARY", OLD, "COMPLETED")), TARGET)
    assert not v.ok and v.state == "ROLLED_BACK_BY_ECS" and v.ecs_rollback_deployment == "ecs-svc/3"


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
    assert not v.ok and v.state == "REPLACED"


def test_missing_service_is_failure():
    assert judge(None, TARGET).state == "MISSING"
