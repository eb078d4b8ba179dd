"""`deployer scale --desired-count N` (UpdateService desiredCount, watched until steady at N) and
`deployer scale --min/--max` (Application Auto Scaling's range of the service: RegisterScalableTarget).

When Application Auto Scaling owns the count (a scalable target on the service), a desired count set
by hand is changed back by its policies: refused (exit 2) unless --force.
"""

from __future__ import annotations

from ..aws import resources, sessions
from ..core.errors import BadInput
from ..release import operate


def scale(run, *, desired_count: int | None, minimum: int | None = None, maximum: int | None = None,
          service: str | None = None, force: bool = False) -> dict:
    if desired_count is None and minimum is None and maximum is None:
        raise BadInput("deployer scale: give --desired-count N, or --min/--max for the autoscaling range")
    cluster = run.environment.cluster
    svc, live = run.live_services([service or run.config.service.name], must_exist=True)[0]
    try:
        targets = resources.scalable_targets(run.aws, cluster, svc.name)
    except Exception as exc:  # noqa: BLE001 - cannot tell: say so, and go on as told
        if minimum is not None or maximum is not None:
            raise BadInput(f"--min/--max: could not read the autoscaling target of {svc.name}: {run.console.quote(exc)}") from None
        run.console.warn(f"{svc.name}: could not tell whether Application Auto Scaling owns its count ({run.console.quote(exc)})")
        targets = []
    result: dict = {"cluster": cluster, "service": svc.name, "services": []}
    if minimum is not None or maximum is not None:
        if not targets:
            raise BadInput(f"--min/--max: {svc.name} has no Application Auto Scaling target (nothing owns its count); "
                           "use --desired-count, or have the admins register a scalable target")
        current = targets[0]
        low = minimum if minimum is not None else current.get("MinCapacity")
        high = maximum if maximum is not None else current.get("MaxCapacity")
        if low is not None and high is not None and low > high:
            raise BadInput(f"--min {low} is above --max {high}")
        result["autoscaling"] = {"before": {"min": current.get("MinCapacity"), "max": current.get("MaxCapacity")}, "min": low, "max": high}
        if run.options.dry_run:
            result["status"] = "planned"
            return result
        sessions.register_scalable_target(run.aws, cluster, svc.name, minimum=low, maximum=high)
        run.console.ok(f"{svc.name}: autoscaling range {current.get('MinCapacity')}–{current.get('MaxCapacity')} → {low}–{high}")
        result["status"] = "updated"
        if desired_count is None:
            return result
    elif targets and not force:
        t = targets[0]
        raise BadInput(
            f"{svc.name}: Application Auto Scaling owns its desired count (scalable target, {t.get('MinCapacity')} to {t.get('MaxCapacity')} tasks); "
            f"a count set by hand is changed back by its policies",
            hint="change the range with `deployer scale --min N --max M`, or pass --force to set the count anyway",
        )
    operate.refuse_in_progress(live, force, "scale")
    run.console.step(f"{svc.name}: desired count {live.get('desiredCount')} → {desired_count}")
    if run.options.dry_run:
        result.update(status="planned", services=[{"service": svc.name, "from": live.get("desiredCount"), "to": desired_count}])
        return result
    entry = operate.update_and_watch(run, svc.name, live, {"desiredCount": desired_count}, command="scale")
    entry["from"] = live.get("desiredCount")
    result["services"] = [entry]
    result["status"] = entry["status"]
    if entry["status"] == "steady":
        run.console.ok(f"{svc.name}: steady at {entry['running_count']} running task(s)")
    return result


def text(run, result: dict) -> str | None:
    lines = [f"{s['service']}: {s['status']} at {s.get('running_count', s.get('to'))}/{s.get('desired_count', s.get('to'))}" for s in result.get("services", [])]
    if result.get("autoscaling"):
        a = result["autoscaling"]
        lines.insert(0, f"{result['service']}: autoscaling {result['status']} min {a['min']} max {a['max']}")
    return "\n".join(lines) or None
