"""Import cost: `import jivo_ops` vs `import pandas, httpx, ipywidgets`, each in fresh interpreters.

Rounds alternate between the two commands (so drift hits both alike); the medians of `--runs`
fresh `python -c ...` wall times are compared. Two toolkit figures are printed:

* `import jivo_ops` — what the issue's goal names;
* `import jivo_ops` + touching the public names a notebook or command uses first (profiles,
  clients, switch replies, transfers, probes, the sandbox class) — the honest cost of "using" it,
  which loads httpx on the way. The ratio and verdict use the heavier of the two.

It also checks, in one more fresh interpreter, that uvicorn, starlette, matplotlib, openpyxl and
pyarrow are not in `sys.modules` after `import jivo_ops` nor after touching those light names
(a FAIL otherwise, whatever the timings). Ends with `BENCH import ratio=<x> goal=<=1.2 PASS|FAIL`.

    .venv/bin/python benchmarks/bench_import.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.2
HEAVY = ("uvicorn", "starlette", "matplotlib", "openpyxl", "pyarrow", "duckdb")
# Names that must stay light: nothing of HEAVY behind them (servers, plots, spreadsheets, arrow).
# (The async twins and result values left the top level; they live in the same modules as these
# names, so touching these loads exactly the modules the earlier, longer list loaded.)
LIGHT_NAMES = ("Profile", "load_profile", "save_profile", "example_profile", "JivoOpsError", "ProfileError",
               "RetryPolicy", "mask_url", "redact", "SwitchReply", "JivoClient", "ClientMessage",
               "AgentMessage", "ChatApiClient", "ReporterClient",
               "Sandbox", "SandboxSettings", "run_transfers", "Script",
               "load_script", "probe_jivo_leg", "probe_jaicp_leg", "Recorder")

BASELINE = "import pandas, httpx, ipywidgets"
TOOLKIT = "import jivo_ops"


def touch_code() -> str:
    return ("import jivo_ops\n"
            f"for n in {LIGHT_NAMES!r}:\n"
            "    getattr(jivo_ops, n)\n")


def timed_run(code: str) -> float:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="0")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env)
    return time.perf_counter() - started


def heavy_modules_report() -> dict:
    code = (
        "import sys, json\n"
        f"heavy = {HEAVY!r}\n"
        "import jivo_ops\n"
        "after_import = [m for m in heavy if m in sys.modules]\n"
        "touched, missing = [], []\n"
        f"for n in {LIGHT_NAMES!r}:\n"
        "    if n in jivo_ops._EXPORTS:\n"
        "        getattr(jivo_ops, n); touched.append(n)\n"
        "    else:\n"
        "        missing.append(n)\n"
        "after_touch = [m for m in heavy if m in sys.modules]\n"
        "print(json.dumps({'after_import': after_import, 'after_touch': after_touch,"
        " 'touched': touched, 'not_exported': missing}))\n"
    )
    return fresh_json(code)


def fresh_json(code: str):
    """What `code`, run in a fresh interpreter, prints as JSON on its last line."""
    out = subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    for code in (BASELINE, TOOLKIT, touch_code()):  # warm the OS file cache and the .pyc files
        timed_run(code)
    times: dict[str, list[float]] = {"baseline": [], "import": [], "touched": []}
    for _ in range(args.runs):
        times["baseline"].append(timed_run(BASELINE))
        times["import"].append(timed_run(TOOLKIT))
        times["touched"].append(timed_run(touch_code()))
    med = {key: statistics.median(values) for key, values in times.items()}

    print(f"cores: {os.cpu_count()}  python: {sys.version.split()[0]}  runs: {args.runs} fresh interpreters each")
    print(f"baseline  `{BASELINE}`: median {med['baseline'] * 1000:.0f} ms "
          f"(min {min(times['baseline']) * 1000:.0f}, max {max(times['baseline']) * 1000:.0f})")
    print(f"toolkit   `{TOOLKIT}`: median {med['import'] * 1000:.0f} ms "
          f"(ratio {med['import'] / med['baseline']:.2f})")
    print(f"toolkit   `import jivo_ops` + {len(LIGHT_NAMES)} light public names: median "
          f"{med['touched'] * 1000:.0f} ms (ratio {med['touched'] / med['baseline']:.2f})")

    report = heavy_modules_report()
    heavy_ok = not report["after_import"] and not report["after_touch"]
    print(f"heavy modules after `import jivo_ops`: {report['after_import'] or 'none'} "
          f"(checked: {', '.join(HEAVY)})")
    print(f"heavy modules after touching {len(report['touched'])} light names: {report['after_touch'] or 'none'}")
    if report["not_exported"]:
        print(f"note: not exported (skipped): {', '.join(report['not_exported'])}")
    if not heavy_ok:
        print("FAIL: a heavy module loads at import time or behind a light name")

    ratio = max(med["import"], med["touched"]) / med["baseline"]
    verdict = "PASS" if ratio <= GOAL and heavy_ok else "FAIL"
    print(f"BENCH import ratio={ratio:.2f} goal=<={GOAL} {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
