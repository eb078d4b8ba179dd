"""moto CloudFormation gaps met by the platform template, and its cost.

AWS::EC2::VPC drops EnableDnsSupport / EnableDnsHostnames (moto 5.2): the VPC would
report DNS hostnames off although the template turns them on.

moto parses every template with PyYAML's pure-Python loader (JSON too: it tries YAML first): ~50 ms
of CPU for the platform template, which every end-to-end test creates again after a reset. Each
template text is parsed once; a stack gets its own deep copy of the result."""
from __future__ import annotations

import copy
import functools
from typing import Any

from moto.cloudformation.models import Stack
from moto.ec2.models.vpcs import VPC

from . import cfn_ecs

_orig_vpc_from_cfn = VPC.create_from_cloudformation_json.__func__
_orig_parse_template = Stack.parse_template
_installed = False


def install() -> None:
    global _installed
    if not _installed:
        VPC.create_from_cloudformation_json = classmethod(_vpc_from_cfn)
        Stack.parse_template = staticmethod(_parse_template)
        cfn_ecs.install()  # ECS services and task definitions in a stack (tests/localaws/cfn_ecs.py)
        _installed = True


@functools.lru_cache(maxsize=64)
def _parsed(template: str) -> dict[str, Any]:
    return _orig_parse_template(template)  # an invalid template raises, and nothing is cached


def _parse_template(template: str) -> dict[str, Any]:
    return copy.deepcopy(_parsed(template))  # moto changes what it is given


def _vpc_from_cfn(cls: type, resource_name: str, cloudformation_json: Any, account_id: str,
                  region_name: str, *args: Any, **kwargs: Any) -> VPC:
    vpc = _orig_vpc_from_cfn(cls, resource_name, cloudformation_json, account_id, region_name, *args, **kwargs)
    props = cloudformation_json.get("Properties", {})
    for prop, attr in (("EnableDnsSupport", "enable_dns_support"), ("EnableDnsHostnames", "enable_dns_hostnames")):
        if prop in props:
            setattr(vpc, attr, str(props[prop]).lower() == "true")
    return vpc
