"""`deployer env --all` with environments it cannot read: the exit code rule and the text of a failing one."""

from __future__ import annotations

from deployer.commands.env import all_text, failed_exit_code


def test_the_exit_code_is_the_failing_environments_own_or_3_when_they_differ():
    assert failed_exit_code({3}) == 3
    assert failed_exit_code({2}) == 2
    assert failed_exit_code({2, 3}) == 3
    assert failed_exit_code({1, 2}) == 3


def test_a_failing_environment_is_shown_with_its_error_role_and_hint_between_the_others():
    ok = {"environment": "staging", "account": "222222222222", "role_arn": "arn:aws:iam::222222222222:role/r", "region": "us-east-1",
          "stack": "s", "name": "s", "source": "stack", "cluster": "staging", "repository": "repo", "outputs": {"ClusterName": "staging"}}
    bad = {"environment": "prod", "role_arn": "arn:aws:iam::333333333333:role/r", "error": "AWS refused while starting an AWS session: AccessDenied: …",
           "exit_code": 3, "hint": "check the role's trust policy"}
    text = all_text({"environments": [bad, ok], "failed": ["prod"], "exit_code": 3})
    prod, staging = text.split("\n\n")
    assert prod.splitlines() == ["prod", "  error         AWS refused while starting an AWS session: AccessDenied: …",
                                 "  role          arn:aws:iam::333333333333:role/r", "  hint          check the role's trust policy"]
    assert staging.startswith("staging\n  account       222222222222 (role arn:aws:iam::222222222222:role/r)")
    # The one environment of a config without `environments:`, failing, and without a role.
    alone = all_text({"environments": [{"environment": None, "role_arn": None, "error": "no AWS credentials while …", "exit_code": 3}]})
    assert alone == "(the one environment)\n  error         no AWS credentials while …"
