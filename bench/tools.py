"""The alternatives' tools (AWS CLI v1, fabfuel's ecs-deploy) in their own virtualenv.

They pin botocore versions of their own, so they never go into the environment that runs
`deployer`: `ensure_venv()` creates bench/.venv (or --venv PATH) from bench/requirements.txt
the first time and reuses it after that.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
DEFAULT_VENV = HERE / ".venv"


@dataclass
class Tools:
    venv: Path | None
    aws: str | None = None
    ecs: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    problem: str | None = None  # why the tools are missing, when they are


def _bin(venv_dir: Path, name: str) -> Path:
    return venv_dir / ("Scripts" if os.name == "nt" else "bin") / name


def _stamp(venv_dir: Path) -> Path:
    return venv_dir / ".bench-requirements.sha256"


def ensure_venv(venv_dir: Path = DEFAULT_VENV, *, install: bool = True, log=print) -> Tools:
    """The venv with awscli and ecs-deploy; (re)installed when requirements.txt changed."""
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = _stamp(venv_dir)
    fresh = stamp.is_file() and stamp.read_text().strip() == wanted
    if not fresh:
        if not install:
            return Tools(venv_dir, problem=f"no tools venv at {venv_dir} (run without --no-install to create it)")
        log(f"bench: installing {', '.join(l.strip() for l in REQUIREMENTS.read_text().splitlines() if l.strip() and not l.startswith('#'))} into {venv_dir}")
        try:
            if not _bin(venv_dir, "python").exists():
                venv.EnvBuilder(with_pip=True, clear=False).create(venv_dir)
            subprocess.run(
                [str(_bin(venv_dir, "python")), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
                check=True, capture_output=True, text=True, timeout=600,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            return Tools(venv_dir, problem=f"could not install the tools into {venv_dir}: {detail.strip().splitlines()[-1] if detail.strip() else exc}")
        stamp.write_text(wanted + "\n")
    tools = Tools(venv_dir)
    aws, ecs = _bin(venv_dir, "aws"), _bin(venv_dir, "ecs")
    tools.aws = str(aws) if aws.exists() else None
    tools.ecs = str(ecs) if ecs.exists() else None
    try:
        out = subprocess.run(
            [str(_bin(venv_dir, "python")), "-c",
             "import importlib.metadata as m;print(' '.join(f'{p}={m.version(p)}' for p in ('awscli','ecs-deploy','boto3','botocore')))"],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout.split()
        tools.versions = dict(item.split("=", 1) for item in out)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
        pass
    if not (tools.aws and tools.ecs):
        tools.problem = f"aws or ecs missing from {venv_dir}"
    return tools


def main() -> int:  # python -m bench.tools: just create the venv
    tools = ensure_venv(log=lambda m: print(m, file=sys.stderr))
    print(tools)
    return 1 if tools.problem else 0


if __name__ == "__main__":
    sys.exit(main())
