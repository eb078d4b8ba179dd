"""Build secrets: where each comes from (`image.secrets:` and `--secret` flags), and how it reaches
BuildKit's `RUN --mount=type=secret` — and nothing else.

Sources: `env` (an environment variable), `src` (a file), `ssm` (an SSM parameter, decrypted) and
`secretsmanager` (a Secrets Manager secret's string). Values read from AWS are handed to the docker
CLI in its own environment (`--secret id=X,env=DEPLOYER_BUILD_SECRET_n`): never a file, never a
build arg, never a label. Every value is also returned for masking, so a RUN step that echoes it
does not print it through deployer.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import BadInput

KINDS = ("env", "src", "ssm", "secretsmanager")
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
ENV_PREFIX = "DEPLOYER_BUILD_SECRET_"
MAX_SECRET_BYTES = 500 * 1024  # BuildKit's own limit for one secret
FLAG_ORIGIN = "--secret"


@dataclass(frozen=True)
class SecretSource:
    id: str
    kind: str  # env | src | ssm | secretsmanager
    ref: str  # variable name, file path, parameter name, secret id
    origin: str  # where it was given, for messages: "--secret", "deployer.yaml image.secrets.npm_token"


@dataclass(frozen=True)
class ResolvedSecrets:
    flags: list[str]  # --secret values for the docker CLI
    env: dict[str, str]  # extra environment for the docker CLI process
    values: list[str]  # for masking


def parse_flag(text: str) -> SecretSource:
    """`--secret id=NAME,env=VAR` | `id=NAME,src=FILE` | `id=NAME,ssm=PARAM` | `id=NAME,secretsmanager=ID`
    (BuildKit's syntax; `type=env|file` and `source=` are accepted too; `id=NAME` alone reads $NAME)."""
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"--secret {text!r}: expected id=NAME,env=VAR or id=NAME,src=FILE (comma-separated KEY=VALUE)")
        fields[key.strip().lower()] = value.strip()
    ident = fields.pop("id", "")
    kind = fields.pop("type", "")
    if "source" in fields:
        fields["src"] = fields.pop("source")
    kind = {"file": "src", "": ""}.get(kind, kind)
    named = [k for k in fields if k in KINDS]
    unknown = [k for k in fields if k not in KINDS]
    if unknown or len(named) > 1:
        raise BadInput(f"--secret {text!r}: unknown or repeated field {(unknown or named)[-1]!r} (use one of env=, src=, ssm=, secretsmanager=)")
    if named:
        kind = named[0]
        ref = fields[kind]
    elif kind in KINDS:
        ref = ident
    else:
        kind, ref = "env", ident
    return _checked(SecretSource(ident, kind, ref, FLAG_ORIGIN), text)


def from_config(mapping: dict[str, str], where: str) -> list[SecretSource]:
    """`image.secrets: {ID: "env:VAR" | "src:FILE" | "ssm:/name" | "secretsmanager:name"}`."""
    sources = []
    for ident, spec in (mapping or {}).items():
        kind, sep, ref = str(spec).partition(":")
        origin = f"{where} image.secrets.{ident}"
        if not sep or kind not in KINDS:
            raise BadInput(f"{origin}: {spec!r} is not a secret source; use env:VAR, src:FILE, ssm:NAME or secretsmanager:NAME")
        sources.append(_checked(SecretSource(str(ident), kind, ref, origin), str(spec)))
    return sources


def _checked(source: SecretSource, text: str) -> SecretSource:
    if not _ID.match(source.id):
        raise BadInput(f"{source.origin} {text!r}: the secret id must be 1-128 letters, digits, '_', '.', '-'")
    if not source.ref:
        raise BadInput(f"{source.origin} {text!r}: the {source.kind} source is empty")
    return source


def merge(config_sources: list[SecretSource], flag_sources: list[SecretSource]) -> list[SecretSource]:
    """Flags override the config for the same id."""
    merged = {s.id: s for s in config_sources}
    merged.update({s.id: s for s in flag_sources})
    return list(merged.values())


