"""Thin boto3 adapter: one session, clients with adaptive retries, errors turned into exit codes.

`AWS_ENDPOINT_URL` (and `AWS_ENDPOINT_URL_<SERVICE>`) are honoured by botocore itself, which is
how the tests and `make demo` point the tool at the local AWS.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from typing import Any, Iterator

from ..core.console import quote_untrusted
from ..core.errors import BadInput, ExternalError


class Aws:
    """Lazily built clients that share one session; counts calls per operation for -v and benchmarks."""

    def __init__(self, region: str | None = None, profile: str | None = None, console=None, assume_role_arn: str | None = None,
                 *, session_name: str = "deployer", source: "Aws | None" = None):
        self._region = region
        self._profile = profile
        self._assume_role_arn = assume_role_arn
        self._session_name = session_name
        self._source = source  # the caller's Aws whose credentials assume the role (an environment's session)
        self._session = None
        self._account: str | None = None
        self._clients: dict[str, Any] = {}
        self.console = console
        self.calls: Counter[str] = Counter()

    @property
    def session(self):
        if self._session is None:
            with translate_errors("starting an AWS session"):
                if self._source is not None:
                    session = self._source.session
                    region = self._region or session.region_name
                else:
                    session = boto3_session(region_name=self._region, profile_name=self._profile)
                    region = session.region_name
                if self._assume_role_arn:
                    session = _assumed_session(session, self._assume_role_arn, self._session_name, region)
                    if self.console is not None:
                        self.console.debug(f"aws sts.AssumeRole {self._assume_role_arn} as {self._session_name}")
            if not session.region_name:
                raise BadInput(
                    "no AWS region: set `region:` in deployer.yaml, AWS_REGION, or a profile region"
                )
            self._session = session
        return self._session

    @property
    def region(self) -> str:
        return self.session.region_name

    @property
    def role_arn(self) -> str | None:
        return self._assume_role_arn

    def assumed(self, role_arn: str, *, session_name: str, region: str | None = None) -> "Aws":
        """Another Aws whose calls run under role_arn, assumed with this one's credentials (refreshed
        before they expire: a long watch outlives the hour of an AssumeRole answer)."""
        return Aws(region=region, console=self.console, assume_role_arn=role_arn, session_name=session_name, source=self)

    def client(self, service: str, *, attempts: int | None = None, timeout: float | None = None, region: str | None = None):
        """A client with adaptive retries (throttling shares one token bucket per account and region).

        attempts: None = AWS_MAX_ATTEMPTS / AWS_RETRY_MODE when set, else adaptive with 8 attempts.
        A caller that gives attempts paces its own retries (the rollout watch's next poll, the
        token-checked registration): its client uses standard mode, without adaptive mode's
        client-side rate limiter, which would otherwise hold back the call that sees the verdict.
        region: another region than the session's (ECR is regional: the repository's own; a container's
        awslogs-region); the session's own region, or None, is the session's client.
        """
        if region == self.region:
            region = None
        key = f"{service}/{attempts}/{timeout}" + (f"/{region}" if region else "")
        if key not in self._clients:
            import os

            from botocore.config import Config

            total = attempts or int(os.environ.get("AWS_MAX_ATTEMPTS") or 8)
            mode = "standard" if attempts else os.environ.get("AWS_RETRY_MODE") or "adaptive"
            config = Config(retries={"mode": mode, "total_max_attempts": total}, user_agent_extra="deployer")
            if timeout is not None:
                config = config.merge(Config(connect_timeout=timeout, read_timeout=timeout))
            client = self.session.client(service, config=config, **({"region_name": region} if region else {}))
            client.meta.events.register("before-call.*.*", self._count_call)
            self._clients[key] = client
        return self._clients[key]

    def _count_call(self, model, **_kwargs):
        name = f"{model.service_model.service_name}.{model.name}"
        self.calls[name] += 1
        if self.console is not None:
            self.console.debug(f"aws {name}")

    def account_id(self) -> str:
        """The account of this session's credentials (sts GetCallerIdentity, asked once)."""
        if self._account is None:
            with translate_errors("reading the AWS account (sts GetCallerIdentity)"):
                self._account = self.client("sts").get_caller_identity()["Account"]
        return self._account


_LOADER = None


def shared_loader():
    """One botocore data loader for the process: every session (the caller's, each environment's assumed
    role) parses a service's model and endpoint rules once, not once per session (~30 ms per client)."""
    global _LOADER
    if _LOADER is None:
        import os

        from botocore.loaders import create_loader

        _LOADER = create_loader(os.environ.get("AWS_DATA_PATH"))
    return _LOADER


