"""Where in a JSON text a key repeats: json.loads keeps the last value silently and says nothing about lines.

Used only after json.loads found a duplicate (so the text is valid JSON): a small scanner that records
the offset of every key, to name both lines and the object they are in.
"""

from __future__ import annotations

import bisect
import re
from json.decoder import scanstring

_WS = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|NaN|-?Infinity")


class _Found(Exception):
    pass


def first_duplicate(text: str) -> tuple[str, int, int, str] | None:
    """(key, line of the first, line of the second, path of the object) of the first repeated key; None if none
    (or if the text nests too deep for this scanner)."""
    newlines = [m.start() for m in re.finditer("\n", text)]

    def line(offset: int) -> int:
        return bisect.bisect_left(newlines, offset) + 1

    def ws(i: int) -> int:
        return _WS.match(text, i).end()

    def value(i: int, path: str) -> int:
        i = ws(i)
        char = text[i]
        if char == "{":
            i = ws(i + 1)
            if text[i] == "}":
                return i + 1
            seen: dict[str, int] = {}
            while True:
                start = i
                key, i = scanstring(text, i + 1)
                if key in seen:
                    raise _Found((key, line(seen[key]), line(start), path))
                seen[key] = start
                i = ws(i)
                i = value(i + 1, f"{path}.{key}" if path else key)  # past ':'
                i = ws(i)
                if text[i] == "}":
                    return i + 1
                i = ws(i + 1)  # past ','
        if char == "[":
            i = ws(i + 1)
            if text[i] == "]":
                return i + 1
            n = 0
            while True:
                i = ws(value(i, f"{path}[{n}]"))
                n += 1
                if text[i] == "]":
                    return i + 1
                i += 1
        if char == '"':
            return scanstring(text, i + 1)[1]
        match = _SCALAR.match(text, i)
        if not match:
            raise ValueError(f"unexpected {char!r} at {i}")
        return match.end()

    try:
        value(0, "")
    except _Found as found:
        return found.args[0]
    except (RecursionError, ValueError, IndexError):
        return None
    return None
