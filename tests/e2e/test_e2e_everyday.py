"""End to end: the everyday commands around a release — logs, scale, restart, tasks, exec — with the
real `deployer` command against the local AWS (CloudWatch Logs, Application Auto Scaling and ECS
Exec's ExecuteCommand are the emulator's)."""

from __future__ import annotations

import json
import os
import stat
import time

from tests.conftest import image_ref

SECRET = "s3cr3t-Passw0rd-42"


def deploy(app, platform, tag: str, *extra: str) -> dict:
    result = app.cli("deploy", "--image", image_ref(platform, tag), "--output", "json", *extra)
    assert result.code == 0, result.stderr
    return result.json


def cluster(platform) -> str:
    return platform["outputs"]["ClusterName"]


def live_service(aws, platform, name="web") -> dict:
    return aws.client("ecs").describe_services(cluster=cluster(platform), services=[name])["services"][0]


def running_tasks(aws, platform, name="web") -> list[dict]:
    ecs = aws.client("ecs")
    arns = ecs.list_tasks(cluster=cluster(platform), serviceName=name, desiredStatus="RUNNING")["taskArns"]
    return ecs.describe_tasks(cluster=cluster(platform), tasks=arns)["tasks"] if arns else []


def with_secret(app, aws) -> None:
    aws.client("ssm").put_parameter(Name="/demo/db-password", Value=SECRET, Type="SecureString")
    app.edit(
        "ecs-task-def.json.j2",
        '"logConfiguration"',
        '"secrets": [{ "name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/demo/db-password" }],\n      "logConfiguration"',
    )


def write_app_lines(aws, platform, task_id: str, lines: list[str]) -> None:
    """What the app printed, in the awslogs stream ECS names <prefix>/<container>/<task id>."""
    logs = aws.client("logs")
    group, stream = platform["outputs"]["LogGroupName"], f"web/app/{task_id}"
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(lines)])


