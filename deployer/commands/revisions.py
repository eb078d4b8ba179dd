"""`deployer revisions`: revision history with image, commit, and which ones were healthy."""

from __future__ import annotations

from ..ecs import short_name

DEFAULT_LIMIT = 20


def revisions(run, *, services: list[str] | None = None, limit: int = DEFAULT_LIMIT) -> dict:
    out = []
    for svc, service in run.live_services(services):
        service = service or {}
        running = service.get("taskDefinition")
        in_use = {d.get("taskDefinition") for d in service.get("deployments", [])}
        rows = []
        for arn in run.ecs.revision_arns(svc.family)[:limit]:
            rev = run.ecs.revision(arn)
            rows.append(
                {
                    "revision": rev.revision,
                    "task_definition": rev.arn,
                    "status": rev.status,
                    "image": rev.image or rev.container_image(svc.container),
                    "commit": rev.commit,
                    "registered_at": _iso(rev.definition.get("registeredAt")),
                    "healthy_at": rev.tags.get("deployer:healthy"),
                    "running": arn == running,
                    "in_use": arn in in_use,
                }
            )
        out.append({"service": svc.name, "family": svc.family, "running": running, "revisions": rows})
    return {"services": out}


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def text(result: dict) -> str:
    lines = []
    for s in result["services"]:
        lines.append(f"{s['service']} (family {s['family']}), running {short_name(s['running']) or '-'}")
        lines.append(f"  {'REV':>4}  {'':2} {'HEALTHY':<20} {'COMMIT':<12}  IMAGE")
        for r in s["revisions"]:
            mark = "▶" if r["running"] else ("·" if r["in_use"] else " ")
            lines.append(f"  {r['revision']:>4}  {mark:2} {(r['healthy_at'] or '-'):<20} {(r['commit'] or '-')[:12]:<12}  {r['image']}")
    return "\n".join(lines)



def prune(run, *, services: list[str] | None = None, keep: int) -> dict:
    """Deregister old revisions, keeping the newest `keep` and, whatever their age, the running one,
    the last healthy one, and every one a deployment still uses (a rollback may need them)."""
    from ..errors import BadInput

    if keep < 1:
        raise BadInput(f"--keep {keep}: keep at least 1 revision")
    out = []
    for svc, service in run.live_services(services):
        service = service or {}
        protected = {d.get("taskDefinition"): f"used by deployment {d.get('id')}" for d in service.get("deployments", [])}
        if service.get("taskDefinition"):
            protected[service["taskDefinition"]] = "running"
        arns = run.ecs.revision_arns(svc.family)
        healthy = next((arn for arn in arns if run.ecs.revision(arn).healthy), None)
        if healthy:
            protected.setdefault(healthy, "last healthy revision")
        kept, removed = [], []
        for index, arn in enumerate(arns):
            reason = protected.get(arn) or ("among the newest" if index < keep else None)
            if reason:
                kept.append({"task_definition": arn, "why": reason})
            else:
                removed.append(arn)
        if removed:
            run.confirm(f"Deregister {len(removed)} revisions of {svc.family} ({', '.join(short_name(a) for a in removed)})?")
        if not run.options.dry_run:
            for arn in removed:
                run.ecs.deregister(arn)
        for arn in removed:
            run.console.info(f"{'would deregister' if run.options.dry_run else 'deregistered'} {short_name(arn)}")
        out.append({"service": svc.name, "family": svc.family, "kept": kept, "deregistered": removed})
    return {"status": "planned" if run.options.dry_run else "pruned", "services": out}


def prune_text(result: dict) -> str:
    lines = []
    for s in result["services"]:
        verb = "would deregister" if result["status"] == "planned" else "deregistered"
        lines.append(f"{s['service']}: {verb} {len(s['deregistered'])}, kept {len(s['kept'])}")
        lines += [f"  kept {short_name(k['task_definition'])}: {k['why']}" for k in s["kept"]]
    return "\n".join(lines)
