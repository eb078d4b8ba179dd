"""`deployer promote --from staging --to prod`: the exact digest the source runs, proved healthy there,
released to the target (nothing built or pushed). The logic is release/promote.py."""

from __future__ import annotations

from ..core.errors import BadInput
from ..release import promote as promotion


def promote(run, *, source: str, target: str, digest: str | None = None, services: list[str] | None = None, force: bool = False) -> dict:
    promotion.check_digest_flag(digest)
    config = run.base_config
    names = ", ".join(sorted(config.environments))
    if not config.environments:
        raise BadInput(f"promote: {config.path.name} has no `environments:`; promotion goes from one environment to another")
    for flag, name in (("--from", source), ("--to", target)):
        if name not in config.environments:
            raise BadInput(f"{flag} {name}: no such environment in {config.path.name} (environments: {names})")
    if source == target:
        raise BadInput(f"--from and --to are both {source}: promote goes from one environment to another")
    source_run, target_run = run.for_environment(source), run.for_environment(target)
    selected = target_run.services(services)
    run.console.step(f"promote {source} → {target}: " + ", ".join(svc.name for svc in selected))
    proven = promotion.proven_images(source_run, selected, digest=digest)
    for p in proven:
        run.console.info(f"{p.service}: {source} runs {p.image} on {p.revision}, healthy there")
    return promotion.promote(source_run, target_run, selected, proven, force=force)
