"""`deployer status`: the service, its deployments, the last events."""

from __future__ import annotations

from ..release import stages
from ..release.diagnose import recent_stops
from ..core.console import untrusted_line
from ..aws.ecs import TAG_DEPLOYMENT, TAG_DEPLOYMENT_STARTED, TAG_DEPLOYMENT_TARGET, short_name
from ..core.errors import ExternalError

EVENTS = 8


def status(run, *, services: list[str] | None = None) -> dict:
    cluster = run.environment.cluster
    out = []
    for svc, service in run.live_services(services, must_exist=True):
        deployments = []
        for d in service.get("deployments", []):
            rev = run.ecs.revision(d["taskDefinition"])
            deployments.append(
                {
                    "id": d.get("id"),
                    "status": d.get("status"),
                    "task_definition": d.get("taskDefinition"),
                    "image": rev.image or rev.container_image(svc.container),
                    "commit": rev.commit,
                    "running": d.get("runningCount", 0),
                    "desired": d.get("desiredCount", 0),
                    "pending": d.get("pendingCount", 0),
                    "failed_tasks": d.get("failedTasks", 0),
                    "rollout_state": d.get("rolloutState"),
                    "rollout_state_reason": d.get("rolloutStateReason"),
                    "created_at": _iso(d.get("createdAt")),
                }
            )
        try:
            stopped, replacing = recent_stops(run, cluster, service)
        except ExternalError as exc:  # a role without ecs:ListTasks/DescribeTasks still gets the rest
            stopped, replacing = [], None
            run.console.debug(f"could not list the stopped tasks: {exc.message}")
        out.append(
            {
                "stopped_tasks": stopped,
                "replacing_after_completed": replacing,
                "service": svc.name,
                "cluster": cluster,
                "status": service.get("status"),
                "task_definition": service.get("taskDefinition"),
                "running": service.get("runningCount", 0),
                "desired": service.get("desiredCount", 0),
                "deployments": deployments,
                "last_release": _last_release(run, service),
                "events": [{"at": _iso(e.get("createdAt")), "message": e.get("message")} for e in service.get("events", [])[:EVENTS]],
                **stages.status_of(run, service),  # blue/green, linear, canary: the lifecycle stage
            }
        )
    return {"services": out}


def _last_release(run, service: dict) -> dict | None:
    """The deployment the last release started (the service's deployer:deployment tags): what `wait` judges."""
    try:
        tags = run.ecs.service_tags(service["serviceArn"]) if service.get("serviceArn") else {}
    except ExternalError:  # a role without ecs:ListTagsForResource still gets the rest
        return None
    if not tags.get(TAG_DEPLOYMENT):
        return None
    return {"deployment_id": tags[TAG_DEPLOYMENT], "task_definition": tags.get(TAG_DEPLOYMENT_TARGET), "started": tags.get(TAG_DEPLOYMENT_STARTED)}


def _iso(value) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else value


def text(result: dict) -> str:
    lines = []
    for s in result["services"]:
        lines.append(f"{s['service']} ({s['status']}) in {s['cluster']}: {short_name(s['task_definition'])}, {s['running']}/{s['desired']} running")
        for d in s["deployments"]:
            lines.append(
                f"  {d['status']:<8} {short_name(d['task_definition']):<16} {d['rollout_state'] or '-':<12} "
                f"{d['running']}/{d['desired']} running, {d['failed_tasks']} failed  commit {(d['commit'] or '-')[:12]}  {d['id']}"
            )
            if d["rollout_state_reason"]:
                lines.append("         " + untrusted_line("ecs", d["rollout_state_reason"]))
        if s.get("last_release"):
            r = s["last_release"]
            lines.append(f"  last release: deployment {r['deployment_id']} of {short_name(r['task_definition'])} (`deployer wait` judges it)")
        lines += stages.status_text(s)
        if s.get("replacing_after_completed"):
            lines.append("  WARNING:" + untrusted_line("ecs", s["replacing_after_completed"]))
        if s.get("stopped_tasks"):
            lines.append("  recent stopped tasks:")
            for t in s["stopped_tasks"]:
                codes = "; ".join(f"{c['name']}: exit code {c['exit_code'] if c['exit_code'] is not None else '-'}" + (f", {c['reason']}" if c.get("reason") else "")
                                  for c in t["containers"])
                lines.append(f"    {t['stopped_at']} {t['task'][:8]} {short_name(t['task_definition'])}"
                             + untrusted_line("ecs", f"{t['stopped_reason'] or 'no reason given'} ({codes})"))
        if s["events"]:
            lines.append("  events:")
            lines += [f"    {e['at']}" + untrusted_line("ecs", e["message"]) for e in s["events"]]  # ECS's words: data
    return "\n".join(lines)
