"""The sandbox at campaign size: 6,000 transfers at concurrency 3,000, all answered?

The sandbox runs in its own process (`jivo-ops sandbox`'s defaults, as in bench_transfer.py, here
counting what it does: `--serve`). The load comes from several driver processes (one event loop alone is the bottleneck at 3,000: the
client side of each transfer costs about as much CPU as the sandbox's side), each on aiohttp, each
running the default script's calls per transfer: `POST` hello, `POST` the operator request, `GET
/events` until the operator's message, `POST` the close phrase, and the operator-side view. Every
transfer may open its own connection (up to the concurrency), each request waits at most 30 s.

At this size every answer takes seconds, so what fails first is whatever waits on a bounded queue with
a deadline; on a machine whose cores the sandbox shares, its CPU per transfer (bench_transfer.py's
`BENCH sandbox`) decides how long each wave of 3,000 takes. Prints the sandbox's CPU per transfer at
this load; each unanswered transfer by its request and what went wrong (`POST operator view:
TimeoutError`, `POST hello: 503`); what the sandbox answered, by status (its guards' 408/503 too), which
of its own internal calls failed and why, how late its loop ran a 0.1 s timer, and how many connections
each half accepted; and ends with
`BENCH sandbox-3000 ratio=<answered / transfers> goal=>=1.0 PASS|FAIL`.

    .venv/bin/python benchmarks/bench_sandbox.py [--transfers 6000] [--concurrency 3000] [--drivers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_transfer import process_cpu_s, stop_sandbox  # noqa: E402

from jivo_ops.profile import load_profile  # noqa: E402

REQUEST_TIMEOUT_S = 30.0


class Unanswered(Exception):
    """One transfer's failure, named by its request and what went wrong: `POST hello: 503`, …"""


def _kind(exc: BaseException) -> str:
    """What went wrong with one request: the status the sandbox answered, or the client-side exception."""
    import aiohttp

    if isinstance(exc, aiohttp.ClientResponseError):
        return str(exc.status)
    if isinstance(exc, OSError) and exc.errno:
        return f"{type(exc).__name__} ({os.strerror(exc.errno)})"
    return type(exc).__name__


async def drive(url: str, view_url: str, first: int, count: int, concurrency: int) -> tuple[int, dict[str, int]]:
    """`count` transfers (client ids from `first`), `concurrency` at a time: (answered, failures by
    request and kind — `POST operator: 503`, `GET /events: ServerDisconnectedError`, …)."""
    import aiohttp

    events_url = url.rstrip("/") + "/events"
    failures: collections.Counter[str] = collections.Counter()
    answered = 0
    semaphore = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=2.0)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async def call(step: str, method: str, target: str, **kwargs) -> dict:
            try:
                async with session.request(method, target, **kwargs) as r:
                    r.raise_for_status()
                    return await r.json(content_type=None)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                raise Unanswered(f"{step}: {_kind(exc)}") from exc

        async def conversation(cid: str) -> None:
            await call("POST hello", "POST", url, json={"clientId": cid, "query": "Здравствуйте"})
            replies = (await call("POST operator", "POST", url,
                                  json={"clientId": cid, "query": "Позовите оператора"}))["data"]["replies"]
            close = next(x for x in replies if x.get("type") == "switch").get("closeChatPhrases", ["/closeChat"])[0]
            ts, said = None, []
            deadline = time.monotonic() + REQUEST_TIMEOUT_S
            while not said:
                if time.monotonic() > deadline:
                    raise Unanswered("GET /events: no operator message within 30 s")
                params = {"clientId": cid} | ({"ts": str(ts)} if ts is not None else {})
                events = (await call("GET /events", "GET", events_url, params=params))["events"]
                stamps = [e["event"]["timestamp"] for e in events if "timestamp" in e.get("event", {})]
                ts = max(stamps) if stamps else ts
                said = [t for e in events for x in e.get("event", {}).get("data", {}).get("replies", ())
                        if (t := x.get("text"))]
            await call("POST close", "POST", url, json={"clientId": cid, "query": close})
            if view_url:
                await call("POST operator view", "POST", view_url, json={"clientId": cid, "replies": said})

        async def one(i: int) -> None:
            nonlocal answered
            async with semaphore:
                try:
                    await conversation(f"load-{i:06d}")
                    answered += 1
                except Unanswered as exc:
                    failures[str(exc)] += 1
                except (KeyError, StopIteration) as exc:
                    failures[f"unexpected answer: {type(exc).__name__}"] += 1

        await asyncio.gather(*(one(i) for i in range(first, first + count)))
    return answered, dict(failures)


