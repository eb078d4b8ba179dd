"""Human progress on stderr; stdout is kept for results (render output, JSON).

On a terminal, rich styles the lines; when stderr is not a TTY, or CI / NO_COLOR is set,
every line is plain text with a UTC timestamp so CodeBuild logs read in order.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from datetime import datetime, timezone
from typing import Iterator


def _plain_wanted(stream) -> bool:
    if os.environ.get("CI") or os.environ.get("NO_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return not (isatty and isatty())


class Console:
    """The one place that writes progress. Commands and stages call it; nothing else prints."""

    STYLES = {"info": "", "step": "bold", "ok": "green", "warn": "yellow", "error": "bold red", "event": "dim", "debug": "dim"}

    def __init__(self, stream=None, *, verbose: bool = False, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.plain = _plain_wanted(self.stream)
        self.verbose = verbose
        self.quiet = quiet
        self._rich = None
        self.started = time.monotonic()

    def _rich_console(self):
        if self._rich is None:
            from rich.console import Console as RichConsole

            self._rich = RichConsole(file=self.stream, highlight=False, soft_wrap=True)
        return self._rich

    def _emit(self, kind: str, message: str) -> None:
        if self.quiet and kind not in ("error", "warn"):
            return
        if self.plain:
            stamp = datetime.now(timezone.utc).strftime("%H:%M:%SZ")
            prefix = {"warn": "WARNING: ", "error": "ERROR: "}.get(kind, "")
            for line in message.splitlines() or [""]:
                self.stream.write(f"{stamp} {prefix}{line}\n")
            self.stream.flush()
            return
        from rich.markup import escape

        style = self.STYLES.get(kind, "")
        marker = {"step": "==> ", "ok": "✔ ", "warn": "! ", "error": "✘ "}.get(kind, "")
        text = escape(marker + message)
        self._rich_console().print(f"[{style}]{text}[/]" if style else text)

    def info(self, message: str) -> None:
        self._emit("info", message)

    def step(self, message: str) -> None:
        self._emit("step", message)

    def ok(self, message: str) -> None:
        self._emit("ok", message)

    def warn(self, message: str) -> None:
        self._emit("warn", message)

    def error(self, message: str) -> None:
        self._emit("error", message)

    def event(self, message: str) -> None:
        self._emit("event", message)

    def debug(self, message: str) -> None:
        if self.verbose:
            self._emit("debug", message)

    @contextlib.contextmanager
    def activity(self, message: str) -> Iterator["_Activity"]:
        """A spinner with a status line on a terminal (rollout watching); nothing in plain mode,
        where the progress lines themselves say that things move."""
        if self.plain or self.quiet:
            yield _Activity(None)
            return
        with self._rich_console().status(message, spinner="dots") as status:
            yield _Activity(status)


class _Activity:
    def __init__(self, status):
        self._status = status

    def update(self, message: str) -> None:
        if self._status is not None:
            from rich.markup import escape

            self._status.update(escape(message))
