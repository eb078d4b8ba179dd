"""moto CloudFormation gaps met by the platform template.

AWS::EC2::VPC drops EnableDnsSupport / EnableDnsHostnames (moto 5.2): the VPC would
report DNS hostnames off although the template turns them on."""
from __future__ import annotations

from typing import Any

from moto.ec2.models.vpcs import VPC

from . import cfn_ecs

_orig_vpc_from_cfn = VPC.create_from_cloudformation_json.__func__
_installed = False


def install() -> None:
    global _installed
    if not _installed:
        VPC.create_from_cloudformation_json = classmethod(_vpc_from_cfn)
        cfn_ecs.install()  # ECS services and task definitions in a stack (tests/localaws/cfn_ecs.py)
        _installed = True


def _vpc_from_cfn(cls: type, resource_name: str, cloudformation_json: Any, account_id: str,
                  region_name: str, *args: Any, **kwargs: Any) -> VPC:
    vpc = _orig_vpc_from_cfn(cls, resource_name, cloudformation_json, account_id, region_name, *args, **kwargs)
    props = cloudformation_json.get("Properties", {})
    for prop, attr in (("EnableDnsSupport", "enable_dns_support"), ("EnableDnsHostnames", "enable_dns_hostnames")):
        if prop in props:
            setattr(vpc, attr, str(props[prop]).lower() == "true")
    return vpc
