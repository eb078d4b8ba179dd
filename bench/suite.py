"""`python -m bench.suite [DIR]`: the test suite's own figures, from what `pytest -p tests.suite_profile`
recorded (`make test-profile`): where its wall time and CPU went, per worker, per file, per test.

No thresholds: it reads and prints.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

CPU_KINDS = ("process_cpu", "command_cpu", "subprocess_cpu")


def load(directory: Path) -> list[dict]:
    records = []
    for path in sorted(directory.glob("*.jsonl")):
        records += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return records


def cpu(record: dict) -> float:
    return sum(record[kind] for kind in CPU_KINDS)


def report(records: list[dict], top: int = 12) -> str:
    lines = []
    commands = sum(r["commands"] for r in records)
    command_cpu = sum(r["command_cpu"] for r in records)
    first = min(r["start"] for r in records)
    last = max(r["start"] + r["wall"] for r in records)
    lines.append(f"{len(records)} tests; from the first test's start to the last one's end: {last - first:.0f} s")
    lines.append(f"CPU seconds: test processes (tests + local AWS) {sum(r['process_cpu'] for r in records):.0f}, "
                 f"deployer commands {command_cpu:.0f} ({commands} commands, {command_cpu / max(commands, 1):.3f} s each), "
                 f"other subprocesses {sum(r['subprocess_cpu'] for r in records):.0f}")
    lines.append("")
    lines.append(f"{'worker':8} {'tests':>5} {'first start':>11} {'busy s':>7} {'cpu s':>6}")
    by_worker = defaultdict(list)
    for r in records:
        by_worker[r["worker"]].append(r)
    for worker, rs in sorted(by_worker.items()):
        lines.append(f"{worker:8} {len(rs):5} {min(r['start'] for r in rs) - first:11.1f} {sum(r['wall'] for r in rs):7.0f} {sum(cpu(r) for r in rs):6.0f}")
    lines.append("")
    lines.append(f"files by CPU (top {top})")
    lines.append(f"{'file':58} {'tests':>5} {'wall s':>7} {'cpu s':>6} {'cmds':>5}")
    by_file = defaultdict(list)
    for r in records:
        by_file[r["test"].split("::")[0]].append(r)
    for name, rs in sorted(by_file.items(), key=lambda kv: -sum(cpu(r) for r in kv[1]))[:top]:
        lines.append(f"{name[-58:]:58} {len(rs):5} {sum(r['wall'] for r in rs):7.0f} {sum(cpu(r) for r in rs):6.1f} {sum(r['commands'] for r in rs):5}")
    lines.append("")
    lines.append(f"tests by wall time (top {top})")
    for r in sorted(records, key=lambda r: -r["wall"])[:top]:
        lines.append(f"{r['wall']:7.1f} s  cpu {cpu(r):5.1f} s  {r['test']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    directory = Path(argv[0] if argv else ".suite-profile")
    records = load(directory) if directory.is_dir() else []
    if not records:
        print(f"error: no records in {directory}/ (run `make test-profile`, or pytest -p tests.suite_profile)", file=sys.stderr)
        return 2
    print(report(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
