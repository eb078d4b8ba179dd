"""Jinja rendering of the app's definition templates, with the context of DESIGN.md.

StrictUndefined: an undefined name is an error that names the file and the line, never "".
Template functions that read AWS (ssm, secretsmanager_arn, cfn_output) are read-only.
"""

from __future__ import annotations

import json
import os
import subprocess
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import BadInput


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


@dataclass
class Secrets:
    """Values that must never be printed (SecureString parameters); render/diff/errors mask them."""

    values: set[str] = field(default_factory=set)

    def mask(self, text: str) -> str:
        for value in sorted(self.values, key=len, reverse=True):
            if value:
                text = text.replace(value, "****")
        return text


class TemplateFunctions:
    """Functions available in templates. AWS lookups are lazy and cached per run."""

    def __init__(self, aws, secrets: Secrets):
        self.aws = aws
        self.secrets = secrets
        self._cache: dict[tuple, Any] = {}

    def _cached(self, key: tuple, compute: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def env(self, name: str, default: str = "") -> str:
        return os.environ.get(name, default)

    def must_env(self, name: str) -> str:
        if name not in os.environ:
            raise BadInput(f"must_env({name!r}): environment variable {name} is not set")
        return os.environ[name]

    def ssm(self, name: str) -> str:
        def fetch():
            from .aws import error_code, translate_errors

            try:
                param = self.aws.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]
            except Exception as exc:  # noqa: BLE001
                if error_code(exc) == "ParameterNotFound":
                    raise BadInput(f"ssm({name!r}): SSM parameter not found") from None
                with translate_errors(f"reading SSM parameter {name}"):
                    raise
            if param.get("Type") == "SecureString":
                self.secrets.values.add(param["Value"])
            return param["Value"]

        return self._cached(("ssm", name), fetch)

    def secretsmanager_arn(self, name: str) -> str:
        def fetch():
            from .aws import error_code, translate_errors

            try:
                return self.aws.client("secretsmanager").describe_secret(SecretId=name)["ARN"]
            except Exception as exc:  # noqa: BLE001
                if error_code(exc) == "ResourceNotFoundException":
                    raise BadInput(f"secretsmanager_arn({name!r}): secret not found") from None
                with translate_errors(f"describing secret {name}"):
                    raise

        return self._cached(("secret", name), fetch)

    def cfn_output(self, stack: str, key: str) -> str:
        from .environment import stack_outputs

        outputs = self._cached(("cfn", stack), lambda: stack_outputs(self.aws, stack))
        if key not in outputs:
            raise BadInput(f"cfn_output({stack!r}, {key!r}): no such output; the stack has: {', '.join(sorted(outputs)) or '(none)'}")
        return outputs[key]

    def as_globals(self) -> dict[str, Callable]:
        return {
            "env": self.env,
            "must_env": self.must_env,
            "ssm": self.ssm,
            "secretsmanager_arn": self.secretsmanager_arn,
            "cfn_output": self.cfn_output,
        }


def build_context(*, config, environment, service, image: str, git: GitInfo, extra_vars: dict) -> dict[str, Any]:
    return {
        "app": config.app,
        "environment": {"name": environment.name, "outputs": dict(environment.outputs)},
        "image": image,
        "service": {"name": service.name, "container": service.container, "port": service.port, "family": service.family},
        "git": {"sha": git.sha, "short_sha": git.short_sha, "branch": git.branch},
        "vars": {**config.vars, **extra_vars},
    }


def _jinja_env(root: Path, functions: TemplateFunctions):
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    # Plain json.dumps: Jinja's own tojson escapes <, >, & for HTML, which a task definition does not need.
    env.filters["tojson"] = lambda value, indent=None: json.dumps(value, indent=indent)
    env.globals.update(functions.as_globals())
    return env


def _template_line(exc: BaseException, filename: str) -> int | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename and os.path.abspath(frame.filename) == os.path.abspath(filename):
            return frame.lineno
    return getattr(exc, "lineno", None)


def render_file(path: Path, root: Path, context: dict, functions: TemplateFunctions) -> str:
    """Render one template; every failure is BadInput naming file:line."""
    import jinja2

    env = _jinja_env(root, functions)
    shown = os.path.relpath(path)
    try:
        # Compiled with its filename so tracebacks (and so error lines) map back to the file.
        code = env.compile(path.read_text(encoding="utf-8"), name=path.name, filename=str(path))
        template = env.template_class.from_code(env, code, env.make_globals(None))
        return template.render(**context)
    except jinja2.TemplateSyntaxError as exc:
        from .taskdef_input import go_template_hint

        raise BadInput(f"{shown}:{exc.lineno}: template syntax error: {exc.message}", hint=go_template_hint(path.read_text(encoding="utf-8"))) from None
    except jinja2.UndefinedError as exc:
        line = _template_line(exc, str(path))
        source_lines = path.read_text(encoding="utf-8").splitlines()
        snippet = source_lines[line - 1].strip() if line and 0 < line <= len(source_lines) else ""
        raise BadInput(
            f"{shown}:{line}: undefined name in template: {exc.message}" + (f" in `{snippet[:120]}`" if snippet else ""),
            hint=_undefined_hint(snippet, context),
        ) from None
    except BadInput as exc:
        line = _template_line(exc, str(path))
        raise BadInput(f"{shown}:{line}: {exc.message}", hint=exc.hint) from None
    except jinja2.TemplateError as exc:
        line = _template_line(exc, str(path))
        raise BadInput(f"{shown}:{line}: template error: {exc}") from None


def _undefined_hint(snippet: str, context: dict) -> str | None:
    if "environment.outputs" in snippet:
        keys = ", ".join(sorted(context["environment"]["outputs"]))
        return f"environment.outputs has: {keys}"
    return "defined names: " + ", ".join(sorted(context)) + ", and functions env, must_env, ssm, secretsmanager_arn, cfn_output"
