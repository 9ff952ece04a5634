"""The transfer runner's own client cost, and 3,000 concurrent transfers, against a server that is never the wall.

A canned Chat API (bench_locust.py's raw asyncio server, in its own process: it answers the greeting,
the switch, the operator's message on /events and the close at once) serves the runner's default
script, four HTTP exchanges a transfer. Two BENCH lines, issue 17 §3's runner goals:

* `runner-exchange`: `arun_transfers` CPU per HTTP exchange (this process's `time.process_time`
  over the batch, divided by the exchanges its transport sent) with the runner's client
  (`make_async_client(plain=True)` on `jivo_ops.channel.httptools_transport.HttptoolsTransport`), side by
  side with the previous round's (the same client on `jivo_ops.channel.http.AiohttpTransport`) and the
  old one — httpx's own client pipeline on httpcore's `httpx.AsyncHTTPTransport`, one per pooled
  client as the runner had it — in rotating rounds. Goal
  ≤ 0.5 ms: `BENCH runner-exchange ratio=<median ms / 0.5 ms> goal=<=1.0 PASS|FAIL`.
* `runner-3000`: 6,000 transfers at concurrency 3,000 with the runner's transport; goal 0 transfers
  not answered: `BENCH runner-3000 ratio=<transfers not answered> goal=<=0 PASS|FAIL`, with the
  wall time, CPU per exchange and the peak memory per transfer in flight (ru_maxrss growth / concurrency).

    .venv/bin/python benchmarks/bench_runner.py [--transfers 1000] [--concurrency 50] [--rounds 2]
                                                [--big-transfers 6000] [--big-concurrency 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jivo_ops.transfer.runner as runner_module  # noqa: E402
from benchmarks.bench_locust import TOKEN, ChatApi  # noqa: E402
from jivo_ops.channel.http import AiohttpTransport, make_async_client  # noqa: E402
from jivo_ops.channel.httptools_transport import HttptoolsTransport  # noqa: E402
from jivo_ops.profile import Profile  # noqa: E402
from jivo_ops.transfer import arun_transfers  # noqa: E402

GOAL_MS = 0.5  # client CPU per HTTP exchange
SENT = {"exchanges": 0}


class Counting:
    """Counts the exchanges the transport it is mixed into sends."""

    def handle_async_request(self, request):
        SENT["exchanges"] += 1
        return super().handle_async_request(request)


# The runner's transport, last round's, and the old httpcore one.
TRANSPORTS = {"httptools": type("CountingHttptools", (Counting, HttptoolsTransport), {}),
              "aiohttp": type("CountingAiohttp", (Counting, AiohttpTransport), {}),
              "httpcore": type("CountingHttpcore", (Counting, httpx.AsyncHTTPTransport), {})}


def serve(port: int) -> None:
    """The canned Chat API, with a listen backlog deep enough for 3,000 clients connecting at once."""
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(ChatApi, "127.0.0.1", port, backlog=4096))
    loop.run_until_complete(server.serve_forever())


def start_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                                f"from benchmarks.bench_runner import serve; serve({port})"], cwd=ROOT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"http://127.0.0.1:{port}/chatapi/{TOKEN}"
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit("the canned Chat API did not come up within 20 s")


def old_client(**options):
    """The runner's client as it was: httpx's own per-request pipeline, not the plain client."""
    return make_async_client(**{**options, "plain": False})


def run_batch(profile: Profile, transport: str, transfers: int, concurrency: int) -> dict:
    """One batch on a fresh event loop with `transport` in every pooled client: CPU, wall, counts."""
    runner_module.HttptoolsTransport = TRANSPORTS[transport]  # what the runner builds per pooled client
    if transport == "httpcore":
        runner_module.make_async_client = old_client
    try:
        SENT["exchanges"] = 0
        cpu, wall = time.process_time(), time.perf_counter()
        batch = asyncio.run(arun_transfers(profile, clients=transfers, concurrency=concurrency, progress=False,
                                           step_timeout=30.0))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        runner_module.HttptoolsTransport, runner_module.make_async_client = HttptoolsTransport, make_async_client
    outcomes = batch.summary()["outcomes"]
    for error, count in collections.Counter(r.error for r in batch if r.error).most_common(3):
        print(f"  {count} × {error}", flush=True)
    return {"cpu_ms": cpu * 1e3 / max(1, SENT["exchanges"]), "wall": wall, "exchanges": SENT["exchanges"],
            "answered": outcomes["answered"], "outcomes": {k: v for k, v in outcomes.items() if v}}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the server (the finally below)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--big-transfers", type=int, default=6000)
    parser.add_argument("--big-concurrency", type=int, default=3000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 3,000 connections need more than 1,024 fds

    server, url = start_server()
    profile = Profile.from_dict({"name": "bench-runner", "jaicp": {"chat_api_url": url}})
    try:
        run_batch(profile, "httptools", 50, 10)  # warm up: imports, the server's first connections
        # First, while this process has not grown yet: its peak memory growth is the batch's.
        rss_before = peak_rss_mb()
        big = run_batch(profile, "httptools", args.big_transfers, args.big_concurrency)
        per_transfer_kb = (peak_rss_mb() - rss_before) * 1024 / args.big_concurrency
        missed = args.big_transfers - big["answered"]
        print(f"{args.big_transfers} transfers at {args.big_concurrency} concurrent: {big['wall']:.1f} s wall, "
              f"{big['answered']} answered {big['outcomes']}, {big['cpu_ms']:.3f} ms CPU/exchange, "
              f"peak memory +{per_transfer_kb:.0f} KB per transfer in flight", flush=True)

        cost: dict[str, list[float]] = {name: [] for name in TRANSPORTS}
        for round_no in range(args.rounds):
            order = list(TRANSPORTS)[round_no % 3:] + list(TRANSPORTS)[:round_no % 3]  # each one first in turn
            for transport in (order if round_no % 2 == 0 else order[::-1]):
                measured = run_batch(profile, transport, args.transfers, args.concurrency)
                cost[transport].append(measured["cpu_ms"])
                print(f"round {round_no + 1}: {transport:<9} {measured['cpu_ms']:.3f} ms CPU/exchange, "
                      f"{measured['wall']:.1f} s wall, {measured['exchanges']} exchanges, "
                      f"{measured['answered']}/{args.transfers} answered", flush=True)
    finally:
        server.terminate()
        server.wait(10)

    ours, previous, old = (statistics.median(cost[name]) for name in TRANSPORTS)
    ratio = ours / GOAL_MS
    print(f"BENCH runner-exchange ratio={ratio:.2f} goal=<=1.0 {'PASS' if ratio <= 1.0 else 'FAIL'} "
          f"(median {ours:.3f} ms client CPU per exchange, goal <= {GOAL_MS} ms; previous aiohttp transport "
          f"{previous:.3f} ms, {ours / previous:.2f}x; old httpcore transport {old:.3f} ms, {ours / old:.2f}x; {args.transfers} transfers at {args.concurrency}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
    print(f"BENCH runner-3000 ratio={missed} goal=<=0 {'PASS' if missed <= 0 else 'FAIL'} "
          f"({big['answered']}/{args.big_transfers} answered at {args.big_concurrency} concurrent in "
          f"{big['wall']:.1f} s; {big['cpu_ms']:.3f} ms CPU/exchange; "
          f"+{per_transfer_kb:.0f} KB per transfer in flight)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
