"""The lock (requirements/*.txt) against pyproject.toml, read as data: every package pinned with hashes,
every requirement locked, a changed requirement named in one line; the moto range the local AWS
accepts. `scripts/lock.py --check` run as a command and `make dist`: tests/e2e/test_packaging.py."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest

from tests.localaws import compat

ROOT = Path(__file__).resolve().parents[2]


def _load(path: Path, name: str):
    """A script as a module (not __main__: setup.py then defines its hooks and runs no setup())."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lock = _load(ROOT / "scripts" / "lock.py", "scripts_lock")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^ ;\\]+)")


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement).group(0)).lower()


def locked(path: Path) -> dict[str, list[tuple[str, int]]]:
    """name -> [(version, number of hashes)] (a name appears twice when markers split it)."""
    pins: dict[str, list[tuple[str, int]]] = {}
    current = None
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = (_name(match.group(1)), match.group(3))
            pins.setdefault(current[0], []).append((current[1], 0))
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = pins[current[0]][-1]
            pins[current[0]][-1] = (version, hashes + 1)
    return pins


def test_a_changed_requirement_makes_the_check_fail_in_one_line_naming_make_lock(tmp_path):
    changed = (ROOT / "pyproject.toml").read_text().replace('"pyyaml>=6.0.1",', '"pyyaml>=6.0.1",\n  "jsonnet>=0.20",')
    assert changed != (ROOT / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(changed)
    problem = lock.check(tmp_path / "pyproject.toml")
    assert problem == "requirements/lock.txt is out of date with pyproject.toml's requirements: run `make lock`"
    # A change elsewhere in pyproject.toml (description, tool settings) leaves the lock valid.
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text().replace("addopts", "# x\naddopts"))
    assert lock.check(tmp_path / "pyproject.toml") is None


def test_every_locked_package_is_pinned_with_hashes_and_every_requirement_is_locked():
    full, runtime = locked(ROOT / "requirements" / "lock.txt"), locked(ROOT / "requirements" / "runtime.txt")
    assert all(hashes >= 1 for pins in [*full.values(), *runtime.values()] for _, hashes in pins)
    for name in map(_name, lock.lock_inputs(PYPROJECT)["lock.txt"]):
        assert name in full, f"{name} is in pyproject.toml but not in requirements/lock.txt"
    for name in map(_name, PYPROJECT["project"]["dependencies"]):
        assert name in runtime, f"{name} is a dependency but not in requirements/runtime.txt"
    for name, pins in runtime.items():  # the release installs what the tests ran with
        assert [v for v, _ in pins] == [v for v, _ in full[name]], name
    assert "moto" not in runtime and "pytest" not in runtime
    assert locked(ROOT / "requirements" / "uv.txt")["uv"][0][1] >= 1


def test_the_moto_range_in_pyproject_is_the_one_the_emulator_checks():
    test_extra = PYPROJECT["project"]["optional-dependencies"]["test"]
    assert f"moto[server]{compat.MOTO_RANGE}" in test_extra
    compat.check_moto(installed_version("moto"))  # the moto running these tests is inside it


def test_the_emulator_refuses_a_moto_outside_its_range_in_one_line(monkeypatch):
    monkeypatch.delenv("LOCALAWS_ANY_MOTO", raising=False)
    for outside in ("5.2.0", "5.3.0", "6.0.1", "4.2.14"):
        with pytest.raises(RuntimeError) as refused:
            compat.check_moto(outside)
        assert str(refused.value) == (f"localaws supports moto{compat.MOTO_RANGE}, found moto {outside} "
                                      "(make install; LOCALAWS_ANY_MOTO=1 to try it anyway)")
    compat.check_moto("5.2.5.dev3")
    monkeypatch.setenv("LOCALAWS_ANY_MOTO", "1")
    compat.check_moto("6.0.1")
