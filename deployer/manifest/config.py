"""deployer.yaml: load, validate against a small schema, and return plain dataclasses.

Validation happens before anything talks to AWS or Docker. Every message names the file,
the line and the key path; an unknown key names the nearest valid one.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..core.errors import BadInput

DEFAULT_CONFIG = "deployer.yaml"

# Which environment output holds each value (the defaults docs/configuration.md shows).
DEFAULT_OUTPUTS = {
    "cluster": "ClusterName",
    "subnets": ["PrivateSubnet1", "PrivateSubnet2"],
    "security_groups": ["ServiceSecurityGroup"],
    "target_group": "TargetGroupArn",
    "repository": "EcrRepositoryUri",
}
# The traffic pieces of a blue/green, linear or canary service (deployer/manifest/strategies.py); a missing
# default output means: none (a rolling service needs none of them).
TRAFFIC_OUTPUTS = {
    "alternate_target_group": "AlternateTargetGroupArn",
    "production_listener_rule": "ProductionListenerRuleArn",
    "test_listener_rule": "TestListenerRuleArn",
    "traffic_role": "EcsInfrastructureRoleArn",
}
# The role EventBridge Scheduler assumes to run the app's scheduled tasks (`schedules:`).
DEFAULT_SCHEDULER_ROLE_OUTPUT = "SchedulerRoleArn"


@dataclass(frozen=True)
class OutputNames:
    cluster: str
    subnets: list[str]
    security_groups: list[str]
    target_group: str | None
    repository: str
    # The user named target_group explicitly: a missing output is then an error, not "no load balancer".
    target_group_explicit: bool = False
    # An output with the CloudWatch alarm names (comma-joined) that watch each deployment (none by default).
    alarms: str | None = None
    traffic: dict = field(default_factory=dict)  # TRAFFIC_OUTPUTS key -> output name (None: off)
    traffic_explicit: frozenset = frozenset()  # keys the user named: a missing output is an error
    scheduler_role: str = DEFAULT_SCHEDULER_ROLE_OUTPUT


@dataclass(frozen=True)
class ServiceOverride:
    """One service's settings in one environment (environments.<name>.services.<service>)."""

    desired_count: int | None = None
    alarms: list[str] | None = None  # CloudWatch alarm names that watch this service's deployments there


@dataclass(frozen=True)
class EnvironmentConfig:
    stack: str | None
    proton: str | None
    outputs: OutputNames
    name: str | None = None  # the key under `environments:` (None: a config with one `environment:`)
    role_arn: str | None = None  # everything in the environment runs under this role, assumed in its account
    account: str | None = None  # checked against STS under the role before any write
    region: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    services: dict[str, ServiceOverride] = field(default_factory=dict)
    line: int | None = None  # where the environment is in deployer.yaml


@dataclass(frozen=True)
class ImageConfig:
    context: Path
    dockerfile: str = "Dockerfile"
    build_args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    platform: str | None = None  # None: the task definition's runtimePlatform (else linux/amd64)
    secrets: dict[str, str] = field(default_factory=dict)  # build secret id -> env:VAR | src:FILE | ssm:NAME | secretsmanager:NAME
    cache: str | None = None  # registry | inline | off; None: registry where the builder can export it, else inline
    cache_ref: str | None = None
    # The image repository (an ECR URI) when it is not the environment's `repository` output: the
    # management account's repository that every environment pulls from.
    repository: str | None = None
    role_arn: str | None = None  # the repository side (ECR, login, push) under this role; else the caller's own credentials
    lines: dict[str, int] = field(default_factory=dict)  # key -> line in deployer.yaml, for later messages


@dataclass(frozen=True)
class ServiceConfig:
    name: str
    task_definition: Path
    definition: Path | None
    container: str
    port: int | None
    family: str


@dataclass(frozen=True)
class ScheduleConfig:
    """One `schedules:` entry: an EventBridge Scheduler schedule `<app>-<name>` that runs a task."""

    name: str
    expression: str  # cron(...), rate(...) or at(...)
    command: list[str] | None  # the container's command override (None: the image's)
    service: str  # whose revision, launch type and network it runs with
    timezone: str | None = None
    task_definition: Path | None = None  # another template (default: the service's revision)
    cpu: str | None = None
    memory: str | None = None
    enabled: bool = True
    line: int | None = None  # its line in deployer.yaml, for later messages
    key: str = ""  # the name under `schedules:` (`name` is `<app>-<key>`)


