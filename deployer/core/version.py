"""What `deployer --version` prints: the version and the commit the running code came from.

From a source checkout the commit is asked of git (so it is never stale); an installed wheel or an
unpacked sdist has no repository, so the build wrote the commit into BUILD_COMMIT_FILE (setup.py).
setup.py loads this file on its own, at build time: it imports nothing from the package at the top.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

BUILD_COMMIT_FILE = "_build_commit.txt"
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # deployer/ (this file is deployer/core/version.py)


def git_commit(root: Path) -> str | None:
    """HEAD of the git work tree whose top is exactly `root` ("-dirty" when tracked files differ);
    None when `root` is not the top of one (an sdist unpacked inside some other repository)."""
    try:
        top, head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--show-toplevel", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True).stdout.split()
        if Path(top).resolve() != root.resolve():
            return None
        changed = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                 capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return f"{head}-dirty" if changed else head


def build_commit(package_dir: Path = PACKAGE_DIR) -> str | None:
    """The commit of this copy of the package: git's in a checkout, else the one recorded at build."""
    root = package_dir.parent
    if (root / "pyproject.toml").is_file():
        commit = git_commit(root)
        if commit:
            return commit
    recorded = package_dir / BUILD_COMMIT_FILE
    if recorded.is_file():
        return recorded.read_text().strip() or None
    return None


def version_line() -> str:
    from .. import __version__

    return f"deployer {__version__} (commit {build_commit() or 'unknown'})"
