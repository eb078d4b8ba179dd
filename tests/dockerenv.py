"""A real Docker engine and an htpasswd-protected registry for tests and `make demo`.

- dockerd: private (socket, data, exec root under one directory) unless DOCKER_HOST already
  points at a working engine, which is then reused and left running.
- docker-registry on 127.0.0.1:<free port>, htpasswd auth for user `AWS`, password
  `123456789012-auth-token`: what moto's ECR get_authorization_token hands out, so pushes
  through DEPLOYER_ECR_ENDPOINT=<registry> authenticate like they would against ECR.
- `localhost/busybox:base`: a base image made from busybox-static (no internet here).
- `localhost/arm64-stub:base`: a linux/arm64 image whose /bin/sh is an aarch64 ELF header: an
  x86_64 engine without QEMU refuses to run it (`exec format error`) exactly as it refuses a real
  arm64 binary, and a build without RUN steps on it gives a genuine linux/arm64 image.
- `localhost/python:3.12-slim`: busybox plus a stand-in `python3 -m pip install` (FAKE_PIP).
- `cold_engine(dir)`: one more private dockerd with an empty data dir (a fresh CI runner).

pytest: in tests/conftest.py, `pytest_plugins = ["tests.dockerenv"]` (test modules may say the
same; the plugin is registered once, so one engine per session). The session fixture
`docker_env` yields a DockerEnv (use `env.environ()` with monkeypatch.setenv). It skips
when not root or binaries are missing, and fails instead when CI is set.

CLI: `python -m tests.dockerenv start --dir D` prints DOCKER_HOST=... and REGISTRY=... lines;
`python -m tests.dockerenv stop --dir D` stops what start started and removes D.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

USERNAME = "AWS"
PASSWORD = "123456789012-auth-token"  # moto's ECR token decodes to AWS:<account>-auth-token
BASE_IMAGE = "localhost/busybox:base"
ARM64_BASE_IMAGE = "localhost/arm64-stub:base"
PYTHON_BASE_IMAGE = "localhost/python:3.12-slim"
# The stand-in for pip in PYTHON_BASE_IMAGE: each requirement not in pip's cache costs a
# "download" (FAKE_PIP_SECONDS, default 1 s), then it is "installed" under --prefix.
FAKE_PIP = """#!/bin/sh
# fake pip (tests/dockerenv.py): python3 -m pip install [--prefix=P] -r FILE
[ "$1" = "-m" ] && shift 2
[ "$1" = "install" ] || { echo "fake python3: only -m pip install" >&2; exit 2; }
shift; prefix=/usr/local; file=""
while [ $# -gt 0 ]; do case "$1" in --prefix=*) prefix="${1#--prefix=}";; -r) file="$2"; shift;; esac; shift; done
cache="${PIP_CACHE_DIR:-/root/.cache/pip}"; mkdir -p "$cache"
while read -r req; do
  [ -z "$req" ] && continue
  name="${req%%==*}"
  if [ -f "$cache/$req" ]; then echo "Using cached $req"
  else echo "Downloading $req"; sleep "${FAKE_PIP_SECONDS:-1}"; echo "$req" > "$cache/$req"; fi
  mkdir -p "$prefix/lib/python3.12/site-packages/$name" && cp "$cache/$req" "$prefix/lib/python3.12/site-packages/$name/__init__.py"
done < "$file"
echo "Successfully installed $(tr '\\n' ' ' < "$file")"
"""
BUSYBOX = "/bin/busybox"
STATE = "state.json"


@dataclass
class DockerEnv:
    dir: str
    docker_host: str
    registry: str  # host:port of the htpasswd registry
    dockerd_pid: int | None  # None when an existing engine (DOCKER_HOST) is reused
    registry_pids: list[int]
    base_image: str = BASE_IMAGE
    arm64_base_image: str = ARM64_BASE_IMAGE
    python_base_image: str = PYTHON_BASE_IMAGE

    def environ(self) -> dict[str, str]:
        """Variables that point deployer at this engine and registry."""
        return {"DOCKER_HOST": self.docker_host, "DEPLOYER_ECR_ENDPOINT": self.registry}

    username: str = USERNAME
    password: str = PASSWORD

    def client(self):
        import docker

        return docker.DockerClient(base_url=self.docker_host)

    def start_registry(self, name: str, password: str) -> str:
        """Another registry (stopped with the rest), e.g. one that rejects the ECR token."""
        return start_registry(self, name, password)


# ---------------------------------------------------------------- requirements


def missing() -> str | None:
    """Why this machine cannot run the environment, or None."""
    needed = ["docker-registry", "htpasswd"]
    if not _engine_answers(os.environ.get("DOCKER_HOST")):
        if os.geteuid() != 0:
            return "a private dockerd needs root (or set DOCKER_HOST to a running engine)"
        needed.append("dockerd")
    absent = [name for name in needed if not shutil.which(name)]
    if not Path(BUSYBOX).is_file():
        absent.append(f"{BUSYBOX} (busybox-static)")
    return f"missing: {', '.join(absent)} (apt-get install docker.io docker-registry busybox-static apache2-utils)" if absent else None


def _engine_answers(host: str | None) -> bool:
    if not host:
        return False
    try:
        import docker

        return bool(docker.DockerClient(base_url=host, timeout=5).ping())
    except Exception:
        return False


# ---------------------------------------------------------------- start / stop


def start(directory: Path, *, registry: str | None = None, reuse: bool = True) -> DockerEnv:
    """Engine (private unless reuse and DOCKER_HOST works), registry (unless given), base images;
    state saved in directory."""
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    env = DockerEnv(str(directory), "", registry or "", None, [])
    try:
        if reuse and _engine_answers(os.environ.get("DOCKER_HOST")):
            env.docker_host = os.environ["DOCKER_HOST"]
        else:
            env.docker_host, env.dockerd_pid = start_dockerd(directory)
            _save(env)  # saved early so stop() can clean up even if a later step fails
        env.registry = registry or start_registry(env, "registry", PASSWORD)
        import_base_image(env.client())
        load_arm64_stub(env.client())
        python_base_image(env.client())
    except BaseException:
        stop(directory)
        raise
    return env


def start_dockerd(directory: Path) -> tuple[str, int]:
    """A private dockerd: no iptables, no bridge (nothing here needs container networking)."""
    sock = directory / "docker.sock"
    (directory / "daemon.json").write_text("{}")  # keep /etc/docker/daemon.json out of it
    log = open(directory / "dockerd.log", "ab")
    process = subprocess.Popen(
        [
            "dockerd", "-H", f"unix://{sock}", "--data-root", str(directory / "data"),
            "--exec-root", str(directory / "exec"), "--pidfile", str(directory / "dockerd.pid"),
            "--config-file", str(directory / "daemon.json"), "--storage-driver=overlay2",
            "--iptables=false", "--ip6tables=false", "--bridge=none",
        ],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in pytest must not kill it before teardown stops it
    )
    host = f"unix://{sock}"
    _wait(lambda: _engine_answers(host), 30, "dockerd", process, directory / "dockerd.log")
    return host, process.pid


def start_registry(env: DockerEnv, name: str, password: str) -> str:
    """Start a docker-registry whose htpasswd accepts AWS:<password>; returns host:port."""
    directory = Path(env.dir)
    port = _free_port()
    hashed = subprocess.run(
        ["htpasswd", "-nbB", "-C", "4", USERNAME, password], check=True, capture_output=True, text=True
    ).stdout.strip()  # cost 4: cost 12 makes every registry request take seconds
    (directory / f"{name}.htpasswd").write_text(hashed + "\n")
    config = {
        "version": 0.1,
        "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(directory / name)}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "test"},
        "auth": {"htpasswd": {"realm": name, "path": str(directory / f"{name}.htpasswd")}},
    }
    (directory / f"{name}.yml").write_text(json.dumps(config))  # JSON is YAML
    process = subprocess.Popen(
        ["docker-registry", "serve", str(directory / f"{name}.yml")],
        stdout=open(directory / f"{name}.log", "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    env.registry_pids.append(process.pid)
    _save(env)
    address = f"127.0.0.1:{port}"
    _wait(lambda: _registry_answers(address), 15, "docker-registry", process, directory / f"{name}.log")
    return address


def cold_engine(directory: Path, registry: str) -> DockerEnv:
    """A second private dockerd with a fresh data dir and the base images (what a new CI runner has),
    pushing to the same registry. stop(directory) ends it."""
    return start(directory, registry=registry, reuse=False)


def stop(directory: Path) -> None:
    """Stop what start() started (by pid), then remove directory once nothing is mounted in it."""
    directory = Path(directory).resolve()
    state_file = directory / STATE
    if not state_file.exists():
        return
    state = json.loads(state_file.read_text())
    for pid in state.get("registry_pids", []):
        _terminate(pid, 5)
    if state.get("dockerd_pid"):
        _terminate(state["dockerd_pid"], 20)  # ~3 s: it stops its containers and containerd
    leftover = _mounts_under(directory)
    for mount in reversed(leftover):
        subprocess.run(["umount", "-l", mount], capture_output=True)
    if _mounts_under(directory):
        print(f"dockerenv: {directory} still has mounts; not removing it", file=sys.stderr)
        return
    shutil.rmtree(directory, ignore_errors=True)


def _terminate(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:  # reap it if it is our child, so it does not linger as a zombie
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _mounts_under(directory: Path) -> list[str]:
    prefix = str(directory) + "/"
    with open("/proc/mounts") as mounts:
        points = [line.split()[1] for line in mounts]
    return [p for p in points if (p + "/").startswith(prefix) or p == str(directory)]


# ---------------------------------------------------------------- base image


def import_base_image(client, name: str = BASE_IMAGE) -> str:
    """busybox-static as an image: /bin/busybox, a link per applet (sh, httpd, ...), /etc/passwd."""
    try:
        return client.images.get(name).id
    except Exception:
        pass
    repository, tag = name.rsplit(":", 1)
    client.api.import_image_from_data(_busybox_rootfs(), repository=repository, tag=tag)
    return client.images.get(name).id


def _busybox_rootfs(extra: dict[str, bytes] | None = None) -> bytes:
    """The busybox root file system as a tar (fixed modes and times: the same bytes on every run),
    plus extra executable files."""
    applets = subprocess.run([BUSYBOX, "--list"], check=True, capture_output=True, text=True).stdout.split()
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for directory, mode in (("bin", 0o755), ("etc", 0o755), ("root", 0o700), ("tmp", 0o1777)):
            _add(tar, directory, tarfile.DIRTYPE, mode)
        _add(tar, "bin/busybox", tarfile.REGTYPE, 0o755, Path(BUSYBOX).read_bytes())
        for applet in applets:
            if applet != "busybox":
                _add(tar, f"bin/{applet}", tarfile.SYMTYPE, 0o777, link="busybox")
        _add(tar, "etc/passwd", tarfile.REGTYPE, 0o644, b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
        _add(tar, "etc/group", tarfile.REGTYPE, 0o644, b"root:x:0:\nnogroup:x:65534:\n")
        for path, content in (extra or {}).items():
            parent = ""
            for part in path.split("/")[:-1]:
                parent = f"{parent}/{part}".lstrip("/")
                if parent not in ("bin", "etc", "root", "tmp"):
                    _add(tar, parent, tarfile.DIRTYPE, 0o755)
            _add(tar, path, tarfile.REGTYPE, 0o755, content)
    return data.getvalue()


def python_base_image(client, name: str = PYTHON_BASE_IMAGE) -> str:
    """A "python:3.12-slim" for offline builds: busybox with FAKE_PIP as python3. Loaded from a fixed
    archive, so every engine (a cold runner's too) has the same image id, as after a pull by digest:
    BuildKit's cache keys start from the base image."""
    layer = _busybox_rootfs({"usr/local/bin/python3": FAKE_PIP.encode()})
    return _load_image(client, name, layer, {"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/usr/local/bin:/bin"], "Cmd": ["python3"]}})


