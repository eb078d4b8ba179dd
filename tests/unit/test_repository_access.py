"""Cross-account image pull (deployer/image/repository_access.py): does the repository policy of the
management account's ECR repository let an environment's account (or its execution role) pull?"""

from __future__ import annotations

import json

import pytest

from deployer.core.errors import BadInput
from deployer.image.repository_access import PULL_ACTIONS, Repository, parse_repository, pull_access, pull_statement

MGMT, STAGING, PROD = "111111111111", "222222222222", "333333333333"
URI = f"{MGMT}.dkr.ecr.us-east-1.amazonaws.com/demo-web"
DIGEST = "sha256:" + "cd" * 32
EXEC_ROLE = f"arn:aws:iam::{PROD}:role/demo-task-execution"


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal, action=list(PULL_ACTIONS), **extra) -> dict:
    return {"Sid": extra.pop("Sid", "Pull"), "Effect": "Allow", "Principal": principal, "Action": action, **extra}


def deny(principal, action, **extra) -> dict:
    return {"Sid": extra.pop("Sid", "NoPull"), "Effect": "Deny", "Principal": principal, "Action": action, **extra}


STATEMENT_TO_ADD = {
    "Sid": "AllowPullFromProd",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{PROD}:root"},
    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
}


@pytest.mark.parametrize(
    "reference",
    [URI, f"{URI}:latest", f"{URI}@{DIGEST}", f"arn:aws:ecr:us-east-1:{MGMT}:repository/demo-web"],
)
def test_repository_from_uri_or_arn(reference):
    repo = parse_repository(reference)
    assert repo == Repository(MGMT, "us-east-1", "demo-web")
    assert repo.arn == f"arn:aws:ecr:us-east-1:{MGMT}:repository/demo-web" and repo.uri == URI


def test_repository_with_a_namespace():
    repo = parse_repository(f"{MGMT}.dkr.ecr.eu-west-1.amazonaws.com/team/web:v1")
    assert (repo.region, repo.name) == ("eu-west-1", "team/web")


@pytest.mark.parametrize("uri, partition", [
    (f"{MGMT}.dkr.ecr.cn-north-1.amazonaws.com.cn/web", "aws-cn"),
    (f"{MGMT}.dkr.ecr.us-gov-west-1.amazonaws.com/web", "aws-us-gov"),
    (f"{MGMT}.dkr.ecr-fips.us-gov-east-1.amazonaws.com/web:v1", "aws-us-gov"),
    (f"{MGMT}.dkr.ecr.eu-west-1.amazonaws.com/web", "aws"),
])
def test_the_partition_of_a_repository_uri(uri, partition):
    """A GovCloud registry's host ends in amazonaws.com like a commercial one: its region names the partition."""
    repo = parse_repository(uri)
    assert repo.partition == partition and repo.arn == f"arn:{partition}:ecr:{repo.region}:{MGMT}:repository/web"
    assert parse_repository(repo.arn) == repo


@pytest.mark.parametrize("reference", ["", "nginx", "docker.io/library/nginx", "public.ecr.aws/nginx/nginx",
                                       f"{MGMT}.dkr.ecr.us-east-1.amazonaws.com.evil.example/web", "arn:aws:s3:::bucket"])
def test_not_an_ecr_repository(reference):
    with pytest.raises(BadInput):
        parse_repository(reference)


def test_same_account_needs_no_check():
    access = pull_access(URI, MGMT, None)
    assert access.ok and not access.cross_account and access.allowed == list(PULL_ACTIONS)


def test_no_policy_means_no_other_account_may_pull():
    access = pull_access(f"{URI}@{DIGEST}", PROD, None, environment="prod")
    assert not access.ok and access.missing == list(PULL_ACTIONS)
    assert access.message() == (
        f"the image repository {URI} (account {MGMT}) does not let account {PROD} (environment prod) pull the image:\n"
        "  the repository has no policy, so no other account may pull: "
        "ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, ecr:BatchCheckLayerAvailability missing\n"
        f"add this statement to the repository policy of demo-web in account {MGMT}:\n"
        + "\n".join("  " + line for line in json.dumps(STATEMENT_TO_ADD, indent=2).splitlines())
    )
    error = access.refusal()
    assert error.exit_code == 2 and error.message == access.message()
    assert error.hint == (
        f"in account {MGMT}: aws ecr get-repository-policy --repository-name demo-web --region us-east-1, add the statement, "
        "then aws ecr set-repository-policy (it replaces the whole policy: keep the other statements); nothing was changed"
    )
    assert access.suggested_policy() == {"Version": "2012-10-17", "Statement": [STATEMENT_TO_ADD]}


