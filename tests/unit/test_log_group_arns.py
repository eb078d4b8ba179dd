"""The log-group ARNs the IAM policies of `--for release`, `--for run` and `--for operate` name
(commands/iam_policy.py: one helper): each container's awslogs-group in its awslogs-region."""

from __future__ import annotations

from types import SimpleNamespace

from deployer.commands import iam_policy


def rendered(*options: dict) -> list:
    return [SimpleNamespace(task_definition={"containerDefinitions": [
        {"name": f"c{i}", "logConfiguration": {"logDriver": "awslogs", "options": o}} for i, o in enumerate(options)]})]


def names(region: str = "us-east-1") -> iam_policy._Names:
    found = iam_policy._Names.__new__(iam_policy._Names)
    found.region, found.account, found.partition, found.cluster, found.services = region, "123456789012", "aws", "demo", []
    return found


def test_log_group_arns_are_in_each_containers_awslogs_region():
    arns = iam_policy.log_group_arns(names(), rendered(
        {"awslogs-group": "/ecs/demo", "awslogs-region": "eu-west-1"},
        {"awslogs-group": "/ecs/sidecar"},
        {"awslogs-group": "/ecs/same", "awslogs-region": "us-east-1"},
    ))
    assert arns == ["arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/demo:*",
                    "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/same:*",
                    "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/sidecar:*"]


def test_a_container_of_another_driver_names_no_log_group():
    definitions = [SimpleNamespace(task_definition={"containerDefinitions": [
        {"name": "router", "logConfiguration": {"logDriver": "awsfirelens", "options": {"awslogs-group": "/not/read"}}}, {"name": "bare"}]})]
    assert iam_policy.log_group_arns(names(), definitions) == []


def test_the_run_policys_log_statement_is_in_the_awslogs_region():
    by_sid = {s["Sid"]: s for s in iam_policy._run(None, names(), rendered({"awslogs-group": "/ecs/demo", "awslogs-region": "eu-west-1"}))}
    assert by_sid["ReadTaskLogs"] == {"Sid": "ReadTaskLogs", "Effect": "Allow", "Action": ["logs:GetLogEvents"],
                                      "Resource": ["arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/demo:*"]}
