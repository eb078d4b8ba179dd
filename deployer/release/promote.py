"""Build once, promote: the exact image an environment runs — and proved healthy — released to another.

The source is read, never written: DescribeServices → the PRIMARY deployment's revision → the app
container's `repo@sha256:` image, which must carry the `deployer:healthy` tag (release/deploy.py
mark_healthy: the revision reached the verdict there). The target gets its own definitions rendered
with that reference and goes through the normal release pipeline (lease, plan, watch, verdict,
rollback). Nothing is built or pushed; ECR is only read, with the caller's credentials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..aws.ecs import TAG_COMMIT, TAG_IMAGE, TAG_PROMOTED_FROM, find_in_progress, primary_deployment, short_name
from ..core.errors import BadInput, DeployerError
from . import deploy as pipeline
from . import lease

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class NotPromotable(DeployerError):
    """The source does not (yet) run a proven image: exit 1, the target untouched."""

    exit_code = 1


@dataclass(frozen=True)
class Proven:
    """What one service of the source runs, proved healthy there."""

    service: str
    image: str  # repo@sha256:…
    digest: str
    revision: str  # family:revision
    commit: str | None

    @property
    def repository(self) -> str:
        return self.image.split("@", 1)[0]


def check_digest_flag(digest: str | None) -> None:
    if digest is not None and not DIGEST.match(digest):
        raise BadInput(f"--digest {digest[:80]!r}: not an image digest (sha256: and 64 hex digits)")


def proven_images(source, services, *, digest: str | None = None) -> list[Proven]:
    """The image each service runs in `source` (a Target in the source environment), refused unless settled and healthy."""
    name = source.environment_name
    wait = f"deployer wait --env {name}"
    live = source.live_services([svc.name for svc in services])
    found = []
    for svc, described in live:
        if described is None:
            raise NotPromotable(f"{svc.name}: no service in {name} (cluster {source.environment.cluster}) to promote from",
                                hint=f"release to {name} first: deployer release --env {name}")
        moving = find_in_progress(described)
        others = [d for d in described.get("deployments", []) if d.get("status") != "PRIMARY"]
        if moving is not None or others:
            deployment = moving or others[0]
            raise NotPromotable(
                f"{svc.name}: a deployment is in progress in {name} ({deployment.get('id')} of {short_name(deployment.get('taskDefinition', ''))}); "
                "only a settled, healthy revision is promoted — nothing was changed in the target",
                hint=f"`{wait}` follows it to its verdict; promote after it")
        primary = primary_deployment(described) or {}
        revision = source.ecs.revision(primary.get("taskDefinition") or described["taskDefinition"])
        shown = f"{revision.family}:{revision.revision}"
        if not revision.healthy:
            raise NotPromotable(
                f"{svc.name}: {shown}, which {name} runs, never reached the healthy verdict (no deployer:healthy tag); "
                "nothing was changed in the target",
                hint=f"`{wait}` watches it to the verdict (and tags it healthy); promote after it")
        image = revision.container_image(svc.container) or ""
        if "@sha256:" not in image:
            raise NotPromotable(
                f"{svc.name}: {shown} runs {image or '(no image)'}, a tag rather than a digest: there is no exact image to promote",
                hint=f"release to {name} with deployer (it pins the digest), then promote")
        running = image.rsplit("@", 1)[1]
        if digest is not None and running != digest:
            raise NotPromotable(f"--digest {digest}: {name} runs {running} ({svc.name} on {shown}), not that digest; nothing was changed in the target",
                                hint=f"`deployer status --env {name}` shows what runs; promote what it runs")
        found.append(Proven(service=svc.name, image=image, digest=running, revision=shown, commit=revision.tags.get(TAG_COMMIT)))
    return found


def promote(source, target, services, proven: list[Proven], *, force: bool = False) -> dict:
    """Release each proven image to `target` (a Target in the target environment) through the normal pipeline."""
    from ..image import registry
    from ..manifest.render import render_service

    by_service = {p.service: p for p in proven}
    for image in {p.image for p in proven}:  # read-only, with the repository's own (the caller's) credentials
        repo = registry.parse_repository(image.split("@", 1)[0])
        if repo.is_ecr:
            held = registry.ecr_of(target.image_aws, repo).image_exists(image.rsplit("@", 1)[1])
            if not held:
                raise BadInput(f"{image}: {'no such image' if held is False else 'no such repository'} in {repo.uri} (read with the caller's credentials); nothing was changed")
    rendered = [render_service(target.render_inputs(), svc, by_service[svc.name].image) for svc in services]
    for r in rendered:
        if r.image != by_service[r.service.name].image:
            raise BadInput(f"{r.service.name}: the rendered task definition runs {r.image}, not the promoted {by_service[r.service.name].image}")
    first = proven[0]
    tags = {TAG_IMAGE: first.image[-256:], TAG_COMMIT: first.commit or "",
            TAG_PROMOTED_FROM: f"{source.environment_name}:{first.revision}"}
    target.confirm(f"promote {first.image} from {source.environment_name} to {target.environment_name}?")
    with lease.held(target, [svc.name for svc in services], "promote"):
        result = pipeline.deploy(target, rendered, tags=tags, force=force)
    result["promoted_from"] = {"environment": source.environment_name,
                               "services": [{"service": p.service, "revision": p.revision, "image": p.image, "digest": p.digest, "commit": p.commit} for p in proven]}
    result["environment"] = target.environment_name
    return result
