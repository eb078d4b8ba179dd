"""Image stage: tag from git, build with BuildKit (or the legacy builder), push to ECR, return the digest.

The engine is the one the user's docker CLI would use: `DOCKER_HOST` (with DOCKER_TLS_VERIFY /
DOCKER_CERT_PATH) if set, else the current docker context (`DOCKER_CONTEXT`, or
`currentContext` in ~/.docker/config.json), else the default socket. The builder is chosen in
buildkit.py: buildx, else DOCKER_BUILDKIT=1 docker build, else the engine API's legacy builder.
The docker SDK does the rest (inspect, tag, pull of the cache image, push): it takes the ECR login
in memory, and its push answers with the digest.

A tag already present in the repository is never built or pushed again (unless rebuild), so
immutable-tag repositories work and re-runs are cheap. The pushed image is named by digest.

Cache for cold runners (`image.cache`): `registry` exports BuildKit's cache to <repo>:buildcache
(a buildx builder with the docker-container driver); `inline` writes the cache metadata into the
image and, on the next build, pulls the newest image of the repository and builds
`--cache-from` it; `off`. Unset: registry where the builder can export it, else inline.

`DEPLOYER_ECR_ENDPOINT=host:port` maps pushes for ECR repositories to another registry; it is
meant for tests and local use (the emulated ECR has no registry protocol). See registry.py.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from . import secrets as build_secrets, buildkit, dockerfile, registry
from .secrets import SecretSource
from ..core.console import quote_untrusted
from ..core.errors import BadInput, ExternalError
from ..manifest.config import PLATFORMS

# docker's tag grammar; ECR allows the same characters
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_STEP = re.compile(r"^Step \d+/\d+ : ")
_LAYER_STEPS = ("RUN", "COPY", "ADD", "WORKDIR")  # the steps BuildKit shows as its own (metadata steps are not)


@dataclass(frozen=True)
class ImageSpec:
    """The `image:` section of deployer.yaml, with the flags applied."""

    context: Path
    dockerfile: str = "Dockerfile"
    build_args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    platform: str | None = None  # None: the engine's own
    secrets: tuple[SecretSource, ...] = ()
    ssh: tuple[str, ...] = ()
    cache: str | None = None  # registry | inline | off; None: registry where the builder can, else inline
    cache_ref: str | None = None
    repo_root: Path | None = None  # the app repository: the Dockerfile and deployer.yaml's build-secret files stay in it
    env_allow: tuple[str, ...] | None = None  # deployer.yaml's env_allow: credential variables it hands to the build


@dataclass(frozen=True)
class BuildSummary:
    builder: str
    built: list[str]  # Dockerfile steps that ran
    cached: list[str]  # steps taken from the cache
    cache: str  # the cache mode used, and its source
    seconds: float
    push_seconds: float | None = None


@dataclass(frozen=True)
class PushedImage:
    repository: str  # the ECR repository URI as the environment output gives it
    tag: str
    digest: str  # sha256:...; "" when built locally only (push=False)
    pushed: bool  # False when the tag already existed and build/push were skipped
    build: BuildSummary | None = None

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
        _hash_content(digest, Path(repo_dir) / os.fsdecode(name))
    return digest.hexdigest()[:12]


def _hash_content(digest, path: Path) -> None:
    """An untracked file of the repository (git lists it) into the dirty hash: a symlink as its target's
    name (never followed), a regular file streamed (never whole in memory, never printed), anything else as nothing."""
    if path.is_symlink():
        digest.update(os.fsencode(os.readlink(path)))
        return
    if not path.is_file():
        return
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)


# ---------------------------------------------------------------- platform, source URL


def task_platform(task_definition: dict) -> str | None:
    """The platform a task definition's runtimePlatform asks for; None when it does not say."""
    arch = (task_definition.get("runtimePlatform") or {}).get("cpuArchitecture")
    if not arch:
        return None
    if arch not in PLATFORMS:
        raise BadInput(f"runtimePlatform.cpuArchitecture {arch!r} is not one of {', '.join(PLATFORMS)}")
    return PLATFORMS[arch]


