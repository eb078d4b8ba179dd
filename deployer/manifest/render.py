"""Render one service's task and service definitions from the app's Jinja templates."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from . import definitions, ecs_rules, templating
from . import guardrails as guardrails_
from ..core import secret_names
from .config import Config, ServiceConfig
from .definitions import ServiceDefinition
from .environment import Environment
from .guardrails import Policy
from .templating import GitInfo
from ..core.console import Console
from ..core.errors import BadInput


@dataclass
class Rendered:
    service: ServiceConfig
    task_definition: dict  # RegisterTaskDefinition input
    service_definition: ServiceDefinition
    image: str
    # What the templates read from AWS: ("ssm", parameter name), ("secretsmanager", secret id).
    reads: set = field(default_factory=set)


@dataclass(frozen=True)
class RenderInputs:
    """What one environment's definitions are rendered with: plain data (the release layer's Target makes it)."""

    config: Config  # deployer.yaml, its environment selected
    environment: Environment  # that environment's outputs (cluster, subnets, repository, ...)
    aws: Any  # the session template functions read with (ssm, secretsmanager_arn, cfn_output)
    console: Console  # warnings; its masking set (console.secrets) takes every secret value a template reads
    git: GitInfo  # the app repository's commit (the templates' `git`)
    vars: dict = field(default_factory=dict)  # --var NAME=VALUE
    # The admins' guardrails the rendered definitions are checked against; None: none in force, or not checked.
    policy: Policy | None = None

    @property
    def environment_name(self) -> str | None:
        return self.config.environment.name if self.config.environment is not None else None


def render_service(inputs: RenderInputs, service: ServiceConfig, image: str | None, *, desired_count: int | None = None) -> Rendered:
    """image: the reference to deploy (digest-pinned when known). None keeps the template's own image.
    inputs.policy: the admins' policy, checked here (check_guardrails) — every path to a write renders with
    it, so render, verify, deploy and release refuse a violation before anything is written."""
    config = inputs.config
    environment = inputs.environment
    # environments.<env>.services.<service>: this environment's desired count (a --desired-count flag wins) and alarms.
    override = config.environment.services.get(service.name) if config.environment is not None else None
    if desired_count is None and override is not None:
        desired_count = override.desired_count
    functions = templating.TemplateFunctions(inputs.aws, inputs.console.secrets, env_allow=config.env_allow)
    context = templating.build_context(
        config=config,
        environment=environment,
        service=service,
        image=image or "",
        git=inputs.git,
        extra_vars=functions.secret_vars(inputs.vars or {}),
    )
    td_raw = _render(service.task_definition, config, context, functions)
    sd_raw = _render(service.definition, config, context, functions) if service.definition is not None else None
    if sd_raw is not None and not isinstance(sd_raw, dict):
        # `[]` or `0` would otherwise read as "no service definition" and deploy with defaults.
        raise BadInput(f"{os.path.relpath(service.definition)}: a service definition must be a JSON object, got {_kind(sd_raw)}")
    td_raw = _place_secrets(td_raw, service.task_definition, functions.secret_refs, allow=config.allow_plaintext_secrets)
    sd_raw = _place_secrets(sd_raw, service.definition, functions.secret_refs, allow=config.allow_plaintext_secrets)
    try:
        td = definitions.task_definition(
            td_raw, service.task_definition, container=service.container, image=image, port=service.port, family=service.family, console=inputs.console
        )
        sd = definitions.service_definition(
            sd_raw, service.definition, environment=environment, service=service, desired_count_flag=desired_count,
            task_definition=td, task_definition_path=service.task_definition,
            alarms=override.alarms if override is not None else None,
        )
    except RecursionError:
        raise BadInput(f"{os.path.relpath(service.task_definition)}: the rendered definition nests too deep") from None
    ecs_rules.enforce(td, sd.create_params, written=sd_raw or {}, task_file=os.path.relpath(service.task_definition), service_file=os.path.relpath(service.definition) if service.definition else None)
    container = next(c for c in td["containerDefinitions"] if c.get("name") == service.container)
    _warn_plain_secrets(inputs.console, service, td)
    rendered = Rendered(service=service, task_definition=td, service_definition=sd, image=container["image"], reads=set(functions.reads))
    check_guardrails(inputs.policy, rendered, environment=inputs.environment_name)
    return rendered


def service_parameters(rendered: Rendered) -> dict:
    """What deployer may send ECS for the service: CreateService's parameters with UpdateService's over them
    (a --desired-count override is in both)."""
    return {**rendered.service_definition.create_params, **rendered.service_definition.update_params}


def policy_violations(policy: Policy | None, rendered: Rendered) -> list:
    """The admins' rules (stack output DeployerPolicy) these definitions break; [] without a policy."""
    return guardrails_.check(policy, rendered.task_definition, service_parameters(rendered))


def check_guardrails(policy: Policy | None, rendered: Rendered, *, environment: str | None = None) -> None:
    """Exit 2 (nothing written) with every rule of the admins' policy the definitions break."""
    violations = policy_violations(policy, rendered)
    if violations:
        refused = guardrails_.refusal(policy, violations, environment=environment)
        raise BadInput(f"service {rendered.service.name}: {refused.message}", hint=refused.hint)


