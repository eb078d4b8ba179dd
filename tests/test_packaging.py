"""Packaging: the lock, the version, the wheel and sdist, and the buildspec's own install line run
against a wheel built here (in a fresh virtualenv), then its deployer line against the local AWS."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest
import yaml

from deployer import __version__
from deployer.version import git_commit
from tests.conftest import ROOT, git
from tests.localaws import compat



def _load(path: Path, name: str):
    """A script as a module (not __main__: setup.py then defines its hooks and runs no setup())."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lock, dist = _load(ROOT / "scripts" / "lock.py", "scripts_lock"), _load(ROOT / "scripts" / "dist.py", "scripts_dist")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^ ;\\]+)")


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement).group(0)).lower()


def locked(path: Path) -> dict[str, list[tuple[str, int]]]:
    """name -> [(version, number of hashes)] (a name appears twice when markers split it)."""
    pins: dict[str, list[tuple[str, int]]] = {}
    current = None
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = (_name(match.group(1)), match.group(3))
            pins.setdefault(current[0], []).append((current[1], 0))
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = pins[current[0]][-1]
            pins[current[0]][-1] = (version, hashes + 1)
    return pins


# ---- the lock -------------------------------------------------------------------------------
def test_the_lock_matches_pyproject():
    assert lock.check() is None
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "lock.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_changed_requirement_makes_the_check_fail_in_one_line_naming_make_lock(tmp_path):
    changed = (ROOT / "pyproject.toml").read_text().replace('"pyyaml>=6.0.1",', '"pyyaml>=6.0.1",\n  "jsonnet>=0.20",')
    assert changed != (ROOT / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(changed)
    problem = lock.check(tmp_path / "pyproject.toml")
    assert problem == "requirements/lock.txt is out of date with pyproject.toml's requirements: run `make lock`"
    # A change elsewhere in pyproject.toml (description, tool settings) leaves the lock valid.
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text().replace("addopts", "# x\naddopts"))
    assert lock.check(tmp_path / "pyproject.toml") is None


def test_every_locked_package_is_pinned_with_hashes_and_every_requirement_is_locked():
    full, runtime = locked(ROOT / "requirements" / "lock.txt"), locked(ROOT / "requirements" / "runtime.txt")
    assert all(hashes >= 1 for pins in [*full.values(), *runtime.values()] for _, hashes in pins)
    for name in map(_name, lock.lock_inputs(PYPROJECT)["lock.txt"]):
        assert name in full, f"{name} is in pyproject.toml but not in requirements/lock.txt"
    for name in map(_name, PYPROJECT["project"]["dependencies"]):
        assert name in runtime, f"{name} is a dependency but not in requirements/runtime.txt"
    for name, pins in runtime.items():  # the release installs what the tests ran with
        assert [v for v, _ in pins] == [v for v, _ in full[name]], name
    assert "moto" not in runtime and "pytest" not in runtime
    assert locked(ROOT / "requirements" / "uv.txt")["uv"][0][1] >= 1


def test_the_moto_range_in_pyproject_is_the_one_the_emulator_checks():
    test_extra = PYPROJECT["project"]["optional-dependencies"]["test"]
    assert f"moto[server]{compat.MOTO_RANGE}" in test_extra
    compat.check_moto(installed_version("moto"))  # the moto running these tests is inside it


def test_the_emulator_refuses_a_moto_outside_its_range_in_one_line(monkeypatch):
    monkeypatch.delenv("LOCALAWS_ANY_MOTO", raising=False)
    for outside in ("5.2.0", "5.3.0", "6.0.1", "4.2.14"):
        with pytest.raises(RuntimeError) as refused:
            compat.check_moto(outside)
        assert str(refused.value) == (f"localaws supports moto{compat.MOTO_RANGE}, found moto {outside} "
                                      "(make install; LOCALAWS_ANY_MOTO=1 to try it anyway)")
    compat.check_moto("5.2.5.dev3")
    monkeypatch.setenv("LOCALAWS_ANY_MOTO", "1")
    compat.check_moto("6.0.1")


