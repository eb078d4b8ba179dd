"""Human progress on stderr; stdout is kept for results (render output, JSON).

On a terminal, rich styles the lines; when stderr is not a TTY, or CI / NO_COLOR is set,
every line is plain text with a UTC timestamp so CodeBuild logs read in order.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sys
import time
import urllib.parse
from datetime import datetime, timezone
from typing import Iterable, Iterator

MASK = "****"
# Shorter values are not masked: masking "a" would blank half the output and say which letter it was.
MIN_SECRET_LENGTH = 4


class Secrets:
    """Values that must never be printed: the second line of defence behind secret tokens (templating).

    Every line the console writes, every result on stdout and every error goes through `mask`,
    which replaces each value in each form it can take in output: raw, JSON-escaped (ASCII or
    not), repr-escaped, URL-encoded, base64, and each line of a multi-line value.
    """

    def __init__(self, values: Iterable[str] = ()):
        self.values: set[str] = set()
        for value in values:
            self.add(value)

    def add(self, value: str) -> None:
        if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
            self.values.add(value)

    def update(self, values: Iterable[str]) -> None:
        for value in values:
            self.add(value)

    def _encodings(self) -> list[str]:
        forms: set[str] = set()
        for value in self.values:
            if len(value) < MIN_SECRET_LENGTH:
                continue
            forms |= {
                value,
                json.dumps(value)[1:-1],
                json.dumps(value, ensure_ascii=False)[1:-1],
                repr(value)[1:-1],
                urllib.parse.quote(value, safe=""),
                urllib.parse.quote(value),
                urllib.parse.quote_plus(value),
                base64.b64encode(value.encode()).decode().rstrip("="),
                base64.urlsafe_b64encode(value.encode()).decode().rstrip("="),
            }
            forms |= {line for line in value.splitlines() if len(line) >= MIN_SECRET_LENGTH}
        # Longest first, so a value is masked whole before any of its lines is.
        return sorted((f for f in forms if len(f) >= MIN_SECRET_LENGTH), key=len, reverse=True)

    def mask(self, text: str) -> str:
        if not self.values or not isinstance(text, str):
            return text
        for form in self._encodings():
            if form in text:
                text = text.replace(form, MASK)
        return text


def _plain_wanted(stream) -> bool:
    if os.environ.get("CI") or os.environ.get("NO_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return not (isatty and isatty())


class Console:
    """The one place that writes progress. Commands and stages call it; nothing else prints."""

    STYLES = {"info": "", "step": "bold", "ok": "green", "warn": "yellow", "error": "bold red", "event": "dim", "debug": "dim"}

    def __init__(self, stream=None, *, verbose: bool = False, quiet: bool = False, secrets: Secrets | None = None):
        self.stream = stream or sys.stderr
        self.secrets = secrets or Secrets()
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
        message = self.secrets.mask(message)
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
        with self._rich_console().status(self.secrets.mask(message), spinner="dots") as status:
            yield _Activity(status, self.secrets)


class _Activity:
    def __init__(self, status, secrets: Secrets | None = None):
        self._status = status
        self._secrets = secrets or Secrets()

    def update(self, message: str) -> None:
        if self._status is not None:
            from rich.markup import escape

            self._status.update(escape(self._secrets.mask(message)))
