"""Jsonnet definitions (`*.jsonnet`, as ecspresso projects keep them): evaluated after Jinja.

The template values are Jsonnet external variables (`std.extVar('vars').replicas`,
`std.extVar('environment').outputs.ClusterName`, `std.extVar('image')`). Imports resolve
relative to the file; imported files are plain Jsonnet (Jinja renders only the file itself).

Jsonnet reads files only through `import`, `importstr` and `importbin`, and all three go through
the import callback here: a regular file inside the app repository after resolving symlinks
(templating.open_inside), never /proc, a device, an absolute path or `..` out of it. No native
functions are registered (`std.native(...)` is null) and the external variables are the template
values only. Evaluation runs in the renderer child (deployer/manifest/sandbox.py) with a time and memory budget.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ..core.errors import BadInput


def evaluate(text: str, path: Path, context: dict, repo_root: Path | None = None) -> str:
    """The JSON text a Jinja-rendered Jsonnet file evaluates to; errors name the file and line."""
    from . import sandbox

    payload = {"text": text, "path": str(path), "context": context, "repo_root": str(repo_root or path.parent)}
    return sandbox.run("jsonnet", payload, shown=f"{os.path.relpath(path)} (after Jinja)")


def evaluate_here(text: str, path: Path, context: dict, repo_root: Path) -> str:
    """Evaluate in this process (the renderer child calls this)."""
    try:
        import _jsonnet
    except ImportError:
        raise BadInput(f"{os.path.relpath(path)}: rendering Jsonnet needs the `jsonnet` package (pip install jsonnet)") from None
    from .sandbox import MAX_RENDERED_BYTES

    ext_codes = {key: json.dumps(value, default=str) for key, value in context.items()}
    shown = os.path.relpath(path)
    try:
        result = _jsonnet.evaluate_snippet(str(path), text, ext_codes=ext_codes, import_callback=_importer(repo_root), native_callbacks={})
    except RuntimeError as exc:
        raise BadInput(f"{shown} (after Jinja): Jsonnet error: {_message(str(exc), path, repo_root)}") from None
    if len(result) > MAX_RENDERED_BYTES:
        raise BadInput(f"{shown} (after Jinja): the Jsonnet output is larger than {MAX_RENDERED_BYTES // 1024} KiB (a task definition can be at most 64 KiB)")
    return result


def _importer(repo_root: Path):
    from .templating import _shown_name
    from .files import open_inside

    def import_callback(directory: str, name: str) -> tuple[str, bytes]:
        # Raised text becomes Jsonnet's "couldn't open import "NAME": ..." error: no path, no content.
        try:
            found, data = open_inside(Path(directory), repo_root, name, what=f"import `{_shown_name(name)}`")
        except BadInput as exc:
            raise RuntimeError(exc.message.removeprefix(f"import `{_shown_name(name)}`").lstrip(": ") or "refused") from None
        return str(found), data

    return import_callback


_LOCATION = re.compile(r"^\s*(\S+?):(\d+):(\d+)")


def _message(raw: str, path: Path, repo_root: Path) -> str:
    """What Jsonnet said, on one line: its first line, plus where (the first frame of its trace) when the
    first line has no location; absolute paths of the repository shown relative, control characters escaped."""
    lines = [line for line in raw.strip().splitlines() if line.strip()]
    first = lines[0] if lines else "failed"
    if not _has_location(first):
        for line in lines[1:]:
            if _LOCATION.match(line):
                first += f" (at {line.strip().split()[0]})"
                break
    # One pass (a replacement is never scanned again): the repository's absolute prefix → its relative path.
    relative = os.path.relpath(repo_root)
    relative = "" if relative == "." else relative + os.sep
    prefixes = sorted({str(repo_root) + os.sep, str(repo_root.resolve()) + os.sep, str(path.parent) + os.sep}, key=len, reverse=True)
    first = re.sub("|".join(re.escape(p) for p in prefixes), lambda m: os.path.relpath(m.group(0)) + os.sep if m.group(0) != str(repo_root) + os.sep and m.group(0) != str(repo_root.resolve()) + os.sep else relative, first)
    first = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in first)
    return first[:500]


def _has_location(line: str) -> bool:
    return bool(re.search(r":\d+:\d+", line))
