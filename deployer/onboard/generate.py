"""A live service or an ecspresso project becomes deployer.yaml and templates."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from ..manifest import normalize
from ..core.errors import BadInput
from ..manifest.config import DEFAULT_OUTPUTS
from ..manifest.definitions import TASK_DEF_READ_ONLY


CONFIG_FILE = "deployer.yaml"


TASK_DEF_FILE = "ecs-task-def.json.j2"


SERVICE_DEF_FILE = "ecs-service-def.json.j2"


_FILES = (CONFIG_FILE, TASK_DEF_FILE, SERVICE_DEF_FILE)


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


_JINJA_MARKERS = ("{{", "{%", "{#", "}}", "%}", "#}")


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _last(value: str) -> str:
    return value.rsplit("/", 1)[-1]


def _pick_keys(outputs: dict[str, str], wanted: set[str], defaults: list[str]) -> list[str] | None:
    """Output keys whose (comma-split) values together are exactly `wanted`; defaults preferred."""
    if not wanted:
        return None
    candidates = [k for k in outputs if _split(outputs[k]) and set(_split(outputs[k])) <= wanted]
    candidates.sort(key=lambda k: (k not in defaults, defaults.index(k) if k in defaults else 0, k))
    chosen: list[str] = []
    covered: set[str] = set()
    for key in candidates:
        values = set(_split(outputs[key]))
        if not values <= covered:
            chosen.append(key)
            covered |= values
    return chosen if covered == wanted else None


def _import(live: dict, td: dict, outputs: dict[str, str], *, cluster: str, source: str, autoscaled: bool = False) -> dict:
    warnings: list[str] = []
    derived: list[str] = []
    family = td["family"]
    service_name = live["serviceName"]
    containers = td.get("containerDefinitions", [])

    # Which container gets the image and the traffic: the load balancer's, else the first with a port.
    lbs = [lb for lb in live.get("loadBalancers", []) or [] if lb.get("containerName")]
    if lbs:
        container, port = lbs[0]["containerName"], lbs[0].get("containerPort")
    else:
        with_port = [c for c in containers if c.get("portMappings")]
        chosen = with_port[0] if with_port else containers[0]
        container = chosen["name"]
        port = chosen["portMappings"][0].get("containerPort") if chosen.get("portMappings") else None
    if len(containers) > 1:
        warnings.append(f"{len(containers)} containers: `{container}` gets the new image on release; the others keep the images they have ({TASK_DEF_FILE})")

    # --- environment outputs: which key holds the cluster, network, target group, repository
    cluster_names = {cluster, _last(cluster), _last(live.get("clusterArn", "")), live.get("clusterArn", "")} - {""}
    cluster_keys = sorted((k for k, v in outputs.items() if v in cluster_names), key=lambda k: (k != DEFAULT_OUTPUTS["cluster"], k))
    if not cluster_keys:
        raise BadInput(
            f"init: no output of {source} names cluster `{_last(cluster)}`; deployer would deploy the service to another cluster",
            hint="pass the environment (--stack / --proton) whose cluster runs this service",
        )
    outputs_config: dict[str, Any] = {"cluster": cluster_keys[0]}

    vpc = (live.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    subnet_keys = _pick_keys(outputs, set(vpc.get("subnets") or []), DEFAULT_OUTPUTS["subnets"])
    sg_keys = _pick_keys(outputs, set(vpc.get("securityGroups") or []), DEFAULT_OUTPUTS["security_groups"])
    network_derived = bool(subnet_keys and sg_keys and vpc.get("assignPublicIp", "DISABLED") == "DISABLED")
    outputs_config["subnets"] = subnet_keys or _fallback_keys(outputs, DEFAULT_OUTPUTS["subnets"], "subnet-")
    outputs_config["security_groups"] = sg_keys or _fallback_keys(outputs, DEFAULT_OUTPUTS["security_groups"], "sg-")

    tg_key = None
    if len(lbs) == 1 and lbs[0].get("targetGroupArn"):
        matching = sorted((k for k, v in outputs.items() if v and normalize.same_resource(v, lbs[0]["targetGroupArn"])), key=lambda k: (k != DEFAULT_OUTPUTS["target_group"], k))
        tg_key = matching[0] if matching else None
    lb_derived = bool(tg_key) and lbs[0].get("containerPort") is not None and len(live.get("loadBalancers") or []) == 1
    if lb_derived:
        outputs_config["target_group"] = tg_key
    elif not live.get("loadBalancers"):
        outputs_config["target_group"] = None  # no load balancer: deployer must not add one

    app_image = next((c.get("image", "") for c in containers if c["name"] == container), "")
    repo_keys = sorted(
        (k for k, v in outputs.items() if v and (app_image.startswith(v + ":") or app_image.startswith(v + "@"))),
        key=lambda k: (k != DEFAULT_OUTPUTS["repository"], k),
    )
    if repo_keys:
        outputs_config["repository"] = repo_keys[0]
    elif DEFAULT_OUTPUTS["repository"] in outputs:
        outputs_config["repository"] = DEFAULT_OUTPUTS["repository"]
    else:
        ecr = sorted(k for k, v in outputs.items() if ".dkr.ecr." in v)
        outputs_config["repository"] = ecr[0] if ecr else DEFAULT_OUTPUTS["repository"]
        if not ecr:
            warnings.append(f"no output of {source} looks like an ECR repository; set `environment.outputs.repository` in {CONFIG_FILE}")

    # --- the task definition template
    params = {k: copy.deepcopy(v) for k, v in td.items() if k not in TASK_DEF_READ_ONLY}  # the revision's own tags kept
    params = _tidy(params)
    secret_values = _keep_secrets_out(params, td.get("taskDefinitionArn", ""), warnings)
    used: set[str] = set()
    substituted = _substitute(params, outputs, used, skip_paths={("family",)} | {("containerDefinitions", i, "image") for i, c in enumerate(params["containerDefinitions"]) if c["name"] == container})
    substituted["family"] = _Raw('"{{ service.family }}"')
    for c in substituted["containerDefinitions"]:
        if c["name"] == container:
            c["image"] = _Raw('"{{ image }}"')
    td_template = _dump(substituted)

    # --- the service definition template
    sd: dict[str, Any] = {}
    if live.get("desiredCount") is not None:
        if autoscaled:
            # Application Auto Scaling owns the count: a literal here would reset it at every deploy.
            warnings.append(f"{service_name} is autoscaled: desiredCount left out of {SERVICE_DEF_FILE}; deploys leave the count to the scaler")
        else:
            sd["desiredCount"] = live["desiredCount"]
    config = copy.deepcopy(live.get("deploymentConfiguration") or {})
    alarms = config.get("alarms")
    if isinstance(alarms, dict) and not alarms.get("enable") and not alarms.get("alarmNames"):
        config.pop("alarms")
    # deployer turns a rolling-back circuit breaker on unless the definition says otherwise.
    config.setdefault("deploymentCircuitBreaker", {"enable": False, "rollback": False})
    sd["deploymentConfiguration"] = config
    if live.get("healthCheckGracePeriodSeconds") is not None:
        sd["healthCheckGracePeriodSeconds"] = live["healthCheckGracePeriodSeconds"]
    sd["enableExecuteCommand"] = bool(live.get("enableExecuteCommand", False))
    if live.get("capacityProviderStrategy"):
        sd["capacityProviderStrategy"] = live["capacityProviderStrategy"]
    elif live.get("launchType") not in (None, "FARGATE"):
        sd["launchType"] = live["launchType"]
    if live.get("platformVersion") not in (None, "LATEST"):
        sd["platformVersion"] = live["platformVersion"]
    for key in ("placementConstraints", "placementStrategy", "serviceRegistries"):
        if live.get(key):
            sd[key] = live[key]
    if live.get("propagateTags") not in (None, "NONE"):
        sd["propagateTags"] = live["propagateTags"]
    if live.get("enableECSManagedTags"):
        sd["enableECSManagedTags"] = True
    controller = (live.get("deploymentController") or {}).get("type", "ECS")
    if controller != "ECS":
        sd["deploymentController"] = live["deploymentController"]
        warnings.append(f"the service uses the {controller} deployment controller; deployer deploys with the ECS (rolling) controller")
    if network_derived:
        derived.append("networkConfiguration")
    elif live.get("networkConfiguration"):
        sd["networkConfiguration"] = live["networkConfiguration"]
    if lb_derived:
        derived.append("loadBalancers")
    elif live.get("loadBalancers"):
        sd["loadBalancers"] = live["loadBalancers"]
    sd_template = _dump(_substitute(sd, outputs, used, skip_paths=set()))

    return {
        "app": family,
        "service_name": service_name,
        "container": container,
        "port": port,
        "outputs_config": outputs_config,
        "task_definition_template": td_template,
        "service_definition_template": sd_template,
        "used": used,
        "derived": derived,
        "warnings": warnings,
        "secret_values": secret_values,
    }


# Values that are credentials whatever their variable is called (AWS keys, private keys, GitHub/Slack/Stripe tokens, JWTs).
_SECRET_VALUE = re.compile(r"^(AKIA|ASIA)[0-9A-Z]{16}$|-----BEGIN [A-Z ]*PRIVATE KEY|^gh[pousr]_[A-Za-z0-9]{20,}|^xox[abposr]-|^sk_live_|^eyJ[\w-]+\.eyJ[\w-]+\.")


def _keep_secrets_out(params: dict, task_definition_arn: str, warnings: list[str]) -> list[str]:
    """A plain environment value that looks secret is not written into the template (a file to commit):
    it moves to the container's `secrets` as a `valueFrom` of an SSM parameter, and a warning says
    how to create that parameter. Returns the values, for the console to mask."""
    from ..core.secret_names import looks_secret

    moved: list[str] = []
    parts = task_definition_arn.split(":")
    region, account = (parts[3], parts[4]) if len(parts) > 5 else ("REGION", "ACCOUNT")
    for container in params.get("containerDefinitions", []):
        kept = []
        for item in container.get("environment", []) or []:
            name, value = str(item.get("name", "")), str(item.get("value", ""))
            if not (looks_secret(name) or _SECRET_VALUE.search(value)):
                kept.append(item)
                continue
            moved.append(value)
            parameter = f"/{params.get('family', 'app')}/{name}"
            container.setdefault("secrets", []).append({"name": name, "valueFrom": f"arn:aws:ssm:{region}:{account}:parameter{parameter}"})
            warnings.append(
                f"container `{container.get('name')}`: `{name}` looks secret; its live value was not written to {TASK_DEF_FILE}. "
                f"Store it as a SecureString (aws ssm put-parameter --type SecureString --name {parameter} --value ...): "
                "the template reads it from there with valueFrom"
            )
        if kept:
            container["environment"] = kept
        else:
            container.pop("environment", None)
    return moved


def _fallback_keys(outputs: dict[str, str], defaults: list[str], prefix: str) -> list[str]:
    present = [k for k in defaults if k in outputs]
    if present:
        return present
    looks = sorted(k for k, v in outputs.items() if v and all(part.startswith(prefix) for part in _split(v)))
    return looks or list(defaults)


def _tidy(value: Any) -> Any:
    """Leave out what ECS fills in anyway: empty lists and mappings, a container's cpu 0, tcp, awsvpc host ports."""
    value = normalize.prune(value)
    for c in value.get("containerDefinitions", []):
        if c.get("cpu") == 0:
            del c["cpu"]
        for mapping in c.get("portMappings", []):
            if mapping.get("hostPort") == mapping.get("containerPort") and value.get("networkMode") == "awsvpc":
                del mapping["hostPort"]
            if mapping.get("protocol") == "tcp":
                del mapping["protocol"]
    return value


