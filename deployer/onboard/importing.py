"""Definitions moved out of deployer.commands.init."""

from __future__ import annotations

from pathlib import Path

from ..manifest import normalize
from ..commands.init import _ecspresso_document, _ecspresso_readers, _staging_dir, _write_files
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
    """The admins' environment outputs, from --stack or --proton (its API, else its stack), and where they came from."""
    from ..aws.cloudformation import find_proton_stack, proton_outputs, stack_outputs

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
    from .ownership import ownership_warning

    warning = ownership_warning(aws, cluster, service)
    if warning:
        run.console.warn(warning)


def _adapters(run):
    """Aws and Ecs from the flags alone (Run.aws would read deployer.yaml for the region)."""
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
