"""`make lock` and `make check-lock`: the hash-pinned lock of every Python package the project installs.

    requirements/lock.txt     runtime + test extras + build tooling: what `make install` puts in .venv
    requirements/runtime.txt  the runtime part at the same versions: what a release ships with its wheel
    requirements/uv.txt       the lock tool itself (uv), for `make lock`

Each is written by `uv pip compile --universal --generate-hashes` (one lock for Linux and macOS,
Python 3.11 and up; installs need only pip: `pip install --require-hashes -r ...`). The first line
of lock.txt and runtime.txt records a digest of the requirements they were made from, read from
pyproject.toml; `--check` compares it offline and never resolves, so it gives the same answer on
any later day.

    python3 scripts/lock.py --uv PATH [--upgrade]   regenerate (keeps current pins unless --upgrade)
    python3 scripts/lock.py --check                 exit 1, one line, when pyproject.toml changed since
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements"
LOCK = REQUIREMENTS / "lock.txt"
RUNTIME = REQUIREMENTS / "runtime.txt"
UV_LOCK = REQUIREMENTS / "uv.txt"
PYTHON_FLOOR = "3.11"  # the oldest Python the universal lock must install on (= requires-python)
COMPILE = ["pip", "compile", "--universal", "--python-version", PYTHON_FLOOR, "--generate-hashes",
           "--no-header", "--quiet"]
DIGEST_PREFIX = "# inputs-sha256: "


def lock_inputs(pyproject: dict) -> dict[str, list[str]]:
    """The requirement lists of each lock file, as pyproject.toml states them."""
    project = pyproject["project"]
    extras = project.get("optional-dependencies", {})
    runtime = list(project.get("dependencies", []))
    full = runtime + [req for name in sorted(extras) for req in extras[name]]
    full += pyproject.get("build-system", {}).get("requires", [])  # for --no-build-isolation installs
    return {"lock.txt": full, "runtime.txt": runtime}


def digest(pyproject: dict, name: str) -> str:
    """What a lock file depends on: its requirement list, requires-python and how it is compiled."""
    payload = {"requirements": lock_inputs(pyproject)[name],
               "requires-python": pyproject["project"].get("requires-python"), "compile": COMPILE}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def header(pyproject: dict, name: str) -> str:
    return (f"{DIGEST_PREFIX}{digest(pyproject, name)}\n"
            f"# Made by `make lock` (scripts/lock.py) from pyproject.toml; do not edit by hand.\n")


def check(pyproject_path: Path = ROOT / "pyproject.toml", requirements: Path = REQUIREMENTS) -> str | None:
    """None when every lock matches pyproject.toml, else the one-line reason."""
    pyproject = tomllib.loads(pyproject_path.read_text())
    for name in lock_inputs(pyproject):
        path = requirements / name
        if not path.is_file():
            return f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} is missing: run `make lock`"
        first = path.read_text().split("\n", 1)[0]
        recorded = first[len(DIGEST_PREFIX):].strip() if first.startswith(DIGEST_PREFIX) else None
        if recorded != digest(pyproject, name):
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            return f"{shown} is out of date with pyproject.toml's requirements: run `make lock`"
    return None


def compile_lock(uv: str, requirements: list[str], output: Path, extra: list[str], top: str) -> None:
    """uv pip compile `requirements` (given on stdin) into `output`, keeping the pins it finds there
    unless --upgrade. uv works on a copy and an unchanged lock is left alone: the lock's time stamp
    is what tells `make install` to rebuild .venv."""
    before = output.read_text() if output.is_file() else None
    work = output.with_name(output.name + ".new")
    work.write_text(before or "")
    try:
        subprocess.run([uv, *COMPILE, "-", "-o", str(work), *extra],
                       input="\n".join(requirements) + "\n", text=True, check=True, cwd=ROOT)
        after = top + work.read_text()
    finally:
        work.unlink(missing_ok=True)
    if after != before:
        output.write_text(after)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that the locks match pyproject.toml")
    parser.add_argument("--uv", default="uv", help="the uv executable (make lock installs it from requirements/uv.txt)")
    parser.add_argument("--upgrade", action="store_true", help="newest versions within pyproject.toml's ranges")
    args = parser.parse_args(argv)
    if args.check:
        problem = check()
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 1
        return 0
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    inputs = lock_inputs(pyproject)
    upgrade = ["--upgrade"] if args.upgrade else []
    REQUIREMENTS.mkdir(exist_ok=True)
    compile_lock(args.uv, inputs["lock.txt"], LOCK, upgrade, header(pyproject, "lock.txt"))
    # The runtime lock takes its versions from the full lock, so both install the same boto3, etc.
    compile_lock(args.uv, inputs["runtime.txt"], RUNTIME, ["--constraint", str(LOCK)], header(pyproject, "runtime.txt"))
    compile_lock(args.uv, ["uv"], UV_LOCK, upgrade, "# The lock tool (make lock installs it into .venv-lock). Made by `make lock`.\n")
    print(f"wrote {LOCK.relative_to(ROOT)}, {RUNTIME.relative_to(ROOT)}, {UV_LOCK.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
