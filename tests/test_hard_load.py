"""Hard test, load: 200 transfers at once on the sandbox with latency injected on both sides finish
with the right outcomes, within a bounded time, and with bounded memory (RSS growth of the process
that runs both the sandbox and the batch; tracemalloc is left out: it slows the loop ~2× and turns the
test into a measure of itself). Then every operator goes offline and a second wave must be told so.
"""

from __future__ import annotations

import gc
import time

import psutil

from jivo_ops.sandbox import Sandbox
from jivo_ops.transfer import run_transfers

CLIENTS = 200
RSS_BOUND_MB = 250  # generous: 200 conversations with their steps are a few MB of Python objects


def test_200_concurrent_transfers_with_latency_finish_right_in_bounded_memory():
    process = psutil.Process()
    with Sandbox(operators=8, think_time=0.05, jaicp_latency=0.02, jivo_latency=0.02, events_timeout=5) as sb:
        gc.collect()
        rss_before = process.memory_info().rss
        started = time.monotonic()
        batch = run_transfers(sb.profile, clients=CLIENTS, concurrency=CLIENTS, step_timeout=30, progress=False)
        elapsed = time.monotonic() - started
        rss_growth = (process.memory_info().rss - rss_before) / 2 ** 20

        outcomes = [r.outcome for r in batch]
        assert len(batch) == CLIENTS
        assert outcomes == ["answered"] * CLIENTS, {o: outcomes.count(o) for o in set(outcomes)}
        assert len({r.chat for r in batch}) == CLIENTS, "every simulated client is its own chat"
        assert all(r.first_operator_at and r.switched_at and r.first_operator_at >= r.switched_at for r in batch)
        assert elapsed < 120, f"{CLIENTS} transfers took {elapsed:.0f} s"
        assert rss_growth < RSS_BOUND_MB, f"RSS grew {rss_growth:.0f} MB"

        sb.set(online=False)  # everyone offline: the next wave must be told so, not hang
        started = time.monotonic()
        offline = run_transfers(sb.profile, clients=50, concurrency=50, step_timeout=30, progress=False)
        assert [r.outcome for r in offline] == ["no_operators"] * 50
        assert time.monotonic() - started < 60
    print(f"\n[hard load] {CLIENTS} concurrent transfers answered in {elapsed:.1f} s; "
          f"RSS +{rss_growth:.0f} MB; 50 offline → no_operators")
