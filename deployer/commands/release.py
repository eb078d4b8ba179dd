"""`deployer release`: build → push → render → register → deploy → watch → roll back on failure.

The definitions are rendered and validated once before the build (a template error costs no build
and pushes nothing), then again with the pushed image pinned by digest.
"""

from __future__ import annotations


from ..release import checks, lease, deploy as pipeline, schedules
from ..image.build import existing_digest, source_tag
from ..manifest.render import render_service
from ..release.deploy import release_tags
from ..image.stage import BuildFlags, build_image, build_summary, image_spec, oci_labels


def release(run, *, tag: str | None = None, rebuild: bool = False, services: list[str] | None = None, desired_count: int | None = None, force: bool = False, flags: BuildFlags | None = None) -> dict:
    console = run.console
    selected = run.services(services)
    repository = run.environment.repository
    image_tag = source_tag(run.config.root, tag)
    # Validate every definition before spending a build on them.
    placeholder = f"{repository}:{image_tag}"
    validated = [render_service(run.render_inputs(), svc, placeholder, desired_count=desired_count) for svc in selected]
    flags = flags or BuildFlags()
    spec = image_spec(run.config, flags, {r.service.name: r.task_definition for r in validated})
    # A cross-account repository lets the environment's account pull (the image is pushed below).
    checks.require_pull_access(run, validated, image_must_exist=False)
    if not run.options.dry_run:
        checks.require(run, validated)  # before the push, the first write
    schedules.require_role(run)  # `schedules:` without the scheduler role: bad input, before the build
    schedules.validate(run, placeholder)  # their own templates, names taken by schedules deployer did not make
    if run.options.dry_run:
        digest = existing_digest(run.image_aws, repository, image_tag)
        image = f"{repository}@{digest}" if digest else placeholder
        console.info(f"dry run: image {image}" + ("" if digest else " would be built and pushed"))
        rendered = [render_service(run.render_inputs(), svc, image, desired_count=desired_count) for svc in selected]
        return pipeline.deploy(run, rendered, tags=release_tags(run, image), force=force)

    console.step(f"image {repository}:{image_tag}")
    pushed = build_image(run.image_aws, spec, repository, image_tag, console, labels=oci_labels(run.config.root, run.git.sha), rebuild=rebuild, push=True)
    image = pushed.reference
    rendered = [render_service(run.render_inputs(), svc, image, desired_count=desired_count) for svc in selected]
    image_info = {"digest": pushed.digest, "tag": pushed.tag, "pushed": pushed.pushed}
    console.step("deploy " + ", ".join(r.service.name for r in rendered))
    # The lease from the first look at the service to the verdict: the build above runs unlocked.
    with lease.held(run, [r.service.name for r in rendered], "release"):
        result = pipeline.deploy(run, rendered, tags={**release_tags(run, image), "deployer:tag": pushed.tag}, force=force, image_info=image_info, preflight=False)
    result["image_tag"] = pushed.tag
    result["image_pushed"] = pushed.pushed
    result["image_build"] = build_summary(pushed)
    return result