def render_task_definition(inputs: RenderInputs, service: ServiceConfig, path, image: str, *, family: str) -> dict:
    """Another task definition template with the service's values (a scheduled task's own, `schedules.<name>.task_definition`):
    the RegisterTaskDefinition input of family `family`, its `service.container` running `image`."""
    from dataclasses import replace

    config = inputs.config
    service = replace(service, task_definition=path, family=family)
    functions = templating.TemplateFunctions(inputs.aws, inputs.console.secrets, env_allow=config.env_allow)
    context = templating.build_context(config=config, environment=inputs.environment, service=service, image=image or "", git=inputs.git,
                                       extra_vars=functions.secret_vars(inputs.vars or {}))
    td_raw = _place_secrets(_render(path, config, context, functions), path, functions.secret_refs, allow=config.allow_plaintext_secrets)
    try:
        td = definitions.task_definition(td_raw, path, container=service.container, image=image, port=None, family=family, console=inputs.console)
    except RecursionError:
        raise BadInput(f"{os.path.relpath(path)}: the rendered definition nests too deep") from None
    _warn_plain_secrets(inputs.console, service, td)
    return td


def _render(path, config, context: dict, functions) -> Any:
    text = templating.render_file(path, config.root, context, functions, repo_root=config.repo_root)
    try:
        return definitions.parse_rendered(text, path, context, repo_root=config.repo_root)
    except RecursionError:
        raise BadInput(f"{os.path.relpath(path)}: rendered output nests deeper than a definition can") from None


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean", type(None): "null"}.get(type(value), type(value).__name__)


def _place_secrets(value: Any, path, refs: dict, *, allow: bool) -> Any:
    """Secret tokens (templating.SecretRef) in the rendered definition: refused, or — when deployer.yaml
    sets `allow_plaintext_secrets: true` — replaced by their values, which the console masks."""
    if not refs or value is None:
        return value

    def walk(node: Any, where: list) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, where + [k]) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, where + [i]) for i, v in enumerate(node)]
        if isinstance(node, str):
            for token, ref in refs.items():
                if token in node:
                    if not allow:
                        _refuse(ref, where, value, path)
                    node = node.replace(token, ref.value)
            if _broken_token(node, refs):
                field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where).lstrip(".")
                raise BadInput(
                    f"{os.path.relpath(path)}: `{field}` has a transformed secret (a slice, `| reverse`, a method of a secret value); "
                    "a secret value cannot be transformed in a template, only inserted whole"
                )
        return node

    return walk(value, [])


_TOKEN_PIECE = re.compile(r"(<secret|cret|ret|et|t|^):(env|var|ssm|marked)[:-]")
_TOKEN_LETTERS = re.compile(r"secret(env|var|ssm|marked)")


def _broken_token(text: str, refs: dict) -> bool:
    """What a template made of a secret's token (the value itself is never in a template): a piece of it,
    reversed, case-changed or with characters between its letters."""
    for candidate in (text.lower(), text.lower()[::-1]):
        if "<secret:" in candidate or _TOKEN_PIECE.search(candidate):
            return True
        if ("<" in candidate or ">" in candidate) and _TOKEN_LETTERS.search(re.sub(r"[^a-z0-9]", "", candidate)):
            return True
    return False


def _refuse(ref, where: list, document: Any, path) -> None:
    shown = os.path.relpath(path)
    hint = "or set `allow_plaintext_secrets: true` in deployer.yaml to store it in the definition on purpose"
    # containerDefinitions[i].environment[j].value: name the container and the variable.
    if len(where) == 5 and where[0] == "containerDefinitions" and where[2] == "environment" and where[4] == "value":
        container = document["containerDefinitions"][where[1]]
        variable = container["environment"][where[3]].get("name", "?")
        line = json.dumps({"name": variable, "valueFrom": ref.value_from or "<ARN of an SSM parameter or Secrets Manager secret>"})
        raise BadInput(
            f"{shown}: container `{container.get('name', '?')}` variable `{variable}` gets {ref.source} as a plain environment value, "
            f"which anyone with ecs:DescribeTaskDefinition can read. Move it to the container's \"secrets\": {line}",
            hint=hint,
        )
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where).lstrip(".")
    raise BadInput(
        f"{shown}: `{field}` gets {ref.source}; a definition is readable by anyone with ecs:DescribeTaskDefinition / "
        "ecs:DescribeServices. Pass secrets to containers with \"secrets\": [{\"name\", \"valueFrom\"}]",
        hint=hint,
    )


def _warn_plain_secrets(console, service: ServiceConfig, td: dict) -> None:
    for container in td.get("containerDefinitions", []):
        for item in container.get("environment", []) or []:
            name = str(item.get("name", ""))
            if secret_names.looks_secret(name):
                console.warn(
                    f"{service.task_definition.name}: container `{container.get('name')}` has `{name}` as a plain environment "
                    "value; use `secrets` with `valueFrom` (SSM or Secrets Manager) so it is not stored in the task definition"
                )
