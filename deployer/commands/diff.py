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

from ..core.secrets import MASK
from ..core.secret_names import looks_secret  # the one predicate of secret-looking names (being moved to secret_names)


MASKED_CHANGED = MASK + " (changed)"


def _mask_secret_environment(run, live_td: dict | None, wanted_td: dict) -> list[str]:
    """Plaintext values of secret-looking environment variables (DB_PASSWORD, API_TOKEN, *_KEY...) in
    either definition — the live one may be a revision someone else registered — are shown as ****
    on both sides (the rendered one `**** (changed)` when it differs from the live one), and the live
    values join the masker. Returns "container.NAME" of each masked variable, for the report."""
    masked: set[str] = set()

    def environments(td: dict | None) -> dict[str, list[dict]]:
        return {str(c.get("name")): c.get("environment") or [] for c in (td or {}).get("containerDefinitions") or [] if isinstance(c, dict)}

    live_env, wanted_env = environments(live_td), environments(wanted_td)
    live_values = {(container, str(item.get("name"))): item.get("value") for container, items in live_env.items() for item in items if isinstance(item, dict)}
    for side, envs in (("live", live_env), ("rendered", wanted_env)):
        for container, items in envs.items():
            for item in items:
                if not isinstance(item, dict) or not looks_secret(str(item.get("name", ""))) or item.get("value") in (None, "", MASK, MASKED_CHANGED):
                    continue
                value = str(item["value"])
                run.secrets.add(value)
                masked.add(f"{container}.{item.get('name')}")
                differs = side == "rendered" and (container, str(item.get("name"))) in live_values and live_values[(container, str(item.get("name")))] != item["value"]
                item["value"] = MASKED_CHANGED if differs else MASK
    return sorted(masked)


def _colour_wanted() -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("CI"):
        return False
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def text(run, result: dict) -> str | None:
    """The diffs of the services that differ; None (nothing printed) when none does."""
    chunks = []
    for entry in result.get("services", []):
        for part in (entry.get("task_definition_diff"), entry.get("service_diff")):
            if part:
                chunks.append(part)
    if not chunks:
        return None
    body = "\n".join(chunks)
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
