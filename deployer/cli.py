"""The command line: parse flags, call a command module, print its result, map errors to exit codes.

Heavy libraries (boto3, docker, jinja2, rich) are imported inside the commands that need them,
so `deployer --help` stays fast.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Annotated, Callable, Optional

# typer's rich help imports rich.markdown and markdown-it (~0.3 s at every --help); click's plain
# help costs nothing. Progress output still uses rich, imported only when it prints.
os.environ.setdefault("TYPER_USE_RICH", "0")

import typer  # noqa: E402

from . import __version__
from .context import Options, Run
from .errors import DeployerError, DeploymentFailed, Interrupted

app = typer.Typer(
    name="deployer",
    help="Release containerised applications to Amazon ECS (Fargate): build, push, render, register, deploy, watch, roll back.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Shared flags (DESIGN.md "Common flags").
ConfigOpt = Annotated[Optional[str], typer.Option("-c", "--config", help="Config file (default: ./deployer.yaml).")]
VarOpt = Annotated[Optional[list[str]], typer.Option("--var", help="Template value KEY=VALUE (repeatable); overrides `vars:`.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print the plan of AWS calls; change nothing.")]
NoWaitOpt = Annotated[bool, typer.Option("--no-wait", help="Start the deployment and return without watching it.")]
TimeoutOpt = Annotated[Optional[int], typer.Option("--timeout", help="Seconds to wait for the rollout (default: deploy.timeout).")]
OutputOpt = Annotated[str, typer.Option("--output", "-o", help="text or json (one JSON object on stdout).")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before rollback or pruning (never asked without a terminal).")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show each AWS call.")]
ServiceOpt = Annotated[Optional[list[str]], typer.Option("--service", "-s", help="Only this service (repeatable; default: all in the config).")]
RegionOpt = Annotated[Optional[str], typer.Option("--region", help="AWS region (default: config `region`, then the AWS chain).")]
ProfileOpt = Annotated[Optional[str], typer.Option("--profile", help="AWS profile (SSO profiles work).")]
AssumeOpt = Annotated[Optional[str], typer.Option("--assume-role-arn", help="Assume this role first (cross-account deploys).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Deploy even if another deployment is in progress / nothing changed.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"deployer {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None,
) -> None:
    """deployer — the developers' half of an ECS release."""


def _execute(options: Options, action: Callable[[Run], dict], text: Callable[[Run, dict], str | None] | None = None) -> dict:
    """Run one command: result printed as text or JSON (and returned); errors → message + exit code."""
    if options.output not in ("text", "json"):
        typer.echo(f"error: --output must be text or json, got {options.output!r}", err=True)
        raise typer.Exit(2)
    from .config import parse_vars

    run = Run(options)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        options.vars = parse_vars(options.vars) if isinstance(options.vars, list) else options.vars
        result = action(run)
    except DeployerError as exc:
        _fail(run, exc)
    except KeyboardInterrupt:
        # Interrupts while watching carry their own account (pipeline.interrupted); this one came earlier
        # or later, so say only what is certain.
        _fail(run, Interrupted("interrupted", hint="`deployer status` shows where the service stands"))
    if options.output == "json":
        sys.stdout.write(json.dumps(result, default=str) + "\n")
    elif text is not None:
        printed = text(run, result)
        if printed:
            sys.stdout.write(printed + "\n")
    return result or {}


def _raise_interrupt(signum, frame):  # SIGTERM behaves as Ctrl-C: stop watching, say where things stand
    raise KeyboardInterrupt


def _fail(run: Run, exc: DeployerError) -> None:
    message = exc.message
    if "secrets" in run.__dict__:  # only when templates read secrets (a cached_property)
        message = run.secrets.mask(message)
    run.console.error(message)
    if exc.hint:
        run.console.info(f"hint: {exc.hint}")
    if run.options.output == "json":
        payload = dict(exc.result) if isinstance(exc, DeploymentFailed) and exc.result else {}
        payload.setdefault("status", "failed" if exc.exit_code == 1 else "error")
        payload["error"] = message
        payload["exit_code"] = exc.exit_code
        sys.stdout.write(json.dumps(payload, default=str) + "\n")
    raise typer.Exit(exc.exit_code)


