"""The shared flags and their checks."""

from __future__ import annotations

import re
import typer
from typing import Annotated
from typing import Optional

from ..release.context import Options
from ..core.errors import DeployerError


# Shared flags (the README's "Common flags", below its command table).
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


# The lease of each service a command writes to (deployer/release/lease.py).
WaitLockOpt = Annotated[bool, typer.Option("--wait-for-lock", help="When another release holds the service's lease, wait for it (up to --lock-timeout) instead of exiting 1.")]


LockTimeoutOpt = Annotated[Optional[int], typer.Option("--lock-timeout", min=0, help="Wait at most this many seconds for the lease (implies --wait-for-lock; its default: twice the deploy timeout plus deploy.lock_ttl).")]


NoLockOpt = Annotated[bool, typer.Option("--no-lock", help="Take no lease (a role without the SSM permissions); only the in-progress check then guards against a concurrent release.")]


EnvOpt = Annotated[Optional[str], typer.Option("--env", "-e", help="The environment of deployer.yaml's `environments:` (default: $DEPLOYER_ENV; required when it has them).")]


def _opts(**kwargs) -> Options:
    _check_flags(region=kwargs.get("region"), assume_role_arn=kwargs.get("assume_role_arn"), timeout=kwargs.get("timeout"), wait_until=kwargs.get("wait_until"))
    if "env" in kwargs and not kwargs["env"]:
        import os

        from ..manifest.config import ENV_VARIABLE

        kwargs["env"] = os.environ.get(ENV_VARIABLE, "").strip() or None
        kwargs["env_from_variable"] = kwargs["env"] is not None
    return Options(**{k: v for k, v in kwargs.items() if v is not None})


def _lock_options(options: Options, wait_for_lock: bool, lock_timeout: int | None, no_lock: bool) -> None:
    options.wait_for_lock, options.lock_timeout, options.no_lock = wait_for_lock, lock_timeout, no_lock


REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


MAX_IMAGE_REFERENCE = 1000  # ECR's longest repository name (256) + tag or digest, with room to spare


# flag: (minimum, what the number is)
_NUMBERS = {
    "timeout": (1, "a positive number of seconds"),
    "desired_count": (0, "a task count, 0 or more"),
    "limit": (1, "how many revisions to list, 1 or more"),
    "keep": (1, "how many revisions to keep, 1 or more"),
    "revision": (1, "a revision number, 1 or more"),
    "to": (1, "a revision number, 1 or more"),
}


def _check_flags(**flags) -> None:
    """Every flag value checked in one place before anything runs: a bad one is exit 2 naming the flag."""
    problem = None
    for name, value in flags.items():
        flag = "--" + name.replace("_", "-")
        if value is None:
            continue
        if name in _NUMBERS and value < _NUMBERS[name][0]:
            problem = f"{flag} {value}: must be {_NUMBERS[name][1]}"
        elif name == "region" and not REGION.match(value):
            problem = f"{flag} {value!r}: not an AWS region name (like us-east-1)"
        elif name == "assume_role_arn" and not ROLE_ARN.match(value):
            problem = f"{flag} {value[:100]!r}: not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)"
        elif name == "image" and (len(value) > MAX_IMAGE_REFERENCE or not value.strip() or any(c.isspace() or not c.isprintable() for c in value)):
            shown = f"{len(value)} characters" if len(value) > MAX_IMAGE_REFERENCE else repr(value[:100])
            problem = f"{flag} {shown}: not an image reference (repository:tag or repository@sha256:digest, at most {MAX_IMAGE_REFERENCE} characters, no spaces)"
        elif name == "wait_until":
            from ..manifest.strategies import wait_until_stage

            try:
                wait_until_stage(value)
            except DeployerError as exc:
                problem = exc.message
        if problem:
            typer.echo(f"error: {problem}", err=True)
            raise typer.Exit(2)


TagOpt = Annotated[Optional[str], typer.Option("--tag", help="Image tag (default: the git commit; a dirty tree gets -dirty-<hash>).")]


BuildArgOpt = Annotated[Optional[list[str]], typer.Option("--build-arg", help="Docker build arg KEY=VALUE (repeatable); overrides image.build_args.")]


RebuildOpt = Annotated[bool, typer.Option("--rebuild", help="Build and push even if the registry already has the tag.")]


SecretOpt = Annotated[Optional[list[str]], typer.Option("--secret", help="Build secret for RUN --mount=type=secret: id=NAME,env=VAR | id=NAME,src=FILE | id=NAME,ssm=PARAM | id=NAME,secretsmanager=ID (repeatable).")]


SshOpt = Annotated[Optional[list[str]], typer.Option("--ssh", help="SSH agent or keys for RUN --mount=type=ssh: default | ID=PATH (repeatable).")]


PlatformOpt = Annotated[Optional[str], typer.Option("--platform", help="Build platform linux/amd64 | linux/arm64 (default: image.platform, else the task definition's runtimePlatform).")]


def _build_flags(build_arg: list[str] | None, secret: list[str] | None, ssh: list[str] | None, platform: str | None):
    from ..image.stage import BuildFlags

    return BuildFlags(build_args=_build_args(build_arg), secrets=list(secret or []), ssh=list(ssh or []), platform=platform)


WaitUntilOpt = Annotated[Optional[str], typer.Option("--wait-until", help="Blue/green, linear, canary: return once the deployment reached this stage (scaled-up, test-traffic, traffic-shifted, bake-done, or a lifecycle stage); `deployer wait` follows it on.")]


def _build_args(pairs: list[str] | None) -> dict[str, str]:
    from ..manifest.config import parse_vars

    try:
        return parse_vars(pairs or [])
    except DeployerError as exc:
        typer.echo(f"error: {exc.message.replace('--var', '--build-arg')}", err=True)
        raise typer.Exit(2) from None
