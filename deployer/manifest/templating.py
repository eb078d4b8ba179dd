"""Jinja rendering of the app's definition templates, with the context docs/configuration.md lists.

Templates come from whoever can open a pull request, so they render in Jinja's immutable sandbox:
- StrictUndefined: an undefined name is an error that names the file and the line, never "".
- Template functions are plain functions returning plain strings; those that read AWS (ssm,
  secretsmanager_arn, cfn_output) are read-only; env()/must_env() never read credential variables.
- Every {{ value }} is JSON-escaped (finalize), so a value stays inside the JSON string it is in;
  `| tojson` inserts structured values.
- A SecureString read with ssm() (or a value marked `| secret`) renders as a token; render.py
  refuses it in a task definition unless deployer.yaml allows plaintext secrets.
- {% include %} reads files inside the app repository only.
"""

from __future__ import annotations

import json
import os
import subprocess
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..core.secrets import Secrets as _Secrets
from ..core.errors import BadInput
from .files import open_inside, printable_name as _shown_name, read_text


@dataclass
class GitInfo:
    sha: str
    short_sha: str
    branch: str

    @classmethod
    def read(cls, repo_dir: Path) -> "GitInfo":
        def git(*args: str) -> str:
            try:
                out = subprocess.run(["git", *args], cwd=repo_dir, capture_output=True, text=True, timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                return ""
            return out.stdout.strip() if out.returncode == 0 else ""

        # CodeBuild checks out a detached HEAD; its variables say what was built.
        sha = git("rev-parse", "HEAD") or os.environ.get("CODEBUILD_RESOLVED_SOURCE_VERSION", "")
        branch = git("rev-parse", "--abbrev-ref", "HEAD")
        if branch in ("", "HEAD"):
            branch = os.environ.get("CODEBUILD_WEBHOOK_HEAD_REF", "").removeprefix("refs/heads/") or branch
        return cls(sha=sha or "unknown", short_sha=(sha[:7] if sha else "unknown"), branch=branch or "unknown")


# Secrets: the console masks their values (second line of defence); here they never reach a template.
Secrets = _Secrets

# Which variables and names are credentials: one predicate for templates, build secrets and init.
from ..core.secret_names import AWS_CREDENTIAL_PREFIXES as CREDENTIAL_PREFIXES  # noqa: E402
from ..core.secret_names import AWS_CREDENTIAL_VARIABLES as CREDENTIAL_VARIABLES  # noqa: E402,F401
from ..core.secret_names import is_aws_credential as is_credential_variable  # noqa: E402,F401
from ..core.secret_names import is_credential_name, looks_like_credential_value, looks_secret  # noqa: E402,F401

SECRET_TOKEN_PREFIX = "<secret:"


@dataclass(frozen=True)
class SecretRef:
    """A secret a template asked for: the template only ever sees `token`, never `value`."""

    token: str
    value: str
    source: str  # "SSM SecureString parameter /x", "a value marked `| secret`"
    value_from: str | None  # what to put in `secrets: [{name, valueFrom}]` instead, when known


def is_secret_var(name: str, value: Any) -> bool:
    """A --var whose name says it holds a secret (db_password, API_TOKEN), or whose value is a credential."""
    return isinstance(value, str) and bool(value) and (looks_secret(name) or looks_like_credential_value(value))


class JsonText(str):
    """Output of `| tojson`: already JSON, inserted as is (every other value is JSON-escaped)."""


def json_escape(value: Any) -> Any:
    """Jinja `finalize`: a string printed with {{ }} is escaped for the inside of a JSON string, so a
    value (a --var, a branch name) can never close the string it is in and add keys or arguments.
    Numbers, booleans and `| tojson` output are printed as they are."""
    if isinstance(value, JsonText):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)[1:-1]
    return value


def _tojson(value: Any, indent: int | None = None) -> JsonText:
    # Plain json.dumps: Jinja's own tojson escapes <, >, & for HTML, which a task definition does not need.
    return JsonText(json.dumps(value, indent=indent, ensure_ascii=False))


