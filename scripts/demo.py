"""`make demo`: a full release of examples/app against a local AWS and a local Docker engine.

1. a Docker engine (DOCKER_HOST if set, else a private dockerd) and a registry standing in for ECR;
2. the local AWS (moto + real ECS rollouts) and the admins' environment, as AWS Proton left it;
3. `deployer release` of examples/app; a one-line change and a second release; `deployer rollback`.
Everything it starts, it stops.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import git  # noqa: E402
from tests import dockerenv  # noqa: E402
from tests.localaws import LocalAws  # noqa: E402
from tests.localaws.platform import create_environment  # noqa: E402

BOLD, RESET = ("\033[1m", "\033[0m") if sys.stdout.isatty() and not os.environ.get("NO_COLOR") else ("", "")


def say(text: str) -> None:
    print(f"\n{BOLD}### {text}{RESET}", flush=True)


def deployer(app_dir: Path, env: dict, *args: str) -> int:
    print(f"$ deployer {' '.join(args)}", flush=True)
    return subprocess.run([sys.executable, "-m", "deployer", *args], cwd=app_dir, env=env).returncode


def app_checkout(work: Path, message: str) -> Path:
    """examples/app copied into its own git repository, as an app repo would be."""
    app_dir = work / "app"
    shutil.copytree(ROOT / "examples" / "app", app_dir)
    git(app_dir, "init", "-q", "-b", "main")
    git(app_dir, "add", "-A")
    git(app_dir, "commit", "-qm", message)
    return app_dir


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="deployer-demo-"))
    say("Starting a Docker engine and a registry (the stand-in for ECR)")
    docker = dockerenv.start(work / "docker")
    try:
        print(f"DOCKER_HOST={docker.docker_host}  registry={docker.registry}  base image={docker.base_image}")
        say("Starting the local AWS (moto + ECS rollouts)")
        with LocalAws(tick=0.4) as aws:
            print(f"AWS_ENDPOINT_URL={aws.endpoint}")
            say("The platform admins' environment: examples/platform, as AWS Proton created it")
            stack, outputs = create_environment(aws.endpoint, env="demo")
            print(f"stack {stack}")
            for key in ("ClusterName", "EcrRepositoryUri", "TargetGroupArn"):
                print(f"  {key} = {outputs[key]}")

            app_dir = app_checkout(work, "web 1.0.0")
            env = {**os.environ, **aws.env(), **docker.environ()}
            build_arg = ("--build-arg", f"BASE_IMAGE={docker.base_image}")

            say("Release 1: build, push, register, create the service, watch the rollout")
            if deployer(app_dir, env, "release", *build_arg) != 0:
                return 1
            say("A one-line change (app/VERSION 1.0.0 → 1.1.0), committed and released")
            (app_dir / "app" / "VERSION").write_text("1.1.0\n")
            git(app_dir, "commit", "-qam", "web 1.1.0")
            if deployer(app_dir, env, "release", *build_arg) != 0:
                return 1
            say("Releasing the same commit again: nothing to build, push or register")
            deployer(app_dir, env, "release", *build_arg)
            say("What runs now, and the revisions")
            deployer(app_dir, env, "status")
            deployer(app_dir, env, "revisions")
            say("Rollback: back to the last revision that was healthy before this one")
            if deployer(app_dir, env, "rollback") != 0:
                return 1
            deployer(app_dir, env, "revisions")
            say("Done: release, change, re-release (no-op), rollback all ran against the local AWS")
        return 0
    finally:
        say("Stopping what the demo started")
        dockerenv.stop(work / "docker")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
