"""A result to stdout, an error to an exit code, all through the masker."""

from __future__ import annotations

import signal
import sys
import typer
from typing import Callable

from ..release.context import Options, Target
from ..core.errors import BadInput, DeployerError, DeploymentFailed, Interrupted


def _execute(options: Options, action: Callable[[Target], dict], text: Callable[[Target, dict], str | None] | None = None) -> dict:
    """Run one command: result printed as text or JSON (and returned); errors → message + exit code."""
    if options.output not in ("text", "json"):
        typer.echo(f"error: --output must be text or json, got {options.output!r}", err=True)
        raise typer.Exit(2)
    from ..manifest.config import parse_vars
    from ..release.rollout import check_windows

    run = Target(options)
    # SIGTERM (CodeBuild stopping a build) and SIGHUP (the terminal or SSH session closed) behave as
    # Ctrl-C: the lease is released and the run says where things stand (exit 130).
    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is not None:
            signal.signal(signum, _raise_interrupt)
    try:
        options.vars = parse_vars(options.vars) if isinstance(options.vars, list) else options.vars
        check_windows()
        run.mask_secret_vars()
        result = action(run)
        # Every result goes through the masker: secret values never reach stdout, in any encoding.
        # JSON is masked at the data level (Secrets.dumps): a secret `true` becomes "****", never a bare ****.
        printed = run.secrets.dumps(result) if options.output == "json" else (text(run, result) if text is not None else None)
    except DeployerError as exc:
        _fail(run, exc)
    except KeyboardInterrupt:
        # Interrupts while watching carry their own account (pipeline.interrupted); this one came earlier
        # or later, so say only what is certain.
        _fail(run, Interrupted("interrupted", hint="`deployer status` shows where the service stands"))
    except RecursionError:
        _fail(run, BadInput("input nested too deep to process (a definition, a template or a value)"))
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, never a traceback unless -v
        _crash(run.console, exc, verbose=options.verbose, json_output=options.output == "json")
    if printed:
        sys.stdout.write((printed if options.output == "json" else run.secrets.mask(printed)) + "\n")
    return result or {}


def _crash(console, exc: BaseException, *, verbose: bool, json_output: bool) -> None:
    """An exception deployer did not expect: a bug. One line and exit 1; the traceback only with -v."""
    import traceback

    detail = " ".join(str(exc).split())[:300]
    message = f"unexpected error ({type(exc).__name__}{': ' + detail if detail else ''}); this is a bug in deployer, please report it"
    if verbose:
        console.debug("".join(traceback.format_exception(exc)).rstrip())
        console.error(message + " with the traceback above")
    else:
        console.error(message + " (rerun with -v to see the traceback)")
    if json_output:
        sys.stdout.write(console.secrets.dumps({"status": "error", "error": message, "exit_code": 1}) + "\n")
    raise typer.Exit(1)


def _raise_interrupt(signum, frame):  # SIGTERM and SIGHUP behave as Ctrl-C: stop watching, say where things stand
    raise KeyboardInterrupt


def _fail(run: Target, exc: DeployerError) -> None:
    message = run.secrets.mask(exc.message)
    run.console.error(message)
    if exc.hint:
        run.console.info(f"hint: {exc.hint}")
    if run.options.output == "json":
        payload = dict(exc.result) if isinstance(exc, DeploymentFailed) and exc.result else {}
        payload.setdefault("status", "failed" if exc.exit_code == 1 else "error")
        payload["error"] = message
        payload["exit_code"] = exc.exit_code
        sys.stdout.write(run.secrets.dumps(payload) + "\n")
    raise typer.Exit(exc.exit_code)


def _summary(run: Target, result: dict) -> str | None:
    from ..aws.ecs import short_name

    lines = []
    for s in result.get("services", []):
        lines.append(f"{s['service']}: {s.get('status') or s.get('verdict')} {short_name(s.get('task_definition')) or ''}".rstrip())
    if result.get("plan"):
        lines.append(run.secrets.dumps(result["plan"], indent=2))
    return "\n".join(lines) or None
