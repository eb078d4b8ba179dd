"""The one rule for every file deployer reads from, or writes into, the app repository.

The app repository is attacker-controlled input (a pull request edits it and CI runs deployer),
so every file it names:
- resolves, symlinks followed, inside the repository (`confined`): the nearest directory up with a
  `.git` from the config *as given* (never from a symlink's target), else the config's directory;
- is a regular file of UTF-8 text without NUL bytes, at most MAX_TEXT_BYTES (`read_text`);
- is never quoted in an error: messages name the path as the user wrote it (relative), and a refused
  file is not even opened.
Writes (`init`) never follow a symlink out of the repository, and replace files atomically.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from ..core.errors import BadInput

MAX_TEXT_BYTES = 1024 * 1024  # deployer.yaml, a template, a Dockerfile: far more than any real one
# Files the kernel makes up (reading them reads the process, the machine or a device), whatever the repository.
PSEUDO_FILESYSTEMS = ("/proc", "/sys", "/dev")


def repo_root_of(directory: Path | str) -> Path:
    """The app repository (resolved): the nearest directory up from `directory` as written — its
    components are not resolved first, so a symlink cannot move the repository — that has .git,
    else `directory` itself."""
    start = Path(os.path.abspath(directory))
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate.resolve()
    return start.resolve()


def shown(path: Path | str) -> str:
    """A path for messages: relative to the working directory when that is shorter."""
    text = str(path)
    try:
        relative = os.path.relpath(text)
    except ValueError:
        return text
    return relative if len(relative) <= len(text) else text


def inside(path: Path, repo_root: Path) -> bool:
    repo = repo_root.resolve()
    return path == repo or repo in path.parents


def confined(name: str | Path, base: Path, repo_root: Path, *, what: str) -> Path:
    """base/name resolved (symlinks followed); BadInput naming `what` (the path as written) when that
    lands outside repo_root. The file is not opened, so it cannot be quoted."""
    text = str(name)
    if "\x00" in text:
        raise BadInput(f"{printable_name(what)}: the path contains a NUL byte")
    raw = Path(text)
    try:
        resolved = (base / raw).resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop
        raise BadInput(f"{what}: cannot be resolved (a symlink loop?)") from None
    repo = repo_root.resolve()
    if inside(resolved, repo):
        return resolved
    lexical = Path(os.path.normpath(base / raw))
    how = ""
    if raw.is_absolute():
        how = " (an absolute path)"
    elif inside(lexical, repo):
        how = f" (a symlink to {resolved})"
    raise BadInput(
        f"{what} is outside the app repository{how}",
        hint=f"deployer.yaml, templates, includes, the Dockerfile, the build context and build-secret files must be files of the app repository ({repo})",
    )


def read_bytes(path: Path, *, what: str, max_bytes: int = MAX_TEXT_BYTES, hint: str | None = None, missing: str = "") -> bytes:
    """A regular file's bytes, at most max_bytes; BadInput naming `what` otherwise (never the content).
    The one reader: deployer.yaml, templates, includes, Jsonnet imports, the Dockerfile, build secrets.
    Opened without blocking and without taking a terminal, so a FIFO or a device is refused, never read."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise BadInput(f"{what}: file not found" + (f" {missing}" if missing else ""), hint=hint) from None
    except IsADirectoryError:
        raise BadInput(f"{what}: is a directory, not a file", hint=hint) from None
    except OSError as exc:
        raise BadInput(f"{what}: cannot be read ({exc.strerror})", hint=hint) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise BadInput(f"{what}: is a directory, not a file", hint=hint)
        if not stat.S_ISREG(info.st_mode):
            raise BadInput(f"{what}: not a regular file (a device, FIFO or socket)", hint=hint)
        too_big = f"more than the {max_bytes} bytes a file of deployer may have"
        if info.st_size > max_bytes:
            raise BadInput(f"{what}: {info.st_size} bytes, {too_big}", hint=hint)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:  # it grew while being read
                raise BadInput(f"{what}: {too_big}", hint=hint)
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def decode_text(data: bytes, *, what: str, nul_ok: bool = False) -> str:
    """UTF-8 text without NUL bytes (nul_ok: the caller's parser refuses them itself, naming the line);
    BadInput naming `what` and the line otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BadInput(f"{what}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x})") from None
    if "\x00" in text and not nul_ok:
        line = text[: text.index("\x00")].count("\n") + 1
        raise BadInput(f"{what}:{line}: contains a NUL byte (a binary file, not text)")
    return text


def read_text(path: Path, *, what: str | None = None, max_bytes: int = MAX_TEXT_BYTES, nul_ok: bool = False) -> str:
    """read_bytes + decode_text. `path` should come from `confined` (or be the config as given)."""
    what = what or shown(path)
    return decode_text(read_bytes(path, what=what, max_bytes=max_bytes), what=what, nul_ok=nul_ok)


def writable(path: Path, repo_root: Path, *, what: str) -> Path:
    """Where writing `path` lands: the path itself, or — when it is a symlink to a file inside the
    repository — that file; BadInput when the directory or the link leads outside repo_root.
    Nothing is written here: `init` checks every file before writing the first."""
    if "\x00" in str(path):
        raise BadInput(f"{printable_name(what)}: the path contains a NUL byte")
    directory = Path(os.path.abspath(path)).parent
    real_directory = directory.resolve()
    if not inside(real_directory, repo_root):
        raise BadInput(f"{what}: its directory is outside the app repository (a symlink to {real_directory}); nothing was written")
    target = real_directory / Path(path).name
    if target.is_symlink() or (target.exists() and not target.is_file()):
        real = confined(target.name, real_directory, repo_root, what=f"{what} (a symlink)")
        if real.exists() and not real.is_file():
            raise BadInput(f"{what}: not a regular file; nothing was written")
        return real
    return target


def write_text(path: Path, content: str) -> None:
    """Write atomically (a temporary file in the same directory, renamed over `path`): a symlink at
    `path` is replaced, never followed; the mode is the umask's, as for any new file."""
    directory = path.parent
    temporary = directory / f".{path.name}.deployer-{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def printable_name(name: Any) -> str:
    """A file name as written, printable: control characters and NUL escaped, long names cut."""
    text = str(name)
    if any(not c.isprintable() for c in text):
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= 200 else text[:200] + "…"


