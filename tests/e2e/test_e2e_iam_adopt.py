"""`deployer iam-policy --for adopt`: exactly the actions `deployer adopt` calls, checked with the local
AWS's IAM simulation (tests/localaws/iam.py): adopt (the hand-over, then a re-run that finds nothing to
hand over) passes under exactly that policy, every action of it is requested, and without any one of
them adopt fails naming it."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_e2e_adopt import SERVICE_STACK, adopt, create_service_stack, stack_state, workdir  # noqa: F401 - fixture

ACTIONS = [
    "application-autoscaling:DescribeScalableTargets",
    "cloudformation:DeleteStack",
    "cloudformation:DescribeStacks",
    "cloudformation:GetTemplate",
    "cloudformation:ListStackResources",
    "cloudformation:ListStacks",
    "cloudformation:UpdateStack",
    "ecs:DescribeServices",
    "ecs:DescribeTaskDefinition",
    "scheduler:ListSchedules",
]


def policy_for_adopt(app, platform) -> dict:
    result = app.cli("iam-policy", "--for", "adopt", "--cluster", platform["outputs"]["ClusterName"], "--service", "web",
                     "--stack", platform["stack"], "--region", "us-east-1")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def actions_of(policy: dict) -> set[str]:
    return {a for s in policy["Statement"] for a in s["Action"]}


def without(policy: dict, action: str) -> dict:
    statements = [{**s, "Action": [a for a in s["Action"] if a != action]} for s in policy["Statement"]]
    return {**policy, "Statement": [s for s in statements if s["Action"]]}


def test_adopt_runs_under_exactly_its_policy(workdir, aws, platform):  # noqa: F811
    create_service_stack(aws, platform)
    policy = policy_for_adopt(workdir, platform)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["HandOverFromOwningStack"]["Resource"] == f"arn:aws:cloudformation:us-east-1:123456789012:stack/{SERVICE_STACK}/*"
    assert by_sid["EnvironmentOutputs"]["Resource"] == f"arn:aws:cloudformation:us-east-1:123456789012:stack/{platform['stack']}/*"
    assert by_sid["EcsService"]["Resource"] == f"arn:aws:ecs:us-east-1:123456789012:service/{platform['outputs']['ClusterName']}/web"
    assert actions_of(policy) == set(ACTIONS)

    aws.iam.clear()
    aws.iam.policy = policy
    try:
        first = adopt(workdir, platform, "--yes")
        assert first.code == 0, first.stderr
        assert SERVICE_STACK not in stack_state(aws, platform)["stacks"]
        again = adopt(workdir, platform, "--yes")  # nothing owns it any more: the stacks are scanned
        assert again.code == 0 and "no CloudFormation stack owns web" in again.stderr, again.stderr
    finally:
        aws.iam.policy = None
    assert aws.iam.recorded == set(ACTIONS)  # every action granted was used: none to spare


@pytest.mark.parametrize("action", ACTIONS)
def test_adopt_without_one_action_of_its_policy_fails_naming_it(workdir, aws, platform, action):  # noqa: F811
    create_service_stack(aws, platform)
    policy = policy_for_adopt(workdir, platform)
    aws.iam.policy = without(policy, action)
    try:
        results = [adopt(workdir, platform, "--yes")]
        if results[0].code == 0:
            results.append(adopt(workdir, platform, "--yes"))
    finally:
        aws.iam.policy = None
    failed = results[-1]
    if action == "application-autoscaling:DescribeScalableTargets":
        # An optional read (init keeps desiredCount when it cannot look): adopt goes on and says so, naming it.
        assert failed.code == 0 and f"could not check whether Application Auto Scaling sets web's desiredCount ({action}: AccessDenied" in results[0].stderr, results[0].stderr
        return
    if action == "scheduler:ListSchedules":
        # An optional read (the diff after init lists the app's schedules; without it there are none to show).
        assert failed.code == 0, failed.stderr
        return
    assert failed.code != 0, [r.stderr for r in results]
    assert f"not authorized to perform: {action}" in failed.stderr, failed.stderr
    assert "unexpected error" not in failed.stderr, failed.stderr


def test_iam_policy_for_adopt_needs_its_flags_and_the_others_refuse_them(app, aws, platform):
    missing = app.cli("iam-policy", "--for", "adopt", "--cluster", platform["outputs"]["ClusterName"], "--stack", platform["stack"])
    assert missing.code == 2 and "pass --cluster, --service and exactly one of --stack or --proton" in missing.stderr, missing.stderr
    stray = app.cli("iam-policy", "--for", "release", "--service", "web")
    assert stray.code == 2 and "--service: only with --for adopt" in stray.stderr, stray.stderr
