"""Expired credentials: what AWS (or botocore refreshing an SSO token) says when a session's time is up."""

from __future__ import annotations

EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException"}
# botocore's own errors when an SSO token or a credential refresh has run out.
EXPIRED_CLASSES = {"UnauthorizedSSOTokenError", "SSOTokenLoadError", "TokenRetrievalError", "RefreshWithMFAUnsupportedError"}


def expired(exc: BaseException | None) -> bool:
    """The error (or the botocore error it was translated from) says the credentials expired."""
    seen = 0
    while exc is not None and seen < 5:
        response = getattr(exc, "response", None)
        if isinstance(response, dict) and (response.get("Error") or {}).get("Code") in EXPIRED_CODES:
            return True
        if type(exc).__name__ in EXPIRED_CLASSES:
            return True
        exc, seen = exc.__cause__, seen + 1
    return False