def _opts(**kwargs) -> Options:
    return Options(**{k: v for k, v in kwargs.items() if v is not None})


def _summary(run: Run, result: dict) -> str | None:
    from .ecs import short_name

    lines = []
    for s in result.get("services", []):
        lines.append(f"{s['service']}: {s.get('status') or s.get('verdict')} {short_name(s.get('task_definition')) or ''}".rstrip())
    if result.get("plan"):
        lines.append(json.dumps(result["plan"], indent=2, default=str))
    return "\n".join(lines) or None


TagOpt = Annotated[Optional[str], typer.Option("--tag", help="Image tag (default: the git commit; a dirty tree gets -dirty-<hash>).")]
BuildArgOpt = Annotated[Optional[list[str]], typer.Option("--build-arg", help="Docker build arg KEY=VALUE (repeatable); overrides image.build_args.")]
RebuildOpt = Annotated[bool, typer.Option("--rebuild", help="Build and push even if the registry already has the tag.")]
WaitUntilOpt = Annotated[Optional[str], typer.Option("--wait-until", help="Blue/green, linear, canary: return once the deployment reached this stage (scaled-up, test-traffic, traffic-shifted, bake-done, or a lifecycle stage); `deployer wait` follows it on.")]


def _wait_until(value: str | None) -> str | None:
    """Checked before anything talks to AWS (deployer/strategies.py)."""
    from .strategies import wait_until_stage

    try:
        wait_until_stage(value)
    except DeployerError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    return value


def _build_args(pairs: list[str] | None) -> dict[str, str]:
    from .config import parse_vars

    try:
        return parse_vars(pairs or [])
    except DeployerError as exc:
        typer.echo(f"error: {exc.message.replace('--var', '--build-arg')}", err=True)
        raise typer.Exit(2) from None


@app.command()
def release(
    tag: TagOpt = None, build_arg: BuildArgOpt = None, rebuild: RebuildOpt = False,
    desired_count: Annotated[Optional[int], typer.Option("--desired-count", help="Set desiredCount (default: definition, else leave as is).")] = None,
    service: ServiceOpt = None,
    force: ForceOpt = False,
    config: ConfigOpt = None, var: VarOpt = None, dry_run: DryRunOpt = False, no_wait: NoWaitOpt = False,
    timeout: TimeoutOpt = None, output: OutputOpt = "text", yes: YesOpt = False, verbose: VerboseOpt = False,
    region: RegionOpt = None, profile: ProfileOpt = None, assume_role_arn: AssumeOpt = None, wait_until: WaitUntilOpt = None,
) -> None:
    """Build and push the image, register a revision, deploy, watch; roll back on failure.

    Example: deployer release            # in CodeBuild: deployer release --yes --output json
    """
    from .commands.release import release as run_release

    args = _build_args(build_arg)
    options = _opts(config=config, vars=var or [], dry_run=dry_run, no_wait=no_wait, timeout=timeout, output=output, yes=yes, verbose=verbose, region=region, profile=profile, assume_role_arn=assume_role_arn, wait_until=_wait_until(wait_until))
    _execute(options, lambda run: run_release(run, tag=tag, build_args=args, rebuild=rebuild, services=service, desired_count=desired_count, force=force), _summary)


@app.command()
def build(
    push: Annotated[bool, typer.Option("--push", help="Also push to the environment's repository.")] = False,
    tag: TagOpt = None, build_arg: BuildArgOpt = None, rebuild: RebuildOpt = False,
    config: ConfigOpt = None, output: OutputOpt = "text", verbose: VerboseOpt = False, region: RegionOpt = None, profile: ProfileOpt = None, assume_role_arn: AssumeOpt = None,
) -> None:
    """Build the image (and --push it) without deploying.

    Example: deployer build --push --build-arg BASE_IMAGE=busybox:1.36
    """
    from .commands.build import build as run_build

    args = _build_args(build_arg)
    options = _opts(config=config, output=output, verbose=verbose, region=region, profile=profile, assume_role_arn=assume_role_arn)
    _execute(options, lambda run: run_build(run, tag=tag, build_args=args, rebuild=rebuild, push=push), lambda run, r: f"{r['status']}: {r['image']}")


