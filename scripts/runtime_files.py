"""The Python files deployer runs: its own package and its runtime dependencies (recursively, markers
evaluated), one path a line. `make install` compiles them to bytecode, and only them: pip installs with
--no-compile (the test-only packages compile as they are first imported), and the renderer's child
process cannot write bytecode itself (RLIMIT_FSIZE is 0 there), so it would compile jinja2 every time."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement


def closure(name: str) -> list[metadata.Distribution]:
    seen: dict[str, metadata.Distribution] = {}
    todo = [name]
    while todo:
        wanted = todo.pop()
        key = wanted.lower().replace("_", "-")
        if key in seen:
            continue
        try:
            dist = metadata.distribution(wanted)
        except metadata.PackageNotFoundError:
            continue
        seen[key] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(seen.values())


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    for path in sorted((root / "deployer").rglob("*.py")):
        print(path)
    for dist in closure("ecs-app-deployer"):
        for file in dist.files or []:
            if file.suffix == ".py":
                print(Path(dist.locate_file(file)).resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
