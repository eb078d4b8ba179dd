"""The admins' environment, read-only: its CloudFormation stack's outputs.

AWS Proton's API ended on 2026-10-07; the stacks it created live on as
`AWSProton-<env name, possibly truncated>-cloudformation--<RANDOM>`. `environment.proton`
names the Proton environment: its stack is found by that name (the API is not asked: it does not
answer, and a connection to an endpoint that is gone could cost a command its timeout).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..aws.session import Aws
from .config import EnvironmentConfig
from ..core.errors import BadInput, ExternalError
from . import guardrails
from ..aws.cloudformation import find_proton_stack, stack_outputs


@dataclass(frozen=True)
class Environment:
    name: str  # the Proton environment name or the stack name
    source: str  # "stack" or "proton"
    stack: str  # the stack the outputs came from
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
    # The admins' guardrails: the value of the stack output DeployerPolicy (a fixed name, not mapped
    # by deployer.yaml, so the app's config cannot switch it off); None: no guardrails.
    policy_reference: str | None = None
    scheduler_role: str | None = None  # the role EventBridge Scheduler assumes (None: the stack has no such output)
    scheduler_role_output: str = "SchedulerRoleArn"

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


def resolve(aws: Aws, cfg: EnvironmentConfig, console=None, repository: str | None = None) -> Environment:
    """The environment's outputs under aws (its role in its account). repository: `image.repository`,
    which stands in for the `repository` output (the management account's repository)."""
    notes: list[str] = []
    stack = cfg.stack
    if cfg.proton:
        stack = find_proton_stack(aws, cfg.proton)
        notes.append(f"Proton environment {cfg.proton}: stack {stack}")
        outputs = stack_outputs(aws, stack)
        name, source = cfg.proton, "proton"
    else:
        outputs = stack_outputs(aws, stack)
        name, source = stack, "stack"
    if console is not None:
        for note in notes:
            console.info(note)
    return _pick(cfg, outputs, name=name, source=source, stack=stack, notes=notes, repository=repository)


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
    repository = meta.pop("repository", None)
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
        repository=repository or need("repository", cfg.outputs.repository),
        traffic={k: need(k, name) for k, name in cfg.outputs.traffic.items() if name and (name in outputs or k in cfg.outputs.traffic_explicit)},
        notes=notes,
        alarms=_split(need("alarms", cfg.outputs.alarms)) if cfg.outputs.alarms else [],
        policy_reference=outputs.get(guardrails.OUTPUT_NAME),
        scheduler_role=outputs.get(cfg.outputs.scheduler_role),
        scheduler_role_output=cfg.outputs.scheduler_role,
        **meta,
    )


def _split(value: str) -> list[str]:
    # Proton templates often exported lists as one comma-joined output.
    return [part.strip() for part in value.split(",") if part.strip()]


def load_guardrails(aws: Aws, environment: Environment) -> "guardrails.Policy | None":
    """The admins' policy the environment's stack points at (output DeployerPolicy), read with the
    environment's credentials: an SSM parameter or an S3 object of that account, or inline JSON.
    None when the stack has no such output. A policy that cannot be read is bad input naming where
    it came from: deployer refuses to deploy unchecked."""
    from ..aws import stores

    value = environment.policy_reference
    if value is None:
        return None
    where = f"stack {environment.stack}" if environment.stack else f"Proton environment {environment.name}"
    origin = f"output {guardrails.OUTPUT_NAME} of {where}"
    hint = "the platform admins publish the policy; deployer refuses to deploy unchecked until it can be read"

    def unreadable(what: str, exc: ExternalError | None = None) -> BadInput:
        because = f": {exc.message}" if exc is not None else ""
        return BadInput(f"deployer policy: cannot read {what} (from {origin}){because}; deployer refuses to deploy unchecked", hint=hint)

    def read_ssm(name: str) -> str:
        try:
            text = stores.parameter_text(aws, name, doing=f"reading the deployer policy (SSM parameter {name})")
        except ExternalError as exc:
            raise unreadable(f"SSM parameter {name}", exc) from None
        if text is None:
            raise unreadable(f"SSM parameter {name}: it does not exist")
        return text

    def read_s3(bucket: str, key: str) -> bytes:
        try:
            data = stores.s3_object(aws, bucket, key, doing=f"reading the deployer policy (s3://{bucket}/{key})",
                                    max_bytes=guardrails.MAX_POLICY_BYTES)
        except ExternalError as exc:
            raise unreadable(f"s3://{bucket}/{key}", exc) from None
        if data is None:
            raise unreadable(f"s3://{bucket}/{key}: it does not exist")
        return data

    return guardrails.load_reference(value, read_ssm=read_ssm, read_s3=read_s3, origin=origin)
