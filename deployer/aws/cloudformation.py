"""CloudFormation and Proton: the environment's outputs (read only); a stack's template, updated or
deleted when `deployer adopt` hands a service over."""

from __future__ import annotations

import json
import time
from typing import Any

from ..core.console import quote_untrusted
from ..core.errors import BadInput, ExternalError
from .session import Aws, error_code, translate_errors


COMPLETE_STATES = [
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
]


def stack_outputs(aws: Aws, stack_name: str) -> dict[str, str]:
    cfn = aws.client("cloudformation")
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as exc:  # noqa: BLE001 - sorted out below
        message = str(exc)
        if error_code(exc) == "ValidationError" and "does not exist" in message:
            raise BadInput(f"environment.stack: CloudFormation stack `{stack_name}` does not exist in {aws.region}") from None
        with translate_errors(f"reading the outputs of stack {stack_name}"):
            raise
    return {o["OutputKey"]: o.get("OutputValue", "") for o in stacks[0].get("Outputs", [])}


def find_proton_stack(aws: Aws, env_name: str) -> str:
    """The AWSProton-<env>-cloudformation-- stack Proton left behind (names may be truncated)."""
    cfn = aws.client("cloudformation")
    candidates = []
    with translate_errors("listing CloudFormation stacks"):
        for page in cfn.get_paginator("list_stacks").paginate(StackStatusFilter=COMPLETE_STATES):
            for summary in page.get("StackSummaries", []):
                name = summary["StackName"]
                if not name.startswith("AWSProton-") or "-cloudformation-" not in name:
                    continue
                env_part = name[len("AWSProton-") : name.index("-cloudformation-")]
                if env_part == env_name or (env_part and env_name.startswith(env_part)):
                    candidates.append((env_part == env_name, name))
    exact = [name for is_exact, name in candidates if is_exact]
    chosen = exact or [name for _, name in candidates]
    if not chosen:
        raise BadInput(
            f"environment.proton: no stack named AWSProton-{env_name}-cloudformation-* in a *_COMPLETE state in {aws.region}",
            hint="set `environment.stack` to the stack name",
        )
    if len(chosen) > 1:
        raise BadInput(
            f"environment.proton: {len(chosen)} stacks match Proton environment `{env_name}`: {', '.join(sorted(chosen))}",
            hint="set `environment.stack` to the one you mean",
        )
    return chosen[0]


# ---- a stack that hands a service over (deployer adopt) -------------------------------------------
_CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


def template_body(aws, stack: str) -> Any:
    """The stack's template as it was given (YAML or JSON text, or a parsed document)."""
    cfn = aws.client("cloudformation")
    with translate_errors(f"reading the template of stack {stack}"):
        return cfn.get_template(StackName=stack, TemplateStage="Original")["TemplateBody"]


def _parameters(cfn, stack: str) -> list[dict]:
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return [{"ParameterKey": p["ParameterKey"], "UsePreviousValue": True} for p in described.get("Parameters", [])]


def update_stack(aws, stack: str, template: dict, timeout: float) -> None:
    """UpdateStack with the same parameters, waited for; a template that changes nothing is no error."""
    cfn = aws.client("cloudformation")
    with translate_errors(f"updating stack {stack}"):
        try:
            cfn.update_stack(StackName=stack, TemplateBody=json.dumps(template), Parameters=_parameters(cfn, stack), Capabilities=_CAPABILITIES)
        except Exception as exc:
            if error_code(exc) == "ValidationError" and "No updates are to be performed" in str(exc):
                return
            raise
    _wait(cfn, stack, "UPDATE_COMPLETE", timeout)


def delete_stack(aws, stack: str, timeout: float) -> None:
    """DeleteStack, waited for."""
    cfn = aws.client("cloudformation")
    with translate_errors(f"deleting stack {stack}"):
        stack_id = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackId"]
        cfn.delete_stack(StackName=stack)
    _wait(cfn, stack_id, "DELETE_COMPLETE", timeout)  # by id: a deleted stack is not found by its name


def _wait(cfn, stack: str, wanted: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        status = described["StackStatus"]
        if status == wanted:
            return
        if not status.endswith("IN_PROGRESS"):
            raise ExternalError(f"stack {stack} ended in {status}: {quote_untrusted(described.get('StackStatusReason', ''))}".rstrip(": "))
        if time.monotonic() > deadline:
            raise ExternalError(f"stack {stack} is still {status} after {timeout:.0f}s", hint="watch it in the CloudFormation console, then run `deployer adopt` again")
        time.sleep(2)


# ---- who owns a service ------------------------------------------------------------------------------
def stack_resources(aws, stack: str) -> list[dict]:
    """ListStackResources, all pages (StackResourceSummaries); untranslated errors (callers decide)."""
    pages = aws.client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=stack)
    return [r for page in pages for r in page.get("StackResourceSummaries", [])]


def active_stack_names(aws, states: list[str]):
    """The names of the stacks in `states`, page by page (ListStacks)."""
    with translate_errors("listing CloudFormation stacks"):
        for page in aws.client("cloudformation").get_paginator("list_stacks").paginate(StackStatusFilter=list(states)):
            for summary in page.get("StackSummaries", []):
                yield summary["StackName"]
