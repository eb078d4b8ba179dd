"""End to end: an image repository in another account than the environment, checked before any write.

The local AWS gives an assumed role's credentials the account in the role's ARN: with
`--assume-role-arn arn:aws:iam::333333333333:role/deployer-release` the environment (its stack,
cluster and service) is in account 333333333333, while the image repository stays in the caller's
own account 123456789012 and is read with the caller's credentials.
"""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest

from tests.conftest import ecs_state, push_image

REPOSITORY_ACCOUNT = "123456789012"
ENVIRONMENT_ACCOUNT = "333333333333"
ROLE = f"arn:aws:iam::{ENVIRONMENT_ACCOUNT}:role/deployer-release"
PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]


class Account:
    """Clients of the local AWS with one account's credentials (an assumed role's)."""

    def __init__(self, endpoint: str, credentials: dict):
        self.endpoint = endpoint
        self.credentials = credentials

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1", **self.credentials)


@pytest.fixture
def environment_account(aws) -> Account:
    creds = aws.client("sts").assume_role(RoleArn=ROLE, RoleSessionName="test")["Credentials"]
    return Account(aws.endpoint, {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
                                  "aws_session_token": creds["SessionToken"]})


@pytest.fixture
def platform(aws, environment_account):
    """The admins' environment in account 333333333333 (overrides conftest's, in the caller's account)."""
    from tests.localaws.platform import create_environment

    stack, outputs = create_environment(aws.endpoint, env="demo", credentials=environment_account.credentials)
    assert ENVIRONMENT_ACCOUNT in outputs["TaskExecutionRoleArn"]
    return {"stack": stack, "outputs": outputs}


@pytest.fixture
def repository(aws) -> str:
    """The management account's repository (the caller's own account) holding one image: its URI."""
    ecr = aws.client("ecr")
    uri = ecr.create_repository(repositoryName="shared/web")["repository"]["repositoryUri"]
    assert uri.startswith(f"{REPOSITORY_ACCOUNT}.dkr.ecr.")
    return uri


def push(aws, tag: str = "v1") -> str:
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2, "digest": "sha256:" + "c" * 64},
                           "layers": [], "tag": tag})
    found = aws.client("ecr").put_image(repositoryName="shared/web", imageManifest=manifest, imageTag=tag)
    return found["image"]["imageId"]["imageDigest"]


def set_policy(aws, statements: list[dict]) -> None:
    aws.client("ecr").set_repository_policy(repositoryName="shared/web", policyText=json.dumps({"Version": "2012-10-17", "Statement": statements}))


def deploy(app, image: str, *extra: str):
    return app.cli("deploy", "--image", image, "--assume-role-arn", ROLE, "--output", "json", *extra)


def state(environment_account, platform) -> dict:
    return ecs_state(environment_account, platform["outputs"]["ClusterName"])


def test_a_repository_policy_that_omits_the_environment_account_is_refused_before_any_write(app, aws, platform, repository, environment_account):
    digest = push(aws)
    set_policy(aws, [{"Sid": "AllowStaging", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": PULL}])
    before = state(environment_account, platform)
    for extra in (("--dry-run",), ()):
        refused = deploy(app, f"{repository}@{digest}", *extra)
        assert refused.code == 2, refused.stderr
        assert f"the image repository {repository} (account {REPOSITORY_ACCOUNT}) does not let account {ENVIRONMENT_ACCOUNT} pull" in refused.stderr
        assert "not granted by its repository policy: ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, ecr:BatchCheckLayerAvailability" in refused.stderr
        assert f'"AWS": "arn:aws:iam::{ENVIRONMENT_ACCOUNT}:root"' in refused.stderr  # the statement to add
        assert "nothing was changed" in refused.stderr
    assert state(environment_account, platform) == before
    # No lease was taken either (the first write of a deploy): no parameter in the environment's account.
    assert environment_account.client("ssm").describe_parameters()["Parameters"] == []


def test_no_repository_policy_at_all_is_refused(app, aws, platform, repository, environment_account):
    digest = push(aws)
    refused = deploy(app, f"{repository}@{digest}")
    assert refused.code == 2, refused.stderr
    assert "the repository has no policy, so no other account may pull" in refused.stderr
    assert state(environment_account, platform)["service_task_definition"] is None


def test_a_policy_that_grants_the_account_lets_the_deploy_go_on(app, aws, platform, repository, environment_account):
    digest = push(aws)
    set_policy(aws, [{"Sid": "AllowProd", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ENVIRONMENT_ACCOUNT}:root"}, "Action": PULL}])
    deployed = deploy(app, f"{repository}@{digest}")
    assert deployed.code == 0, deployed.stderr
    assert deployed.json["status"] == "deployed"
    svc = environment_account.client("ecs").describe_services(cluster=platform["outputs"]["ClusterName"], services=["web"])["services"][0]
    td = environment_account.client("ecs").describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    assert td["containerDefinitions"][0]["image"] == f"{repository}@{digest}"
    assert td["taskDefinitionArn"].split(":")[4] == ENVIRONMENT_ACCOUNT


def test_a_grant_to_the_execution_role_is_enough(app, aws, platform, repository, environment_account):
    digest = push(aws)
    role = platform["outputs"]["TaskExecutionRoleArn"]
    set_policy(aws, [{"Sid": "AllowProdPull", "Effect": "Allow", "Principal": {"AWS": role}, "Action": "ecr:*"}])
    assert deploy(app, f"{repository}@{digest}").code == 0


def test_a_conditional_grant_cannot_be_proven_a_warning(app, aws, platform, repository, environment_account):
    digest = push(aws)
    set_policy(aws, [{"Sid": "OrgPull", "Effect": "Allow", "Principal": "*", "Action": PULL,
                      "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}}])
    deployed = deploy(app, f"{repository}@{digest}")
    assert deployed.code == 0, deployed.stderr
    assert "statement OrgPull of the repository policy" in deployed.stderr
    assert f"that account {ENVIRONMENT_ACCOUNT} can pull cannot be proven" in deployed.stderr


def test_a_missing_digest_is_refused(app, aws, platform, repository, environment_account):
    push(aws)
    set_policy(aws, [{"Sid": "AllowProd", "Effect": "Allow", "Principal": {"AWS": ENVIRONMENT_ACCOUNT}, "Action": PULL}])
    missing = "sha256:" + "d" * 64
    before = state(environment_account, platform)
    for extra in (("--dry-run",), ()):
        refused = deploy(app, f"{repository}@{missing}", *extra)
        assert refused.code == 2, refused.stderr
        assert f"{missing} is not in the repository {repository} (account {REPOSITORY_ACCOUNT})" in refused.stderr
    assert deploy(app, f"{repository}:v9").code == 2  # a tag that is not there either
    assert state(environment_account, platform) == before


def test_same_account_reads_no_repository_policy(app, aws, platform, environment_account):
    """The environment's own repository (account 333333333333): nothing cross-account, no ECR call."""
    image = f"{platform['outputs']['EcrRepositoryUri']}:v1"
    push_image(aws.endpoint, image.split("/", 1)[1].rsplit(":", 1)[0], "v1", credentials=environment_account.credentials)
    aws.reset_counters()
    deployed = app.cli("deploy", "--image", image, "--assume-role-arn", ROLE, "-v")
    assert deployed.code == 0, deployed.stderr
    # No repository policy is read; the image is looked up (deploy's pre-flight) in its own account, with the environment's role.
    assert "aws ecr.GetRepositoryPolicy" not in deployed.stderr
