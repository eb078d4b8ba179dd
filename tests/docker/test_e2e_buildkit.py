"""BuildKit end to end: the real `deployer` command, a real engine (its built-in BuildKit, driven by
the Debian docker 20.10 client), the htpasswd registry standing in for ECR, and the local AWS.

The app is tests/buildkit_app: a `docker init`-style Python Dockerfile (multi-stage, a pip cache
mount, requirements bind-mounted) on a local stand-in for python:3.12-slim.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from base64 import b64encode
from pathlib import Path

import pytest

from tests import dockerenv
from tests.conftest import git, ecs_state

APP = Path(__file__).resolve().parents[1] / "buildkit_app"
SECRET = "tok-SECRET-123-do-not-leak"
SSM_SECRET = "ssm-SECRET-456-do-not-leak"
SM_SECRET = "sm-SECRET-789-do-not-leak"
RUNTIME_PLATFORM = (
    '"memory": "512",\n  {% if vars.arch is defined %}"runtimePlatform": '
    '{"cpuArchitecture": "{{ vars.arch }}", "operatingSystemFamily": "LINUX"},{% endif %}'
)
SECRET_STEP = (
    "RUN --mount=type=secret,id=npm_token --mount=type=secret,id=pip_index --mount=type=secret,id=registry,required=false \\\n"
    "    echo \"npm token: $(wc -c < /run/secrets/npm_token) bytes\" && cat /run/secrets/npm_token /run/secrets/pip_index\n"
)


def buildkit_available() -> str | None:
    from deployer.image import buildkit

    return None if buildkit.find_builder().is_buildkit else "no BuildKit builder (a docker CLI with buildx, or one older than 23)"


@pytest.fixture
def py_app(app, docker_env):
    """tests/buildkit_app in place of the example's Dockerfile and app/, committed, on the test engine."""
    reason = buildkit_available()
    if reason:
        pytest.skip(reason)
    (app.path / "Dockerfile").unlink()
    shutil.rmtree(app.path / "app")
    shutil.copytree(APP, app.path, dirs_exist_ok=True)
    app.edit("deployer.yaml", "build_args: {}", f"build_args: {{BASE_IMAGE: {docker_env.python_base_image}}}")
    app.edit("ecs-task-def.json.j2", '"memory": "512",', RUNTIME_PLATFORM)
    app.commit("a docker init-style python app")
    app.extra_env.update(docker_env.environ())
    return app