def boto3_session(*, credentials=None, **kwargs):
    """A boto3 session on the shared loader (credentials: botocore credentials, e.g. refreshable)."""
    import boto3
    import botocore.session

    core = botocore.session.Session()
    core.register_component("data_loader", shared_loader())
    if credentials is not None:
        core._credentials = credentials
    session = boto3.Session(botocore_session=core, **kwargs)
    paths = shared_loader().search_paths  # each boto3 session appends its data directory again
    paths[:] = list(dict.fromkeys(paths))
    return session


SESSION_NAME = re.compile(r"[^\w+=,.@-]")


def partition_of(region: str) -> str:
    """The AWS partition of a region: aws-cn (cn-*), aws-us-gov (us-gov-*), else aws."""
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def session_name(*parts: str) -> str:
    """An AssumeRole session name (2-64 of word characters and +=,.@-): deployer-<app>-<env> shows in CloudTrail."""
    name = SESSION_NAME.sub("-", "-".join(p for p in parts if p))
    return name[:64] if len(name) >= 2 else "deployer"


def _assumed_session(session, role_arn: str, name: str = "deployer", region: str | None = None):
    """A session with role_arn's credentials, refreshed by botocore before they expire. The first
    AssumeRole happens now, so a role that cannot be assumed is found before anything else."""
    from botocore.credentials import AssumeRoleCredentialFetcher, RefreshableCredentials

    fetcher = AssumeRoleCredentialFetcher(
        client_creator=session._session.create_client,
        source_credentials=session.get_credentials(),
        role_arn=role_arn,
        extra_args={"RoleSessionName": name},
    )
    credentials = RefreshableCredentials.create_from_metadata(
        metadata=fetcher.fetch_credentials(), refresh_using=fetcher.fetch_credentials, method="assume-role")
    return boto3_session(credentials=credentials, region_name=region or session.region_name)


RETRYABLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
    "ServerException",
}


def is_transient(exc: BaseException) -> bool:
    """Throttling, a 5xx, or a connection that closed: the call may be tried again."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        return True
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(exc) in RETRYABLE_CODES or status >= 500
    return False


def retry_transient(call, *, attempts: int = 8, before_retry=None):
    """Run call() again on transient faults, with jittered exponential backoff (bounded).

    before_retry() runs before each new attempt and may return a result instead: how a
    non-idempotent call (RegisterTaskDefinition) finds out that a lost answer had succeeded.
    """
    from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

    state = {"first": True}

    def attempt():
        if not state["first"] and before_retry is not None:
            found = before_retry()
            if found is not None:
                return found
        state["first"] = False
        return call()

    retrying = Retrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.2, max=5),
        reraise=True,
    )
    return retrying(attempt)


def error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def short_message(message: str | None, status: int | None = None) -> str | None:
    """An error's message; an HTML error page (a proxy, a load balancer, an endpoint that crashed) is
    summed up as its HTTP status and title instead of being printed whole."""
    import re

    text = message or ""
    if not re.match(r"\s*<(!doctype\s+html|html)", text, re.IGNORECASE):
        return message
    title = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    reason = " ".join(title.group(1).split())[:80] if title else "an HTML error page"
    return f"HTTP {status}: {reason}" if status and str(status) not in reason else reason


@contextlib.contextmanager
def translate_errors(doing: str) -> Iterator[None]:
    """Turn botocore failures into ExternalError (exit 3) that says what the tool was doing."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
        ProfileNotFound,
    )

    try:
        yield
    except NoRegionError as exc:
        raise BadInput("no AWS region: set `region:` in deployer.yaml, AWS_REGION, or a profile region") from exc
    except ProfileNotFound as exc:
        raise BadInput(f"AWS profile not found: {exc}") from exc
    except NoCredentialsError as exc:
        raise ExternalError(
            f"no AWS credentials while {doing}",
            hint="configure credentials (AWS_PROFILE, `aws sso login`, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)",
        ) from exc
    except ClientError as exc:
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        # AWS's message can quote what the app put in a request: data, on one line.
        code, message = err.get("Code"), short_message(err.get("Message"), status)
        said = message if code and message and message.startswith(str(code)) else f"{code}: {message}"
        raise ExternalError(f"AWS refused while {doing}: {quote_untrusted(said)}") from exc
    except BotoCoreError as exc:
        raise ExternalError(f"AWS unreachable while {doing}: {quote_untrusted(exc)}") from exc
