"""`pytest -p tests.suite_profile` (`make test-profile`): where the suite's time goes, test by test.

For each test: its wall time; the CPU of the test process (the test itself, and the local AWS that
serves it in threads of the same process); the CPU of the `deployer` commands it ran through the zygote
(each command with its renderer); the CPU of the subprocesses it waited for. One JSON line per test in
$SUITE_PROFILE_DIR (default .suite-profile/), one file per pytest-xdist worker; `python -m bench.suite`
prints the figures. It measures and records: it asserts nothing.
"""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path

import pytest


def _commands() -> tuple[int, float]:
    """(commands run, their CPU seconds) by this process's zygote so far; (0, 0) before it started."""
    from tests import conftest

    server = conftest._ZYGOTE[0] if conftest._ZYGOTE else None
    return (server.commands, server.command_cpu) if server is not None else (0, 0.0)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    started, cpu, children = time.monotonic(), time.process_time(), _children_cpu()
    commands, command_cpu = _commands()
    yield
    commands_after, command_cpu_after = _commands()
    if commands_after < commands:  # the zygote was started again: its counters too
        commands, command_cpu = 0, 0.0
    record = {
        "test": item.nodeid,
        "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
        "start": round(started, 3),
        "wall": round(time.monotonic() - started, 3),
        "process_cpu": round(time.process_time() - cpu, 3),
        "commands": commands_after - commands,
        "command_cpu": round(command_cpu_after - command_cpu, 3),
        "subprocess_cpu": round(_children_cpu() - children, 3),
    }
    directory = Path(os.environ.get("SUITE_PROFILE_DIR") or ".suite-profile")
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / f"{record['worker']}.jsonl", "a") as out:
        out.write(json.dumps(record) + "\n")
