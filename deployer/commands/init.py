"""`deployer init`: adopt deployer for a service that already runs, in one command.

Reads the live service and its task-definition revision, and the admins' environment outputs,
and writes deployer.yaml, ecs-task-def.json.j2 and ecs-service-def.json.j2 such that
`deployer diff` right after shows no difference:

- every string equal to an environment output becomes `{{ environment.outputs.<Key> }}`, the
  app container's image `{{ image }}`, the family `{{ service.family }}`;
- network configuration and load balancer are left out of the service definition when they are
  what deployer derives from the outputs (else kept, with outputs substituted);
- settings deployer would otherwise default (the circuit breaker) are written as they are.

There is no deployer.yaml yet, so nothing here touches `run.config`.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from .. import normalize
from ..config import DEFAULT_OUTPUTS
from ..definitions import TASK_DEF_READ_ONLY
from ..errors import BadInput

CONFIG_FILE = "deployer.yaml"
TASK_DEF_FILE = "ecs-task-def.json.j2"
SERVICE_DEF_FILE = "ecs-service-def.json.j2"
_FILES = (CONFIG_FILE, TASK_DEF_FILE, SERVICE_DEF_FILE)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_JINJA_MARKERS = ("{{", "{%", "{#", "}}", "%}", "#}")


def init(run, *, cluster: str, service: str, stack: str | None, proton: str | None, directory: str, overwrite: bool) -> dict:
    if bool(stack) == bool(proton):
        raise BadInput(
            "init: pass exactly one of --stack STACK (the admins' CloudFormation stack) or --proton ENV (the Proton environment)"
            + (" (both were given)" if stack else ""),
        )
    missing = [flag for flag, value in (("--cluster", cluster), ("--service", service)) if not value]
    if missing:
        raise BadInput(f"init: Missing option '{missing[0]}' (the live service to import; or --from-ecspresso ecspresso.yml)")
    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise BadInput(f"--dir {directory}: not a directory")
    existing = [name for name in _FILES if (target / name).exists()]
    if existing and not overwrite:
        raise BadInput(f"init: {', '.join(existing)} already exist{'s' if len(existing) == 1 else ''} in {directory}; nothing was written", hint="pass --overwrite to replace them")

    aws, ecs = _adapters(run)
    outputs, source = _environment_outputs(run, aws, stack, proton)
    live = ecs.describe_service(cluster, service)
    if live is None:
        raise BadInput(f"init: service `{service}` not found (or INACTIVE) in cluster `{cluster}`")
    if not live.get("taskDefinition"):
        raise BadInput(f"init: service `{service}` has no task definition of its own (task sets / external deployment controller); deployer cannot adopt it")
    revision = ecs.revision(live["taskDefinition"])
    _warn_if_stack_owned(run, aws, cluster, service)

    imported = _import(live, normalize.with_tags(revision.definition, revision.tags), outputs, cluster=cluster, source=source, autoscaled=_autoscaled(run, cluster, service))
    run.secrets.update(imported["secret_values"])  # the live values stay out of the files and of the diff shown
    config = _config_text(imported, region=aws.region, stack=stack, proton=proton, source=source)

    written = _write_files(target, {CONFIG_FILE: config, TASK_DEF_FILE: imported["task_definition_template"], SERVICE_DEF_FILE: imported["service_definition_template"]})
    return {
        **_written(run, aws, target, written, imported["warnings"]),
        "cluster": cluster,
        "service": service,
        "app": imported["app"],
        "container": imported["container"],
        "port": imported["port"],
        "task_definition": revision.arn,
        "environment": {"stack": stack, "proton": proton},
        "outputs": imported["outputs_config"],
        "outputs_used": sorted(imported["used"]),
        "derived": imported["derived"],
        "warnings": imported["warnings"],
    }


def _write_files(target: Path, contents: dict[str, str]) -> list[str]:
    """Every file checked first (a symlink that leads out of the app repository is refused: nothing is
    written), then each written atomically; a symlink is never written through (deployer/files.py)."""
    from .. import files

    repo = files.repo_root_of(target)
    places = {name: files.writable(target / name, repo, what=str(target / name)) for name in contents}
    target.mkdir(parents=True, exist_ok=True)
    for name, content in contents.items():
        files.write_text(places[name], content)
    return [str(target / name) for name in contents]


def text(run, result: dict) -> str:
    from ..ecs import short_name

    lines = [f"imported service {result['service']} ({short_name(result['task_definition'])}) from cluster {result['cluster']}:"]
    lines += [f"  wrote {path}" for path in result["files"]]
    if result["outputs_used"]:
        lines.append(f"  environment outputs used: {', '.join(result['outputs_used'])}")
    if result["derived"]:
        lines.append(f"  from the environment (left out of the service definition): {', '.join(result['derived'])}")
    if result.get("verified"):
        lines.append("checked: `deployer diff` shows no difference against the live service")
    else:
        lines.append("check: `deployer diff` shows differences (see the warning above)")
    return "\n".join(lines)


def _written(run, aws, target: Path, files: list[str], warnings: list[str]) -> dict:
    """After writing: the warnings said, `deployer diff` run on the files; the result's common part."""
    for warning in warnings:
        run.console.warn(warning)
    return {"verified": _verify(run, aws, target / CONFIG_FILE), "status": "written", "directory": str(target), "files": files}


