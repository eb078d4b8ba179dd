"""`deployer render`: print the rendered task and service definitions (secrets masked)."""

from __future__ import annotations

from ..manifest.render import render_service


def render(run, *, image: str | None, services: list[str] | None = None) -> dict:
    out = {}
    for svc in run.services(services):
        rendered = render_service(run.render_inputs(), svc, image or None)
        out[svc.name] = {
            "taskDefinition": rendered.task_definition,
            "service": {"cluster": run.environment.cluster, **rendered.service_definition.create_params},
        }
    return out


def text(run, result: dict) -> str:
    return run.secrets.dumps(result if len(result) > 1 else next(iter(result.values())), indent=2)  # masked as data: stays JSON
