"""What one invocation works with: its flags (Options) and its Target — the config, console, AWS adapters and
environment of one invocation against one environment, each built lazily on first use.

The CLI makes one Target per invocation and hands it to the command; commands, onboard/ and release/ use it
whole. Layers below release/ never see it: they get plain values (manifest/render.py's RenderInputs, say)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from ..core.console import Console


@dataclass
class Options:
    """Flags common to the commands (the README's common flags: -c, --var, --dry-run, --no-wait, --timeout, --output, --yes)."""

    config: str | None = None
    vars: dict = field(default_factory=dict)
    dry_run: bool = False
    no_wait: bool = False
    timeout: int | None = None
    output: str = "text"
    yes: bool = False
    verbose: bool = False
    region: str | None = None
    profile: str | None = None
    assume_role_arn: str | None = None
    # The lease of each service a command writes to (deployer/release/lease.py).
    wait_for_lock: bool = False
    lock_timeout: int | None = None
    no_lock: bool = False
    wait_until: str | None = None  # blue/green, linear, canary: return at this lifecycle stage (strategies.py)
    env: str | None = None  # --env NAME (or DEPLOYER_ENV): one of deployer.yaml's `environments:`
    env_from_variable: bool = False  # the name came from DEPLOYER_ENV (messages name it)


class Target:
    """One invocation against one environment: its flags, console, config, AWS sessions and adapters, resolved outputs."""

    def __init__(self, options: Options, console: Console | None = None):
        self.options = options
        self.console = console or Console(verbose=options.verbose)
        self.mask_secret_vars()

    def mask_secret_vars(self) -> None:
        """A --var whose name or value says it is a secret is masked wherever it would be printed
        (render keeps it out of definitions too: templating.TemplateFunctions.secret_vars)."""
        from ..manifest.templating import is_secret_var

        if isinstance(self.options.vars, dict):
            self.console.secrets.update(value for name, value in self.options.vars.items() if is_secret_var(name, value))

    def for_config(self, path) -> "Target":
        """The same flags and console (and AWS session) for another deployer.yaml: init checks what it wrote."""
        options = self.options
        other = Target(Options(config=str(path), region=options.region, profile=options.profile, assume_role_arn=options.assume_role_arn),
                       console=self.console)
        if "aws" in self.__dict__:
            other.__dict__["aws"] = self.__dict__["aws"]
        return other

    def for_environment(self, name: str) -> "Target":
        """The same flags, console, config file and caller's credentials, in another environment (promote, env --all)."""
        from dataclasses import replace

        other = Target(replace(self.options, env=name, env_from_variable=False), console=self.console)
        other.__dict__["base_config"] = self.base_config
        other.__dict__["caller_aws"] = self.caller_aws  # one caller session: each environment's role assumed from it
        return other

    @cached_property
    def base_config(self):
        """deployer.yaml as written: every environment, none selected."""
        from ..manifest.config import load

        return load(self.options.config)

    @cached_property
    def config(self):
        """deployer.yaml with the environment of --env / DEPLOYER_ENV selected (manifest/config.py select_environment)."""
        from ..manifest.config import select_environment

        return select_environment(self.base_config, self.options.env, from_variable=self.options.env_from_variable)

    @property
    def environment_name(self) -> str | None:
        return self.config.environment.name

    @cached_property
    def caller_aws(self):
        """The caller's own credentials (--profile, --assume-role-arn): the image repository's side."""
        from ..aws.session import Aws

        return Aws(
            region=self.options.region or self.base_config.region,
            profile=self.options.profile,
            console=self.console,
            assume_role_arn=self.options.assume_role_arn,
        )

    @cached_property
    def aws(self):
        """The environment's session: its role assumed (session deployer-<app>-<env>) when it names one, in its
        region; its `account` checked against STS before anything else is called. Else the caller's session."""
        from ..aws.session import session_name

        config = self.config
        env = config.environment
        if not env.role_arn:
            aws = self.caller_aws
            if self.options.region is None and config.region != self.base_config.region:
                from ..aws.session import Aws

                aws = Aws(region=config.region, profile=self.options.profile, console=self.console, assume_role_arn=self.options.assume_role_arn)
        else:
            aws = self.caller_aws.assumed(env.role_arn, session_name=session_name("deployer", config.app, env.name or ""),
                                          region=self.options.region or config.region)
        if env.account:
            actual = aws.account_id()
            if actual != env.account:
                from ..core.errors import BadInput

                where = f"environments.{env.name}" if env.name else "environment"
                raise BadInput(f"{config.path.name}: `{where}.account` is {env.account}, but the credentials"
                               + (f" of role {env.role_arn}" if env.role_arn else "") + f" are in account {actual}; nothing was changed")
        return aws

    @cached_property
    def ecs(self):
        from ..aws.ecs import Ecs

        return Ecs(self.aws)

    @cached_property
    def scheduler(self):
        from ..aws.scheduler import Scheduler

        return Scheduler(self.aws)

    @cached_property
    def environment(self):
        from ..manifest.environment import resolve

        return resolve(self.aws, self.config.environment, console=self.console, repository=self.config.image.repository)

    @cached_property
    def policy(self):
        """The admins' guardrails in force (the stack output DeployerPolicy), or None: read once."""
        from ..manifest.environment import load_guardrails

        return load_guardrails(self.aws, self.environment)

    @cached_property
    def image_aws(self):
        """The image repository's side (ECR, registry login, build/push, its repository policy): the
        repository lives in its own account, so never the environment's role. `image.role_arn` assumed
        with the caller's credentials; else, with `environments:`, the caller's own; else (one
        environment) the caller without --assume-role-arn when that flag gives the environment's role,
        and otherwise the one session of today."""
        from ..aws.session import session_name

        config = self.config
        if config.image.role_arn:
            return self.caller_aws.assumed(config.image.role_arn, session_name=session_name("deployer", config.app, "image"))
        if config.environments:
            return self.caller_aws
        if not self.options.assume_role_arn:
            return self.aws
        from ..aws.session import Aws

        return Aws(region=self.options.region or self.config.region, profile=self.options.profile, console=self.console)

    @cached_property
    def git(self):
        from ..manifest.templating import GitInfo

        return GitInfo.read(self.config.root)

    def render_inputs(self, *, guardrails: bool = True):
        """What manifest/render.py renders this environment's definitions with, as plain data. guardrails: with the
        admins' policy, read here (a policy that cannot be read refuses before any template is rendered); False for
        what writes nothing (diff, build, iam-policy) or checks the policy itself (verify)."""
        from ..manifest.render import RenderInputs

        config, environment = self.config, self.environment
        policy = self.policy if guardrails else None
        return RenderInputs(config=config, environment=environment, aws=self.aws, console=self.console, git=self.git,
                            vars=self.options.vars or {}, policy=policy)

    @property
    def secrets(self):
        """The values the console masks in every line it writes (and the CLI in every result and error)."""
        return self.console.secrets

    @property
    def timeout(self) -> int:
        return self.options.timeout or self.config.deploy.timeout

    def services(self, names: list[str] | None = None):
        """The configured services, or the ones named with --service."""
        if not names:
            return list(self.config.services)
        from ..core.errors import BadInput

        known = {s.name: s for s in self.config.services}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise BadInput(f"--service {unknown[0]}: not in {self.config.path.name} (services: {', '.join(known)})")
        return [known[n] for n in names]

    def live_services(self, names: list[str] | None = None, *, must_exist: bool = False) -> list[tuple]:
        """(service config, described service or None) for each selected service: one DescribeServices call."""
        cluster = self.environment.cluster
        selected = self.services(names)
        live = self.ecs.describe_services(cluster, [s.name for s in selected])
        if must_exist:
            from ..core.errors import BadInput

            missing = [s.name for s in selected if live[s.name] is None]
            if missing:
                raise BadInput(f"service {missing[0]} does not exist in cluster {cluster} (run `deployer release` or `deploy` first)")
        return [(svc, live[svc.name]) for svc in selected]

    def confirm(self, question: str) -> None:
        """Ask before an irreversible step on a terminal; --yes, --dry-run or no terminal (CI) skip it."""
        import sys

        if self.options.yes or self.options.dry_run or not sys.stdin.isatty():
            return
        import typer

        if not typer.confirm(question, default=False, err=True):
            from ..core.errors import BadInput

            raise BadInput("cancelled: nothing was changed")
