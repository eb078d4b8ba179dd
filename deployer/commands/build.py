"""`deployer build [--push]`: the image stage alone."""

from __future__ import annotations

from ..image import source_tag
from .release import build_image


def build(run, *, tag: str | None, build_args: dict[str, str], rebuild: bool, push: bool) -> dict:
    image = build_image(run, image_tag=source_tag(run.config.root, tag), build_args=build_args, rebuild=rebuild, push=push)
    return {
        "status": "pushed" if image.pushed else ("exists" if push else "built"),
        "repository": image.repository,
        "tag": image.tag,
        "image": image.reference,
        "image_digest": image.digest or None,
    }