@app.command()
def deploy(
    image: Annotated[Optional[str], typer.Option("--image", help="Image reference to deploy (repo@sha256:… or repo:tag).")] = None,
    revision: Annotated[Optional[int], typer.Option("--revision", help="Redeploy this registered revision number.")] = None,
    desired_count: Annotated[Optional[int], typer.Option("--desired-count", help="Set desiredCount (default: definition, else leave as is).")] = None,
    service: ServiceOpt = None,
    force: ForceOpt = False,
    config: ConfigOpt = None, var: VarOpt = None, dry_run: DryRunOpt = False, no_wait: NoWaitOpt = False,
    timeout: TimeoutOpt = None, output: OutputOpt = "text", yes: YesOpt = False, verbose: VerboseOpt = False,
    region: RegionOpt = None, profile: ProfileOpt = None, assume_role_arn: AssumeOpt = None, wait_until: WaitUntilOpt = None,
) -> None:
    """Render, register and deploy an existing image (no build), watch, roll back on failure.

    Example: deployer deploy --image 123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:…
    """
    from .commands.deploy import deploy as run_deploy

    options = _opts(config=config, vars=var or [], dry_run=dry_run, no_wait=no_wait, timeout=timeout, output=output, yes=yes, verbose=verbose, region=region, profile=profile, assume_role_arn=assume_role_arn, wait_until=_wait_until(wait_until))
    _execute(options, lambda run: run_deploy(run, image=image, revision=revision, services=service, desired_count=desired_count, force=force), _summary)


@app.command()
def rollback(
    to: Annotated[Optional[int], typer.Option("--to", help="Roll back to this revision number (must be ACTIVE).")] = None,
    service: ServiceOpt = None,
    force: ForceOpt = False,
    config: ConfigOpt = None, dry_run: DryRunOpt = False, no_wait: NoWaitOpt = False,
    timeout: TimeoutOpt = None, output: OutputOpt = "text", yes: YesOpt = False, verbose: VerboseOpt = False,
    region: RegionOpt = None, profile: ProfileOpt = None, assume_role_arn: AssumeOpt = None,
) -> None:
    """Put the service back on the last revision that was healthy (not simply N-1), and watch it.

    Example: deployer rollback            # or: deployer rollback --to 12
    """
    from .commands.rollback import rollback as run_rollback

    options = _opts(config=config, dry_run=dry_run, no_wait=no_wait, timeout=timeout, output=output, yes=yes, verbose=verbose, region=region, profile=profile, assume_role_arn=assume_role_arn)
    _execute(options, lambda run: run_rollback(run, to=to, services=service, force=force), lambda run, r: "\n".join(f"{e['service']}: {r['status']} → {e['to'].rsplit('/', 1)[-1]}" for e in r["services"]))


@app.command()
def render(
    image: Annotated[Optional[str], typer.Option("--image", help="Image reference to render with (default: the template's).")] = None,
    service: ServiceOpt = None,
    config: ConfigOpt = None, var: VarOpt = None, output: OutputOpt = "text", verbose: VerboseOpt = False,
    region: RegionOpt = None, profile: ProfileOpt = None, assume_role_arn: AssumeOpt = None,
) -> None:
    """Print the rendered task definition and service definition (validated; secrets masked).

    Example: deployer render --image web:test --var replicas=3
    """
    from .commands import render as cmd

    options = _opts(config=config, vars=var or [], output=output, verbose=verbose, region=region, profile=profile, assume_role_arn=assume_role_arn)
    _execute(options, lambda run: cmd.render(run, image=image, services=service), cmd.text)


@app.command(name="env")
def env_command(
    config: ConfigOpt = None, output: OutputOpt = "text", verbose: VerboseOpt = False, region: RegionOpt = None, profile: ProfileOpt = None, assume_role_arn: AssumeOpt = None,
) -> None:
    """Print the admin environment's resolved outputs (cluster, subnets, target group, repository).

    Example: deployer env --output json
    """
    from .commands import env as cmd

    options = _opts(config=config, output=output, verbose=verbose, region=region, profile=profile, assume_role_arn=assume_role_arn)
    _execute(options, cmd.env, lambda run, r: cmd.text(r))