def check(sources: list[SecretSource], *, root: Path, repo_root: Path | None, env_allow: list[str] | None) -> None:
    """Before any build: which variables and files the build may read (BadInput names the id and where
    it was given, never a value).

    - `env:` an AWS credential variable (the release role's own): never.
    - `env:` a credential variable (a CI token, a name that says secret) from deployer.yaml: only when
      `env_allow:` names it; on the command line (`--secret`) the operator named it on purpose.
    - `src:` from deployer.yaml: a file of the app repository (symlinks followed); on the command line: a
      regular file anywhere but /proc, /sys and /dev. At most MAX_SECRET_BYTES either way.
    """
    for source in sources:
        if source.kind == "env":
            _check_env(source, env_allow)
        elif source.kind == "src":
            _src_path(source, root, repo_root)


def _check_env(source: SecretSource, env_allow: list[str] | None) -> None:
    from ..core.secret_names import is_aws_credential, is_credential_name

    where = f"build secret {source.id!r} ({source.origin})"
    if is_aws_credential(source.ref):
        raise BadInput(
            f"{where}: {source.ref} is an AWS credential variable; the release role's credentials never go into a build",
            hint="give the build what it needs from SSM or Secrets Manager (ssm:NAME, secretsmanager:NAME)",
        )
    if source.origin != FLAG_ORIGIN and is_credential_name(source.ref) and source.ref not in (env_allow or []):
        raise BadInput(
            f"{where}: {source.ref} is a credential variable (a CI token, or a name that says it holds a secret); "
            "deployer.yaml may hand it to the build only when `env_allow:` names it",
            hint=f"add {source.ref} to `env_allow:` in deployer.yaml, or pass it on the command line: --secret id={source.id},env={source.ref}",
        )


def _src_path(source: SecretSource, root: Path, repo_root: Path | None) -> Path:
    from ..manifest import files

    where = f"build secret {source.id!r} ({source.origin}): file {source.ref}"
    if source.origin != FLAG_ORIGIN:
        if repo_root is None:
            raise BadInput(f"{where}: deployer.yaml's build-secret files must be files of the app repository")
        return files.confined(source.ref, root, repo_root, what=where)
    if "\x00" in source.ref:
        raise BadInput(f"{where}: the path contains a NUL byte")
    path = (root / os.path.expanduser(source.ref)).resolve()
    if str(path).startswith(tuple(p + "/" for p in files.PSEUDO_FILESYSTEMS)) or str(path) in files.PSEUDO_FILESYSTEMS:
        raise BadInput(f"{where}: is a file the kernel makes up ({path.parts[1]}), not a secret file")
    return path


def resolve(sources: list[SecretSource], aws, root: Path, *, repo_root: Path | None = None, env_allow: list[str] | None = None) -> ResolvedSecrets:
    """Check every source and read the AWS ones; BadInput names the id and where it was given."""
    check(sources, root=root, repo_root=repo_root, env_allow=env_allow)
    flags, env, values = [], {}, []
    for index, source in enumerate(sources):
        if source.kind == "env":
            if source.ref not in os.environ:
                raise BadInput(f"build secret {source.id!r} ({source.origin}): environment variable {source.ref} is not set")
            flags.append(f"id={source.id},env={source.ref}")
            values.append(os.environ[source.ref])
        elif source.kind == "src":
            path = _src_path(source, root, repo_root)
            if not path.is_file() or not os.access(path, os.R_OK):
                raise BadInput(f"build secret {source.id!r} ({source.origin}): file {source.ref} not found or not readable")
            flags.append(f"id={source.id},src={path}")
            values.append(_text(path, source))
        else:
            value = _read_aws(source, aws)
            name = f"{ENV_PREFIX}{index}"
            env[name] = value
            flags.append(f"id={source.id},env={name}")
            values.append(value)
    return ResolvedSecrets(flags, env, _maskable(values))


