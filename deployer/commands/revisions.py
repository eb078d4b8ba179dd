"""`deployer revisions`: revision history with image, commit, and which ones were healthy."""

from __future__ import annotations

from ..aws.ecs import short_name

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
    """Deregister old revisions, never one that is a way back (see `protected`); --keep N keeps N
    more, healthy ones first. Held under each service's lease: a release cannot start meanwhile."""
    from ..release import lease
    from ..core.errors import BadInput

    if keep < 1:
        raise BadInput(f"--keep {keep}: keep at least 1 revision")
    with lease.held(run, [svc.name for svc in run.services(services)], "revisions --prune"):
        return _prune(run, services, keep)


def _prune(run, services: list[str] | None, keep: int) -> dict:
    used = cluster_usage(run)
    selected = run.live_services(services)
    active = {svc.family: run.ecs.revision_arns(svc.family) for svc, _ in selected}
    for arn, why in scheduled_usage(run, active).items():
        used.setdefault(arn, why)
    out = []
    for svc, service in selected:
        arns = active[svc.family]
        revisions = {arn: run.ecs.revision(arn) for arn in arns}
        protected = protected_revisions(svc.name, service or {}, arns, revisions, used)
        kept, removed = [], []
        kept_by_count = set(keepers(arns, revisions, keep))
        for arn in arns:
            reason = protected.get(arn) or (f"one of the {keep} kept (healthy ones first)" if arn in kept_by_count else None)
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


def protected_revisions(name: str, service: dict, arns: list[str], revisions: dict, used: dict[str, str]) -> dict[str, str]:
    """Revisions that are a way back or in use, whatever their age → why: the running one, the
    rollback target (the newest healthy one below it), the newest healthy one, and every revision a
    service of the cluster runs or any of its deployments uses."""
    from ..aws.ecs import arn_revision

    protected = {arn: why for arn, why in used.items() if arn in revisions}
    running = service.get("taskDefinition")
    if running:
        protected[running] = "running"
    healthy = [arn for arn in arns if revisions[arn].healthy]
    if healthy:
        protected.setdefault(healthy[0], "last healthy revision")
    if running:
        below = [arn for arn in healthy if arn_revision(arn) < arn_revision(running)]
        if below:
            protected.setdefault(below[0], f"rollback target of {name} (the previous healthy revision)")
    return protected


def keepers(arns: list[str], revisions: dict, keep: int) -> list[str]:
    """The `keep` revisions --keep keeps: the newest healthy ones first, then the newest others."""
    healthy = [arn for arn in arns if revisions[arn].healthy]
    return (healthy + [arn for arn in arns if arn not in healthy])[:keep]


def cluster_usage(run) -> dict[str, str]:
    """Task definition ARN → which service of the cluster runs it or which deployment uses it."""
    from ..aws.session import translate_errors

    cluster = run.environment.cluster
    names: list[str] = []
    with translate_errors(f"listing the services of cluster {cluster} (prune must know every revision in use)"):
        for page in run.ecs.client.get_paginator("list_services").paginate(cluster=cluster):
            names += [arn.rsplit("/", 1)[-1] for arn in page.get("serviceArns", [])]
    used: dict[str, str] = {}
    for name, service in run.ecs.describe_services(cluster, names).items():
        if not service:
            continue
        for deployment in service.get("deployments", []):
            used.setdefault(deployment.get("taskDefinition"), f"used by deployment {deployment.get('id')} of service {name}")
        if service.get("taskDefinition"):
            used[service["taskDefinition"]] = f"runs service {name}"
    return used


def scheduled_usage(run, active: dict[str, list[str]]) -> dict[str, str]:
    """Task definition ARN → which EventBridge rule or Scheduler schedule of the account and region runs
    it (anyone's: a rule someone made by hand runs the revision as surely as the service does). A target
    naming the family without a revision runs the newest ACTIVE one. Only `active`'s families count."""
    from ..aws import scheduler

    refs = [(f"used by EventBridge rule {name}", ref) for name, ref in scheduler.rule_task_definitions(run.aws)]
    refs += [(f"used by schedule {name}", ref) for name, ref in scheduler.schedule_task_definitions(run.aws)]
    used: dict[str, str] = {}
    for why, ref in refs:
        arn = _resolve(ref, active)
        if arn:
            used.setdefault(arn, why)
    return used


def _resolve(ref: str, active: dict[str, list[str]]) -> str | None:
    """An ARN, family:revision or family → the ARN among `active`'s families (None: another family)."""
    tail = ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref
    family, _, number = tail.partition(":")
    arns = active.get(family)
    if not arns:
        return None
    if not number:
        return arns[0]  # the newest ACTIVE revision: what EventBridge runs for a family-less ARN
    return next((arn for arn in arns if arn.rsplit(":", 1)[-1] == number), None)


def prune_text(result: dict) -> str:
    lines = []
    for s in result["services"]:
        verb = "would deregister" if result["status"] == "planned" else "deregistered"
        lines.append(f"{s['service']}: {verb} {len(s['deregistered'])}, kept {len(s['kept'])}")
        lines += [f"  kept {short_name(k['task_definition'])}: {k['why']}" for k in s["kept"]]
    return "\n".join(lines)
