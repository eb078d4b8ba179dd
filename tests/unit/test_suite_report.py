"""bench/suite.py: the figures `make test-profile` prints, from the records tests/suite_profile.py writes."""

from __future__ import annotations

import json

from bench import suite


def record(test, worker, start, wall, process_cpu=0.0, commands=0, command_cpu=0.0, subprocess_cpu=0.0):
    return {"test": test, "worker": worker, "start": start, "wall": wall, "process_cpu": process_cpu,
            "commands": commands, "command_cpu": command_cpu, "subprocess_cpu": subprocess_cpu}


def test_the_report_adds_up_cpu_by_kind_worker_and_file(tmp_path):
    records = [
        record("tests/e2e/test_a.py::one", "gw0", 100.0, 10.0, process_cpu=1.0, commands=4, command_cpu=0.8),
        record("tests/e2e/test_a.py::two", "gw1", 102.0, 20.0, process_cpu=2.0, commands=2, command_cpu=0.4, subprocess_cpu=3.0),
        record("tests/unit/test_b.py::three", "gw0", 110.0, 0.5, process_cpu=0.1),
    ]
    (tmp_path / "gw0.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records if r["worker"] == "gw0"))
    (tmp_path / "gw1.jsonl").write_text(json.dumps(records[1]) + "\n")
    loaded = suite.load(tmp_path)
    assert sorted(r["test"] for r in loaded) == sorted(r["test"] for r in records)
    text = suite.report(loaded)
    assert text.splitlines()[0] == "3 tests; from the first test's start to the last one's end: 22 s"
    assert "test processes (tests + local AWS) 3, deployer commands 1 (6 commands, 0.200 s each), other subprocesses 3" in text
    worker_lines = {line.split()[0]: line.split() for line in text.splitlines() if line.startswith("gw")}
    assert worker_lines["gw0"][1:] == ["2", "0.0", "10", "2"] and worker_lines["gw1"][1:] == ["1", "2.0", "20", "5"]
    files = [line.split()[0] for line in text.split("files by CPU")[1].splitlines()[2:4]]
    assert files == ["tests/e2e/test_a.py", "tests/unit/test_b.py"]  # 7.2 s of CPU before 0.1 s
    longest = text.split("tests by wall time")[1].splitlines()[1]
    assert longest.strip().startswith("20.0 s") and longest.endswith("tests/e2e/test_a.py::two")


def test_no_records_is_exit_2_naming_the_folder(tmp_path, capsys):
    assert suite.main([str(tmp_path / "none")]) == 2
    assert f"no records in {tmp_path / 'none'}/" in capsys.readouterr().err
