"""The app's scheduled tasks (`schedules:` in deployer.yaml): EventBridge Scheduler schedules named
`<app>-<name>` that run the service's revision with its network and a command override.

plan(): the config, the revision each service moves to, and the live schedules → the changes
(create / update / delete / none), plain data. apply(): make them. A release applies them after the
services' verdict is healthy, so cron never runs a revision that did not prove itself; a failed
release never moved them, so they stay with the revision the service goes back to.

Only schedules deployer made are updated or deleted: `<app>-` names whose Description is the marker
"managed by deployer: <app>". A schedule someone made by hand with such a name is left alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..aws.ecs import short_name
from ..aws.scheduler import DEFAULT_GROUP
from ..core.errors import BadInput, ExternalError

MARKER = "managed by deployer: {app}"
NEW_REVISION = "<the revision this release registers>"


@dataclass
class ScheduleChange:
    name: str
    action: str  # create | update | delete | none
    service: str | None
    task_definition: str | None  # the revision it runs after the change (None: deleted)
    previous_task_definition: str | None  # the revision it ran before (None: did not exist)
    expression: str | None = None
    params: dict | None = None  # CreateSchedule / UpdateSchedule input
    changed: list[str] = field(default_factory=list)  # the fields that differ

    def as_dict(self) -> dict:
        return {"name": self.name, "action": self.action, "service": self.service, "expression": self.expression,
                "task_definition": self.task_definition, "previous_task_definition": self.previous_task_definition,
                "changed": self.changed}

    def describe(self) -> str:
        revision = _short(self.task_definition)
        if self.action == "create":
            return f"schedule {self.name}: create ({self.expression}) on {revision}"
        if self.action == "update":
            moved = f"{_short(self.previous_task_definition)} → {revision}" if self.previous_task_definition != self.task_definition else f"on {revision}"
            return f"schedule {self.name}: update {moved} ({', '.join(self.changed)})"
        if self.action == "delete":
            return f"schedule {self.name}: delete (no longer in deployer.yaml; it ran {_short(self.previous_task_definition)})"
        return f"schedule {self.name}: unchanged on {revision}"


def _short(arn: str | None) -> str:
    if arn == NEW_REVISION:
        return arn
    return short_name(arn) or "nothing"


def require_role(run) -> str | None:
    """The scheduler role's ARN when the config has schedules; bad input (naming the line) when the stack lacks it."""
    config = run.config
    if not config.schedules:
        return None
    env = run.environment
    if not env.scheduler_role:
        where = f"{config.path.name}:{config.schedules_line}" if config.schedules_line else config.path.name
        available = ", ".join(sorted(env.outputs)) or "(none)"
        raise BadInput(
            f"{where}: `schedules` needs the role EventBridge Scheduler assumes to run the tasks: output `{env.scheduler_role_output}` "
            f"not found in {'stack ' + env.stack if env.stack else 'environment ' + env.name}; it has: {available}",
            hint="ask the platform admins for a role trusting scheduler.amazonaws.com (ecs:RunTask, iam:PassRole), "
                 "or map its output with `environment.outputs.scheduler_role: <OutputKey>`",
        )
    return env.scheduler_role


def managed(schedule: dict | None, app: str) -> bool:
    return bool(schedule) and schedule.get("Description") == MARKER.format(app=app)


def live_schedules(run) -> dict[str, dict]:
    """The app's live schedules (`<app>-` names in the default group), by name, as GetSchedule answers.
    Without `schedules:` in the config, a refused listing (a role without the scheduler permissions)
    means none: the app may never have had one."""
    scheduler = run.scheduler
    try:
        names = scheduler.names(prefix=f"{run.config.app}-")
    except ExternalError as exc:
        if run.config.schedules:
            raise
        run.console.warn(f"could not list the schedules ({exc.message}): no schedule of {run.config.app} is deleted")
        return {}
    found = {}
    for name in names:
        schedule = scheduler.get(name)
        if schedule is not None:
            found[name] = schedule
    return found


def _pascal_network(network: dict | None, env) -> dict:
    vpc = (network or {}).get("awsvpcConfiguration") or {}
    return {"awsvpcConfiguration": {
        "Subnets": list(vpc.get("subnets") or env.subnets),
        "SecurityGroups": list(vpc.get("securityGroups") or env.security_groups),
        "AssignPublicIp": vpc.get("assignPublicIp") or "DISABLED",
    }}


