"""Registry side of the image stage: ECR repository URIs, ECR login, push with progress.

`DEPLOYER_ECR_ENDPOINT=host:port` (meant for tests and local use only): the emulated ECR
(moto) has the ECR API but no registry (v2 push/pull) protocol, so when this is set the
image is pushed to that registry host under the same repository path, with the
credentials ECR's get_authorization_token returns. The ECR URI stays the image's name
everywhere else (PushedImage.repository, the task definition). After the push the manifest
is registered with the emulated ECR API (put_image) so describe_images sees the tag; real
ECR needs no such step and it is never done without the mapping.
"""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass

from ..core.console import quote_untrusted
from ..core.errors import ExternalError

ENDPOINT_ENV = "DEPLOYER_ECR_ENDPOINT"

# <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]
_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")

MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)


@dataclass(frozen=True)
class Repo:
    """A repository URI split into the parts the registry and ECR calls need."""

    uri: str
    host: str
    path: str
    account: str | None = None  # set only for ECR hosts
    region: str | None = None

    @property
    def is_ecr(self) -> bool:
        return self.account is not None

    @property
    def push_name(self) -> str:
        """Where docker pushes: the mapped registry when DEPLOYER_ECR_ENDPOINT applies."""
        endpoint = mapped_endpoint(self)
        return f"{endpoint}/{self.path}" if endpoint else self.uri


def parse_repository(uri: str) -> Repo:
    host, _, path = uri.partition("/")
    match = _ECR_HOST.match(host)
    if match and path:
        return Repo(uri, host, path, account=match.group(1), region=match.group(2))
    return Repo(uri, host, path)


def mapped_endpoint(repo: Repo) -> str | None:
    """The registry that stands in for ECR (tests and local use), else None."""
    endpoint = os.environ.get(ENDPOINT_ENV, "").strip().rstrip("/")
    if not endpoint or not repo.is_ecr:
        return None
    return endpoint.split("://", 1)[-1]  # accept http://host:port too; docker wants host:port


def ecr_of(aws, repo: Repo, *, quick: bool = False):
    """The repository's ECR adapter (its own region even if the session's differs); quick: one short attempt."""
    from ..aws.ecr import Ecr

    return Ecr(aws, region=repo.region, account=repo.account, repository=repo.path, shown=repo.uri, quick=quick)


def ecr_digest(aws, repo: Repo, tag: str) -> str | None:
    """The digest ECR holds for tag, or None when the tag is not there."""
    return ecr_of(aws, repo).digest(tag)


def ecr_credentials(aws, repo: Repo) -> dict[str, str]:
    """docker auth_config from an ECR token; kept in memory, never written to docker's config."""
    user, password = ecr_of(aws, repo).login()
    return {"username": user, "password": password, "serveraddress": mapped_endpoint(repo) or repo.host}


def push(api, repo: Repo, tag: str, console, auth_config: dict | None) -> str:
    """Push <push_name>:tag and return the digest from the stream's final aux event.

    auth_config None lets the SDK use the user's docker config and credential helpers.
    """
    target = repo.push_name
    host = target.partition("/")[0]
    digest = None
    with _progress(console) as progress:
        try:
            for event in api.push(target, tag=tag, stream=True, decode=True, auth_config=auth_config):
                if "error" in event:
                    raise _push_refused(host, event)
                aux = event.get("aux") or {}
                digest = aux.get("Digest") or digest
                progress.update(event)
        except ExternalError:
            raise
        except Exception as exc:  # connection dropped, daemon API error
            raise ExternalError(f"pushing {target}:{tag} failed: {quote_untrusted(exc)}") from exc
    if not digest:
        raise ExternalError(f"push of {target}:{tag} ended without a digest from the registry")
    return digest


def _push_refused(host: str, event: dict) -> ExternalError:
    message = quote_untrusted((event.get("errorDetail") or {}).get("message") or event["error"])  # the registry's words: data
    hint = None
    if "already exists" in message or "immutable" in message.lower():
        hint = "the repository has immutable tags and this tag exists; use a new tag instead of --rebuild"
    elif "unauthorized" in message or "denied" in message:
        hint = "check the registry credentials (ECR: IAM permissions ecr:GetAuthorizationToken and push actions)"
    return ExternalError(f"push refused by registry {host}: {message}", hint=hint)


def register_with_emulated_ecr(aws, repo: Repo, tag: str, digest: str, auth_config: dict) -> None:
    """Mapped mode only: tell the emulated ECR API about the pushed manifest, so
    describe_images (and so the skip-if-present check) sees the tag like real ECR would."""
    endpoint = mapped_endpoint(repo)
    if not endpoint:
        return
    body, media_type = fetch_manifest(endpoint, repo.path, tag, auth_config)
    # imageDigest given: moto otherwise derives a digest of its own from the layers
    ecr_of(aws, repo).put_image(tag, body, media_type, digest, doing=f"registering {repo.uri}:{tag} with the emulated ECR")


def fetch_manifest(endpoint: str, path: str, tag: str, auth_config: dict | None) -> tuple[str, str]:
    """(manifest text, media type) from a registry's v2 API; basic auth, http on loopback."""
    body, media_type = _registry_get(endpoint, f"{path}/manifests/{tag}", auth_config, accept=", ".join(MANIFEST_TYPES))
    return body, media_type or json.loads(body).get("mediaType")