@pytest.mark.parametrize(
    "principal",
    ["*", {"AWS": "*"}, {"AWS": PROD}, {"AWS": f"arn:aws:iam::{PROD}:root"}, {"AWS": [f"arn:aws:iam::{STAGING}:root", f"arn:aws:iam::{PROD}:root"]},
     {"AWS": ["*"]}],
)
def test_the_account_is_granted(principal):
    access = pull_access(URI, PROD, policy(allow(principal)), environment="prod")
    assert access.ok and access.allowed == list(PULL_ACTIONS) and not access.warnings


def test_another_account_granted_is_not_this_one():
    access = pull_access(URI, PROD, policy(allow({"AWS": f"arn:aws:iam::{STAGING}:root"}, Sid="AllowPullFromStaging")), environment="prod")
    assert access.missing == list(PULL_ACTIONS)
    assert "  not granted by its repository policy: ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, ecr:BatchCheckLayerAvailability" in access.message()
    assert access.suggested_policy()["Statement"] == [
        allow({"AWS": f"arn:aws:iam::{STAGING}:root"}, Sid="AllowPullFromStaging"), STATEMENT_TO_ADD,
    ]


@pytest.mark.parametrize("principal", [{"Service": "ecs-tasks.amazonaws.com"}, {"Federated": "cognito-identity.amazonaws.com"}])
def test_service_principals_do_not_grant_the_account(principal):
    assert pull_access(URI, PROD, policy(allow(principal)), environment="prod").missing == list(PULL_ACTIONS)


def test_a_role_grant_counts_for_that_execution_role_only():
    granted = policy(allow({"AWS": EXEC_ROLE}))
    assert pull_access(URI, PROD, granted, execution_role_arn=EXEC_ROLE).ok
    # the same role name under a path is the same role
    assert pull_access(URI, PROD, granted, execution_role_arn=f"arn:aws:iam::{PROD}:role/ecs/demo-task-execution").ok
    other = pull_access(URI, PROD, granted, execution_role_arn=f"arn:aws:iam::{PROD}:role/someone-else")
    assert other.missing == list(PULL_ACTIONS)
    assert f"grants pull to {EXEC_ROLE} only" in other.warnings[0]
    unknown = pull_access(URI, PROD, granted)  # which role pulls is not known: the account is not proven
    assert unknown.missing == list(PULL_ACTIONS)
    assert "does not know which role pulls" in unknown.warnings[0]


def test_an_execution_role_of_another_account_is_ignored():
    access = pull_access(URI, PROD, policy(allow({"AWS": f"arn:aws:iam::{PROD}:root"})), execution_role_arn=f"arn:aws:iam::{STAGING}:role/x")
    assert access.ok and "is not a role of account 333333333333" in access.warnings[0]