def _verify(run, aws, config_path: Path) -> bool:
    """`deployer diff` on what was just written: True when it shows no difference (warned otherwise)."""
    from ..context import Options, Run
    from ..errors import DeployerError
    from . import diff as diff_command

    check = Run(Options(config=str(config_path.resolve()), region=run.options.region, profile=run.options.profile, assume_role_arn=run.options.assume_role_arn), console=run.console)
    check.__dict__["aws"] = aws
    try:
        result = diff_command.diff(check, image=None, services=None)
    except DeployerError as exc:
        run.console.warn(f"the written files do not render against the live service yet: {exc.message}")
        return False
    if result["changed"]:
        shown = diff_command.text(check, {**result}) or ""
        run.console.warn("`deployer diff` on the written files shows differences (edit the templates, or report it):\n" + shown)
        return False
    return True


def _environment_outputs(run, aws, stack: str | None, proton: str | None) -> tuple[dict[str, str], str]:
    """The admins' environment outputs, from --stack or --proton (its API, else its stack), and where they came from."""
    from ..environment import find_proton_stack, proton_outputs, stack_outputs

    try:
        if stack:
            return stack_outputs(aws, stack), f"stack {stack}"
        outputs = proton_outputs(aws, proton)
        if outputs is not None:
            return outputs, f"Proton environment {proton}"
        found = find_proton_stack(aws, proton)
        run.console.info(f"Proton API did not answer; using its stack {found}")
        return stack_outputs(aws, found), f"Proton environment {proton} (stack {found})"
    except BadInput as exc:  # the messages name deployer.yaml's keys; here they were flags
        message = exc.message.replace("environment.stack:", "--stack:").replace("environment.proton:", "--proton:")
        raise BadInput(message, hint="pass the admins' environment stack with --stack, or the Proton environment name with --proton") from None


def _warn_if_stack_owned(run, aws, cluster: str, service: str) -> None:
    """A service a CloudFormation stack (a Proton service stack) owns: say so, and how to hand it over."""
    from .adopt import ownership_warning

    warning = ownership_warning(aws, cluster, service)
    if warning:
        run.console.warn(warning)


def _adapters(run):
    """Aws and Ecs from the flags alone (Run.aws would read deployer.yaml for the region)."""
    from ..aws import Aws
    from ..ecs import Ecs

    if "aws" not in run.__dict__:
        run.__dict__["aws"] = Aws(region=run.options.region, profile=run.options.profile, console=run.console, assume_role_arn=run.options.assume_role_arn)
    if "ecs" not in run.__dict__:
        run.__dict__["ecs"] = Ecs(run.__dict__["aws"])
    return run.__dict__["aws"], run.__dict__["ecs"]


# ---------------------------------------------------------------------------------------
# From the live service to templates


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
    from ..templating import looks_secret

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
        targets = run.aws.client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace="ecs", ResourceIds=[f"service/{cluster}/{service}"], ScalableDimension="ecs:service:DesiredCount"
        ).get("ScalableTargets", [])
    except Exception as exc:  # noqa: BLE001 - no permission to look: keep the count, as before, and say so
        from ..aws import error_code

        run.console.warn(
            f"could not check whether Application Auto Scaling sets {service}'s desiredCount "
            f"(application-autoscaling:DescribeScalableTargets: {error_code(exc) or type(exc).__name__}: {' '.join(str(exc).split())[:200]}); "
            "the written service definition keeps desiredCount: remove it if a scaling policy manages the count"
        )
        return False
    return bool(targets)