@dataclass(frozen=True)
class DeployConfig:
    timeout: int = 600
    rollback_on_failure: bool = True
    lock_ttl: int = 120  # seconds a release's lease of a service lasts without a heartbeat (deployer/release/lease.py)
    timeout_set: bool = False  # deploy.timeout written in the file: used as is (else raised to cover the target group)


@dataclass(frozen=True)
class Config:
    path: Path
    app: str
    region: str | None
    environment: EnvironmentConfig | None  # None until an environment is selected (select_environment)
    image: ImageConfig
    services: list[ServiceConfig]
    deploy: DeployConfig
    vars: dict[str, Any]
    # The app repository (the nearest directory up with .git, else the config's): no file outside it is read.
    repo_root: Path | None = None
    # env()/must_env() may read only these variables (None: any but credential variables).
    env_allow: list[str] | None = None
    # A SecureString (or `| secret` value) may be stored in a definition on purpose.
    allow_plaintext_secrets: bool = False
    # `environments:` by name (each merged over `environment:`); empty for a config with one environment.
    environments: dict[str, EnvironmentConfig] = field(default_factory=dict)
    schedules: list[ScheduleConfig] = field(default_factory=list)
    schedules_line: int | None = None  # the line of `schedules:` (a missing scheduler role names it)

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def service(self) -> ServiceConfig:
        return self.services[0]


# ---------------------------------------------------------------------------------------
# YAML with line numbers


class _Mapping(dict):
    """A dict that remembers the line of each key (1-based) and of itself."""

    line: int = 0
    key_lines: dict


class _LineLoader(__import__("yaml").SafeLoader):
    pass


