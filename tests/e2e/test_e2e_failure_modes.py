"""Verdicts deployer gives by itself (issue 20), end to end: the real `deployer deploy`/`wait`/`status`
against the local AWS, which models the failure modes ECS's circuit breaker does not judge: tasks that die
after RUNNING with the breaker off, placement failures, a service or cluster deleted during the watch."""

from __future__ import annotations

import time

import pytest

from tests.conftest import image_ref
from tests.e2e.test_e2e_deploy import deploy, service
from tests.e2e.test_e2e_verdicts import NO_BREAKER, Running, settle

CRASH = "exit 1: panic: assignment to entry in nil map"


def stop_calls(aws) -> int:
    return (aws.get_counters().get("ecs") or {}).get("StopServiceDeployment", {}).get("requests", 0)


# ---- 1: no circuit breaker, tasks die after RUNNING --------------------------------------------------
@pytest.mark.parametrize("stop", ["crash", "health_check"])
def test_tasks_dying_after_running_without_a_breaker_fail_and_roll_back(app, aws, platform, stop):
    app.edit("ecs-service-def.json.j2", *NO_BREAKER)
    assert deploy(app, platform, "v1").code == 0
    aws.mark_broken("*:crashloop", reason=CRASH, after_running=0.1, stop=stop)
    result = deploy(app, platform, "crashloop", "--timeout", "120")
    assert result.code == 1, result.stderr
    entry = result.json["services"][0]
    assert entry["verdict"] == "FAILED" and result.json["status"] == "rolled_back"
    assert "tasks of web:2 failed" in entry["reason"] and "no circuit breaker" in entry["reason"]
    assert "threshold (3: half the desired count, at least 3, at most 200)" in entry["reason"]
    assert "ERROR: web: deployment failed (FAILED)" in result.stderr
    assert "slow, not stuck" not in result.stderr
    # The diagnosis: why the tasks stopped, with their exit codes.
    if stop == "crash":
        assert "of web:2 stopped: Essential container in task exited" in result.stderr
        assert "container app: exit code 1, " + CRASH in result.stderr
    else:
        assert "of web:2 stopped: Task failed ELB health checks in (target-group" in result.stderr
        assert "container app: exit code 143" in result.stderr
    assert entry["rolled_back_to"].endswith("web:1") and entry["rollback_state"] == "COMPLETED"
    assert service(aws, platform)["taskDefinition"].endswith("web:1")


def test_wait_on_a_crash_loop_without_a_breaker_says_failed_not_slow(app, aws, platform):
    app.edit("ecs-service-def.json.j2", *NO_BREAKER)
    assert deploy(app, platform, "v1").code == 0
    aws.mark_broken("*:crashloop", reason=CRASH, after_running=0.1)
    started = deploy(app, platform, "crashloop", "--no-wait")
    assert started.code == 0, started.stderr
    waited = app.cli("wait", "--output", "json", "--timeout", "120")
    assert waited.code == 1, waited.stderr
    entry = waited.json["services"][0]
    assert entry["verdict"] == "FAILED" and "no circuit breaker" in entry["reason"]
    assert "container app: exit code 1, " + CRASH in waited.stderr
    assert any("exit code 1" in line for line in entry["diagnosis"])


def test_a_slow_rollout_that_loses_tasks_says_why_at_exit_3(app, aws, platform):
    """Under the threshold (20 desired: 10), still moving at the timeout: exit 3, with the stopped tasks."""
    app.edit("ecs-service-def.json.j2", *NO_BREAKER)
    assert deploy(app, platform, "v1").code == 0
    aws.configure(tick=0.5)
    aws.mark_broken("*:flaky", reason=CRASH, after_running=0, count=2)  # two tasks die, the others live
    result = deploy(app, platform, "flaky", "--timeout", "6", "--desired-count", "20")
    aws.configure(tick=0.05)
    assert result.code == 3, result.stderr
    assert "slow, not stuck" in result.stderr and "not rolled back" in result.stderr
    assert "of web:2 stopped: Essential container in task exited" in result.stderr
    assert "container app: exit code 1, " + CRASH in result.stderr


# ---- 2: placement failures ----------------------------------------------------------------------------
PLACEMENT = [
    ("because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster.",
     "was unable to place a task because no container instance met all of its requirements"),
    ("Capacity is unavailable at this time. Please try again later or in a different availability zone",
     "was unable to place a task. Reason: Capacity is unavailable at this time"),
]


