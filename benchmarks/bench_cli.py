"""CLI start: `jivo-ops --help` against `python -c pass`, each in fresh interpreters.

Rounds are paired and alternate their order (ABBA), so the shared machine's drift hits both alike;
the figure is the median per-round difference: the milliseconds `jivo-ops --help` costs of its own.
It also checks, in one more fresh interpreter, that building the parser (`jivo_ops.cli.build_parser()`)
loads none of httpx, pandas, starlette, uvicorn (a FAIL otherwise, whatever the timings).
Ends with `BENCH cli-start ratio=<own ms / 150 ms> goal=<=1.0 PASS|FAIL (own <ms> ms ...)`.

    .venv/bin/python benchmarks/bench_cli.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_import import fresh_json  # run as a script: benchmarks/ is on sys.path

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 150.0
HEAVY = ("httpx", "pandas", "starlette", "uvicorn")
BASELINE = [sys.executable, "-c", "pass"]


def cli_command() -> list[str]:
    """The installed console script (what a user types), else the same entry point through python."""
    script = Path(sys.executable).parent / "jivo-ops"
    if script.exists():
        return [str(script), "--help"]
    return [sys.executable, "-c", "import sys; from jivo_ops.cli import main; sys.exit(main())", "--help"]


def timed_run(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def heavy_after_build() -> list[str]:
    code = ("import json, sys\nimport jivo_ops.cli\njivo_ops.cli.build_parser()\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n")
    return fresh_json(code)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    cli = cli_command()

    for command in (BASELINE, cli):  # warm the OS file cache and the .pyc files
        timed_run(command)
    pass_s, help_s, own_s = [], [], []
    for round_number in range(args.runs):
        if round_number % 2:
            cli_time, base_time = timed_run(cli), timed_run(BASELINE)
        else:
            base_time, cli_time = timed_run(BASELINE), timed_run(cli)
        pass_s.append(base_time)
        help_s.append(cli_time)
        own_s.append(cli_time - base_time)
    own_ms = statistics.median(own_s) * 1000

    print(f"cores: {os.cpu_count()}  python: {sys.version.split()[0]}  runs: {args.runs} paired rounds (ABBA)")
    print(f"`python -c pass`: median {statistics.median(pass_s) * 1000:.0f} ms")
    print(f"`{' '.join(Path(cli[0]).name if i == 0 else part for i, part in enumerate(cli))}`: median "
          f"{statistics.median(help_s) * 1000:.0f} ms; of its own (median per-round difference) {own_ms:.0f} ms "
          f"(min {min(own_s) * 1000:.0f}, max {max(own_s) * 1000:.0f})")
    heavy = heavy_after_build()
    print(f"heavy modules after build_parser(): {heavy or 'none'} (checked: {', '.join(HEAVY)})")

    ratio = own_ms / GOAL_MS
    verdict = "PASS" if ratio <= 1.0 and not heavy else "FAIL"
    print(f"BENCH cli-start ratio={ratio:.2f} goal=<=1.0 {verdict} (own {own_ms:.0f} ms, goal <= {GOAL_MS:g} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
