"""End to end: `deployer run -- CMD...` (a one-off task from the service's revision) against the
local AWS over HTTP. The emulator's one-off tasks (tests/localaws/oneoff.py) run `echo`, `exit N`
and `sleep N` steps of the command deterministically and write awslogs lines for them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from tests.conftest import ecs_state, image_ref

SECRET = "s3cr3t-Passw0rd-42"


def deploy(app, platform, tag: str, *extra: str) -> dict:
    result = app.cli("deploy", "--image", image_ref(platform, tag), "--output", "json", *extra)
    assert result.code == 0, result.stderr
    return result.json


def live_service(aws, platform, name="web") -> dict:
    return aws.client("ecs").describe_services(cluster=platform["outputs"]["ClusterName"], services=[name])["services"][0]


def describe_task(aws, platform, arn: str) -> dict:
    return aws.client("ecs").describe_tasks(cluster=platform["outputs"]["ClusterName"], tasks=[arn])["tasks"][0]


def one_off_tasks(aws) -> list[dict]:
    return aws.state()["tasks"]


def test_run_prints_the_log_lines_and_exits_0(app, aws, platform):
    deploy(app, platform, "v1")
    result = app.cli("run", "--", "echo", "migrate", "--all")
    assert result.code == 0, result.stderr
    # The task's CloudWatch lines, in order, on stdout (the app's words: `  app| `); progress and the verdict on stderr.
    assert result.stdout.splitlines() == ["  app| $ echo migrate --all", "  app| migrate --all", "  app| exit 0"]
    assert "running echo migrate --all in a one-off task of web:1" in result.stderr
    assert "exited with code 0" in result.stderr
    [task] = one_off_tasks(aws)
    assert task["lastStatus"] == "STOPPED" and task["exitCode"] == 0


def test_a_failing_command_gives_its_exit_code(app, aws, platform):
    deploy(app, platform, "v1")
    result = app.cli("run", "--", "sh", "-c", "echo cannot migrate: lock held; exit 3")
    assert result.code == 3, result.stderr
    assert result.stdout.splitlines() == ["  app| $ sh -c 'echo cannot migrate: lock held; exit 3'", "  app| cannot migrate: lock held", "  app| exit 3"]
    assert "exited with code 3 (Essential container in task exited)" in result.stderr


def test_json_output_has_the_result_object(app, aws, platform):
    deployed = deploy(app, platform, "v1")
    result = app.cli("run", "--output", "json", "--", "sh", "-c", "echo step 1 && echo step 2 && exit 4")
    assert result.code == 4, result.stderr
    assert result.stdout.count("\n") == 1  # one JSON object and nothing else on stdout
    out = result.json
    assert out["exit_code"] == 4
    assert out["task_definition"] == deployed["task_definition"]
    assert out["task_arn"].startswith("arn:aws:ecs:us-east-1:123456789012:task/")
    assert out["logs"] == ["$ sh -c 'echo step 1 && echo step 2 && exit 4'", "step 1", "step 2", "exit 4"]
    assert out["stopped_reason"] == "Essential container in task exited"
    assert isinstance(out["duration_s"], float) and 0 < out["duration_s"] < 60
    # The log lines still reach a human: on stderr.
    assert "  app| step 2" in result.stderr


def test_the_task_runs_the_services_revision_network_and_the_overridden_command(app, aws, platform):
    deploy(app, platform, "v1")
    deploy(app, platform, "v2")
    # The service goes back to web:1: `run` uses the revision it runs, not the newest one.
    back = app.cli("deploy", "--revision", "1", "--output", "json")
    assert back.code == 0, back.stderr
    svc = live_service(aws, platform)
    assert svc["taskDefinition"].endswith("task-definition/web:1")

    result = app.cli("run", "--output", "json", "--", "./manage.py", "migrate", "--noinput")
    assert result.code == 0, result.stderr
    out = result.json
    assert out["task_definition"] == svc["taskDefinition"]

    task = describe_task(aws, platform, out["task_arn"])
    assert task["taskDefinitionArn"] == svc["taskDefinition"]
    assert task["overrides"]["containerOverrides"] == [{"name": "app", "command": ["./manage.py", "migrate", "--noinput"]}]
    assert task["startedBy"] == "deployer-run"
    assert task["group"] == "deployer-run:web"
    assert task["launchType"] == "FARGATE"
    assert task["lastStatus"] == "STOPPED" and task["containers"][0]["exitCode"] == 0
    subnet = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}["subnetId"]
    assert subnet in svc["networkConfiguration"]["awsvpcConfiguration"]["subnets"]
    # The whole network configuration (subnets, security groups, assignPublicIp) is the service's.
    [recorded] = one_off_tasks(aws)
    assert recorded["networkConfiguration"] == svc["networkConfiguration"]
    assert recorded["command"] == ["./manage.py", "migrate", "--noinput"]
    assert sorted(svc["networkConfiguration"]["awsvpcConfiguration"]["subnets"]) == sorted(
        [platform["outputs"]["PrivateSubnet1"], platform["outputs"]["PrivateSubnet2"]]
    )
    # The service was not touched.
    assert live_service(aws, platform)["deployments"][0]["id"] == svc["deployments"][0]["id"]


def test_no_command_keeps_the_definitions_own(app, aws, platform):
    deploy(app, platform, "v1")
    result = app.cli("run", "--output", "json")
    assert result.code == 0, result.stderr
    task = describe_task(aws, platform, result.json["task_arn"])
    assert not task.get("overrides", {}).get("containerOverrides")
    assert result.json["logs"][0] == "$ (the image's default command)"


def test_run_for_a_service_that_does_not_exist_is_bad_input(app, aws, platform):
    cluster = platform["outputs"]["ClusterName"]
    before = ecs_state(aws, cluster)
    missing = app.cli("run", "--", "echo", "migrate")
    assert missing.code == 2, missing.stderr
    assert "service web does not exist in cluster demo" in missing.stderr
    unknown = app.cli("run", "--service", "worker", "--", "echo", "migrate")
    assert unknown.code == 2, unknown.stderr
    assert "--service worker: not in deployer.yaml" in unknown.stderr
    assert ecs_state(aws, cluster) == before
    assert one_off_tasks(aws) == []
    assert aws.client("ecs").list_tasks(cluster=cluster, desiredStatus="STOPPED")["taskArns"] == []


def test_a_task_that_never_started_exits_1_with_the_stopped_reason(app, aws, platform):
    reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s)"
    app.edit("ecs-task-def.json.j2", '{ "name": "LOG_LEVEL"', '{ "name": "LOCALAWS_START_FAILURE", "value": "%s" },\n        { "name": "LOG_LEVEL"' % reason)
    deploy(app, platform, "v1")  # service tasks ignore it; one-off tasks of this revision never start
    result = app.cli("run", "--output", "json", "--", "echo", "migrate")
    assert result.code == 1, result.stderr
    out = result.json
    assert out["exit_code"] == 1
    assert out["stopped_reason"] == reason
    assert out["logs"] == []
    assert f"stopped without an exit code from `app`: {reason}" in result.stderr
    task = describe_task(aws, platform, out["task_arn"])
    assert task["stopCode"] == "TaskFailedToStart" and "exitCode" not in task["containers"][0]


def test_secrets_are_masked_in_the_log_lines(app, aws, platform):
    aws.client("ssm").put_parameter(Name="/demo/db-password", Value=SECRET, Type="SecureString")
    app.edit(
        "ecs-task-def.json.j2",
        '"logConfiguration"',
        '"secrets": [{ "name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/demo/db-password" }],\n      "logConfiguration"',
    )
    deploy(app, platform, "v1")
    result = app.cli("run", "--", "sh", "-c", "echo connecting with $DB_PASSWORD")
    assert result.code == 0, result.stderr
    assert "  app| connecting with ****" in result.stdout.splitlines()
    assert SECRET not in result.stdout + result.stderr


def test_timeout_leaves_the_task_running_and_says_how_to_stop_it(app, aws, platform):
    deploy(app, platform, "v1")
    result = app.cli("run", "--timeout", "2", "--output", "json", "--", "sh", "-c", "echo working; sleep 60")
    assert result.code == 1, result.stderr
    assert "is still RUNNING after 2s; it goes on in ECS" in result.stderr
    assert "aws ecs stop-task --cluster demo --task " in result.stderr
    out = result.json
    assert out["status"] == "timeout" and out["logs"] == ["$ sh -c 'echo working; sleep 60'", "working"]
    assert describe_task(aws, platform, out["task_arn"])["lastStatus"] == "RUNNING"


def test_ctrl_c_leaves_the_task_running_and_says_how_to_stop_it(app, aws, platform):
    deploy(app, platform, "v1")
    env = app.environ()
    proc = subprocess.Popen(
        [sys.executable, "-m", "deployer", "run", "--", "sh", "-c", "echo working; sleep 60"],
        cwd=app.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (one_off_tasks(aws) and one_off_tasks(aws)[0]["lastStatus"] == "RUNNING"):
            assert time.monotonic() < deadline and proc.poll() is None, "the task did not start"
            time.sleep(0.1)
        time.sleep(1.5)  # deployer is in its wait loop
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    [task] = one_off_tasks(aws)
    assert "the task goes on in ECS" in stderr
    task_id = task["taskArn"].rsplit("/", 1)[-1]
    assert f"aws ecs stop-task --cluster demo --task {task_id}" in stderr
    assert "  app| working" in stdout.splitlines()
    assert describe_task(aws, platform, task["taskArn"])["lastStatus"] == "RUNNING"

    # The hint works: StopTask stops it (SIGTERM: exit code 143).
    aws.client("ecs").stop_task(cluster="demo", task=task["taskArn"], reason="stopped by user")
    deadline = time.monotonic() + 10
    while (stopped := describe_task(aws, platform, task["taskArn"])).get("stopCode") != "UserInitiated":
        assert time.monotonic() < deadline, stopped
        time.sleep(0.05)
    assert stopped["lastStatus"] == "STOPPED" and stopped["stoppedReason"] == "stopped by user"
    assert stopped["containers"][0]["exitCode"] == 143


def test_emulator_one_off_tasks_follow_fargates_lifecycle_and_leave_service_tasks_alone(app, aws, platform):
    """The emulator itself (boto3, no deployer): LOCALAWS_EXIT_CODE wins over `exit N`; the
    statuses pass PROVISIONING → PENDING → RUNNING → … → STOPPED; service tasks keep running."""
    deployed = deploy(app, platform, "v1")
    cluster = platform["outputs"]["ClusterName"]
    ecs = aws.client("ecs")
    service_tasks = ecs.list_tasks(cluster=cluster, serviceName="web")["taskArns"]
    assert len(service_tasks) == 2
    network = live_service(aws, platform)["networkConfiguration"]
    started = ecs.run_task(
        cluster=cluster, taskDefinition=deployed["task_definition"], launchType="FARGATE", networkConfiguration=network,
        # `sleep 1`: RUNNING for a second, not a single tick (a poll on a loaded machine could miss one tick).
        overrides={"containerOverrides": [{"name": "app", "command": ["sh", "-c", "sleep 1; exit 3"], "environment": [{"name": "LOCALAWS_EXIT_CODE", "value": "7"}]}]},
    )["tasks"][0]
    assert started["lastStatus"] == "PROVISIONING" and started["group"] == "family:web"
    seen = [started["lastStatus"]]
    deadline = time.monotonic() + 10
    while seen[-1] != "STOPPED":
        assert time.monotonic() < deadline, seen
        status = describe_task(aws, platform, started["taskArn"])["lastStatus"]
        if status != seen[-1]:
            seen.append(status)
        time.sleep(0.01)
    assert seen[0] == "PROVISIONING" and "RUNNING" in seen and seen[-1] == "STOPPED"
    assert seen.index("RUNNING") > (seen.index("PENDING") if "PENDING" in seen else 0)
    task = describe_task(aws, platform, started["taskArn"])
    assert task["containers"][0]["exitCode"] == 7 and task["stopCode"] == "EssentialContainerExited"
    events = aws.client("logs").get_log_events(
        logGroupName=platform["outputs"]["LogGroupName"], logStreamName=f"web/app/{started['taskArn'].rsplit('/', 1)[-1]}", startFromHead=True
    )["events"]
    assert [e["message"] for e in events] == ["$ sh -c 'sleep 1; exit 3'", "exit 7"]
    # moto's state manager would have stopped these on describe_tasks; they are the rollout engine's.
    assert {t["lastStatus"] for t in ecs.describe_tasks(cluster=cluster, tasks=service_tasks)["tasks"]} == {"RUNNING"}
    assert [t["taskArn"] for t in one_off_tasks(aws)] == [started["taskArn"]]
