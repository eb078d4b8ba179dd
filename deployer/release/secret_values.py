"""The values of a task definition's `secrets` (valueFrom), read so the masker can hide them.

`run` (a one-off task's log lines, its stopped reason) and a failed release's diagnosis (the
stopped tasks' reasons and last log lines) print text the app wrote, and the app may write its
own secrets. Both learn the values here first: SSM parameters (SecureString decrypted), Secrets
Manager secrets (the string, every JSON leaf of it, the `:json-key:` named; a binary secret as
its bytes decoded and base64). Best effort: a role that cannot read one still gets the rest, and
the caller learns which it could not read (`Unread`): `logs` and `run` warn the operator that those
values are not masked (`unmasked_warning`); a release's diagnosis does not (the release role has no
GetSecretValue by design: its failed tasks' lines are masked where it can, without a warning).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from ..aws import stores
from ..aws.session import error_code
from ..core.console import quote_untrusted
from ..core.secrets import Secrets


@dataclass(frozen=True)
class Unread:
    """A container secret whose value could not be read, so it is not masked."""

    name: str  # the environment variable the container gets
    container: str
    value_from: str
    reason: str  # short: "access denied", "KMS refused to decrypt it", "not found (deleted?)", an AWS error code

    @property
    def store(self) -> str:
        return "secretsmanager" if ":secretsmanager:" in self.value_from else "ssm"

    def as_dict(self) -> dict:
        return {"name": self.name, "container": self.container, "value_from": self.value_from, "reason": self.reason}


class _NotFound(Exception):
    pass


def learn_container_secrets(run, containers) -> list[Unread]:
    """Add the values of every container's `secrets` to run.secrets. Returns those that could not be
    read (their values are NOT masked); the caller decides whether to tell (see unmasked_warning)."""
    unread: list[Unread] = []
    seen: set[str] = set()
    for container in containers or []:
        for item in (container or {}).get("secrets") or []:
            ref = str(item.get("valueFrom", ""))
            if not ref or ref in seen:
                continue
            seen.add(ref)
            try:
                _learn(run, ref, run.secrets)
            except Exception as exc:  # noqa: BLE001 - masking is best effort; the task reads them, not us
                run.console.debug(f"could not read secret {item.get('name')} to mask it: {run.console.quote(exc)}")
                unread.append(Unread(str(item.get("name", "")), str((container or {}).get("name", "")), ref, _reason(exc)))
    return unread


def _reason(exc: BaseException) -> str:
    if isinstance(exc, _NotFound):
        return "not found (deleted?)"
    cause = exc.__cause__ or exc
    code = error_code(cause) or ""
    text = str(exc).lower()
    # SSM: AccessDeniedException "... not authorized to perform: kms:Decrypt ..."; Secrets Manager: "Access to KMS is not allowed".
    if code.startswith("KMS") or "kms:" in text or "access to kms" in text:
        return "KMS refused to decrypt it"
    if "AccessDenied" in code or "not authorized" in text:
        return "access denied"
    if code:
        return code
    return "AWS unreachable" if "unreachable" in text else type(exc).__name__


def unmasked_warning(unread: list[Unread], *, use: str) -> str | None:
    """One warning for the operator, to print before the first log line: which secrets could not be read,
    that their values are NOT masked in what follows, and which statement of `deployer iam-policy --for
    <use>` lets the role read them."""
    if not unread:
        return None
    # The names come from the task definition in AWS, a reason may be AWS's error code: quoted, so none can
    # end this line or start another.
    said = "; ".join(f"{quote_untrusted(u.name)} of container {quote_untrusted(u.container)} ({quote_untrusted(u.value_from)}: {quote_untrusted(u.reason)})"
                     for u in unread)
    refused = [u for u in unread if not u.reason.startswith("not found")]
    statements = []
    if any(u.store == "ssm" for u in refused):
        statements.append("MaskTaskSecrets (ssm:GetParameter)")
    if any(u.store == "ssm" and u.reason.startswith("KMS") for u in refused):
        statements.append("DecryptSecureStrings (kms:Decrypt via SSM)")
    if any(u.store == "secretsmanager" and not u.reason.startswith("KMS") for u in refused):
        statements.append("MaskTaskSecretsManager (secretsmanager:GetSecretValue)")
    one = len(unread) == 1
    text = (f"could not read the task's {'secret' if one else f'{len(unread)} secrets'} to mask {'it' if one else 'them'}: {said} — "
            f"{'its value is' if one else 'their values are'} NOT masked in the lines below")
    if statements:
        text += f"; to mask {'it' if one else 'them'}, give the role the statement{'' if len(statements) == 1 else 's'} {' and '.join(statements)} of `deployer iam-policy --for {use}`"
    if any(u.store == "secretsmanager" and u.reason.startswith("KMS") for u in refused):
        text += ("; a secret encrypted with a customer managed KMS key also needs kms:Decrypt on that key "
                 "(its key policy, or a statement of your own: `deployer iam-policy` does not name the key)")
    if len(refused) < len(unread):
        text += "; a secret deleted since the task started: the task still holds its value, deployer cannot learn it"
    return text


def _learn(run, ref: str, secrets: Secrets) -> None:
    if ":secretsmanager:" in ref:
        parts = ref.split(":")
        secret_id = ":".join(parts[:7])  # arn:aws:secretsmanager:region:account:secret:name
        json_key = parts[7] if len(parts) > 7 else ""
        stage = parts[8] if len(parts) > 8 and parts[8] else None
        version = parts[9] if len(parts) > 9 and parts[9] else None
        found = stores.secret(run.aws, secret_id, stage=stage, version=version, doing=f"reading secret {secret_id}", attempts=2)
        if found is None:
            raise _NotFound(ref)
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
    found = stores.parameter(run.aws, name, doing=f"reading SSM parameter {name}", attempts=2)
    if found is None:
        raise _NotFound(ref)
    add_text_secret(secrets, found.get("Value") or "")


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
