"""Shared fixtures: the local AWS (a real HTTP server), the admins' environment, an app checkout,
and `cli()` that runs the real `deployer` command in a subprocess against them.

Tiers: a test's tier is its folder, and the folder gives its marker (pyproject.toml registers them,
--strict-markers refuses any other):
    tests/unit    `unit`    pure logic: no local AWS, no Docker, no `deployer` subprocess (`make test-unit`)
    tests/e2e     `e2e`     the real `deployer` command (and the emulator itself) against the local AWS
    tests/docker  `docker`  anything that needs the `docker_env` fixture: a real engine and registry
A test that needs more than its folder gives (the local AWS in tests/unit, Docker outside tests/docker)
stops the run at collection, naming the folder it belongs in. A file still directly in tests/ (a new
file from a branch made before the tiers) gets the tier its fixtures imply, with a warning to move it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest_plugins = ["tests.dockerenv"]  # the session-scoped docker_env fixture (real engine + registry)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_APP = ROOT / "examples" / "app"
TICK = 0.05  # the emulator's rollout step in tests: a 2-task deployment completes in about a second

TESTS = Path(__file__).resolve().parent
TIERS = ("unit", "e2e", "docker")
LOCAL_AWS_FIXTURES = {"local_aws", "aws", "platform", "app"}  # each starts or needs the local AWS


def needed_tier(fixtures: set[str]) -> str:
    """The lowest tier whose machinery the fixtures need."""
    if "docker_env" in fixtures:
        return "docker"
    return "e2e" if fixtures & LOCAL_AWS_FIXTURES else "unit"


def folder_tier(path: Path) -> str | None:
    """The tier a test file's folder names (tests/<tier>/...), or None for a file directly in tests/."""
    try:
        parts = Path(path).resolve().relative_to(TESTS).parts
    except ValueError:
        return None
    return parts[0] if len(parts) > 1 and parts[0] in TIERS else None


@pytest.hookimpl(tryfirst=True)  # before -m deselects by these markers
def pytest_collection_modifyitems(config, items):
    misplaced, untiered = [], {}
    for item in items:
        needs = needed_tier(set(getattr(item, "fixturenames", ())))
        folder = folder_tier(item.path)
        if folder is None:
            untiered.setdefault(item.path, set()).add(needs)
        elif TIERS.index(needs) > TIERS.index(folder):
            misplaced.append(f"{item.nodeid}: needs {'Docker (docker_env)' if needs == 'docker' else 'the local AWS'}; "
                             f"move it to tests/{needs}/")
        tier = folder or needs
        item.add_marker(getattr(pytest.mark, tier))
    for path, needs in untiered.items():
        tier = max(needs, key=TIERS.index)
        config.issue_config_time_warning(pytest.PytestWarning(
            f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} is in no tier: move it to tests/{tier}/ "
            f"(its fixtures make it `{tier}`)"), stacklevel=2)
    if misplaced:
        raise pytest.UsageError("tests in the wrong tier (tests/unit: no local AWS, no Docker; Docker only in "
                                "tests/docker):\n  " + "\n  ".join(misplaced))


@pytest.fixture(scope="session")
def local_aws():
    from tests.localaws import LocalAws

    # Fast rollouts: a 2-task deployment completes in well under two seconds.
    with LocalAws(tick=TICK) as aws:
        yield aws


@pytest.fixture
def aws(local_aws):
    """A clean emulator for each test: no resources, no faults, nothing broken."""
    from tests.localaws.settings import Settings

    local_aws.reset()
    # Every setting back to its default (a test may have changed fault kinds, services, speed...).
    local_aws.configure(**{**Settings().as_dict(), "tick": TICK})
    local_aws.reset_counters()
    yield local_aws


@pytest.fixture
def platform(aws):
    """The admins' environment as AWS Proton left it: an AWSProton-demo-cloudformation--XXXX stack."""
    from tests.localaws.platform import create_environment

    stack, outputs = create_environment(aws.endpoint, env="demo")
    # endpoint: image_ref() puts the images it names in the local ECR (deploy's pre-flight checks they exist).
    return {"stack": stack, "outputs": outputs, "endpoint": aws.endpoint}


@pytest.fixture
def enforce(aws):
    """enforce(policy): every later request to the local AWS must be allowed by that IAM policy
    (tests/localaws/iam.py: actions, with the ones a request implies, such as iam:PassRole); none after the test."""

    def apply(policy):
        aws.iam.policy = policy
        aws.iam.clear()

    yield apply
    aws.iam.policy = None
    aws.iam.clear()


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict:
        return json.loads(self.stdout.strip().splitlines()[-1])


