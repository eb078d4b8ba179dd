"""What one invocation works with: config, console, AWS adapters, the environment — built lazily."""

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


class Run:
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

    def for_config(self, path) -> "Run":
        """The same flags and console (and AWS session) for another deployer.yaml: init checks what it wrote."""
        options = self.options
        other = Run(Options(config=str(path), region=options.region, profile=options.profile, assume_role_arn=options.assume_role_arn),
                    console=self.console)
        if "aws" in self.__dict__:
            other.__dict__["aws"] = self.__dict__["aws"]
        return other

    @cached_property
    def config(self):
        from ..manifest.config import load

        return load(self.options.config)

    @cached_property
    def aws(self):
        from ..aws.session import Aws

        return Aws(
            region=self.options.region or self.config.region,
            profile=self.options.profile,
            console=self.console,
            assume_role_arn=self.options.assume_role_arn,
        )

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

        return resolve(self.aws, self.config.environment, console=self.console)

    @cached_property
    def git(self):
        from ..manifest.templating import GitInfo

        return GitInfo.read(self.config.root)

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
