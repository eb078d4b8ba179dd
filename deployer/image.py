"""Image stage: tag from git, build with the Docker engine, push to ECR, return the digest.

The engine is the one the user's docker CLI would use: `DOCKER_HOST` (with DOCKER_TLS_VERIFY /
DOCKER_CERT_PATH) if set, else the current docker context (`DOCKER_CONTEXT`, or
`currentContext` in ~/.docker/config.json), else the default socket. Builds use the legacy
builder (the API's /build); BuildKit needs buildx, which is not assumed.

A tag already present in the repository is never built or pushed again (unless rebuild), so
immutable-tag repositories work and re-runs are cheap. The pushed image is named by digest.

`DEPLOYER_ECR_ENDPOINT=host:port` maps pushes for ECR repositories to another registry; it is
meant for tests and local use (the emulated ECR has no registry protocol). See registry.py.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import registry
from .errors import BadInput, ExternalError

# docker's tag grammar; ECR allows the same characters
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_STEP = re.compile(r"^Step \d+/\d+ : ")


@dataclass(frozen=True)
class ImageSpec:
    """The `image:` section of deployer.yaml."""

    context: Path
    dockerfile: str = "Dockerfile"
    build_args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    platform: str | None = "linux/amd64"


@dataclass(frozen=True)
class PushedImage:
    repository: str  # the ECR repository URI as the environment output gives it
    tag: str
    digest: str  # sha256:...; "" when built locally only (push=False)
    pushed: bool  # False when the tag already existed and build/push were skipped

    @property
    def reference(self) -> str:
        return f"{self.repository}@{self.digest}" if self.digest else f"{self.repository}:{self.tag}"


# ---------------------------------------------------------------- source tag (git)


def source_tag(repo_dir: Path, override: str | None = None) -> str:
    """The full commit sha of HEAD; `<sha>-dirty-<12 hex>` when the work tree differs from it.

    Dirty means uncommitted changes to tracked files anywhere in the repository, or untracked
    non-ignored files under repo_dir (the build context). The suffix hashes those changes, so a
    dirty tree never reuses the clean commit's tag, and the same dirty state gives the same tag.
    """
    if override:
        if not _TAG.match(override):
            raise BadInput(f"invalid image tag {override!r}: use letters, digits, '_', '.', '-' (max 128, not starting with '.' or '-')")
        return override
    if not _in_git(repo_dir):
        # CodeBuild with an S3 (or zip) source has no .git, but says which commit it built.
        built = os.environ.get("CODEBUILD_RESOLVED_SOURCE_VERSION", "")
        if _TAG.match(built):
            return built
    sha = _git(repo_dir, "rev-parse", "--verify", "HEAD").decode().strip()
    dirty = _dirty_hash(repo_dir)
    return f"{sha}-dirty-{dirty}" if dirty else sha


def _in_git(repo_dir: Path) -> bool:
    try:
        done = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=repo_dir, capture_output=True, check=False)
    except (FileNotFoundError, NotADirectoryError):
        return False
    return done.returncode == 0


def _git(repo_dir: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=repo_dir, capture_output=True, check=False)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise BadInput(f"cannot read the git commit of {repo_dir}: {exc}", hint="pass an explicit image tag") from exc
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        raise BadInput(
            f"cannot read the git commit of {repo_dir}: {reason[-1] if reason else 'git failed'}",
            hint="run inside a git repository with at least one commit, or pass an explicit image tag",
        )
    return done.stdout


def _dirty_hash(repo_dir: Path) -> str | None:
    """12 hex of (diff against HEAD + untracked files' names and contents), None when clean."""
    diff = _git(repo_dir, "diff", "HEAD", "--binary", "--no-ext-diff", "--no-textconv", "--no-color")
    untracked = [p for p in _git(repo_dir, "ls-files", "--others", "--exclude-standard", "-z").split(b"\0") if p]
    if not diff and not untracked:
        return None
    digest = hashlib.sha256(diff)
    for name in sorted(untracked):
        digest.update(b"\0" + name + b"\0")
        digest.update(_content(Path(repo_dir) / os.fsdecode(name)))
    return digest.hexdigest()[:12]


def _content(path: Path) -> bytes:
    if path.is_symlink():
        return os.fsencode(os.readlink(path))
    return path.read_bytes() if path.is_file() else b""


# ---------------------------------------------------------------- docker engine


def docker_client():
    """A DockerClient for the engine the docker CLI would use; ExternalError if unreachable."""
    import docker

    where, kwargs = _engine_location()
    try:
        client = docker.DockerClient(**kwargs) if kwargs else docker.from_env()
        client.ping()
    except Exception as exc:  # DockerException, requests errors: all mean "no engine there"
        raise ExternalError(
            f"Docker engine unreachable at {where}: {exc}",
            hint="start Docker, or point DOCKER_HOST (or the docker context) at a running engine",
        ) from exc
    return client


def _engine_location() -> tuple[str, dict]:
    """(description for messages, DockerClient kwargs); empty kwargs means docker.from_env()."""
    if os.environ.get("DOCKER_HOST"):
        return f"DOCKER_HOST={os.environ['DOCKER_HOST']}", {}
    name = os.environ.get("DOCKER_CONTEXT") or _current_context_name()
    if name and name != "default":
        from docker.context import ContextAPI

        context = ContextAPI.get_context(name)
        if context is None or not context.Host:
            raise BadInput(f"docker context {name!r} not found (DOCKER_CONTEXT or currentContext in the docker config)")
        return f"docker context {name} ({context.Host})", {"base_url": context.Host, "tls": context.TLSConfig or False}
    return "the default socket unix:///var/run/docker.sock (DOCKER_HOST unset)", {}


def _current_context_name() -> str | None:
    from docker.context.config import get_current_context_name

    return get_current_context_name()


# ---------------------------------------------------------------- build


def build_only(spec: ImageSpec, repository: str, tag: str, console, *, labels: dict[str, str], client=None) -> str:
    """Build and tag <repository>:<tag> locally; returns the image id (sha256:...)."""
    context = Path(spec.context)
    if not context.is_dir():
        raise BadInput(f"image context {context} is not a directory")
    if not (context / spec.dockerfile).is_file():
        raise BadInput(f"Dockerfile {spec.dockerfile!r} not found in the image context {context}")
    client = client or docker_client()
    labels = {"org.opencontainers.image.created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), **labels}
    console.step(f"Building {repository}:{tag}")
    stream = client.api.build(
        path=str(context), dockerfile=spec.dockerfile, tag=f"{repository}:{tag}", buildargs=dict(spec.build_args),
        target=spec.target, platform=spec.platform, labels=labels, rm=True, forcerm=True, decode=True,
    )
    image_id = _follow_build(stream, console)
    console.ok(f"Built {repository}:{tag} ({image_id[:19]})")
    return image_id


def _follow_build(stream, console) -> str:
    """Stream build output line by line; BadInput naming the step if the Dockerfile fails."""
    import docker

    step, image_id, pending = None, None, ""
    try:
        for event in stream:
            if "error" in event:
                message = (event.get("errorDetail") or {}).get("message") or event["error"]
                raise BadInput(f"docker build failed at {step}: {message.strip()}" if step else f"docker build failed: {message.strip()}")
            image_id = (event.get("aux") or {}).get("ID") or image_id
            pending += event.get("stream", "")
            *lines, pending = pending.split("\n")  # output arrives in chunks; emit whole lines
            for line in filter(str.strip, lines):
                if _STEP.match(line):
                    step = line.split(" : ", 1)[0] + f" ({line.split(' : ', 1)[1].strip()})"
                    console.info(line)
                else:
                    console.event(line.rstrip())
    except docker.errors.APIError as exc:  # refused before streaming: bad platform, target, args
        text = exc.explanation or str(exc)
        if exc.is_client_error() or "dockerfile" in str(text).lower():
            raise BadInput(f"docker build refused: {text}") from exc
        raise ExternalError(f"docker build failed in the engine: {text}") from exc
    except (BadInput, ExternalError):
        raise
    except Exception as exc:  # the engine went away mid-build
        raise ExternalError(f"docker build interrupted: {exc}") from exc
    if not image_id:
        raise ExternalError("docker build ended without an image id")
    return image_id


# ---------------------------------------------------------------- push


def existing_digest(aws, repository_uri: str, tag: str, *, client=None) -> str | None:
    """Digest of repository:tag if the registry already has it, else None.

    ECR repositories are asked through the ECR API; other registries through the engine
    (`docker manifest inspect`-style distribution lookup with the user's credentials).
    """
    repo = registry.parse_repository(repository_uri)
    if repo.is_ecr:
        return registry.ecr_digest(aws, repo, tag)
    import docker

    client = client or docker_client()
    try:
        return client.api.inspect_distribution(f"{repository_uri}:{tag}")["Descriptor"]["digest"]
    except docker.errors.APIError:  # not found, or not visible with these credentials
        return None


def build_and_push(
    aws, spec: ImageSpec, repository_uri: str, tag: str, console, *,
    labels: dict[str, str], rebuild: bool = False, push: bool = True,
) -> PushedImage:
    """Build and push unless the tag is already there; returns the image pinned by digest.

    push=False builds and tags locally only (digest ""; the registry is not consulted).
    """
    repo = registry.parse_repository(repository_uri)
    if push and not rebuild:
        digest = existing_digest(aws, repository_uri, tag)
        if digest:
            console.ok(f"{repository_uri}:{tag} already in the registry ({digest}); build and push skipped")
            return PushedImage(repository_uri, tag, digest, pushed=False)
    client = docker_client()
    image_id = build_only(spec, repository_uri, tag, console, labels=labels, client=client)
    if not push:
        return PushedImage(repository_uri, tag, "", pushed=False)
    auth = registry.ecr_credentials(aws, repo) if repo.is_ecr else None
    if repo.push_name != repository_uri:
        client.api.tag(image_id, repo.push_name, tag)  # docker pushes by name: name it for the mapped registry
    console.step(f"Pushing {repo.push_name}:{tag}")
    digest = registry.push(client.api, repo, tag, console, auth)
    registry.register_with_emulated_ecr(aws, repo, tag, digest, auth)
    console.ok(f"Pushed {repository_uri}@{digest}")
    return PushedImage(repository_uri, tag, digest, pushed=True)