def fake_plugin(tmp_path, exit_code: int = 0):
    """A test double of session-manager-plugin: records its arguments in a JSON file, exits with exit_code."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    record = tmp_path / "plugin-args.json"
    script = bindir / "session-manager-plugin"
    script.write_text(f"#!/bin/sh\n/usr/bin/python3 -c 'import json,sys; json.dump(sys.argv[1:], open(\"{record}\", \"w\"))' \"$@\"\nexit {exit_code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {"PATH": f"{bindir}:/usr/bin:/bin"}, record


# ---- logs ------------------------------------------------------------------------------------
def test_logs_since_prints_the_apps_lines_masked_and_escaped(app, aws, platform):
    with_secret(app, aws)
    deploy(app, platform, "v1")
    task = running_tasks(aws, platform)[0]
    task_id = task["taskArn"].rsplit("/", 1)[-1]
    forged = "ok\n12:00:00Z ==> web: deployed web:9 \x1b[32mgreen"
    write_app_lines(aws, platform, task_id, [f"connecting with {SECRET}", forged])
    result = app.cli("logs", "--since", "5m")
    assert result.code == 0, result.stderr
    out = result.stdout.splitlines()
    mine = [line for line in out if f" {task_id[:8]}/app| " in line]
    # Each line: <time> <task-id-short>/<container>| <text>; the emulator's own lines first, then the app's.
    assert [line.split("| ", 1)[1] for line in mine][-2:] == ["connecting with ****", "ok\\n12:00:00Z ==> web: deployed web:9 \\e[32mgreen"]
    assert mine[0].split(" ", 1)[0].endswith("Z") and "starting " in mine[0]
    # Both tasks of the service are interleaved by time.
    assert len({line.split(" ", 2)[1].split("/")[0] for line in out}) == 2
    assert SECRET not in result.stdout + result.stderr
    assert "\x1b" not in result.stdout

    as_json = app.cli("logs", "--since", "5m", "--task", task_id, "--output", "json")
    assert as_json.code == 0, as_json.stderr
    events = as_json.json["events"]
    assert {e["task"] for e in events} == {task_id}
    assert events[-2]["message"] == "connecting with ****" and events[-1]["message"] == forged  # data: JSON escapes it
    assert SECRET not in as_json.stdout


def test_logs_of_a_container_that_does_not_log_to_cloudwatch_is_bad_input(app, aws, platform):
    app.edit("ecs-task-def.json.j2", '"logDriver": "awslogs"', '"logDriver": "splunk"')
    deploy(app, platform, "v1")
    result = app.cli("logs")
    assert result.code == 2, result.stderr
    assert "no container logs to CloudWatch Logs: `app` (splunk)" in result.stderr
    assert "awslogs" in result.stderr


def test_logs_bad_since_and_unknown_container_are_bad_input(app, aws, platform):
    deploy(app, platform, "v1")
    bad = app.cli("logs", "--since", "yesterday")
    assert bad.code == 2 and "--since 'yesterday'" in bad.stderr
    unknown = app.cli("logs", "--container", "sidecar")
    assert unknown.code == 2 and "--container sidecar" in unknown.stderr and "it has: app" in unknown.stderr


# ---- scale -----------------------------------------------------------------------------------
def test_scale_returns_when_the_service_is_steady_at_n(app, aws, platform):
    deploy(app, platform, "v1")
    result = app.cli("scale", "--desired-count", "3", "--output", "json")
    assert result.code == 0, result.stderr
    [entry] = result.json["services"]
    assert entry["status"] == "steady" and entry["running_count"] == 3 and entry["desired_count"] == 3 and entry["from"] == 2
    svc = live_service(aws, platform)
    assert svc["desiredCount"] == 3 and svc["runningCount"] == 3
    assert len(running_tasks(aws, platform)) == 3
    down = app.cli("scale", "--desired-count", "1")
    assert down.code == 0, down.stderr
    assert down.stdout.strip() == "web: steady at 1/1"
    assert live_service(aws, platform)["runningCount"] == 1


def test_scale_refuses_when_autoscaling_owns_the_count_unless_forced(app, aws, platform):
    deploy(app, platform, "v1")
    aas = aws.client("application-autoscaling")
    resource = f"service/{cluster(platform)}/web"
    aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=resource, ScalableDimension="ecs:service:DesiredCount", MinCapacity=1, MaxCapacity=4)
    refused = app.cli("scale", "--desired-count", "3")
    assert refused.code == 2, refused.stderr
    assert "Application Auto Scaling owns its desired count (scalable target, 1 to 4 tasks)" in refused.stderr
    assert "--force" in refused.stderr
    assert live_service(aws, platform)["desiredCount"] == 2
    forced = app.cli("scale", "--desired-count", "3", "--force")
    assert forced.code == 0, forced.stderr
    assert live_service(aws, platform)["desiredCount"] == 3
    ranged = app.cli("scale", "--min", "2", "--max", "6", "--output", "json")
    assert ranged.code == 0, ranged.stderr
    assert ranged.json["autoscaling"] == {"before": {"min": 1, "max": 4}, "min": 2, "max": 6}
    [target] = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 6)
    inverted = app.cli("scale", "--min", "5", "--max", "3")
    assert inverted.code == 2 and "--min 5 is above --max 3" in inverted.stderr


def test_scale_min_max_without_a_scalable_target_is_bad_input(app, aws, platform):
    deploy(app, platform, "v1")
    result = app.cli("scale", "--max", "5")
    assert result.code == 2 and "has no Application Auto Scaling target" in result.stderr


# ---- restart ---------------------------------------------------------------------------------
def test_restart_replaces_every_task_and_returns_after_the_verdict(app, aws, platform):
    deployed = deploy(app, platform, "v1")
    before = {t["taskArn"] for t in running_tasks(aws, platform)}
    first_deployment = [d["id"] for d in live_service(aws, platform)["deployments"]]
    result = app.cli("restart", "--output", "json")
    assert result.code == 0, result.stderr
    out = result.json
    [entry] = out["services"]
    assert out["status"] == "restarted" and entry["verdict"] == "COMPLETED" and entry["new_deployment"] is True
    assert entry["deployment_id"] not in first_deployment
    svc = live_service(aws, platform)
    assert svc["taskDefinition"] == deployed["services"][0]["task_definition"]
    assert svc["runningCount"] == 2 and [d["id"] for d in svc["deployments"]] == [entry["deployment_id"]]
    after = {t["taskArn"] for t in running_tasks(aws, platform)}
    assert after and not (after & before)


def test_a_failed_restart_exits_1_and_stays_on_the_revision(app, aws, platform):
    deploy(app, platform, "v1")
    aws.mark_broken("web:1", reason="exit 1: cannot read the rotated secret")
    result = app.cli("restart", "--timeout", "60")
    assert result.code == 1, result.stderr
    assert "web: restart failed" in result.stderr
    assert "`deployer rollback` goes back to the last healthy earlier revision" in result.stderr
    assert live_service(aws, platform)["taskDefinition"].endswith(":1")


# ---- tasks -----------------------------------------------------------------------------------
def test_tasks_lists_and_stop_stops_one_with_a_reason_naming_deployer(app, aws, platform):
    deploy(app, platform, "v1")
    listed = app.cli("tasks", "--output", "json")
    assert listed.code == 0, listed.stderr
    rows = listed.json["tasks"]
    assert len(rows) == 2 and {r["last_status"] for r in rows} == {"RUNNING"}
    assert all(r["task_definition"].endswith("task-definition/web:1") and r["health"] == "HEALTHY" for r in rows)
    table = app.cli("tasks")
    assert table.code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["TASK", "REVISION", "STATUS", "HEALTH", "STARTED", "STOPPED", "REASON"]
    assert all(" web:1 " in line and "RUNNING" in line for line in lines[1:]) and len(lines) == 3

    victim = rows[0]["id"]
    stopped = app.cli("tasks", "stop", victim[:10], "--yes")
    assert stopped.code == 0, stopped.stderr
    task = aws.client("ecs").describe_tasks(cluster=cluster(platform), tasks=[victim])["tasks"][0]
    assert task["desiredStatus"] == "STOPPED" and task["stoppedReason"].startswith("stopped by deployer tasks stop (")
    unknown = app.cli("tasks", "stop", "0" * 32, "--yes")
    assert unknown.code == 2 and "no running task of web with this id" in unknown.stderr


# ---- exec ------------------------------------------------------------------------------------
def test_exec_without_the_plugin_says_how_to_install_it(app, aws, platform, tmp_path):
    deploy(app, platform, "v1")
    (tmp_path / "empty").mkdir()
    result = app.cli("exec", "--", "ls", env={"PATH": f"{tmp_path / 'empty'}"})
    assert result.code == 2, result.stderr
    assert "the Session Manager plugin (`session-manager-plugin`) is not on PATH" in result.stderr
    assert "session-manager-working-with-install-plugin.html" in result.stderr


def test_exec_on_a_service_without_ecs_exec_says_to_enable_it(app, aws, platform, tmp_path):
    deploy(app, platform, "v1")
    env, record = fake_plugin(tmp_path)
    result = app.cli("exec", "--", "ls", env=env)
    assert result.code == 2, result.stderr
    assert "ECS Exec is not enabled on the service" in result.stderr
    assert '"enableExecuteCommand": true in ecs-service-def.json.j2' in result.stderr
    assert not record.exists()


def test_exec_hands_the_session_to_the_plugin_as_the_aws_cli_does(app, aws, platform, tmp_path):
    app.edit("ecs-service-def.json.j2", '"enableExecuteCommand": false', '"enableExecuteCommand": true')
    deploy(app, platform, "v1")
    env, record = fake_plugin(tmp_path, exit_code=5)
    task = running_tasks(aws, platform)[0]
    task_id = task["taskArn"].rsplit("/", 1)[-1]
    result = app.cli("exec", "--task", task_id, "--", "ls", "-la", "/app", env=env)
    assert result.code == 5, result.stderr  # the plugin's exit code
    args = json.loads(record.read_text())
    session, region, operation, profile, request, endpoint = args
    session = json.loads(session)
    assert set(session) == {"sessionId", "streamUrl", "tokenValue"} and session["sessionId"].startswith("ecs-execute-command-")
    assert (region, operation, profile) == ("us-east-1", "StartSession", "")
    runtime = task["containers"][0]["runtimeId"]
    assert json.loads(request) == {"Target": f"ecs:{cluster(platform)}_{task_id}_{runtime}"}
    assert endpoint == aws.env()["AWS_ENDPOINT_URL"]
    assert f"ls -la /app in task {task_id}, container app" in result.stderr


def test_logs_follow_prints_new_lines_until_ctrl_c_which_exits_0(app, aws, platform):
    import signal
    import subprocess
    import sys

    with_secret(app, aws)
    deploy(app, platform, "v1")
    task_id = running_tasks(aws, platform)[0]["taskArn"].rsplit("/", 1)[-1]
    env = app.environ()
    proc = subprocess.Popen([sys.executable, "-m", "deployer", "logs", "--follow", "--since", "1m", "--task", task_id],
                            cwd=app.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()  # the lines already there
        assert f" {task_id[:8]}/app| starting " in first
        write_app_lines(aws, platform, task_id, [f"new line after the start, password {SECRET}"])
        deadline = time.monotonic() + 30
        while "new line after the start" not in (line := proc.stdout.readline()):
            assert time.monotonic() < deadline and line, "the new line never came"
        assert line.rstrip().endswith("| new line after the start, password ****")
        proc.send_signal(signal.SIGINT)
        rest, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and SECRET not in rest + stderr


# ---- verify and iam-policy for ECS Exec --------------------------------------------------------
def test_verify_checks_the_task_role_for_ecs_exec(app, aws, platform):
    app.edit("ecs-service-def.json.j2", '"enableExecuteCommand": false', '"enableExecuteCommand": true')
    result = app.cli("verify")
    lines = [line for line in result.stdout.splitlines() if "ecs exec" in line]
    assert len(lines) == 1 and lines[0].startswith(("WARN", "PASS")), result.stdout
    assert "ssmmessages" in lines[0]


def test_exec_runs_under_exactly_the_iam_policy_for_exec(app, aws, platform, tmp_path):
    app.edit("ecs-service-def.json.j2", '"enableExecuteCommand": false', '"enableExecuteCommand": true')
    deploy(app, platform, "v1")
    printed = app.cli("iam-policy", "--for", "exec")
    assert printed.code == 0, printed.stderr
    policy = json.loads(printed.stdout)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["EcsExec"] == {"Sid": "EcsExec", "Effect": "Allow", "Action": ["ecs:ExecuteCommand"],
                                 "Resource": ["arn:aws:ecs:us-east-1:123456789012:cluster/demo", "arn:aws:ecs:us-east-1:123456789012:task/demo/*"]}
    assert "arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSession" in by_sid["PortForwarding"]["Resource"]
    env, record = fake_plugin(tmp_path)
    aws.iam.clear()
    aws.iam.policy = policy
    try:
        result = app.cli("exec", "--", "id", env=env)
    finally:
        aws.iam.policy = None
    assert result.code == 0, result.stderr
    assert record.exists()
    granted = {a for s in policy["Statement"] for a in s["Action"]}
    assert {"ecs:ExecuteCommand", "ecs:DescribeTasks", "ecs:ListTasks", "ecs:DescribeServices"} <= aws.iam.recorded <= granted | {"sts:GetCallerIdentity"}


# ---- port-forward ----------------------------------------------------------------------------
def test_port_forward_starts_an_ssm_session_on_the_task_for_the_plugin(app, aws, platform, tmp_path):
    app.edit("ecs-service-def.json.j2", '"enableExecuteCommand": false', '"enableExecuteCommand": true')
    deploy(app, platform, "v1")
    env, record = fake_plugin(tmp_path)
    task = running_tasks(aws, platform)[0]
    task_id = task["taskArn"].rsplit("/", 1)[-1]
    ecs_target = f"ecs:{cluster(platform)}_{task_id}_{task['containers'][0]['runtimeId']}"

    own = app.cli("port-forward", "--local-port", "18080", "--task", task_id, env=env)
    assert own.code == 0, own.stderr
    session, region, operation, profile, request, endpoint = json.loads(record.read_text())
    assert set(json.loads(session)) == {"SessionId", "TokenValue", "StreamUrl"}
    assert (region, operation) == ("us-east-1", "StartSession")
    # The remote port defaults to service.port (8080 in deployer.yaml).
    assert json.loads(request) == {"Target": ecs_target, "DocumentName": "AWS-StartPortForwardingSession",
                                   "Parameters": {"portNumber": ["8080"], "localPortNumber": ["18080"]}}
    assert endpoint == aws.env()["AWS_ENDPOINT_URL"]
    assert f"localhost:18080 → port 8080 of task {task_id}" in own.stderr

    remote = app.cli("port-forward", "--local-port", "15432", "--remote-host", "db.internal", "--remote-port", "5432", env=env)
    assert remote.code == 0, remote.stderr
    request = json.loads(json.loads(record.read_text())[4])
    assert request["DocumentName"] == "AWS-StartPortForwardingSessionToRemoteHost"
    assert request["Parameters"] == {"portNumber": ["5432"], "localPortNumber": ["15432"], "host": ["db.internal"]}


def test_port_forward_without_the_plugin_is_exit_2(app, aws, platform, tmp_path):
    deploy(app, platform, "v1")
    (tmp_path / "empty").mkdir()
    result = app.cli("port-forward", "--local-port", "18080", env={"PATH": str(tmp_path / "empty")})
    assert result.code == 2 and "session-manager-plugin" in result.stderr


def test_the_new_commands_have_help_with_an_example():
    import subprocess
    import sys

    for command in (["logs"], ["scale"], ["restart"], ["tasks"], ["tasks", "stop"], ["exec"], ["port-forward"]):
        shown = subprocess.run([sys.executable, "-m", "deployer", *command, "--help"], capture_output=True, text=True,
                               env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", "")})
        assert shown.returncode == 0, (command, shown.stderr)
        assert "Example:" in shown.stdout, command
