"""An ecspresso project (ecspresso.yml + its definition files) as deployer.yaml + Jinja templates.

Pure conversion, no AWS: `deployer init --from-ecspresso` (deployer/commands/init.py) adds the
environment and writes the files. What converts:

- config: region, cluster, service, task_definition / service_definition paths, timeout ("10m0s"),
  plugins (tfstate → `vars:`; cloudformation, ssm, secretsmanager are built in);
- Go template calls in JSON/YAML definitions: {{ must_env `X` }}, {{ env `X` `default` }},
  {{ ssm `name` }}, {{ secretsmanager_arn `name` }}, {{ cfn_output `stack` `key` }}, `| json_escape`;
- Jsonnet's std.native('must_env')('X') (or a `local` alias of it) and friends, the same functions,
  and Go template actions in a .jsonnet file's strings (ecspresso applies them after Jsonnet);
- what has no equivalent (tfstate, tfstatef, cfn_export) becomes a `vars:` entry (its value read
  from a local state file when there is one), with a comment and a warning.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BadInput

# ecspresso function → deployer's template function of the same meaning
_SAME = {"must_env": "must_env", "env": "env", "ssm": "ssm", "secretsmanager_arn": "secretsmanager_arn", "cfn_output": "cfn_output"}
_AS_VARS = ("tfstate", "tfstatef", "cfn_export")
_GO_KEYWORDS = ("if", "range", "with", "define", "template", "block", "end", "else")
_KNOWN_CONFIG = {
    "region", "cluster", "service", "service_definition", "task_definition", "timeout", "plugins", "required_version",
    "ignore", "appspec", "codedeploy", "filter_command", "ecspresso_version",
}


@dataclass
class Converted:
    config: dict  # ecspresso's settings, as read
    templates: dict[str, str]  # file name to write → Jinja template text
    task_definition: str  # the written name of the task definition template
    service_definition: str | None
    vars: dict[str, Any] = field(default_factory=dict)
    var_comments: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    timeout: int | None = None


@dataclass
class _Context:
    """What the conversion of one file needs and collects."""

    shown: str
    tfstate: dict | None  # a local state, when the plugin points at one
    tfstate_source: str | None
    converted: Converted


def convert(path: Path) -> Converted:
    import yaml

    from . import files

    shown = path.name
    repo = files.repo_root_of(path.parent)  # the files the project names stay in its repository (deployer/files.py)
    try:
        config = yaml.safe_load(files.read_text(path, what=f"--from-ecspresso {path}")) or {}
    except yaml.YAMLError as exc:
        raise BadInput(f"--from-ecspresso {path}: not valid YAML: {exc}") from None
    if not isinstance(config, dict):
        raise BadInput(f"{shown}: an ecspresso config is a mapping (region, cluster, service, task_definition, ...)")
    for key in ("service", "task_definition"):
        if not config.get(key):
            raise BadInput(f"{shown}: `{key}` is not set; deployer needs the service and its task definition")
    converted = Converted(config=config, templates={}, task_definition="", service_definition=None)
    unknown = sorted(set(config) - _KNOWN_CONFIG)
    ignored = sorted(k for k in ("ignore", "appspec", "codedeploy", "filter_command") if k in config)
    if unknown or ignored:
        converted.warnings.append(f"{shown}: not converted (deployer has no equivalent): {', '.join(ignored + unknown)}")
    if config.get("timeout") is not None:
        converted.timeout = go_duration(str(config["timeout"]), f"{shown}: timeout")
    state, source = _tfstate(config.get("plugins") or [], path.parent, shown, converted)
    for key, attr in (("task_definition", "task_definition"), ("service_definition", "service_definition")):
        if not config.get(key):
            continue
        source_path = path.parent / str(config[key])
        real = files.confined(str(config[key]), path.parent, repo, what=f"{shown}: {key} {config[key]}")
        text = files.read_text(real, what=f"{shown}: {key} {config[key]}")
        context = _Context(str(config[key]), state, source, converted)
        template = jsonnet_to_jinja(text, context) if source_path.suffix in (".jsonnet", ".libsonnet") else go_to_jinja(text, context)
        name = source_path.name + ".j2"
        converted.templates[name] = template
        setattr(converted, attr, name)
    return converted


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
# Go templates → Jinja


_ACTION = re.compile(r"(\"?)\{\{(-?)(.*?)(-?)\}\}(\"?)", re.S)
_TOKEN = re.compile(r"`[^`]*`|\"(?:[^\"\\]|\\.)*\"|\||[^\s|`\"]+")


def go_to_jinja(text: str, context: _Context) -> str:
    def replace(match: re.Match) -> str:
        open_quote, trim_left, body, trim_right, close_quote = match.groups()
        line = text.count("\n", 0, match.start()) + 1
        # An action that is a whole JSON string and escapes it ("{{ … | json_escape }}") becomes `{{ … | tojson }}`.
        quoted = bool(open_quote and close_quote and "json_escape" in body)
        action = _action(body.strip(), trim_left, trim_right, context, line, quoted=quoted)
        return action if quoted else open_quote + action + close_quote

    return _ACTION.sub(replace, text)


def _action(body: str, trim_left: str, trim_right: str, context: _Context, line: int, *, quoted: bool) -> str:
    where = f"{context.shown}:{line}"
    tokens = _TOKEN.findall(body)
    segments: list[list[str]] = [[]]
    for token in tokens:
        if token == "|":
            segments.append([])
        else:
            segments[-1].append(token)
    head, filters = segments[0], [s for s in segments[1:]]
    if not head:
        raise BadInput(f"{where}: cannot convert the Go template action `{{{{{body}}}}}`")
    if head[0] in _GO_KEYWORDS or head[0].startswith("."):
        raise BadInput(f"{where}: the Go template `{head[0]}` has no automatic conversion; rewrite it in Jinja")
    expression = _call(head[0], [_go_value(t, where) for t in head[1:]], context, where)
    escape = False
    for segment in filters:
        if segment == ["json_escape"]:
            escape = True
        else:
            raise BadInput(f"{where}: cannot convert `| {' '.join(segment)}` in `{{{{{body}}}}}` (deployer converts json_escape)")
    left, right = ("{{-" if trim_left else "{{"), ("-}}" if trim_right else "}}")
    if escape and quoted:
        return f"{left} {expression} | tojson {right}"
    if escape:
        return f"{left} ({expression} | tojson)[1:-1] {right}"
    return f"{left} {expression} {right}"


def _go_value(token: str, where: str) -> Any:
    if token.startswith("`"):
        return token[1:-1]
    if token.startswith('"'):
        return json.loads(token)
    if re.fullmatch(r"-?\d+", token):
        return int(token)
    raise BadInput(f"{where}: cannot convert the argument `{token}` (deployer converts string and number arguments)")


def _call(name: str, args: list, context: _Context, where: str) -> str:
    """The Jinja expression for ecspresso's function `name` called with `args`."""
    if name == "ssm" and len(args) == 2:
        # ecspresso: ssm `name` N picks the Nth value of a StringList
        return f"{_call('ssm', args[:1], context, where)}.split(',')[{int(args[1])}]"
    if name in _SAME:
        return f"{_SAME[name]}({', '.join(_jinja_literal(a) for a in args)})"
    if name in _AS_VARS:
        return f"vars.{_var(name, args, context, where)}"
    raise BadInput(f"{where}: the ecspresso function `{name}` has no deployer equivalent")