MASK_MIN_LINE = 6  # a line or a JSON field of a secret masked alone ("}" or "[auth]" would mask ordinary output)
MASK_MIN_TOKEN = 8  # a token (split at spaces, `=`, `:`, `,`, `;`, quotes) masked alone
_TOKEN = re.compile(r"[^\s=:,;\"']+")


def _maskable(values: list[str]) -> list[str]:
    """What of each value the build output must never show (the masker adds its encodings: JSON,
    URL, base64...): the value; each line; each leaf of a JSON value (one field of a JSON secret);
    each token of at least MASK_MIN_TOKEN characters that is not a key (one token of a file secret:
    the value of `password=...` or `//registry/:_authToken=...`). A RUN step that transforms a secret (`sed 's/./&_/g'`, `rev`)
    still prints it: no masker can catch that; the boundary is which credentials are build secrets."""
    found: list[str] = []

    def keep(piece: str, minimum: int) -> None:
        if piece and len(piece) >= minimum and piece not in found:
            found.append(piece)

    for value in values:
        if value and value not in found:
            found.append(value)
        for line in value.splitlines():
            keep(line.strip(), MASK_MIN_LINE)
        for leaf in _json_leaves(value):
            keep(leaf, MASK_MIN_LINE)
        for match in _TOKEN.finditer(value):
            if value[match.end():match.end() + 64].lstrip(" \t")[:1] in ("=", ":"):
                continue  # a key (`password=`, `_authToken=`, `https:`), not a value
            keep(match.group(), MASK_MIN_TOKEN)
    return found


def _json_leaves(value: str) -> list[str]:
    import json

    try:
        parsed = json.loads(value)
    except ValueError:
        return []
    leaves: list[str] = []
    stack = [parsed]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            leaves.append(item)
        elif item is not None and not isinstance(item, bool):
            leaves.append(json.dumps(item))
    return leaves


def _text(path: Path, source: SecretSource) -> str:
    """The file's text, for masking (a binary secret is passed on, but has no text form to mask)."""
    from ..manifest import files

    data = files.read_bytes(path, what=f"build secret {source.id!r} ({source.origin}): file {source.ref}", max_bytes=MAX_SECRET_BYTES)
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        return ""


def _read_aws(source: SecretSource, aws) -> str:
    from ..aws.stores import parameter, secret_value

    what = "SSM parameter" if source.kind == "ssm" else "Secrets Manager secret"
    doing = f"reading build secret {source.id!r} from the {what} {source.ref}"
    if source.kind == "ssm":
        found = parameter(aws, source.ref, doing=doing)
        value = None if found is None else found["Value"]
    else:
        value = secret_value(aws, source.ref, doing=doing)
    if value is None:
        raise BadInput(f"build secret {source.id!r} ({source.origin}): {what} {source.ref} not found") from None
    return value


def looks_secret(name: str) -> bool:
    """NPM_TOKEN, DB_PASSWORD, AWS_SECRET_ACCESS_KEY, apiKey, client_secret...: a credential by its name (deployer/core/secret_names.py)."""
    from ..core.secret_names import looks_secret as predicate

    return predicate(name)


def refuse_secret_build_args(build_args: dict[str, str], origin: dict[str, str]) -> None:
    """Build args are written into the image history: a secret-looking one is refused (exit 2)."""
    for name in build_args:
        if looks_secret(name):
            where = origin.get(name, f"--build-arg {name}")
            secret_id = name.lower()
            raise BadInput(
                f"{where}: `{name}` looks like a secret, and build args are stored in the image history "
                "(`docker history` shows them); pass it as a build secret instead",
                hint=f"--secret id={secret_id},env={name} (or image.secrets: {{{secret_id}: env:{name}}}) and in the Dockerfile "
                f"`RUN --mount=type=secret,id={secret_id} {name}=$(cat /run/secrets/{secret_id}) ...`",
            )