class _Raw:
    """Template text to put in the JSON as is (not quoted)."""

    def __init__(self, text: str):
        self.text = text


def _reference(key: str) -> str:
    return f"environment.outputs.{key}" if _IDENTIFIER.match(key) else f"environment.outputs[{json.dumps(key)}]"


def _substitute(value: Any, outputs: dict[str, str], used: set[str], skip_paths: set[tuple], path: tuple = ()) -> Any:
    """Strings equal to an output's value → a reference to that output (first key in sorted order)."""
    if isinstance(value, dict):
        return {k: _substitute(v, outputs, used, skip_paths, path + (k,)) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, outputs, used, skip_paths, path + (i,)) for i, v in enumerate(value)]
    if isinstance(value, str) and path not in skip_paths:
        keys = sorted(k for k, v in outputs.items() if v and v == value)
        if keys:
            key = keys[0]
            used.add(key)
            if json.dumps(value)[1:-1] == value:  # nothing JSON would escape: a plain quoted reference
                return _Raw(f'"{{{{ {_reference(key)} }}}}"')
            return _Raw(f"{{{{ {_reference(key)} | tojson }}}}")
        if any(marker in value for marker in _JINJA_MARKERS):
            return _Raw("{% raw %}" + json.dumps(value) + "{% endraw %}")
    return value


