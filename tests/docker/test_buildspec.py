"""The buildspec's own lines, as CodeBuild runs them: its pip line installs a wheel built here (`make
dist`, in a fresh virtualenv), then its deployer line releases with that installation against the
local AWS and the private Docker engine."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import venv
from pathlib import Path

import yaml

from deployer import __version__
from deployer.core.version import git_commit
from tests.conftest import ROOT
from tests.e2e.test_packaging import built, dist  # noqa: F401 - built is a fixture (make dist, once per module)


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
