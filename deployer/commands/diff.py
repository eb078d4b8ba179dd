"""`deployer diff`: the rendered definitions against what runs, as a unified diff of canonical JSON.

Both sides go through deployer.manifest.normalize (ECS defaults dropped, lists sorted, a name against its
ARN reconciled), so an app that has not changed shows nothing. Without --image the image the
running revision's container has is used: the diff is about the definitions, not the build.
Secrets (SecureString values read by the templates) are masked.
"""

from __future__ import annotations

import io
import os
import sys

from ..release import diff


def _colour_wanted() -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("CI"):
        return False
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def text(run, result: dict) -> str | None:
    """The diffs of the services that differ; None (nothing printed) when none does."""
    body = diff.text(result)
    if body is None:
        return None
    return _colourise(body) if _colour_wanted() else body


def _colourise(body: str) -> str:
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, highlight=False, soft_wrap=True, width=max(80, max(len(line) for line in body.splitlines()) + 1))
    for line in body.splitlines():
        if line.startswith(("---", "+++")):
            style = "bold"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        else:
            style = ""
        console.print(Text(line, style=style))
    return buffer.getvalue().rstrip("\n")