def _construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    mapping = _Mapping()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise BadInput(f"duplicate key `{key}`", hint=f"line {key_node.start_mark.line + 1}")
        mapping[key] = loader.construct_object(value_node, deep=deep)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(__import__("yaml").resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# A document whose aliases expand to more values than this is refused (a "billion laughs" bomb
# is a few lines that expand to 10^9 values when anything walks or prints it).
MAX_YAML_VALUES = 100_000


MAX_FLOW_DEPTH = 200  # [ and { nesting; PyYAML's scanner slows down quadratically with it


def _flow_depth_line(text: str) -> int | None:
    """The line where [ / { nesting passes MAX_FLOW_DEPTH (quoted strings and comments skipped), or None."""
    depth, line, quote, previous = 0, 1, None, "\n"
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\n":
            line += 1
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'" and previous in " \t\n[{,:-":
            quote = char
        elif char == "#" and previous in " \t\n":
            end = text.find("\n", index)
            index = len(text) if end < 0 else end
            continue
        elif char in "[{":
            depth += 1
            if depth > MAX_FLOW_DEPTH:
                return line
        elif char in "]}":
            depth = max(0, depth - 1)
        previous = char
        index += 1
    return None


def load_yaml_with_lines(text: str, filename: str):
    import yaml

    too_deep = _flow_depth_line(text)
    if too_deep is not None:
        raise BadInput(f"{filename}:{too_deep}: invalid YAML: nested too deep (more than {MAX_FLOW_DEPTH} levels of [ and {{)")
    try:
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except BadInput as exc:
        raise BadInput(f"{filename}:{exc.hint.removeprefix('line ')}: {exc.message}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        context = ""
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            context = f" ({exc.context} started at line {exc.context_mark.line + 1})"
        raise BadInput(f"{filename}{line}: invalid YAML: {exc.problem or exc}{context}") from None
    except yaml.reader.ReaderError as exc:  # a NUL or another control character
        line = text[: exc.position].count("\n") + 1
        character = chr(exc.character) if isinstance(exc.character, int) else exc.character
        raise BadInput(f"{filename}:{line}: invalid YAML: control character {character!r} (a binary file?)") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"{filename}: invalid YAML: {exc}") from None
    except RecursionError:
        raise BadInput(f"{filename}: invalid YAML: nested too deep") from None
    _check_expanded_size(document, filename)
    return document


def _check_expanded_size(document: Any, filename: str) -> None:
    """Count values as if aliases were expanded (memoised per node, so the count itself is cheap)."""
    sizes: dict[int, int] = {}

    def size(node: Any, depth: int) -> int:
        if not isinstance(node, (dict, list)):
            return 1
        key = id(node)
        if key in sizes:
            if sizes[key] < 0:
                raise BadInput(f"{filename}: invalid YAML: an alias refers to a value that contains it")
            return sizes[key]
        if depth > 500:
            raise BadInput(f"{filename}: invalid YAML: nested too deep")
        sizes[key] = -1
        children = list(node.keys()) + list(node.values()) if isinstance(node, dict) else node
        total = 1
        for child in children:
            total += size(child, depth + 1)
            if total > MAX_YAML_VALUES:
                raise BadInput(f"{filename}: YAML aliases expand to more than {MAX_YAML_VALUES} values (a \"billion laughs\" document?)")
        sizes[key] = total
        return total

    size(document, 0)


# ---------------------------------------------------------------------------------------
# A small schema: each key maps to a type check; nested sections are dicts of the same.

_STR, _INT, _BOOL, _STR_LIST, _STR_MAP, _ANY_MAP = "a string", "an integer", "true or false", "a list of strings", "a mapping of strings", "a mapping"
_CACHE = "registry, inline or off"  # YAML reads a bare `off` as false
_ACCOUNT = "a 12-digit AWS account id"  # a string, or YAML's integer for an unquoted one
_SCALAR = "a string or a number"

_OUTPUTS_SCHEMA = {"cluster": _STR, "subnets": _STR_LIST, "security_groups": _STR_LIST, "target_group": _STR, "repository": _STR, "alarms": _STR, "scheduler_role": _STR, **{k: _STR for k in TRAFFIC_OUTPUTS}}
class _Named(dict):
    """A mapping whose keys are names the user picks (environments, services), each value checked against the schema held."""

    def __init__(self, schema, what: str):
        super().__init__()
        self.schema, self.what = schema, what


_ENV_SERVICE_SCHEMA = {"desired_count": _INT, "alarms": _STR_LIST}
_ENVIRONMENT_SCHEMA = {
    "stack": _STR, "proton": _STR, "outputs": _OUTPUTS_SCHEMA, "role_arn": _STR, "account": _ACCOUNT, "region": _STR,
    "vars": _ANY_MAP, "services": _Named(_ENV_SERVICE_SCHEMA, "service"),
}
_SERVICE_SCHEMA = {"name": _STR, "definition": _STR, "container": _STR, "port": _INT, "task_definition": _STR, "family": _STR}
_SCHEDULE_SCHEMA = {"expression": _STR, "timezone": _STR, "command": _STR_LIST, "task_definition": _STR, "cpu": _SCALAR, "memory": _SCALAR,
                    "enabled": _BOOL, "service": _STR}


SCHEMA: dict[str, Any] = {
    "app": _STR,
    "region": _STR,
    "environment": _ENVIRONMENT_SCHEMA,
    "environments": _Named(_ENVIRONMENT_SCHEMA, "environment"),
    "image": {
        "context": _STR, "dockerfile": _STR, "build_args": _STR_MAP, "target": _STR, "platform": _STR,
        "secrets": _STR_MAP, "cache": _CACHE, "cache_ref": _STR, "repository": _STR, "role_arn": _STR,
    },
    "task_definition": _STR,
    "service": _SERVICE_SCHEMA,
    "services": [_SERVICE_SCHEMA],
    "deploy": {"timeout": _INT, "rollback_on_failure": _BOOL, "lock_ttl": _INT},
    "vars": _ANY_MAP,
    "env_allow": _STR_LIST,
    "allow_plaintext_secrets": _BOOL,
    "schedules": _Named(_SCHEDULE_SCHEMA, "schedule"),
}


def _type_ok(expected: str, value: Any) -> bool:
    if value is None:
        return True  # null means "use the default"; required keys are checked separately
    if expected == _STR:
        return isinstance(value, str)
    if expected == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == _BOOL:
        return isinstance(value, bool)
    if expected == _STR_LIST:
        return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    if expected == _STR_MAP:
        return isinstance(value, dict) and all(isinstance(v, (str, int, float, bool)) for v in value.values())
    if expected == _ANY_MAP:
        return isinstance(value, dict)
    if expected == _ACCOUNT:
        return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
    if expected == _SCALAR:
        return isinstance(value, (str, int)) and not isinstance(value, bool)
    if expected == _CACHE:
        return value is False or value in ("registry", "inline", "off")
    raise AssertionError(expected)


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    kind = {str: "a string", bool: "a boolean", int: "an integer", float: "a number"}.get(type(value), type(value).__name__)
    return f"{kind} ({value!r})"


class _Checker:
    def __init__(self, filename: str):
        self.filename = filename

    def fail(self, line: int | None, path: str, message: str) -> None:
        where = f"{self.filename}:{line}" if line else self.filename
        raise BadInput(f"{where}: `{path}` {message}")

    def fail_plain(self, line: int | None, message: str, hint: str | None = None) -> None:
        where = f"{self.filename}:{line}" if line else self.filename
        raise BadInput(f"{where}: {message}", hint=hint)

    def check(self, node: Any, schema: Any, path: str, line: int | None) -> None:
        if isinstance(schema, list):
            if not isinstance(node, list):
                self.fail(line, path, f"must be a list of mappings, got {_describe(node)}")
            if not node:
                self.fail(line, path, "must list at least one service")
            for index, item in enumerate(node):
                if not isinstance(item, dict):
                    self.fail(line, f"{path}[{index}]", f"must be a mapping, got {_describe(item) if item is not None else 'null'}")
                self.check(item, schema[0], f"{path}[{index}]", getattr(item, "line", line))
            return
        if isinstance(schema, _Named):
            if node is None:
                return
            if not isinstance(node, dict):
                self.fail(line, path, f"must be a mapping of {schema.what} names, got {_describe(node)}")
            for key, value in node.items():
                key_line = getattr(node, "key_lines", {}).get(key, line)
                if not isinstance(key, str) or not NAME_PATTERN.match(key):
                    self.fail(key_line, f"{path}.{key}", f"is not a valid {schema.what} name (letters, digits, - and _, at most 64)")
                if value is not None and not isinstance(value, dict):
                    self.fail(key_line, f"{path}.{key}", f"must be a mapping, got {_describe(value)}")
                self.check(value, schema.schema, f"{path}.{key}", key_line)
            return
        if isinstance(schema, dict):
            if node is None:
                return
            if not isinstance(node, dict):
                self.fail(line, path or "(top level)", f"must be a mapping, got {_describe(node)}")
            for key, value in node.items():
                key_line = getattr(node, "key_lines", {}).get(key, line)
                key_path = f"{path}.{key}" if path else str(key)
                if key not in schema:
                    nearest = difflib.get_close_matches(str(key), [str(k) for k in schema], n=1, cutoff=0.5)
                    suggestion = f"; did you mean `{(path + '.') if path else ''}{nearest[0]}`?" if nearest else ""
                    valid = ", ".join(sorted(schema))
                    self.fail(key_line, key_path, f"is not a known key{suggestion} (valid here: {valid})")
                self.check(value, schema[key], key_path, key_line)
            return
        if not _type_ok(schema, node):
            self.fail(line, path, f"must be {schema}, got {_describe(node)}")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def load(path: str | Path | None = None) -> Config:
    from . import files

    config_path = Path(path or DEFAULT_CONFIG)
    filename = str(config_path)
    if "\x00" in filename:
        raise BadInput("--config: the path contains a NUL byte")
    if not config_path.is_file():
        hint = " (pass -c/--config, or run in the app directory)" if path is None else ""
        raise BadInput(f"{filename}: config file not found{hint}")
    # The repository is judged from where the config is as given (a committed deployer.yaml that is a
    # symlink does not move it); the config itself, symlinks followed, must be one of its files.
    repo = files.repo_root_of(config_path.parent)
    resolved = files.confined(config_path.name, Path(os.path.abspath(config_path.parent)), repo, what=filename)
    # A NUL byte: the YAML reader refuses it naming the line (a control character).
    raw = load_yaml_with_lines(files.read_text(resolved, what=filename, nul_ok=True), filename)
    if raw is None:
        raise BadInput(f"{filename}: the file is empty; `app:` and `environment:` are required")
    checker = _Checker(filename)
    checker.check(raw, SCHEMA, "", getattr(raw, "line", None))
    return _build(raw, resolved, checker, repo)


def repo_root_of(directory: Path) -> Path:
    """The app repository: the nearest directory up that has .git, else `directory` itself (deployer/manifest/files.py)."""
    from . import files

    return files.repo_root_of(directory)


def _inside(checker: "_Checker", line: int | None, key: str, base: Path, repo: Path, value: str) -> Path:
    """base/value resolved (symlinks followed), refused when outside the repository (never read)."""
    from . import files

    try:
        return files.confined(value, base, repo, what=f"`{key}` {value}")
    except BadInput as exc:
        checker.fail_plain(line, exc.message, exc.hint)
        raise


REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$"
ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
ENV_VARIABLE = "DEPLOYER_ENV"


def _line(node: Any, key: str) -> int | None:
    return getattr(node, "key_lines", {}).get(key, getattr(node, "line", None))


def _build(raw: dict, path: Path, checker: _Checker, repo: Path | None = None) -> Config:
    root = path.parent
    app = raw.get("app")
    if not app:
        checker.fail(getattr(raw, "line", 1), "app", "is required (it names the task-definition family and the service)")

    env_raw = raw.get("environment") or _Mapping()
    environments_raw = raw.get("environments")
    environments: dict[str, EnvironmentConfig] = {}
    if environments_raw is not None:
        if not environments_raw:
            checker.fail(_line(raw, "environments"), "environments", "must name at least one environment (or remove it and use `environment:`)")
        for name, one in environments_raw.items():
            environments[name] = _environment(checker, one or _Mapping(), env_raw, f"environments.{name}", _line(environments_raw, name), name)
        environment = None
    else:
        if not env_raw:
            checker.fail(_line(raw, "environment"), "environment", "is required: set `stack:` (the admins' CloudFormation stack) or `proton:`")
        environment = _environment(checker, env_raw, _Mapping(), "environment", _line(raw, "environment"), None)

    repo = repo or repo_root_of(root)
    image_raw = raw.get("image") or {}
    context_value = image_raw.get("context") or "."
    context = _inside(checker, _line(image_raw, "context"), "image.context", root, repo, context_value)
    dockerfile = image_raw.get("dockerfile") or "Dockerfile"
    _inside(checker, _line(image_raw, "dockerfile"), "image.dockerfile", context, repo, dockerfile)
    image = ImageConfig(
        context=context,
        dockerfile=dockerfile,
        build_args={k: str(v) for k, v in (image_raw.get("build_args") or {}).items()},
        target=image_raw.get("target"),
        platform=_image_platform(image_raw, checker),
        secrets={str(k): str(v) for k, v in (image_raw.get("secrets") or {}).items()},
        cache=_image_cache(image_raw),
        cache_ref=image_raw.get("cache_ref"),
        repository=image_raw.get("repository"),
        role_arn=_role_arn(checker, image_raw, "image"),
        lines=dict(getattr(image_raw, "key_lines", {})),
    )

    if raw.get("service") is not None and raw.get("services") is not None:
        checker.fail(_line(raw, "services"), "services", "cannot be used together with `service` (use one of them)")
    services_raw: list[dict] = raw.get("services") or [raw.get("service") or _Mapping()]
    default_task_def = raw.get("task_definition")
    services: list[ServiceConfig] = []
    for index, svc in enumerate(services_raw):
        where = "service" if raw.get("services") is None else f"services[{index}]"
        name = svc.get("name") or (app if index == 0 and raw.get("services") is None else None)
        if not name:
            checker.fail(getattr(svc, "line", None), f"{where}.name", "is required for each entry of `services`")
        task_def = svc.get("task_definition") or default_task_def
        if not task_def:
            checker.fail(getattr(svc, "line", None) or _line(raw, "app"), f"{where}.task_definition" if raw.get("services") else "task_definition", "is required (a Jinja template of the task definition)")
        task_def_line = _line(svc, "task_definition") if svc.get("task_definition") else _line(raw, "task_definition")
        task_def_key = f"{where}.task_definition" if svc.get("task_definition") else "task_definition"
        task_def_path = _inside(checker, task_def_line, task_def_key, root, repo, task_def)
        if not task_def_path.is_file():
            checker.fail(task_def_line, "task_definition", f"file not found: {root / task_def}")
        definition = svc.get("definition")
        definition_path = _inside(checker, _line(svc, "definition"), f"{where}.definition", root, repo, definition) if definition else None
        if definition_path is not None and not definition_path.is_file():
            checker.fail(_line(svc, "definition"), f"{where}.definition", f"file not found: {root / definition}")
        services.append(
            ServiceConfig(
                name=name,
                task_definition=task_def_path,
                definition=definition_path,
                container=svc.get("container") or "app",
                port=svc.get("port"),
                family=svc.get("family") or (app if len(services_raw) == 1 else f"{app}-{name}" if name != app else app),
            )
        )
    names = [s.name for s in services]
    if len(set(names)) != len(names):
        checker.fail(_line(raw, "services"), "services", f"service names must be unique, got {names}")
    for env in ([environment] if environment else []) + list(environments.values()):
        where = f"environments.{env.name}" if env.name else "environment"
        for service_name in env.services:
            if service_name not in names:
                checker.fail(env.line, f"{where}.services.{service_name}", f"is not a configured service (services: {', '.join(names)})")

    deploy_raw = raw.get("deploy") or {}
    timeout = deploy_raw.get("timeout")
    if timeout is not None and timeout <= 0:
        checker.fail(_line(deploy_raw, "timeout"), "deploy.timeout", f"must be a positive number of seconds, got {timeout}")
    lock_ttl = deploy_raw.get("lock_ttl")
    if lock_ttl is not None and lock_ttl < 2:
        checker.fail(_line(deploy_raw, "lock_ttl"), "deploy.lock_ttl", f"must be at least 2 seconds, got {lock_ttl}")
    deploy = DeployConfig(
        timeout=timeout or 600,
        rollback_on_failure=deploy_raw.get("rollback_on_failure", True) is not False,
        lock_ttl=lock_ttl or 120,
        timeout_set=timeout is not None,
    )
    region = raw.get("region")
    if region is not None and not re.match(REGION_PATTERN, region):
        checker.fail(_line(raw, "region"), "region", f"is not an AWS region name (like us-east-1), got {region!r}")
    env_allow = raw.get("env_allow")
    if env_allow is not None:
        from ..core.secret_names import is_aws_credential

        env_allow = _as_list(env_allow)
        refused = [name for name in env_allow if is_aws_credential(name)]
        if refused:
            checker.fail_plain(_line(raw, "env_allow"), f"`env_allow` {refused[0]}: an AWS credential variable; templates can never read it")
    schedules = _schedules(raw, app, services, checker, root, repo)
    return Config(
        path=path,
        app=app,
        region=(environment.region if environment else None) or region,
        environment=environment,
        environments=environments,
        image=image,
        services=services,
        deploy=deploy,
        vars={**(raw.get("vars") or {}), **(environment.vars if environment else {})},
        repo_root=repo,
        env_allow=env_allow,
        allow_plaintext_secrets=raw.get("allow_plaintext_secrets") is True,
        schedules=schedules,
        schedules_line=_line(raw, "schedules") if schedules else None,
    )


def _role_arn(checker: _Checker, node: dict, where: str) -> str | None:
    value = node.get("role_arn")
    if value is not None and not re.match(ROLE_ARN_PATTERN, value):
        checker.fail(_line(node, "role_arn"), f"{where}.role_arn", f"is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME), got {value[:100]!r}")
    return value


def _environment(checker: _Checker, node: dict, defaults: dict, where: str, line: int | None, name: str | None) -> EnvironmentConfig:
    """One environment: `node` (environments.<name>, or `environment` itself) over the shared `defaults`."""
    if node.get("stack") or node.get("proton"):
        stack, proton = node.get("stack"), node.get("proton")
    else:
        stack, proton = defaults.get("stack"), defaults.get("proton")
    if bool(stack) == bool(proton):
        checker.fail(line, where, "needs exactly one of `stack` or `proton`" + (" (both are set)" if stack else ""))
    outputs_raw = {**(defaults.get("outputs") or {}), **(node.get("outputs") or {})}
    merged = {**DEFAULT_OUTPUTS, **{k: v for k, v in outputs_raw.items()}}
    outputs = OutputNames(
        cluster=merged["cluster"] or DEFAULT_OUTPUTS["cluster"],
        subnets=_as_list(merged["subnets"]),
        security_groups=_as_list(merged["security_groups"]),
        # An explicit null turns the load balancer off.
        target_group=merged["target_group"],
        repository=merged["repository"] or DEFAULT_OUTPUTS["repository"],
        target_group_explicit="target_group" in outputs_raw,
        alarms=outputs_raw.get("alarms"),
        traffic={k: outputs_raw.get(k, output) for k, output in TRAFFIC_OUTPUTS.items()},
        traffic_explicit=frozenset(k for k in TRAFFIC_OUTPUTS if outputs_raw.get(k)),
        scheduler_role=outputs_raw.get("scheduler_role") or DEFAULT_SCHEDULER_ROLE_OUTPUT,
    )
    role_arn = _role_arn(checker, node, where) if node.get("role_arn") else _role_arn(checker, defaults, "environment")
    account = node.get("account") if node.get("account") is not None else defaults.get("account")
    account = str(account) if account is not None else None
    if account is not None and not re.match(r"^\d{12}$", str(account)):
        source = node if node.get("account") is not None else defaults
        checker.fail(_line(source, "account"), f"{where}.account", f"must be a 12-digit AWS account id (quote it: \"012345678901\"), got {account!r}")
    if account and role_arn and role_arn.split(":")[4] != account:
        checker.fail(_line(node, "account") or line, f"{where}.account",
                     f"is {account}, but role_arn {role_arn} is a role of account {role_arn.split(':')[4]}")
    region = node.get("region") or defaults.get("region")
    if region is not None and not re.match(REGION_PATTERN, region):
        checker.fail(_line(node, "region") if node.get("region") else _line(defaults, "region"), f"{where}.region", f"is not an AWS region name (like us-east-1), got {region!r}")
    services: dict[str, ServiceOverride] = {}
    for source_node, source_where in ((defaults, "environment"), (node, where)):
        for service_name, override in (source_node.get("services") or {}).items():
            override = override or {}
            count = override.get("desired_count")
            if count is not None and count < 0:
                checker.fail(_line(override, "desired_count"), f"{source_where}.services.{service_name}.desired_count", f"must be 0 or more, got {count}")
            before = services.get(service_name, ServiceOverride())
            alarms = override.get("alarms")
            services[service_name] = ServiceOverride(
                desired_count=count if count is not None else before.desired_count,
                alarms=_as_list(alarms) if alarms is not None else before.alarms,
            )
    return EnvironmentConfig(
        stack=stack, proton=proton, outputs=outputs, name=name, role_arn=role_arn, account=str(account) if account else None,
        region=region, vars={**(defaults.get("vars") or {}), **(node.get("vars") or {})}, services=services, line=line,
    )


def select_environment(config: Config, name: str | None, *, from_variable: bool = False) -> Config:
    """THE environment resolution: the config with one environment chosen (--env NAME, else DEPLOYER_ENV).

    A config without `environments:` is returned as is (and refuses a name). With `environments:` a name
    is required — never guessed, not even with one environment — and must be one of them. The chosen
    environment's region and vars apply over the top-level ones.
    """
    flag = f"{ENV_VARIABLE}={name}" if from_variable else f"--env {name}"
    if not config.environments:
        if name:
            raise BadInput(f"{flag}: {config.path.name} has no `environments:` (it describes one environment, `environment:`)",
                           hint="drop --env (and DEPLOYER_ENV), or list the environments under `environments:`")
        return config
    names = ", ".join(sorted(config.environments))
    if not name:
        raise BadInput(f"{config.path.name} defines environments ({names}): pass --env NAME (or set {ENV_VARIABLE}); deployer never picks one for you")
    chosen = config.environments.get(name)
    if chosen is None:
        raise BadInput(f"{flag}: no such environment in {config.path.name} (environments: {names})")
    return replace(config, environment=chosen, region=chosen.region or config.region, vars={**config.vars, **chosen.vars})


# EventBridge Scheduler's expressions: cron(min hour day-of-month month day-of-week year), rate(N unit), at(yyyy-mm-ddThh:mm:ss).
_CRON_FIELD = r"[0-9A-Za-z*?/,#LW-]+"
_EXPRESSIONS = (
    (re.compile(r"^cron\(\s*" + r"\s+".join([_CRON_FIELD] * 6) + r"\s*\)$"), None),
    (re.compile(r"^rate\(\s*([1-9][0-9]*)\s+(minute|minutes|hour|hours|day|days)\s*\)$"), None),
    (re.compile(r"^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$"), None),
)
# A schedule's name: `<app>-<name>` must be a valid Scheduler name (1-64 of [0-9a-zA-Z-_.]).
_SCHEDULE_NAME = re.compile(r"^[0-9A-Za-z_.-]+$")


def schedule_expression_error(expression: str) -> str | None:
    """Why `expression` is not an EventBridge Scheduler expression, or None."""
    text = expression.strip()
    if any(pattern.match(text) for pattern, _ in _EXPRESSIONS):
        if text.startswith("cron("):
            fields = text[5:-1].split()
            if fields[2] != "?" and fields[4] != "?":
                return "a cron expression needs `?` in day-of-month or day-of-week (one of them), like cron(0 3 * * ? *)"
        if text.startswith("rate("):
            count, unit = text[5:-1].split()
            if (count == "1") != (not unit.endswith("s")):
                return f"rate({count} {unit}): write `1 {unit.rstrip('s')}` or `N {unit.rstrip('s')}s`"
        return None
    if text.startswith("cron("):
        return "a cron expression has six fields: cron(minutes hours day-of-month month day-of-week year), like cron(0 3 * * ? *)"
    if text.startswith("rate("):
        return "a rate expression is rate(N minutes|hours|days), like rate(1 hour)"
    if text.startswith("at("):
        return "a one-time expression is at(yyyy-mm-ddThh:mm:ss), like at(2027-01-31T03:00:00)"
    return "must be cron(...), rate(...) or at(...), like cron(0 3 * * ? *) or rate(1 hour)"


def _schedules(raw: dict, app: str, services: list[ServiceConfig], checker: _Checker, root: Path, repo: Path) -> list[ScheduleConfig]:
    section = raw.get("schedules") or {}
    result: list[ScheduleConfig] = []
    by_name = {s.name: s for s in services}
    for name, entry in section.items():
        line = _line(section, name)
        where = f"schedules.{name}"
        full = f"{app}-{name}"
        if not isinstance(entry, dict):
            checker.fail(line, where, "must be a mapping (expression:, command:, …), got null")
        if not isinstance(name, str) or not _SCHEDULE_NAME.match(full) or len(full) > 64:
            checker.fail(line, where, f"makes the schedule name {full!r}: 1 to 64 letters, digits, `-`, `_` or `.`")
        expression = entry.get("expression")
        if not expression:
            checker.fail(line, f"{where}.expression", "is required: cron(...), rate(...) or at(...)")
        why = schedule_expression_error(expression)
        if why:
            checker.fail(_line(entry, "expression"), f"{where}.expression", f"{expression!r}: {why}")
        timezone_name = entry.get("timezone")
        if timezone_name:
            import zoneinfo

            try:
                zoneinfo.ZoneInfo(timezone_name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                checker.fail(_line(entry, "timezone"), f"{where}.timezone", f"{timezone_name!r} is not a time zone name (like Europe/Paris or UTC)")
        service_name = entry.get("service") or services[0].name
        if service_name not in by_name:
            checker.fail(_line(entry, "service"), f"{where}.service", f"{service_name!r} is not a service of this file (services: {', '.join(by_name)})")
        command = entry.get("command")
        task_def = entry.get("task_definition")
        task_def_path = None
        if task_def:
            task_def_path = _inside(checker, _line(entry, "task_definition"), f"{where}.task_definition", root, repo, task_def)
            if not task_def_path.is_file():
                checker.fail(_line(entry, "task_definition"), f"{where}.task_definition", f"file not found: {root / task_def}")
        result.append(ScheduleConfig(
            name=full, expression=expression.strip(), command=_as_list(command) if command is not None else None, service=service_name,
            timezone=timezone_name, task_definition=task_def_path,
            cpu=str(entry["cpu"]) if entry.get("cpu") is not None else None,
            memory=str(entry["memory"]) if entry.get("memory") is not None else None,
            enabled=entry.get("enabled") is not False, line=line, key=str(name),
        ))
    return result


def _image_platform(image_raw: dict, checker: _Checker) -> str | None:

    value = image_raw.get("platform")
    if value is None:
        return None
    try:
        return normalize_platform(value, "image.platform")
    except BadInput as exc:
        checker.fail(_line(image_raw, "platform"), "image.platform", exc.message.split(": ", 1)[1])


def _image_cache(image_raw: dict) -> str | None:
    value = image_raw.get("cache")
    return "off" if value is False else value  # the schema allowed registry, inline, off (or YAML's false)


def parse_vars(pairs: list[str]) -> dict[str, str]:
    """`--var k=v` flags; a flag without `=` is bad input."""
    result = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BadInput(f"--var {pair!r}: expected KEY=VALUE")
        result[key] = value
    return result


# Fargate's CPU architectures (runtimePlatform.cpuArchitecture) and the build platform of each.
PLATFORMS = {"X86_64": "linux/amd64", "ARM64": "linux/arm64"}


_PLATFORM_ALIASES = {"linux/amd64": "linux/amd64", "linux/x86_64": "linux/amd64", "linux/arm64": "linux/arm64", "linux/arm64/v8": "linux/arm64", "linux/aarch64": "linux/arm64"}


def normalize_platform(text: str, where: str) -> str:
    """linux/amd64 or linux/arm64 (what Fargate runs); anything else is bad input naming `where`."""
    platform = _PLATFORM_ALIASES.get(str(text).strip().lower())
    if not platform:
        raise BadInput(f"{where}: unknown platform {text!r}; Fargate runs linux/amd64 (X86_64) or linux/arm64 (ARM64)")
    return platform
