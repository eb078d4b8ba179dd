"""The wiring of the guardrails and of the cross-account check, with the AWS adapters replaced."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from deployer.core.errors import BadInput, ExternalError
from deployer.manifest import environment as env_mod
from deployer.manifest.environment import Environment, load_guardrails

POLICY = {"service": {"properties": {"desiredCount": {"maximum": 4}}}}


def environment(reference):
    return Environment(name="demo", source="stack", stack="AWSProton-demo-cloudformation--ABCDEFGHIJ", outputs={}, cluster="c",
                       subnets=["s"], security_groups=[], target_group=None, repository="r", policy_reference=reference)


def test_no_output_no_policy_and_nothing_read(monkeypatch):
    monkeypatch.setattr("deployer.aws.stores.parameter_text", lambda *a, **k: pytest.fail("read"))
    assert load_guardrails(object(), environment(None)) is None


def test_ssm_reference_is_read_with_the_environment_session(monkeypatch):
    seen = []
    monkeypatch.setattr("deployer.aws.stores.parameter_text", lambda aws, name, doing: seen.append((aws, name)) or json.dumps(POLICY))
    session = object()
    policy = load_guardrails(session, environment("ssm:/platform/deployer-policy"))
    assert seen == [(session, "/platform/deployer-policy")]
    assert policy.document == POLICY
    assert policy.source == ("SSM parameter /platform/deployer-policy (from output DeployerPolicy of stack "
                             "AWSProton-demo-cloudformation--ABCDEFGHIJ)")


def test_missing_parameter_refuses_naming_it(monkeypatch):
    monkeypatch.setattr("deployer.aws.stores.parameter_text", lambda *a, **k: None)
    with pytest.raises(BadInput) as err:
        load_guardrails(object(), environment("ssm:/platform/gone"))
    assert "cannot read SSM parameter /platform/gone: it does not exist" in err.value.message
    assert "deployer refuses to deploy unchecked" in err.value.message


def test_a_refused_read_is_bad_input_not_an_aws_error(monkeypatch):
    def refuse(*a, **k):
        raise ExternalError("AWS refused while reading: AccessDenied: no")

    monkeypatch.setattr("deployer.aws.stores.s3_object", refuse)
    with pytest.raises(BadInput) as err:
        load_guardrails(object(), environment("s3://bucket-a/policy.yaml"))
    assert err.value.exit_code == 2
    assert "cannot read s3://bucket-a/policy.yaml" in err.value.message and "AccessDenied" in err.value.message


def test_s3_yaml_and_inline_json(monkeypatch):
    monkeypatch.setattr("deployer.aws.stores.s3_object", lambda aws, bucket, key, doing, max_bytes: b"service:\n  type: object\n")
    assert load_guardrails(object(), environment("s3://bucket-a/p.yaml")).document == {"service": {"type": "object"}}
    inline = load_guardrails(object(), environment(json.dumps(POLICY)))
    assert inline.source == "the inline JSON of stack output DeployerPolicy"


def test_the_output_name_is_fixed():
    assert env_mod.guardrails.OUTPUT_NAME == "DeployerPolicy"


def test_service_parameters_are_create_with_update_over_them():
    from deployer.manifest.render import service_parameters

    rendered = SimpleNamespace(service_definition=SimpleNamespace(create_params={"desiredCount": 1, "launchType": "FARGATE"},
                                                                  update_params={"desiredCount": 6}))
    assert service_parameters(rendered) == {"desiredCount": 6, "launchType": "FARGATE"}


# ---- the cross-account check ----------------------------------------------------------------------

REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shared/web"
DIGEST = "sha256:" + "a" * 64


class FakeEcr:
    def __init__(self, policy, images=(DIGEST,)):
        self._policy, self.images, self.calls = policy, set(images), []

    def policy(self):
        self.calls.append("GetRepositoryPolicy")
        return self._policy

    def image_exists(self, reference):
        self.calls.append("DescribeImages")
        return reference in self.images


def run_in(account: str):
    aws = SimpleNamespace(account_id=lambda: account)
    return SimpleNamespace(aws=aws, image_aws=object(), console=SimpleNamespace(warn=lambda m: None))


def rendered(image=f"{REPO}@{DIGEST}", role="arn:aws:iam::333333333333:role/exec"):
    return SimpleNamespace(image=image, task_definition={"executionRoleArn": role})


def test_same_account_reads_nothing(monkeypatch):
    from deployer.release import checks

    monkeypatch.setattr("deployer.image.registry.ecr_of", lambda *a: pytest.fail("ECR read"))
    assert checks.pull_access(run_in("123456789012"), [rendered()]) == ([], [])


def test_not_an_ecr_image_is_not_judged(monkeypatch):
    from deployer.release import checks

    monkeypatch.setattr("deployer.image.registry.ecr_of", lambda *a: pytest.fail("ECR read"))
    assert checks.pull_access(run_in("333333333333"), [rendered(image="public.ecr.aws/docker/library/busybox:1")]) == ([], [])


def test_cross_account_refusal_and_grant(monkeypatch):
    from deployer.release import checks

    grant = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "333333333333"},
                                       "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]}]})
    fake = FakeEcr(None)
    monkeypatch.setattr("deployer.image.registry.ecr_of", lambda aws, repo: fake)
    found, refusals = checks.pull_access(run_in("333333333333"), [rendered()])
    assert len(refusals) == 1 and "does not let account 333333333333 pull" in refusals[0].message
    assert fake.calls == ["GetRepositoryPolicy"]  # refused: the image is not looked up
    fake = FakeEcr(grant)
    monkeypatch.setattr("deployer.image.registry.ecr_of", lambda aws, repo: fake)
    found, refusals = checks.pull_access(run_in("333333333333"), [rendered()])
    assert refusals == [] and [c.status for c in found] == ["pass", "pass"]
    found, refusals = checks.pull_access(run_in("333333333333"), [rendered(image=f"{REPO}@sha256:{'b' * 64}")])
    assert "is not in the repository" in refusals[0].message
    found, refusals = checks.pull_access(run_in("333333333333"), [rendered(image=f"{REPO}:v9")], image_must_exist=False)
    assert refusals == [] and fake.calls[-1] == "GetRepositoryPolicy"
