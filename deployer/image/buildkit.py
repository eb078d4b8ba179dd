"""Which builder builds the image, and running a BuildKit build through the docker CLI.

Order: `docker buildx build` when a docker CLI has the buildx plugin; else `DOCKER_BUILDKIT=1
docker build` with a client that still drives the engine's built-in BuildKit (docker CLI < 23:
newer clients refuse it without buildx); else the engine API's legacy builder (image.py), which
cannot build `RUN --mount`, heredocs, `COPY --link`...

`DEPLOYER_DOCKER_CLI=/path/to/docker` picks the client; `DEPLOYER_BUILDER=buildx|buildkit|legacy`
forces a builder (default `auto`). The CLI talks to the same engine as the SDK (DOCKER_HOST or the
docker context, which the CLI reads itself).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..core.console import quote_untrusted, untrusted_line
from ..core.errors import BadInput, ExternalError

_CANDIDATES = ("/usr/bin/docker", "/usr/local/bin/docker")
_VERTEX = re.compile(r"^#(\d+) (.*)$")
_LOG = re.compile(r"^\d+\.\d+ ")
_STATE = re.compile(r"^(DONE|CACHED)\b")
HOW_TO_GET_BUILDKIT = (
    "install the docker buildx plugin (Docker's docker-buildx-plugin package, or the binary in "
    "~/.docker/cli-plugins/docker-buildx), or point DEPLOYER_DOCKER_CLI at a docker CLI older than 23 "
    "(e.g. Debian's docker.io 20.10), which drives the engine's built-in BuildKit with DOCKER_BUILDKIT=1"
)


@dataclass(frozen=True)
class Builder:
    kind: str  # buildx | buildkit | legacy
    cli: str | None = None
    version: str = ""
    driver: str | None = None  # buildx's driver: docker, docker-container, kubernetes, remote
    forced: bool = False  # chosen with DEPLOYER_BUILDER

    @property
    def is_buildkit(self) -> bool:
        return self.kind != "legacy"

    @property
    def exports_registry_cache(self) -> bool:
        """--cache-to type=registry needs a buildx builder that is not the engine's own (docker driver)."""
        return self.kind == "buildx" and self.driver not in (None, "docker")

    def describe(self) -> str:
        if self.kind == "buildx":
            return f"BuildKit via docker buildx ({self.cli}, driver {self.driver or 'unknown'})"
        if self.kind == "buildkit":
            return f"BuildKit via DOCKER_BUILDKIT=1 docker build ({self.cli}, client {self.version})"
        return "legacy builder (docker engine API; " + ("DEPLOYER_BUILDER=legacy)" if self.forced else "no BuildKit found)")


@dataclass
class BuildResult:
    image_id: str
    built: list[str] = field(default_factory=list)  # Dockerfile steps that ran
    cached: list[str] = field(default_factory=list)  # Dockerfile steps taken from the cache


_found: dict[tuple, Builder] = {}


def find_builder() -> Builder:
    """The best builder available (cached per process)."""
    forced = os.environ.get("DEPLOYER_BUILDER", "auto").strip().lower() or "auto"
    if forced not in ("auto", "buildx", "buildkit", "legacy"):
        raise BadInput(f"DEPLOYER_BUILDER={forced!r}: use auto, buildx, buildkit or legacy")
    key = (forced, os.environ.get("DEPLOYER_DOCKER_CLI"), os.environ.get("PATH"))
    if key not in _found:
        _found[key] = _find(forced)
    return _found[key]


def _find(forced: str) -> Builder:
    if forced == "legacy":
        return Builder("legacy", forced=True)
    clis = _candidate_clis()
    for cli in clis:
        if forced in ("auto", "buildx"):
            builder = _buildx(cli)
            if builder:
                return builder
    for cli in clis:
        if forced in ("auto", "buildkit"):
            version = _client_version(cli)
            if version and _major(version) < 23:
                return Builder("buildkit", cli, version)
    if forced != "auto":
        raise BadInput(f"DEPLOYER_BUILDER={forced}: no docker CLI here can do that (tried {', '.join(clis) or 'none'})", hint=HOW_TO_GET_BUILDKIT)
    return Builder("legacy")


