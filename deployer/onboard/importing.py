"""`deployer init` (and `adopt`, which hands over through it): adopt deployer for a service that already runs.

Reads the live service and its task-definition revision, and the admins' environment outputs,
and writes deployer.yaml, ecs-task-def.json.j2 and ecs-service-def.json.j2 such that
`deployer diff` right after shows no difference:

- every string equal to an environment output becomes `{{ environment.outputs.<Key> }}`, the
  app container's image `{{ image }}`, the family `{{ service.family }}`;
- network configuration and load balancer are left out of the service definition when they are
  what deployer derives from the outputs (else kept, with outputs substituted);
- settings deployer would otherwise default (the circuit breaker) are written as they are.
`init --from-ecspresso` converts an ecspresso project (onboard/ecspresso.py) and writes it here too.

There is no deployer.yaml yet, so nothing here touches `run.config`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..manifest import normalize
from ..core.errors import BadInput
from ..manifest.config import DEFAULT_OUTPUTS
from .generate import (CONFIG_FILE, SERVICE_DEF_FILE, TASK_DEF_FILE, _FILES, _autoscaled, _config_text,
    _ecspresso_config_text, _ecspresso_definitions, _import, _last)


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


def text(run, result: dict) -> str:
    from ..aws.ecs import short_name

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
    from ..core.errors import DeployerError
    from ..release import diff

    run.__dict__.setdefault("aws", aws)
    check = run.for_config(config_path.resolve())
    try:
        result = diff.diff(check, image=None, services=None)
    except DeployerError as exc:
        run.console.warn(f"the written files do not render against the live service yet: {exc.message}")
        return False
    if result["changed"]:
        shown = diff.text(result) or ""
        run.console.warn("`deployer diff` on the written files shows differences (edit the templates, or report it):\n" + shown)
        return False
    return True


def _environment_outputs(run, aws, stack: str | None, proton: str | None) -> tuple[dict[str, str], str]:
    """The admins' environment outputs, from --stack or --proton (the stack Proton left), and where they came from."""
    from ..aws.cloudformation import find_proton_stack, stack_outputs

    try:
        if stack:
            return stack_outputs(aws, stack), f"stack {stack}"
        found = find_proton_stack(aws, proton)
        run.console.info(f"Proton environment {proton}: stack {found}")
        return stack_outputs(aws, found), f"Proton environment {proton} (stack {found})"
    except BadInput as exc:  # the messages name deployer.yaml's keys; here they were flags
        message = exc.message.replace("environment.stack:", "--stack:").replace("environment.proton:", "--proton:")
        raise BadInput(message, hint="pass the admins' environment stack with --stack, or the Proton environment name with --proton") from None


def _warn_if_stack_owned(run, aws, cluster: str, service: str) -> None:
    """A service a CloudFormation stack (a Proton service stack) owns: say so, and how to hand it over."""
    from .ownership import ownership_warning

    warning = ownership_warning(aws, cluster, service)
    if warning:
        run.console.warn(warning)


def _adapters(run):
    """Aws and Ecs from the flags alone (Target.aws would read deployer.yaml for the region)."""
    from ..aws.session import Aws
    from ..aws.ecs import Ecs

    if "aws" not in run.__dict__:
        run.__dict__["aws"] = Aws(region=run.options.region, profile=run.options.profile, console=run.console, assume_role_arn=run.options.assume_role_arn)
    if "ecs" not in run.__dict__:
        run.__dict__["ecs"] = Ecs(run.__dict__["aws"])
    return run.__dict__["aws"], run.__dict__["ecs"]


def from_ecspresso(run, *, path: str, stack: str | None, proton: str | None, directory: str | None, overwrite: bool) -> dict:
    """Convert, check that the result renders, then move the files into place (nothing is written
    when any step refuses). Values that could not be read are written as vars left to fill, and the
    command then fails (exit 1) saying which."""
    import os

    from . import ecspresso
    from ..core.errors import DeployerError

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

    from ..manifest import files

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


# ---------------------------------------------------------------------------------------
# Writing the files, and what an ecspresso conversion reads and writes


def _write_files(target: Path, contents: dict[str, str]) -> list[str]:
    """Every file checked first (a symlink that leads out of the app repository is refused: nothing is
    written), then each written atomically; a symlink is never written through (deployer/manifest/files.py)."""
    from ..manifest import files

    repo = files.repo_root_of(target)
    places = {name: files.writable(target / name, repo, what=str(target / name)) for name in contents}
    target.mkdir(parents=True, exist_ok=True)
    for name, content in contents.items():
        files.write_text(places[name], content)
    return [str(target / name) for name in contents]


def _staging_dir(target: Path) -> str:
    import tempfile

    return tempfile.mkdtemp(prefix=".deployer-init-", dir=target)


def _ecspresso_readers(run):
    """What the conversion reads from AWS: a Terraform state in S3, a CloudFormation export."""
    from ..onboard import ecspresso

    from ..aws.resources import cloudformation_export, s3_object

    def tfstate(url: str) -> dict | None:
        bucket, _, key = url.removeprefix("s3://").partition("/")
        try:
            aws, _ = _adapters(run)
            return json.loads(s3_object(aws, bucket, key, max_bytes=16 * 1024 * 1024))
        except Exception:  # noqa: BLE001 - unreadable: the values are left to fill, and said so
            return None

    def cfn_export(name: str) -> str | None:
        try:
            aws, _ = _adapters(run)
            return cloudformation_export(aws, name)
        except Exception:  # noqa: BLE001 - unreadable: the value is left to fill, and said so
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