@app.command()
def status(
    service: ServiceOpt = None, config: ConfigOpt = None, output: OutputOpt = "text", verbose: VerboseOpt = False,
    region: RegionOpt = None, profile: ProfileOpt = None, assume_role_arn: AssumeOpt = None,
) -> None:
    """Show the service, its deployments (revision, image, commit, rollout state) and recent events.

    Example: deployer status -o json
    """
    from .commands import status as cmd

    options = _opts(config=config, output=output, verbose=verbose, region=region, profile=profile, assume_role_arn=assume_role_arn)
    _execute(options, lambda run: cmd.status(run, services=service), lambda run, r: cmd.text(r))


@app.command()
def revisions(
    service: ServiceOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="How many revisions to list.")] = 20,
    prune: Annotated[bool, typer.Option("--prune", help="Deregister old revisions (never the running, last healthy, or in-use ones).")] = False,
    keep: Annotated[int, typer.Option("--keep", help="With --prune: how many of the newest revisions to keep.")] = 10,
    dry_run: DryRunOpt = False, yes: YesOpt = False,
    config: ConfigOpt = None, output: OutputOpt = "text", verbose: VerboseOpt = False, region: RegionOpt = None, profile: ProfileOpt = None, assume_role_arn: AssumeOpt = None,
) -> None:
    """List task-definition revisions: which runs, which were healthy, image and commit; or --prune them.

    Example: deployer revisions --limit 5        deployer revisions --prune --keep 5 --dry-run
    """
    from .commands import revisions as cmd

    options = _opts(config=config, output=output, verbose=verbose, region=region, profile=profile, dry_run=dry_run, yes=yes, assume_role_arn=assume_role_arn)
    if prune:
        _execute(options, lambda run: cmd.prune(run, services=service, keep=keep), lambda run, r: cmd.prune_text(r))
    else:
        _execute(options, lambda run: cmd.revisions(run, services=service, limit=limit), lambda run, r: cmd.text(r))


@app.command()
def diff(
    image: Annotated[Optional[str], typer.Option("--image", help="Image reference to render with (default: the one running).")] = None,
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 1 when there is a difference.")] = False,
    service: ServiceOpt = None,
    config: ConfigOpt = None, var: VarOpt = None, output: OutputOpt = "text", verbose: VerboseOpt = False,
    region: RegionOpt = None, profile: ProfileOpt = None, assume_role_arn: AssumeOpt = None,
) -> None:
    """Show what would change: rendered definitions against what runs (normalised unified diff).

    Example: deployer diff --exit-code
    """
    from .commands import diff as cmd

    options = _opts(config=config, vars=var or [], output=output, verbose=verbose, region=region, profile=profile, assume_role_arn=assume_role_arn)
    result = _execute(options, lambda run: cmd.diff(run, image=image, services=service), cmd.text)
    if exit_code and result.get("changed"):
        raise typer.Exit(1)


@app.command()
def init(
    cluster: Annotated[str, typer.Option("--cluster", help="Cluster of the live service to import.")],
    service: Annotated[str, typer.Option("--service", help="Name of the live service to import.")],
    stack: Annotated[Optional[str], typer.Option("--stack", help="The admins' environment stack (its outputs become template values).")] = None,
    proton: Annotated[Optional[str], typer.Option("--proton", help="The Proton environment name (instead of --stack).")] = None,
    directory: Annotated[str, typer.Option("--dir", help="Where to write deployer.yaml and the templates.")] = ".",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing files.")] = False,
    output: OutputOpt = "text", verbose: VerboseOpt = False, region: RegionOpt = None, profile: ProfileOpt = None, assume_role_arn: AssumeOpt = None,
) -> None:
    """Import a live service into deployer.yaml and Jinja templates (adopt deployer in one command).

    Example: deployer init --cluster prod --service web --stack AWSProton-prod-cloudformation--ABCDEFGHIJ
    """
    from .commands import init as cmd

    options = _opts(output=output, verbose=verbose, region=region, profile=profile, assume_role_arn=assume_role_arn)
    _execute(options, lambda run: cmd.init(run, cluster=cluster, service=service, stack=stack, proton=proton, directory=directory, overwrite=overwrite), cmd.text)


