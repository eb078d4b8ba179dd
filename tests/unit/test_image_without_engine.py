"""deployer/image/build.py without a Docker engine: the source tag of a checkout (git on a temporary repo),
the platform a build targets, the public URL of the source and the buildx command line. Builds and
pushes against a real engine and registry: tests/docker/test_image.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from deployer.image import build as image
from deployer.manifest import config
from deployer.core.errors import BadInput
from deployer.image.build import source_tag


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    (tmp_path / "app.txt").write_text("v1\n")
    (tmp_path / ".gitignore").write_text("*.log\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "init")
    return tmp_path


def test_source_tag_clean_is_the_full_commit(repo):
    assert source_tag(repo) == git(repo, "rev-parse", "HEAD")
    (repo / "debug.log").write_text("ignored files do not make it dirty\n")
    assert source_tag(repo) == git(repo, "rev-parse", "HEAD")


def test_source_tag_dirty_never_reuses_the_clean_tag(repo):
    sha = git(repo, "rev-parse", "HEAD")
    (repo / "app.txt").write_text("v2\n")
    first = source_tag(repo)
    assert first.startswith(f"{sha}-dirty-") and len(first) == 40 + 7 + 12
    assert source_tag(repo) == first  # same dirty state, same tag
    (repo / "app.txt").write_text("v3\n")
    assert source_tag(repo) not in (first, sha)
    (repo / "app.txt").write_text("v1\n")
    (repo / "new.txt").write_text("untracked\n")
    untracked = source_tag(repo)
    assert untracked.startswith(f"{sha}-dirty-") and untracked != first
    (repo / "new.txt").write_text("changed\n")
    assert source_tag(repo) != untracked  # untracked content counts, not only names


def test_source_tag_outside_git(tmp_path, monkeypatch):
    monkeypatch.delenv("CODEBUILD_RESOLVED_SOURCE_VERSION", raising=False)
    with pytest.raises(BadInput):
        source_tag(tmp_path)
    # CodeBuild with an S3 source: no .git, but the commit it built is in its environment.
    monkeypatch.setenv("CODEBUILD_RESOLVED_SOURCE_VERSION", "a" * 40)
    assert source_tag(tmp_path) == "a" * 40
    monkeypatch.delenv("CODEBUILD_RESOLVED_SOURCE_VERSION")
    assert source_tag(tmp_path, override="v1.2.3") == "v1.2.3"
    with pytest.raises(BadInput):
        source_tag(tmp_path, override="-bad tag")


@pytest.mark.parametrize("url, public", [
    ("https://user:tok-SECRET@github.com/team/web.git", "https://github.com/team/web.git"),
    ("https://ghp_SECRET@github.com/team/web", "https://github.com/team/web"),
    ("https://github.com/team/web.git?token=SECRET#x", "https://github.com/team/web.git"),
    ("ssh://git@github.com/team/web.git", "ssh://git@github.com/team/web.git"),
    ("ssh://git:SECRET@host/team/web.git", "ssh://host/team/web.git"),
    ("git@github.com:team/web.git", "git@github.com:team/web.git"),
    ("https://github.com/team/web.git\n", "https://github.com/team/web.git"),
])
def test_public_url_strips_credentials(url, public):
    assert image.public_url(url) == public


def test_build_platform_follows_the_task_definitions():
    arm = {"runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}}
    assert image.build_platform(None, {"web": {}}) == "linux/amd64"
    assert image.build_platform(None, {"web": arm, "worker": {}}) == "linux/arm64"
    assert image.build_platform("linux/arm64", {"web": {}}) == "linux/arm64"
    with pytest.raises(BadInput, match="image platform linux/amd64 but the task definition of web runs linux/arm64"):
        image.build_platform("linux/amd64", {"web": arm})
    with pytest.raises(BadInput, match="different platforms"):
        image.build_platform(None, {"web": arm, "worker": {"runtimePlatform": {"cpuArchitecture": "X86_64"}}})
    assert config.normalize_platform("linux/aarch64", "--platform") == "linux/arm64"
    with pytest.raises(BadInput, match="--platform: unknown platform 'linux/s390x'"):
        config.normalize_platform("linux/s390x", "--platform")


def test_the_buildx_command_line():
    """The buildx path cannot run here (no buildx plugin on this machine): its command line, checked as data."""
    from deployer.image.buildkit import Builder, BuildRequest, command

    builder = Builder("buildx", "/usr/bin/docker", "v0.17.1", "docker-container")
    assert builder.exports_registry_cache and not Builder("buildx", "/usr/bin/docker", "v0.17.1", "docker").exports_registry_cache
    request = BuildRequest(
        context=Path("/src"), dockerfile="Dockerfile", tag="repo:t", platform="linux/arm64", build_args={"A": "1"},
        labels={"l": "v"}, secret_flags=["id=npm,env=NPM_TOKEN"], ssh=["default"],
        cache_from=["type=registry,ref=repo:buildcache"], cache_to=["type=registry,ref=repo:buildcache,mode=max"],
    )
    assert command(builder, request, Path("/tmp/iid")) == [
        "/usr/bin/docker", "buildx", "build", "--load", "--progress", "plain", "-f", "/src/Dockerfile", "-t", "repo:t",
        "--iidfile", "/tmp/iid", "--platform", "linux/arm64", "--build-arg", "A=1", "--label", "l=v",
        "--secret", "id=npm,env=NPM_TOKEN", "--ssh", "default", "--cache-from", "type=registry,ref=repo:buildcache",
        "--cache-to", "type=registry,ref=repo:buildcache,mode=max", "/src",
    ]
