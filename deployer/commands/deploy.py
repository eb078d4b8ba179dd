"""`deployer deploy --image REF` / `--revision N`: render, register, update, watch — no build."""

from __future__ import annotations

from ..release import checks, lease, deploy as pipeline
from ..core.errors import BadInput
from ..manifest.render import render_service
from ..release.deploy import release_tags


def deploy(run, *, image: str | None, revision: int | None, services: list[str] | None = None, desired_count: int | None = None, force: bool = False, image_info: dict | None = None) -> dict:
    if bool(image) == bool(revision):
        raise BadInput("deploy: pass exactly one of --image REF (deploy that image) or --revision N (redeploy a registered revision)")
    selected = run.services(services)
    revision_arns = None
    if revision is not None:
        revision_arns = {}
        rendered = []
        for svc in selected:
            rev = run.ecs.active_revision(svc.family, revision, "--revision")
            revision_image = rev.container_image(svc.container) or rev.definition["containerDefinitions"][0]["image"]
            rendered.append(render_service(run.render_inputs(), svc, revision_image, desired_count=desired_count))
            revision_arns[svc.name] = rev.arn
        image = rendered[0].image
    else:
        rendered = [render_service(run.render_inputs(), svc, image, desired_count=desired_count) for svc in selected]
    # A cross-account image: the environment's account may pull it and it is there (before the lease, the first write).
    checks.require_pull_access(run, rendered)
    # The lease from the first look at the service (the plan) to the verdict.
    with lease.held(run, [svc.name for svc in selected], "deploy"):
        return pipeline.deploy(run, rendered, tags=release_tags(run, image), force=force, revision_arns=revision_arns, image_info=image_info)