@app.command(name="run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run_command(
    ctx: typer.Context,
    service: Annotated[Optional[str], typer.Option("--service", "-s", help="Service whose definition and network to use (default: the first).")] = None,
    config: ConfigOpt = None, var: VarOpt = None, timeout: TimeoutOpt = None, output: OutputOpt = "text", verbose: VerboseOpt = False,
    region: RegionOpt = None, profile: ProfileOpt = None, assume_role_arn: AssumeOpt = None,
) -> None:
    """Run a one-off task (a migration, say) from the service's revision with the command overridden.

    Waits for it, prints its logs, and exits with the container's exit code.
    Example: deployer run -- ./manage.py migrate
    """
    from .commands import run_task as cmd

    options = _opts(config=config, vars=var or [], timeout=timeout, output=output, verbose=verbose, region=region, profile=profile, assume_role_arn=assume_role_arn)
    result = _execute(options, lambda run: cmd.run_task(run, command=list(ctx.args), service=service), cmd.text)
    code = result.get("exit_code")
    if code:
        raise typer.Exit(int(code))


@app.command()
def verify(
    service: ServiceOpt = None,
    config: ConfigOpt = None, var: VarOpt = None, output: OutputOpt = "text", verbose: VerboseOpt = False,
    region: RegionOpt = None, profile: ProfileOpt = None, assume_role_arn: AssumeOpt = None,
) -> None:
    """Pre-flight checks: cluster, subnets, security groups, target group ↔ port, roles, image, log group, secrets.

    Example: deployer verify
    """
    from .commands import verify as cmd

    options = _opts(config=config, vars=var or [], output=output, verbose=verbose, region=region, profile=profile, assume_role_arn=assume_role_arn)
    result = _execute(options, lambda run: cmd.verify(run, services=service), cmd.text)
    if not result.get("ok", True):
        raise typer.Exit(1)


@app.command()
def wait(
    service: ServiceOpt = None, config: ConfigOpt = None, timeout: TimeoutOpt = None, output: OutputOpt = "text", verbose: VerboseOpt = False,
    region: RegionOpt = None, profile: ProfileOpt = None, assume_role_arn: AssumeOpt = None, wait_until: WaitUntilOpt = None,
) -> None:
    """Follow the service's current deployment until it completes or fails (exit 0 / 1).

    Example: deployer wait --timeout 900
    """
    from .commands.wait import wait as run_wait

    options = _opts(config=config, timeout=timeout, output=output, verbose=verbose, region=region, profile=profile, assume_role_arn=assume_role_arn, wait_until=_wait_until(wait_until))
    _execute(options, lambda run: run_wait(run, services=service), _summary)


@app.command(name="continue")
def continue_command(
    rollback: Annotated[bool, typer.Option("--rollback", help="Roll back instead of continuing (traffic back on the previous revision).")] = False,
    service: ServiceOpt = None, config: ConfigOpt = None, no_wait: NoWaitOpt = False, timeout: TimeoutOpt = None, output: OutputOpt = "text",
    verbose: VerboseOpt = False, region: RegionOpt = None, profile: ProfileOpt = None, assume_role_arn: AssumeOpt = None, wait_until: WaitUntilOpt = None,
) -> None:
    """Resume a blue/green, linear or canary deployment paused at a PAUSE lifecycle hook, and watch it.

    Example: deployer continue            # or: deployer continue --rollback
    """
    from .commands.continue_ import continue_ as run_continue

    options = _opts(config=config, no_wait=no_wait, timeout=timeout, output=output, verbose=verbose, region=region, profile=profile, assume_role_arn=assume_role_arn, wait_until=_wait_until(wait_until))
    _execute(options, lambda run: run_continue(run, rollback=rollback, services=service), _summary)


@app.command(name="iam-policy")
def iam_policy(
    config: ConfigOpt = None, verbose: VerboseOpt = False, region: RegionOpt = None, profile: ProfileOpt = None, assume_role_arn: AssumeOpt = None,
) -> None:
    """Print the least-privilege IAM policy a release role needs (for CodeBuild), from the config.

    Example: deployer iam-policy > release-policy.json
    """
    from .commands import iam_policy as cmd

    options = _opts(config=config, output="text", verbose=verbose, region=region, profile=profile, assume_role_arn=assume_role_arn)
    _execute(options, cmd.iam_policy, cmd.text)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
