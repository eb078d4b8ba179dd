"""Read a Dockerfile before building it: which BuildKit-only features it uses, which build secrets
and SSH mounts its RUN steps expect. Plain text scanning (the instructions, their flags, line
continuations, heredocs), so a missing secret or a missing BuildKit is reported before the build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import BadInput

_DIRECTIVE = re.compile(r"^#\s*(syntax|escape)\s*=\s*(\S+)", re.IGNORECASE)
_INSTRUCTION = re.compile(r"^\s*([A-Za-z]+)\s*(.*)$", re.DOTALL)
_FLAG = re.compile(r"--([a-z-]+)(?:=(\"[^\"]*\"|'[^']*'|\S+))?")
_HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")


@dataclass(frozen=True)
class Mount:
    line: int
    type: str  # secret | ssh | cache | bind | tmpfs
    id: str
    required: bool


@dataclass
class DockerfileScan:
    path: Path
    buildkit_features: list[str] = field(default_factory=list)  # "Dockerfile:7 RUN --mount", ...
    mounts: list[Mount] = field(default_factory=list)

    @property
    def needs_buildkit(self) -> bool:
        return bool(self.buildkit_features)

    def secret_ids(self, *, required_only: bool = True) -> dict[str, int]:
        """id -> first line using it."""
        found: dict[str, int] = {}
        for mount in self.mounts:
            if mount.type == "secret" and (mount.required or not required_only):
                found.setdefault(mount.id, mount.line)
        return found

    def ssh_ids(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for mount in self.mounts:
            if mount.type == "ssh" and mount.required:
                found.setdefault(mount.id, mount.line)
        return found


def scan(path: Path) -> DockerfileScan:
    from ..manifest.files import read_text

    text = read_text(path, what=path.name)  # UTF-8, no NUL, bounded; errors never quote it
    result = DockerfileScan(path)
    lines = text.splitlines()
    escape = "\\"
    for index, line in enumerate(lines[:20]):  # parser directives come first
        match = _DIRECTIVE.match(line)
        if not match:
            break
        if match.group(1).lower() == "escape":
            escape = match.group(2)
        else:
            result.buildkit_features.append(f"{path.name}:{index + 1} `# syntax={match.group(2)}` (a frontend image BuildKit pulls)")
    for start, instruction in _instructions(lines, escape):
        _inspect(result, path.name, start, instruction)
    return result


def _instructions(lines: list[str], escape: str):
    """(first line number, the instruction joined over its continuations), heredoc bodies skipped."""
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip() or line.lstrip().startswith("#"):
            index += 1
            continue
        start, parts = index + 1, [line]
        while parts[-1].rstrip().endswith(escape) and index + 1 < len(lines):
            parts[-1] = parts[-1].rstrip()[: -len(escape)]
            index += 1
            while index + 1 < len(lines) and lines[index].lstrip().startswith("#"):
                index += 1  # comment lines inside a continuation are dropped, as docker does
            parts.append(lines[index])
        joined = " ".join(p.strip() for p in parts)
        index += 1
        heredocs = _HEREDOC.findall(joined) if _INSTRUCTION.match(joined) and joined.split()[0].upper() in ("RUN", "COPY", "ADD") else []
        for word in heredocs:  # skip each heredoc body up to its terminator
            while index < len(lines) and lines[index].strip() != word:
                index += 1
            index += 1
        yield start, (joined, bool(heredocs))


def _inspect(result: DockerfileScan, name: str, line: int, instruction: tuple[str, bool]) -> None:
    text, has_heredoc = instruction
    match = _INSTRUCTION.match(text)
    if not match:
        return
    keyword, rest = match.group(1).upper(), match.group(2)
    where = f"{name}:{line}"
    if has_heredoc:
        result.buildkit_features.append(f"{where} {keyword} with a heredoc")
    flags = []
    for token in rest.split():
        if not token.startswith("--"):
            break
        flags.append(token)
    for flag in flags:
        flag_match = _FLAG.match(flag)
        if not flag_match:
            continue
        option, value = flag_match.group(1), (flag_match.group(2) or "").strip("\"'")
        if keyword == "RUN" and option in ("mount", "network", "security"):
            _feature(result, f"{where} RUN --{option}")
            if option == "mount":
                result.mounts.append(_mount(where, line, value))
        elif keyword in ("COPY", "ADD") and option in ("link", "chmod", "parents", "exclude", "checksum", "keep-git-dir"):
            _feature(result, f"{where} {keyword} --{option}")


def _feature(result: DockerfileScan, text: str) -> None:
    if text not in result.buildkit_features:
        result.buildkit_features.append(text)


def _mount(where: str, line: int, value: str) -> Mount:
    options: dict[str, str] = {}
    for part in value.split(","):
        key, _, val = part.partition("=")
        options[key.strip().lower()] = val.strip()
    kind = options.get("type", "bind")
    target = options.get("target") or options.get("dst") or options.get("destination") or ""
    if kind == "secret":
        ident = options.get("id") or target.rstrip("/").rsplit("/", 1)[-1]  # BuildKit's default id
        if not ident:
            raise BadInput(f"{where}: RUN --mount=type=secret needs an `id` (or a `target`)")
    elif kind == "ssh":
        ident = options.get("id") or "default"
    else:
        ident = options.get("id") or target
    required = options.get("required", "true" if kind in ("secret", "ssh") else "false").lower() not in ("false", "0")
    return Mount(line, kind, ident, required)
