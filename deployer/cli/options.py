"""The shared flags and their checks."""

from __future__ import annotations

import functools
import inspect
import re
import typer
from typing import Annotated, Any, NamedTuple, Optional

from ..release.context import Options
from ..core.errors import DeployerError


# Shared flags (the README's "Common flags", below its command table).
ConfigOpt = Annotated[Optional[str], typer.Option("-c", "--config", help="Config file (default: ./deployer.yaml).")]


VarOpt = Annotated[Optional[list[str]], typer.Option("--var", help="Template value KEY=VALUE (repeatable); overrides `vars:`.")]


DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print the plan of AWS calls; change nothing.")]


NoWaitOpt = Annotated[bool, typer.Option("--no-wait", help="Start the deployment and return without watching it.")]


TimeoutOpt = Annotated[Optional[int], typer.Option("--timeout", help="Seconds to wait for the rollout (default: deploy.timeout).")]


OutputOpt = Annotated[str, typer.Option("--output", "-o", help="text or json (one JSON object on stdout).")]


YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before changing (rollback, revisions --prune, promote, tasks stop ask first; never without a terminal).")]


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


WaitUntilOpt = Annotated[Optional[str], typer.Option("--wait-until", help="Blue/green, linear, canary: return once the deployment reached this stage (scaled-up, test-traffic, traffic-shifted, bake-done, or a lifecycle stage); `deployer wait` follows it on.")]


# ---- the groups of common flags ---------------------------------------------------------------
# A command declares which groups it takes, once: @common(ACCESS, CHANGE, WATCH, LEASE) above its body.
# The decorator adds every flag of those groups to the signature typer reads (inspect.signature honours
# __signature__), takes their values back out of the call and hands the body one `options: Options`.
# A command goes without a member of a group only by naming it, with the reason, in without={...}.


class Flag(NamedTuple):
    """One common flag: its parameter name, typer annotation, default and the Options field it fills."""

    name: str
    annotation: Any
    default: Any
    field: str

    def opts(self) -> tuple[str, ...]:
        """Its command-line spellings (-c, --config)."""
        info = self.annotation.__metadata__[0]
        return tuple(d for d in (info.default, *(info.param_decls or ())) if isinstance(d, str))

    def with_help(self, text: str) -> Any:
        """The same option with another help text (adopt's --yes says what it skips asking)."""
        from copy import copy

        info = copy(self.annotation.__metadata__[0])
        info.help = text
        return Annotated[self.annotation.__origin__, info]


class Group(NamedTuple):
    name: str
    flags: tuple[Flag, ...]


def _flag(name: str, annotation: Any, default: Any, field: str | None = None) -> Flag:
    return Flag(name, annotation, default, field or name)


CONFIG = _flag("config", ConfigOpt, None)
ENV = _flag("env", EnvOpt, None)
VAR = _flag("var", VarOpt, None, "vars")
DRY_RUN = _flag("dry_run", DryRunOpt, False)
NO_WAIT = _flag("no_wait", NoWaitOpt, False)
TIMEOUT = _flag("timeout", TimeoutOpt, None)
OUTPUT = _flag("output", OutputOpt, "text")
YES = _flag("yes", YesOpt, False)
VERBOSE = _flag("verbose", VerboseOpt, False)
REGION = _flag("region", RegionOpt, None)
PROFILE = _flag("profile", ProfileOpt, None)
ASSUME_ROLE_ARN = _flag("assume_role_arn", AssumeOpt, None)
WAIT_UNTIL = _flag("wait_until", WaitUntilOpt, None)
WAIT_FOR_LOCK = _flag("wait_for_lock", WaitLockOpt, False)
LOCK_TIMEOUT = _flag("lock_timeout", LockTimeoutOpt, None)
NO_LOCK = _flag("no_lock", NoLockOpt, False)

# The order the common flags take in every command's --help (after the command's own flags).
ORDER = (CONFIG, ENV, VAR, DRY_RUN, NO_WAIT, TIMEOUT, OUTPUT, YES, VERBOSE, REGION, PROFILE, ASSUME_ROLE_ARN,
         WAIT_UNTIL, WAIT_FOR_LOCK, LOCK_TIMEOUT, NO_LOCK)

