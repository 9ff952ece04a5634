"""Logs as a Parquet dataset (issue 17): reading it back, and the per-transfer table out of core.

Each figure is measured in its own fresh subprocess (peak RSS, ru_maxrss, belongs to that path
alone), over the events of ``gen_events.py`` (cached), written once with ``LogSet.to_parquet``:

  jsonl     ``load(events.jsonl)``                                   time, peak RSS
  parquet   ``load(DIR)`` of the same events as a dataset            time, peak RSS
  pandas    ``load(DIR).transfers()`` — every event in memory         time, peak RSS
  duckdb    ``jivo_ops.logs.duckdb.transfers(DIR)``, out of core      time, peak RSS

Goals: Parquet load no slower and no larger than JSONL (ratio ≤ 1 each); DuckDB's table no slower
than pandas' (≤ 1) in at most half its memory (≤ 0.5). ``make bench`` runs the issue's 10M events
(~12 min of generation the first time, then cached; about 3 min a run after that): at 1M every
child's ~140 MB of imports and DuckDB's start-up decide the ratios, not the paths
(``--events 1000000`` for a quick look).
Times: each side's fastest of ``--repeat`` runs, wall and CPU (user + sys, all threads); RSS: medians.

``--find-limit``: the largest event count each path handles within 8 GiB, with a real cap — the
child runs under ``RLIMIT_AS`` = 8 GiB (address space, so stricter than RSS) and DuckDB also gets
``memory_limit`` 6GB (it spills past it). The datasets are ``--limit-base`` (default 1M) events
repeated N times as later days under fresh chat/session/message ids (N times as long a log); N
doubles from 8 until a run fails or reaches ``--max-events``, then halves the gap until 1 copy.

    python benchmarks/bench_dataset.py [--events 10000000] [--repeat 2] [--memory-limit 2GB]
    python benchmarks/bench_dataset.py --find-limit [--limit-base 1000000] [--max-events 64000000]
        [--paths pandas,duckdb] [--start-copies 8]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_ingest import child, verdict  # noqa: E402  (one way to run a measured child)

PRELUDE = """
import json, resource, sys, time
import pandas, pyarrow, pyarrow.dataset
from jivo_ops.logs import load
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
def done(seconds, rows):
    print(json.dumps({"seconds": seconds, "rows": rows, "cpu_s": cpu() - cpu0,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
t0, cpu0 = time.perf_counter(), cpu()
"""
CHILDREN = {
    "jsonl": "logs = load(sys.argv[1]); done(time.perf_counter() - t0, len(logs))",
    "parquet": "logs = load(sys.argv[1]); done(time.perf_counter() - t0, len(logs))",
    "pandas": "t = load(sys.argv[1]).transfers(); done(time.perf_counter() - t0, len(t))",
    "duckdb": "import duckdb\nfrom jivo_ops.logs import duckdb as d\nt0, cpu0 = time.perf_counter(), cpu()\n"
              "t = d.transfers(sys.argv[1], memory_limit=sys.argv[2] or None); done(time.perf_counter() - t0, len(t))",
}


CACHE = Path(tempfile.gettempdir()) / "jivo_ops_bench"
CAP_BYTES = 8 * 2**30
CAPPED_DUCKDB_LIMIT = "6GB"
SPAN_DAYS = 8  # gen_events: a week of chats, the last ones ending on the 8th day


def cached_inputs(events: int) -> tuple[Path, Path]:
    """The events JSONL and the dataset ``LogSet.to_parquet`` wrote from it (made when missing)."""
    # -v2: written in time order with large row groups (older caches were neither)
    jsonl, dataset = CACHE / f"events-{events}.jsonl", CACHE / f"dataset-{events}-v2"
    if not jsonl.exists():
        from gen_events import generate

        t0 = time.perf_counter()
        generate(jsonl.with_suffix(".tmp"), events)
        os.replace(jsonl.with_suffix(".tmp"), jsonl)
        print(f"generated {jsonl} in {time.perf_counter() - t0:.1f} s")
    if not dataset.exists():
        from jivo_ops.logs import load

        t0 = time.perf_counter()
        shutil.rmtree(dataset.with_suffix(".tmp"), ignore_errors=True)
        load(jsonl).to_parquet(dataset.with_suffix(".tmp"))
        shutil.move(dataset.with_suffix(".tmp"), dataset)
        print(f"wrote the dataset {dataset} in {time.perf_counter() - t0:.1f} s")
    return jsonl, dataset


def compare(args) -> int:
    jsonl, dataset = cached_inputs(args.events)
    size = sum(p.stat().st_size for p in dataset.rglob("*.parquet")) / 2**20
    print(f"{args.events:,} events: JSONL {jsonl.stat().st_size / 2**20:.0f} MiB, dataset {size:.0f} MiB; "
          f"cores: {os.cpu_count()}, python {sys.version.split()[0]}"
          + ("" if args.events >= 10_000_000 else "  (the verdicts are the issue's at 10M: imports weigh at this size)"))
    runs: dict[str, list[dict]] = {name: [] for name in CHILDREN}
    for i in range(args.repeat):
        for name in CHILDREN:
            source = jsonl if name == "jsonl" else dataset
            runs[name].append(child(PRELUDE + CHILDREN[name], source, args.memory_limit, timeout=3600))
        print(f"run {i + 1}: " + " | ".join(f"{n} {r[-1]['seconds']:.2f} s {r[-1]['rss_mb']:.0f} MB"
                                            for n, r in runs.items()))
    best = {n: min(r["seconds"] for r in rs) for n, rs in runs.items()}
    cpu = {n: min(r["cpu_s"] for r in rs) for n, rs in runs.items()}
    rss = {n: statistics.median(r["rss_mb"] for r in rs) for n, rs in runs.items()}
    assert runs["pandas"][-1]["rows"] == runs["duckdb"][-1]["rows"], "the two tables differ in length"
    for name, what in (("jsonl", "load(events.jsonl)"), ("parquet", "load(DIR)"),
                       ("pandas", "load(DIR).transfers()"), ("duckdb", "logs.duckdb.transfers(DIR)")):
        print(f"{name:8s} {what:28s} best {best[name]:.2f} s (CPU {cpu[name]:.2f} s), "
              f"peak RSS {rss[name]:.0f} MB, {runs[name][-1]['rows']:,} rows")
    print(verdict("parquet-load", best["parquet"] / best["jsonl"], 1))
    print(verdict("parquet-load-memory", rss["parquet"] / rss["jsonl"], 1))
    print(verdict("duckdb-transfers", best["duckdb"] / best["pandas"], 1))
    print(verdict("duckdb-transfers-memory", rss["duckdb"] / rss["pandas"], 0.5))
    return 0


def copied(base: Path, copies: int) -> Path:
    """``base`` repeated ``copies`` times as later days (copy k: every time + k × SPAN_DAYS, in the
    day folders of those times, chat/session/message ids prefixed): a longer log of the same
    traffic, each day written once in time order, as daily appends leave it (cached)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from jivo_ops.logs.parquet import ROW_GROUP_ROWS

    out = base.parent / f"{base.name}-days{copies}"
    if out.exists():
        return out
    tmp = out.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for path in sorted(base.rglob("*.parquet")):
        table = pq.ParquetFile(path).read()
        day = date.fromisoformat(path.parent.name.removeprefix("day="))
        for k in range(copies):
            shift = timedelta(days=k * SPAN_DAYS)
            copy = table.set_column(0, "ts", pc.add(table["ts"], pa.scalar(shift, pa.duration("us"))))
            for col in ("chat", "session", "message_id"):
                prefixed = pc.binary_join_element_wise(pa.scalar(f"x{k}-"), table[col], "")
                copy = copy.set_column(copy.schema.get_field_index(col), col, prefixed)
            folder = tmp / f"day={day + shift}"
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(copy, folder / path.name, row_group_size=ROW_GROUP_ROWS)
    tmp.rename(out)
    return out


def capped_run(name: str, dataset: Path, duckdb_limit: str) -> dict | None:
    """One path over ``dataset`` under the 8 GiB cap; its figures, or None when it ran out of memory."""
    env = {**os.environ, "PYTHONPATH": str(HERE.parent) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", PRELUDE + CHILDREN[name], str(dataset), duckdb_limit],
                         capture_output=True, text=True, env=env, timeout=3600, cwd=CACHE,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (CAP_BYTES, CAP_BYTES)))
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines() or ["(no output)"]
        said = next((line for line in reversed(lines) if "Error" in line), lines[-1])  # not DuckDB's "See also"
        print(f"  {name}: out of the cap ({said[:200]})")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def find_limit(args) -> int:
    _, base = cached_inputs(args.limit_base)
    duckdb_limit = args.memory_limit or CAPPED_DUCKDB_LIMIT
    print(f"cap: RLIMIT_AS {CAP_BYTES / 2**30:.0f} GiB per child (DuckDB memory_limit {duckdb_limit}); "
          f"datasets: copies of {args.limit_base:,} events")
    for name in args.paths.split(","):
        passed, failed, copies = 0, None, args.start_copies
        while True:
            events = copies * args.limit_base
            result = capped_run(name, copied(base, copies), duckdb_limit)
            if result:
                print(f"  {name}: {events:,} events in {result['seconds']:.1f} s (CPU {result['cpu_s']:.1f} s), "
                      f"peak RSS {result['rss_mb']:.0f} MB, {result['rows']:,} transfers", flush=True)
                passed = copies
            else:
                failed = copies
            if failed is None and copies * 2 * args.limit_base <= args.max_events:
                copies *= 2
            elif failed is not None and failed - passed > 1:
                copies = (passed + failed) // 2
            else:
                break
        limit = f"{passed * args.limit_base:,}" if passed else f"< {args.start_copies * args.limit_base:,}"
        print(f"LIMIT {name} events_within_8GiB={limit}"
              + (f" (first failing: {failed * args.limit_base:,})" if failed else " (largest tried)"))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--memory-limit", default="", help="DuckDB's memory_limit, e.g. 2GB (default: its own; --find-limit: 6GB)")
    parser.add_argument("--find-limit", action="store_true",
                        help="the largest event count each path handles within 8 GiB (slow)")
    parser.add_argument("--limit-base", type=int, default=1_000_000)
    parser.add_argument("--max-events", type=int, default=64_000_000)
    parser.add_argument("--paths", default="pandas,duckdb", help="--find-limit: which paths, e.g. duckdb")
    parser.add_argument("--start-copies", type=int, default=8,
                        help="--find-limit: the first dataset's copies of --limit-base (then doubled)")
    args = parser.parse_args()
    return find_limit(args) if args.find_limit else compare(args)


if __name__ == "__main__":
    sys.exit(main())
