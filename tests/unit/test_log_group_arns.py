"""The log-group ARNs the IAM policies of `--for release`, `--for run` and `--for operate` name
(deployer/release/iam_policy.py: one helper): each container's awslogs-group in its awslogs-region."""

from __future__ import annotations

from types import SimpleNamespace

from deployer.release import iam_policy


def task_definition(*options: dict) -> dict:
    return {"containerDefinitions": [{"name": f"c{i}", "logConfiguration": {"logDriver": "awslogs", "options": o}} for i, o in enumerate(options)]}


def test_log_group_arns_are_in_each_containers_awslogs_region():
    arns = iam_policy.log_group_arns([task_definition(
        {"awslogs-group": "/ecs/demo", "awslogs-region": "eu-west-1"},
        {"awslogs-group": "/ecs/sidecar"},
        {"awslogs-group": "/ecs/same", "awslogs-region": "us-east-1"},
    )], account="123456789012", region="us-east-1")
    assert arns == ["arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/demo:*",
                    "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/same:*",
                    "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/sidecar:*"]


def test_a_container_of_another_driver_names_no_log_group():
    definitions = [{"containerDefinitions": [
        {"name": "router", "logConfiguration": {"logDriver": "awsfirelens", "options": {"awslogs-group": "/not/read"}}}, {"name": "bare"}]}]
    assert iam_policy.log_group_arns(definitions, account="123456789012", region="us-east-1") == []


def test_the_run_policys_log_statement_is_in_the_awslogs_region():
    inputs = iam_policy.PolicyInputs(account="123456789012", region="us-east-1", cluster="demo", services=(), repository="web", stack="demo",
                                     rendered=(SimpleNamespace(task_definition=task_definition({"awslogs-group": "/ecs/demo", "awslogs-region": "eu-west-1"})),))
    by_sid = {s["Sid"]: s for s in iam_policy.iam_policy(inputs, "run")["Statement"]}
    assert by_sid["ReadTaskLogs"] == {"Sid": "ReadTaskLogs", "Effect": "Allow", "Action": ["logs:GetLogEvents"],
                                      "Resource": ["arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/demo:*"]}
