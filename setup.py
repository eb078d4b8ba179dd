"""Build hooks (everything else is in pyproject.toml): record the commit a wheel or sdist is built
from, so `deployer --version` can say it where there is no git repository (deployer/core/version.py).

A wheel built from an sdist (what `python -m build` and pip do) has no .git either: it takes the
commit the sdist recorded. A tagged commit whose tag is not v<deployer.__version__> is refused, so
a release tag and the version it installs cannot disagree.
"""
from __future__ import annotations

import ast
import importlib.util
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent


def _version_module():
    """deployer/core/version.py alone (the package's dependencies need not be installed to build)."""
    spec = importlib.util.spec_from_file_location("_deployer_version", ROOT / "deployer" / "core" / "version.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


VERSION = _version_module()
COMMIT_FILE = Path("deployer") / VERSION.BUILD_COMMIT_FILE


def source_version() -> str:
    tree = ast.parse((ROOT / "deployer" / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__version__" for t in node.targets):
            return ast.literal_eval(node.value)
    raise SystemExit("deployer/__init__.py: no __version__")


def checkout_commit() -> str | None:
    """HEAD when ROOT is the top of a git work tree ("-dirty" with uncommitted changes), else None.
    A v* tag on HEAD must name the version in deployer/__init__.py."""
    commit = VERSION.git_commit(ROOT)
    if commit:
        tags = subprocess.run(["git", "-C", str(ROOT), "tag", "--points-at", "HEAD"], capture_output=True,
                              text=True, timeout=20, check=True).stdout.split()
        version = source_version()
        for tag in tags:
            if tag.startswith("v") and tag[1:] != version:
                raise SystemExit(f"tag {tag} does not match __version__ = {version!r} in deployer/__init__.py")
    return commit


def commit_to_record() -> str:
    commit = checkout_commit()
    if commit:
        return commit
    recorded = ROOT / COMMIT_FILE  # building from an unpacked sdist
    return recorded.read_text().strip() if recorded.is_file() else "unknown"


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / COMMIT_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(commit_to_record() + "\n")


class Sdist(sdist):
    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        target = Path(base_dir) / COMMIT_FILE
        if target.exists():
            target.unlink()  # a hard link to the source tree's copy: never write through it
        target.write_text(commit_to_record() + "\n")


if __name__ == "__main__":  # setuptools.build_meta runs this file as __main__
    setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
