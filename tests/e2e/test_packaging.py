"""Packaging: `scripts/lock.py --check`, the version, the wheel and sdist (`make dist` in a subprocess).
The lock's contents: tests/unit/test_lock.py; the buildspec's install and release lines run against a
wheel built here, the local AWS and a Docker engine: tests/docker/test_buildspec.py."""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

from deployer import __version__
from deployer.core.version import git_commit
from tests.conftest import ROOT, git
from tests.unit.test_lock import PYPROJECT, _load, lock, locked


dist = _load(ROOT / "scripts" / "dist.py", "scripts_dist")


# ---- the lock -------------------------------------------------------------------------------
def test_the_lock_matches_pyproject():
    assert lock.check() is None
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "lock.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ---- the version ----------------------------------------------------------------------------
def test_version_from_a_checkout_names_the_git_commit():
    result = subprocess.run([sys.executable, "-m", "deployer", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    head = git(ROOT, "rev-parse", "HEAD")
    assert result.stdout.strip() == f"deployer {__version__} (commit {git_commit(ROOT)})"
    assert git_commit(ROOT).startswith(head)


def test_a_release_tag_that_disagrees_with_the_version_stops_the_build(tmp_path):
    shutil.copy(ROOT / "setup.py", tmp_path / "setup.py")
    (tmp_path / "deployer" / "core").mkdir(parents=True)
    shutil.copy(ROOT / "deployer" / "core" / "version.py", tmp_path / "deployer" / "core" / "version.py")
    (tmp_path / "deployer" / "__init__.py").write_text('__version__ = "1.2.0"\n')
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "release")
    git(tmp_path, "tag", "v1.2.0")
    setup = _load(tmp_path / "setup.py", "deployer_setup")
    assert setup.checkout_commit() == git(tmp_path, "rev-parse", "HEAD")
    git(tmp_path, "tag", "v1.3.0")
    with pytest.raises(SystemExit, match=r"tag v1.3.0 does not match __version__ = '1.2.0' in deployer/__init__.py"):
        setup.checkout_commit()


# ---- wheel and sdist ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """`make dist` into a temporary directory: sdist, the wheel built from it, the requirements."""
    if importlib.util.find_spec("build") is None:
        if os.environ.get("CI"):
            pytest.fail("the `build` package is missing (make install installs requirements/lock.txt)")
        pytest.skip("needs the `build` package: run through `make test`")
    outdir = tmp_path_factory.mktemp("dist")
    # One build at a time: `python -m build` works in the checkout (build/, *.egg-info), and with
    # pytest-xdist this module and tests/docker/test_buildspec.py may build at once on two workers
    # (getbasetemp().parent is the run's directory, shared by its workers).
    with open(tmp_path_factory.getbasetemp().parent / "make-dist.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        subprocess.run([sys.executable, str(ROOT / "scripts" / "dist.py"), "--outdir", str(outdir)],
                       check=True, capture_output=True, text=True)
    return outdir


def test_make_dist_builds_a_wheel_and_sdist_that_record_the_commit(built):
    commit = git_commit(ROOT)
    wheel = built / f"ecs_app_deployer-{__version__}-py3-none-any.whl"
    sdist = built / f"ecs_app_deployer-{__version__}.tar.gz"
    assert wheel.is_file() and sdist.is_file()
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read("deployer/_build_commit.txt").decode().strip() == commit
        metadata = zf.read(f"ecs_app_deployer-{__version__}.dist-info/METADATA").decode()
        entry_points = zf.read(f"ecs_app_deployer-{__version__}.dist-info/entry_points.txt").decode()
    assert "Name: ecs-app-deployer\n" in metadata and f"Version: {__version__}\n" in metadata
    assert "deployer = deployer.cli.app:main" in entry_points
    for requirement in PYPROJECT["project"]["dependencies"]:
        assert f"Requires-Dist: {requirement}" in metadata
    with tarfile.open(sdist) as tf:
        member = tf.extractfile(f"ecs_app_deployer-{__version__}/deployer/_build_commit.txt")
        assert member.read().decode().strip() == commit
    requirements = (built / dist.REQUIREMENTS_NAME).read_text()
    assert f"ecs-app-deployer=={__version__} \\\n    --hash=sha256:" in requirements
    assert set(locked(built / dist.REQUIREMENTS_NAME)) == set(locked(ROOT / "requirements" / "runtime.txt")) | {"ecs-app-deployer"}


