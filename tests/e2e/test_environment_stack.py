"""Environment outputs against the local AWS: the fallback to the AWSProton-<env>-cloudformation--
stack when the Proton API is gone, and how a stack is found by name (the Proton API path itself, on a
botocore Stubber: tests/unit/test_environment.py)."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from deployer.manifest import environment
from deployer.aws import cloudformation
from deployer.aws.session import Aws
from deployer.manifest.config import EnvironmentConfig
from deployer.core.errors import BadInput
from tests.unit.test_environment import OUTPUTS, proton_client


def test_retired_proton_api_falls_back_to_its_stack(aws, platform, monkeypatch):
    for key, value in aws.env().items():
        monkeypatch.setenv(key, value)
    client = proton_client()
    with Stubber(client) as stub:
        stub.add_client_error("list_environment_outputs", service_error_code="UnknownOperationException", http_status_code=404)
        real = Aws(region="us-east-1")
        real._clients["proton/1/5"] = client
        env = environment.resolve(real, EnvironmentConfig(stack=None, proton="demo", outputs=OUTPUTS))
    assert env.source == "proton" and env.stack == platform["stack"]
    assert env.cluster == platform["outputs"]["ClusterName"]
    assert env.notes[0].startswith("Proton API did not answer; using its stack AWSProton-demo-cloudformation--")


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