def _jinja_literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(value)


def _var(name: str, args: list, context: _Context, where: str) -> str:
    """A `vars:` entry for a function without a deployer equivalent; its value when a local state has it."""
    if name == "tfstatef":
        address = str(args[0]) % tuple(args[1:]) if args else ""
    else:
        address = ".".join(str(a) for a in args)
    key = re.sub(r"\W+", "_", f"{name.rstrip('f')}_{address}").strip("_")
    converted = context.converted
    if key in converted.vars:
        return key
    value = None
    if name != "cfn_export" and context.tfstate is not None:
        value = tfstate_lookup(context.tfstate, address)
    origin = f"{name} `{address}`" + (f" ({context.tfstate_source})" if name != "cfn_export" and context.tfstate_source else "")
    if value is None:
        converted.vars[key] = ""
        converted.var_comments[key] = f"from {origin}: set it (deployer does not read {'Terraform state' if name != 'cfn_export' else 'CloudFormation exports'})"
        converted.warnings.append(f"{where}: {origin} has no deployer equivalent; it is now `vars.{key}` in deployer.yaml, empty: set its value")
    else:
        converted.vars[key] = value
        converted.var_comments[key] = f"from {origin}, as it was at conversion; deployer does not read Terraform state"
        converted.warnings.append(f"{where}: {origin} is now `vars.{key}` in deployer.yaml (value copied from the state; keep it current)")
    return key


# ---------------------------------------------------------------------------------------
# Jsonnet with ecspresso's native functions


_NATIVE_ALIAS = re.compile(r"^[ \t]*local\s+(\w+)\s*=\s*std\.native\(\s*['\"](\w+)['\"]\s*\)\s*;[ \t]*\n?", re.M)
_JSONNET_ARG = r"\s*(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|-?\d+)\s*"


