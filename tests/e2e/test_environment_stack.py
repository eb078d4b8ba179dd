"""Environment outputs against the local AWS: a Proton environment is the AWSProton-<env>-cloudformation--
stack it left (the Proton API, gone since 2026-10-07, is never asked), and how a stack is found by name."""

from __future__ import annotations

import pytest

from deployer.manifest import environment
from deployer.aws import cloudformation
from deployer.aws.session import Aws
from deployer.manifest.config import DEFAULT_OUTPUTS, EnvironmentConfig, OutputNames
from deployer.core.errors import BadInput

OUTPUTS = OutputNames(
    cluster=DEFAULT_OUTPUTS["cluster"],
    subnets=DEFAULT_OUTPUTS["subnets"],
    security_groups=DEFAULT_OUTPUTS["security_groups"],
    target_group=DEFAULT_OUTPUTS["target_group"],
    repository=DEFAULT_OUTPUTS["repository"],
)


def test_a_proton_environment_is_the_stack_it_left_and_the_proton_api_is_not_asked(aws, platform, monkeypatch):
    for key, value in aws.env().items():
        monkeypatch.setenv(key, value)
    aws.reset_counters()
    env = environment.resolve(Aws(region="us-east-1"), EnvironmentConfig(stack=None, proton="demo", outputs=OUTPUTS))
    assert env.source == "proton" and env.name == "demo" and env.stack == platform["stack"]
    assert env.cluster == platform["outputs"]["ClusterName"]
    assert env.notes[0] == f"Proton environment demo: stack {platform['stack']}"
    asked = aws.get_counters()
    assert "proton" not in asked and set(asked["cloudformation"]) == {"ListStacks", "DescribeStacks"}, asked


def test_stack_name_candidates(aws, monkeypatch):
    for key, value in aws.env().items():
        monkeypatch.setenv(key, value)
    cfn = aws.client("cloudformation")
    def body(name):
        return '{"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/%s", "Type": "String", "Value": "x"}}}}' % name

    # Proton truncated long environment names in the stack name.
    cfn.create_stack(StackName="AWSProton-customer-porta-cloudformation--ABCDEFGHIJ", TemplateBody=body("a"))
    real = Aws(region="us-east-1")
    assert cloudformation.find_proton_stack(real, "customer-portal-production") == "AWSProton-customer-porta-cloudformation--ABCDEFGHIJ"
    cfn.create_stack(StackName="AWSProton-customer-portal-cloudformation--KLMNOPQRST", TemplateBody=body("b"))
    with pytest.raises(BadInput, match="2 stacks match Proton environment `customer-portal-production`"):
        cloudformation.find_proton_stack(real, "customer-portal-production")
    with pytest.raises(BadInput, match="no stack named AWSProton-other-cloudformation-"):
        cloudformation.find_proton_stack(real, "other")
