"""Log ingest benchmark (issue 5 / issue 7 item 2): 1,000,000 chat events as JSONL.

Each figure is measured in its own fresh subprocess (so peak RSS, ru_maxrss, belongs to that
loader alone); both children import pandas and pyarrow before the clock starts:

  baseline  ``pyarrow.json.read_json(path).to_pandas()``              time, peak RSS
  toolkit   ``jivo_ops.logs.load(path)`` (schema, validation, dedupe)   time, peak RSS
            then ``transfers_table`` on the loaded frame (~100,000 chats) time
            then ``LogSet.kpis()`` (its own transfers table included)    time

Goals: load ≤ 1.5× baseline time, peak RSS ≤ 2× baseline; per-transfer table ≤ 0.2× baseline time (issue 17);
KPIs ≤ 0.2× the toolkit's own load time.
``--repeat`` runs alternate baseline and toolkit; the ratios use each side's fastest run (the
one least disturbed by other processes on a shared machine, as ``timeit`` does) and peak RSS
medians; the medians of the times are printed beside them. The events file is the flat
``events`` JSONL of jivo_ops.logs, generated once by ``gen_events.py`` and cached.

    python benchmarks/bench_ingest.py [--events 1000000] [--repeat 3] [--file PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

BASELINE = """
import json, resource, sys, time
import pandas, pyarrow, pyarrow.json
t0, c0 = time.perf_counter(), time.process_time()
frame = pyarrow.json.read_json(sys.argv[1]).to_pandas()
seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"seconds": seconds, "cpu": cpu, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": len(frame)}))
"""

TOOLKIT = """
import json, resource, sys, time
import pandas, pyarrow, pyarrow.json
from jivo_ops.logs import load, transfers_table
t0, c0 = time.perf_counter(), time.process_time()
logs = load(sys.argv[1])
seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0, c0 = time.perf_counter(), time.process_time()
table = transfers_table(logs.messages)
transfers, transfers_cpu = time.perf_counter() - t0, time.process_time() - c0
t0, c0 = time.perf_counter(), time.process_time()
logs.kpis()
kpis, kpis_cpu = time.perf_counter() - t0, time.process_time() - c0
from jivo_ops.logs.kpis import kpis as kpis_of
t0 = time.perf_counter()
kpis_of(logs.messages, table)
kpis_given_table = time.perf_counter() - t0
print(json.dumps({"kpis_seconds": kpis, "kpis_given_table_seconds": kpis_given_table, "seconds": seconds, "cpu": cpu, "rss_mb": rss, "rows": len(logs.messages), "rejected": len(logs.rejected),
                  "chats": int(logs.messages["chat"].nunique()), "transfers": len(table),
                  "transfers_seconds": transfers, "transfers_cpu": transfers_cpu, "kpis_cpu": kpis_cpu,
                  "outcomes": {k: int(v) for k, v in table["outcome"].value_counts().items()}}))
"""


def child(code: str, *args, timeout: float = 900) -> dict:
    """Run `code` in a fresh interpreter with `args`; its last stdout line, parsed as JSON."""
    env = {**os.environ, "PYTHONPATH": str(HERE.parent) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, env=env,
                         timeout=timeout)
    if out.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def verdict(name: str, ratio: float, goal: float) -> str:
    return f"BENCH {name} ratio={ratio:.2f} goal=<={goal:g} {'PASS' if ratio <= goal else 'FAIL'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--file", type=Path, help="events JSONL to use (generated when missing)")
    args = parser.parse_args()
    path = args.file or Path(tempfile.gettempdir()) / "jivo_ops_bench" / f"events-{args.events}.jsonl"
    if not path.exists():
        sys.path.insert(0, str(HERE))
        from gen_events import generate

        t0 = time.perf_counter()
        generate(path, args.events)
        print(f"generated {path} in {time.perf_counter() - t0:.1f} s")
    size_mb = path.stat().st_size / 2**20
    print(f"file: {path} ({size_mb:.0f} MiB), cores: {os.cpu_count()}, python {sys.version.split()[0]}")

    base_runs, kit_runs = [], []
    for i in range(args.repeat):
        base_runs.append(child(BASELINE, path))
        kit_runs.append(child(TOOLKIT, path))
        b, k = base_runs[-1], kit_runs[-1]
        print(f"run {i + 1}: baseline {b['seconds']:.2f} s {b['rss_mb']:.0f} MB | load {k['seconds']:.2f} s "
              f"{k['rss_mb']:.0f} MB | transfers table {k['transfers_seconds']:.2f} s | kpis {k['kpis_seconds']:.2f} s")

    def med(runs, key):
        return statistics.median(r[key] for r in runs)

    def best(runs, key):
        return min(r[key] for r in runs)

    base_s, base_mb = best(base_runs, "seconds"), med(base_runs, "rss_mb")
    load_s, load_mb, tr_s = best(kit_runs, "seconds"), med(kit_runs, "rss_mb"), best(kit_runs, "transfers_seconds")
    last = kit_runs[-1]
    print(f"baseline  pyarrow.json.read_json().to_pandas(): best {base_s:.2f} s (median "
          f"{med(base_runs, 'seconds'):.2f}), peak RSS {base_mb:.0f} MB, {base_runs[-1]['rows']:,} rows")
    print(f"toolkit   jivo_ops.logs.load():                   best {load_s:.2f} s (median "
          f"{med(kit_runs, 'seconds'):.2f}), peak RSS {load_mb:.0f} MB, {last['rows']:,} rows, "
          f"{last['rejected']} rejected, {last['chats']:,} chats")
    print(f"toolkit   transfers_table():                      best {tr_s:.2f} s (median "
          f"{med(kit_runs, 'transfers_seconds'):.2f}), {last['transfers']:,} transfers {last['outcomes']}")
    print(f"ratios    load/baseline {load_s / base_s:.2f} (median/median "
          f"{med(kit_runs, 'seconds') / med(base_runs, 'seconds'):.2f}), memory {load_mb / base_mb:.2f}, "
          f"transfers/baseline {tr_s / base_s:.2f}; CPU time (all threads, steadier when the machine "
          f"is shared) load/baseline {med(kit_runs, 'cpu') / med(base_runs, 'cpu'):.2f}")
    print(verdict("ingest", load_s / base_s, 1.5))
    print(verdict("ingest-memory", load_mb / base_mb, 2))
    print(verdict("transfers-table", tr_s / base_s, 0.2))
    kpis_s = best(kit_runs, "kpis_seconds")
    print(f"toolkit   LogSet.kpis():                          best {kpis_s:.2f} s (median "
          f"{med(kit_runs, 'kpis_seconds'):.2f}); of it, the figures from a ready transfers table best "
          f"{best(kit_runs, 'kpis_given_table_seconds'):.2f} s")
    print(verdict("kpis", kpis_s / load_s, 0.2))
    # the same two ratios in process CPU time (medians; steadier than wall time on a shared machine)
    print(f"CPU time  transfers table/baseline {med(kit_runs, 'transfers_cpu') / med(base_runs, 'cpu'):.2f}, "
          f"kpis/load {med(kit_runs, 'kpis_cpu') / med(kit_runs, 'cpu'):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
