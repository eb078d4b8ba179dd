"""Read-only CloudFormation stack and Proton outputs."""

from __future__ import annotations

from .session import Aws, error_code, translate_errors
from ..core.errors import BadInput


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


def proton_outputs(aws: Aws, env_name: str) -> dict[str, str] | None:
    """Outputs from the Proton API, or None when it does not answer (past end of support)."""
    try:
        # Past end of support the API does not answer: ask once, briefly, then use the stack.
        client = aws.client("proton", attempts=1, timeout=5)
        outputs: dict[str, str] = {}
        token = None
        while True:
            kwargs = {"environmentName": env_name}
            if token:
                kwargs["nextToken"] = token
            page = client.list_environment_outputs(**kwargs)
            for item in page.get("outputs", []):
                outputs[item["key"]] = item.get("valueString", "")
            token = page.get("nextToken")
            if not token:
                return outputs
    except Exception as exc:  # noqa: BLE001 - any failure means: use the stack it left behind
        if error_code(exc) in ("AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException"):
            # Not "Proton is gone": the caller's credentials are the problem.
            with translate_errors(f"reading Proton environment {env_name}"):
                raise
        return None


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
            f"environment.proton: no stack named AWSProton-{env_name}-cloudformation-* in a *_COMPLETE state in {aws.region} "
            "(the Proton API did not answer either)",
            hint="set `environment.stack` to the stack name",
        )
    if len(chosen) > 1:
        raise BadInput(
            f"environment.proton: {len(chosen)} stacks match Proton environment `{env_name}`: {', '.join(sorted(chosen))}",
            hint="set `environment.stack` to the one you mean",
        )
    return chosen[0]
