"""Go text/template, the part ecspresso projects use: actions `{{ fn arg ... | fn2 }}` with string and
number literals, `{{-`/`-}}` trimming, `{{/* comments */}}`.

Two uses: `split` cuts a text into literal text and parsed actions (the converter turns each action
into Jinja), and `render` evaluates a text with given functions (ecspresso's config file, which
ecspresso renders with env / must_env / json_escape before it reads the YAML). Control structures
(if/range/with/define/template/block), variables (`.`, `$x`) and parentheses are not converted:
`GoTemplateError` names the line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable

KEYWORDS = ("if", "else", "end", "range", "with", "define", "template", "block", "break", "continue", "nil")


class GoTemplateError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class Command:
    name: str  # the function ("" for a constant: args[0])
    args: list  # str / int / float literals


@dataclass
class Action:
    commands: list[Command]  # a pipeline: the value of each command is the last argument of the next
    line: int
    start: int
    end: int
    source: str  # the whole `{{ ... }}`

    @property
    def functions(self) -> list[str]:
        return [c.name for c in self.commands]


_DELIM = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN = re.compile(r"\s*(`[^`]*`|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\]|\\.)'|\||\(|\)|[^\s|()`\"]+)")


def split(text: str) -> list[str | Action]:
    """Literal text and actions, in order; a trim marker removes the white space beside it (as Go does)."""
    parts: list[str | Action] = []
    position = 0
    pending_trim = False
    for match in _DELIM.finditer(text):
        literal = text[position:match.start()]
        if pending_trim:
            literal = literal.lstrip()
        if match.group(1):
            literal = literal.rstrip()
        if literal:
            parts.append(literal)
        line = text.count("\n", 0, match.start()) + 1
        body = match.group(2)
        pending_trim = bool(match.group(3))
        position = match.end()
        if body.strip().startswith("/*"):
            if not body.strip().endswith("*/"):
                raise GoTemplateError(line, "unclosed comment")
            continue
        parts.append(Action(_pipeline(body, line), line, match.start(), match.end(), match.group(0)))
    literal = text[position:]
    if pending_trim:
        literal = literal.lstrip()
    if literal:
        parts.append(literal)
    return parts


def _pipeline(body: str, line: int) -> list[Command]:
    tokens: list[str] = []
    rest = body
    while rest.strip():
        match = _TOKEN.match(rest)
        if not match:
            raise GoTemplateError(line, f"cannot read `{{{{{body.strip()}}}}}`")
        tokens.append(match.group(1))
        rest = rest[match.end():]
    if not tokens:
        raise GoTemplateError(line, "empty action `{{ }}`")
    commands: list[list[str]] = [[]]
    for token in tokens:
        if token == "|":
            commands.append([])
        elif token in ("(", ")"):
            raise GoTemplateError(line, f"parentheses in `{{{{{body.strip()}}}}}` are not converted (call one function per action, or pipe with |)")
        else:
            commands[-1].append(token)
    result = []
    for words in commands:
        if not words:
            raise GoTemplateError(line, f"missing command in `{{{{{body.strip()}}}}}`")
        head = words[0]
        if head[0] in "`\"'" or re.fullmatch(r"-?\d+(\.\d*)?", head):
            if len(words) > 1:
                raise GoTemplateError(line, f"`{head}` is not a function (in `{{{{{body.strip()}}}}}`)")
            result.append(Command("", [_literal(head, line)]))  # a constant, printed as is
            continue
        if head in KEYWORDS:
            raise GoTemplateError(line, f"the Go template `{head}` has no automatic conversion; rewrite it in Jinja")
        if head.startswith((".", "$")):
            raise GoTemplateError(line, f"the Go template variable `{head}` has no automatic conversion (ecspresso passes no data to templates)")
        if not re.fullmatch(r"[A-Za-z_]\w*", head):
            raise GoTemplateError(line, f"`{head}` is not a function call (in `{{{{{body.strip()}}}}}`)")
        result.append(Command(head, [_literal(w, line) for w in words[1:]]))
    return result


def _literal(token: str, line: int) -> Any:
    if token.startswith("`"):
        return token[1:-1]
    if token.startswith('"'):
        try:
            return json.loads(token)
        except ValueError:
            raise GoTemplateError(line, f"cannot read the string {token}") from None
    if re.fullmatch(r"-?\d+", token):
        return int(token)
    if re.fullmatch(r"-?\d+\.\d*", token):
        return float(token)
    if token in ("true", "false"):
        return token == "true"
    raise GoTemplateError(line, f"cannot convert the argument `{token}` (string and number arguments convert)")


def call(action: Action, functions: dict[str, Callable[..., Any]]) -> Any:
    value: Any = None
    for n, command in enumerate(action.commands):
        if not command.name:
            value = command.args[0]
            continue
        if command.name not in functions:
            raise GoTemplateError(action.line, f'function "{command.name}" not defined')
        args = list(command.args) + ([value] if n else [])
        try:
            value = functions[command.name](*args)
        except GoTemplateError:
            raise
        except TypeError as exc:
            raise GoTemplateError(action.line, f"wrong arguments for {command.name}: {exc}") from None
    return value


def render(text: str, functions: dict[str, Callable[..., Any]]) -> str:
    """The text with every action replaced by its value (Go prints strings as is, numbers as numbers)."""
    out = []
    for part in split(text):
        if isinstance(part, str):
            out.append(part)
        else:
            value = call(part, functions)
            out.append(value if isinstance(value, str) else json.dumps(value))
    return "".join(out)


# ecspresso's config functions (kayac/go-config's DefaultFuncMap)


def config_functions(environ: dict[str, str], reads: list[tuple[str, int]] | None = None, line: int = 0) -> dict[str, Callable]:
    def env(*keys: str) -> str:
        # go-config: the first variable set and non-empty; else the last argument itself (the default)
        value = ""
        for key in keys:
            if reads is not None:
                reads.append((key, line))
            value = environ.get(key, "")
            if value:
                return value
            value = key
        return value

    def must_env(key: str) -> str:
        if reads is not None:
            reads.append((key, line))
        if key not in environ:
            raise GoTemplateError(line, f"must_env: environment variable {key} is not defined")
        return environ[key]

    def json_escape(value: str) -> str:
        return json.dumps(str(value), ensure_ascii=False)[1:-1]

    return {"env": env, "must_env": must_env, "json_escape": json_escape}


def render_config(text: str, environ: dict[str, str]) -> tuple[str, list[tuple[str, int]]]:
    """ecspresso.yml as ecspresso reads it (rendered with env/must_env/json_escape); the variables read, with their lines."""
    reads: list[tuple[str, int]] = []
    out = []
    for part in split(text):
        if isinstance(part, str):
            out.append(part)
            continue
        functions = config_functions(environ, reads, part.line)
        value = call(part, functions)
        out.append(value if isinstance(value, str) else json.dumps(value))
    return "".join(out), reads
