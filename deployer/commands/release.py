"""`deployer release`: build → push → render → register → deploy → watch → roll back on failure.

The definitions are rendered and validated once before the build (a template error costs no build
and pushes nothing), then again with the pushed image pinned by digest.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field

from .. import build_secrets, checks, lease, pipeline
from ..image import ImageSpec, build_and_push, build_platform, existing_digest, normalize_platform, public_url, source_tag
from ..render import render_service
from .deploy import release_tags


@dataclass
class BuildFlags:
    """The image flags of `release` and `build`: --build-arg, --secret, --ssh, --platform."""

    build_args: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    ssh: list[str] = field(default_factory=list)
    platform: str | None = None


def image_spec(run, flags: BuildFlags, task_definitions: dict[str, dict]) -> ImageSpec:
    """deployer.yaml's image section with the flags applied; bad input (exit 2) before any build."""
    cfg = run.config.image
    where = run.config.path.name
    line = cfg.lines.get("build_args")
    origin = {name: f"{where}{f':{line}' if line else ''}: image.build_args.{name}" for name in cfg.build_args}
    build_secrets.refuse_secret_build_args(cfg.build_args, origin)
    build_secrets.refuse_secret_build_args(flags.build_args, {})
    platform = normalize_platform(flags.platform, "--platform") if flags.platform else cfg.platform
    secrets = build_secrets.merge(
        build_secrets.from_config(cfg.secrets, where), [build_secrets.parse_flag(text) for text in flags.secrets]
    )
    # Which variables and files the build may read: refused here, before anything is pulled, built or pushed.
    build_secrets.check(secrets, root=cfg.context, repo_root=run.config.repo_root, env_allow=run.config.env_allow)
    return ImageSpec(
        context=cfg.context,
        dockerfile=cfg.dockerfile,
        build_args={**cfg.build_args, **flags.build_args},
        target=cfg.target,
        platform=build_platform(platform, task_definitions),
        secrets=tuple(secrets),
        ssh=tuple(flags.ssh),
        cache=cfg.cache,
        cache_ref=cfg.cache_ref,
        repo_root=run.config.repo_root,
        env_allow=tuple(run.config.env_allow) if run.config.env_allow is not None else None,
    )


def oci_labels(run) -> dict[str, str]:
    labels = {"org.opencontainers.image.revision": run.git.sha}
    remote = subprocess.run(["git", "remote", "get-url", "origin"], cwd=run.config.root, capture_output=True, text=True)
    source = public_url(remote.stdout) if remote.returncode == 0 else ""
    if source:
        labels["org.opencontainers.image.source"] = source  # credentials of the remote URL stripped
    return labels


def build_image(run, spec: ImageSpec, *, image_tag: str, rebuild: bool, push: bool):
    return build_and_push(
        run.aws,
        spec,
        run.environment.repository,
        image_tag,
        run.console,
        labels=oci_labels(run),
        rebuild=rebuild,
        push=push,
        masked=run.secrets,
    )


def build_summary(pushed) -> dict | None:
    """What the build did, for --output json (None when the tag existed and nothing was built)."""
    if pushed.build is None:
        return None
    b = pushed.build
    return {
        "builder": b.builder, "steps_run": len(b.built), "steps_cached": len(b.cached), "cache": b.cache,
        "seconds": b.seconds, "push_seconds": b.push_seconds,
    }


def release(run, *, tag: str | None = None, rebuild: bool = False, services: list[str] | None = None, desired_count: int | None = None, force: bool = False, flags: BuildFlags | None = None) -> dict:
    console = run.console
    selected = run.services(services)
    repository = run.environment.repository
    image_tag = source_tag(run.config.root, tag)
    # Validate every definition before spending a build on them.
    placeholder = f"{repository}:{image_tag}"
    validated = [render_service(run, svc, placeholder, desired_count=desired_count) for svc in selected]
    flags = flags or BuildFlags()
    spec = image_spec(run, flags, {r.service.name: r.task_definition for r in validated})
    if not run.options.dry_run:
        checks.require(run, validated)  # before the push, the first write
    if run.options.dry_run:
        digest = existing_digest(run.aws, repository, image_tag)
        image = f"{repository}@{digest}" if digest else placeholder
        console.info(f"dry run: image {image}" + ("" if digest else " would be built and pushed"))
        rendered = [render_service(run, svc, image, desired_count=desired_count) for svc in selected]
        return pipeline.deploy(run, rendered, tags=release_tags(run, image), force=force)

    console.step(f"image {repository}:{image_tag}")
    pushed = build_image(run, spec, image_tag=image_tag, rebuild=rebuild, push=True)
    image = pushed.reference
    rendered = [render_service(run, svc, image, desired_count=desired_count) for svc in selected]
    image_info = {"digest": pushed.digest, "tag": pushed.tag, "pushed": pushed.pushed}
    console.step("deploy " + ", ".join(r.service.name for r in rendered))
    # The lease from the first look at the service to the verdict: the build above runs unlocked.
    with lease.held(run, [r.service.name for r in rendered], "release"):
        result = pipeline.deploy(run, rendered, tags={**release_tags(run, image), "deployer:tag": pushed.tag}, force=force, image_info=image_info, preflight=False)
    result["image_tag"] = pushed.tag
    result["image_pushed"] = pushed.pushed
    result["image_build"] = build_summary(pushed)
    return result