def build_platform(explicit: str | None, task_definitions: dict[str, dict]) -> str:
    """image.platform / --platform if given, else the task definitions' runtimePlatform (all alike),
    else linux/amd64 (Fargate's default). An override that contradicts a task definition is refused:
    that image would stop at start-up with `exec format error`."""
    wanted = {name: task_platform(td) for name, td in task_definitions.items()}
    stated = {name: p for name, p in wanted.items() if p}
    if explicit:
        for name, platform in stated.items():
            if platform != explicit:
                raise BadInput(
                    f"image platform {explicit} but the task definition of {name} runs {platform} (runtimePlatform); "
                    "its tasks would fail with `exec format error`",
                    hint="drop image.platform / --platform to follow the task definition, or change its runtimePlatform",
                )
        return explicit
    if len(set(stated.values())) > 1:
        listing = ", ".join(f"{name}: {p}" for name, p in stated.items())
        raise BadInput(f"the services share one image but their task definitions ask for different platforms ({listing})")
    return next(iter(stated.values()), "linux/amd64")


def public_url(url: str) -> str:
    """A git remote without credentials: https://user:token@host/x → https://host/x; a query or
    fragment (?token=...) dropped; ssh://git@host and scp-style git@host:x kept (a login, no secret)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if not parts.scheme or not parts.netloc:
        return url  # git@host:team/web.git, or a local path
    user, _, host = parts.netloc.rpartition("@")
    if user and parts.scheme in ("ssh", "git+ssh") and ":" not in user:
        host = parts.netloc
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


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


def build_only(
    spec: ImageSpec, repository: str, tag: str, console, *, labels: dict[str, str], client=None, aws=None,
    masked=None, cache_from: list[str] | None = None, cache_to: list[str] | None = None,
    inline_cache: bool = False,
) -> tuple[str, BuildSummary]:
    """Build and tag <repository>:<tag> locally; returns (image id, what the build did).

    Checked before anything builds: the Dockerfile's BuildKit features against the builder, the secret
    ids and SSH mounts it uses against what was given. masked (templating.Secrets, the run's masking set)
    receives every secret value, so neither the build's output nor a later error prints one.
    """
    context = Path(spec.context)
    builder = checked_builder(spec)
    client = client or docker_client()
    if masked is None:
        from ..manifest.templating import Secrets

        masked = Secrets()
    resolved = build_secrets.resolve(
        list(spec.secrets), aws, context, repo_root=spec.repo_root, env_allow=list(spec.env_allow) if spec.env_allow is not None else None
    )
    masked.values.update(resolved.values)
    labels = {"org.opencontainers.image.created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), **labels}
    console.step(f"Building {repository}:{tag}")
    console.info(f"builder: {builder.describe()}" + (f", platform {spec.platform}" if spec.platform else ""))
    started = time.monotonic()
    if builder.is_buildkit:
        build_args = {**spec.build_args, **({"BUILDKIT_INLINE_CACHE": "1"} if inline_cache else {})}
        request = buildkit.BuildRequest(
            context=context, dockerfile=spec.dockerfile, tag=f"{repository}:{tag}", platform=spec.platform, target=spec.target,
            build_args=build_args, labels=labels, secret_flags=resolved.flags, secret_env=resolved.env, ssh=list(spec.ssh),
            cache_from=list(cache_from or []), cache_to=list(cache_to or []), network=_build_network(client),
        )
        result = buildkit.build(builder, request, console, mask=masked.mask)
        image_id, built, cached = result.image_id, result.built, result.cached
    else:
        stream = client.api.build(
            path=str(context), dockerfile=spec.dockerfile, tag=f"{repository}:{tag}", buildargs=dict(spec.build_args),
            target=spec.target, platform=spec.platform, labels=labels, rm=True, forcerm=True, decode=True,
            cache_from=list(cache_from or []) or None,
        )
        image_id, built, cached = _follow_build(stream, console)
    seconds = round(time.monotonic() - started, 2)
    console.ok(f"Built {repository}:{tag} ({image_id[:19]}) in {seconds:.1f}s: {len(built)} steps run, {len(cached)} from cache")
    return image_id, BuildSummary(builder.kind, built, cached, "", seconds)


def checked_builder(spec: ImageSpec):
    """The builder, once the Dockerfile is known to be buildable with it and with what was given
    (BuildKit features, secret ids, SSH mounts): bad input here costs no pull and no build."""
    from ..manifest import files

    context = Path(spec.context)
    if spec.repo_root is not None:
        context = files.confined(context, Path.cwd(), spec.repo_root, what=f"image context {files.shown(context)}")
    if not context.is_dir():
        raise BadInput(f"image context {context} is not a directory")
    path = context / spec.dockerfile
    if spec.repo_root is not None:
        path = files.confined(spec.dockerfile, context, spec.repo_root, what=f"Dockerfile {spec.dockerfile}")
    if not path.is_file():
        raise BadInput(f"Dockerfile {spec.dockerfile!r} not found in the image context {context}")
    builder = buildkit.find_builder()
    _check_against_dockerfile(spec, dockerfile.scan(path), builder)
    return builder


def _check_against_dockerfile(spec: ImageSpec, scan, builder) -> None:
    name = spec.dockerfile
    if scan.needs_buildkit and not builder.is_buildkit:
        raise BadInput(
            f"{name} needs BuildKit ({'; '.join(scan.buildkit_features[:3])}) and the builder here is the {builder.describe()}",
            hint=buildkit.HOW_TO_GET_BUILDKIT,
        )
    if (spec.secrets or spec.ssh) and not builder.is_buildkit:
        raise BadInput(f"build secrets and --ssh need BuildKit, and the builder here is the {builder.describe()}", hint=buildkit.HOW_TO_GET_BUILDKIT)
    given = {s.id for s in spec.secrets}
    for ident, line in scan.secret_ids().items():
        if ident not in given:
            raise BadInput(
                f"{name}:{line} mounts the build secret {ident!r} (RUN --mount=type=secret) but it is not provided",
                hint=f"--secret id={ident},env=VAR (or src=FILE), or image.secrets: {{{ident}: env:VAR | src:FILE | ssm:NAME | secretsmanager:NAME}} in deployer.yaml",
            )
    ssh_given = {flag.split("=", 1)[0] for flag in spec.ssh}
    for ident, line in scan.ssh_ids().items():
        if ident not in ssh_given:
            raise BadInput(f"{name}:{line} mounts the SSH agent {ident!r} (RUN --mount=type=ssh) but --ssh {ident} was not given")
    for flag in spec.ssh:
        ident, _, paths = flag.partition("=")
        if not paths and not os.environ.get("SSH_AUTH_SOCK"):
            raise BadInput(f"--ssh {flag}: SSH_AUTH_SOCK is not set (start an agent: eval $(ssh-agent) && ssh-add), or give --ssh {ident}=PATH_TO_KEY")


def _build_network(client) -> str | None:
    """`host` on an engine without a bridge network (RUN steps fail there otherwise), else the default."""
    try:
        names = {n.get("Name") for n in client.api.networks(names=["bridge"])}
    except Exception:  # noqa: BLE001 - cannot tell: keep the default
        return None
    return None if "bridge" in names else "host"


def _follow_build(stream, console) -> tuple[str, list[str], list[str]]:
    """Legacy builder: stream output line by line; BadInput naming the step if the Dockerfile fails.
    Returns (image id, steps run, steps from the cache)."""
    import docker

    step, image_id, pending = None, None, ""
    steps: dict[str, bool] = {}  # step -> from the cache
    try:
        for event in stream:
            if "error" in event:
                message = (event.get("errorDetail") or {}).get("message") or event["error"]
                message = quote_untrusted(message.strip())  # the build's words: data, on one line
                raise BadInput(f"docker build failed at {quote_untrusted(step)}: {message}" if step else f"docker build failed: {message}")
            image_id = (event.get("aux") or {}).get("ID") or image_id
            pending += event.get("stream", "")
            *lines, pending = pending.split("\n")  # output arrives in chunks; emit whole lines
            for line in filter(str.strip, lines):
                if _STEP.match(line):
                    step = line.split(" : ", 1)[0] + f" ({line.split(' : ', 1)[1].strip()})"
                    if line.split(" : ", 1)[1].split(" ", 1)[0].upper() in _LAYER_STEPS:
                        steps[step] = False
                    console.info(quote_untrusted(line))
                else:
                    if "Using cache" in line and step in steps:
                        steps[step] = True
                    console.untrusted("build", line.rstrip())  # a RUN step's output: data
    except docker.errors.APIError as exc:  # refused before streaming: bad platform, target, args
        text = exc.explanation or str(exc)
        if exc.is_client_error() or "dockerfile" in str(text).lower():
            raise BadInput(f"docker build refused: {quote_untrusted(text)}") from exc
        raise ExternalError(f"docker build failed in the engine: {quote_untrusted(text)}") from exc
    except (BadInput, ExternalError):
        raise
    except Exception as exc:  # the engine went away mid-build
        raise ExternalError(f"docker build interrupted: {quote_untrusted(exc)}") from exc
    if not image_id:
        raise ExternalError("docker build ended without an image id")
    return image_id, [s for s, hit in steps.items() if not hit], [s for s, hit in steps.items() if hit]


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
    labels: dict[str, str], rebuild: bool = False, push: bool = True, masked=None,
) -> PushedImage:
    """Build and push unless the tag is already there; returns the image pinned by digest.

    push=False builds and tags locally only (digest ""; the registry is not consulted).
    """
    repo = registry.parse_repository(repository_uri)
    check_cache_ref(spec, repo)
    if push and not rebuild:
        digest = existing_digest(aws, repository_uri, tag)
        if digest:
            console.ok(f"{repository_uri}:{tag} already in the registry ({digest}); build and push skipped")
            return PushedImage(repository_uri, tag, digest, pushed=False)
    checked_builder(spec)  # before the cache image is pulled
    client = docker_client()
    auth = registry.ecr_credentials(aws, repo) if repo.is_ecr else None
    cache = _cache_plan(aws, spec, repo, tag, client, auth, console)
    image_id, summary = build_only(
        spec, repository_uri, tag, console, labels=labels, client=client, aws=aws, masked=masked,
        cache_from=cache.cache_from, cache_to=cache.cache_to, inline_cache=cache.inline,
    )
    summary = replace(summary, cache=cache.describe)
    if not push:
        return PushedImage(repository_uri, tag, "", pushed=False, build=summary)
    if repo.push_name != repository_uri:
        client.api.tag(image_id, repo.push_name, tag)  # docker pushes by name: name it for the mapped registry
    console.step(f"Pushing {repo.push_name}:{tag}")
    started = time.monotonic()
    digest = registry.push(client.api, repo, tag, console, auth)
    summary = replace(summary, push_seconds=round(time.monotonic() - started, 2))
    registry.register_with_emulated_ecr(aws, repo, tag, digest, auth)
    console.ok(f"Pushed {repository_uri}@{digest}")
    return PushedImage(repository_uri, tag, digest, pushed=True, build=summary)


# ---------------------------------------------------------------- cache


@dataclass(frozen=True)
class CachePlan:
    describe: str  # for the summary: "inline from <ref>", "registry <ref>", "off", ...
    cache_from: list[str] = field(default_factory=list)
    cache_to: list[str] = field(default_factory=list)
    inline: bool = False  # write the cache metadata into the image (BUILDKIT_INLINE_CACHE=1)


def check_cache_ref(spec: ImageSpec, repo) -> None:
    """The cache lives next to the image: the same registry, where the push credentials apply."""
    if not spec.cache_ref:
        return
    host = spec.cache_ref.split("/", 1)[0]
    if "/" not in spec.cache_ref or host != repo.host:
        raise BadInput(
            f"image.cache_ref {spec.cache_ref!r} is not in the image's registry {repo.host}",
            hint=f"use a tag of the image's repository, e.g. {repo.uri}:buildcache",
        )


def _cache_plan(aws, spec: ImageSpec, repo, tag: str, client, auth: dict | None, console) -> CachePlan:
    builder = buildkit.find_builder()
    mode = spec.cache or ("registry" if builder.exports_registry_cache else "inline")
    if mode == "off":
        return CachePlan("off")
    if mode == "registry":
        if not builder.exports_registry_cache:
            raise BadInput(
                f"image.cache: registry needs a builder that can export BuildKit's cache to a registry; this one is {builder.describe()}",
                hint="use image.cache: inline (works with every builder), or a buildx builder with the docker-container driver "
                "(`docker buildx create --use --driver docker-container`)",
            )
        ref = _push_ref(spec.cache_ref or f"{repo.uri}:buildcache", repo)
        return CachePlan(
            f"registry {ref}", cache_from=[f"type=registry,ref={ref}"],
            cache_to=[f"type=registry,ref={ref},mode=max,image-manifest=true,oci-mediatypes=true"],
        )
    source = spec.cache_ref or _newest_image(aws, repo, exclude=tag)
    if not source:
        return CachePlan("inline (no earlier image to start from)", inline=builder.is_buildkit)
    local = _push_ref(source, repo)
    if not _pull_cache_image(client, local, auth, console):
        return CachePlan(f"inline (cache image {source} not available)", inline=builder.is_buildkit)
    return CachePlan(f"inline from {source}", cache_from=[local], inline=builder.is_buildkit)


def _push_ref(ref: str, repo) -> str:
    """The reference as the engine reaches it (the mapped registry in tests and local use)."""
    return ref.replace(repo.uri, repo.push_name, 1) if ref.startswith(repo.uri) else ref


def _newest_image(aws, repo, *, exclude: str) -> str | None:
    """repo:<tag> of the most recently pushed tagged image (ECR), the likeliest to share layers."""
    if not repo.is_ecr:
        return None
    newest, pages = None, 0
    for details in registry.ecr_of(aws, repo).tagged_image_pages(doing=f"listing the images of {repo.uri} (the build cache source)"):
        for detail in details:
            tags = [t for t in detail.get("imageTags", []) if t != exclude and t != "buildcache"]
            if tags and (newest is None or detail["imagePushedAt"] > newest[0]):
                newest = (detail["imagePushedAt"], tags[0])
        pages += 1
        if pages >= 5:
            break
    return f"{repo.uri}:{newest[1]}" if newest else None


def _pull_cache_image(client, ref: str, auth: dict | None, console) -> bool:
    """The cache image in the local engine (pulled with the in-memory login); False if it cannot be had."""
    try:
        client.images.get(ref)
        return True
    except Exception:  # noqa: BLE001 - not here: pull it
        pass
    name, _, tag = ref.rpartition(":")
    console.info(f"pulling the cache image {ref}")
    try:
        for event in client.api.pull(name, tag=tag, stream=True, decode=True, auth_config=auth):
            if "error" in event:
                raise ExternalError(event["error"])
    except Exception as exc:  # noqa: BLE001 - a cache is an optimisation: build without it
        console.warn(f"cache image {ref} could not be pulled ({quote_untrusted(exc)}); building without it")
        return False
    return True