def registry_json(docker_env, path: str) -> tuple[dict, str]:
    request = urllib.request.Request(f"http://{docker_env.registry}/v2/{path}")
    request.add_header("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
    request.add_header("Authorization", "Basic " + b64encode(f"{docker_env.username}:{docker_env.password}".encode()).decode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read()), response.headers.get("Docker-Content-Digest", "")


def pushed_config(docker_env, repository_uri: str, tag: str) -> dict:
    """The image config as the registry holds it (architecture, labels, history)."""
    path = repository_uri.split("/", 1)[1]
    manifest, _ = registry_json(docker_env, f"{path}/manifests/{tag}")
    return registry_json(docker_env, f"{path}/blobs/{manifest['config']['digest']}")[0]


def head(app) -> str:
    return git(app.path, "rev-parse", "HEAD")


# ---------------------------------------------------------------- docker init-style app, cache


def test_docker_init_style_app_releases_and_a_one_line_change_reuses_the_dependency_layer(py_app, docker_env, aws, platform):
    # The first build of this app on this engine: no layer and no pip cache mount left by an earlier
    # test that ran on the same worker (one engine per worker).
    docker_env.client().api.prune_builds(all=True)
    first = py_app.cli("release", "--output", "json")
    assert first.code == 0, first.stderr
    assert "builder: BuildKit via DOCKER_BUILDKIT=1 docker build" in first.stderr
    assert "[deps 1/1] RUN --mount=type=cache,target=/root/.cache/pip" in first.stderr and "Downloading flask==3.0.3" in first.stderr
    built = first.json["image_build"]
    assert built["builder"] == "buildkit" and built["steps_run"] == 5 and built["steps_cached"] == 0
    repo = platform["outputs"]["EcrRepositoryUri"]
    config = pushed_config(docker_env, repo, head(py_app))
    assert config["architecture"] == "amd64" and config["config"]["User"] == "appuser"
    assert config["config"]["Labels"]["org.opencontainers.image.revision"] == head(py_app)

    py_app.edit("app/__main__.py", "1.0.0", "1.0.1")  # the one-line change
    py_app.commit("1.0.1")
    second = py_app.cli("release", "--output", "json")
    assert second.code == 0, second.stderr
    assert second.json["task_definition"].endswith("web:2")
    assert "CACHED [deps 1/1] RUN --mount=type=cache" in second.stderr and "Downloading" not in second.stderr
    assert second.json["image_build"]["steps_run"] == 1  # COPY . . only


def test_a_cold_runner_rebuilds_only_the_changed_layer_from_the_inline_cache(py_app, docker_env, aws, platform):
    first = py_app.cli("release", "--output", "json")
    assert first.code == 0, first.stderr
    py_app.edit("app/__main__.py", "1.0.0", "1.0.1")
    py_app.commit("1.0.1")
    directory = Path(tempfile.mkdtemp(prefix="dkcold-", dir="/tmp"))
    try:
        cold = dockerenv.cold_engine(directory, docker_env.registry)
        assert cold.client().images.list(name="localhost/python") and not cold.client().images.list(name=platform["outputs"]["EcrRepositoryUri"].split("/", 1)[0])
        second = py_app.cli("release", "--output", "json", env={"DOCKER_HOST": cold.docker_host})
    finally:
        dockerenv.stop(directory)
    assert second.code == 0, second.stderr
    build = second.json["image_build"]
    repo = platform["outputs"]["EcrRepositoryUri"]
    assert build["cache"] == f"inline from {repo}:{first.json['image_tag']}"
    assert "pulling the cache image" in second.stderr and "CACHED [deps 1/1] RUN --mount=type=cache" in second.stderr
    assert "Downloading" not in second.stderr and build["steps_run"] == 1


def test_cache_registry_needs_a_builder_that_exports_it_and_a_cache_ref_elsewhere_is_refused(py_app, aws, platform):
    before = ecs_state(aws, platform["outputs"]["ClusterName"])
    py_app.edit("deployer.yaml", "  dockerfile: Dockerfile\n", "  dockerfile: Dockerfile\n  cache: registry\n")
    result = py_app.cli("release")
    assert result.code == 2, result.stderr
    assert "image.cache: registry needs a builder that can export BuildKit's cache" in result.stderr and "image.cache: inline" in result.stderr
    py_app.edit("deployer.yaml", "  cache: registry\n", "  cache: inline\n  cache_ref: registry.example.com/team/web:buildcache\n")
    result = py_app.cli("release")
    assert result.code == 2, result.stderr
    assert "image.cache_ref 'registry.example.com/team/web:buildcache' is not in the image's registry" in result.stderr
    py_app.edit("deployer.yaml", "  cache: inline\n", "  cache: sometimes\n")
    result = py_app.cli("release")
    assert result.code == 2 and "`image.cache` must be registry, inline or off, got a string ('sometimes')" in result.stderr
    assert "builder:" not in result.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"]) == before


# ---------------------------------------------------------------- build secrets


def test_build_secrets_reach_the_run_step_and_nothing_else(py_app, docker_env, aws, platform, tmp_path):
    aws.client("ssm").put_parameter(Name="/ci/pip-index-token", Value=SSM_SECRET, Type="SecureString")
    aws.client("secretsmanager").create_secret(Name="ci/registry", SecretString=SM_SECRET)
    py_app.edit("Dockerfile", "FROM base AS final\n", "FROM base AS final\n" + SECRET_STEP)
    py_app.edit("deployer.yaml", "  dockerfile: Dockerfile\n", "  dockerfile: Dockerfile\n  secrets: {pip_index: 'ssm:/ci/pip-index-token'}\n")
    py_app.edit("Dockerfile", "COPY . .\n", "COPY . .\nRUN --mount=type=secret,id=registry,uid=10001 test \"$(wc -c < /run/secrets/registry)\" -gt 0 && echo registry login ok\n")
    py_app.commit("private packages")
    private_tmp = tmp_path / "tmp"  # this build's temporary files alone (other workers build at the same time)
    private_tmp.mkdir()
    result = py_app.cli(
        "release", "--output", "json", "-v", "--secret", "id=npm_token,env=NPM_TOKEN", "--secret", "id=registry,secretsmanager=ci/registry",
        env={"NPM_TOKEN": SECRET, "TMPDIR": str(private_tmp)},
    )
    assert result.code == 0, result.stderr
    assert "npm token: 26 bytes" in result.stderr and "registry login ok" in result.stderr  # the steps had them
    output = result.stdout + result.stderr
    assert SECRET not in output and SSM_SECRET not in output and "****" in output  # the step printed two: masked

    repo = platform["outputs"]["EcrRepositoryUri"]
    ref = f"{repo}:{head(py_app)}"
    client = docker_env.client()
    history = subprocess.run(
        [shutil.which("docker") or "/usr/bin/docker", "-H", docker_env.docker_host, "history", "--no-trunc", ref],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "cat /run/secrets/npm_token /run/secrets/pip_index" in history  # the history has the step, not the value
    image_config = json.dumps(client.images.get(ref).attrs) + json.dumps(pushed_config(docker_env, repo, head(py_app)))
    exported = b"".join(_all_file_contents(client.images.get(ref).save()))
    for value in (SECRET, SSM_SECRET, SM_SECRET):
        assert value not in output and value not in history and value not in image_config
        assert value.encode() not in exported
    assert list(private_tmp.iterdir()) == []  # no file left behind
    assert subprocess.run(["grep", "-rl", SECRET, str(py_app.path)], capture_output=True).stdout == b""


def test_ssh_default_passes_the_agent_and_a_missing_ssh_flag_is_exit_2(py_app, aws, platform):
    py_app.edit("Dockerfile", "COPY . .\n", "COPY . .\nRUN --mount=type=ssh test -S \"$SSH_AUTH_SOCK\" && echo agent forwarded\n")
    py_app.commit("private git dependency")
    result = py_app.cli("release")
    assert result.code == 2, result.stderr
    assert "Dockerfile:22 mounts the SSH agent 'default' (RUN --mount=type=ssh) but --ssh default was not given" in result.stderr
    result = py_app.cli("release", "--ssh", "default", env={"SSH_AUTH_SOCK": ""})
    assert result.code == 2 and "--ssh default: SSH_AUTH_SOCK is not set" in result.stderr
    agent = subprocess.run(["ssh-agent", "-s"], capture_output=True, text=True, check=True).stdout
    variables = dict(part.split("=", 1) for part in agent.replace(";", "\n").split() if "=" in part)
    try:
        result = py_app.cli("release", "--output", "json", "--ssh", "default", env={"SSH_AUTH_SOCK": variables["SSH_AUTH_SOCK"]})
    finally:
        subprocess.run(["kill", variables["SSH_AGENT_PID"]], check=False)
    assert result.code == 0, result.stderr
    assert "agent forwarded" in result.stderr and result.json["status"] == "deployed"


def _all_file_contents(chunks) -> list[bytes]:
    """Every file of a `docker save` archive, the layer tarballs opened too."""
    data = b"".join(chunks)
    found = []
    with tarfile.open(fileobj=io.BytesIO(data)) as outer:
        for member in outer.getmembers():
            if not member.isfile():
                continue
            content = outer.extractfile(member).read()
            found.append(content)
            if member.name.endswith(".tar"):
                with tarfile.open(fileobj=io.BytesIO(content)) as layer:
                    found += [layer.extractfile(m).read() for m in layer.getmembers() if m.isfile()]
    return found


def test_a_secret_the_dockerfile_uses_but_nobody_gives_is_exit_2_before_the_build(py_app, aws, platform):
    py_app.edit("Dockerfile", "FROM base AS final\n", "FROM base AS final\n" + SECRET_STEP)
    py_app.commit("needs secrets")
    before = ecs_state(aws, platform["outputs"]["ClusterName"])
    result = py_app.cli("release", "--secret", "id=npm_token,env=NPM_TOKEN", env={"NPM_TOKEN": SECRET})
    assert result.code == 2, result.stderr
    assert "Dockerfile:17 mounts the build secret 'pip_index' (RUN --mount=type=secret) but it is not provided" in result.stderr
    assert "--secret id=pip_index,env=VAR" in result.stderr
    assert "builder:" not in result.stderr and SECRET not in result.stderr
    result = py_app.cli("release", "--secret", "id=npm_token,env=NPM_TOKEN", "--secret", "id=pip_index,ssm=/ci/nope", env={"NPM_TOKEN": SECRET})
    assert result.code == 2 and "build secret 'pip_index' (--secret): SSM parameter /ci/nope not found" in result.stderr
    result = py_app.cli("release", "--secret", "id=npm_token,env=UNSET_VAR_X", "--secret", "id=pip_index,src=missing.txt")
    assert result.code == 2 and "environment variable UNSET_VAR_X is not set" in result.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"]) == before
    repo = platform["outputs"]["EcrRepositoryUri"].split("/", 1)[1]
    assert aws.client("ecr").describe_images(repositoryName=repo)["imageDetails"] == []


def test_a_secret_looking_build_arg_is_refused_with_a_pointer_to_build_secrets(py_app, aws, platform):
    before = ecs_state(aws, platform["outputs"]["ClusterName"])
    result = py_app.cli("release", "--build-arg", f"NPM_TOKEN={SECRET}")
    assert result.code == 2, result.stderr
    assert "--build-arg NPM_TOKEN: `NPM_TOKEN` looks like a secret, and build args are stored in the image history" in result.stderr
    assert "--secret id=npm_token,env=NPM_TOKEN" in result.stderr and SECRET not in result.stderr + result.stdout
    py_app.edit("deployer.yaml", "build_args: {BASE_IMAGE:", "build_args: {apiKey: x, BASE_IMAGE:")
    result = py_app.cli("release", "--output", "json")
    assert result.code == 2 and "deployer.yaml:16: image.build_args.apiKey: `apiKey` looks like a secret" in result.json["error"]
    assert ecs_state(aws, platform["outputs"]["ClusterName"]) == before


def test_the_source_label_and_the_logs_carry_no_remote_credentials(py_app, docker_env, aws, platform):
    git(py_app.path, "remote", "add", "origin", f"https://x-access-token:{SECRET}@git.example.com/team/web.git")
    result = py_app.cli("release", "--output", "json", "-v")
    assert result.code == 0, result.stderr
    labels = pushed_config(docker_env, platform["outputs"]["EcrRepositoryUri"], head(py_app))["config"]["Labels"]
    assert labels["org.opencontainers.image.source"] == "https://git.example.com/team/web.git"
    assert "org.opencontainers.image.source=https://git.example.com/team/web.git" in result.stderr  # -v shows the build command
    assert SECRET not in result.stderr + result.stdout


# ---------------------------------------------------------------- platform


def test_an_arm64_task_definition_builds_an_arm64_image(py_app, docker_env, aws, platform):
    (py_app.path / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY app/ /app/\n")
    py_app.edit("deployer.yaml", f"BASE_IMAGE: {docker_env.python_base_image}", f"BASE_IMAGE: {docker_env.arm64_base_image}")
    py_app.commit("graviton")
    result = py_app.cli("release", "--output", "json", "--var", "arch=ARM64")
    assert result.code == 0, result.stderr
    assert "platform linux/arm64" in result.stderr
    config = pushed_config(docker_env, platform["outputs"]["EcrRepositoryUri"], head(py_app))
    assert (config["os"], config["architecture"]) == ("linux", "arm64")
    td = aws.client("ecs").describe_task_definition(taskDefinition=result.json["task_definition"])["taskDefinition"]
    assert td["runtimePlatform"]["cpuArchitecture"] == "ARM64"


def test_a_run_step_for_arm64_on_an_engine_without_emulation_says_so(py_app, docker_env, aws, platform):
    """This engine is x86_64 without QEMU/binfmt: a RUN step of an arm64 image cannot execute."""
    (py_app.path / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo building\n")
    py_app.edit("deployer.yaml", f"BASE_IMAGE: {docker_env.python_base_image}", f"BASE_IMAGE: {docker_env.arm64_base_image}")
    py_app.commit("graviton with a RUN step")
    before = ecs_state(aws, platform["outputs"]["ClusterName"])
    result = py_app.cli("release", "--var", "arch=ARM64")
    assert result.code == 2, result.stderr
    assert "docker build failed at [2/2] RUN echo building: the engine cannot run linux/arm64's binaries (exec format error)" in result.stderr
    assert "ARM_CONTAINER" in result.stderr and "qemu-user-static" in result.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"]) == before


def test_verify_and_deploy_catch_an_image_of_the_wrong_platform(py_app, aws, platform):
    released = py_app.cli("release", "--output", "json")  # linux/amd64: the task definition says nothing
    assert released.code == 0, released.stderr
    verify = py_app.cli("verify", "--output", "json")
    assert {c["name"]: c["status"] for c in verify.json["checks"]}["image platform"] == "pass"

    # Without the mapped registry the config blob comes from ECR's download URL, which the local AWS
    # does not implement: the platform is unknown, a warning, not a failure.
    unknown = py_app.cli("verify", "--output", "json", env={"DEPLOYER_ECR_ENDPOINT": "", "AWS_MAX_ATTEMPTS": "1"})
    check = next(c for c in unknown.json["checks"] if c["name"] == "image platform")
    assert check["status"] == "warn" and "could not read the platform of" in check["reason"]

    verify = py_app.cli("verify", "--var", "arch=ARM64")
    assert verify.code == 1
    assert "FAIL  image platform" in verify.stdout and "is linux/amd64 but the task definition of web runs linux/arm64" in verify.stdout
    before = ecs_state(aws, platform["outputs"]["ClusterName"])
    deploy = py_app.cli("deploy", "--image", released.json["image"], "--var", "arch=ARM64")
    assert deploy.code == 2, deploy.stderr
    assert "pre-flight check failed: image platform:" in deploy.stderr and "exec format error" in deploy.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"]) == before
    # Same commit, ARM64 now: the existing amd64 tag is not reused for an arm64 service.
    again = py_app.cli("release", "--var", "arch=ARM64")
    assert again.code == 2 and "pre-flight check failed: image platform:" in again.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"]) == before


def test_unknown_or_contradicting_platforms_are_exit_2(py_app, aws, platform):
    before = ecs_state(aws, platform["outputs"]["ClusterName"])
    result = py_app.cli("release", "--platform", "linux/s390x")
    assert result.code == 2 and "--platform: unknown platform 'linux/s390x'" in result.stderr
    result = py_app.cli("release", "--platform", "linux/amd64", "--var", "arch=ARM64")
    assert result.code == 2 and "image platform linux/amd64 but the task definition of web runs linux/arm64" in result.stderr
    py_app.edit("deployer.yaml", "  dockerfile: Dockerfile\n", "  dockerfile: Dockerfile\n  platform: windows/amd64\n")
    result = py_app.cli("build")
    assert result.code == 2 and "deployer.yaml:16: `image.platform` unknown platform 'windows/amd64'" in result.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"]) == before


def test_the_legacy_builder_still_releases_a_plain_dockerfile(app, docker_env, aws, platform):
    """No BuildKit (forced here): the example app, whose Dockerfile needs none, releases with the notice."""
    app.extra_env.update(docker_env.environ())
    result = app.cli("release", "--output", "json", "--build-arg", f"BASE_IMAGE={docker_env.base_image}", env={"DEPLOYER_BUILDER": "legacy"})
    assert result.code == 0, result.stderr
    assert "builder: legacy builder (docker engine API; DEPLOYER_BUILDER=legacy), platform linux/amd64" in result.stderr
    assert result.json["image_build"]["builder"] == "legacy" and result.json["image_build"]["steps_run"] == 2
