"""The values of a task definition's `secrets` (valueFrom), read so the masker can hide them.

`run` (a one-off task's log lines, its stopped reason) and a failed release's diagnosis (the
stopped tasks' reasons and last log lines) print text the app wrote, and the app may write its
own secrets. Both learn the values here first: SSM parameters (SecureString decrypted), Secrets
Manager secrets (the string, every JSON leaf of it, the `:json-key:` named; a binary secret as
its bytes decoded and base64). Best effort: a role that cannot read one still gets the rest.
"""

from __future__ import annotations

import base64
import json

from ..aws import stores
from ..core.secrets import Secrets


def learn_container_secrets(run, containers) -> int:
    """Add the values of every container's `secrets` to run.secrets. Returns how many were read."""
    read = 0
    seen: set[str] = set()
    for container in containers or []:
        for item in (container or {}).get("secrets") or []:
            ref = str(item.get("valueFrom", ""))
            if not ref or ref in seen:
                continue
            seen.add(ref)
            try:
                _learn(run, ref, run.secrets)
                read += 1
            except Exception as exc:  # noqa: BLE001 - masking is best effort; the task reads them, not us
                run.console.debug(f"could not read secret {item.get('name')} to mask it: {run.console.quote(exc)}")
    return read


def _learn(run, ref: str, secrets: Secrets) -> None:
    if ":secretsmanager:" in ref:
        parts = ref.split(":")
        secret_id = ":".join(parts[:7])  # arn:aws:secretsmanager:region:account:secret:name
        json_key = parts[7] if len(parts) > 7 else ""
        stage = parts[8] if len(parts) > 8 and parts[8] else None
        version = parts[9] if len(parts) > 9 and parts[9] else None
        found = stores.secret(run.aws, secret_id, stage=stage, version=version, doing=f"reading secret {secret_id}", attempts=2) or {}
        if found.get("SecretBinary") is not None and found.get("SecretString") is None:
            binary = found["SecretBinary"]
            if isinstance(binary, str):  # some clients hand it over base64-encoded
                secrets.add(binary)
                binary = base64.b64decode(binary)
            secrets.add_bytes(binary)
            return
        add_text_secret(secrets, found.get("SecretString") or "", json_key=json_key)
        return
    name = ref.split(":parameter", 1)[-1] if ref.startswith("arn:") else ref
    value = (stores.parameter(run.aws, name, doing=f"reading SSM parameter {name}", attempts=2) or {}).get("Value") or ""
    add_text_secret(secrets, value)


def add_text_secret(secrets: Secrets, value: str, *, json_key: str = "") -> None:
    """The value, and when it is a JSON document every leaf of it (what `:json-key:` can hand a container)."""
    secrets.add(value)
    try:
        parsed = json.loads(value)
    except ValueError:
        return
    if json_key and isinstance(parsed, dict) and isinstance(parsed.get(json_key), (dict, list)):
        secrets.add(json.dumps(parsed[json_key]))  # ECS hands a nested value over as its JSON text
        secrets.add(json.dumps(parsed[json_key], separators=(",", ":")))
    secrets.update(_leaves(parsed))


def _leaves(value) -> list[str]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    if value is None:
        return []
    return [value if isinstance(value, str) else json.dumps(value)]
