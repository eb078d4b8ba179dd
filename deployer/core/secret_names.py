"""Which environment variables, names and values are credentials: the one predicate.

Used by templates (`env()`/`must_env()`), build secrets, build args, `--var`, `init` and the
plain-environment warning of render, so they cannot disagree.

Three levels:
- `is_aws_credential(name)`: the release role's own credentials and the providers that lead to
  them (static keys, web identity, the ECS/CodeBuild container endpoint, profiles, GitHub's OIDC
  request token). Never readable from a template, never a build secret; `env_allow:` cannot name them.
- `is_credential_name(name)`: those, the CI platforms' tokens (GITHUB_TOKEN, ACTIONS_RUNTIME_TOKEN,
  CI_JOB_TOKEN, CI_JOB_JWT...), and every name that says it holds a secret (`looks_secret`):
  refused as `env()` values and as build secrets from deployer.yaml unless `env_allow:` names them.
- `looks_like_credential_value(value)`: a value that is a credential whatever it is called
  (AKIA.../ASIA... keys, ghp_... tokens, private keys, JWTs, URLs with a password, long random tokens).
"""

from __future__ import annotations

import math
import re
from collections import Counter

# The release role's credentials and their providers (the SDKs' credential chain).
AWS_CREDENTIAL_VARIABLES = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_ROLE_SESSION_NAME",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "AWS_CREDENTIAL_FILE",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
    }
)
AWS_CREDENTIAL_PREFIXES = ("AWS_CONTAINER_", "ACTIONS_ID_TOKEN_REQUEST_")  # AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)

# CI platforms' own credentials whose names do not all say so (the others end in _TOKEN, _PASSWORD...).
CI_CREDENTIAL_VARIABLES = frozenset(
    {
        "GITHUB_TOKEN", "GH_TOKEN", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_RUNTIME_URL", "ACTIONS_CACHE_URL", "ACTIONS_RESULTS_URL",
        "CI_JOB_TOKEN", "CI_JOB_JWT", "CI_JOB_JWT_V1", "CI_JOB_JWT_V2", "CI_BUILD_TOKEN", "CI_REGISTRY_PASSWORD", "CI_DEPLOY_PASSWORD",
        "SYSTEM_ACCESSTOKEN", "BITBUCKET_STEP_OIDC_TOKEN", "CIRCLE_OIDC_TOKEN", "CIRCLE_OIDC_TOKEN_V2", "BUILDKITE_AGENT_ACCESS_TOKEN",
        "NPM_TOKEN", "NODE_AUTH_TOKEN", "DOCKER_AUTH_CONFIG", "GOOGLE_APPLICATION_CREDENTIALS", "VAULT_TOKEN",
    }
)

# A word of a name that says "secret" wherever it is (a word ending in TOKEN: MYTOKEN, ACCESSTOKEN).
_ALWAYS = {"PASSWD", "PASSPHRASE", "CREDENTIAL", "CREDENTIALS", "APIKEY", "JWT", "PRIVATEKEY", "SECRETKEY"}
_ALWAYS_SUFFIXES = ("TOKEN", "SECRET", "PASSWORD", "APIKEY", "CREDENTIALS")
# `*_KEY` is a secret unless the word before says what kind of (non-secret) key it is.
_PLAIN_KEYS = {"PUBLIC", "PUB", "SORT", "PARTITION", "PRIMARY", "CACHE", "S3", "OBJECT", "HASH", "RANGE", "IDEMPOTENCY",
               "ROUTING", "GROUP", "MAP", "LOOKUP", "FOREIGN", "DEDUPLICATION", "DEDUPE", "SHARD", "INDEX", "PREFIX", "KMS"}
# `AUTH` says secret at the end (NPM_AUTH, BASIC_AUTH) or before these (DOCKER_AUTH_CONFIG), not in AUTH_URL.
_AUTH_VALUES = {"HEADER", "CONFIG", "STRING", "VALUE", "JSON", "DATA", "INFO"}


def words(name: str) -> list[str]:
    """`apiKey` → API KEY, `db-password` → DB PASSWORD, `AWS_SECRET_ACCESS_KEY` → AWS SECRET ACCESS KEY."""
    split = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name)).upper()
    return [w for w in re.split(r"[^A-Z0-9]+", split) if w]


def looks_secret(name: str) -> bool:
    """A name that says it holds a secret: NPM_TOKEN, DB_PASSWORD, client_secret, apiKey, SSH_KEY,
    PIP_PASSWD, DOCKER_AUTH_CONFIG, CI_JOB_JWT. Not: KEYBOARD, KMS_KEY_ID, SORT_KEY, AUTH_URL, PWD."""
    parts = words(name)
    if not parts:
        return False
    if "PASSWORD" in str(name).upper():
        return True
    last = parts[-1]
    for index, word in enumerate(parts):
        if word in _ALWAYS or word.endswith(_ALWAYS_SUFFIXES) or word.startswith("SECRET"):
            return True
        following = parts[index + 1] if index + 1 < len(parts) else None
        if word == "PRIVATE" and following in ("KEY", "KEYS"):
            return True
        if word == "AUTH" and (following is None or following in _AUTH_VALUES):
            return True
    if last in ("KEY", "KEYS") and len(parts) > 1 and parts[-2] not in _PLAIN_KEYS:
        return True
    if last in ("PASS", "PWD") and len(parts) > 1:  # DB_PASS, SMTP_PWD (but not PWD, the working directory)
        return True
    return False


def is_aws_credential(name: str) -> bool:
    upper = str(name).upper()
    return upper in AWS_CREDENTIAL_VARIABLES or upper.startswith(AWS_CREDENTIAL_PREFIXES)


def is_credential_name(name: str) -> bool:
    """An environment variable a template or a build may read only when `env_allow:` names it."""
    return is_aws_credential(name) or str(name).upper() in CI_CREDENTIAL_VARIABLES or looks_secret(name)


# Values that are credentials whatever their variable is called.
_CREDENTIAL_VALUE = re.compile(
    r"^(AKIA|ASIA|AROA|AIDA)[0-9A-Z]{16}$"  # AWS access key ids
    r"|-----BEGIN [A-Z ]*PRIVATE KEY"
    r"|^gh[pousr]_[A-Za-z0-9]{20,}|^github_pat_[A-Za-z0-9_]{20,}"  # GitHub
    r"|^glpat-[A-Za-z0-9_-]{20,}|^npm_[A-Za-z0-9]{30,}|^xox[abposr]-|^(sk|rk)_live_|^AIza[0-9A-Za-z_-]{30,}"
    r"|^eyJ[\w-]+\.eyJ[\w-]+\."  # a JWT
    r"|^[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"  # a URL with a password: postgres://user:pass@host
)
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9+/=_-]{32,}$")


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_like_credential_value(value: str) -> bool:
    """AKIA…/ASIA… keys, ghp_…/glpat-…/npm_… tokens, private keys, JWTs, URLs with a password, and long
    random tokens (32+ characters of letters of both cases and digits, high entropy). Not: commit
    shas and digests (hex), UUIDs, ARNs, image references, paths, words."""
    if not isinstance(value, str) or len(value) < 16:
        return False
    text = value.strip()
    if _CREDENTIAL_VALUE.search(text):
        return True
    if not _TOKEN_CHARS.match(text):
        return False
    mixed = any(c.islower() for c in text) and any(c.isupper() for c in text) and any(c.isdigit() for c in text)
    return mixed and _entropy(text) >= 4.2
