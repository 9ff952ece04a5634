"""Recorder throughput: the durable webhook recorder vs a bare Starlette app that answers 200 without storing.

Both servers run the same way, each in its own process: `jivo_ops.channel.serving.ServerThread` (uvicorn,
one worker, asyncio loop, the same HTTP parser — the servers' default httptools, h11 if missing; printed below)
on 127.0.0.1. The recorder is `jivo_ops.recorder.server.Recorder` on a fresh SQLite store (WAL,
synchronous=FULL, group commit); the bare app reads the body and answers `200 {"ok":true}`.

Each is sent the same 20,000 realistic Jivo agent messages (~300-byte UTF-8 JSON, Cyrillic text)
over 32 concurrent connections:

* **wrk** (the figure the verdict uses). BENCHMARKS.md measured that httpx cannot generate this load
  here: at 32 concurrent tasks httpx spends 1–4 ms of client CPU per request, so an httpx-driven
  run measures httpx and every ratio comes out near 1. A Lua script posts each message exactly once
  (`Content-Type: application/json; charset=utf-8`), timestamps the first request and the last
  answer with a monotonic clock (LuaJIT ffi), then stops the thread (wrk wants a request from every
  free connection, so once a thread's share is sent its connections post to an unrouted path —
  404, stored by neither server — until its last real answer is in). events/s = 20,000 / that
  span. Each round is ABBA (bare, recorder, recorder, bare; the next round the other way round), so
  each side runs both early and late in it; a round's ratio is the recorder's mean events/s over the
  bare app's. The verdict is the median of the per-round ratios. On this shared 2-core machine a
  round's events/s ratio still swings with the other users' load; server CPU per request (psutil, all
  of the server's threads) does not, so the BENCH line prints its per-round ratio too. It is also split by
  thread (psutil `Process.threads()` before and after the run; the child names each thread's role): the
  event-loop thread, the recorder's writer and checkpointer, other. On 2 cores the loop thread is what
  bounds events/s, so `loop_cpu_ratio` (bare/recorder loop-thread CPU per request) is printed as well.
* **httpx** (the issue's literal setup, printed for comparison): 32 concurrent async httpx
  clients (one `httpx.AsyncClient` and one task each) share the same 20,000 messages.

The disk's floor: before each recorder run, `COMMIT_PROBES` one-row commits (WAL, synchronous=FULL) on
a scratch store in the same folder give that round's durable-commit time T. The recorder answers a request
only after the commit holding it, and wrk keeps one request per connection in flight, so no recorder can
pass `connections / T` events/s; printed beside the bare app's rate, that ceiling says how much of the gap
is the disk rather than the recorder.

Zero loss: after each recorder run the server stops cleanly and the store is read: rows stored must
equal the 2xx answers (wrk: requests − non-2xx − socket errors), and the stored bodies must be the
sent bodies byte for byte. Server CPU per request comes from the server process's CPU times (psutil).

Ends with `BENCH recorder ratio=<median per-round recorder/bare events/s under wrk> goal=>=0.8 PASS|FAIL
cpu_ratio=<median per-round bare/recorder server CPU per request> (…)` (issue 17 §3).

    .venv/bin/python benchmarks/bench_recorder.py [--messages 20000] [--connections 32] [--rounds 3]
                                                  [--httpx-messages 20000 | --no-httpx] [--base CHECKOUT]

`--base CHECKOUT` (e.g. `git worktree add ../base <commit>`) adds that checkout's recorder to every round
(bare, recorder, base, base, recorder, bare; reversed the next round) and prints this recorder's events/s
and loop-thread CPU over it per round: how a change is measured before it is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import re
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL = 0.8
TOKEN = "benchTOKEN0123456789abcdef"
HOOK_PATH = f"/hook/{TOKEN}"
FILLER_PATH = "/not-routed"  # 404 on both servers; never stored
CONTENT_TYPE = "application/json; charset=utf-8"

WRK_SCRIPT = r"""
-- One POST per message of the bodies file (this thread's share), then 404 fillers until every
-- real answer is in; times the span with a monotonic clock and stops the thread.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now() ffi.C.clock_gettime(1, ts); return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9 end

local threads, created = {}, 0
function setup(thread)
  thread:set("tid", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads, marker, path, filler_path = args[1], tonumber(args[2]), args[3], args[4], args[5]
  local headers = {["Content-Type"] = "application/json; charset=utf-8"}
  reqs, n = {}, 0
  local line_no = 0
  for line in io.lines(file) do
    if line_no % nthreads == tid then
      n = n + 1
      reqs[n] = wrk.format("POST", path, headers, line)
    end
    line_no = line_no + 1
  end
  filler = wrk.format("POST", filler_path, headers, "{}")
  marker_file = marker .. "." .. tid
  sent, answered, ok, non2xx, fillers, t0, t1 = 0, 0, 0, 0, 0, -1, -1
end

function request()
  -- wrk calls request() once on thread 0's state to verify the script, before any connection
  -- exists: hand it a filler so no message is consumed unsent (harmless if it never happens).
  if tid == 0 and not verified then verified = true; return filler end
  if sent == 0 then t0 = now() end
  if sent < n then
    sent = sent + 1
    return reqs[sent]
  end
  return filler
end

function response(status, headers, body)
  if status == 404 then fillers = fillers + 1; return end
  answered = answered + 1
  if status >= 200 and status < 300 then ok = ok + 1 else non2xx = non2xx + 1 end
  if answered == n then
    t1 = now()
    local f = io.open(marker_file, "w"); f:write("done"); f:close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    print(string.format("WRKTHREAD tid=%d n=%d answered=%d ok=%d non2xx=%d fillers=%d t0=%.6f t1=%.6f",
      t:get("tid"), t:get("n"), t:get("answered"), t:get("ok"), t:get("non2xx"), t:get("fillers"),
      t:get("t0"), t:get("t1")))
  end
  local e = summary.errors
  print(string.format("WRKSUMMARY requests=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d",
    summary.requests, e.connect, e.read, e.write, e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""

OPERATORS = ["Анна Смирнова", "Борис Иванов", "Вера Петрова", "Глеб Соколов", "Дарья Козлова", "Егор Новиков"]
PHRASES = [
    "Здравствуйте! Меня зовут {op}. Подскажите, пожалуйста, номер вашего заказа.",
    "Спасибо, вижу ваш заказ. Доставка запланирована на завтра с 10:00 до 14:00.",
    "Уточню у коллег из склада и вернусь к вам в течение пяти минут.",
    "Да, вернуть товар можно в течение 14 дней, чек сохранять не обязательно.",
    "Я оформила заявку на возврат, номер заявки придёт вам в СМС.",
    "Могу ли я ещё чем-нибудь помочь? Хорошего дня!",
]


def make_messages(count: int, seed: int = 7) -> list[bytes]:
    """`count` distinct Jivo agent messages (Jivo → webhook), ~300 bytes of UTF-8 JSON each, one per line."""
    rng = random.Random(seed)
    out = []
    for index in range(count):
        op = rng.choice(OPERATORS)
        body = {
            "sender": {"id": f"agent-{rng.randint(1, 40)}", "name": op},
            "recipient": {"id": f"client-{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}"},
            "message": {"type": "text", "id": f"m{index:07d}-{rng.getrandbits(32):08x}",
                        "text": rng.choice(PHRASES).format(op=op.split()[0])},
        }
        out.append(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
    return out


# ------------------------------------------------------------------------------ the servers (child side)


def bare_app():
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def hook(request):
        await request.body()
        return Response(b'{"ok":true}', media_type="application/json")

    return Starlette(routes=[Route("/hook/{token}", hook, methods=["POST"])])


# A server thread's role, from the name its starter gave it; the per-thread CPU split is printed by role.
THREAD_ROLES = (("uvicorn:", "loop"), ("recorder-writer", "writer"), ("recorder-checkpoint", "checkpointer"))
ROLES = ("loop", "writer", "checkpointer", "other")


def thread_roles() -> dict[int, str]:
    """{native thread id: role} of this process's threads."""
    import threading

    return {thread.native_id: next((role for prefix, role in THREAD_ROLES if thread.name.startswith(prefix)), "other")
            for thread in threading.enumerate()}


def serve(kind: str, store: str | None, ready_file: str, code_root: str | None = None) -> None:
    """Child process: run one server until SIGTERM; write its port, pid, HTTP parser and thread roles
    (JSON) to `ready_file`. `code_root`: import jivo_ops from that checkout instead of this one."""
    import importlib.util

    if code_root:
        sys.path.insert(0, code_root)

    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))
    http_impl = "httptools" if importlib.util.find_spec("httptools") else "h11"
    if kind == "recorder":
        from jivo_ops.recorder.server import Recorder

        server = Recorder(store, token=TOKEN).start()
        port, closer = server.port, server.stop
    else:
        from jivo_ops.channel.serving import ServerThread

        server = ServerThread(bare_app()).start()
        port, closer = server.port, server.stop
    import jivo_ops

    Path(ready_file + ".tmp").write_text(json.dumps({"port": port, "pid": os.getpid(), "http": http_impl,
                                                     "threads": thread_roles(), "code": jivo_ops.__file__}))
    os.replace(ready_file + ".tmp", ready_file)
    while not stop["flag"]:
        time.sleep(0.05)
    closer()


@dataclass
class Server:
    kind: str
    process: subprocess.Popen
    port: int
    http_impl: str
    store: Path | None
    threads: dict[int, str]  # native id → role

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        import psutil

        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    def thread_cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) so far of each thread role (a thread not known at start counts as other)."""
        import psutil

        seconds = dict.fromkeys(ROLES, 0.0)
        for thread in psutil.Process(self.process.pid).threads():
            seconds[self.threads.get(thread.id, "other")] += thread.user_time + thread.system_time
        return seconds

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(kind: str, workdir: Path, base_root: str | None = None) -> Server:
    """`kind`: bare, recorder, or base (the recorder of the checkout at `base_root`)."""
    ready = workdir / f"{kind}-{uuid.uuid4().hex[:6]}.ready"
    store = workdir / f"store-{uuid.uuid4().hex[:6]}.sqlite" if kind != "bare" else None
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", "bare" if kind == "bare" else "recorder",
               "--ready-file", str(ready)]
    if store:
        command += ["--store", str(store)]
    if kind == "base":
        command += ["--code-root", str(Path(base_root).resolve())]
    process = subprocess.Popen(command, cwd=ROOT)
    deadline = time.monotonic() + 60
    while not ready.exists():
        if process.poll() is not None:
            raise SystemExit(f"{kind} server exited early with code {process.returncode}")
        if time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"{kind} server did not start within 60 s")
        time.sleep(0.05)
    ready_info = json.loads(ready.read_text())
    if kind == "base" and not ready_info["code"].startswith(str(Path(base_root).resolve())):
        raise SystemExit(f"--base {base_root}: the child imported jivo_ops from {ready_info['code']}")
    return Server(kind, process, ready_info["port"], ready_info["http"], store,
                  {int(tid): role for tid, role in ready_info["threads"].items()})


# ------------------------------------------------------------------------------------------ measuring


@dataclass
class Run:
    kind: str
    client: str
    sent: int
    ok: int
    non2xx: int
    socket_errors: int
    seconds: float
    server_cpu: float
    requests_served: int
    stored: int | None = None
    commit_ms: float | None = None  # the disk's durable-commit time just before a recorder run
    bodies_match: bool | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    thread_cpu: dict[str, float] = field(default_factory=dict)  # role → CPU seconds of the run
    client_cpu: float | None = None  # wrk's own CPU seconds (it shares the 2 cores with the server)

    @property
    def events_per_s(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu / max(self.requests_served, 1) * 1e6

    def thread_us_per_request(self, role: str) -> float:
        return self.thread_cpu.get(role, 0.0) / max(self.requests_served, 1) * 1e6

    def threads_line(self) -> str:
        return " ".join(f"{role} {self.thread_us_per_request(role):.0f}" for role in ROLES)

    @property
    def lossless(self) -> bool:
        return self.stored is None or (self.stored == self.ok and bool(self.bodies_match))

    def line(self) -> str:
        latency = f", latency p50 {self.p50_ms:.1f} ms p99 {self.p99_ms:.1f} ms" if self.p50_ms is not None else ""
        stored = "" if self.stored is None else (
            f", stored {self.stored} rows ({'= 2xx, bodies byte for byte' if self.lossless else 'LOSS/MISMATCH'})")
        disk = "" if self.commit_ms is None else f", durable commit {self.commit_ms:.2f} ms"
        client = ("" if self.client_cpu is None else
                  f", wrk CPU {self.client_cpu / max(self.requests_served, 1) * 1e6:.0f} µs/request")
        return (f"  {self.client:5} {self.kind:8} {self.events_per_s:8.0f} events/s  {self.ok}/{self.sent} 2xx, "
                f"non-2xx {self.non2xx}, socket errors {self.socket_errors}, {self.seconds:.2f} s, "
                f"server CPU {self.cpu_us_per_request:.0f} µs/request (by thread: {self.threads_line()})"
                f"{client}{latency}{stored}{disk}")


@dataclass
class Round:
    """One ABBA round: each server twice, back to back with the other (same machine load on both)."""
    number: int
    runs: list[Run] = field(default_factory=list)

    def _mean(self, kind: str, attr: str) -> float:
        return statistics.fmean(getattr(r, attr) for r in self.runs if r.kind == kind)

    def ratio_of(self, kind: str, over: str) -> float:
        """`kind`'s mean events/s over `over`'s (e.g. this checkout's recorder over the --base one)."""
        return self._mean(kind, "events_per_s") / self._mean(over, "events_per_s")

    def loop_cpu_ratio_of(self, kind: str, over: str) -> float:
        """`over`'s loop-thread CPU per request over `kind`'s (above 1: `kind` costs the loop less)."""
        return (statistics.fmean(r.thread_us_per_request("loop") for r in self.runs if r.kind == over)
                / statistics.fmean(r.thread_us_per_request("loop") for r in self.runs if r.kind == kind))

    @property
    def bare_events_per_s(self) -> float:
        return self._mean("bare", "events_per_s")

    @property
    def ratio(self) -> float:
        """Recorder events/s over bare events/s (the issue's figure)."""
        bare = self.bare_events_per_s
        return self._mean("recorder", "events_per_s") / bare if bare > 0 else 0.0

    @property
    def cpu_ratio(self) -> float:
        """Bare server CPU per request over the recorder's (1.0 = the recorder costs nothing extra)."""
        return self._mean("bare", "cpu_us_per_request") / self._mean("recorder", "cpu_us_per_request")


def check_store(server: Server, sent_bodies: list[bytes]) -> tuple[int, bool]:
    """Rows with a 2xx status in the (now closed) store, and whether their bodies are exactly the sent ones."""
    conn = sqlite3.connect(server.store.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        rows = [bytes(body) for (body,) in conn.execute("SELECT body FROM requests WHERE status BETWEEN 200 AND 299")]
    finally:
        conn.close()
    return len(rows), collections.Counter(rows) == collections.Counter(sent_bodies)


COMMIT_PROBES = 100


def durable_commit_ms(workdir: Path) -> float:
    """The median time of a one-row durable commit (WAL, synchronous=FULL) on this disk, in ms."""
    probe = workdir / f"probe-{uuid.uuid4().hex[:6]}.sqlite"
    conn = sqlite3.connect(probe, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("CREATE TABLE probe (body BLOB)")
        times = []
        for _ in range(COMMIT_PROBES):
            started = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO probe VALUES (?)", (b"x" * 300,))
            conn.execute("COMMIT")
            times.append(time.perf_counter() - started)
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(probe) + suffix).unlink(missing_ok=True)
    return statistics.median(times) * 1000


def run_wrk(server: Server, bodies_file: Path, bodies: list[bytes], connections: int, threads: int,
            workdir: Path, max_seconds: float) -> Run:
    script = workdir / "post_messages.lua"
    script.write_text(WRK_SCRIPT)
    marker = workdir / f"done-{uuid.uuid4().hex[:6]}"
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{int(max_seconds) + 30}s",
               "--timeout", "30s", "-s", str(script), server.url,
               "--", str(bodies_file), str(threads), str(marker), HOOK_PATH, FILLER_PATH]
    cpu_before, threads_before = server.cpu_seconds(), server.thread_cpu_seconds()
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + max_seconds
    markers = [Path(f"{marker}.{tid}") for tid in range(threads)]
    while not all(m.exists() for m in markers) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    cpu_after, threads_after = server.cpu_seconds(), server.thread_cpu_seconds()
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # wrk's main thread sleeps the whole -d: wake it to report
    output, _ = process.communicate(timeout=60)
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)  # only wrk was reaped in between
    wrk_cpu = (wrk_after.ru_utime - wrk_before.ru_utime) + (wrk_after.ru_stime - wrk_before.ru_stime)
    per_thread = [dict((k, float(v)) for k, v in re.findall(r"(\w+)=(-?[\d.]+)", line))
                  for line in output.splitlines() if line.startswith("WRKTHREAD")]
    summary_line = next((line for line in output.splitlines() if line.startswith("WRKSUMMARY")), None)
    if not per_thread or summary_line is None:
        raise SystemExit(f"wrk gave no report:\n{output[-2000:]}")
    summary = dict((k, float(v)) for k, v in re.findall(r"(\w+)=(-?[\d.]+)", summary_line))
    ok = int(sum(t["ok"] for t in per_thread))
    non2xx = int(sum(t["non2xx"] for t in per_thread))
    socket_errors = int(summary["connect"] + summary["read"] + summary["write"] + summary["timeout"])
    finished = all(t["t1"] > 0 for t in per_thread)
    span = (max(t["t1"] for t in per_thread) - min(t["t0"] for t in per_thread)) if finished else float("inf")
    served = int(sum(t["answered"] + t["fillers"] for t in per_thread))
    return Run(server.kind, "wrk", len(bodies), ok, non2xx, socket_errors, span, cpu_after - cpu_before, served,
               p50_ms=summary["p50_us"] / 1000, p99_ms=summary["p99_us"] / 1000,
               thread_cpu={role: threads_after[role] - threads_before[role] for role in ROLES}, client_cpu=wrk_cpu)


def run_httpx(server: Server, bodies: list[bytes], clients: int) -> Run:
    import httpx

    url = server.url + HOOK_PATH
    headers = {"Content-Type": CONTENT_TYPE}
    work = iter(bodies)
    counts = {"ok": 0, "non2xx": 0, "errors": 0}

    async def one_client() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            for body in work:  # the shared iterator hands each message to exactly one client
                try:
                    response = await client.post(url, content=body, headers=headers)
                except httpx.HTTPError:
                    counts["errors"] += 1
                    continue
                counts["ok" if 200 <= response.status_code < 300 else "non2xx"] += 1

    async def main() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        return time.perf_counter() - started

    cpu_before = server.cpu_seconds()
    seconds = asyncio.run(main())
    cpu = server.cpu_seconds() - cpu_before
    return Run(server.kind, "httpx", len(bodies), counts["ok"], counts["non2xx"], counts["errors"], seconds, cpu,
               len(bodies))


def measure(kind: str, client: str, workdir: Path, bodies: list[bytes], bodies_file: Path, args) -> Run:
    commit_ms = durable_commit_ms(workdir) if kind != "bare" else None
    server = start_server(kind, workdir, args.base)
    try:
        if client == "wrk":
            run = run_wrk(server, bodies_file, bodies, args.connections, args.threads, workdir, args.max_seconds)
        else:
            run = run_httpx(server, bodies, args.connections)
    finally:
        server.stop()
    if server.store is not None:
        run.stored, run.bodies_match = check_store(server, bodies)
        for suffix in ("", "-wal", "-shm"):
            Path(str(server.store) + suffix).unlink(missing_ok=True)
    run.http_impl = server.http_impl  # type: ignore[attr-defined]
    run.commit_ms = commit_ms
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=3, help="ABBA rounds (each runs both servers twice)")
    parser.add_argument("--httpx-messages", type=int, default=20_000, help="messages for the httpx variant")
    parser.add_argument("--no-httpx", action="store_true", help="skip the (slow) httpx variant")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="give up on one wrk run after this")
    parser.add_argument("--base", metavar="CHECKOUT",
                        help="also run the recorder of another checkout in each round (ABBA), e.g. the commit a "
                             "change starts from, and print this one's events/s over it")
    parser.add_argument("--serve", choices=("recorder", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--code-root", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--ready-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.store, args.ready_file, args.code_root)
        return 0

    if shutil.which("wrk") is None:
        print("wrk is not installed: `sudo apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`; "
              "httpx cannot generate this load (see BENCHMARKS.md)")
        print(f"BENCH recorder ratio=nan goal=>={GOAL} FAIL (wrk missing)")
        return 0

    bodies = make_messages(args.messages)
    sizes = [len(b) for b in bodies]
    print(f"cores: {os.cpu_count()}  python: {sys.version.split()[0]}  messages: {len(bodies)} "
          f"(median {statistics.median(sizes):.0f} B, UTF-8 JSON, Cyrillic)  connections: {args.connections}")
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="bench-recorder-") as tmp:
        workdir = Path(tmp)
        bodies_file = workdir / "messages.jsonl"
        bodies_file.write_bytes(b"\n".join(bodies) + b"\n")
        rounds: list[Round] = []
        for round_no in range(args.rounds):
            # ABBA: each side runs twice, once early and once late in the round, so a load that rises or
            # falls through the round weighs on both sides alike.
            kinds = ("bare", "recorder", "base") if args.base else ("bare", "recorder")
            order = kinds + kinds[::-1] if round_no % 2 == 0 else kinds[::-1] + kinds
            this_round = Round(round_no + 1)
            for kind in order:
                run = measure(kind, "wrk", workdir, bodies, bodies_file, args)
                runs.append(run)
                this_round.runs.append(run)
                print(f"round {round_no + 1} [{run.http_impl}]" + run.line(), flush=True)  # type: ignore[attr-defined]
            rounds.append(this_round)
            against_base = (f", recorder over base {this_round.ratio_of('recorder', 'base'):.2f} (loop CPU "
                            f"{this_round.loop_cpu_ratio_of('recorder', 'base'):.2f}), base over bare "
                            f"{this_round.ratio_of('base', 'bare'):.2f}") if args.base else ""
            print(f"round {round_no + 1}: events/s ratio {this_round.ratio:.2f}, "
                  f"server CPU per request ratio {this_round.cpu_ratio:.2f}{against_base}", flush=True)
        httpx_runs: list[Run] = []
        if not args.no_httpx and args.httpx_messages > 0:
            subset = bodies[:args.httpx_messages]
            for kind in ("bare", "recorder"):
                run = measure(kind, "httpx", workdir, subset, bodies_file, args)
                httpx_runs.append(run)
                print("httpx  " + run.line(), flush=True)

    def median_of(kind: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in runs if r.kind == kind)

    bare, rec = median_of("bare", "events_per_s"), median_of("recorder", "events_per_s")
    bare_cpu, rec_cpu = median_of("bare", "cpu_us_per_request"), median_of("recorder", "cpu_us_per_request")
    ratios = [r.ratio for r in rounds]
    cpu_ratios = [r.cpu_ratio for r in rounds]
    lossless = all(r.lossless and r.ok == r.sent for r in runs + httpx_runs)
    print(f"wrk   medians over {args.rounds} ABBA rounds: bare {bare:.0f} events/s ({bare_cpu:.0f} µs server "
          f"CPU/request), recorder {rec:.0f} events/s ({rec_cpu:.0f} µs server CPU/request); per-round events/s "
          f"ratios {', '.join(f'{x:.2f}' for x in ratios)} (median {statistics.median(ratios):.2f}); per-round "
          f"CPU-per-request ratios (bare/recorder) {', '.join(f'{x:.2f}' for x in cpu_ratios)} "
          f"(median {statistics.median(cpu_ratios):.2f})")

    def median_threads(kind: str) -> str:
        return " ".join(f"{role} {statistics.median(r.thread_us_per_request(role) for r in runs if r.kind == kind):.0f}"
                        for role in ROLES)

    bare_loop = statistics.median(r.thread_us_per_request("loop") for r in runs if r.kind == "bare")
    rec_loop = statistics.median(r.thread_us_per_request("loop") for r in runs if r.kind == "recorder")
    # On 2 cores the event-loop thread is what bounds events/s; the writer and checkpointer run beside it.
    base_threads = f"; base {median_threads('base')}" if args.base else ""
    print(f"server CPU per request by thread (µs, medians): bare {median_threads('bare')}; recorder "
          f"{median_threads('recorder')}{base_threads}; loop thread bare/recorder {bare_loop / rec_loop:.2f}")
    if args.base:
        over_base = [r.ratio_of("recorder", "base") for r in rounds]
        loop_over_base = [r.loop_cpu_ratio_of("recorder", "base") for r in rounds]
        base_over_bare = [r.ratio_of("base", "bare") for r in rounds]
        print(f"recorder over base ({args.base}): per-round events/s ratios "
              f"{' '.join(f'{x:.2f}' for x in over_base)} (median {statistics.median(over_base):.2f}); loop-thread "
              f"CPU per request base/recorder {' '.join(f'{x:.2f}' for x in loop_over_base)} "
              f"(median {statistics.median(loop_over_base):.2f}); base over bare "
              f"{' '.join(f'{x:.2f}' for x in base_over_bare)}")
    rec_runs = [r for r in runs if r.kind == "recorder"]
    ceilings = [args.connections / (r.commit_ms / 1000) / round_.bare_events_per_s
                for round_ in rounds for r in round_.runs if r.kind == "recorder" and r.commit_ms]
    if ceilings:
        print(f"disk ceiling (connections / durable commit time, over that round's bare): "
              f"{', '.join(f'{x:.2f}' for x in ceilings)} (median {statistics.median(ceilings):.2f}); durable "
              f"commit median {statistics.median(r.commit_ms for r in rec_runs):.2f} ms")
    if httpx_runs:
        hb, hr = (next(r for r in httpx_runs if r.kind == k).events_per_s for k in ("bare", "recorder"))
        print(f"httpx (32 async clients; measures httpx, see BENCHMARKS.md): bare {hb:.0f} events/s, "
              f"recorder {hr:.0f} events/s, ratio {hr / hb:.2f}")
    print(f"zero loss (rows stored = 2xx, every message answered 2xx, bodies byte for byte): "
          f"{'yes' if lossless else 'NO'}")
    ratio = statistics.median(ratios) if ratios else 0.0
    cpu_ratio = statistics.median(cpu_ratios) if cpu_ratios else 0.0
    verdict = "PASS" if ratio >= GOAL and lossless else "FAIL"
    print(f"BENCH recorder ratio={ratio:.2f} goal=>={GOAL} {verdict} cpu_ratio={cpu_ratio:.2f} "
          f"loop_cpu_ratio={bare_loop / rec_loop:.2f} "
          f"(server CPU {bare_cpu:.0f} µs/request bare, {rec_cpu:.0f} µs recorder; per-round events/s ratios "
          f"{' '.join(f'{x:.2f}' for x in ratios)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