@pytest.mark.parametrize("action", ["ecr:*", "ecr:Batch*", "*", ["ecr:BatchGetImage", "ecr:Get*", "ecr:BatchCheck*"],
                                    "ECR:batchgetimage*", ["ecr:?atchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]])
def test_action_wildcards(action):
    access = pull_access(URI, PROD, policy(allow({"AWS": PROD}, action)))
    covered = {"ecr:*": 3, "ecr:Batch*": 2, "*": 3, "ECR:batchgetimage*": 1}.get(action if isinstance(action, str) else "", 3)
    assert len(access.allowed) == covered
    assert len(access.missing) == 3 - covered


def test_batch_wildcard_misses_the_download_url():
    access = pull_access(URI, PROD, policy(allow({"AWS": PROD}, "ecr:Batch*")), environment="prod")
    assert access.missing == ["ecr:GetDownloadUrlForLayer"]
    assert "  not granted by its repository policy: ecr:GetDownloadUrlForLayer\n" in access.message()


def test_explicit_deny_wins_over_allow():
    text = policy(allow("*", "ecr:*"), deny({"AWS": f"arn:aws:iam::{PROD}:root"}, "ecr:BatchGetImage", Sid="NoProdPulls"))
    access = pull_access(URI, PROD, text, environment="prod")
    assert not access.ok
    assert access.denied == {"ecr:BatchGetImage": ["NoProdPulls"]}
    assert access.allowed == ["ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    assert "  denied explicitly by statement NoProdPulls: ecr:BatchGetImage\n" in access.message()
    assert "remove or narrow the Deny statement above (a Deny wins over any Allow)" in access.message()
    # a Deny of another account does not touch this one
    assert pull_access(URI, PROD, policy(allow("*", "ecr:*"), deny({"AWS": STAGING}, "ecr:*"))).ok


def test_not_action():
    # allows everything but deleting: the pull actions are granted
    assert pull_access(URI, PROD, policy({"Effect": "Allow", "Principal": {"AWS": PROD}, "NotAction": ["ecr:Delete*", "ecr:Put*"]})).ok
    # allows everything but the batch reads
    access = pull_access(URI, PROD, policy({"Effect": "Allow", "Principal": {"AWS": PROD}, "NotAction": "ecr:Batch*"}))
    assert access.missing == ["ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability"]
    # denies everything but the download URL
    access = pull_access(URI, PROD, policy(allow("*", "ecr:*"), {"Sid": "OnlyUrls", "Effect": "Deny", "Principal": "*", "NotAction": "ecr:GetDownloadUrlForLayer"}))
    assert set(access.denied) == {"ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability"}


def test_a_condition_cannot_be_proven_a_warning_not_a_refusal():
    conditional = allow("*", "ecr:*", Sid="OrgPulls", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}})
    access = pull_access(URI, PROD, policy(conditional), environment="prod")
    assert access.ok and not access.allowed and not access.missing
    assert access.unproven == {a: ["OrgPulls"] for a in PULL_ACTIONS}
    assert access.warnings[0] == (
        f"ecr:BatchGetImage: statement OrgPulls of the repository policy of {URI} has a Condition (or NotPrincipal) "
        f"deployer cannot evaluate: that account {PROD} can pull cannot be proven"
    )
    # a conditional Deny next to a plain Allow: cannot be proven either
    access = pull_access(URI, PROD, policy(allow({"AWS": PROD}), deny("*", "ecr:*", Sid="OnlyFromVpce", Condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1"}})))
    assert access.ok and set(access.unproven) == set(PULL_ACTIONS)
    # but an unconditional Deny still refuses
    access = pull_access(URI, PROD, policy(conditional, deny({"AWS": PROD}, "ecr:BatchGetImage")))
    assert not access.ok and list(access.denied) == ["ecr:BatchGetImage"]


def test_not_principal_is_not_evaluated():
    access = pull_access(URI, PROD, policy({"Sid": "AllButStaging", "Effect": "Allow", "NotPrincipal": {"AWS": STAGING}, "Action": "ecr:*"}))
    assert access.ok and set(access.unproven) == set(PULL_ACTIONS)


def test_resource_element():
    arn = f"arn:aws:ecr:us-east-1:{MGMT}:repository/demo-web"
    assert pull_access(URI, PROD, policy(allow({"AWS": PROD}, Resource=arn))).ok
    assert pull_access(URI, PROD, policy(allow({"AWS": PROD}, Resource=f"arn:aws:ecr:us-east-1:{MGMT}:repository/*"))).ok
    assert not pull_access(URI, PROD, policy(allow({"AWS": PROD}, Resource=f"arn:aws:ecr:us-east-1:{MGMT}:repository/other"))).ok


def test_a_single_statement_object_and_an_unreadable_policy():
    assert pull_access(URI, PROD, json.dumps({"Version": "2012-10-17", "Statement": allow({"AWS": PROD})})).ok
    access = pull_access(URI, PROD, "{not json")
    assert access.ok and set(access.unproven) == set(PULL_ACTIONS) and "is not JSON" in access.warnings[0]


def test_the_statement_sid_from_the_environment_name():
    assert pull_statement(PROD, "prod-eu_west")["Sid"] == "AllowPullFromProdEuWest"
    assert pull_statement(PROD)["Sid"] == f"AllowPullFrom{PROD}"


def test_the_account_must_be_an_account_id():
    with pytest.raises(BadInput):
        pull_access(URI, "prod", None)