def _candidate_clis() -> list[str]:
    explicit = os.environ.get("DEPLOYER_DOCKER_CLI")
    if explicit:
        return [explicit]
    seen, found = set(), []
    for path in (shutil.which("docker"), *_CANDIDATES):
        if path and os.access(path, os.X_OK) and os.path.realpath(path) not in seen:
            seen.add(os.path.realpath(path))
            found.append(path)
    return found


def _quiet(args: list[str], timeout: float = 20) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _buildx(cli: str) -> Builder | None:
    done = _quiet([cli, "buildx", "version"])
    if not done or done.returncode != 0:
        return None
    inspect = _quiet([cli, "buildx", "inspect"])
    driver = None
    for line in (inspect.stdout if inspect and inspect.returncode == 0 else "").splitlines():
        if line.startswith("Driver:"):
            driver = line.split(":", 1)[1].strip()
            break
    return Builder("buildx", cli, done.stdout.strip(), driver)


def _client_version(cli: str) -> str | None:
    done = _quiet([cli, "version", "--format", "{{.Client.Version}}"])
    version = done.stdout.strip().splitlines()[0] if done and done.stdout.strip() else ""
    return version if re.match(r"^\d+\.\d+", version) else None


def _major(version: str) -> int:
    return int(version.split(".", 1)[0])


# ---------------------------------------------------------------- build


@dataclass
class BuildRequest:
    context: Path
    dockerfile: str
    tag: str
    platform: str | None = None
    target: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    secret_flags: list[str] = field(default_factory=list)
    secret_env: dict[str, str] = field(default_factory=dict)
    ssh: list[str] = field(default_factory=list)
    cache_from: list[str] = field(default_factory=list)
    cache_to: list[str] = field(default_factory=list)
    network: str | None = None


def command(builder: Builder, request: BuildRequest, iidfile: Path) -> list[str]:
    args = [builder.cli, "buildx", "build", "--load"] if builder.kind == "buildx" else [builder.cli, "build"]
    args += ["--progress", "plain", "-f", str(request.context / request.dockerfile), "-t", request.tag, "--iidfile", str(iidfile)]
    if request.platform:
        args += ["--platform", request.platform]
    if request.target:
        args += ["--target", request.target]
    if request.network:
        args += ["--network", request.network]
    for key, value in request.build_args.items():
        args += ["--build-arg", f"{key}={value}"]
    for key, value in request.labels.items():
        args += ["--label", f"{key}={value}"]
    for flag in request.secret_flags:
        args += ["--secret", flag]
    for flag in request.ssh:
        args += ["--ssh", flag]
    for ref in request.cache_from:
        args += ["--cache-from", ref]
    for ref in request.cache_to:
        args += ["--cache-to", ref]
    return [*args, str(request.context)]


def build(builder: Builder, request: BuildRequest, console, mask: Callable[[str], str] = lambda s: s) -> BuildResult:
    """Run the build, streaming BuildKit's plain progress; BadInput naming the failing step."""
    private = Path(tempfile.mkdtemp(prefix="deployer-build-"))  # 0700: the image id file only
    iidfile = private / "iid"
    env = {**os.environ, **request.secret_env}
    if builder.kind == "buildkit":
        env["DOCKER_BUILDKIT"] = "1"
    args = command(builder, request, iidfile)
    console.debug(mask("$ " + " ".join(args)))
    progress = _Progress(console, mask)
    try:
        try:
            process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, text=True, errors="replace")
        except OSError as exc:
            raise ExternalError(f"cannot run {builder.cli}: {quote_untrusted(exc)}") from exc
        try:
            for line in process.stdout:
                progress.feed(line.rstrip("\n"))
            code = process.wait()
        except BaseException:
            process.kill()
            process.wait()
            raise
        if code != 0:
            raise progress.failure(request.platform)
        image_id = iidfile.read_text().strip() if iidfile.exists() else ""
    finally:
        shutil.rmtree(private, ignore_errors=True)
    if not image_id:
        raise ExternalError("docker build ended without an image id")
    return BuildResult(image_id, progress.built(), progress.cached_steps())