class TemplateFunctions:
    """What templates can call. `as_globals()` hands out plain functions (closures) returning plain
    strings: nothing with attributes that lead back to the AWS session, the process or its credentials.
    AWS lookups are lazy and cached per run; SecureString values come back as tokens (see SecretRef)."""

    def __init__(self, aws, secrets: Secrets, env_allow: list[str] | None = None):
        self._aws = aws
        self._secrets = secrets
        self._env_allow = None if env_allow is None else set(env_allow)
        self._cache: dict[tuple, Any] = {}
        self.secret_refs: dict[str, SecretRef] = {}
        self.reads: set[tuple[str, str]] = set()  # ("ssm", name) / ("secretsmanager", name): for `iam-policy`

    def _cached(self, key: tuple, compute: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def _readable(self, function: str, name: Any) -> str:
        if not isinstance(name, str) or not name:
            raise BadInput(f"{function}({name!r}): the variable name must be a non-empty string")
        if is_credential_variable(name):
            raise BadInput(
                f"{function}({name!r}): AWS credential and credential-provider variables are never readable from templates "
                "(they hold the release role's credentials)",
                hint="pass what the template needs with --var, `vars:` in deployer.yaml, or ssm()",
            )
        allowed = self._env_allow is not None and name in self._env_allow
        if is_credential_name(name) and not allowed:
            raise BadInput(
                f"{function}({name!r}): a credential variable (a CI token, or a name that says it holds a secret); "
                "templates read it only when `env_allow:` in deployer.yaml names it",
                hint="give containers secrets with \"secrets\": [{\"name\", \"valueFrom\"}] (SSM or Secrets Manager) instead; "
                f"or list {name} in `env_allow:` (its value stays a secret: masked, and refused in a definition unless `allow_plaintext_secrets: true`)",
            )
        if self._env_allow is not None and not allowed:
            listed = ", ".join(sorted(self._env_allow)) or "(none)"
            raise BadInput(f"{function}({name!r}): not in `env_allow` of deployer.yaml (allowed: {listed})")
        return name

    def _read_env(self, name: str) -> str:
        """The variable's value; a secret one (by its name or its value) as a token, like a SecureString:
        no template transformation can print it, and a definition gets it only when allowed."""
        value = os.environ[name]
        if value and (is_credential_name(name) or looks_like_credential_value(value)):
            return self._secret(value, f"{SECRET_TOKEN_PREFIX}env:{name}>", f"the environment variable {name}", None)
        return value

    def env(self, name: str, default: str = "") -> str:
        self._readable("env", name)
        return self._read_env(name) if name in os.environ else str(default)

    def must_env(self, name: str) -> str:
        self._readable("must_env", name)
        if name not in os.environ:
            raise BadInput(f"must_env({name!r}): environment variable {name} is not set")
        return self._read_env(name)

    def secret_vars(self, values: dict) -> dict:
        """--var values: a secret one (its name or its value says so) becomes a token, as env() does."""
        return {
            name: self._secret(value, f"{SECRET_TOKEN_PREFIX}var:{name}>", f"the --var {name}", None) if is_secret_var(name, value) else value
            for name, value in values.items()
        }

    def _secret(self, value: str, token: str, source: str, value_from: str | None) -> str:
        self._secrets.add(value)
        self.secret_refs[token] = SecretRef(token=token, value=value, source=source, value_from=value_from)
        return token

    def ssm(self, name: str) -> str:
        if not isinstance(name, str) or not name:
            raise BadInput(f"ssm({name!r}): the parameter name must be a non-empty string")

        self.reads.add(("ssm", name))

        def fetch():
            from ..aws.stores import InvalidName, parameter

            try:
                param = parameter(self._aws, name, doing=f"reading SSM parameter {name}")
            except InvalidName:
                raise BadInput(f"ssm({name!r}): not a valid SSM parameter name") from None
            if param is None:
                raise BadInput(f"ssm({name!r}): SSM parameter not found") from None
            value = str(param.get("Value", ""))
            if param.get("Type") == "SecureString":
                return self._secret(value, f"<secret:ssm:{name}>", f"the SecureString parameter {name}", param.get("ARN") or name)
            return value

        return self._cached(("ssm", name), fetch)

    def mark_secret(self, value: Any) -> str:
        """`{{ value | secret }}`: treat any value as a secret (masked; refused where a task definition would store it)."""
        value = str(value)
        if value in self.secret_refs:  # already a secret's token
            return value
        token = f"{SECRET_TOKEN_PREFIX}marked-{len(self.secret_refs) + 1}>"
        return self._secret(value, token, "a value marked `| secret`", None)

    def secretsmanager_arn(self, name: str) -> str:
        self.reads.add(("secretsmanager", str(name)))

        def fetch():
            from ..aws.stores import secret_arn

            arn = secret_arn(self._aws, name, doing=f"describing secret {name}")
            if arn is None:
                raise BadInput(f"secretsmanager_arn({name!r}): secret not found") from None
            return arn

        return self._cached(("secret", name), fetch)

    def cfn_output(self, stack: str, key: str) -> str:
        from ..aws.cloudformation import stack_outputs

        outputs = self._cached(("cfn", stack), lambda: stack_outputs(self._aws, stack))
        if key not in outputs:
            raise BadInput(f"cfn_output({stack!r}, {key!r}): no such output; the stack has: {', '.join(sorted(outputs)) or '(none)'}")
        return outputs[key]

    def as_globals(self) -> dict[str, Callable]:
        """Plain functions: a bound method would carry `__self__` (and through it the AWS session)."""

        def env(name, default=""):
            return self.env(name, default)

        def must_env(name):
            return self.must_env(name)

        def ssm(name):
            return self.ssm(name)

        def secretsmanager_arn(name):
            return self.secretsmanager_arn(name)

        def cfn_output(stack, key):
            return self.cfn_output(stack, key)

        return {"env": env, "must_env": must_env, "ssm": ssm, "secretsmanager_arn": secretsmanager_arn, "cfn_output": cfn_output}

    def as_filters(self) -> dict[str, Callable]:
        def secret(value):
            return self.mark_secret(value)

        return {"secret": secret, "tojson": _tojson}


def build_context(*, config, environment, service, image: str, git: GitInfo, extra_vars: dict) -> dict[str, Any]:
    return {
        "app": config.app,
        "environment": {"name": environment.name, "outputs": dict(environment.outputs)},
        "image": image,
        "service": {"name": service.name, "container": service.container, "port": service.port, "family": service.family},
        "git": {"sha": git.sha, "short_sha": git.short_sha, "branch": git.branch},
        "vars": {**config.vars, **extra_vars},
    }


# Bounds for the sandbox: `"x" * 10**12` or `2 ** 10**9` would otherwise exhaust memory or CPU.
MAX_REPEAT = 1_000_000
MAX_EXPONENT = 10_000


def _jinja_env(root: Path, repo_root: Path, globals_: dict[str, Callable], filters: dict[str, Callable]):
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

    class Sandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset(["*", "**"])

        def call_binop(self, context, operator, left, right):
            if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponent {right} is too large for a template")
            if operator == "*":
                for sized, times in ((left, right), (right, left)):
                    if isinstance(sized, (str, list, tuple)) and isinstance(times, int) and len(sized) * times > MAX_REPEAT:
                        raise SecurityError(f"repeating a value {times} times makes more than {MAX_REPEAT} items")
            return super().call_binop(context, operator, left, right)

    env = Sandbox(
        loader=_repo_loader(root, repo_root),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=json_escape,
    )
    env.filters.update(filters)
    env.globals.update(globals_)
    return env


def _repo_loader(root: Path, repo_root: Path):
    """{% include %} / {% import %} of regular files under the config's directory that resolve (symlinks
    followed) inside the app repository; anything else is refused without being read."""
    import jinja2

    class RepoLoader(jinja2.BaseLoader):
        def get_source(self, environment, template):
            path, data = open_inside(root, repo_root, template, what=f"include `{template}`", missing=f"(paths are relative to {os.path.relpath(root)})")
            return decode_template(data, path), str(path), lambda: True

    return RepoLoader()


def decode_template(data: bytes, path: Path) -> str:
    """An include's bytes as template text: UTF-8, no NUL byte (deployer/manifest/files.py), naming file and line."""
    from .files import decode_text

    return decode_text(data, what=os.path.relpath(path))


def _template_line(exc: BaseException, filename: str) -> int | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename and os.path.abspath(frame.filename) == os.path.abspath(filename):
            return frame.lineno
    return getattr(exc, "lineno", None)


def render_file(path: Path, root: Path, context: dict, functions: TemplateFunctions, repo_root: Path | None = None) -> str:
    """Render one template in the sandbox, in a child process with a time and memory budget
    (deployer/manifest/sandbox.py); every failure is BadInput naming file:line. The template functions run
    here (they read AWS and record secrets); the child calls back for them."""
    from . import sandbox

    calls: dict[str, Callable] = {}
    spec: dict[str, dict[str, str | None]] = {"globals": {}, "filters": {}}
    for kind, table in (("globals", functions.as_globals()), ("filters", functions.as_filters())):
        for name, function in table.items():
            local = getattr(function, "__name__", "")
            # A module-level function of this module (tojson) is pure: it runs in the child.
            if getattr(function, "__module__", None) == __name__ and globals().get(local) is function:
                spec[kind][name] = local
            else:
                spec[kind][name] = None
                calls[f"{kind}:{name}"] = function
    payload = {"path": str(path), "root": str(root), "repo_root": str(repo_root or root), "context": context, **spec}
    return sandbox.run("jinja", payload, shown=os.path.relpath(path), calls=calls)


def render_here(path: Path, root: Path, repo_root: Path, context: dict, globals_: dict[str, Callable], filters: dict[str, Callable]) -> str:
    """Render one template in Jinja's sandbox in this process (the renderer child calls this)."""
    import jinja2

    from .sandbox import MAX_RENDERED_BYTES

    env = _jinja_env(root, repo_root, globals_, filters)
    shown = os.path.relpath(path)
    source = read_text(path, what=os.path.relpath(path))
    try:
        # Compiled with its filename so tracebacks (and so error lines) map back to the file.
        code = env.compile(source, name=path.name, filename=str(path))
        template = env.template_class.from_code(env, code, env.make_globals(None))
        parts, size = [], 0
        for part in template.generate(**context):  # streamed: stop at the cap, not after it
            size += len(part)
            if size > MAX_RENDERED_BYTES:
                raise BadInput(f"{shown}: the rendered output is larger than {MAX_RENDERED_BYTES // 1024} KiB (a task definition can be at most 64 KiB)")
            parts.append(part)
        return "".join(parts)
    except jinja2.TemplateSyntaxError as exc:
        from .taskdef_input import go_template_hint

        raise BadInput(f"{shown}:{exc.lineno}: template syntax error: {exc.message}", hint=go_template_hint(source)) from None
    except jinja2.UndefinedError as exc:
        line = _template_line(exc, str(path))
        source_lines = source.splitlines()
        snippet = source_lines[line - 1].strip() if line and 0 < line <= len(source_lines) else ""
        raise BadInput(
            f"{shown}:{line}: undefined name in template: {exc.message}" + (f" in `{snippet[:120]}`" if snippet else ""),
            hint=_undefined_hint(snippet, context),
        ) from None
    except BadInput as exc:
        if exc.message.startswith(f"{shown}: the rendered output is larger"):
            raise
        line = _template_line(exc, str(path))
        raise BadInput(f"{shown}:{line}: {exc.message}", hint=exc.hint) from None
    except jinja2.TemplateError as exc:
        line = _template_line(exc, str(path))
        raise BadInput(f"{shown}:{line}: template error: {exc}") from None
    except RecursionError:
        raise BadInput(f"{shown}: template recursion too deep (an include or macro that calls itself?)") from None
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - a template's own error (1/0, a call with wrong arguments) is bad input
        line = _template_line(exc, str(path))
        raise BadInput(f"{shown}:{line}: template error: {type(exc).__name__}: {exc}") from None


def _undefined_hint(snippet: str, context: dict) -> str | None:
    if "environment.outputs" in snippet:
        keys = ", ".join(sorted(context["environment"]["outputs"]))
        return f"environment.outputs has: {keys}"
    return "defined names: " + ", ".join(sorted(context)) + ", functions env, must_env, ssm, secretsmanager_arn, cfn_output, and filters tojson, secret"
