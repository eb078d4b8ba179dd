"""Rendered definitions against what runs, normalised."""

from __future__ import annotations

import difflib
import json

from ..manifest import normalize
from ..aws.ecs import short_name
from ..core.secret_names import looks_secret
from ..core.secrets import MASK
from ..manifest.render import render_service
from .plan import comparable_live


# The image a service that does not exist yet would get: the one `release` builds or `--image` names.
NEW_IMAGE = "<image: built by `deployer release`, or --image>"


MASKED_CHANGED = MASK + " (changed)"


def _mask_secret_environment(run, live_td: dict | None, wanted_td: dict) -> list[str]:
    """Plaintext values of secret-looking environment variables (DB_PASSWORD, API_TOKEN, *_KEY...) in
    either definition — the live one may be a revision someone else registered — are shown as ****
    on both sides (the rendered one `**** (changed)` when it differs from the live one), and the live
    values join the masker. Returns "container.NAME" of each masked variable, for the report."""
    masked: set[str] = set()

    def environments(td: dict | None) -> dict[str, list[dict]]:
        return {str(c.get("name")): c.get("environment") or [] for c in (td or {}).get("containerDefinitions") or [] if isinstance(c, dict)}

    live_env, wanted_env = environments(live_td), environments(wanted_td)
    live_values = {(container, str(item.get("name"))): item.get("value") for container, items in live_env.items() for item in items if isinstance(item, dict)}
    for side, envs in (("live", live_env), ("rendered", wanted_env)):
        for container, items in envs.items():
            for item in items:
                if not isinstance(item, dict) or not looks_secret(str(item.get("name", ""))) or item.get("value") in (None, "", MASK, MASKED_CHANGED):
                    continue
                value = str(item["value"])
                run.secrets.add(value)
                masked.add(f"{container}.{item.get('name')}")
                differs = side == "rendered" and (container, str(item.get("name"))) in live_values and live_values[(container, str(item.get("name")))] != item["value"]
                item["value"] = MASKED_CHANGED if differs else MASK
    return sorted(masked)


def diff(run, *, image: str | None, services: list[str] | None = None) -> dict:
    from . import schedules

    env = run.environment
    results = []
    revisions, described = {}, {}
    for svc, live in run.live_services(services):
        revision = run.ecs.revision(live["taskDefinition"]) if live and live.get("taskDefinition") else None
        running_image = revision.container_image(svc.container) if revision else None
        rendered = render_service(run.render_inputs(guardrails=False), svc, image or running_image or NEW_IMAGE)
        results.append(_service_diff(run, svc, rendered, live, revision))
        # A schedule moves to the revision the service would run: the running one, or a new one.
        revisions[svc.name] = schedules.NEW_REVISION if results[-1]["task_definition_diff"] or revision is None else revision.arn
        described[svc.name] = live
    schedule_changes = schedules.plan(run, revisions, described)
    masked = [f"{r['service']}: {', '.join(r['masked_environment'])}" for r in results if r.get("masked_environment")]
    if masked:
        run.console.info("values of secret-looking environment variables are masked (****; `**** (changed)` when the rendered value differs): "
                         + "; ".join(masked) + " — move them to `secrets:` (valueFrom), where the task definition holds no value")
    return {"changed": any(r["changed"] for r in results) or any(c.action != "none" for c in schedule_changes), "cluster": env.cluster,
            "services": results, "schedules": [c.as_dict() for c in schedule_changes]}


def text(result: dict) -> str | None:
    """The diffs of the services that differ, plain; None when none does."""
    chunks = [part for entry in result.get("services", [])
              for part in (entry.get("task_definition_diff"), entry.get("service_diff")) if part]
    from .schedules import ScheduleChange

    chunks += [ScheduleChange(**c).describe() for c in result.get("schedules") or [] if c["action"] != "none"]
    return "\n".join(chunks) if chunks else None


def _service_diff(run, svc, rendered, live: dict | None, revision) -> dict:
    mask = run.secrets.mask
    if live is None or revision is None:
        wanted_td = normalize.task_definition(rendered.task_definition)
        create = {"cluster": run.environment.cluster, **rendered.service_definition.create_params}
        masked_env = _mask_secret_environment(run, None, wanted_td)
        td_diff = _unified(None, wanted_td, f"live (service {svc.name} does not exist)", f"rendered {svc.family} (task definition)")
        sd_diff = _unified(None, _sorted_lists(normalize.prune(create)), f"live (service {svc.name} does not exist)", f"rendered service {svc.name}")
        return {
            "service": svc.name,
            "exists": False,
            "changed": True,
            "task_definition_diff": mask(td_diff),
            "service_diff": mask(sd_diff),
            "live_task_definition": None,
            "masked_environment": masked_env,
        }
    wanted_td, live_td = normalize.compare_task_definitions(rendered.task_definition, normalize.with_tags(revision.definition, revision.tags))
    masked_env = _mask_secret_environment(run, live_td, wanted_td)
    td_diff = _unified(live_td, wanted_td, f"live {short_name(revision.arn)}", "rendered") if wanted_td != live_td else ""

    wanted_sd = normalize.service_settings(rendered.service_definition.update_params)
    live_sd = normalize.live_settings(comparable_live(live, rendered.service_definition.update_params, run.aws), wanted_sd)
    wanted_sd = normalize.reconcile(wanted_sd, live_sd)
    sd_diff = _unified(live_sd, wanted_sd, f"live service {svc.name}", f"rendered service {svc.name}") if wanted_sd != live_sd else ""
    return {
        "service": svc.name,
        "exists": True,
        "changed": bool(td_diff or sd_diff),
        "task_definition_diff": mask(td_diff),
        "service_diff": mask(sd_diff),
        "live_task_definition": revision.arn,
        "masked_environment": masked_env,
    }


def _sorted_lists(value):
    if isinstance(value, dict):
        return {k: _sorted_lists(v) for k, v in value.items()}
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return sorted(value)
    if isinstance(value, list):
        return [_sorted_lists(v) for v in value]
    return value


def _pretty(value) -> list[str]:
    if value is None:
        return []
    return json.dumps(value, indent=2, sort_keys=True, default=str).splitlines()


def _unified(live, wanted, from_label: str, to_label: str) -> str:
    lines = difflib.unified_diff(_pretty(live), _pretty(wanted), fromfile=from_label, tofile=to_label, lineterm="", n=3)
    return "\n".join(lines)
