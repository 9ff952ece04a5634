"""Logs as a Parquet dataset (issue 17): reading it back, and the per-transfer table out of core.

Each figure is measured in its own fresh subprocess (peak RSS, ru_maxrss, belongs to that path
alone), over the events of ``gen_events.py`` (cached), written once with ``LogSet.to_parquet``:

  jsonl     ``load(events.jsonl)``                                   time, peak RSS
  parquet   ``load(DIR)`` of the same events as a dataset            time, peak RSS
  pandas    ``load(DIR).transfers()`` — every event in memory         time, peak RSS
  duckdb    ``jivo_ops.logs.duckdb.transfers(DIR)``, out of core      time, peak RSS

Goals: Parquet load no slower and no larger than JSONL (ratio ≤ 1 each); DuckDB's table no slower
than pandas' (≤ 1) in at most half its memory (≤ 0.5). The issue's figure is 10M events
(``--events 10000000``, ~25 min here with the generation); ``make bench`` runs 1M and says so.
Times: each side's fastest of ``--repeat`` runs; RSS: medians.

    python benchmarks/bench_dataset.py [--events 1000000] [--repeat 2] [--memory-limit 2GB]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_ingest import child, verdict  # noqa: E402  (one way to run a measured child)

PRELUDE = """
import json, resource, sys, time
import pandas, pyarrow, pyarrow.dataset
from jivo_ops.logs import load
def done(seconds, rows):
    print(json.dumps({"seconds": seconds, "rows": rows,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
t0 = time.perf_counter()
"""
CHILDREN = {
    "jsonl": "logs = load(sys.argv[1]); done(time.perf_counter() - t0, len(logs))",
    "parquet": "logs = load(sys.argv[1]); done(time.perf_counter() - t0, len(logs))",
    "pandas": "t = load(sys.argv[1]).transfers(); done(time.perf_counter() - t0, len(t))",
    "duckdb": "import duckdb\nfrom jivo_ops.logs import duckdb as d\nt0 = time.perf_counter()\n"
              "t = d.transfers(sys.argv[1], memory_limit=sys.argv[2] or None); done(time.perf_counter() - t0, len(t))",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--memory-limit", default="", help="DuckDB's memory_limit, e.g. 2GB (default: its own)")
    args = parser.parse_args()
    cache = Path(tempfile.gettempdir()) / "jivo_ops_bench"
    jsonl, dataset = cache / f"events-{args.events}.jsonl", cache / f"dataset-{args.events}"
    if not jsonl.exists():
        from gen_events import generate

        t0 = time.perf_counter()
        generate(jsonl, args.events)
        print(f"generated {jsonl} in {time.perf_counter() - t0:.1f} s")
    if not dataset.exists():
        from jivo_ops.logs import load

        t0 = time.perf_counter()
        load(jsonl).to_parquet(dataset.with_suffix(".tmp"))
        shutil.move(dataset.with_suffix(".tmp"), dataset)
        print(f"wrote the dataset {dataset} in {time.perf_counter() - t0:.1f} s")
    size = sum(p.stat().st_size for p in dataset.rglob("*.parquet")) / 2**20
    print(f"{args.events:,} events: JSONL {jsonl.stat().st_size / 2**20:.0f} MiB, dataset {size:.0f} MiB; "
          f"cores: {os.cpu_count()}, python {sys.version.split()[0]}"
          + ("" if args.events >= 10_000_000 else "  (make bench: 1M; the issue's 10M: --events 10000000)"))
    runs: dict[str, list[dict]] = {name: [] for name in CHILDREN}
    for i in range(args.repeat):
        for name in CHILDREN:
            source = jsonl if name == "jsonl" else dataset
            runs[name].append(child(PRELUDE + CHILDREN[name], source, args.memory_limit, timeout=3600))
        print(f"run {i + 1}: " + " | ".join(f"{n} {r[-1]['seconds']:.2f} s {r[-1]['rss_mb']:.0f} MB"
                                            for n, r in runs.items()))
    best = {n: min(r["seconds"] for r in rs) for n, rs in runs.items()}
    rss = {n: statistics.median(r["rss_mb"] for r in rs) for n, rs in runs.items()}
    assert runs["pandas"][-1]["rows"] == runs["duckdb"][-1]["rows"], "the two tables differ in length"
    for name, what in (("jsonl", "load(events.jsonl)"), ("parquet", "load(DIR)"),
                       ("pandas", "load(DIR).transfers()"), ("duckdb", "logs.duckdb.transfers(DIR)")):
        print(f"{name:8s} {what:28s} best {best[name]:.2f} s, peak RSS {rss[name]:.0f} MB, "
              f"{runs[name][-1]['rows']:,} rows")
    print(verdict("parquet-load", best["parquet"] / best["jsonl"], 1))
    print(verdict("parquet-load-memory", rss["parquet"] / rss["jsonl"], 1))
    print(verdict("duckdb-transfers", best["duckdb"] / best["pandas"], 1))
    print(verdict("duckdb-transfers-memory", rss["duckdb"] / rss["pandas"], 0.5))
    return 0


if __name__ == "__main__":
    sys.exit(main())
