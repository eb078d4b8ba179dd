"""Environment outputs: the Proton API path (botocore Stubber on a real client: moto has no Proton).
The fallback to the AWSProton-<env>-cloudformation-- stack, against the local AWS: tests/e2e/test_environment_stack.py."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from deployer.manifest import environment
from deployer.aws import cloudformation
from deployer.aws.session import Aws
from deployer.manifest.config import DEFAULT_OUTPUTS, EnvironmentConfig, OutputNames

OUTPUTS = OutputNames(
    cluster=DEFAULT_OUTPUTS["cluster"],
    subnets=DEFAULT_OUTPUTS["subnets"],
    security_groups=DEFAULT_OUTPUTS["security_groups"],
    target_group=DEFAULT_OUTPUTS["target_group"],
    repository=DEFAULT_OUTPUTS["repository"],
)


def aws_with_proton(stubbed_client) -> Aws:
    aws = Aws(region="us-east-1")
    aws._session = boto3.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    aws._clients["proton/1/5"] = stubbed_client  # the key Aws.client("proton", attempts=1, timeout=5) uses
    return aws


def proton_client():
    return boto3.client("proton", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")


def test_proton_api_outputs_all_pages():
    client = proton_client()
    with Stubber(client) as stub:
        stub.add_response(
            "list_environment_outputs",
            {"outputs": [{"key": "ClusterName", "valueString": "prod"}, {"key": "PrivateSubnet1", "valueString": "subnet-1"}], "nextToken": "t1"},
            {"environmentName": "prod"},
        )
        stub.add_response(
            "list_environment_outputs",
            {"outputs": [
                {"key": "PrivateSubnet2", "valueString": "subnet-2"},
                {"key": "ServiceSecurityGroup", "valueString": "sg-1"},
                {"key": "EcrRepositoryUri", "valueString": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web"},
            ]},
            {"environmentName": "prod", "nextToken": "t1"},
        )
        env = environment.resolve(aws_with_proton(client), EnvironmentConfig(stack=None, proton="prod", outputs=OUTPUTS))
        stub.assert_no_pending_responses()
    assert env.source == "proton" and env.stack is None
    assert env.cluster == "prod" and env.subnets == ["subnet-1", "subnet-2"] and env.security_groups == ["sg-1"]
    assert env.target_group is None  # no TargetGroupArn output: a service without a load balancer
    assert "no `TargetGroupArn` output" in env.notes[0]


def test_proton_access_denied_is_not_mistaken_for_end_of_support():
    client = proton_client()
    with Stubber(client) as stub:
        stub.add_client_error("list_environment_outputs", service_error_code="AccessDeniedException", service_message="no", http_status_code=403)
        with pytest.raises(Exception) as caught:
            cloudformation.proton_outputs(aws_with_proton(client), "prod")
    assert caught.value.exit_code == 3 and "AccessDeniedException" in caught.value.message