@pytest.mark.parametrize("reason,said", PLACEMENT)
def test_a_placement_failure_ends_the_watch_early_with_ecs_event(app, aws, platform, reason, said):
    assert deploy(app, platform, "v1").code == 0
    aws.mark_broken("*:noplace", placement=reason)
    result = app.cli("deploy", "--image", image_ref(platform, "noplace"), "--output", "json", "--timeout", "300",
                     env={"DEPLOYER_PLACEMENT_CONFIRM": "1"})
    assert result.code == 1, result.stderr
    entry = result.json["services"][0]
    assert entry["verdict"] == "FAILED" and said in entry["reason"]
    assert "ECS could not place the tasks of web:2 (0/2 running" in entry["reason"]
    assert "timed out" not in result.stderr
    # The diagnosis names ECS's event, not the stopped tasks of an earlier deployment.
    assert "no task of deployment ecs-svc/" in result.stderr and said in result.stderr.split("was placed; ECS said:")[1]
    assert "of web:1 stopped" not in result.stderr
    assert entry["rolled_back_to"].endswith("web:1") and service(aws, platform)["taskDefinition"].endswith("web:1")


# ---- 3: the service or its cluster deleted during the watch --------------------------------------------
def test_a_service_deleted_during_the_watch_ends_it_at_once_without_a_rollback(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    aws.configure(tick=0.5, draining_seconds=30)
    running = Running(app, "deploy", "--image", image_ref(platform, "v2"), "--output", "json", "--timeout", "300")
    running.until("watching web")
    aws.reset_counters()
    aws.client("ecs").delete_service(cluster=platform["outputs"]["ClusterName"], service="web", force=True)
    code, out, err = running.finish()
    assert code == 1, err
    assert "deployment failed (DELETED): web is DRAINING: the service was deleted during the watch" in err
    assert "not rolled back: the service no longer exists" in err
    assert "web deleted during the release, nothing to roll back" in err
    assert stop_calls(aws) == 0
    assert (aws.get_counters().get("ecs") or {}).get("UpdateService") is None
    assert "timed out" not in err and "ROLLBACK_REQUESTED" not in err


def test_a_cluster_deleted_during_the_watch_is_exit_1_not_bad_input(app, aws, platform):
    cluster = platform["outputs"]["ClusterName"]
    assert deploy(app, platform, "v1").code == 0
    aws.configure(tick=0.5, draining_seconds=0)
    running = Running(app, "deploy", "--image", image_ref(platform, "v2"), "--output", "json", "--timeout", "300")
    running.until("watching web")
    # The watch sees neither the DRAINING service nor its INACTIVE state: only the cluster that is gone.
    aws.burst(60, "throttle", services=["ecs"], operations=["DescribeServices"])
    ecs = aws.client("ecs")
    ecs.delete_service(cluster=cluster, service="web", force=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            ecs.delete_cluster(cluster=cluster)  # refused while the service drains
            break
        except ecs.exceptions.ClientError:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    aws.configure(burst_until=None, fault_operations=None)
    aws.reset_counters()
    code, out, err = running.finish()
    assert code == 1, err
    assert f"deployment failed (DELETED): cluster {cluster} no longer exists (ClusterNotFoundException)" in err
    assert "not rolled back: the service no longer exists" in err
    assert stop_calls(aws) == 0
    assert "nothing changed" not in err and "bad input" not in err.lower()


# ---- 6: a pre-flight warning that cannot read costs no time --------------------------------------------
def push_image(aws, platform, tag: str, *, index: bool = True) -> None:
    """An image in the local ECR: an index (linux/amd64 and linux/arm64) or a single-platform manifest."""
    import json

    repo = platform["outputs"]["EcrRepositoryUri"].split("/", 1)[1]
    if index:
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 500, "digest": "sha256:" + c * 64,
             "platform": {"os": "linux", "architecture": arch}} for c, arch in (("1", "amd64"), ("2", "arm64"))]}
    else:
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2, "digest": "sha256:" + "c" * 64},
                    "layers": []}
    manifest["annotations"] = {"tag": tag}  # one manifest (one digest) per tag
    aws.client("ecr").put_image(repositoryName=repo, imageManifest=json.dumps(manifest), imageTag=tag)