def wanted(run, schedule, revision: str, service: dict | None, container: str, cluster_arn: str, role: str) -> dict:
    """The CreateSchedule / UpdateSchedule input of one configured schedule on `revision`."""
    ecs: dict = {"TaskDefinitionArn": revision, "TaskCount": 1}
    service = service or {}
    if service.get("capacityProviderStrategy"):
        names = {"capacityProvider": "CapacityProvider", "weight": "Weight", "base": "Base"}
        ecs["CapacityProviderStrategy"] = [{new: item[old] for old, new in names.items() if old in item} for item in service["capacityProviderStrategy"]]
    else:
        ecs["LaunchType"] = service.get("launchType") or "FARGATE"
        if ecs["LaunchType"] == "FARGATE" and service.get("platformVersion"):
            ecs["PlatformVersion"] = service["platformVersion"]
    ecs["NetworkConfiguration"] = _pascal_network(service.get("networkConfiguration"), run.environment)
    overrides: dict = {}
    if schedule.cpu:
        overrides["cpu"] = schedule.cpu
    if schedule.memory:
        overrides["memory"] = schedule.memory
    container_override: dict = {"name": container}
    if schedule.command is not None:
        container_override["command"] = list(schedule.command)
    overrides["containerOverrides"] = [container_override]
    params = {
        "Name": schedule.name,
        "GroupName": DEFAULT_GROUP,
        "ScheduleExpression": schedule.expression,
        "Description": MARKER.format(app=run.config.app),
        "State": "ENABLED" if schedule.enabled else "DISABLED",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": cluster_arn, "RoleArn": role, "Input": json.dumps(overrides, sort_keys=True), "EcsParameters": ecs},
    }
    if schedule.timezone:
        params["ScheduleExpressionTimezone"] = schedule.timezone
    return params


def differences(live: dict, want: dict) -> list[str]:
    """The fields of `want` the live schedule has otherwise (AWS's own additions, like RetryPolicy, do not count)."""
    changed = []
    for key in ("ScheduleExpression", "ScheduleExpressionTimezone", "Description", "State", "FlexibleTimeWindow"):
        if (live.get(key) or None) != (want.get(key) or None) and not (key == "ScheduleExpressionTimezone" and {live.get(key), want.get(key)} <= {None, "UTC"}):
            changed.append(_label(key))
    live_target, want_target = live.get("Target") or {}, want["Target"]
    if live_target.get("Arn") != want_target["Arn"]:
        changed.append("cluster")
    if live_target.get("RoleArn") != want_target["RoleArn"]:
        changed.append("role")
    if _json(live_target.get("Input")) != _json(want_target["Input"]):
        changed.append("command")
    live_ecs, want_ecs = live_target.get("EcsParameters") or {}, want_target["EcsParameters"]
    for key, value in want_ecs.items():
        if live_ecs.get(key) != value:
            changed.append({"TaskDefinitionArn": "revision", "NetworkConfiguration": "network"}.get(key, key))
    return changed


def _label(key: str) -> str:
    return {"ScheduleExpression": "expression", "ScheduleExpressionTimezone": "timezone", "Description": "description",
            "State": "enabled", "FlexibleTimeWindow": "time window"}[key]


def _json(text):
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def render_own(run, schedule, image: str) -> dict:
    """A schedule's own task definition template rendered (family `<service family>-<name>`)."""
    from ..manifest.render import render_task_definition

    svc = next(s for s in run.config.services if s.name == schedule.service)
    return render_task_definition(run.render_inputs(guardrails=False), svc, schedule.task_definition, image, family=f"{svc.family}-{schedule.key}")


def validate(run, image: str) -> None:
    """Before any write: each schedule's own template renders, and no configured name is taken by a schedule
    deployer did not make — bad input now, not a failure after the verdict."""
    for schedule in run.config.schedules:
        if schedule.task_definition is not None:
            render_own(run, schedule, image)
    if run.config.schedules:
        live = live_schedules(run)
        for schedule in run.config.schedules:
            _refuse_foreign(run.config, schedule, live.get(schedule.name))


def _refuse_foreign(config, schedule, current: dict | None) -> None:
    if current is not None and not managed(current, config.app):
        raise BadInput(f"{config.path.name}:{schedule.line}: `schedules.{schedule.key}`: a schedule {schedule.name} exists that deployer did not create "
                       f"(its Description is not {MARKER.format(app=config.app)!r}); rename this one or delete that one")


def own_revision(run, schedule, service_revision: str, *, register: bool) -> str:
    """The revision of a schedule with its own `task_definition` template (family `<service family>-<name>`):
    rendered with the image the service's revision runs; the newest ACTIVE one when equal, else registered
    (`register`) or NEW_REVISION (a plan)."""
    if service_revision == NEW_REVISION:
        return NEW_REVISION
    from ..aws.ecs import TAG_IMAGE
    from ..manifest import normalize

    svc = next(s for s in run.config.services if s.name == schedule.service)
    image = run.ecs.revision(service_revision).container_image(svc.container)
    td = render_own(run, schedule, image)
    family = td["family"]
    newest = run.ecs.revision_arns(family)
    if newest:
        live = run.ecs.revision(newest[0])
        if normalize.same_task_definition(td, normalize.with_tags(live.definition, live.tags)):
            return live.arn
    if not register:
        return NEW_REVISION
    tags = {t["key"]: t["value"] for t in td.get("tags") or []}
    arn = run.ecs.register({k: v for k, v in td.items() if k != "tags"}, {**tags, "deployer:schedule": schedule.name, TAG_IMAGE: (image or "")[-256:]})
    run.console.ok(f"schedule {schedule.name}: registered {short_name(arn)} from {schedule.task_definition.name}")
    return arn


