"""Run every benchmark (`make bench`): each `benchmarks/bench_*.py` in its own subprocess, one after
the other (they would skew each other if run together), output passed through as it comes.

Exit status: 0 when every script ran to the end and printed at least one `BENCH ... PASS` line and
no `BENCH ... FAIL` line; 1 otherwise. A final summary repeats every BENCH line with the time each
script took and the machine's core count.

    .venv/bin/python benchmarks/run_all.py [--only recorder,import] [-- extra args for every script]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCH_LINE = re.compile(r"^BENCH (?P<name>\S+) ratio=(?P<ratio>\S+) goal=(?P<goal>\S+) (?P<verdict>PASS|FAIL)\b")
# The order keeps the quick ones first; any other bench_*.py found runs after them.
PREFERRED = ("bench_import.py", "bench_cli.py", "bench_recorder.py", "bench_transfer.py", "bench_standin.py", "bench_ingest.py",
             "bench_dataset.py", "bench_locust.py", "bench_runner.py", "bench_sandbox.py")


def scripts(only: set[str] | None) -> list[Path]:
    found = {p.name: p for p in HERE.glob("bench_*.py")}
    ordered = [found.pop(name) for name in PREFERRED if name in found] + sorted(found.values())
    if only:
        ordered = [p for p in ordered if p.stem.removeprefix("bench_") in only]
    return ordered


def run_script(path: Path, extra: list[str]) -> tuple[int, list[str], float]:
    """Run one script, echoing its output line by line; (exit code, its BENCH lines, seconds)."""
    print(f"=== {path.name}", flush=True)
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-u", str(path), *extra], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1)
    bench_lines = []
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        if BENCH_LINE.match(line.strip()):
            bench_lines.append(line.strip())
    code = process.wait()
    return code, bench_lines, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated names, e.g. recorder,import")
    parser.add_argument("extra", nargs="*", help="arguments passed to every script (after --)")
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(",")} if args.only else None
    found = scripts(only)
    missing = [name for name in PREFERRED if not (HERE / name).exists()]

    results = []
    for path in found:
        code, lines, seconds = run_script(path, args.extra)
        results.append((path.name, code, lines, seconds))

    print(f"=== summary ({os.cpu_count()} cores, python {sys.version.split()[0]})")
    failed = False
    for name, code, lines, seconds in results:
        problems = []
        if code != 0:
            problems.append(f"exit code {code}")
        if not lines:
            problems.append("no BENCH line")
        if any(line.endswith("FAIL") or " FAIL " in line for line in lines):
            problems.append("FAIL")
        failed |= bool(problems)
        for line in lines or [f"BENCH {name} (none)"]:
            print(f"{line}    [{name}, {seconds:.0f} s{', ' + ', '.join(problems) if problems else ''}]")
    if missing and not only:
        print(f"missing benchmark scripts: {', '.join(missing)}")
        failed = True
    print("all benchmarks PASS" if not failed else "some benchmarks FAIL or did not run")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
