"""Hard test, crash without loss: `jivo-ops record` as a subprocess takes a stream of Jivo agent messages
from several concurrent senders, is killed with SIGKILL mid-stream, and restarted on the same store:
every request that got a 2xx is there, under the id it was acknowledged with, byte for byte.
(tests for the recorder's normal restart live with the recorder; this one is about the hard kill.)
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")

TOKEN = "crashTEST0123456789abcdef"


def start_recorder(store: Path) -> tuple[subprocess.Popen, str]:
    exe = Path(sys.executable).with_name("jivo-ops")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "jivo_ops.cli"]
    process = subprocess.Popen(command + ["record", "--listen", "127.0.0.1:0", "--store", str(store),
                                          "--token", TOKEN, "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(r"(http://127\.0\.0\.1:\d+/\S+)", line)
        if match:
            return process, match.group(1)
    process.kill()
    raise AssertionError(f"recorder did not print its URL: {lines} {process.stderr.read()[-500:]}")


def message(sender: int, n: int) -> bytes:
    body = {"sender": {"id": f"agent-{sender}", "name": "Анна"}, "recipient": {"id": f"client-{sender}-{n}"},
            "message": {"type": "text", "id": f"m-{sender}-{n}", "text": f"Сообщение №{n} от оператора {sender} ✓"}}
    return json.dumps(body, ensure_ascii=False).encode()


def test_sigkill_mid_stream_loses_nothing_acknowledged(tmp_path):
    store = tmp_path / "hooks.sqlite"
    process, url = start_recorder(store)
    acknowledged: dict[int, bytes] = {}
    lock = threading.Lock()
    stop = threading.Event()
    failures = []

    def sender(index: int) -> None:
        with httpx.Client(timeout=5) as http:
            n = 0
            while not stop.is_set():
                n += 1
                body = message(index, n)
                try:
                    # chunked for odd senders, Content-Length for even ones: both framings survive the kill
                    content = iter([body]) if index % 2 else body
                    response = http.post(url, content=content,
                                         headers={"Content-Type": "application/json; charset=utf-8"})
                except httpx.HTTPError:
                    return  # the server is gone: the request was never acknowledged
                if response.status_code == 200:
                    with lock:
                        acknowledged[response.json()["id"]] = body
                else:
                    failures.append((response.status_code, response.text[:200]))
                    return

    threads = [threading.Thread(target=sender, args=(i,), daemon=True) for i in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)  # mid-stream: senders are still posting
    process.wait(10)
    stop.set()
    for t in threads:
        t.join(10)
        assert not t.is_alive(), "a sender hung past its timeout"
    assert not failures, failures[:3]
    assert len(acknowledged) >= 50, f"only {len(acknowledged)} acknowledged before the kill"

    # Restart on the same store: it opens (WAL recovered), keeps serving, and continues the ids.
    process, url = start_recorder(store)
    try:
        after = httpx.post(url, content=message(99, 1), headers={"Content-Type": "application/json"}, timeout=10)
        assert after.status_code == 200, after.text
        assert after.json()["id"] > max(acknowledged)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    conn = sqlite3.connect(store.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        rows = {row_id: bytes(body) for row_id, body in conn.execute("SELECT id, body FROM requests")}
    finally:
        conn.close()
    missing = [i for i in acknowledged if i not in rows]
    changed = [i for i in acknowledged if i in rows and rows[i] != acknowledged[i]]
    assert not missing, f"{len(missing)} acknowledged request(s) lost, e.g. ids {missing[:5]}"
    assert not changed, f"{len(changed)} stored bodies differ from what was acknowledged, e.g. {changed[:5]}"
    print(f"\n[hard crash] {len(acknowledged)} acknowledged before SIGKILL, all {len(acknowledged)} stored "
          f"byte for byte; {len(rows)} rows after restart")
