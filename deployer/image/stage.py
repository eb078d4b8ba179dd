"""The image stage of release and build: flags, spec, build, push."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from . import secrets as build_secrets
from .build import ImageSpec, build_and_push, build_platform, public_url
from ..core.console import Console
from ..manifest.config import Config, normalize_platform


@dataclass
class BuildFlags:
    """The image flags of `release` and `build`: --build-arg, --secret, --ssh, --platform."""

    build_args: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    ssh: list[str] = field(default_factory=list)
    platform: str | None = None


def image_spec(config: Config, flags: BuildFlags, task_definitions: dict[str, dict]) -> ImageSpec:
    """deployer.yaml's image section with the flags applied; bad input (exit 2) before any build."""
    cfg = config.image
    where = config.path.name
    line = cfg.lines.get("build_args")
    origin = {name: f"{where}{f':{line}' if line else ''}: image.build_args.{name}" for name in cfg.build_args}
    build_secrets.refuse_secret_build_args(cfg.build_args, origin)
    build_secrets.refuse_secret_build_args(flags.build_args, {})
    platform = normalize_platform(flags.platform, "--platform") if flags.platform else cfg.platform
    secrets = build_secrets.merge(
        build_secrets.from_config(cfg.secrets, where), [build_secrets.parse_flag(text) for text in flags.secrets]
    )
    # Which variables and files the build may read: refused here, before anything is pulled, built or pushed.
    build_secrets.check(secrets, root=cfg.context, repo_root=config.repo_root, env_allow=config.env_allow)
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
        repo_root=config.repo_root,
        env_allow=tuple(config.env_allow) if config.env_allow is not None else None,
    )


def oci_labels(source: Path, revision: str) -> dict[str, str]:
    """The image's OCI labels: the commit it is built from, and the app repository's public URL (from `origin`)."""
    labels = {"org.opencontainers.image.revision": revision}
    remote = subprocess.run(["git", "remote", "get-url", "origin"], cwd=source, capture_output=True, text=True)
    url = public_url(remote.stdout) if remote.returncode == 0 else ""
    if url:
        labels["org.opencontainers.image.source"] = url  # credentials of the remote URL stripped
    return labels


def build_image(aws, spec: ImageSpec, repository: str, image_tag: str, console: Console, *, labels: dict[str, str], rebuild: bool, push: bool):
    """Build `spec` and push it to `repository` as `aws` (the repository's side: the caller's credentials or
    image.role_arn, never the environment's role); the console's masking set takes the build's secret values."""
    return build_and_push(aws, spec, repository, image_tag, console, labels=labels, rebuild=rebuild, push=push, masked=console.secrets)


def build_summary(pushed) -> dict | None:
    """What the build did, for --output json (None when the tag existed and nothing was built)."""
    if pushed.build is None:
        return None
    b = pushed.build
    return {
        "builder": b.builder, "steps_run": len(b.built), "steps_cached": len(b.cached), "cache": b.cache,
        "seconds": b.seconds, "push_seconds": b.push_seconds,
    }