class App:
    """A copy of examples/app in its own git repository, and the `deployer` command run inside it."""

    def __init__(self, path: Path, aws):
        self.path = path
        self.aws = aws
        self.extra_env: dict[str, str] = {}

    def environ(self, env: dict | None = None) -> dict[str, str]:
        """The environment a `deployer` command of this app runs with: this process's, the local AWS's,
        CI=1 (plain output), the app's extra_env and `env`; no AWS_PROFILE (the local AWS's keys are used)."""
        full_env = {**os.environ, **self.aws.env(), "CI": "1", **self.extra_env, **(env or {})}
        full_env.pop("AWS_PROFILE", None)
        return full_env

    def cli(self, *args: str, timeout: float = 180, env: dict | None = None) -> Result:
        """`deployer ARGS` in the app's directory: a process of its own, forked from a zygote that has
        deployer imported (tests/forkserver.py), or `python -m deployer` with DEPLOYER_TEST_FORK=0."""
        full_env = self.environ(env)
        server = zygote()
        if server is not None:
            code, stdout, stderr = server.run(list(args), cwd=self.path, env=full_env, timeout=timeout)
            return Result(code, stdout, stderr)
        proc = subprocess.run(
            [sys.executable, "-m", "deployer", *args],
            cwd=self.path,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.path / name
        text = path.read_text()
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new))

    def commit(self, message: str = "change") -> str:
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "--allow-empty", "-m", message)
        return git(self.path, "rev-parse", "HEAD")


_ZYGOTE: list = []


def zygote():
    """This test process's deployer zygote, started at its first use (None: DEPLOYER_TEST_FORK=0)."""
    if os.environ.get("DEPLOYER_TEST_FORK", "1") == "0":
        return None
    if not _ZYGOTE or not _ZYGOTE[0].alive():
        import atexit

        from tests.forkserver import ForkServer

        _ZYGOTE[:] = [ForkServer.start()]
        atexit.register(_ZYGOTE[0].stop)
    return _ZYGOTE[0]


def git(path: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def app(tmp_path, aws, platform) -> App:
    path = tmp_path / "app"
    shutil.copytree(EXAMPLE_APP, path)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "initial")
    return App(path, aws)


def image_ref(platform, tag: str) -> str:
    """<the environment's repository>:<tag>, pushed to the local ECR (an index for linux/amd64 and
    linux/arm64) unless the tag is there already: what `deployer release` would have pushed."""
    uri = platform["outputs"]["EcrRepositoryUri"]
    if platform.get("endpoint"):
        push_image(platform["endpoint"], uri.split("/", 1)[1], tag)
    return f"{uri}:{tag}"


_ECR_CLIENTS: dict = {}


def push_image(endpoint: str, repository: str, tag: str, credentials: dict | None = None) -> None:
    """Put an image index for `tag` into the local ECR (in the account of `credentials`, default the test's)."""
    import boto3

    key = (endpoint, json.dumps(credentials, sort_keys=True))
    ecr = _ECR_CLIENTS.get(key)
    if ecr is None:
        creds = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        ecr = _ECR_CLIENTS[key] = boto3.client("ecr", endpoint_url=endpoint, region_name="us-east-1", **creds)
    try:
        ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
        return
    except ecr.exceptions.ImageNotFoundException:
        pass
    except ecr.exceptions.RepositoryNotFoundException:
        return
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "annotations": {"tag": tag}, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 500, "digest": "sha256:" + c * 64,
         "platform": {"os": "linux", "architecture": arch}} for c, arch in (("1", "amd64"), ("2", "arm64"))]}
    ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)


def ecs_state(aws, cluster: str, service: str = "web") -> dict:
    """What runs and what is registered: the 'AWS is unchanged' assertion compares two of these."""
    ecs = aws.client("ecs")
    described = ecs.describe_services(cluster=cluster, services=[service])["services"]
    live = [s for s in described if s.get("status") != "INACTIVE"]
    return {
        "task_definitions": sorted(ecs.list_task_definitions()["taskDefinitionArns"]),
        "service_task_definition": live[0]["taskDefinition"] if live else None,
        "deployments": [d["id"] for d in live[0]["deployments"]] if live else [],
    }
