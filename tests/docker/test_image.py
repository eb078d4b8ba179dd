"""Image stage against a real engine, a real htpasswd registry and moto's ECR API over HTTP. What needs
no engine (source tag, platform, source URL, the buildx command line): tests/unit/test_image_without_engine.py."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import socket
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from deployer.image import build as image
from deployer.aws.session import Aws
from deployer.core.console import Console
from deployer.core.errors import BadInput, ExternalError
from deployer.image.build import ImageSpec, build_and_push, existing_digest


EXAMPLE_APP = Path(__file__).resolve().parents[2] / "examples" / "app"
V2_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
LABELS = {"org.opencontainers.image.revision": "0" * 40, "org.opencontainers.image.source": "https://example.com/web"}


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def ecr():
    """moto over HTTP with an immutable-tag ECR repository; yields (Aws, repository URI)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {
            "AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        aws = Aws(region="us-east-1")
        repo = aws.client("ecr").create_repository(repositoryName="web", imageTagMutability="IMMUTABLE")["repository"]
        yield aws, repo["repositoryUri"]
    server.stop()


@pytest.fixture
def engine(docker_env, monkeypatch):
    for name, value in docker_env.environ().items():
        monkeypatch.setenv(name, value)
    return docker_env


@pytest.fixture
def app_spec(docker_env):
    return ImageSpec(context=EXAMPLE_APP, build_args={"BASE_IMAGE": docker_env.base_image})


def new_tag() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def plain_console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(stream=out), out


def manifest_digest(env, path: str, tag: str) -> str | None:
    """Docker-Content-Digest straight from the registry's HTTP API (None on 404)."""
    auth = base64.b64encode(f"{env.username}:{env.password}".encode()).decode()
    request = urllib.request.Request(
        f"http://{env.registry}/v2/{path}/manifests/{tag}", method="HEAD",
        headers={"Accept": V2_MANIFEST, "Authorization": f"Basic {auth}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers["Docker-Content-Digest"]
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- build and push


def test_push_returns_registry_digest_then_skips(ecr, engine, app_spec, monkeypatch):
    aws, uri = ecr
    tag = new_tag()
    console, out = plain_console()
    pushed = build_and_push(aws, app_spec, uri, tag, console, labels=LABELS)

    assert pushed.pushed and pushed.repository == uri and pushed.tag == tag
    assert pushed.digest == manifest_digest(engine, "web", tag)
    assert pushed.reference == f"{uri}@{pushed.digest}"
    # moto's ECR API knows the tag now (registered from the pushed manifest), same digest
    assert existing_digest(aws, uri, tag) == pushed.digest
    labels = engine.client().images.get(f"{uri}:{tag}").labels
    assert labels["org.opencontainers.image.revision"] == "0" * 40 and "org.opencontainers.image.created" in labels
    log = out.getvalue()
    # Each layer ends Pushed, or already in the registry when earlier tests pushed the same bits.
    assert "builder: BuildKit" in log and "[2/3] COPY app/ /app/" in log and any(f": {end}" in log for end in ("Pushed", "Layer already exists", "Mounted from"))
    # plain progress: one line per layer state change, never one per chunk of bytes
    layer_lines = [line for line in log.splitlines() if ": Pushing" in line]
    assert len(layer_lines) == len(set(layer_lines)) and len(layer_lines) <= 6

    # second run: the tag exists, so neither the engine nor the registry is touched
    monkeypatch.setattr(image, "docker_client", lambda: pytest.fail("engine used although the tag exists"))
    console, out = plain_console()
    again = build_and_push(aws, app_spec, uri, tag, console, labels=LABELS)
    assert (again.pushed, again.digest) == (False, pushed.digest)
    assert "skipped" in out.getvalue()


def test_example_app_serves_index_and_health(engine, app_spec):
    """The example image really is a web app: version on /, 200 on /health."""
    client = engine.client()
    image_id, _ = image.build_only(app_spec, "localhost/example-web", "test", plain_console()[0], labels={})
    port = free_port()
    container = client.containers.run(
        image_id, ["httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", "/www"], network_mode="host", detach=True, remove=True
    )
    try:
        index = _get_when_up(f"http://127.0.0.1:{port}/")
        version = (EXAMPLE_APP / "app" / "VERSION").read_text().strip()
        assert f">{version}<" in index
        assert _get_when_up(f"http://127.0.0.1:{port}/health").strip() == "ok"
    finally:
        container.stop(timeout=1)


def _get_when_up(url: str) -> str:
    deadline = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_failing_dockerfile_is_bad_input_and_pushes_nothing(ecr, engine, tmp_path):
    aws, uri = ecr
    (tmp_path / "Dockerfile").write_text(f"FROM {engine.base_image}\nRUN echo building\nRUN exit 7\n")
    tag = new_tag()
    with pytest.raises(BadInput) as caught:
        build_and_push(aws, ImageSpec(context=tmp_path), uri, tag, plain_console()[0], labels={})
    message = caught.value.message
    assert "failed at [3/3] RUN exit 7: " in message and "exit code: 7" in message
    assert caught.value.exit_code == 2
    assert manifest_digest(engine, "web", tag) is None
    assert existing_digest(aws, uri, tag) is None


def test_docker_unreachable_is_external_error(ecr, app_spec, monkeypatch):
    aws, uri = ecr
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent")
    with pytest.raises(ExternalError) as caught:
        build_and_push(aws, app_spec, uri, new_tag(), plain_console()[0], labels={})
    assert "DOCKER_HOST=unix:///nonexistent" in caught.value.message and caught.value.exit_code == 3


def test_wrong_registry_credentials_is_external_error(ecr, engine, app_spec, monkeypatch):
    aws, uri = ecr
    other = engine.start_registry("otherpw", "not-the-ecr-token")
    monkeypatch.setenv("DEPLOYER_ECR_ENDPOINT", other)
    with pytest.raises(ExternalError) as caught:
        build_and_push(aws, app_spec, uri, new_tag(), plain_console()[0], labels={})
    assert "unauthorized" in caught.value.message and f"registry {other}" in caught.value.message


def test_non_ecr_registry_uses_docker_config_credentials(engine, app_spec, monkeypatch, tmp_path):
    """Not an ECR host: no ECR call at all; the SDK reads the user's docker config."""
    auth = base64.b64encode(f"{engine.username}:{engine.password}".encode()).decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {engine.registry: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    uri, tag = f"{engine.registry}/plain/web", new_tag()
    pushed = build_and_push(None, app_spec, uri, tag, plain_console()[0], labels=LABELS)
    assert pushed.pushed and pushed.digest == manifest_digest(engine, "plain/web", tag)
    again = build_and_push(None, app_spec, uri, tag, plain_console()[0], labels=LABELS)
    assert (again.pushed, again.digest) == (False, pushed.digest)


def test_docker_context_is_honoured(engine, monkeypatch, tmp_path):
    """DOCKER_HOST unset: the engine comes from the current context in the docker config."""
    meta = tmp_path / "contexts" / "meta" / hashlib.sha256(b"testctx").hexdigest()
    meta.mkdir(parents=True)
    meta.joinpath("meta.json").write_text(json.dumps(
        {"Name": "testctx", "Metadata": {}, "Endpoints": {"docker": {"Host": engine.docker_host, "SkipTLSVerify": False}}}
    ))
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "testctx"}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("DOCKER_HOST")
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    assert image.docker_client().ping()











# ---------------------------------------------------------------- builders


@pytest.fixture
def fresh_builder(monkeypatch):
    """find_builder() caches per process; each test here picks its own."""
    from deployer.image import buildkit

    monkeypatch.setattr(buildkit, "_found", {})
    return buildkit


def test_legacy_builder_is_the_fallback_and_says_so(engine, app_spec, fresh_builder, monkeypatch, tmp_path):
    monkeypatch.setenv("DEPLOYER_BUILDER", "legacy")
    console, out = plain_console()
    image_id, summary = image.build_only(app_spec, "localhost/example-web", "legacy", console, labels={})
    assert summary.builder == "legacy" and image_id.startswith("sha256:")
    assert "builder: legacy builder (docker engine API; DEPLOYER_BUILDER=legacy)" in out.getvalue() and "Step 1/" in out.getvalue()
    # A Dockerfile that needs BuildKit: exit 2 before anything builds, saying how to get BuildKit.
    (tmp_path / "Dockerfile").write_text(f"FROM {engine.base_image}\nRUN --mount=type=cache,target=/c echo hi\n")
    with pytest.raises(BadInput) as caught:
        image.build_only(ImageSpec(context=tmp_path), "localhost/needs-bk", "x", plain_console()[0], labels={})
    assert "Dockerfile needs BuildKit (Dockerfile:2 RUN --mount) and the builder here is the legacy builder" in caught.value.message
    assert "buildx" in caught.value.hint and "DOCKER_BUILDKIT=1" in caught.value.hint


def test_a_docker_cli_of_23_or_later_without_buildx_is_no_buildkit_path(fresh_builder, monkeypatch):
    """Docker's own 28.x client here has no buildx and refuses DOCKER_BUILDKIT=1; Debian's 20.10 drives BuildKit."""
    clients = {}
    for path in ("/usr/local/bin/docker", "/usr/bin/docker"):
        version = fresh_builder._client_version(path) if Path(path).exists() else None
        if version:
            clients[path] = version
    if not clients:
        pytest.skip("no docker CLI here")
    for path, version in clients.items():
        monkeypatch.setenv("DEPLOYER_DOCKER_CLI", path)
        builder = fresh_builder.find_builder()
        if fresh_builder._buildx(path):
            assert builder.kind == "buildx"
        else:
            assert builder.kind == ("buildkit" if int(version.split(".")[0]) < 23 else "legacy"), (path, version)
    monkeypatch.setenv("DEPLOYER_BUILDER", "sometimes")
    with pytest.raises(BadInput, match="DEPLOYER_BUILDER='sometimes'"):
        fresh_builder.find_builder()


def test_build_secret_values_are_masked_in_the_build_output(engine, fresh_builder, monkeypatch, tmp_path):
    if not fresh_builder.find_builder().is_buildkit:
        pytest.skip("no BuildKit builder here")
    monkeypatch.setenv("MY_TOKEN", "tok-SECRET-123")
    (tmp_path / "Dockerfile").write_text(f"FROM {engine.base_image}\nRUN --mount=type=secret,id=tok cat /run/secrets/tok\n")
    spec = ImageSpec(context=tmp_path, secrets=(image.build_secrets.parse_flag("id=tok,env=MY_TOKEN"),))
    console, out = plain_console()
    image.build_only(spec, "localhost/masked", "x", console, labels={})
    assert "tok-SECRET-123" not in out.getvalue() and "****" in out.getvalue()
