"""The verdict on the bad days of real AWS (issue 10), end to end: the real `deployer` command against
the local AWS, with ECS's Service Deployments API answering or switched off (the fallback)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import image_ref
from tests.e2e.test_e2e_deploy import deploy, service, tags_of

API = pytest.mark.parametrize("api", ["on", "denied"])


def cluster(platform):
    return platform["outputs"]["ClusterName"]


def settle(aws, platform, td_suffix, name="web", timeout=30.0):
    """Wait (test side) until the service runs `td_suffix` with one COMPLETED deployment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        svc = service(aws, platform, name)
        if svc["taskDefinition"].endswith(td_suffix) and [d["rolloutState"] for d in svc["deployments"]] == ["COMPLETED"]:
            return svc
        time.sleep(0.1)
    raise AssertionError(f"{name} did not settle on {td_suffix}")


class Running:
    """`deployer …` started in the background, its stderr read line by line."""

    def __init__(self, app, *args, env=None):
        self.proc = subprocess.Popen([sys.executable, "-m", "deployer", *args], cwd=app.path, env=app.environ(env),
                                     stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines: list[str] = []

    def until(self, marker: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.lines.append(line)
            if marker in line:
                return line
        raise AssertionError(f"{marker!r} never came:\n{''.join(self.lines)}")

    def finish(self, timeout: float = 120):
        out, rest = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, "".join(self.lines) + rest


def deployments_of(aws, suffix):
    return [d for d in aws.state()["deployments"] if str(d.get("taskDefinition", "")).endswith(suffix)]


# ---- 1 + 4: `wait` judges the deployment the last release started, from ECS's record -----------------
@API
def test_wait_after_ecs_rolled_the_release_back_says_failed(app, aws, platform, api):
    aws.configure(service_deployments_api=api)
    assert deploy(app, platform, "v1").code == 0
    aws.mark_broken("*:broken", reason="exit 1: cannot connect to database")
    started = deploy(app, platform, "broken", "--no-wait")
    assert started.code == 0 and started.json["status"] == "started"
    settle(aws, platform, "web:1")  # the circuit breaker tripped and ECS rolled back to web:1
    waited = app.cli("wait", "--output", "json")
    assert waited.code == 1, waited.stderr
    entry = waited.json["services"][0]
    assert waited.json["status"] == "failed" and entry["status"] == "failed"
    assert entry["verdict"] == "ROLLED_BACK_BY_ECS" and entry["deployment_id"] == started.json["deployment_id"]
    assert entry["task_definition"].endswith("web:2") and entry["running_task_definition"].endswith("web:1")
    if api == "on":  # ECS's record: the breaker's count and threshold
        assert "ECS deployment circuit breaker: tasks failed to start" in entry["reason"] and "threshold 3" in entry["reason"]
        assert entry["service_deployment"].startswith("arn:aws:ecs:us-east-1:123456789012:service-deployment/")
    else:  # the fallback, said once
        assert waited.stderr.count("the ECS Service Deployments API is not available (AccessDeniedException") == 1
        assert "deployment failed: tasks failed to start" in entry["reason"]
    assert "deployer:healthy" not in tags_of(aws, entry["task_definition"])


def test_wait_in_text_mode_after_a_healthy_release(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    started = deploy(app, platform, "v2", "--no-wait")
    assert started.code == 0
    waited = app.cli("wait")
    assert waited.code == 0, waited.stderr
    assert "Traceback" not in waited.stderr
    assert waited.stdout.strip() == "web: deployed web:2"
    assert "deployer:healthy" in tags_of(aws, started.json["task_definition"])  # tagged by the wait


@API
def test_a_failed_release_follows_ecs_record_of_its_deployment(app, aws, platform, api):
    aws.configure(service_deployments_api=api)
    assert deploy(app, platform, "v1").code == 0
    aws.mark_broken("*:broken")
    aws.reset_counters()
    failed = deploy(app, platform, "broken")
    assert failed.code == 1 and failed.json["services"][0]["verdict"] == "ROLLED_BACK_BY_ECS"
    ecs = aws.get_counters()["ecs"]
    if api == "on":  # the record is found once, then read each poll; ECS's rollback is followed on it
        assert ecs["ListServiceDeployments"]["succeeded"] == 1 and ecs["DescribeServiceDeployments"]["succeeded"] >= 2
        assert "(3 failed tasks, threshold 3)" in failed.stderr
    else:
        assert ecs["ListServiceDeployments"]["failed"] == 1 and "DescribeServiceDeployments" not in ecs  # asked once, then not again
    assert service(aws, platform)["taskDefinition"].endswith("web:1")


# ---- 2: stale reads right after UpdateService ---------------------------------------------------------
@API
def test_stale_reads_after_update_service_are_pending_not_failed(app, aws, platform, api):
    aws.configure(service_deployments_api=api)
    assert deploy(app, platform, "v1").code == 0
    aws.configure(stale_read_seconds=2.0)
    result = deploy(app, platform, "v2")
    assert result.code == 0, result.stderr
    assert result.json["status"] == "deployed" and "ROLLED_BACK" not in result.stderr
    assert "deployer:healthy" in tags_of(aws, result.json["task_definition"])


def test_a_deployment_never_seen_ends_with_what_was_seen(app, aws, platform):
    aws.configure(service_deployments_api="unknown")
    assert deploy(app, platform, "v1").code == 0
    aws.configure(stale_read_seconds=600)
    result = app.cli("deploy", "--image", image_ref(platform, "v2"), env={"DEPLOYER_UNSEEN_WINDOW": "2"})
    assert result.code == 3, result.stderr
    assert "started by this run, was not listed by DescribeServices in 2s; the service showed PRIMARY deployment" in result.stderr
    assert "of web:1 (COMPLETED)" in result.stderr and "deployer wait --service web" in result.stderr
    assert "rolling back" not in result.stderr  # no verdict, so no rollback
    assert len(deployments_of(aws, "web:1")) == 1  # nothing undone behind the stale view


# ---- 3: SUPERSEDED ------------------------------------------------------------------------------------
@API
def test_a_deployment_replaced_by_another_actor_is_superseded_and_not_rolled_back(app, aws, platform, api):
    aws.configure(service_deployments_api=api)
    assert deploy(app, platform, "v1").code == 0
    assert deploy(app, platform, "v2").code == 0
    aws.configure(tick=0.5)
    running = Running(app, "deploy", "--image", image_ref(platform, "v3"), "--output", "json")
    running.until("watching web")
    # Someone else (the console) deploys web:1 meanwhile.
    aws.client("ecs").update_service(cluster=cluster(platform), service="web", taskDefinition="web:1")
    code, out, err = running.finish()
    assert code == 1, err
    assert "deployment failed (SUPERSEDED)" in err and "which this run did not start" in err
    assert "not rolled back: another actor's deployment replaced this run's" in err
    assert "superseded by another deployment, not rolled back" in err
    aws.configure(tick=0.05)
    settle(aws, platform, "web:1")
    assert len(deployments_of(aws, "web:2")) == 1  # deployer did not "roll back" to web:2 over the other actor


# ---- 5: alarms ----------------------------------------------------------------------------------------
ALARMED = """{
  "desiredCount": 2,
  "deploymentConfiguration": {
    "minimumHealthyPercent": 100, "maximumPercent": 200,
    "deploymentCircuitBreaker": { "enable": true, "rollback": true },
    "alarms": { "alarmNames": ["web-5xx"], "enable": true, "rollback": true }
  }
}"""


def put_alarm(aws, name, state="OK"):
    cw = aws.client("cloudwatch")
    cw.put_metric_alarm(AlarmName=name, MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB", Statistic="Sum",
                        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    if state != "OK":
        cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


@API
def test_a_release_failed_by_an_alarm_names_the_alarm(app, aws, platform, api):
    aws.configure(service_deployments_api=api)
    (app.path / "ecs-service-def.json.j2").write_text(ALARMED)
    put_alarm(aws, "web-5xx")
    assert deploy(app, platform, "v1").code == 0
    assert service(aws, platform)["deploymentConfiguration"]["alarms"]["alarmNames"] == ["web-5xx"]  # passed through
    aws.configure(alarm_bake_seconds=30)
    running = Running(app, "deploy", "--image", image_ref(platform, "v2"), "--output", "json")
    running.until("web: web:2 2/2 running")  # healthy tasks, now baking
    put_alarm(aws, "web-5xx", "ALARM")
    code, out, err = running.finish()
    assert code == 1, err
    assert "web: deployment failed (ROLLED_BACK_BY_ECS)" in err
    assert "alarm web-5xx fired" in err or "alarm(s) web-5xx in ALARM" in err
    assert "stopped: Essential container" not in err  # not the tasks ECS's rollback stopped
    aws.configure(alarm_bake_seconds=0)
    settle(aws, platform, "web:1")


def test_verify_checks_the_alarms(app, aws, platform):
    (app.path / "ecs-service-def.json.j2").write_text(ALARMED.replace('["web-5xx"]', '["web-5xx", "web-latency"]'))
    missing = app.cli("verify", "--output", "json")
    alarms = next(c for c in missing.json["checks"] if c["name"] == "alarms")
    assert missing.code == 1 and alarms["status"] == "fail" and "web-latency" in alarms["reason"] and "web-5xx" in alarms["reason"]
    put_alarm(aws, "web-5xx", "ALARM")
    put_alarm(aws, "web-latency")
    red = app.cli("verify", "--output", "json")
    alarms = next(c for c in red.json["checks"] if c["name"] == "alarms")
    assert red.code == 0 and alarms["status"] == "warn" and "web-5xx is in ALARM" in alarms["reason"] and "ignores" in alarms["reason"]


# ---- 6: desiredCount 0 --------------------------------------------------------------------------------
def test_desired_count_zero_is_deployed_but_not_marked_healthy(app, aws, platform):
    result = deploy(app, platform, "v1", "--desired-count", "0")
    assert result.code == 0, result.stderr
    assert result.json["status"] == "deployed"
    assert "desiredCount 0: no task ran, so web:1 is not marked healthy" in result.stderr
    assert "deployer:healthy" not in tags_of(aws, result.json["task_definition"])


# ---- 8: the timeout: stuck or slow; negative flags -------------------------------------------------------
NO_BREAKER = ('"deploymentCircuitBreaker": { "enable": true, "rollback": true }', '"deploymentCircuitBreaker": { "enable": false, "rollback": false }')


@API
def test_a_stuck_rollout_times_out_and_is_rolled_back_with_the_service_settings(app, aws, platform, api):
    """Item 8 (stuck) and item 10: the rollback restores the network configuration the release changed."""
    aws.configure(service_deployments_api=api)
    assert deploy(app, platform, "v1").code == 0
    app.edit("ecs-service-def.json.j2", *NO_BREAKER)
    app.edit("ecs-service-def.json.j2", '"enableExecuteCommand": false', '"enableExecuteCommand": false,\n  "networkConfiguration": {"awsvpcConfiguration": {'
             '"subnets": ["{{ environment.outputs.PrivateSubnet1 }}"], "securityGroups": ["{{ environment.outputs.ServiceSecurityGroup }}"], "assignPublicIp": "DISABLED"}}')
    aws.mark_broken("*:broken", stuck=True)  # tasks stay PENDING: nothing fails, nothing moves
    result = deploy(app, platform, "broken", "--timeout", "3")
    assert result.code == 1, result.stderr
    assert "deployment failed (TIMEOUT)" in result.stderr and "stuck: no task replaced for" in result.stderr
    assert "0 failed tasks" in result.stderr
    if api == "on":
        assert "with ECS's own rollback (StopServiceDeployment)" in result.stderr
    else:
        assert "rolling back to web:1, restoring deploymentConfiguration, networkConfiguration" in result.stderr
    svc = service(aws, platform)
    assert svc["taskDefinition"].endswith("web:1")
    out = platform["outputs"]
    assert sorted(svc["networkConfiguration"]["awsvpcConfiguration"]["subnets"]) == sorted([out["PrivateSubnet1"], out["PrivateSubnet2"]])


def test_a_slow_rollout_is_not_rolled_back_at_the_timeout(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    aws.configure(tick=1.0)  # a task a second: progress all along, and 8 of them take well past the 5 s
    result = deploy(app, platform, "v2", "--timeout", "5", "--desired-count", "8")
    assert result.code == 3, result.stderr
    assert "still rolling out after 5s (slow, not stuck" in result.stderr and "not rolled back" in result.stderr
    assert "deployer wait --service web" in result.stderr and "rolling back" not in result.stderr
    assert result.json["status"] == "started"
    waited = app.cli("wait", "--output", "json")
    assert waited.code == 0, waited.stderr
    assert waited.json["services"][0]["task_definition"].endswith("web:2")


def test_the_default_timeout_covers_the_target_group(app, aws, platform):
    app.edit("deployer.yaml", "  timeout: 300\n", "")
    aws.client("elbv2").modify_target_group_attributes(TargetGroupArn=platform["outputs"]["TargetGroupArn"],
                                                       Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "900"}])
    assert deploy(app, platform, "v1").code == 0
    result = deploy(app, platform, "v2")
    assert result.code == 0, result.stderr
    # grace 30 s + 2 × (10 s × 2 healthy checks) + 900 s + 60 s
    assert "timeout 1030s instead of deploy.timeout 600s: deregistration delay 900s + health checks 2×20s + grace 30s + 60s" in result.stderr
    assert "watching web (timeout 1030s)" in result.stderr
    # deploy.timeout written in deployer.yaml (or --timeout) is used as it is.
    assert "watching web (timeout 45s)" in deploy(app, platform, "v3", "--timeout", "45").stderr


@pytest.mark.parametrize("flag", [("--timeout", "-5"), ("--desired-count", "-1")])
def test_negative_timeout_and_desired_count_are_bad_input(app, aws, platform, flag):
    result = deploy(app, platform, "v1", *flag)
    assert result.code == 2 and flag[0] in result.stderr
    assert aws.client("ecs").list_task_definitions()["taskDefinitionArns"] == []


# ---- 9: lost sight --------------------------------------------------------------------------------------
def test_lost_sight_ends_with_exit_3_where_things_stand_and_how_to_resume(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    aws.configure(tick=0.5)
    running = Running(app, "deploy", "--image", image_ref(platform, "v2"), env={"DEPLOYER_LOST_SIGHT_AFTER": "2"})
    running.until("watching web")
    aws.burst(30, "throttle", services=["ecs"], operations=["DescribeServices"])
    code, out, err = running.finish()
    aws.configure(burst_until=None, fault_operations=None, tick=0.05)
    assert code == 3, err
    assert "lost sight of the rollout: no answer from ECS for" in err and "ThrottlingException" in err
    assert "web: deployment ecs-svc/" in err and "no verdict was given and nothing was rolled back" in err
    assert "deployer wait --service web" in err
    waited = app.cli("wait")
    assert waited.code == 0, waited.stderr


# ---- 12: interrupts ------------------------------------------------------------------------------------
def test_interrupt_after_register_before_update_names_the_unused_revision(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    aws.configure(slow_operations={"UpdateService": 3})
    running = Running(app, "deploy", "--image", image_ref(platform, "v2"))
    running.until("registered web:2")
    running.proc.send_signal(signal.SIGINT)
    code, out, err = running.finish()
    aws.configure(slow_operations={})
    assert code == 130, err
    assert "interrupted while starting the deployments: web: registered web:2, unused: the service was not updated and still runs web:1" in err
    time.sleep(3.5)  # the slow UpdateService's delay has passed: it was dropped, not applied
    assert service(aws, platform)["taskDefinition"].endswith("web:1")


def test_interrupt_after_success_tags_healthy_on_the_way_out(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    aws.configure(slow_operations={"TagResource": 2})
    running = Running(app, "deploy", "--image", image_ref(platform, "v2"))
    running.until("deployment completed")
    time.sleep(0.5)
    running.proc.send_signal(signal.SIGINT)
    code, out, err = running.finish()
    aws.configure(slow_operations={})
    assert code == 130, err
    assert "interrupted after the verdict: web deployed on web:2 (the healthy tags were written on the way out)" in err
    arn = service(aws, platform)["taskDefinition"]
    assert arn.endswith("web:2") and "deployer:healthy" in tags_of(aws, arn)


def test_interrupt_during_the_tools_rollback_and_rollback_while_in_progress(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    app.edit("ecs-service-def.json.j2", *NO_BREAKER)
    aws.mark_broken("*:broken")
    aws.configure(service_deployments_api="denied", tick=0.5)  # the tool's own rollback (UpdateService), slowly
    running = Running(app, "deploy", "--image", image_ref(platform, "broken"), "--timeout", "3")
    running.until("rolling back to web:1")
    running.until("web: web:1 ")  # the rollback's deployment is being watched
    running.proc.send_signal(signal.SIGINT)
    code, out, err = running.finish()
    assert code == 130, err
    assert "interrupted while rolling back (web → web:1); the release had failed: web: FAILED" in err
    aws.configure(tick=0.05)
    settle(aws, platform, "web:1")

    # `deployer rollback` while an interrupted deployment is still in progress: it replaces it.
    aws.configure(tick=1.0)
    started = deploy(app, platform, "v3", "--no-wait")
    assert started.code == 0
    rolled = app.cli("rollback", "--yes", "--output", "json")
    assert rolled.code == 0, rolled.stderr
    assert f"deployment {started.json['deployment_id']} of web:3 is in progress; the rollback replaces it" in rolled.stderr
    assert service(aws, platform)["taskDefinition"].endswith("web:1")
    # `wait` now judges the rollback's deployment (deployer started it), not the replaced one.
    aws.configure(tick=0.05)
    waited = app.cli("wait", "--output", "json")
    assert waited.code == 0 and waited.json["services"][0]["deployment_id"] == rolled.json["services"][0]["deployment_id"]


def test_alarm_names_from_an_environment_output_are_passed_through(app, aws, platform):
    """`environment.outputs.alarms` names an output with comma-joined alarm names (here a stack of the
    admins' outputs plus DeployAlarms)."""
    import json

    outputs = {k: {"Value": v} for k, v in platform["outputs"].items()}
    outputs["DeployAlarms"] = {"Value": "web-5xx, web-latency"}
    template = {"Resources": {"Marker": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "alarm-env-marker"}}}, "Outputs": outputs}
    aws.client("cloudformation").create_stack(StackName="alarm-env", TemplateBody=json.dumps(template))
    app.edit("deployer.yaml", "  proton: demo\n", "  stack: alarm-env\n")
    app.edit("deployer.yaml", "    repository: EcrRepositoryUri\n", "    repository: EcrRepositoryUri\n    alarms: DeployAlarms\n")
    put_alarm(aws, "web-5xx")
    put_alarm(aws, "web-latency")
    result = deploy(app, platform, "v1")
    assert result.code == 0, result.stderr
    assert service(aws, platform)["deploymentConfiguration"]["alarms"] == {"alarmNames": ["web-5xx", "web-latency"], "enable": True, "rollback": True}


def test_status_names_the_deployment_the_last_release_started(app, aws, platform):
    started = deploy(app, platform, "v1", "--no-wait")
    assert started.code == 0
    shown = app.cli("status", "--output", "json")
    assert shown.code == 0, shown.stderr
    last = shown.json["services"][0]["last_release"]
    assert last["deployment_id"] == started.json["deployment_id"] and last["task_definition"].endswith("web:1")
    assert f"last release: deployment {started.json['deployment_id']} of web:1" in app.cli("status").stdout