# ---------------------------------------------------------------------------------------
# From an ecspresso project (deployer/ecspresso.py converts; this adds the environment and writes)


def from_ecspresso(run, *, path: str, stack: str | None, proton: str | None, directory: str | None, overwrite: bool) -> dict:
    """Convert, check that the result renders, then move the files into place (nothing is written
    when any step refuses). Values that could not be read are written as vars left to fill, and the
    command then fails (exit 1) saying which."""
    import os

    from .. import ecspresso
    from ..errors import DeployerError

    if bool(stack) == bool(proton):
        raise BadInput("init --from-ecspresso: pass exactly one of --stack STACK (the admins' environment stack) or --proton ENV")
    source_file = Path(path)
    config, _ = ecspresso.load_config(source_file, dict(os.environ))
    if config.get("region") and not run.options.region:
        run.options.region = str(config["region"])
    converted = ecspresso.convert(source_file, readers=_ecspresso_readers(run))
    config = converted.config
    target = Path(directory) if directory else source_file.parent
    if target.exists() and not target.is_dir():
        raise BadInput(f"--dir {target}: not a directory")
    names = [CONFIG_FILE, *converted.templates]
    existing = [name for name in names if (target / name).exists()]
    if existing and not overwrite:
        raise BadInput(f"init: {', '.join(existing)} already exist{'s' if len(existing) == 1 else ''} in {target}; nothing was written", hint="pass --overwrite to replace them")
    aws, ecs = _adapters(run)
    outputs, source = _environment_outputs(run, aws, stack, proton)
    cluster, service = str(config.get("cluster") or "default"), str(config["service"])
    cluster_keys = sorted((k for k, v in outputs.items() if v and _last(v) == _last(cluster)), key=lambda k: (k != DEFAULT_OUTPUTS["cluster"], k))
    if not cluster_keys:
        raise BadInput(f"init: no output of {source} names cluster `{cluster}` (ecspresso's `cluster`)", hint="pass the environment (--stack / --proton) whose cluster runs this service")

    from .. import files

    repo = files.repo_root_of(target)
    places = {name: files.writable(target / name, repo, what=str(target / name)) for name in names}  # every file checked first
    target.mkdir(parents=True, exist_ok=True)
    staging = Path(_staging_dir(target))
    try:
        for name, template in converted.templates.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_text(template, encoding="utf-8")
        # With values left to fill, placeholders stand in for them: the files are read, not checked.
        task_def, service_def = _ecspresso_definitions(run, staging, target, converted, outputs, check=not converted.to_fill)
        document, container, port, family = _ecspresso_document(converted, task_def, service_def, service, cluster_keys[0], aws, stack, proton, source_file)
        (staging / CONFIG_FILE).write_text(_ecspresso_config_text(document, converted, source_file), encoding="utf-8")
        for name in names:
            places[name].parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / name, places[name])  # a rename replaces a symlink, never writes through it
    finally:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
    if converted.to_fill:
        for warning in converted.warnings:
            run.console.warn(warning)
        left = "\n".join(f"  vars.{key}: {origin}" for key, origin in converted.to_fill.items())
        raise DeployerError(
            f"init: wrote {', '.join(str(target / n) for n in names)}, but they do not render until these values are filled in {CONFIG_FILE}:\n{left}",
            hint="set each under `vars:` (the commented lines), then `deployer render` checks the result",
        )
    files = [str(target / name) for name in names]
    if ecs.describe_service(outputs[cluster_keys[0]], service) is None:
        # Nothing runs to compare with: `deployer deploy` creates the service, as `ecspresso deploy` would.
        for warning in converted.warnings:
            run.console.warn(warning)
        written = {"verified": None, "status": "written", "directory": str(target), "files": files}
    else:
        written = _written(run, aws, target, files, converted.warnings)
    return {
        **written,
        "cluster": cluster,
        "service": service,
        "app": family,
        "container": container,
        "port": port,
        "from_ecspresso": str(source_file),
        "vars": sorted(converted.vars),
        "env": sorted(set(converted.env_read)),
        "warnings": converted.warnings,
    }