def plan(run, revisions: dict[str, str], services: dict[str, dict | None], *, live: dict[str, dict] | None = None, delete: bool = True,
         register: bool = False) -> list[ScheduleChange]:
    """revisions: service name → the revision it moves to (NEW_REVISION when not registered yet);
    services: service name → DescribeServices' answer (None: not created yet). Schedules of other
    services are left alone; a managed schedule no longer configured is deleted when `delete`."""
    config = run.config
    if not config.schedules and not delete:
        return []
    live = live_schedules(run) if live is None else live
    if not config.schedules and not any(managed(s, config.app) for s in live.values()):
        return []
    role = require_role(run)
    changes: list[ScheduleChange] = []
    containers = {s.name: s.container for s in config.services}
    for schedule in config.schedules:
        revision = revisions.get(schedule.service)
        if revision is None:
            continue  # its service is not part of this run
        service = services.get(schedule.service)
        current = live.get(schedule.name)
        _refuse_foreign(config, schedule, current)
        if schedule.task_definition is not None:
            revision = own_revision(run, schedule, revision, register=register)
        want = wanted(run, schedule, revision, service, containers[schedule.service], _cluster_arn(run, service), role)
        previous = ((current or {}).get("Target") or {}).get("EcsParameters", {}).get("TaskDefinitionArn") if current else None
        if current is None:
            changes.append(ScheduleChange(schedule.name, "create", schedule.service, revision, None, schedule.expression, want))
            continue
        changed = differences(current, want)
        action = "update" if changed else "none"
        changes.append(ScheduleChange(schedule.name, action, schedule.service, revision, previous, schedule.expression, want if changed else None, changed))
    if delete:
        configured = {s.name for s in config.schedules}
        for name, current in sorted(live.items()):
            if name not in configured and managed(current, config.app):
                previous = ((current.get("Target") or {}).get("EcsParameters") or {}).get("TaskDefinitionArn")
                changes.append(ScheduleChange(name, "delete", None, None, previous, current.get("ScheduleExpression")))
    return changes


def _cluster_arn(run, service: dict | None) -> str:
    if service and service.get("clusterArn"):
        return service["clusterArn"]
    cluster = run.environment.cluster
    if cluster.startswith("arn:"):
        return cluster
    return f"arn:aws:ecs:{run.aws.region}:{run.aws.account_id()}:cluster/{cluster}"


def show(console, changes: list[ScheduleChange]) -> None:
    """The planned changes (--dry-run, diff); unchanged schedules are not listed."""
    for change in changes:
        if change.action != "none":
            console.info(change.describe())


def apply(run, changes: list[ScheduleChange]) -> list[ScheduleChange]:
    """Make the changes; each one done is said. The changes made are returned."""
    scheduler = run.scheduler
    done = []
    for change in changes:
        if change.action == "create":
            scheduler.create(change.params)
        elif change.action == "update":
            scheduler.update(change.params)
        elif change.action == "delete":
            scheduler.delete(change.name)
        else:
            continue
        run.console.ok(_done(change))
        done.append(change)
    return done


def _done(change: ScheduleChange) -> str:
    if change.action == "create":
        return f"schedule {change.name}: created ({change.expression}) on {_short(change.task_definition)}"
    if change.action == "update":
        if change.previous_task_definition != change.task_definition:
            return f"schedule {change.name}: moved {_short(change.previous_task_definition)} → {_short(change.task_definition)}"
        return f"schedule {change.name}: updated ({', '.join(change.changed)}) on {_short(change.task_definition)}"
    return f"schedule {change.name}: deleted (no longer in deployer.yaml)"


def sync(run, revisions: dict[str, str], *, delete: bool = True) -> list[ScheduleChange]:
    """Plan against the services as they are now, and apply: after a healthy verdict."""
    if not run.config.schedules and not delete:
        return []
    names = list(revisions) if run.config.schedules else []  # only a configured schedule needs its service's network
    services = run.ecs.describe_services(run.environment.cluster, names) if names else {}
    changes = plan(run, revisions, services, delete=delete, register=True)
    apply(run, changes)
    return changes