def _registry_get(endpoint: str, path: str, auth_config: dict | None, *, accept: str, timeout: float = 30) -> tuple[str, str | None]:
    """(body, Content-Type) of GET /v2/<path>; basic auth, http on loopback."""
    scheme = "http" if endpoint.split(":")[0] in ("127.0.0.1", "localhost", "[::1]") else "https"
    request = urllib.request.Request(f"{scheme}://{endpoint}/v2/{path}", headers={"Accept": accept})
    if auth_config:
        token = base64.b64encode(f"{auth_config['username']}:{auth_config['password']}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read().decode(), response.headers.get("Content-Type")
    except (urllib.error.URLError, OSError) as exc:
        raise ExternalError(f"reading {path} from {endpoint} failed: {quote_untrusted(exc)}") from exc


def image_platforms(aws, repo: Repo, reference: str, *, quick: bool = False) -> list[str] | None:
    """The os/arch list of repo:<tag> or repo@<digest> in ECR ("linux/arm64", ...); None when not found.

    The manifest comes from the ECR API; a single-platform image's config blob from the registry that
    holds it (the mapped one in tests and local use, else ECR's layer download URL).
    """
    image_id = {"imageDigest": reference} if reference.startswith("sha256:") else {"imageTag": reference}
    shown = f"{repo.uri}{'@' if reference.startswith('sha256:') else ':'}{reference}"
    found = ecr_of(aws, repo, quick=quick).manifests(image_id, list(MANIFEST_TYPES), doing=f"reading the manifest of {shown} (ecr BatchGetImage)")
    if not found:
        return None
    manifest = json.loads(found[0]["imageManifest"])
    if "manifests" in manifest:  # an index: each entry says its platform
        platforms = [m.get("platform") or {} for m in manifest["manifests"]]
        return [f"{p.get('os')}/{p.get('architecture')}" for p in platforms if p.get("architecture") not in (None, "unknown")]
    config = json.loads(_config_blob(aws, repo, manifest["config"]["digest"], quick=quick))
    return [f"{config.get('os')}/{config.get('architecture')}"]


def _config_blob(aws, repo: Repo, digest: str, *, quick: bool = False) -> str:
    endpoint = mapped_endpoint(repo)
    timeout = 5 if quick else 30
    if endpoint:
        return _registry_get(endpoint, f"{repo.path}/blobs/{digest}", ecr_credentials(aws, repo), accept="*/*", timeout=timeout)[0]
    url = ecr_of(aws, repo, quick=quick).layer_url(digest, doing=f"reading the image config {digest} (ecr GetDownloadUrlForLayer)")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read().decode()
    except (urllib.error.URLError, OSError) as exc:
        raise ExternalError(f"reading the image config {digest} of {repo.uri} failed: {quote_untrusted(exc)}") from exc


class _progress:
    """Per-layer push progress: rich bars on a terminal, else one line per layer state change."""

    def __init__(self, console):
        self.console = console
        self.rich = not getattr(console, "plain", True) and not getattr(console, "quiet", False)
        self.states: dict[str, str] = {}
        self.tasks: dict[str, int] = {}
        self.totals: dict[str, int | None] = {}
        self.bars = None

    def __enter__(self):
        if self.rich:
            from rich.console import Console as RichConsole
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

            self.bars = Progress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                console=RichConsole(file=self.console.stream, highlight=False, soft_wrap=True), transient=True,
            )
            self.bars.start()
        return self

    def __exit__(self, *exc):
        if self.bars is not None:
            self.bars.stop()
        return False

    def update(self, event: dict) -> None:
        layer, status = event.get("id"), event.get("status")
        if not status:
            return
        if not layer or "progressDetail" not in event:
            # whole-push messages ("The push refers to ...", "<tag>: digest: ...")
            self._line(f"{layer}: {status}" if layer else status)
            return
        changed = self.states.get(layer) != status
        self.states[layer] = status
        if self.bars is not None:
            self._bar(layer, status, event.get("progressDetail") or {})
        elif changed:
            self._line(f"{layer}: {status}")

    def _line(self, text: str) -> None:
        if self.bars is not None:  # print above the live bars rather than through them
            from rich.markup import escape

            self.bars.console.print(f"[dim]{escape(quote_untrusted(self.console.secrets.mask(text)))}[/]")
        else:
            self.console.event(quote_untrusted(text))

    def _bar(self, layer: str, status: str, detail: dict) -> None:
        if layer not in self.tasks:
            self.tasks[layer] = self.bars.add_task(layer, total=None)
        task_id = self.tasks[layer]
        if status.startswith(("Pushed", "Layer already exists", "Mounted from")):
            total = self.totals.get(layer) or 1  # finished: fill the bar
            self.bars.update(task_id, description=f"{layer} {status}", total=total, completed=total)
        else:
            self.totals[layer] = detail.get("total") or self.totals.get(layer)
            self.bars.update(task_id, description=f"{layer} {status}", total=self.totals[layer], completed=detail.get("current", 0))