def _staging_dir(target: Path) -> str:
    import tempfile

    return tempfile.mkdtemp(prefix=".deployer-init-", dir=target)


def _ecspresso_readers(run):
    """What the conversion reads from AWS: a Terraform state in S3, a CloudFormation export."""
    from .. import ecspresso

    def tfstate(url: str) -> dict | None:
        bucket, _, key = url.removeprefix("s3://").partition("/")
        try:
            aws, _ = _adapters(run)
            body = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
            return json.loads(body)
        except Exception:  # noqa: BLE001 - unreadable: the values are left to fill, and said so
            return None

    def cfn_export(name: str) -> str | None:
        try:
            aws, _ = _adapters(run)
            for page in aws.client("cloudformation").get_paginator("list_exports").paginate():
                for export in page.get("Exports", []):
                    if export.get("Name") == name:
                        return export.get("Value")
        except Exception:  # noqa: BLE001
            return None
        return None

    return ecspresso.Readers(tfstate=tfstate, cfn_export=cfn_export)


def _ecspresso_document(converted, task_def: dict, service_def: dict, service: str, cluster_key: str, aws, stack, proton, source_file: Path):
    lbs = [lb for lb in service_def.get("loadBalancers") or [] if isinstance(lb, dict)]
    containers = task_def.get("containerDefinitions") or []
    if not containers:
        raise BadInput(f"{converted.task_definition}: no containerDefinitions after rendering")
    # The image `release` replaces: the load balancer's container, else the first.
    container = lbs[0].get("containerName") if lbs and lbs[0].get("containerName") else containers[0]["name"]
    if len(containers) > 1:
        converted.warnings.append(f"{len(containers)} containers: `{container}` gets the new image on release (service.container in {CONFIG_FILE})")
    port = lbs[0].get("containerPort") if lbs else None
    family = task_def.get("family") or service
    outputs_config: dict[str, Any] = {"cluster": cluster_key}
    if not lbs:
        outputs_config["target_group"] = None  # the service has no load balancer: deployer must not add one
    service_config: dict[str, Any] = {"name": service} if service != family else {}
    if converted.service_definition:
        service_config["definition"] = converted.service_definition
    service_config["container"] = container
    if port is not None:
        service_config["port"] = port
    document = {"app": family}
    if not converted.region_from_env:
        document["region"] = aws.region
    document.update({
        "environment": {**({"stack": stack} if stack else {"proton": proton}), "outputs": outputs_config},
        "image": {"context": ".", "dockerfile": "Dockerfile"},
        "task_definition": converted.task_definition,
        "service": service_config,
        "deploy": {"timeout": converted.timeout or 600, "rollback_on_failure": True},
    })
    return document, container, port, family


def from_ecspresso_text(run, result: dict) -> str:
    lines = [f"converted ecspresso project {result['from_ecspresso']} (service {result['service']}, cluster {result['cluster']}):"]
    lines += [f"  wrote {path}" for path in result["files"]]
    if result["vars"]:
        lines.append(f"  vars to check in {CONFIG_FILE}: {', '.join(result['vars'])}")
    if result.get("env"):
        lines.append(f"  read from the environment at each deploy (as ecspresso does): {', '.join(result['env'])}")
    if result["verified"] is None:
        lines.append(f"service {result['service']} does not run in cluster {result['cluster']} yet: `deployer deploy --image …` creates it, as `ecspresso deploy` would")
    else:
        lines.append("checked: `deployer diff` shows no difference against the live service" if result["verified"] else "check: `deployer diff` shows differences (see the warning above)")
    return "\n".join(lines)


def _ecspresso_definitions(run, staging: Path, root: Path, converted, outputs: dict[str, str], *, check: bool = True) -> tuple[dict, dict]:
    """The converted templates rendered as deployer will render them (the environment's variables, the
    vars, AWS for ssm / secretsmanager_arn / cfn_output), checked against ECS's input shapes; the
    family, containers and load balancer are read from them. Templates are read from `staging`,
    Jsonnet imports resolve in `root`, where they will be."""
    import os

    from .. import taskdef_input, templating
    from ..definitions import parse_rendered, validate_shape
    from ..templating import GitInfo, Secrets, TemplateFunctions

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