# The app's deployer.yaml and environment, the AWS credentials and region, what is printed.
ACCESS = Group("access", (CONFIG, ENV, OUTPUT, VERBOSE, REGION, PROFILE, ASSUME_ROLE_ARN))
# ACCESS without a deployer.yaml: init and adopt, which write one.
SESSION = Group("session", (OUTPUT, VERBOSE, REGION, PROFILE, ASSUME_ROLE_ARN))
VARS = Group("vars", (VAR,))
CHANGE = Group("change", (DRY_RUN, YES))
WATCH = Group("watch", (NO_WAIT, TIMEOUT, WAIT_UNTIL))
LEASE = Group("lease", (WAIT_FOR_LOCK, LOCK_TIMEOUT, NO_LOCK))
GROUPS = (ACCESS, SESSION, VARS, CHANGE, WATCH, LEASE)

# Made once, shared by every command (each command's own would cost ~1 ms of every start).
_PARAMETERS = {f.name: inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=f.annotation) for f in ORDER}


class Common(NamedTuple):
    """What @common attached to a command (tests/unit/test_cli_flag_groups.py reads it)."""

    groups: tuple[Group, ...]
    without: dict[str, str]
    flags: tuple[Flag, ...]


def common(*groups: Group, without: dict[str, str] | None = None, help: dict[str, str] | None = None):
    """Give a command the flags of these groups; its body gets them as one keyword argument `options`.

    without: {flag name: why this command has no such flag} — the only way to take part of a group.
    help: {flag name: this command's own help text for it}."""
    without, help = dict(without or {}), dict(help or {})
    members = {f.name for g in groups for f in g.flags}
    if unknown := (set(without) | set(help)) - members:
        raise TypeError(f"common(): {sorted(unknown)} not a flag of {[g.name for g in groups]}")
    if unexplained := [name for name, why in without.items() if not why.strip()]:
        raise TypeError(f"common(): without {unexplained} needs a reason")
    flags = tuple(f for f in ORDER if f.name in members and f.name not in without)

    def decorate(body):
        signature = inspect.signature(body)
        if "options" not in signature.parameters:
            raise TypeError(f"{body.__name__}() must take `options` to get the common flags")
        own = [p for p in signature.parameters.values() if p.name != "options"]
        if clash := {p.name for p in own} & {f.name for f in flags}:
            raise TypeError(f"{body.__name__}() declares {sorted(clash)} itself; they come from common()")
        names = tuple(f.name for f in flags)
        fields = {f.name: f.field for f in flags}

        def command(**kwargs):
            values = {fields[name]: kwargs.pop(name) for name in names}
            if "vars" in values:
                values["vars"] = values["vars"] or []
            return body(**kwargs, options=_opts(**values))

        functools.update_wrapper(command, body)
        command.__signature__ = signature.replace(parameters=[*own, *(
            _PARAMETERS[f.name] if f.name not in help else _PARAMETERS[f.name].replace(annotation=f.with_help(help[f.name]))
            for f in flags)])
        command.common = Common(groups, without, flags)
        return command

    return decorate


def _opts(**kwargs) -> Options:
    _check_flags(region=kwargs.get("region"), assume_role_arn=kwargs.get("assume_role_arn"), timeout=kwargs.get("timeout"), wait_until=kwargs.get("wait_until"))
    if "env" in kwargs and not kwargs["env"]:
        import os

        from ..manifest.config import ENV_VARIABLE

        kwargs["env"] = os.environ.get(ENV_VARIABLE, "").strip() or None
        kwargs["env_from_variable"] = kwargs["env"] is not None
    return Options(**{k: v for k, v in kwargs.items() if v is not None})


REGION_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


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
        elif name == "region" and not REGION_NAME.match(value):
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


def _build_args(pairs: list[str] | None) -> dict[str, str]:
    from ..manifest.config import parse_vars

    try:
        return parse_vars(pairs or [])
    except DeployerError as exc:
        typer.echo(f"error: {exc.message.replace('--var', '--build-arg')}", err=True)
        raise typer.Exit(2) from None