def serve(profile_path: str, counts_path: str) -> None:
    """The sandbox child: `jivo-ops sandbox`'s defaults, counting what it answered (every status line
    its servers wrote, the guards' 408/503 too) and its internal calls that failed; the counts go to
    `counts_path` as JSON when it is stopped."""
    from jivo_ops.profile import save_profile
    from jivo_ops.sandbox import Sandbox
    from jivo_ops.sandbox import _servers

    statuses: collections.Counter[str] = collections.Counter()
    write = _servers._CorkedTransport.write

    def counting_write(self, data) -> None:
        if data[:9] == b"HTTP/1.1 ":
            statuses[bytes(data[9:12]).decode()] += 1
        write(self, data)

    _servers._CorkedTransport.write = counting_write
    accepted = collections.Counter()   # connections each server accepted, by its port
    corked = _servers._CorkedTransport.__init__

    def counting_init(self, transport, loop) -> None:
        accepted[transport.get_extra_info("sockname")[1]] += 1
        corked(self, transport, loop)

    _servers._CorkedTransport.__init__ = counting_init
    stopped = []
    signal.signal(signal.SIGTERM, lambda *_: stopped.append(1))
    lags: list[float] = []   # how late the sandbox's loop ran a 0.1 s timer: how long one turn of it takes

    async def probe() -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(0.1)
            lags.append(time.monotonic() - started - 0.1)

    with Sandbox(operators=2, think_time=0.0) as sb:
        save_profile(sb.profile, profile_path)
        while sb.jaicp.loop is None:
            time.sleep(0.05)
        asyncio.run_coroutine_threadsafe(probe(), sb.jaicp.loop)
        while not stopped:
            time.sleep(0.2)
        internal: collections.Counter[str] = collections.Counter()
        for e in sb.history.entries(("forward", "webhook_attempt", "dropped", "client_gone", "rejected")):
            status = e.detail.get("status")
            if e.kind in ("forward", "webhook_attempt") and status is not None and status < 300:
                continue
            internal[f"{e.kind}: {status} {e.detail.get('reason', '')[:80]}"] += 1
        ports = {"jaicp": int(sb.jaicp_url.rsplit(":", 1)[1]), "jivo": int(sb.jivo_url.rsplit(":", 1)[1])}
    lags.sort()
    lag = {q: round(lags[min(len(lags) - 1, int(len(lags) * f))], 2) for q, f in (("p50", 0.5), ("p99", 0.99),
                                                                               ("max", 1.0))} if lags else {}
    connections = {side: accepted[port] for side, port in ports.items()}
    Path(counts_path).write_text(json.dumps({"answered": dict(statuses), "internal": dict(internal), "lag": lag,
                                             "connections": connections, "ports": ports}))


def start_counting_sandbox(workdir: Path) -> tuple[subprocess.Popen, Path, Path]:
    """`serve` in its own process; (process, profile path, counts path) once it answers."""
    profile_path, counts_path = workdir / "sandbox-profile.toml", workdir / "sandbox-counts.json"
    process = subprocess.Popen([sys.executable, __file__, "--serve", str(profile_path), str(counts_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"sandbox exited early: {process.stderr.read().decode(errors='replace')[-500:]}")
        if profile_path.exists() and profile_path.stat().st_size:
            return process, profile_path, counts_path
        time.sleep(0.1)
    process.terminate()
    raise SystemExit("sandbox did not come up within 30 s")


def driver(args: tuple) -> tuple[int, dict[str, int], float]:
    """One driver process: its share of the transfers; (answered, failures, its own CPU seconds)."""
    started = time.process_time()
    answered, failures = asyncio.run(drive(*args))
    return answered, failures, time.process_time() - started


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `kill PID` still stops the sandbox
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=3000)
    parser.add_argument("--drivers", type=int, default=2, help="driver processes sharing the load")
    parser.add_argument("--serve", nargs=2, metavar=("PROFILE", "COUNTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return 0
    n, d = args.transfers, max(1, args.drivers)
    shares = [(n * k // d, n * (k + 1) // d - n * k // d, args.concurrency * (k + 1) // d - args.concurrency * k // d)
              for k in range(d)]

    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        process, profile_path, counts_path = start_counting_sandbox(Path(tmp))
        try:
            profile = load_profile(profile_path, env=False)
            url, view_url = profile.jaicp.chat_api_url, profile.jivo.operator_view_url
            asyncio.run(drive(url, view_url, 0, 20, 10))  # warm-up: imports, the first connections
            with multiprocessing.get_context("spawn").Pool(d) as pool:
                sandbox_started, wall_started = process_cpu_s(process.pid), time.perf_counter()
                results = pool.map(driver, [(url, view_url, 1_000_000 + first, count, conc)
                                            for first, count, conc in shares])
                wall = time.perf_counter() - wall_started
                sandbox_ms = (process_cpu_s(process.pid) - sandbox_started) * 1000 / n
        finally:
            stop_sandbox(process)
        counts = json.loads(counts_path.read_text()) if counts_path.exists() else {}

    answered = sum(r[0] for r in results)
    failures: collections.Counter[str] = collections.Counter()
    for r in results:
        failures.update(r[1])
    ratio = answered / n
    print(f"cores={os.cpu_count()} transfers={n} concurrency={args.concurrency} drivers={d} "
          f"load={os.getloadavg()[0]:.1f}")
    print(f"{answered}/{n} answered in {wall:.1f} s wall ({n / wall:.0f} transfers/s); sandbox {sandbox_ms:.2f} ms "
          f"CPU per transfer; drivers {sum(r[2] for r in results):.1f} s CPU"
          + (f"; failures: {dict(failures)}" if failures else ""))
    print(f"the sandbox answered (by status): {counts.get('answered')}; its internal calls that failed: "
          f"{counts.get('internal') or 'none'}; its loop's lag (s): {counts.get('lag')}; connections accepted: "
          f"{counts.get('connections')} (ports {counts.get('ports')})")
    print(f"BENCH sandbox-3000 ratio={ratio:.3f} goal=>=1.0 {'PASS' if ratio >= 1.0 else 'FAIL'} "
          f"({answered} of {n} transfers answered at concurrency {args.concurrency})")
    return 0 if ratio >= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
