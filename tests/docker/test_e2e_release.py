"""`deployer release` end to end: a real Docker engine, a registry that requires the credentials the
local AWS's ECR GetAuthorizationToken returns (htpasswd), and the local AWS over HTTP."""

from __future__ import annotations

import urllib.request
from base64 import b64encode

import pytest

from tests.conftest import ecs_state

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


@pytest.fixture
def docker_app(app, docker_env):
    app.extra_env.update(docker_env.environ())
    return app


def build_arg(docker_env):
    return ("--build-arg", f"BASE_IMAGE={docker_env.base_image}")


def registry_digest(docker_env, repository_uri: str, tag: str) -> str:
    """The manifest digest as the registry's own HTTP API reports it."""
    path = repository_uri.split("/", 1)[1]
    request = urllib.request.Request(f"http://{docker_env.registry}/v2/{path}/manifests/{tag}", method="HEAD")
    request.add_header("Accept", MANIFEST_TYPES)
    request.add_header("Authorization", "Basic " + b64encode(f"{docker_env.username}:{docker_env.password}".encode()).decode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["Docker-Content-Digest"]


def test_release_pins_the_pushed_digest_and_a_second_release_does_nothing(docker_app, docker_env, aws, platform):
    sha = _head(docker_app)
    first = docker_app.cli("release", "--output", "json", *build_arg(docker_env))
    assert first.code == 0, first.stderr
    result = first.json
    repo = platform["outputs"]["EcrRepositoryUri"]
    digest = registry_digest(docker_env, repo, sha)
    assert result["image"] == f"{repo}@{digest}"
    assert result["image_digest"] == digest and result["image_tag"] == sha and result["image_pushed"] is True
    ecs = aws.client("ecs")
    td = ecs.describe_task_definition(taskDefinition=result["task_definition"], include=["TAGS"])
    assert td["taskDefinition"]["containerDefinitions"][0]["image"] == f"{repo}@{digest}"
    tags = {t["key"]: t["value"] for t in td["tags"]}
    assert tags["deployer:commit"] == sha and "deployer:healthy" in tags
    svc = ecs.describe_services(cluster=platform["outputs"]["ClusterName"], services=["web"])["services"][0]
    assert svc["taskDefinition"] == result["task_definition"]
    assert [d["rolloutState"] for d in svc["deployments"]] == ["COMPLETED"]
    assert "[2/3] COPY app/ /app/" in first.stderr  # build output streamed (BuildKit plain progress)

    before = ecs_state(aws, platform["outputs"]["ClusterName"])
    second = docker_app.cli("release", "--output", "json", *build_arg(docker_env))
    assert second.code == 0, second.stderr
    assert second.json["status"] == "unchanged" and second.json["image_pushed"] is False
    assert "build and push skipped" in second.stderr and "builder:" not in second.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"]) == before

    # A one-line change: a new commit, a new image, a new revision.
    (docker_app.path / "app" / "VERSION").write_text("2.0.0\n")
    new_sha = docker_app.commit("bump version")
    third = docker_app.cli("release", "--output", "json", *build_arg(docker_env))
    assert third.code == 0, third.stderr
    assert third.json["image_tag"] == new_sha
    assert third.json["task_definition"].endswith("web:2")
    assert third.json["image_digest"] == registry_digest(docker_env, repo, new_sha) != digest


def _head(app) -> str:
    from tests.conftest import git

    return git(app.path, "rev-parse", "HEAD")


def test_docker_unreachable_is_exit_3_and_nothing_registered(docker_app, docker_env, aws, platform):
    result = docker_app.cli("release", *build_arg(docker_env), env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert result.code == 3, result.stderr
    assert "Docker engine unreachable" in result.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"])["task_definitions"] == []


def test_failing_dockerfile_is_exit_2_nothing_pushed_or_registered(docker_app, docker_env, aws, platform):
    dockerfile = docker_app.path / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("USER nobody", "RUN exit 7\nUSER nobody"))
    docker_app.commit("break the build")
    result = docker_app.cli("release", *build_arg(docker_env))
    assert result.code == 2, result.stderr
    assert "docker build failed at [4/4] RUN exit 7: " in result.stderr and "exit code: 7" in result.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"])["task_definitions"] == []
    assert aws.client("ecr").describe_images(repositoryName=platform["outputs"]["EcrRepositoryUri"].split("/", 1)[1])["imageDetails"] == []


def test_push_refused_for_bad_credentials(docker_app, docker_env, aws, platform):
    other = docker_env.start_registry("wrong-password", "not-the-ecr-token")
    result = docker_app.cli("release", *build_arg(docker_env), env={"DEPLOYER_ECR_ENDPOINT": other})
    assert result.code == 3, result.stderr
    assert "push refused by registry" in result.stderr and "unauthorized" in result.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"])["task_definitions"] == []


def test_build_alone_and_build_push(docker_app, docker_env, aws, platform):
    built = docker_app.cli("build", "--output", "json", *build_arg(docker_env))
    assert built.code == 0, built.stderr
    assert built.json["status"] == "built" and built.json["image_digest"] is None
    pushed = docker_app.cli("build", "--push", "--output", "json", *build_arg(docker_env))
    assert pushed.code == 0, pushed.stderr
    sha = _head(docker_app)
    repo = platform["outputs"]["EcrRepositoryUri"]
    assert pushed.json["status"] == "pushed" and pushed.json["tag"] == sha
    assert pushed.json["image_digest"] == registry_digest(docker_env, repo, sha)
    again = docker_app.cli("build", "--push", "--output", "json", *build_arg(docker_env))
    assert again.json["status"] == "exists"
    assert ecs_state(aws, platform["outputs"]["ClusterName"])["task_definitions"] == []


def test_a_failing_preflight_check_stops_release_before_the_build(docker_app, docker_env, aws, platform):
    docker_app.edit("deployer.yaml", "port: 8080", "port: 9090")
    docker_app.edit("ecs-task-def.json.j2", '"containerPort": 8080', '"containerPort": 9090')
    docker_app.commit("wrong port")
    result = docker_app.cli("release", *build_arg(docker_env))
    assert result.code == 2, result.stderr
    assert "pre-flight check failed: target group" in result.stderr
    assert "builder:" not in result.stderr  # nothing built, nothing pushed
    repo = platform["outputs"]["EcrRepositoryUri"].split("/", 1)[1]
    assert aws.client("ecr").describe_images(repositoryName=repo)["imageDetails"] == []
    assert ecs_state(aws, platform["outputs"]["ClusterName"])["task_definitions"] == []
