"""The moto versions the emulator was written and tested for.

The patches (ecs_patch.py, cfn_patch.py, oneoff.py, rollout.py) reach into moto's internals, which
change between minor releases without notice: outside this range the emulator refuses to start,
with one line naming the range, instead of failing later in some test with a TypeError.
LOCALAWS_ANY_MOTO=1 skips the check (to try a new moto before widening the range)."""
from __future__ import annotations

import os
import re
from importlib import metadata

MOTO_MIN = (5, 2, 1)   # inclusive: the oldest moto the suite ran against
MOTO_BELOW = (5, 3)    # exclusive: the next minor release may change the internals patched here
MOTO_RANGE = ">=" + ".".join(map(str, MOTO_MIN)) + ",<" + ".".join(map(str, MOTO_BELOW))


def release(version: str) -> tuple[int, ...]:
    """(5, 2, 5) from "5.2.5", "5.2.5.dev3", "5.3.0rc1"."""
    match = re.match(r"\d+(\.\d+)*", version)
    return tuple(int(part) for part in match.group(0).split(".")) if match else ()


def check_moto(version: str | None = None) -> None:
    if os.environ.get("LOCALAWS_ANY_MOTO") == "1":
        return
    if version is None:
        try:
            version = metadata.version("moto")
        except metadata.PackageNotFoundError:
            raise RuntimeError(f"localaws needs moto[server]{MOTO_RANGE}; moto is not installed (make install)") from None
    if not MOTO_MIN <= release(version) < MOTO_BELOW:
        raise RuntimeError(f"localaws supports moto{MOTO_RANGE}, found moto {version} "
                           "(make install; LOCALAWS_ANY_MOTO=1 to try it anyway)")
