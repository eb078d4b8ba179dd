"""An ecspresso project (its config + definition files) as deployer.yaml + Jinja templates, read the
way ecspresso reads it (kayac/ecspresso config.go, plugin.go, ecspresso.go, deploy.go, create.go).

Pure conversion: what needs AWS (a Terraform state in S3, a CloudFormation export) comes in as
`readers`. `deployer init --from-ecspresso` (deployer/onboard/importing.py) adds the environment,
checks that the result renders, and writes the files.

- The config is a Go template rendered with go-config's functions (env, must_env, json_escape)
  before its YAML (or JSON) is read, as ecspresso does: its values are the environment's at
  conversion. A `region:` read from AWS_REGION / AWS_DEFAULT_REGION is left out of deployer.yaml
  (deployer reads the same variable when it runs).
- Plugins: tfstate (`path` / `url`, `func_prefix`), cloudformation (cfn_output, cfn_export), ssm,
  secretsmanager (secretsmanager_arn), each with its `func_prefix`; ssm and secretsmanager are
  always there unprefixed (ecspresso's default plugins).
- In definitions: must_env / env / ssm / secretsmanager_arn / cfn_output become deployer's functions
  of the same meaning, evaluated at each deploy as ecspresso does; tfstate / tfstatef / cfn_export
  (which deployer does not read when it deploys) become `vars:` entries filled at conversion from
  the state (a local file or s3://) or the export, and left to fill when they cannot be read.
- ecspresso decodes definitions into the AWS SDK's types, so what those types do not carry is not
  sent: the converted definitions leave it out (describe-services leftovers, read-only
  task-definition fields, nulls, empty enum strings, empty lists in task definitions) and keep
  only what ecspresso passes to CreateService / UpdateService.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..manifest import files
from . import gotemplate
from ..core.errors import BadInput

_KNOWN_CONFIG = {
    "region", "cluster", "service", "service_definition", "task_definition", "timeout", "plugins", "required_version",
    "appspec", "codedeploy", "filter_command",
}
_NOT_CONVERTED = ("appspec", "codedeploy", "filter_command")
# The functions each plugin gives (kayac/ecspresso plugin.go; fujiwara/tfstate-lookup, cfn-lookup).
_PLUGIN_FUNCTIONS = {
    "tfstate": ("tfstate", "tfstatef"),
    "cloudformation": ("cfn_output", "cfn_export"),
    "ssm": ("ssm",),
    "secretsmanager": ("secretsmanager_arn",),
}
_DEFAULT_PLUGINS = ("ssm", "secretsmanager")
_CONFIG_FUNCTIONS = ("env", "must_env", "json_escape")

# What ecspresso passes from a service definition to CreateService / UpdateService (create.go,
# deploy.go svToUpdateServiceInput); the rest of the definition is never sent.
SERVICE_SENT = (
    "capacityProviderStrategy", "deploymentConfiguration", "deploymentController", "desiredCount", "enableECSManagedTags",
    "enableExecuteCommand", "healthCheckGracePeriodSeconds", "launchType", "loadBalancers", "networkConfiguration",
    "placementConstraints", "placementStrategy", "platformVersion", "propagateTags", "schedulingStrategy",
    "serviceConnectConfiguration", "serviceRegistries", "tags", "volumeConfigurations",
)


@dataclass
class Readers:
    """What needs AWS, given by the caller: each returns None when it cannot read."""

    tfstate: Callable[[str], dict | None] | None = None  # a state URL (s3://…) → the state
    cfn_export: Callable[[str], str | None] | None = None


@dataclass
class Converted:
    config: dict  # ecspresso's settings, as ecspresso reads them (rendered)
    templates: dict[str, str]  # file name to write (relative to the project) → Jinja template text
    task_definition: str  # the written name of the task definition template
    service_definition: str | None
    region_from_env: str | None = None  # the variable ecspresso's `region:` reads, when it does
    vars: dict[str, Any] = field(default_factory=dict)
    var_comments: dict[str, str] = field(default_factory=dict)
    to_fill: dict[str, str] = field(default_factory=dict)  # vars that could not be read: key → where from
    warnings: list[str] = field(default_factory=list)
    timeout: int | None = None
    env_read: list[str] = field(default_factory=list)  # environment variables the definitions read (deploy time)


@dataclass
class _Plugin:
    kind: str  # tfstate / cloudformation / ssm / secretsmanager
    prefix: str
    location: str | None = None  # tfstate: where the state is
    state: dict | None = None
    unreadable: str | None = None  # why the state could not be read


@dataclass
class _Context:
    shown: str
    functions: dict[str, tuple[str, _Plugin | None]]  # name as called → (ecspresso function, its plugin)
    converted: Converted
    readers: Readers


def convert(path: Path, *, environ: dict[str, str] | None = None, readers: Readers | None = None) -> Converted:
    environ = dict(os.environ) if environ is None else environ
    readers = readers or Readers()
    shown = path.name
    config, region_env = load_config(path, environ)
    for key in ("service", "task_definition"):
        if not config.get(key):
            raise BadInput(f"{shown}: `{key}` is not set; deployer needs the service and its task definition")
    converted = Converted(config=config, templates={}, task_definition="", service_definition=None, region_from_env=region_env)
    unknown = sorted(set(config) - _KNOWN_CONFIG)
    ignored = [k for k in _NOT_CONVERTED if k in config]
    if unknown or ignored:
        converted.warnings.append(f"{shown}: not converted (deployer has no equivalent): {', '.join(ignored + unknown)}")
    if config.get("timeout") is not None:
        converted.timeout = go_duration(str(config["timeout"]), f"{shown}: timeout")
    functions = _functions(config.get("plugins"), path.parent, shown, readers)
    for key in ("task_definition", "service_definition"):
        if not config.get(key):
            continue
        relative = str(config[key])
        source_path = Path(relative) if os.path.isabs(relative) else path.parent / relative
        # The files the project names stay in its repository (deployer/manifest/files.py): never read, never quoted otherwise.
        real = files.confined(relative, path.parent, files.repo_root_of(path.parent), what=f"{shown}: {key} {relative}")
        text = files.read_text(real, what=f"{shown}: {key} {relative}")
        context = _Context(relative, functions, converted, readers)
        kind = "task" if key == "task_definition" else "service"
        if source_path.suffix in (".jsonnet", ".libsonnet"):
            template = jsonnet_to_jinja(text, context, kind)
        else:
            template = json_to_jinja(text, context, kind)
        try:
            name = str(source_path.resolve().relative_to(path.parent.resolve())) + ".j2"
        except ValueError:
            name = source_path.name + ".j2"
        converted.templates[name] = template
        setattr(converted, key, name)
    return converted


def load_config(path: Path, environ: dict[str, str]) -> tuple[dict, str | None]:
    """ecspresso's config as ecspresso reads it: rendered as a Go template, then YAML (or Jsonnet / JSON).
    Also the variable `region:` comes from (AWS_REGION / AWS_DEFAULT_REGION), when it does."""
    import yaml

    shown = path.name
    text = files.read_text(path, what=f"--from-ecspresso {path}")
    if path.suffix == ".jsonnet":
        try:
            import _jsonnet

            def native_env(name, default):
                return environ.get(name) or default

            def native_must_env(name):
                if name not in environ:
                    raise RuntimeError(f"must_env: environment variable {name} is not defined")
                return environ[name]

            natives = {"env": (("name", "default"), native_env), "must_env": (("name",), native_must_env)}
            text = _jsonnet.evaluate_snippet(str(path), text, native_callbacks=natives)
        except RuntimeError as exc:
            raise BadInput(f"{shown}: Jsonnet error: {str(exc).strip().splitlines()[0]}") from None
    elif path.suffix not in (".yml", ".yaml", ".json"):
        raise BadInput(f"{shown}: ecspresso reads .yml, .yaml, .json and .jsonnet configs")
    try:
        rendered, reads = gotemplate.render_config(text, environ)
    except gotemplate.GoTemplateError as exc:
        hint = None
        if "must_env" in exc.message:
            hint = "ecspresso reads it each time it loads its config: set it as you do for `ecspresso deploy`, and run init again"
        elif "not defined" in exc.message:
            hint = "ecspresso renders its config with env, must_env and json_escape only (plugin functions are for the definitions)"
        raise BadInput(f"{shown}:{exc.line}: {exc.message}", hint=hint) from None
    try:
        config = yaml.safe_load(rendered)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{shown}:{mark.line + 1}" if mark else shown
        raise BadInput(f"{where}: not valid YAML after rendering its Go template: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(config, dict):
        raise BadInput(f"{shown}: an ecspresso config is a mapping (region, cluster, service, task_definition, ...)")
    region_env = None
    region_lines = [n + 1 for n, line in enumerate(text.splitlines()) if re.match(r"""\s*["']?region["']?\s*:""", line)]
    for name, line in reads:
        if line in region_lines and name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            region_env = name
    return config, region_env


def go_duration(text: str, where: str) -> int:
    """Go's "10m0s" / "1h" / "90s" (or a plain number of seconds) in seconds."""
    if text.isdigit():
        return int(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise BadInput(f"{where}: `{text}` is not a Go duration (like 10m0s)")
    seconds = sum(float(n) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[u] for n, u in parts)
    return max(1, round(seconds))


# ---------------------------------------------------------------------------------------
# Plugins → the functions a definition may call


def _functions(plugins: Any, root: Path, shown: str, readers: Readers) -> dict[str, tuple[str, _Plugin | None]]:
    table: dict[str, tuple[str, _Plugin | None]] = {name: (name, None) for name in _CONFIG_FUNCTIONS}
    if plugins is not None and not isinstance(plugins, list):
        raise BadInput(f"{shown}: `plugins` is a list of {{name, config, func_prefix}}")
    configured = [p for p in (plugins or [])]
    for n, plugin in enumerate([{"name": d} for d in _DEFAULT_PLUGINS] + configured):
        if not isinstance(plugin, dict) or not isinstance(plugin.get("name"), str):
            raise BadInput(f"{shown}: plugins[{n - len(_DEFAULT_PLUGINS)}] needs a `name`")
        kind = plugin["name"].lower()
        if kind not in _PLUGIN_FUNCTIONS:
            raise BadInput(f"{shown}: plugin `{plugin['name']}` is not available (ecspresso has tfstate, cloudformation, ssm, secretsmanager)")
        prefix = str(plugin.get("func_prefix") or "")
        entry = _Plugin(kind, prefix)
        if kind == "tfstate":
            _load_state(entry, plugin.get("config") or {}, root, shown, readers)
        for function in _PLUGIN_FUNCTIONS[kind]:
            name = prefix + function
            if name in table and table[name][1] is not None and n >= len(_DEFAULT_PLUGINS):
                if table[name][1].kind in _DEFAULT_PLUGINS and table[name][1].prefix == "" and prefix == "":
                    continue  # ecspresso: the default plugin's function is kept
                raise BadInput(f"{shown}: template function {name} already exists. set func_prefix to {plugin['name']} plugin (as ecspresso says)")
            table[name] = (function, entry)
    return table


def _load_state(plugin: _Plugin, settings: dict, root: Path, shown: str, readers: Readers) -> None:
    if settings.get("path") is not None:
        location = str(settings["path"])
        local: str | None = location if os.path.isabs(location) else str(root / location)
    elif settings.get("url") is not None:
        location = str(settings["url"])
        local = location.removeprefix("file://") if location.startswith("file://") or "://" not in location else None
        if local is not None and not os.path.isabs(local):
            local = str(root / local)
    else:
        raise BadInput(f"{shown}: the tfstate plugin needs `config.path` or `config.url` (as ecspresso does)")
    plugin.location = location
    if local is not None:
        try:
            state_path = files.confined(local, root, files.repo_root_of(root), what=f"{shown}: tfstate {location}")
            plugin.state = json.loads(files.read_text(state_path, what=f"{shown}: tfstate {location}", max_bytes=16 * files.MAX_TEXT_BYTES))
        except BadInput as exc:
            if "outside the app repository" in exc.message or "NUL" in exc.message:
                raise
            plugin.unreadable = exc.message
        except ValueError:
            plugin.unreadable = f"{location} is not JSON"
        return
    if location.startswith("s3://") and readers.tfstate:
        plugin.state = readers.tfstate(location)
        if plugin.state is None:
            plugin.unreadable = f"{location} could not be read"
        return
    plugin.unreadable = f"deployer reads local and s3:// states; {location.split('://')[0]}:// is not read"


# ---------------------------------------------------------------------------------------
# A Go template action → a Jinja expression


def _expression(action: gotemplate.Action, context: _Context, *, unquoted: bool) -> tuple[str, bool]:
    """The Jinja expression, and whether a json_escape ends the pipeline."""
    where = f"{context.shown}:{action.line}"
    expression: str | None = None
    escape = False
    for n, command in enumerate(action.commands):
        if escape:
            raise BadInput(f"{where}: `{action.source}`: deployer converts json_escape at the end of a pipeline only")
        args = list(command.args)
        if not command.name:
            expression = _literal(args[0])
            continue
        if command.name not in context.functions:
            raise BadInput(
                f"{where}: `{action.source}`: function \"{command.name}\" not defined (ecspresso would refuse it too)",
                hint="the functions are env, must_env, json_escape and those of the plugins in the config (with their func_prefix)",
            )
        function, plugin = context.functions[command.name]
        if function == "json_escape":
            if n == 0:
                expression = _literal(args[0]) if len(args) == 1 else None
                if expression is None:
                    raise BadInput(f"{where}: `{action.source}`: json_escape takes one value")
            escape = True
            continue
        if n:
            args.append(_Piped(expression))
        expression = _call(function, plugin, args, context, where, command.name, unquoted=unquoted)
    assert expression is not None
    return expression, escape


class _Piped:
    def __init__(self, expression: str | None):
        self.expression = expression


def _literal(value: Any) -> str:
    if isinstance(value, _Piped):
        return f"({value.expression})"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return json.dumps(value)


def _call(function: str, plugin: _Plugin | None, args: list, context: _Context, where: str, called: str, *, unquoted: bool) -> str:
    def need(count: range) -> None:
        if len(args) not in count:
            raise BadInput(f"{where}: {called} takes {count.start}{'' if len(count) == 1 else f' to {count.stop - 1}'} arguments, got {len(args)}")

    if function == "must_env":
        need(range(1, 2))
        if isinstance(args[0], str):
            context.converted.env_read.append(args[0])
        return f"must_env({_literal(args[0])})"
    if function == "env":
        need(range(1, 100))
        # go-config: the first variable set and not empty, else the last argument itself
        names = args[:-1] if len(args) > 1 else args
        for name in names:
            if isinstance(name, str):
                context.converted.env_read.append(name)
        return "(" + " or ".join([f"env({_literal(a)})" for a in names] + [_literal(args[-1])]) + ")"
    if function == "ssm":
        need(range(1, 3))
        if len(args) == 2:  # ssm `name` N: the Nth value of a StringList
            return f"ssm({_literal(args[0])}).split(',')[{_literal(args[1])}]"
        return f"ssm({_literal(args[0])})"
    if function in ("secretsmanager_arn",):
        need(range(1, 2))
        return f"secretsmanager_arn({_literal(args[0])})"
    if function == "cfn_output":
        need(range(2, 3))
        return f"cfn_output({_literal(args[0])}, {_literal(args[1])})"
    if any(isinstance(a, _Piped) for a in args):
        raise BadInput(f"{where}: {called} with a piped argument has no automatic conversion")
    if function in ("tfstate", "tfstatef", "cfn_export"):
        key = _var(function, plugin, args, context, where, called)
        value = context.converted.vars.get(key)
        if unquoted and not isinstance(value, str):
            return f"vars.{key} | tojson"
        return f"vars.{key}"
    raise BadInput(f"{where}: the ecspresso function `{called}` has no deployer equivalent")


def _var(function: str, plugin: _Plugin | None, args: list, context: _Context, where: str, called: str) -> str:
    """A `vars:` entry for a value deployer does not read at deploy time; filled now when it can be read."""
    converted = context.converted
    if function == "tfstatef":
        if not args:
            raise BadInput(f"{where}: {called} needs a format")
        try:
            address = _sprintf(str(args[0]), args[1:])
        except (IndexError, ValueError):
            raise BadInput(f"{where}: {called}: the format `{args[0]}` does not fit its {len(args) - 1} arguments") from None
    else:
        if len(args) != 1:
            raise BadInput(f"{where}: {called} takes one argument, got {len(args)}")
        address = str(args[0])
    base = "cfn_export" if function == "cfn_export" else "tfstate"
    prefix = plugin.prefix if plugin else ""
    key = re.sub(r"\W+", "_", f"{prefix}{base}_{address}").strip("_")
    if key in converted.vars or key in converted.to_fill:
        return key
    value: Any = None
    if function == "cfn_export":
        origin = f"cfn_export `{address}`"
        reason = "the export could not be read"
        if context.readers.cfn_export:
            value = context.readers.cfn_export(address)
    else:
        assert plugin is not None
        origin = f"{called} `{address}` ({plugin.location})"
        reason = plugin.unreadable or "the state has no such value"
        if plugin.state is not None:
            value = tfstate_lookup(plugin.state, address.replace("'", '"'))
    if value is None:
        converted.to_fill[key] = f"from {origin}: {reason}"
        converted.warnings.append(f"{where}: {origin} is now `vars.{key}` in deployer.yaml, left to fill ({reason})")
    else:
        converted.vars[key] = value
        reads = "CloudFormation exports" if function == "cfn_export" else "Terraform state"
        converted.var_comments[key] = f"from {origin}, as it was at conversion; deployer does not read {reads} when it deploys"
        converted.warnings.append(f"{where}: {origin} is now `vars.{key}` in deployer.yaml (value copied at conversion; keep it current)")
    return key


def _sprintf(format_: str, args: list) -> str:
    """Go's fmt.Sprintf for the verbs tfstatef addresses use: %s %d %v %q %%."""
    values = iter(args)

    def verb(match: re.Match) -> str:
        if match.group(1) == "%":
            return "%"
        value = next(values)
        return json.dumps(str(value)) if match.group(1) == "q" else str(value)

    try:
        return re.sub(r"%([sdvq%])", verb, format_)
    except StopIteration:
        raise IndexError from None


# ---------------------------------------------------------------------------------------
# JSON definitions: the Go template actions kept aside, the JSON cleaned as ecspresso sends it


def json_to_jinja(text: str, context: _Context, kind: str) -> str:
    try:
        parts = gotemplate.split(text)
    except gotemplate.GoTemplateError as exc:
        raise BadInput(f"{context.shown}:{exc.line}: {exc.message}") from None
    skeleton: list[str] = []
    actions: list[tuple[gotemplate.Action, bool]] = []  # (action, inside a JSON string)
    in_string = escaped = False
    for part in parts:
        if isinstance(part, str):
            for char in part:
                if escaped:
                    escaped = False
                elif char == "\\" and in_string:
                    escaped = True
                elif char == '"':
                    in_string = not in_string
            skeleton.append(part)
        else:
            index = len(actions)
            actions.append((part, in_string))
            skeleton.append(f"@@GO{index}@@" if in_string else f'"@@GORAW{index}@@"')
    source = "".join(skeleton)
    try:
        document = json.loads(source)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{context.shown}:{exc.lineno}: not JSON once its Go template actions are set aside: {exc.msg}") from None
    dropped: list[str] = []
    document = clean_task_definition(document, dropped) if kind == "task" else clean_service_definition(document, dropped)
    if dropped:
        context.converted.warnings.append(f"{context.shown}: left out, as ecspresso does not send them to ECS: {', '.join(dropped)}")
    dumped = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    # Literal text Jinja would read as its own syntax
    dumped = dumped.replace("{%", "{{ '{%' }}").replace("{#", "{{ '{#' }}")

    def whole(match: re.Match) -> str:
        action, _ = actions[int(match.group(1))]
        expression, escape = _expression(action, context, unquoted=False)
        return f"{{{{ {expression} | tojson }}}}" if escape else f'"{{{{ {expression} }}}}"'

    def raw(match: re.Match) -> str:
        action, _ = actions[int(match.group(1))]
        expression, escape = _expression(action, context, unquoted=True)
        return f"{{{{ ({expression} | tojson)[1:-1] }}}}" if escape else f"{{{{ {expression} }}}}"

    def inline(match: re.Match) -> str:
        action, _ = actions[int(match.group(1))]
        expression, escape = _expression(action, context, unquoted=False)
        return f"{{{{ ({expression} | tojson)[1:-1] }}}}" if escape else f"{{{{ {expression} }}}}"

    dumped = re.sub(r'"@@GORAW(\d+)@@"', raw, dumped)
    dumped = re.sub(r'"@@GO(\d+)@@"', whole, dumped)
    # Actions in what was left out are gone with it (ecspresso renders them, and sends nothing).
    return re.sub(r"@@GO(\d+)@@", inline, dumped)


# ---------------------------------------------------------------------------------------
# What ecspresso sends, from what a definition says


def _ecs_shape(operation: str):
    from ..aws.model import input_shape

    return input_shape("ecs", operation)


def clean_task_definition(document: Any, dropped: list[str]) -> Any:
    """ecspresso (LoadTaskDefinition): a `taskDefinition` wrapper unwrapped; nulls and empty lists
    dropped at every level (walkMap); decoded into RegisterTaskDefinitionInput, so what that type
    does not have is not sent, nor is an empty enum string (the SDK leaves "" out)."""
    if not isinstance(document, dict):
        return document
    if isinstance(document.get("taskDefinition"), dict):
        dropped.extend(sorted(k for k in document if k != "taskDefinition"))
        document = document["taskDefinition"]
    return _walk(document, _ecs_shape("RegisterTaskDefinition"), "", dropped, drop_empty_lists=True)


def clean_service_definition(document: Any, dropped: list[str]) -> Any:
    """ecspresso (LoadServiceDefinition, createService, svToUpdateServiceInput): only the CreateService /
    UpdateService members it passes; serviceName and taskDefinition come from the config and the
    registered revision. Nested nulls and empty enum strings are not sent; alarms without
    alarmNames are left out (the SDK refuses them). A top-level null stays: deployer reads it as
    "not sent" as well."""
    if not isinstance(document, dict):
        return document
    shape = _ecs_shape("CreateService")
    kept: dict = {}
    for key, value in document.items():
        canonical = next((k for k in SERVICE_SENT if k.lower() == str(key).lower()), None)
        if canonical is None:
            dropped.append(str(key))
            continue
        if value is None:
            kept[canonical] = None
            continue
        member = shape.members[canonical]
        cleaned = _walk(value, member, canonical, dropped, drop_empty_lists=False)
        if cleaned is _DROP:
            dropped.append(canonical)
            continue
        kept[canonical] = cleaned
    alarms = (kept.get("deploymentConfiguration") or {}).get("alarms") if isinstance(kept.get("deploymentConfiguration"), dict) else None
    if isinstance(alarms, dict) and not alarms.get("alarmNames"):
        del kept["deploymentConfiguration"]["alarms"]
        dropped.append("deploymentConfiguration.alarms (no alarmNames)")
    if kept.get("schedulingStrategy") == "DAEMON" and "desiredCount" in kept:
        del kept["desiredCount"]  # calcDesiredCount: none for a daemon
        dropped.append("desiredCount (DAEMON)")
    return kept


_DROP = object()


def _walk(value: Any, shape, path: str, dropped: list[str], *, drop_empty_lists: bool) -> Any:
    if value is None:
        return _DROP
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        out = {}
        lower = {name.lower(): name for name in shape.members}
        for key, item in value.items():
            member = shape.members.get(key) or shape.members.get(lower.get(str(key).lower(), ""))
            name = key if key in shape.members else lower.get(str(key).lower())
            where = f"{path}.{key}" if path else str(key)
            if member is None:
                dropped.append(where)
                continue
            cleaned = _walk(item, member, where, dropped, drop_empty_lists=drop_empty_lists)
            if cleaned is _DROP:
                dropped.append(where)
                continue
            out[name] = cleaned
        return out
    if kind == "list" and isinstance(value, list):
        if not value and drop_empty_lists:
            return _DROP
        items = [_walk(v, shape.member, f"{path}[{n}]", dropped, drop_empty_lists=drop_empty_lists) for n, v in enumerate(value)]
        return [i for i in items if i is not _DROP]
    if kind == "map" and isinstance(value, dict):
        out = {}
        for key, item in value.items():
            cleaned = _walk(item, shape.value, f"{path}.{key}", dropped, drop_empty_lists=drop_empty_lists)
            if cleaned is not _DROP:
                out[key] = cleaned
        return out
    if kind == "string" and value == "" and getattr(shape, "enum", None):
        return _DROP  # the SDK does not send an empty enum
    return value


# ---------------------------------------------------------------------------------------
# Jsonnet with ecspresso's native functions


_NATIVE_ALIAS = re.compile(r"^[ \t]*local\s+(\w+)\s*=\s*std\.native\(\s*['\"](\w+)['\"]\s*\)\s*;[ \t]*\n?", re.M)
_JSONNET_ARG = r"\s*(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|-?\d+)\s*"


def jsonnet_to_jinja(text: str, context: _Context, kind: str = "task") -> str:
    # ecspresso evaluates Jsonnet, then the Go template actions left in its strings: both convert.
    text = _go_in_jsonnet(text, context)
    aliases = {alias: native for alias, native in _NATIVE_ALIAS.findall(text)}
    callee = "|".join([r"std\.native\(\s*['\"](?P<native>\w+)['\"]\s*\)"] + [rf"\b(?P<a{n}>{re.escape(a)})" for n, a in enumerate(aliases)])
    call = re.compile(rf"(?:{callee})\((?P<args>(?:{_JSONNET_ARG}(?:,{_JSONNET_ARG})*)?)\)")

    def replace(match: re.Match, offset: int = 0) -> str:
        where = f"{context.shown}:{text.count(chr(10), 0, offset + match.start()) + 1}"
        native = match.group("native") or next(aliases[v] for k, v in match.groupdict().items() if k.startswith("a") and v)
        args = [_jsonnet_value(a.strip()) for a in re.findall(_JSONNET_ARG, match.group("args"))] if match.group("args").strip() else []
        if native not in context.functions:
            raise BadInput(f"{where}: std.native('{native}') is not a function of this project (ecspresso would refuse it too)")
        function, plugin = context.functions[native]
        if function == "env" and len(args) == 2:
            # ecspresso's native env(name, default): the variable when set and not empty, else the default
            context.converted.env_read.append(str(args[0]))
            return "{{ (env(" + _literal(args[0]) + ") or " + _literal(args[1]) + ") | tojson }}"
        return "{{ " + _call(function, plugin, args, context, where, native, unquoted=False) + " | tojson }}"

    # Outside the Jinja actions written above (an alias such as `env` is also a Jinja function).
    pieces, offset = [], 0
    for n, piece in enumerate(re.split(r"(\{\{.*?\}\})", text, flags=re.S)):
        pieces.append(piece if n % 2 else call.sub(lambda m, at=offset: replace(m, at), piece))
        offset += len(piece)
    text = _NATIVE_ALIAS.sub("", "".join(pieces))  # the aliases last: line numbers above are the file's
    outside = re.sub(r"\{\{.*?\}\}", "", text)
    leftover = [a for a in aliases if re.search(rf"\b{re.escape(a)}\b", outside)]
    if leftover or "std.native(" in outside:
        raise BadInput(f"{context.shown}: a native function call with arguments other than literals (`{(leftover or ['std.native'])[0]}`) has no automatic conversion")
    return _jsonnet_cleaned(text, kind)


def _go_in_jsonnet(text: str, context: _Context) -> str:
    try:
        parts = gotemplate.split(text)
    except gotemplate.GoTemplateError as exc:
        raise BadInput(f"{context.shown}:{exc.line}: {exc.message}") from None
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part.replace("{%", "{{ '{%' }}").replace("{#", "{{ '{#' }}"))  # literal text Jinja would read
            continue
        expression, escape = _expression(part, context, unquoted=False)
        out.append(f"{{{{ ({expression} | tojson)[1:-1] }}}}" if escape else f"{{{{ {expression} }}}}")
    return "".join(out)


def _jsonnet_value(token: str) -> Any:
    if token[0] in "'\"":
        return json.loads('"' + token[1:-1].replace('"', '\\"') + '"') if token[0] == "'" else json.loads(token)
    return int(token)


def _jsonnet_cleaned(text: str, kind: str) -> str:
    """The Jsonnet document passed through what ecspresso leaves out (see clean_*_definition)."""
    enums = sorted(_enum_members())
    if kind == "task":
        keep = sorted(_ecs_shape("RegisterTaskDefinition").members)
        body = (
            "local ecspresso_td(d) = if std.isObject(d) && std.objectHas(d, 'taskDefinition') && std.isObject(d.taskDefinition) then d.taskDefinition else d;\n"
            f"ecspresso_sent(ecspresso_td((\n{text}\n)), {json.dumps(keep)}, true)\n"
        )
    else:
        body = f"ecspresso_service(ecspresso_sent((\n{text}\n), {json.dumps(list(SERVICE_SENT))}, false))\n"
    return (
        "// Converted by `deployer init --from-ecspresso`: the definition below, less what ecspresso does not send to ECS\n"
        "// (nulls, empty enum strings, fields its SDK types do not have).\n"
        f"local ecspresso_enums = {json.dumps(enums)};\n"
        "local ecspresso_clean(v, lists) =\n"
        "  if std.isObject(v) then { [k]: ecspresso_clean(v[k], lists) for k in std.objectFields(v)\n"
        "    if v[k] != null && !(v[k] == '' && std.member(ecspresso_enums, k)) && !(lists && std.isArray(v[k]) && std.length(v[k]) == 0) }\n"
        "  else if std.isArray(v) then [ecspresso_clean(x, lists) for x in v if x != null]\n"
        "  else v;\n"
        "local ecspresso_sent(d, keep, lists) = { [k]: if d[k] == null then null else ecspresso_clean(d[k], lists) for k in std.objectFields(d)\n"
        "  if std.member(keep, k) && !(d[k] == '' && std.member(ecspresso_enums, k)) && !(lists && d[k] == null) };\n"
        "local ecspresso_service(d) = d + (if std.objectHas(d, 'deploymentConfiguration') && std.isObject(d.deploymentConfiguration)\n"
        "  && std.objectHas(d.deploymentConfiguration, 'alarms') && std.isObject(d.deploymentConfiguration.alarms)\n"
        "  && std.length(std.get(d.deploymentConfiguration.alarms, 'alarmNames', [])) == 0\n"
        "  then { deploymentConfiguration: { [k]: d.deploymentConfiguration[k] for k in std.objectFields(d.deploymentConfiguration) if k != 'alarms' } } else {});\n"
        + body
    )


def _enum_members() -> set[str]:
    """Member names whose value is an enum string, in the ECS shapes of the two definitions."""
    names: set[str] = set()
    seen: set[str] = set()

    def visit(shape) -> None:
        if shape.name in seen:
            return
        seen.add(shape.name)
        if shape.type_name == "structure":
            for name, member in shape.members.items():
                if member.type_name == "string" and getattr(member, "enum", None):
                    names.add(name)
                visit(member)
        elif shape.type_name == "list":
            visit(shape.member)
        elif shape.type_name == "map":
            visit(shape.value)

    visit(_ecs_shape("RegisterTaskDefinition"))
    visit(_ecs_shape("CreateService"))
    return names


# ---------------------------------------------------------------------------------------
# Terraform state (fujiwara/tfstate-lookup addresses)


def tfstate_lookup(state: dict, address: str) -> Any:
    """`aws_iam_role.task.arn`, `data.aws_vpc.main.id`, `module.app.aws_lb.x.arn`, `aws_subnet.a[0].id`,
    `aws_x.y["key"].attr`, `output.name` in a Terraform (v4) state; None when it is not there."""
    parts = re.findall(r"[^.\[\]]+|\[[^\]]*\]", address)
    if len(parts) >= 2 and parts[0] == "output":
        output = (state.get("outputs") or {}).get(parts[1])
        if not isinstance(output, dict):
            return None
        return _dig(output.get("value"), parts[2:])
    modules = []
    while len(parts) >= 2 and parts[0] == "module":
        modules.append(parts[1])
        parts = parts[2:]
    mode = "managed"
    if parts and parts[0] == "data":
        mode, parts = "data", parts[1:]
    if len(parts) < 3 and not (len(parts) == 2 or (len(parts) == 3 and parts[2].startswith("["))):
        return None
    if len(parts) < 2:
        return None
    rtype, name, rest = parts[0], parts[1], parts[2:]
    index = None
    if rest and rest[0].startswith("["):
        raw = rest[0][1:-1]
        index = int(raw) if raw.isdigit() else raw.strip("\"'")
        rest = rest[1:]
    module = "".join(f"module.{m}." for m in modules).rstrip(".")
    for resource in state.get("resources", []):
        if resource.get("type") != rtype or resource.get("name") != name or resource.get("mode", "managed") != mode or resource.get("module", "") != module:
            continue
        for instance in resource.get("instances", []):
            if instance.get("index_key") == index or (index is None and "index_key" not in instance):
                if not rest:
                    return None
                return _dig(instance.get("attributes", {}), rest)
    return None


def _dig(value: Any, rest: list[str]) -> Any:
    for part in rest:
        key: Any = part[1:-1].strip("\"'") if part.startswith("[") else part
        if isinstance(value, list):
            if not str(key).isdigit():
                return None
            key = int(key)
            value = value[key] if key < len(value) else None
        elif isinstance(value, dict):
            value = value.get(key)
        else:
            return None
    return value
