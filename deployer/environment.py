"""The admins' environment, read-only: its CloudFormation outputs (or, while it answered, Proton's).

AWS Proton's API ended on 2026-10-07; the stacks it created live on as
`AWSProton-<env name, possibly truncated>-cloudformation--<RANDOM>`. `environment.proton`
asks the Proton API first and falls back to finding that stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .aws import Aws, error_code, translate_errors
from .config import EnvironmentConfig
from .errors import BadInput

COMPLETE_STATES = [
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
]


@dataclass(frozen=True)
class Environment:
    name: str  # the Proton environment name or the stack name
    source: str  # "stack" or "proton"
    stack: str | None  # the stack the outputs came from (None when the Proton API answered)
    outputs: dict[str, str]
    cluster: str
    subnets: list[str]
    security_groups: list[str]
    target_group: str | None
    repository: str
    notes: list[str] = field(default_factory=list)
    alarms: list[str] = field(default_factory=list)  # deployment alarms (environment.outputs.alarms)
    # Blue/green, linear, canary: alternate_target_group, production_listener_rule, test_listener_rule,
    # traffic_role (config.TRAFFIC_OUTPUTS keys) -> value, for those the stack has.
    traffic: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "stack": self.stack,
            "cluster": self.cluster,
            "subnets": self.subnets,
            "security_groups": self.security_groups,
            "target_group": self.target_group,
            "repository": self.repository,
            "traffic": self.traffic,
            "outputs": self.outputs,
        }


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


def resolve(aws: Aws, cfg: EnvironmentConfig, console=None) -> Environment:
    notes: list[str] = []
    stack = cfg.stack
    if cfg.proton:
        outputs = proton_outputs(aws, cfg.proton)
        if outputs is None:
            stack = find_proton_stack(aws, cfg.proton)
            notes.append(f"Proton API did not answer; using its stack {stack}")
            outputs = stack_outputs(aws, stack)
        name, source = cfg.proton, "proton"
    else:
        outputs = stack_outputs(aws, stack)
        name, source = stack, "stack"
    if console is not None:
        for note in notes:
            console.info(note)
    return _pick(cfg, outputs, name=name, source=source, stack=stack, notes=notes)


def _pick(cfg: EnvironmentConfig, outputs: dict[str, str], **meta) -> Environment:
    where = f"stack {meta['stack']}" if meta.get("stack") else f"Proton environment {meta['name']}"
    available = ", ".join(sorted(outputs)) or "(none)"

    def need(field_name: str, output_key: str) -> str:
        if output_key not in outputs:
            raise BadInput(
                f"environment.outputs.{field_name}: output `{output_key}` not found in {where}; it has: {available}",
                hint=f"map it with `environment.outputs.{field_name}: <OutputKey>` in deployer.yaml",
            )
        return outputs[output_key]

    target_group = None
    notes = list(meta.pop("notes", []))
    if cfg.outputs.target_group:
        if cfg.outputs.target_group in outputs:
            target_group = outputs[cfg.outputs.target_group]
        elif cfg.outputs.target_group_explicit:
            need("target_group", cfg.outputs.target_group)
        else:
            notes.append(f"no `{cfg.outputs.target_group}` output: the service gets no load balancer")
    if not cfg.outputs.subnets:
        raise BadInput("environment.outputs.subnets: at least one output must name a subnet")
    return Environment(
        outputs=dict(outputs),
        cluster=need("cluster", cfg.outputs.cluster),
        subnets=[v for key in cfg.outputs.subnets for v in _split(need("subnets", key))],
        security_groups=[v for key in cfg.outputs.security_groups for v in _split(need("security_groups", key))],
        target_group=target_group,
        repository=need("repository", cfg.outputs.repository),
        traffic={k: need(k, name) for k, name in cfg.outputs.traffic.items() if name and (name in outputs or k in cfg.outputs.traffic_explicit)},
        notes=notes,
        alarms=_split(need("alarms", cfg.outputs.alarms)) if cfg.outputs.alarms else [],
        **meta,
    )


def _split(value: str) -> list[str]:
    # Proton templates often exported lists as one comma-joined output.
    return [part.strip() for part in value.split(",") if part.strip()]