# ---- the version ----------------------------------------------------------------------------
def test_version_from_a_checkout_names_the_git_commit():
    result = subprocess.run([sys.executable, "-m", "deployer", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    head = git(ROOT, "rev-parse", "HEAD")
    assert result.stdout.strip() == f"deployer {__version__} (commit {git_commit(ROOT)})"
    assert git_commit(ROOT).startswith(head)


def test_a_release_tag_that_disagrees_with_the_version_stops_the_build(tmp_path):
    shutil.copy(ROOT / "setup.py", tmp_path / "setup.py")
    (tmp_path / "deployer").mkdir()
    shutil.copy(ROOT / "deployer" / "version.py", tmp_path / "deployer" / "version.py")
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
    assert "deployer = deployer.cli:main" in entry_points
    for requirement in PYPROJECT["project"]["dependencies"]:
        assert f"Requires-Dist: {requirement}" in metadata
    with tarfile.open(sdist) as tf:
        member = tf.extractfile(f"ecs_app_deployer-{__version__}/deployer/_build_commit.txt")
        assert member.read().decode().strip() == commit
    requirements = (built / dist.REQUIREMENTS_NAME).read_text()
    assert f"ecs-app-deployer=={__version__} \\\n    --hash=sha256:" in requirements
    assert set(locked(built / dist.REQUIREMENTS_NAME)) == set(locked(ROOT / "requirements" / "runtime.txt")) | {"ecs-app-deployer"}


# ---- the buildspec --------------------------------------------------------------------------
def _bash(line: str, cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", line], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_buildspec_installs_the_wheel_and_releases_with_it(built, app, docker_env, aws, platform, tmp_path):
    """CodeBuild's steps as the buildspec writes them: its pip line installs deployer-requirements.txt
    (a wheel built here, standing in for the artifact store) into a fresh Python, then its deployer
    lines run with that installation against the local AWS and the local Docker engine."""
    spec = yaml.safe_load((ROOT / "buildspecs" / "buildspec.yml").read_text())
    install = spec["phases"]["install"]["commands"]
    pip_lines = [c for c in install if c.startswith("pip install")]
    assert len(pip_lines) == 1 and "--require-hashes" in pip_lines[0] and "deployer-requirements.txt" in pip_lines[0]
    assert not any(re.search(r"pip install [^-]*deployer", c) for c in install)  # never a bare name

    python = tmp_path / "codebuild-python"
    venv.EnvBuilder(with_pip=True).create(python)
    shutil.copy(built / dist.REQUIREMENTS_NAME, app.path / dist.REQUIREMENTS_NAME)
    sha = app.commit("pin deployer")  # the app repository keeps deployer-requirements.txt
    env = {**os.environ, **aws.env(), **docker_env.environ(), "CI": "1",
           "PATH": f"{python / 'bin'}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(python),
           "PIP_FIND_LINKS": str(built), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)  # the installed wheel, never this checkout
    env.pop("AWS_PROFILE", None)

    installed = _bash(pip_lines[0], app.path, env)
    assert installed.returncode == 0, installed.stderr[-3000:]
    where = _bash("python -c 'import deployer; print(deployer.__file__)'", tmp_path, env)
    assert where.stdout.strip().startswith(str(python)), where
    version = _bash("deployer --version", app.path, env)
    assert version.stdout.strip() == f"deployer {__version__} (commit {git_commit(ROOT)})", version

    # The release line, with the local base image (nothing can be pulled here) before the redirect.
    lines = [c for c in spec["phases"]["build"]["commands"] if c.strip().startswith("deployer ")]
    assert len(lines) == 1
    command, _, redirect = lines[0].partition(">")
    base = shlex.join(["--build-arg", f"BASE_IMAGE={docker_env.base_image}"])
    env.update({"CODEBUILD_RESOLVED_SOURCE_VERSION": sha, "CODEBUILD_BUILD_ID": "demo:1",
                "DEPLOYER_RESULT": str(tmp_path / "deployer-result.json")})
    assert spec["env"]["variables"]["DEPLOYER_RESULT"].startswith("/tmp/")  # not in the checkout
    released = _bash(f"{command.strip()} {base} > {redirect.strip()}", app.path, env)
    assert released.returncode == 0, released.stderr[-3000:]
    post = _bash("\n".join(spec["phases"]["post_build"]["commands"]) + '\necho "status=$DEPLOYER_STATUS"', app.path, env)
    assert post.returncode == 0, post.stderr
    assert post.stdout.strip().splitlines()[-1] == "status=deployed"
    artifact = json.loads((app.path / spec["artifacts"]["files"][0]).read_text())
    assert artifact["status"] == "deployed" and artifact["image_tag"] == sha  # a clean tag
