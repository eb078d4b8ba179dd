"""Jsonnet definitions (`*.jsonnet`, as ecspresso projects keep them): evaluated after Jinja.

The template values are Jsonnet external variables (`std.extVar('vars').replicas`,
`std.extVar('environment').outputs.ClusterName`, `std.extVar('image')`). Imports resolve
relative to the file; imported files are plain Jsonnet (Jinja renders only the file itself).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import BadInput


def evaluate(text: str, path: Path, context: dict) -> str:
    """The JSON text a Jinja-rendered Jsonnet file evaluates to; errors name the file and line."""
    try:
        import _jsonnet
    except ImportError:
        raise BadInput(f"{os.path.relpath(path)}: rendering Jsonnet needs the `jsonnet` package (pip install jsonnet)") from None
    ext_codes = {key: json.dumps(value, default=str) for key, value in context.items()}
    try:
        return _jsonnet.evaluate_snippet(str(path), text, ext_codes=ext_codes)
    except RuntimeError as exc:
        # _jsonnet names the file as given, then line:column; the message is what Jsonnet said.
        message = str(exc).strip().replace(str(path), os.path.relpath(path))
        raise BadInput(f"{os.path.relpath(path)} (after Jinja): Jsonnet error: {message.splitlines()[0]}") from None
