"""The build scenario of `make bench`: a `docker init`-style Python app (tests/buildkit_app:
multi-stage, a pip cache mount, a dependency layer) released with `deployer release` on a real
engine and registry, then a one-line change released from a COLD engine (a fresh data dir, as on a
new CodeBuild runner) with the inline cache and without (`image.cache: off`).

The dependency stage's stand-in pip spends FAKE_PIP_SECONDS (1 s) per package not in its cache;
the app has PACKAGES of them, so the dependency layer costs what a modest real `pip install` does.
The registry cache (`image.cache: registry`) needs a buildx builder with the docker-container
driver, whose moby/buildkit image cannot be pulled here: reported, not measured.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD_APP = ROOT / "tests" / "buildkit_app"
PACKAGES = 12


@dataclass
class BuildRun:
    variant: str
    engine: str  # warm | cold
    exit_code: int
    wall_s: float
    build_s: float | None
    push_s: float | None
    steps_run: int | None
    steps_cached: int | None
    cache: str
    error: str = ""

    def row(self) -> str:
        steps = "-" if self.steps_run is None else f"{self.steps_run} run, {self.steps_cached} cached"
        build = "-" if self.build_s is None else f"{self.build_s:.2f}"
        push = "-" if self.push_s is None else f"{self.push_s:.2f}"
        line = f"  {self.variant:<44} {self.engine:<5} {self.exit_code:>4}  {self.wall_s:7.2f}  {build:>7}  {push:>6}  {steps:<17} {self.cache}"
        return line + (f"  stderr: {self.error}" if self.error else "")


def unavailable() -> str | None:
    from tests import dockerenv

    from deployer.image import buildkit

    reason = dockerenv.missing()
    if reason:
        return reason
    if not buildkit.find_builder().is_buildkit:
        return "no BuildKit builder (a docker CLI with buildx, or one older than 23)"
    return None


def run(lab, log) -> list[BuildRun]:
    """Three releases of one app: first (warm engine, empty), then two one-line changes, each from its own cold engine."""
    from tests import dockerenv

    root = Path(tempfile.mkdtemp(prefix="bkbench-", dir="/tmp"))  # short: unix socket paths
    runs: list[BuildRun] = []
    try:
        warm = dockerenv.start(root / "warm", reuse=False)
        app = lab.fresh()
        _make_python_app(app, warm.python_base_image)
        env = {**lab.env, **warm.environ()}

        log("build: first release (engine without any cache)")
        runs.append(_release(app, env, "first release", "warm"))
        previous = "1.0.0"
        for variant, cache, version in (("one-line change, inline cache", None, "1.0.1"), ("one-line change, no cache (image.cache: off)", "off", "1.0.2")):
            if cache:
                _edit(app.path / "deployer.yaml", "  dockerfile: Dockerfile\n", f"  dockerfile: Dockerfile\n  cache: {cache}\n")
            _edit(app.path / "app" / "__main__.py", previous, version)  # the one-line change
            previous = version
            _commit(app.path, env, variant)
            cold_dir = root / f"cold-{version}"
            cold = dockerenv.cold_engine(cold_dir, warm.registry)
            try:
                log(f"build: {variant} from a cold engine")
                runs.append(_release(app, {**env, "DOCKER_HOST": cold.docker_host}, variant, "cold"))
            finally:
                dockerenv.stop(cold_dir)
    finally:
        dockerenv.stop(root / "warm")
        shutil.rmtree(root, ignore_errors=True)
    return runs


def _make_python_app(app, base_image: str) -> None:
    (app.path / "Dockerfile").unlink()
    shutil.rmtree(app.path / "app")
    shutil.copytree(BUILD_APP, app.path, dirs_exist_ok=True)
    requirements = [f"package{i:02d}=={i}.0" for i in range(1, PACKAGES + 1)]
    (app.path / "requirements.txt").write_text("\n".join(requirements) + "\n")
    _edit(app.path / "deployer.yaml", "build_args: {}", f"build_args: {{BASE_IMAGE: {base_image}}}")
    _commit(app.path, app.lab.env, "a docker init-style python app")


def _release(app, env: dict, variant: str, engine: str) -> BuildRun:
    t0 = time.monotonic()
    proc = subprocess.run([*app.lab.deployer_cmd, "release", "--yes", "--output", "json"], cwd=app.path, env=env,
                          capture_output=True, text=True, timeout=600)
    wall = round(time.monotonic() - t0, 2)
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = {}
    build = result.get("image_build") or {}
    error = "" if proc.returncode == 0 else " | ".join(proc.stderr.strip().splitlines()[-2:])[-300:]
    return BuildRun(variant, engine, proc.returncode, wall, build.get("seconds"), build.get("push_seconds"), build.get("steps_run"), build.get("steps_cached"),
                    build.get("cache", ""), error)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        raise RuntimeError(f"{old!r} not in {path.name}")
    path.write_text(text.replace(old, new, 1))


def _commit(path: Path, env: dict, message: str) -> None:
    identity = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com", "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    for args in (["add", "-A"], ["commit", "-qm", message]):
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True, env={**env, **identity})


def table(runs: list[dict], builder: str) -> list[str]:
    lines = [
        f"Build on a cold runner (tests/buildkit_app, {PACKAGES} packages x 1 s in the dependency layer; builder: {builder})",
        f"  {'release':<44} {'engine':<5} exit  wall s  build s  push s  {'steps':<17} cache",
    ]
    lines += [BuildRun(**r).row() for r in runs]
    lines.append("  registry cache (image.cache: registry): not measured here: it needs a buildx builder with the docker-container driver")
    lines.append("  (moby/buildkit image; nothing can be pulled here); with this builder deployer refuses it (exit 2) and says to use inline.")
    return lines