def _dump(value: Any) -> str:
    """Pretty JSON with _Raw values inserted verbatim."""
    raws: list[str] = []

    def mark(v):
        if isinstance(v, _Raw):
            raws.append(v.text)
            return f"\x00RAW{len(raws) - 1}\x00"
        if isinstance(v, dict):
            return {k: mark(x) for k, x in v.items()}
        if isinstance(v, list):
            return [mark(x) for x in v]
        return v

    text = json.dumps(mark(value), indent=2)
    for index, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\x00RAW{index}\x00"), raw)
    return text + "\n"


def _config_text(imported: dict, *, region: str, stack: str | None, proton: str | None, source: str) -> str:
    import yaml

    environment: dict[str, Any] = {"stack": stack} if stack else {"proton": proton}
    environment["outputs"] = imported["outputs_config"]
    service: dict[str, Any] = {}
    if imported["service_name"] != imported["app"]:
        service["name"] = imported["service_name"]
    service["definition"] = SERVICE_DEF_FILE
    service["container"] = imported["container"]
    if imported["port"] is not None:
        service["port"] = imported["port"]
    document = {
        "app": imported["app"],
        "region": region,
        "environment": environment,
        "image": {"context": ".", "dockerfile": "Dockerfile"},
        "task_definition": TASK_DEF_FILE,
        "service": service,
        "deploy": {"timeout": 600, "rollback_on_failure": True},
        "vars": {},
    }
    header = (
        f"# Written by `deployer init` from service {imported['service_name']} and the outputs of {source}.\n"
        "# `deployer diff` shows what a release would change; `deployer release` builds and deploys.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


def _autoscaled(run, cluster: str, service: str) -> bool:
    """Whether Application Auto Scaling has a scalable target on the service's DesiredCount."""
    try:
        from ..aws.resources import scalable_targets

        targets = scalable_targets(run.aws, cluster, service)
    except Exception as exc:  # noqa: BLE001 - no permission to look: keep the count, as before, and say so
        from ..aws.session import error_code

        run.console.warn(
            f"could not check whether Application Auto Scaling sets {service}'s desiredCount "
            f"(application-autoscaling:DescribeScalableTargets: {error_code(exc) or type(exc).__name__}: {' '.join(str(exc).split())[:200]}); "
            "the written service definition keeps desiredCount: remove it if a scaling policy manages the count"
        )
        return False
    return bool(targets)


def _ecspresso_definitions(run, staging: Path, root: Path, converted, outputs: dict[str, str], *, check: bool = True) -> tuple[dict, dict]:
    """The converted templates rendered as deployer will render them (the environment's variables, the
    vars, AWS for ssm / secretsmanager_arn / cfn_output), checked against ECS's input shapes; the
    family, containers and load balancer are read from them. Templates are read from `staging`,
    Jsonnet imports resolve in `root`, where they will be."""
    import os

    from ..manifest import taskdef_input, templating
    from ..manifest.definitions import parse_rendered, validate_shape
    from ..manifest.templating import GitInfo, Secrets, TemplateFunctions

    functions = TemplateFunctions(run.__dict__["aws"], Secrets())
    git = GitInfo.read(root)
    context = {
        "app": "", "environment": {"name": "", "outputs": outputs}, "image": "", "service": {"name": "", "container": "", "port": None, "family": ""},
        "git": {"sha": git.sha, "short_sha": git.short_sha, "branch": git.branch}, "vars": {**converted.vars, **{key: f"<fill vars.{key}>" for key in converted.to_fill}},
    }
    rendered = []
    for name in (converted.task_definition, converted.service_definition):
        if not name:
            rendered.append({})
            continue
        try:
            text = templating.render_file(staging / name, staging, context, functions)
        except BadInput as exc:
            hint = exc.hint
            if "must_env" in exc.message or "environment variable" in exc.message:
                hint = "the definitions read it at each deploy, as ecspresso does; set it for this check as you do for `ecspresso deploy`"
            raise BadInput(f"init: the converted {name} does not render, nothing was written: {exc.message.replace(str(staging) + os.sep, '')}", hint=hint) from None
        value = parse_rendered(text, root / name, context)
        rendered.append(value if isinstance(value, dict) else {})
    task_def, service_def = rendered
    if not check:
        return task_def, service_def
    try:
        params = taskdef_input.prepare(task_def, converted.task_definition).params
        validate_shape(params, "RegisterTaskDefinition", converted.task_definition)
        if converted.service_definition:
            sent = {k: v for k, v in service_def.items() if v is not None}
            validate_shape({**sent, "serviceName": "x", "taskDefinition": "x"}, "CreateService", converted.service_definition)
    except BadInput as exc:
        raise BadInput(f"init: the converted definitions are not valid ECS input, nothing was written: {exc.message}", hint=exc.hint) from None
    return task_def, service_def


def _ecspresso_config_text(document: dict, converted, source_file: Path) -> str:
    import yaml

    header = (
        f"# Converted by `deployer init --from-ecspresso {source_file.name}`.\n"
        "# `deployer diff` shows what a release would change; `deployer deploy --image …` deploys an image\n"
        "# built elsewhere (like `ecspresso deploy`), `deployer release` builds and deploys.\n"
    )
    if converted.region_from_env:
        header += f"# No `region:`: as ecspresso, deployer takes the region from {converted.region_from_env} (or --region) when it runs.\n"
    env = sorted(set(converted.env_read))
    if env:
        header += f"# The templates read these environment variables at each deploy, as ecspresso did: {', '.join(env)}.\n"
    text = header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
    if converted.vars or converted.to_fill:
        text += "vars:\n"
        for key, value in converted.vars.items():
            text += f"  # {converted.var_comments[key]}\n  {key}: {json.dumps(value)}\n"
        for key, origin in converted.to_fill.items():
            text += f"  # FILL: {origin}\n  # {key}: ...\n"
    else:
        text += "vars: {}\n"
    return text
