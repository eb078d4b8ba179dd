"""Render one service's task and service definitions from the app's Jinja templates."""

from __future__ import annotations

from dataclasses import dataclass

from . import definitions, templating
from .config import ServiceConfig
from .definitions import ServiceDefinition


@dataclass
class Rendered:
    service: ServiceConfig
    task_definition: dict  # RegisterTaskDefinition input
    service_definition: ServiceDefinition
    image: str


def render_service(run, service: ServiceConfig, image: str | None, *, desired_count: int | None = None) -> Rendered:
    """image: the reference to deploy (digest-pinned when known). None keeps the template's own image."""
    config = run.config
    environment = run.environment
    functions = templating.TemplateFunctions(run.aws, run.secrets)
    context = templating.build_context(
        config=config,
        environment=environment,
        service=service,
        image=image or "",
        git=run.git,
        extra_vars=run.options.vars,
    )
    td_text = templating.render_file(service.task_definition, config.root, context, functions)
    td = definitions.task_definition(
        definitions.parse_rendered(td_text, service.task_definition, context),
        service.task_definition,
        container=service.container,
        image=image,
        port=service.port,
        family=service.family,
        console=run.console,
    )
    sd_raw = None
    if service.definition is not None:
        sd_text = templating.render_file(service.definition, config.root, context, functions)
        sd_raw = definitions.parse_rendered(sd_text, service.definition, context)
    sd = definitions.service_definition(
        sd_raw, service.definition, environment=environment, service=service, desired_count_flag=desired_count,
        task_definition=td, task_definition_path=service.task_definition,
    )
    container = next(c for c in td["containerDefinitions"] if c.get("name") == service.container)
    _warn_plain_secrets(run.console, service, td)
    return Rendered(service=service, task_definition=td, service_definition=sd, image=container["image"])


_SECRET_WORDS = ("PASSWORD", "TOKEN", "SECRET", "KEY", "CREDENTIAL")


def _warn_plain_secrets(console, service: ServiceConfig, td: dict) -> None:
    for container in td.get("containerDefinitions", []):
        for item in container.get("environment", []) or []:
            name = str(item.get("name", ""))
            if any(word in name.upper() for word in _SECRET_WORDS):
                console.warn(
                    f"{service.task_definition.name}: container `{container.get('name')}` has `{name}` as a plain environment "
                    "value; use `secrets` with `valueFrom` (SSM or Secrets Manager) so it is not stored in the task definition"
                )
