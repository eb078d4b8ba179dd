"""`make dist`: what a release of deployer is made of, in --outdir (default dist/):

    ecs_app_deployer-<version>-py3-none-any.whl   the tool (records the commit it was built from)
    ecs_app_deployer-<version>.tar.gz             the sdist the wheel was built from
    deployer-requirements.txt                     the wheel and its runtime dependencies, each pinned
                                                  to one version and sha256 (requirements/runtime.txt)

Teams put the wheel in their artifact store and deployer-requirements.txt in their app repository;
the buildspec installs it with `pip install --require-hashes` (docs/codebuild-iam.md: "Installing deployer").
Needs `build` and setuptools in this Python (both are in requirements/lock.txt).
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST_NAME = "ecs-app-deployer"
REQUIREMENTS_NAME = "deployer-requirements.txt"


def build(outdir: Path) -> Path:
    """sdist, then the wheel from the sdist (as pip would build it); returns the wheel."""
    outdir.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(outdir), str(ROOT)],
                   check=True, stdout=sys.stderr)
    return max(outdir.glob("*.whl"), key=lambda p: p.stat().st_mtime)  # the one just written


def requirements_text(wheel: Path, runtime_lock: Path = ROOT / "requirements" / "runtime.txt") -> str:
    version = wheel.name.split("-")[1]
    sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
    body = "".join(line for line in runtime_lock.read_text().splitlines(keepends=True)
                   if not line.startswith("# "))  # runtime.txt's own header
    return (f"# {DIST_NAME} {version} ({wheel.name}) and its dependencies, each pinned to one version\n"
            f"# and sha256. Install: pip install --require-hashes --only-binary :all: -r {REQUIREMENTS_NAME}\n"
            f"{DIST_NAME}=={version} \\\n    --hash=sha256:{sha256}\n{body}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outdir", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    wheel = build(args.outdir)
    (args.outdir / REQUIREMENTS_NAME).write_text(requirements_text(wheel))
    print(f"{wheel}\n{args.outdir / REQUIREMENTS_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
