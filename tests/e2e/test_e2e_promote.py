"""`deployer promote --from staging --to prod`: build once, promote the exact digest across accounts."""

from __future__ import annotations

from tests.e2e import multi_account as ma

ECR_WRITES = {"ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",
              "ecr:BatchDeleteImage", "ecr:CreateRepository", "ecr:PutImageTagMutability"}


def released_to_staging(aws, app, tag: str = "1.0.0", *flags: str):
    accounts = ma.setup(aws, app)
    digest = accounts.push(tag)
    done = app.cli("deploy", "--env", "staging", "--image", f"{accounts.repository}@{digest}", *flags)
    assert done.code == 0, done.stderr
    return accounts, digest


def prod_image(accounts) -> tuple[str, dict]:
    ecs = accounts.client("prod", "ecs")
    arn = ecs.describe_services(cluster=accounts.cluster("prod"), services=["web"])["services"][0]["taskDefinition"]
    described = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
    image = next(c["image"] for c in described["taskDefinition"]["containerDefinitions"] if c["name"] == "app")
    return image, {t["key"]: t["value"] for t in described.get("tags", [])}


def test_promote_puts_exactly_stagings_digest_on_prod(aws, app):
    accounts, digest = released_to_staging(aws, app)
    # A newer image pushed since: promote takes what staging runs, not the newest in the repository.
    accounts.push("2.0.0")
    aws.iam.clear()
    promoted = app.cli("promote", "--from", "staging", "--to", "prod", "--yes", "--output", "json")
    assert promoted.code == 0, promoted.stderr
    image, tags = prod_image(accounts)
    assert image == f"{accounts.repository}@{digest}"
    assert promoted.json["task_definition"] == f"arn:aws:ecs:us-east-1:{ma.PROD}:task-definition/web:1"
    assert promoted.json["promoted_from"]["services"][0]["digest"] == digest
    assert tags["deployer:promoted-from"] == "staging:web:1"
    assert "deployer:healthy" in tags  # prod's own verdict
    assert not (aws.iam.recorded & ECR_WRITES), aws.iam.recorded & ECR_WRITES
    assert "ecr:DescribeImages" in aws.iam.recorded  # the digest was looked up (read) in the repository
    # --digest: only what staging runs
    again = app.cli("promote", "--from", "staging", "--to", "prod", "--yes", "--digest", digest)
    assert again.code == 0, again.stderr


def test_digest_that_staging_does_not_run_is_refused(aws, app):
    accounts, digest = released_to_staging(aws, app)
    other = accounts.push("2.0.0")
    before = accounts.state("prod")
    refused = app.cli("promote", "--from", "staging", "--to", "prod", "--yes", "--digest", other)
    assert refused.code == 1
    assert f"--digest {other}: staging runs {digest}" in refused.stderr
    bad = app.cli("promote", "--from", "staging", "--to", "prod", "--yes", "--digest", "latest")
    assert bad.code == 2 and "--digest 'latest': not an image digest" in bad.stderr
    unknown = app.cli("promote", "--from", "staging", "--to", "production", "--yes")
    assert unknown.code == 2 and "--to production: no such environment in deployer.yaml (environments: prod, staging)" in unknown.stderr
    assert accounts.state("prod") == before


def test_unproven_revision_is_refused_until_deployer_wait(aws, app):
    accounts, digest = released_to_staging(aws, app)
    staging = accounts.client("staging", "ecs")
    arn = staging.describe_services(cluster=accounts.cluster("staging"), services=["web"])["services"][0]["taskDefinition"]
    staging.untag_resource(resourceArn=arn, tagKeys=["deployer:healthy"])  # as if the release was stopped before its verdict
    before = accounts.state("prod")
    refused = app.cli("promote", "--from", "staging", "--to", "prod", "--yes")
    assert refused.code == 1
    assert "web:1, which staging runs, never reached the healthy verdict (no deployer:healthy tag)" in refused.stderr
    assert "deployer wait --env staging" in refused.stderr
    assert accounts.state("prod") == before
    waited = app.cli("wait", "--env", "staging")
    assert waited.code == 0, waited.stderr
    promoted = app.cli("promote", "--from", "staging", "--to", "prod", "--yes")
    assert promoted.code == 0, promoted.stderr
    assert prod_image(accounts)[0] == f"{accounts.repository}@{digest}"


def test_deployment_in_progress_in_staging_is_refused(aws, app):
    accounts, first = released_to_staging(aws, app)
    second = accounts.push("1.1.0")
    aws.configure(tick=2.0)  # a rollout of several seconds: promote surely finds it running
    started = app.cli("deploy", "--env", "staging", "--image", f"{accounts.repository}@{second}", "--no-wait")
    assert started.code == 0, started.stderr
    before = accounts.state("prod")
    refused = app.cli("promote", "--from", "staging", "--to", "prod", "--yes")
    assert refused.code == 1
    assert "a deployment is in progress in staging" in refused.stderr and "deployer wait --env staging" in refused.stderr
    assert accounts.state("prod") == before
    aws.configure(tick=0.05)
    assert app.cli("wait", "--env", "staging").code == 0
    promoted = app.cli("promote", "--from", "staging", "--to", "prod", "--yes")
    assert promoted.code == 0, promoted.stderr
    assert prod_image(accounts)[0] == f"{accounts.repository}@{second}"


def test_the_repository_side_runs_under_image_role_arn(aws, app):
    """image.role_arn: ECR is read under that role (in the repository's account), the environments under theirs."""
    accounts, digest = released_to_staging(aws, app)
    app.edit("deployer.yaml", "image:\n", "image:\n  role_arn: arn:aws:iam::123456789012:role/ecr-reader\n")
    app.commit("image role")
    promoted = app.cli("promote", "--from", "staging", "--to", "prod", "--yes", "-v")
    assert promoted.code == 0, promoted.stderr
    assert "sts.AssumeRole arn:aws:iam::123456789012:role/ecr-reader as deployer-web-image" in promoted.stderr
    assert f"sts.AssumeRole arn:aws:iam::{ma.PROD}:role/deployer-release as deployer-web-prod" in promoted.stderr
    assert prod_image(accounts)[0] == f"{accounts.repository}@{digest}"