def load_arm64_stub(client, name: str = ARM64_BASE_IMAGE) -> str:
    """A linux/arm64 image (docker load: `docker import` cannot set the architecture) whose /bin/sh
    is a bare aarch64 ELF header: it cannot run on x86_64 without emulation, like any arm64 binary."""
    # ELF64, little endian, ET_EXEC, e_machine 183 (EM_AARCH64)
    elf = b"\x7fELF\x02\x01\x01\x00" + b"\0" * 8 + struct.pack("<HHIQQQIHHHHHH", 2, 183, 1, 0x400000, 64, 0, 0, 64, 56, 0, 64, 0, 0)
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        for directory in ("bin", "etc", "tmp"):
            _add(tar, directory, tarfile.DIRTYPE, 0o755)
        _add(tar, "bin/sh", tarfile.REGTYPE, 0o755, elf)
    return _load_image(client, name, layer.getvalue(), {"architecture": "arm64", "variant": "v8", "os": "linux", "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]}})


def _load_image(client, name: str, layer: bytes, config: dict) -> str:
    """`docker load` of a one-layer image with this config (fixed bytes: the same id everywhere)."""
    try:
        return client.images.get(name).id
    except Exception:
        pass
    config = {**config, "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
              "history": [{"created_by": f"tests/dockerenv.py {name}"}]}
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        _add(tar, "layer.tar", tarfile.REGTYPE, 0o644, layer)
        _add(tar, config_name, tarfile.REGTYPE, 0o644, config_bytes)
        _add(tar, "manifest.json", tarfile.REGTYPE, 0o644, json.dumps([{"Config": config_name, "RepoTags": [name], "Layers": ["layer.tar"]}]).encode())
    client.images.load(archive.getvalue())
    return client.images.get(name).id


def _add(tar: tarfile.TarFile, name: str, kind: bytes, mode: int, content: bytes = b"", link: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname, info.size = kind, mode, link, len(content)
    tar.addfile(info, io.BytesIO(content) if content else None)


# ---------------------------------------------------------------- helpers


def _registry_answers(address: str) -> bool:
    try:
        urllib.request.urlopen(f"http://{address}/v2/", timeout=2)
        return True
    except urllib.error.HTTPError as exc:
        return exc.code == 401  # up, and asking for credentials
    except OSError:
        return False


def _wait(ready, timeout: float, what: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{what} did not start (exit {process.poll()}):\n{tail}")
        time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _save(env: DockerEnv) -> None:
    (Path(env.dir) / STATE).write_text(json.dumps(asdict(env)))


def _skip_or_fail(reason: str) -> None:
    import pytest

    if os.environ.get("CI", "").lower() in ("", "0", "false", "no"):
        pytest.skip(f"docker environment unavailable: {reason}")
    pytest.fail(f"CI is set but the docker environment is unavailable: {reason}", pytrace=False)


# ---------------------------------------------------------------- pytest


def _fixture():
    import pytest

    @pytest.fixture(scope="session")
    def docker_env():
        """The engine + registry + base image for the whole test session."""
        reason = missing()
        if reason:
            _skip_or_fail(reason)
        directory = Path(tempfile.mkdtemp(prefix="dkenv-", dir="/tmp"))  # short: unix socket paths
        env = start(directory)
        try:
            yield env
        finally:
            stop(directory)

    return docker_env


docker_env = _fixture()


# ---------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.dockerenv", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--dir", required=True, type=Path, help="working directory (socket, data, registry storage)")
    args = parser.parse_args(argv)
    if args.action == "stop":
        stop(args.dir)
        return 0
    reason = missing()
    if reason:
        print(f"dockerenv: {reason}", file=sys.stderr)
        return 1
    env = start(args.dir)
    print(f"DOCKER_HOST={env.docker_host}")
    print(f"REGISTRY={env.registry}")
    print(f"BASE_IMAGE={env.base_image}")
    print(f"ARM64_BASE_IMAGE={env.arm64_base_image}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
