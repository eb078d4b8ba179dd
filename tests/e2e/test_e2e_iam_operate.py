"""`deployer iam-policy --for operate`: the on-call developer's role for the everyday commands (logs,
tasks, tasks stop, scale, restart), checked with the local AWS's IAM simulation (tests/localaws/iam.py):
each command passes under exactly the printed policy, and without the statement it needs it is refused
naming the action, with nothing changed."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ecs_state, image_ref
from tests.e2e.test_e2e_everyday import SECRET, cluster, deploy, live_service, running_tasks, with_secret, write_app_lines
from tests.localaws.iam import ALWAYS_ALLOWED, allowed

ACCOUNT = "arn:aws:ecs:us-east-1:123456789012"


def policy_for_operate(app) -> tuple[dict, str]:
    result = app.cli("iam-policy", "--for", "operate")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def register_target(aws, platform, low=1, high=4) -> str:
    return aws.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs", ResourceId=f"service/{cluster(platform)}/web", ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=low, MaxCapacity=high)["ScalableTargetARN"]


def target_range(aws, platform) -> tuple:
    [target] = aws.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[f"service/{cluster(platform)}/web"])["ScalableTargets"]
    return target["MinCapacity"], target["MaxCapacity"]


def without_statement(policy: dict, sid: str) -> dict:
    assert sid in {s["Sid"] for s in policy["Statement"]}
    return {**policy, "Statement": [s for s in policy["Statement"] if s["Sid"] != sid]}


def test_operate_policy_names_the_apps_resources(app, aws, platform):
    with_secret(app, aws)
    deploy(app, platform, "v1")
    policy, warned = policy_for_operate(app)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    demo = cluster(platform)
    assert by_sid["ScaleAndRestart"] == {"Sid": "ScaleAndRestart", "Effect": "Allow", "Action": ["ecs:UpdateService"], "Resource": [f"{ACCOUNT}:service/{demo}/web"]}
    assert by_sid["StopTasks"]["Resource"] == by_sid["DescribeTasks"]["Resource"] == f"{ACCOUNT}:task/{demo}/*"
    assert by_sid["FindTasks"]["Condition"] == {"ArnEquals": {"ecs:cluster": f"{ACCOUNT}:cluster/{demo}"}}
    assert by_sid["ReadLogs"] == {"Sid": "ReadLogs", "Effect": "Allow", "Action": ["logs:FilterLogEvents"],
                                  "Resource": [f"arn:aws:logs:us-east-1:123456789012:log-group:{platform['outputs']['LogGroupName']}:*"]}
    assert by_sid["MaskTaskSecrets"]["Resource"] == ["arn:aws:ssm:us-east-1:123456789012:parameter/demo/db-password"]
    assert by_sid["RecordDeployments"]["Resource"] == [f"{ACCOUNT}:service/{demo}/web", f"{ACCOUNT}:task-definition/web:*"]
    # Never a registration, a role passed, a deregistration or a task run.
    granted = {a for s in policy["Statement"] for a in s["Action"]}
    assert not granted & {"ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:CreateService", "ecs:RunTask", "iam:PassRole", "ecr:PutImage"}
    # No scalable target yet: the range is not granted, and the warning says so.
    assert "AutoscalingRange" not in by_sid
    assert "web: no Application Auto Scaling target now: the policy does not grant `scale --min/--max`" in warned
    target = register_target(aws, platform)
    policy, warned = policy_for_operate(app)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["AutoscalingRange"] == {"Sid": "AutoscalingRange", "Effect": "Allow", "Action": ["application-autoscaling:RegisterScalableTarget"], "Resource": [target]}
    assert "Application Auto Scaling" not in warned


def test_the_everyday_commands_run_under_exactly_the_operate_policy(app, aws, platform, enforce):
    with_secret(app, aws)
    deploy(app, platform, "v1")
    register_target(aws, platform, 1, 4)
    policy, _ = policy_for_operate(app)
    granted = {a for s in policy["Statement"] for a in s["Action"]}
    task_id = running_tasks(aws, platform)[0]["taskArn"].rsplit("/", 1)[-1]
    write_app_lines(aws, platform, task_id, [f"connecting with {SECRET}"])
    enforce(policy)

    logs = app.cli("logs", "--since", "5m")
    assert logs.code == 0, logs.stderr
    assert f"{task_id[:8]}/app| connecting with ****" in logs.stdout and SECRET not in logs.stdout + logs.stderr
    listed = app.cli("tasks", "--output", "json")
    assert listed.code == 0, listed.stderr
    assert task_id in {t["id"] for t in listed.json["tasks"]}
    stopped = app.cli("tasks", "stop", task_id, "--yes")
    assert stopped.code == 0, stopped.stderr
    scaled = app.cli("scale", "--desired-count", "3", "--force")
    assert scaled.code == 0, scaled.stderr
    ranged = app.cli("scale", "--min", "2", "--max", "6")
    assert ranged.code == 0, ranged.stderr
    before = live_service(aws, platform)["deployments"][0]["id"]
    restarted = app.cli("restart", "--output", "json")
    assert restarted.code == 0, restarted.stderr
    assert restarted.json["status"] == "restarted"
    called = aws.iam.recorded - ALWAYS_ALLOWED
    aws.iam.policy = None

    assert {a for a in called if not allowed(policy, a)} == set()
    assert {"logs:FilterLogEvents", "ssm:GetParameter", "kms:Decrypt", "ecs:ListTasks", "ecs:DescribeTasks", "ecs:DescribeTaskDefinition",
            "ecs:StopTask", "ecs:UpdateService", "ecs:TagResource", "application-autoscaling:DescribeScalableTargets",
            "application-autoscaling:RegisterScalableTarget", "ssm:PutParameter", "ssm:DeleteParameter"} <= called
    # Granted and not seen here: the watch's ECS Service Deployments reads (the emulator's rollout is judged
    # before it needs them), and the Secrets Manager twin of the masking read.
    assert granted - called <= {"ecs:ListServiceDeployments", "ecs:DescribeServiceDeployments", "ecs:DescribeServiceRevisions",
                                "secretsmanager:GetSecretValue", "cloudformation:ListStacks",
                                "cloudformation:DescribeStacks"}, granted - called
    ecs = aws.client("ecs")
    assert ecs.describe_tasks(cluster=cluster(platform), tasks=[task_id])["tasks"][0]["desiredStatus"] == "STOPPED"
    assert target_range(aws, platform) == (2, 6)
    service = live_service(aws, platform)
    assert service["desiredCount"] == 3 and service["deployments"][0]["id"] != before


def test_the_operate_policy_cannot_deploy(app, aws, platform, enforce):
    deploy(app, platform, "v1")
    policy, _ = policy_for_operate(app)
    before = ecs_state(aws, cluster(platform))
    enforce(policy)
    refused = app.cli("deploy", "--image", image_ref(platform, "v2"))
    assert refused.code in (2, 3) and "not authorized to perform: " in refused.stderr, refused.stderr
    assert ecs_state(aws, cluster(platform)) == before


# (command, the statement taken away, the action named in the refusal)
REFUSED = [
    (("logs", "--since", "5m"), "ReadLogs", "logs:FilterLogEvents"),
    (("tasks",), "DescribeTasks", "ecs:DescribeTasks"),
    (("tasks", "stop", "{task}", "--yes"), "StopTasks", "ecs:StopTask"),
    (("scale", "--desired-count", "3", "--force"), "ScaleAndRestart", "ecs:UpdateService"),
    (("scale", "--desired-count", "3", "--force"), "ReleaseLease", "ssm:GetParametersByPath"),
    (("scale", "--min", "2", "--max", "6"), "AutoscalingRange", "application-autoscaling:RegisterScalableTarget"),
    (("restart",), "ScaleAndRestart", "ecs:UpdateService"),
]


@pytest.mark.parametrize(("args", "sid", "action"), REFUSED, ids=[f"{' '.join(a[:2])} without {s}" for a, s, _ in REFUSED])
def test_each_command_without_its_statement_is_refused_naming_the_action(app, aws, platform, enforce, args, sid, action):
    deploy(app, platform, "v1")
    register_target(aws, platform, 1, 4)
    policy, _ = policy_for_operate(app)
    task_id = running_tasks(aws, platform)[0]["taskArn"].rsplit("/", 1)[-1]
    before = (ecs_state(aws, cluster(platform)), live_service(aws, platform)["desiredCount"], target_range(aws, platform),
              sorted(t["taskArn"] for t in running_tasks(aws, platform)))
    enforce(without_statement(policy, sid))
    result = app.cli(*[a.format(task=task_id) for a in args])
    aws.iam.policy = None
    assert result.code == 3, (result.code, result.stderr)
    assert f"not authorized to perform: {action}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr, result.stderr
    if sid == "ReleaseLease":
        assert "statement ReleaseLease of `deployer iam-policy --for release`, or `--for operate`" in result.stderr, result.stderr
    after = (ecs_state(aws, cluster(platform)), live_service(aws, platform)["desiredCount"], target_range(aws, platform),
             sorted(t["taskArn"] for t in running_tasks(aws, platform)))
    assert after == before