def test_an_image_platform_that_cannot_be_read_is_one_short_attempt_and_one_line(app, aws, platform):
    # A single-platform image: its config blob comes from GetDownloadUrlForLayer, which the local AWS
    # answers with a 500 and an HTML error page (as a proxy or a crashed endpoint would).
    push_image(aws, platform, "v1", index=False)
    aws.reset_counters()
    result = deploy(app, platform, "v1")
    assert result.code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "pre-flight image platform" in line]
    assert len(warnings) == 1, result.stderr
    assert "could not read the platform of" in warnings[0] and "500 Internal Server Error" in warnings[0]
    assert "<html" not in result.stderr.lower() and "doctype" not in result.stderr.lower()
    assert aws.get_counters()["ecr"]["GetDownloadUrlForLayer"]["requests"] == 1  # one attempt, no retries


# ---- 4: a crash loop that starts after COMPLETED -------------------------------------------------------
def test_status_and_wait_flag_a_crash_loop_that_starts_after_the_deployment_completed(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    aws.mark_broken("*:later", reason="out of memory\x1b[31m", after_running=0.2, after_completed=True)
    released = deploy(app, platform, "later")
    assert released.code == 0, released.stderr  # the deployment did complete
    ecs, cluster = aws.client("ecs"), platform["outputs"]["ClusterName"]
    deadline = time.monotonic() + 60
    while len(ecs.list_tasks(cluster=cluster, serviceName="web", desiredStatus="STOPPED")["taskArns"]) < 6:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    status = app.cli("status")
    assert status.code == 0, status.stderr
    assert "WARNING:  ecs| " in status.stdout and "stopped in the last 10 minutes after the deployment completed: Essential container in task exited" in status.stdout
    assert "app: exit code 1 (out of memory\\e[31m)" in status.stdout  # ECS's text, escaped
    assert "\x1b" not in status.stdout
    assert "recent stopped tasks:" in status.stdout and "web:2  ecs| Essential container in task exited (app: exit code 1, out of memory" in status.stdout
    as_json = app.cli("status", "--output", "json").json["services"][0]
    assert len(as_json["stopped_tasks"]) == 5 and as_json["stopped_tasks"][0]["containers"][0]["exit_code"] == 1
    assert "after the deployment completed" in as_json["replacing_after_completed"]
    waited = app.cli("wait", "--output", "json")
    assert waited.code == 0, waited.stderr
    assert "after the deployment completed" in waited.stderr and "after the deployment completed" in waited.json["services"][0]["replacing_after_completed"]


# ---- 5: deploy's pre-flight: the image and the secrets exist -------------------------------------------
def test_deploy_refuses_an_image_that_is_not_in_ecr_before_any_write(app, aws, platform):
    from tests.conftest import ecs_state

    assert deploy(app, platform, "v1").code == 0
    before = ecs_state(aws, platform["outputs"]["ClusterName"])
    uri = platform["outputs"]["EcrRepositoryUri"]
    missing = app.cli("deploy", "--image", f"{uri}:never-pushed")
    assert missing.code == 2, missing.stderr
    assert f"pre-flight check failed: image: {uri}:never-pushed: tag never-pushed is not in {uri} (ecr DescribeImages)" in missing.stderr
    by_digest = app.cli("deploy", "--image", f"{uri}@sha256:{'f' * 64}")
    assert by_digest.code == 2 and f"digest sha256:{'f' * 64} is not in {uri}" in by_digest.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"]) == before


def test_deploy_refuses_a_task_definition_whose_secret_does_not_exist(app, aws, platform):
    from tests.conftest import ecs_state

    assert deploy(app, platform, "v1").code == 0
    app.edit("ecs-task-def.json.j2", '"environment": [', '"secrets": [{"name": "DB_PASSWORD", "valueFrom": "/demo/db-password"}],\n      "environment": [')
    before = ecs_state(aws, platform["outputs"]["ClusterName"])
    result = deploy(app, platform, "v2")
    assert result.code == 2, result.stderr
    assert "pre-flight check failed: secret: container app secret DB_PASSWORD: SSM parameter /demo/db-password: does not exist" in result.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"]) == before
    aws.client("ssm").put_parameter(Name="/demo/db-password", Value="s3cret-value", Type="SecureString")
    assert deploy(app, platform, "v2").code == 0
