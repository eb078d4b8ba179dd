"""`deployer build [--push]`: the image stage alone."""

from __future__ import annotations

from ..image.build import source_tag
from ..manifest.render import render_service
from ..image.stage import BuildFlags, build_image, build_summary, image_spec, oci_labels


def build(run, *, tag: str | None, rebuild: bool, push: bool, flags: BuildFlags | None = None) -> dict:
    image_tag = source_tag(run.config.root, tag)
    # The task definitions say which platform the image is for (runtimePlatform).
    placeholder = f"{run.environment.repository}:{image_tag}"
    task_definitions = {svc.name: render_service(run.render_inputs(guardrails=False), svc, placeholder).task_definition for svc in run.services()}
    spec = image_spec(run.config, flags or BuildFlags(), task_definitions)
    image = build_image(run.image_aws, spec, run.environment.repository, image_tag, run.console,
                        labels=oci_labels(run.config.root, run.git.sha), rebuild=rebuild, push=push)
    return {
        "status": "pushed" if image.pushed else ("exists" if push and image.build is None else "built"),
        "repository": image.repository,
        "tag": image.tag,
        "image": image.reference,
        "image_digest": image.digest or None,
        "platform": spec.platform,
        "build": build_summary(image),
    }
