"""The admins' environment in the emulator: render examples/platform (a Proton
environment template bundle) the way Proton did, then create the CloudFormation stack
under the name Proton gave it: AWSProton-<env>-cloudformation--<10 uppercase letters>."""
from __future__ import annotations

import functools
import json
import random
import string
import time
from pathlib import Path
from typing import Any

import jinja2
import yaml

BUNDLE = Path(__file__).resolve().parents[2] / "examples" / "platform"


def schema_defaults(bundle: Path = BUNDLE) -> dict[str, Any]:
    schema = yaml.safe_load((bundle / "schema" / "schema.yaml").read_text())["schema"]
    input_type = schema["environment_input_type"]
    props = schema["types"][input_type].get("properties", {})
    return {name: spec["default"] for name, spec in props.items() if "default" in spec}


def render(env: str, inputs: dict[str, Any] | None = None, bundle: Path = BUNDLE) -> str:
    """The CloudFormation template text Proton would have deployed."""
    return _render(env, json.dumps(inputs or {}, sort_keys=True), bundle)


@functools.lru_cache(maxsize=64)  # every end-to-end test creates the same environment
def _render(env: str, inputs_json: str, bundle: Path) -> str:
    inputs = json.loads(inputs_json)
    manifest = yaml.safe_load((bundle / "infrastructure" / "manifest.yaml").read_text())
    template = manifest["infrastructure"]["templates"][0]
    assert template["rendering_engine"] == "jinja", template
    text = (bundle / "infrastructure" / template["file"]).read_text()
    values = {**schema_defaults(bundle), **(inputs or {})}
    jinja = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return jinja.from_string(text).render(environment={"name": env, "inputs": values})


def proton_stack_name(env: str) -> str:
    suffix = "".join(random.choice(string.ascii_uppercase) for _ in range(10))
    return f"AWSProton-{env}-cloudformation--{suffix}"


MANAGEMENT_ACCOUNT = "123456789012"  # moto's default account: the caller's, the pipeline's and the ECR repository's
ADMIN_ROLE = "platform-admin"  # the admins' role in each account (moto's AssumeRole needs no existing role)


def account_credentials(endpoint: str, account: str = MANAGEMENT_ACCOUNT, region: str = "us-east-1") -> dict[str, str]:
    """boto3 keyword arguments for `account`: moto gives an assumed role's credentials the role's account."""
    base = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    if account == MANAGEMENT_ACCOUNT:
        return base
    import boto3

    sts = boto3.client("sts", endpoint_url=endpoint, region_name=region, **base)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ADMIN_ROLE}", RoleSessionName="platform")["Credentials"]
    return {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"]}


def account_client(endpoint: str, service: str, account: str = MANAGEMENT_ACCOUNT, region: str = "us-east-1", **kwargs: Any):
    """A boto3 client in `account` of the local AWS (the test's own: the IAM simulation never checks it)."""
    if account == MANAGEMENT_ACCOUNT and not kwargs:
        return _management_client(endpoint, service, region)
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=region, **account_credentials(endpoint, account, region), **kwargs)


@functools.lru_cache(maxsize=256)
def _management_client(endpoint: str, service: str, region: str):
    # Its fixed credentials outlive a reset of the emulator (an assumed role's do not): one client per
    # endpoint, service and region instead of one per test (~25 ms of CPU each).
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=region, **account_credentials(endpoint, MANAGEMENT_ACCOUNT, region))


def create_environment(endpoint: str, env: str = "prod", inputs: dict[str, Any] | None = None,
                       name: str | None = None, region: str = "us-east-1",
                       timeout: float = 60, account: str = MANAGEMENT_ACCOUNT,
                       credentials: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """Create the stack over HTTP in `account` and wait for CREATE_COMPLETE: (stack name, outputs).
    credentials: boto3 client keyword arguments instead (an assumed role's put the stack in the role's
    account: the emulator gives an assumed role's credentials the account in its ARN)."""
    if credentials:
        import boto3

        cfn = boto3.client("cloudformation", endpoint_url=endpoint, region_name=region, **credentials)
    else:
        cfn = account_client(endpoint, "cloudformation", account, region)
    stack_name = name or proton_stack_name(env)
    cfn.create_stack(StackName=stack_name, TemplateBody=render(env, inputs),
                     Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
                     # the tag Proton put on the stacks it made
                     Tags=[{"Key": "aws:proton:environment",
                            "Value": f"arn:aws:proton:{region}:{account}:environment/{env}"}])
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            return stack_name, {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        if not status.endswith("IN_PROGRESS") or time.monotonic() > deadline:
            raise RuntimeError(f"stack {stack_name} ended in {status}: {stack.get('StackStatusReason')}")
        time.sleep(0.2)
