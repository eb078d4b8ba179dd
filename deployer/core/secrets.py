"""The masker: secret values never reach the terminal or a file."""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from typing import Iterable


MASK = "****"


# Shorter values are not masked: masking "a" would blank half the output and say which letter it was.
MIN_SECRET_LENGTH = 4


class Secrets:
    """Values that must never be printed: the second line of defence behind secret tokens (templating).

    Every line the console writes, every result on stdout and every error goes through `mask`,
    which replaces each value in each form it can take in output: raw, JSON-escaped (ASCII or
    not), repr-escaped, URL-encoded, base64, and each line of a multi-line value.
    """

    def __init__(self, values: Iterable[str] = ()):
        self.values: set[str] = set()
        for value in values:
            self.add(value)

    def add(self, value: str) -> None:
        if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
            self.values.add(value)

    def update(self, values: Iterable[str]) -> None:
        for value in values:
            self.add(value)

    def _encodings(self) -> list[str]:
        # Values are only ever added (some callers update `values` directly): its size says when to recompute.
        cached = getattr(self, "_cache", None)
        if cached is not None and cached[0] == len(self.values):
            return cached[1]
        forms: set[str] = set()
        for value in self.values:
            if len(value) < MIN_SECRET_LENGTH:
                continue
            forms |= {
                value,
                json.dumps(value)[1:-1],
                json.dumps(value, ensure_ascii=False)[1:-1],
                repr(value)[1:-1],
                urllib.parse.quote(value, safe=""),
                urllib.parse.quote(value),
                urllib.parse.quote_plus(value),
                base64.b64encode(value.encode()).decode().rstrip("="),
                base64.urlsafe_b64encode(value.encode()).decode().rstrip("="),
            }
            forms |= {line for line in value.splitlines() if len(line) >= MIN_SECRET_LENGTH}
        # Longest first, so a value is masked whole before any of its lines is.
        ordered = sorted((f for f in forms if len(f) >= MIN_SECRET_LENGTH), key=len, reverse=True)
        self._cache = (len(self.values), ordered)
        return ordered

    def add_bytes(self, value: bytes) -> None:
        """A binary secret (Secrets Manager's SecretBinary): its bytes as UTF-8 and as latin-1 text,
        and base64 of the bytes themselves (not of their UTF-8 re-encoding)."""
        if not isinstance(value, (bytes, bytearray)) or len(value) < MIN_SECRET_LENGTH:
            return
        value = bytes(value)
        self.add(value.decode("utf-8", errors="replace"))
        self.add(value.decode("latin-1"))
        for piece in re.findall(r"[^\x00-\x1f\x7f\ufffd]{8,}", value.decode("utf-8", errors="replace")):
            self.add(piece.strip())  # its printable runs (what `strings` would show), 8 characters or more
        self.add(base64.b64encode(value).decode().rstrip("="))
        self.add(base64.urlsafe_b64encode(value).decode().rstrip("="))

    def mask(self, text: str) -> str:
        if not self.values or not isinstance(text, str):
            return text
        for form in self._encodings():
            if form in text:
                text = text.replace(form, MASK)
        return text

    def mask_data(self, value):
        """A result about to be printed as JSON, masked at the data level so the output stays valid
        JSON: every string (keys included) masked, and a number or boolean that equals a secret's
        value (an SSM SecureString `true` or `5432`) replaced by the string "****"."""
        if isinstance(value, dict):
            return {self.mask_data(str(k)) if not isinstance(k, str) else self.mask(k): self.mask_data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.mask_data(v) for v in value]
        if value is None or not self.values:
            return value
        if isinstance(value, (bool, int, float)):
            spelled = {json.dumps(value), str(value)}
            return MASK if spelled & self.values or self.mask(json.dumps(value)) != json.dumps(value) else value
        if not isinstance(value, str):
            value = str(value)  # what json.dumps(default=str) would print
        return self.mask(value)

    def dumps(self, value, **kwargs) -> str:
        """JSON text of a result, masked (mask_data) before it is serialised."""
        return json.dumps(self.mask_data(json.loads(json.dumps(value, default=str))), **kwargs)