def jsonnet_to_jinja(text: str, context: _Context) -> str:
    # ecspresso evaluates Jsonnet, then the Go template actions left in its strings: both convert.
    text = go_to_jinja(text, context)
    aliases = {alias: native for alias, native in _NATIVE_ALIAS.findall(text)}
    callee = "|".join([r"std\.native\(\s*['\"](?P<native>\w+)['\"]\s*\)"] + [rf"\b(?P<a{n}>{re.escape(a)})" for n, a in enumerate(aliases)])
    call = re.compile(rf"(?:{callee})\((?P<args>(?:{_JSONNET_ARG}(?:,{_JSONNET_ARG})*)?)\)")

    def replace(match: re.Match, offset: int = 0) -> str:
        where = f"{context.shown}:{text.count(chr(10), 0, offset + match.start()) + 1}"
        native = match.group("native") or next(aliases[v] for k, v in match.groupdict().items() if k.startswith("a") and v)
        args = [_jsonnet_value(a.strip()) for a in re.findall(_JSONNET_ARG, match.group("args"))] if match.group("args").strip() else []
        return "{{ " + _call(native, args, context, where) + " | tojson }}"

    # Outside the Jinja actions the Go conversion wrote (an alias such as `env` is also a Jinja function).
    pieces, offset = [], 0
    for n, piece in enumerate(re.split(r"(\{\{.*?\}\})", text, flags=re.S)):
        pieces.append(piece if n % 2 else call.sub(lambda m, at=offset: replace(m, at), piece))
        offset += len(piece)
    text = _NATIVE_ALIAS.sub("", "".join(pieces))  # the aliases last: line numbers above are the file's
    outside = re.sub(r"\{\{.*?\}\}", "", text)  # the calls written above are fine
    leftover = [a for a in aliases if re.search(rf"\b{re.escape(a)}\b", outside)]
    if leftover or "std.native(" in outside:
        raise BadInput(f"{context.shown}: a native function call with arguments other than literals (`{(leftover or ['std.native'])[0]}`) has no automatic conversion")
    return text


def _jsonnet_value(token: str) -> Any:
    if token[0] in "'\"":
        return json.loads('"' + token[1:-1].replace('"', '\\"') + '"') if token[0] == "'" else json.loads(token)
    return int(token)


# ---------------------------------------------------------------------------------------
# The tfstate plugin


def _tfstate(plugins: list, root: Path, shown: str, converted: Converted) -> tuple[dict | None, str | None]:
    for plugin in plugins:
        if not isinstance(plugin, dict) or plugin.get("name") != "tfstate":
            if isinstance(plugin, dict) and plugin.get("name") not in ("cloudformation", "ssm", "secretsmanager"):
                converted.warnings.append(f"{shown}: plugin `{plugin.get('name')}` is not converted")
            continue
        if plugin.get("func_prefix"):
            converted.warnings.append(f"{shown}: tfstate func_prefix `{plugin['func_prefix']}`: only unprefixed tfstate calls are converted")
        settings = plugin.get("config") or {}
        location = str(settings.get("path") or settings.get("url") or "")
        local = location.removeprefix("file://")
        if location and "://" not in local and (root / local).is_file():
            from . import files

            state_path = files.confined(local, root, files.repo_root_of(root), what=f"{shown}: tfstate {location}")
            try:
                return json.loads(files.read_text(state_path, what=f"{shown}: tfstate {location}", max_bytes=16 * files.MAX_TEXT_BYTES)), location
            except ValueError:
                converted.warnings.append(f"{shown}: tfstate {location} is not JSON; its values are left empty")
        return None, location or None
    return None, None


def tfstate_lookup(state: dict, address: str) -> Any:
    """`aws_iam_role.task.arn`, `data.aws_vpc.main.id`, `module.app.aws_lb.x.arn`, `aws_subnet.a[0].id`,
    `aws_x.y["key"].attr` in a Terraform (v4) state; None when it is not there."""
    parts = re.findall(r"[^.\[\]]+|\[[^\]]*\]", address)
    modules = []
    while len(parts) >= 2 and parts[0] == "module":
        modules.append(parts[1])
        parts = parts[2:]
    mode = "managed"
    if parts and parts[0] == "data":
        mode, parts = "data", parts[1:]
    if len(parts) < 3:
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
                value: Any = instance.get("attributes", {})
                for part in rest:
                    key: Any = part[1:-1].strip("\"'") if part.startswith("[") else part
                    if isinstance(value, list):
                        key = int(key)
                        value = value[key] if key < len(value) else None
                    elif isinstance(value, dict):
                        value = value.get(key)
                    else:
                        return None
                return value
    return None
