"""Commands that report state — status, revisions, iam-policy, wait, --version/--help — checked on their output."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import zygote
from tests.e2e.test_e2e_deploy import deploy


def test_status_text_and_json(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    app.commit("second commit")
    assert deploy(app, platform, "v2").code == 0
    result = app.cli("status", "--output", "json")
    assert result.code == 0, result.stderr
    svc = result.json["services"][0]
    assert svc["service"] == "web" and svc["task_definition"].endswith("web:2")
    assert svc["running"] == svc["desired"] == 2
    (deployment,) = svc["deployments"]
    assert deployment["status"] == "PRIMARY" and deployment["rollout_state"] == "COMPLETED"
    assert deployment["image"] == platform["outputs"]["EcrRepositoryUri"] + ":v2"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=app.path, capture_output=True, text=True).stdout.strip()
    assert deployment["commit"] == head
    assert any("has reached a steady state" in e["message"] for e in svc["events"])
    text = app.cli("status")
    assert text.code == 0
    assert "web (ACTIVE) in " in text.stdout and "PRIMARY  web:2" in text.stdout and "COMPLETED" in text.stdout
    assert "has reached a steady state" in text.stdout


def test_revisions_mark_running_and_healthy(app, aws, platform):
    app.edit("ecs-service-def.json.j2", '"rollback": true', '"rollback": false')
    assert deploy(app, platform, "v1").code == 0
    aws.mark_broken("*:broken")
    assert deploy(app, platform, "broken").code == 1
    result = app.cli("revisions", "--output", "json")
    assert result.code == 0, result.stderr
    rows = {r["revision"]: r for r in result.json["services"][0]["revisions"]}
    assert set(rows) == {1, 2}
    assert rows[1]["running"] is True and rows[1]["healthy_at"]
    assert rows[2]["running"] is False and rows[2]["healthy_at"] is None
    assert rows[2]["image"].endswith(":broken")
    text = app.cli("revisions")
    lines = text.stdout.splitlines()
    assert any(line.strip().startswith("1  ▶") for line in lines), text.stdout
    assert any(line.strip().startswith("2") and " - " in line for line in lines)


def test_iam_policy_names_every_resource(app, aws, platform):
    result = app.cli("iam-policy")
    assert result.code == 0, result.stderr
    policy = json.loads(result.stdout)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    out = platform["outputs"]
    repo = out["EcrRepositoryUri"].split("/", 1)[1]
    assert by_sid["EcrPushOneRepository"]["Resource"].endswith(f":repository/{repo}")
    assert by_sid["EcsServices"]["Resource"] == [f"arn:aws:ecs:us-east-1:123456789012:service/{out['ClusterName']}/web"]
    assert sorted(by_sid["PassTaskRoles"]["Resource"]) == sorted([out["TaskExecutionRoleArn"], out["TaskRoleArn"]])
    assert by_sid["PassTaskRoles"]["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert by_sid["EnvironmentOutputs"]["Resource"].startswith(f"arn:aws:cloudformation:us-east-1:123456789012:stack/{platform['stack']}/")
    assert "FindProtonStack" in by_sid
    assert "ecs:TagResource" in by_sid["EcsServices"]["Action"] and "ecs:ListServiceDeployments" in by_sid["EcsServices"]["Action"]
    assert by_sid["EcsServiceDeployments"]["Resource"] == [
        f"arn:aws:ecs:us-east-1:123456789012:service-deployment/{out['ClusterName']}/web/*",
        f"arn:aws:ecs:us-east-1:123456789012:service-revision/{out['ClusterName']}/web/*",
    ]
    assert "ecs:StopServiceDeployment" in by_sid["EcsServiceDeployments"]["Action"]
    assert "cloudwatch:DescribeAlarms" in by_sid["DeploymentAlarms"]["Action"]
    # A cross-account image's checks read its repository's policy and images; the environment's account comes from STS.
    assert by_sid["ImageRepositoryAccess"] == {"Sid": "ImageRepositoryAccess", "Effect": "Allow", "Action": ["ecr:GetRepositoryPolicy", "ecr:DescribeImages"],
                                               "Resource": f"arn:aws:ecr:us-east-1:123456789012:repository/{repo}"}
    assert by_sid["EnvironmentAccount"]["Action"] == ["sts:GetCallerIdentity"]
    assert "DeployerPolicy" not in by_sid  # the platform has no DeployerPolicy output: nothing to read


def test_version_and_help(tmp_path):
    version = subprocess.run([sys.executable, "-m", "deployer", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("deployer ")
    env = {"COLUMNS": "200", "PATH": "/usr/bin:/bin"}
    server = zygote()  # the same main() in a process of its own, without Python's start-up each time
    for command in ("release", "deploy", "rollback", "render", "diff", "status", "revisions", "env", "verify", "build", "wait", "run", "init", "iam-policy"):
        if server is not None:
            code, stdout, stderr = server.run([command, "--help"], cwd=tmp_path, env=env, timeout=60)
        else:
            shown = subprocess.run([sys.executable, "-m", "deployer", command, "--help"], capture_output=True, text=True, env=env)
            code, stdout, stderr = shown.returncode, shown.stdout, shown.stderr
        assert code == 0, (command, stderr)
        assert "Example:" in stdout, command


def test_no_wait_returns_at_once_then_wait_gives_the_verdict(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    aws.configure(tick=0.5)
    started = deploy(app, platform, "v2", "--no-wait")
    assert started.code == 0 and started.json["status"] == "started"
    waited = app.cli("wait", "--output", "json")
    assert waited.code == 0, waited.stderr
    assert waited.json["services"][0]["verdict"] == "COMPLETED"


def test_verbose_shows_each_aws_call_and_assume_role_works(app, aws, platform):
    result = app.cli("env", "-v", "--assume-role-arn", platform["outputs"]["TaskRoleArn"])
    assert result.code == 0, result.stderr
    assert "aws sts.AssumeRole" in result.stderr
    assert "aws cloudformation.DescribeStacks" in result.stderr
    assert "aws cloudformation.ListStacks" in result.stderr