class _Progress:
    """Follows `--progress plain`: one line per step as it starts, its output dimmed, the verdict."""

    def __init__(self, console, mask):
        self.console = console
        self.mask = mask
        self.names: dict[str, str] = {}
        self.states: dict[str, str] = {}
        self.logs: dict[str, list[str]] = {}
        self.error: tuple[str, str] | None = None  # (vertex, message)
        self.tail: list[str] = []

    def feed(self, line: str) -> None:
        line = self.mask(line)
        match = _VERTEX.match(line)
        if not match:
            if line.strip() and line.strip() != "------":
                self.tail = (self.tail + [line.strip()])[-20:]
            return
        vertex, text = match.groups()
        if vertex not in self.names:
            self.names[vertex] = text
            if text.startswith("[") and not text.startswith(("[internal]", "[auth]")):
                self.console.info(quote_untrusted(text))  # a Dockerfile step
            else:
                self.console.event(f"  {quote_untrusted(text)}")
            return
        if text.startswith("sha256:"):
            return
        if text.startswith("ERROR:"):
            self.error = self.error or (vertex, text.removeprefix("ERROR:").strip())
            return
        state = _STATE.match(text)
        if state:
            self.states[vertex] = state.group(1) if self.states.get(vertex) != "CACHED" else "CACHED"
            if state.group(1) == "CACHED":
                self.console.event(f"  CACHED {quote_untrusted(self.names[vertex])}")
            return
        if _LOG.match(text):
            self.logs.setdefault(vertex, []).append(text.split(" ", 1)[1] if " " in text else "")
            self.logs[vertex] = self.logs[vertex][-20:]
            self.console.untrusted("build", text)  # a RUN step's output: data, `  build| `, escaped
            return
        self.console.event(f"  {quote_untrusted(text)}")

    def _steps(self, state: str) -> list[str]:
        return [
            name for vertex, name in self.names.items()
            if name.startswith("[") and not name.startswith(("[internal]", "[auth]")) and "] FROM " not in name
            and self.states.get(vertex) == state
        ]

    def built(self) -> list[str]:
        return self._steps("DONE")

    def cached_steps(self) -> list[str]:
        return self._steps("CACHED")

    def failure(self, platform: str | None) -> Exception:
        summary = next((line for line in reversed(self.tail) if not line.startswith(">")), "")
        if self.error is None:
            text = quote_untrusted(summary) or "the build failed without a message"
            if "Cannot connect to the Docker daemon" in text or "error during connect" in text:
                return ExternalError(f"docker build could not reach the engine: {text}")
            return BadInput(f"docker build failed: {text}", hint=_hint(text))
        vertex, message = self.error
        message = quote_untrusted(message)
        step = quote_untrusted(self.names.get(vertex, f"#{vertex}"))
        logs = self.logs.get(vertex, [])
        if any("exec format error" in line for line in logs):
            return BadInput(
                f"docker build failed at {step}: the engine cannot run {platform or 'this platform'}'s binaries "
                "(exec format error): it has no emulation for that CPU",
                hint="build on a runner of that architecture (CodeBuild ARM_CONTAINER for linux/arm64), or install "
                "QEMU user emulation on the build host (Debian: qemu-user-static binfmt-support; or "
                "`docker run --privileged --rm tonistiigi/binfmt --install arm64`)",
            )
        last = "\n".join(untrusted_line("build", line) for line in logs[-5:])
        return BadInput(f"docker build failed at {step}: {message}" + (f"\n{last}" if last else ""), hint=_hint(message))


def _hint(message: str) -> str | None:
    if "Unknown flag: link" in message or "unknown flag: link" in message.lower():
        return "COPY --link needs Dockerfile frontend 1.4+: this builder's built-in frontend is older (use docker buildx)"
    if "network bridge not found" in message:
        return "the engine has no bridge network; deployer passes --network host when it sees that, so check DOCKER_HOST points at the engine it inspected"
    if "docker/dockerfile" in message:
        return "a `# syntax=` line makes BuildKit pull that frontend image; the registry must be reachable (or drop the line)"
    return None