_SYSTEM_TREES = tuple(Path(p) for p in PSEUDO_FILESYSTEMS)


def open_inside(base: Path, repo_root: Path, name: Any, *, what: str, missing: str = "") -> tuple[Path, bytes]:
    """The bytes of the regular file `name` (relative to base) inside the app repository after resolving
    symlinks: a Jinja include, a Jsonnet import. Refused, never read, never quoted: an absolute path, a
    NUL byte, `..` or a symlink that leads outside the repository, /proc, /sys, /dev, a device, a FIFO,
    a directory, a file over MAX_TEXT_BYTES. Messages name `what` (the name as written), never an outside path."""
    text = str(name)
    hint = "includes and imports are files of the app repository, named relative to the file that includes them"
    if "\x00" in text:
        raise BadInput(f"{what}: the name contains a NUL byte", hint=hint)
    if not text or os.path.isabs(text) or text.startswith("~"):
        raise BadInput(f"{what} is outside the app repository (an absolute path)", hint=hint)
    repo = repo_root.resolve()
    lexical = Path(os.path.normpath(base / text))
    resolved = (base / text).resolve()
    for tree in _SYSTEM_TREES:
        if resolved == tree or tree in resolved.parents or lexical == tree or tree in lexical.parents:
            raise BadInput(f"{what} is outside the app repository (a system file)", hint=hint)
    if not (resolved == repo or repo in resolved.parents):
        how = " (a symlink that leads out of it)" if (lexical == repo or repo in lexical.parents) else " (`..` leads out of it)"
        raise BadInput(f"{what} is outside the app repository{how}", hint=hint)
    return resolved, read_bytes(resolved, what=what, hint=hint, missing=missing)
