"""Human progress on stderr; stdout is kept for results (render output, JSON).

On a terminal, rich styles the lines; when stderr is not a TTY, or CI / NO_COLOR is set,
every line is plain text with a UTC timestamp so CodeBuild logs read in order.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import unicodedata
from datetime import datetime, timezone
from typing import Iterator
from .secrets import Secrets


# Untrusted text (AWS's reasons and events, the app's log lines, the build's output) is data: it is
# printed on one line, with every character that could move the cursor, start a line, colour the
# terminal or reorder the text shown as an escape. Bidi controls and zero-width marks are Cf.
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\x1b": "\\e"}
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _unsafe(char: str) -> bool:
    if char == "\t" or " " <= char < "\x7f":
        return False
    return char in _BIDI or (unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs") and char != "\u200d")


def _escape_char(char: str) -> str:
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def quote_untrusted(text) -> str:
    """One line of data from someone else (AWS, the app, the build): control characters (newline,
    CR, ESC and ANSI sequences, other C0/C1, DEL), Unicode line/paragraph separators, bidi and other
    format controls are written as escapes (`\\n`, `\\e`, `\\x85`, `\\u202e`), so the text can never
    end the line it is on, start another one, or colour the terminal. (A backslash stays one: an app
    that prints `\\n` itself shows the same two characters, and still cannot start a line.)"""
    text = "" if text is None else str(text)
    if text.isascii() and text.isprintable():
        return text
    return "".join(_escape_char(c) if _unsafe(c) else c for c in text)


def _escape_controls(message: str) -> str:
    """deployer's own messages keep their newlines (one message, several lines); every other control
    character is escaped (defence in depth behind quote_untrusted at the sites that print others' text)."""
    if message.isascii() and all(c == "\n" or c == "\t" or " " <= c < "\x7f" for c in message):
        return message
    return "".join(c if c == "\n" or not _unsafe(c) else _escape_char(c) for c in message)


# The prefix of a line of someone else's text: `deployer`'s own lines never start with one, and
# the quoted text cannot contain a newline, so it can never start a line of its own.
SOURCES = ("app", "ecs", "build", "aws")


def untrusted_line(source: str, text) -> str:
    """`  app| <text>`: the one format of a line of someone else's words (quote_untrusted applied)."""
    return f"  {source}| {quote_untrusted(text)}"


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

    def quote(self, text) -> str:
        """Someone else's text (an AWS reason, an error message from a service) to put inside one of
        deployer's lines: masked, then on one line with its control characters escaped."""
        return quote_untrusted(self.secrets.mask("" if text is None else str(text)))

    def untrusted(self, source: str, text, kind: str = "event") -> None:
        """A line of someone else's words: `  app| ...` (the app's log), `  ecs| ...` (ECS's events and
        reasons), `  build| ...` (a RUN step's output). Masked and escaped (quote): it cannot contain a
        newline, so nothing in it can start a line that reads like deployer's own."""
        self._emit(kind, untrusted_line(source, self.secrets.mask("" if text is None else str(text))))

    def _emit(self, kind: str, message: str) -> None:
        if self.quiet and kind not in ("error", "warn"):
            return
        message = _escape_controls(self.secrets.mask(message))
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
        from rich.markup import escape

        with self._rich_console().status(escape(quote_untrusted(self.secrets.mask(message))), spinner="dots") as status:
            yield _Activity(status, self.secrets)


class _Activity:
    def __init__(self, status, secrets: Secrets | None = None):
        self._status = status
        self._secrets = secrets or Secrets()

    def update(self, message: str) -> None:
        if self._status is not None:
            from rich.markup import escape

            self._status.update(escape(quote_untrusted(self._secrets.mask(message))))
