"""The Locust path's client cost: `jivo_ops.locust.TransferUser` vs a bare `FastHttpUser` doing the same requests.

A canned Chat API (its own process: a raw asyncio server answering at once, so the server is never what
is measured) serves both. Each Locust run is headless, U users playing N transfers each, in its own process:

* bare:   a `FastHttpUser` whose transfer posts the greeting, posts the operator request, polls /events once
          and posts the close phrase, reading each JSON body — nothing recorded, no engine;
* engine: the generated locustfile's `TransferUser` (the built-in script: the same four calls), which
          also plays the conversation engine, records every step and reports the hand-over entries.

Measured inside each Locust process: CPU seconds (`time.process_time`) between test start and stop,
divided by the Chat API exchanges it made (Locust's request count, `handover` entries left out). Rounds
alternate (ABBA); the verdict is the median of the per-round ratios. Ends with
`BENCH locust ratio=<engine/bare CPU per exchange> goal=<=2.0 PASS|FAIL`.

    .venv/bin/python benchmarks/bench_locust.py [--users 20] [--transfers-per-user 100] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jivo_ops.locust.launch import locust_command, locustfile_text  # noqa: E402

GOAL = 2.0
TOKEN = "bench123:" + "0" * 40

# -- the canned Chat API ---------------------------------------------------------------------------


def _reply(client_id: str, replies: list) -> bytes:
    return json.dumps({"clientId": client_id, "questionId": "q", "timestamp": int(time.time() * 1000),
                       "data": {"replies": replies}}, ensure_ascii=False).encode()


def answer(method: str, target: str, body: bytes) -> bytes:
    if method == "GET":  # /events: the operator's message, at once
        client_id = target.split("clientId=", 1)[1].split("&", 1)[0]
        return json.dumps({"events": [{"type": "botResponse", "event": {
            "questionId": "q", "timestamp": int(time.time() * 1000),
            "data": {"replies": [{"type": "text", "text": "Оператор Анна на связи"}]}}}]},
            ensure_ascii=False).encode()
    request = json.loads(body)
    client_id, query = request["clientId"], request.get("query", "")
    if "оператор" in query:
        return _reply(client_id, [{"type": "text", "text": "Соединяю"},
                                  {"type": "switch", "closeChatPhrases": ["/closeChat"], "firstMessage": query}])
    if query == "/closeChat":
        return _reply(client_id, [{"type": "text", "text": "Чат завершён", "state": "/LivechatFinished"}])
    return _reply(client_id, [{"type": "text", "text": "Здравствуйте!"}])


class ChatApi(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer = transport, b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, rest = self.buffer.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            length = next((int(line.split(":", 1)[1]) for line in lines[1:]
                           if line.lower().startswith("content-length:")), 0)
            if len(rest) < length:
                return
            body, self.buffer = rest[:length], rest[length:]
            method, target, _ = lines[0].split(" ", 2)
            payload = answer(method, target, body)
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
                                 b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload))


def serve(port: int) -> None:
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(ChatApi, "127.0.0.1", port, backlog=1024))
    loop.run_until_complete(server.serve_forever())


# -- the two locustfiles -----------------------------------------------------------------------------

MEASURE = '''

import json as _json
import time as _time

from locust import events as _events

_started = {{}}


@_events.test_start.add_listener
def _start(**_kw):
    _started["cpu"] = _time.process_time()


@_events.test_stop.add_listener
def _stop(environment, **_kw):
    exchanges = sum(e.num_requests for (name, method), e in environment.stats.entries.items() if method != "handover")
    with open({out!r}, "w") as f:
        _json.dump({{"cpu": _time.process_time() - _started["cpu"], "exchanges": exchanges}}, f)
'''

BARE = '''
import json
import uuid

import gevent
from locust import FastHttpUser, task
from locust.exception import StopUser

URL = {url!r}
ITERATIONS = {iterations!r}
_left = {{"users": {users!r}}}
HEADERS = {{"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}}


class Bare(FastHttpUser):
    host = {origin!r}

    @task
    def transfers(self):
        for _ in range(ITERATIONS):
            self.transfer()
        _left["users"] -= 1
        if not _left["users"]:
            gevent.spawn_later(0.1, self.environment.runner.quit)
        raise StopUser()

    def transfer(self):
        chat = uuid.uuid4().hex
        for name, text in (("say", "Здравствуйте"), ("switch", "Позовите оператора")):
            self.client.post(URL, data=json.dumps({{"clientId": chat, "query": text}}), headers=HEADERS,
                             name=name).json()
        self.client.get(URL + "/events?clientId=" + chat + "&timeout=20", name="wait_operator").json()
        self.client.post(URL, data=json.dumps({{"clientId": chat, "query": "/closeChat"}}), headers=HEADERS,
                         name="close").json()
'''


def run_locust(workdir: Path, kind: str, url: str, users: int, iterations: int) -> float:
    """CPU seconds per Chat API exchange of one headless run."""
    out = workdir / f"{kind}.json"
    out.unlink(missing_ok=True)
    origin = url.split("/chatapi/")[0]
    if kind == "bare":
        text = BARE.format(url=url, origin=origin, iterations=iterations, users=users)
    else:
        profile = workdir / "profile.toml"
        profile.write_text(f'name = "bench"\n\n[jaicp]\nchat_api_url = "{url}"\n', encoding="utf-8")
        text = locustfile_text(profile=profile)
    locustfile = workdir / f"locustfile_{kind}.py"
    locustfile.write_text(text + MEASURE.format(out=str(out)), encoding="utf-8")
    stop = [] if kind == "bare" else ["--transfers-per-user", str(iterations)]  # bare counts its own
    subprocess.run(locust_command(locustfile, ["--headless", "-u", str(users), "-r", str(users * 10), *stop,
                                               "--only-summary", "--loglevel", "WARNING"]),
                   cwd=workdir, stdout=subprocess.DEVNULL, stderr=(workdir / f"{kind}.log").open("w"), timeout=300)
    if not out.exists():
        raise SystemExit(f"BENCH locust ratio=nan goal=<={GOAL} FAIL ({kind}: Locust said "
                         f"{(workdir / f'{kind}.log').read_text()[-1500:]})")
    measured = json.loads(out.read_text())
    if not measured["exchanges"]:
        raise SystemExit(f"BENCH locust ratio=nan goal=<={GOAL} FAIL ({kind}: no exchanges)")
    return measured["cpu"] / measured["exchanges"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--transfers-per-user", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                               f"from benchmarks.bench_locust import serve; serve({port})"], cwd=ROOT)
    url = f"http://127.0.0.1:{port}/chatapi/{TOKEN}"
    try:
        time.sleep(1.0)
        ratios = []
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            for round_no in range(args.rounds):
                order = ("engine", "bare") if round_no % 2 == 0 else ("bare", "engine")
                cost = {kind: run_locust(workdir, kind, url, args.users, args.transfers_per_user) for kind in order}
                ratios.append(cost["engine"] / cost["bare"])
                print(f"round {round_no + 1}: engine {cost['engine'] * 1e3:.3f} ms CPU/exchange, "
                      f"bare FastHttpUser {cost['bare'] * 1e3:.3f} ms, ratio {ratios[-1]:.2f}", flush=True)
    finally:
        server.terminate()
        server.wait(10)
    ratio = statistics.median(ratios)
    print(f"BENCH locust ratio={ratio:.2f} goal=<={GOAL} {'PASS' if ratio <= GOAL else 'FAIL'} "
          f"({args.users} users × {args.transfers_per_user} transfers a run, {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
