"""A container whose awslogs-region is not the session's: the release, run and operate policies name its
log group in that region (one helper, so the three agree), the pre-flight finds the group there, and
`run`, `logs` and a failed release's diagnosis read it there. Against the local AWS with its IAM simulation."""

from __future__ import annotations

import json
import time

import boto3

from tests.conftest import image_ref
from tests.e2e.test_e2e_everyday import deploy, running_tasks
from tests.e2e.test_e2e_iam_operate import policy_for_operate

OTHER_REGION = "eu-west-1"


def policy_for(app, use: str) -> dict:
    result = app.cli("iam-policy", "--for", use)
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def logs_in(aws, region: str):
    return boto3.client("logs", endpoint_url=aws.endpoint, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")


def logging_to_another_region(app, aws, platform) -> str:
    """The app's container logs to a group that exists only in eu-west-1 (the session's region is us-east-1)."""
    group = "/demo/eu-only"
    logs_in(aws, OTHER_REGION).create_log_group(logGroupName=group)
    app.edit("ecs-task-def.json.j2", '"awslogs-group": "{{ environment.outputs.LogGroupName }}"', f'"awslogs-group": "{group}"')
    app.edit("ecs-task-def.json.j2", '"awslogs-region": "us-east-1"', f'"awslogs-region": "{OTHER_REGION}"')
    app.commit("logs in another region")
    return group


def test_the_policies_name_the_log_group_in_the_containers_awslogs_region_and_deployer_reads_it_there(app, aws, platform, enforce):
    group = logging_to_another_region(app, aws, platform)
    # The pre-flight finds the group where the container logs (not in the session's region, where there is none).
    verified = app.cli("verify")
    assert verified.code == 0 and f"{group} exists in {OTHER_REGION}" in verified.stdout + verified.stderr, verified.stdout + verified.stderr
    deploy(app, platform, "v1")
    expected = [f"arn:aws:logs:{OTHER_REGION}:123456789012:log-group:{group}:*"]
    by_use = {use: {s["Sid"]: s for s in policy_for(app, use)["Statement"]} for use in ("release", "run", "operate")}
    assert by_use["release"]["ReadFailedTaskLogs"]["Resource"] == expected
    assert by_use["run"]["ReadTaskLogs"]["Resource"] == expected
    assert by_use["operate"]["ReadLogs"]["Resource"] == expected

    # `run` under its policy prints the task's lines, read in eu-west-1.
    enforce(policy_for(app, "run"))
    ran = app.cli("run", "--", "echo", "migrated")
    assert ran.code == 0, ran.stderr
    assert "  app| migrated" in ran.stdout.splitlines()
    assert logs_in(aws, OTHER_REGION).describe_log_streams(logGroupName=group)["logStreams"]

    # `logs` under the operate policy reads the service's task's stream there too.
    task_id = running_tasks(aws, platform)[0]["taskArn"].rsplit("/", 1)[-1]
    there = logs_in(aws, OTHER_REGION)
    try:
        there.create_log_stream(logGroupName=group, logStreamName=f"web/app/{task_id}")
    except there.exceptions.ResourceAlreadyExistsException:
        pass  # the emulator's task wrote its start there already
    there.put_log_events(logGroupName=group, logStreamName=f"web/app/{task_id}",
                                              logEvents=[{"timestamp": int(time.time() * 1000), "message": "served in eu-west-1"}])
    policy, _ = policy_for_operate(app)
    enforce(policy)
    read = app.cli("logs", "--since", "5m")
    assert read.code == 0, read.stderr
    assert f"{task_id[:8]}/app| served in eu-west-1" in read.stdout


def test_a_failed_release_reads_the_stopped_tasks_log_in_the_containers_awslogs_region(app, aws, platform, enforce):
    logging_to_another_region(app, aws, platform)
    deploy(app, platform, "v1")
    aws.mark_broken("*:broken", reason="panic: cannot connect to database in eu-west-1")
    enforce(policy_for(app, "release"))

    failed = app.cli("deploy", "--image", image_ref(platform, "broken"))

    assert failed.code == 1, failed.stderr
    # The last log lines of the stopped task, read in its awslogs-region (the group exists only there).
    assert "app| ERROR panic: cannot connect to database in eu-west-1" in failed.stderr, failed.stderr
    assert "(no log stream)" not in failed.stderr
