"""Rendering in a child process with a time and a memory budget.

Templates and Jsonnet come from whoever can open a pull request. Jinja's sandbox stops attribute
tricks but not `range(10**5)` nested twice, `'x'.center(1.5e9)` or ten `~` doublings; Jsonnet has no
memory bound at all (it aborts the process when an allocation fails) and ignores SIGTERM while it
evaluates. So both run in a child process that deployer starts fresh (never a fork of this
multi-threaded process), which:

- limits itself before it reads any input: RLIMIT_AS (memory), RLIMIT_CPU (a backstop to the wall
  clock below), RLIMIT_CORE 0 (no core dumps in the app repository), RLIMIT_FSIZE 0 (writes no file);
- starts with an empty environment (no AWS credentials to read, even for a sandbox escape) and
  without the current directory (the app repository) on its import path;
- calls back into this process for the template functions that read AWS or the environment (ssm(),
  env(), `| secret`...): the AWS session, the secret tokens and the masker stay here.

This process waits with a wall-clock deadline (time spent answering those calls does not count),
kills the child past it, on SIGTERM or Ctrl-C, and turns every budget overrun into BadInput (exit 2)
naming the file. One child serves the renders of a command in turn; a new one starts after a failure.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from ..core.errors import BadInput, DeployerError

# The budget of one rendering (a template through Jinja, or a Jinja-rendered file through Jsonnet).
# A real task definition renders in milliseconds with a few MiB; these are generous.
RENDER_SECONDS = 20
RENDER_MEMORY_MIB = 1024
SECONDS_VARIABLE = "DEPLOYER_RENDER_SECONDS"
MEMORY_VARIABLE = "DEPLOYER_RENDER_MEMORY_MIB"
# What one rendering may produce: a registered task definition is at most 64 KiB.
MAX_RENDERED_BYTES = 1024 * 1024
# The arguments of one template-function call sent back to this process.
MAX_CALL_BYTES = 256 * 1024
# One protocol message (a request, a reply): the rendered text plus JSON escaping.
MAX_MESSAGE_BYTES = 8 * MAX_RENDERED_BYTES
# The child's own start-up (interpreter, jinja2, _jsonnet) is not part of the rendering budget.
STARTUP_SECONDS = 30


class RendererCrashed(Exception):
    """The child failed in a way that is deployer's bug, not the template's (reported as unexpected)."""


def budget() -> tuple[int, int]:
    """(seconds, MiB): the module constants, or the environment variables that override them."""
    values = []
    for variable, default, low, high in ((SECONDS_VARIABLE, RENDER_SECONDS, 1, 3600), (MEMORY_VARIABLE, RENDER_MEMORY_MIB, 128, 65536)):
        raw = os.environ.get(variable)
        if raw is None or raw == "":
            values.append(default)
            continue
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise BadInput(f"{variable}={raw[:40]!r}: must be a whole number from {low} to {high}")
        values.append(value)
    return values[0], values[1]


def describe_budget(seconds: int, mib: int) -> str:
    return f"{seconds} s / {mib} MiB"


_HINT = (
    "a task definition renders in milliseconds with a few MiB; look for loops, repetition or recursion that grow "
    f"without bound (the budget can be changed with {SECONDS_VARIABLE} and {MEMORY_VARIABLE})"
)


# ---------------------------------------------------------------------------------------
# This process: start the child, send requests, answer its calls, enforce the wall clock.


class _Renderer:
    def __init__(self, seconds: int, mib: int):
        import deployer

        self.seconds, self.mib = seconds, mib
        package_parent = str(Path(deployer.__file__).resolve().parent.parent)
        cwd = os.getcwd()
        paths = [package_parent] + [p for p in sys.path if p and os.path.abspath(p) != cwd and p != package_parent]
        code = "import sys, json; sys.path[:0] = json.loads(sys.argv[1]); from deployer.manifest.render_child import child_main; child_main(int(sys.argv[2]), int(sys.argv[3]))"
        # -I: no PYTHON* variables, no user site, no script or current directory on the import path. -S: no
        # site module, so no .pth file of the environment runs code here (and ~25 ms less per start): the
        # import path is the parent's, given above.
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", code, json.dumps(paths), str(seconds), str(mib)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # std.trace and the like: app text, never printed as deployer's
            env={"PATH": os.defpath, "LC_ALL": "C.UTF-8"},
            close_fds=True,
            start_new_session=True,  # Ctrl-C reaches deployer, which ends the child itself
        )
        self.buffer = b""
        self.started = False

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.kill()
            except OSError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def send(self, message: dict) -> None:
        data = json.dumps(message, default=str).encode("utf-8") + b"\n"
        try:
            self.process.stdin.write(data)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the child died: read() finds out how

    def read(self, deadline: float) -> dict | None:
        """The next message; None when the deadline passed. Raises _Died when the child ended."""
        fd = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], min(remaining, 1.0))
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise _Died(self.process.wait())
            self.buffer += chunk
            if len(self.buffer) > MAX_MESSAGE_BYTES:
                raise RendererCrashed("the renderer sent a message larger than the protocol allows")
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def request(self, message: dict, calls: dict[str, Callable]) -> dict:
        if not self.started:
            # The child's start-up (interpreter, imports) is not the template's time.
            ready = self.read(time.monotonic() + STARTUP_SECONDS)
            if ready is None or not ready.get("ready"):
                raise RendererCrashed("the renderer did not start")
            self.started = True
        self.send(message)
        deadline = time.monotonic() + self.seconds
        while True:
            reply = self.read(deadline)
            if reply is None:
                raise _OverBudget("time")
            if "call" not in reply:
                return reply
            began = time.monotonic()
            self.send(_serve(reply, calls))
            deadline += time.monotonic() - began  # AWS lookups are not the template's time


class _Died(Exception):
    def __init__(self, returncode: int):
        super().__init__(returncode)
        self.returncode = returncode


class _OverBudget(Exception):
    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


def _serve(message: dict, calls: dict[str, Callable]) -> dict:
    """Run one template function here (it may read AWS, record secrets); the reply carries its value or error."""
    function = calls.get(f"{message.get('kind')}:{message.get('call')}")
    if function is None:
        return {"raise": "builtin", "type": "RuntimeError", "message": f"no template function {message.get('call')!r}"}
    try:
        value = function(*message.get("args", []), **message.get("kwargs", {}))
    except DeployerError as exc:
        return {"raise": type(exc).__name__, "message": exc.message, "hint": exc.hint}
    except Exception as exc:  # noqa: BLE001 - a wrong call from a template (TypeError...) is the template's error
        return {"raise": "builtin", "type": type(exc).__name__, "message": str(exc)}
    reply: dict[str, Any] = {"value": value}
    if isinstance(value, str) and type(value) is not str:
        reply["str_class"] = type(value).__name__
    return reply


_LOCK = threading.Lock()
_CURRENT: _Renderer | None = None


def run(op: str, payload: dict, *, shown: str, calls: dict[str, Callable] | None = None) -> Any:
    """Ask the child to render; its answer, or BadInput naming `shown` (exit 2) for a template error or an
    overrun budget. Interrupts (SIGTERM, Ctrl-C) kill the child and propagate."""
    global _CURRENT
    seconds, mib = budget()
    with _LOCK:
        if _CURRENT is None or not _CURRENT.alive() or (_CURRENT.seconds, _CURRENT.mib) != (seconds, mib):
            if _CURRENT is not None:
                _CURRENT.kill()
            _CURRENT = _Renderer(seconds, mib)
        renderer = _CURRENT
        try:
            reply = renderer.request({"op": op, **payload}, calls or {})
        except _OverBudget:
            renderer.kill()
            raise BadInput(f"{shown}: rendering exceeded the rendering budget of {seconds} s", hint=_HINT) from None
        except _Died as died:
            renderer.kill()
            raise _death(died.returncode, shown, seconds, mib) from None
        except BaseException:
            renderer.kill()  # KeyboardInterrupt (SIGTERM/Ctrl-C) or a bug: the child never outlives its request
            raise
    if "ok" in reply:
        return reply["ok"]
    if reply.get("budget") == "memory":
        renderer.kill()
        raise BadInput(f"{shown}: rendering exceeded the rendering budget of {mib} MiB", hint=_HINT)
    if "error" in reply:
        from ..core import errors

        cls = getattr(errors, str(reply.get("class")), BadInput)
        if not (isinstance(cls, type) and issubclass(cls, DeployerError)):
            cls = BadInput
        raise cls(reply["error"], hint=reply.get("hint"))
    raise RendererCrashed(reply.get("crash") or "the renderer answered nothing deployer understands")


def _death(returncode: int, shown: str, seconds: int, mib: int) -> BaseException:
    signum = -returncode if returncode < 0 else None
    if signum in (signal.SIGXCPU, signal.SIGKILL):
        return BadInput(f"{shown}: rendering exceeded the rendering budget of {seconds} s", hint=_HINT)
    if signum == signal.SIGABRT or returncode == 3:
        # Jsonnet aborts when an allocation fails under RLIMIT_AS; 3 is Python's own "out of memory" exit.
        return BadInput(f"{shown}: rendering exceeded the rendering budget of {mib} MiB", hint=_HINT)
    if signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        return KeyboardInterrupt()
    how = f"signal {signal.Signals(signum).name}" if signum else f"exit code {returncode}"
    return BadInput(
        f"{shown}: rendering stopped: the renderer ended with {how} (too deep or too large for the rendering budget of "
        f"{describe_budget(seconds, mib)})",
        hint=_HINT,
    )


def shutdown() -> None:
    """End the child (tests; the CLI simply exits, and the child ends when its input closes)."""
    global _CURRENT
    with _LOCK:
        if _CURRENT is not None:
            _CURRENT.kill()
            _CURRENT = None
