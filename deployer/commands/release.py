"""`deployer release`: build → push → render → register → deploy → watch → roll back on failure.

The definitions are rendered and validated once before the build (a template error costs no build
and pushes nothing), then again with the pushed image pinned by digest.
"""

from __future__ import annotations

import subprocess
from .. import checks, lease, pipeline
from ..image import ImageSpec, build_and_push, existing_digest, source_tag
from ..render import render_service
from .deploy import release_tags


def image_spec(run, build_args: dict[str, str]) -> ImageSpec:
    cfg = run.config.image
    return ImageSpec(
        context=cfg.context,
        dockerfile=cfg.dockerfile,
        build_args={**cfg.build_args, **build_args},
        target=cfg.target,
        platform=cfg.platform,
    )


def oci_labels(run) -> dict[str, str]:
    labels = {"org.opencontainers.image.revision": run.git.sha}
    remote = subprocess.run(["git", "remote", "get-url", "origin"], cwd=run.config.root, capture_output=True, text=True)
    if remote.returncode == 0 and remote.stdout.strip():
        labels["org.opencontainers.image.source"] = remote.stdout.strip()
    return labels


def build_image(run, *, image_tag: str, build_args: dict[str, str], rebuild: bool, push: bool):
    return build_and_push(
        run.aws,
        image_spec(run, build_args),
        run.environment.repository,
        image_tag,
        run.console,
        labels=oci_labels(run),
        rebuild=rebuild,
        push=push,
    )


def release(run, *, tag: str | None = None, build_args: dict[str, str] | None = None, rebuild: bool = False, services: list[str] | None = None, desired_count: int | None = None, force: bool = False) -> dict:
    console = run.console
    selected = run.services(services)
    repository = run.environment.repository
    image_tag = source_tag(run.config.root, tag)
    # Validate every definition before spending a build on them.
    placeholder = f"{repository}:{image_tag}"
    validated = [render_service(run, svc, placeholder, desired_count=desired_count) for svc in selected]
    if not run.options.dry_run:
        checks.require(run, validated)  # before the push, the first write
    if run.options.dry_run:
        digest = existing_digest(run.aws, repository, image_tag)
        image = f"{repository}@{digest}" if digest else placeholder
        console.info(f"dry run: image {image}" + ("" if digest else " would be built and pushed"))
        rendered = [render_service(run, svc, image, desired_count=desired_count) for svc in selected]
        return pipeline.deploy(run, rendered, tags=release_tags(run, image), force=force)

    console.step(f"image {repository}:{image_tag}")
    pushed = build_image(run, image_tag=image_tag, build_args=build_args or {}, rebuild=rebuild, push=True)
    image = pushed.reference
    rendered = [render_service(run, svc, image, desired_count=desired_count) for svc in selected]
    image_info = {"digest": pushed.digest, "tag": pushed.tag, "pushed": pushed.pushed}
    console.step("deploy " + ", ".join(r.service.name for r in rendered))
    # The lease from the first look at the service to the verdict: the build above runs unlocked.
    with lease.held(run, [r.service.name for r in rendered], "release"):
        result = pipeline.deploy(run, rendered, tags={**release_tags(run, image), "deployer:tag": pushed.tag}, force=force, image_info=image_info, preflight=False)
    result["image_tag"] = pushed.tag
    result["image_pushed"] = pushed.pushed
    return result

