"""Hard tests, the receiver under hostile traffic (issue 16, first section): slow and idle connections,
the connection cap, descriptor exhaustion, 413 that stops reading, truncated bodies, the tap's deadline,
answer cap and dot segments, identical refusals, foreign stores and the stop summary.

Raw sockets on 127.0.0.1, small timeouts through the same settings the flags set; every protocol test
runs under both of uvicorn's parsers (httptools when installed).
"""

from __future__ import annotations

import importlib.util
import json
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from jivo_ops.channel.serving import ServingLimits
from jivo_ops.errors import RecorderError
from jivo_ops.logs.sources.recorder_store import load_recorder_store
from jivo_ops.recorder.server import Recorder
from jivo_ops.recorder.store import RecorderStore, StoreReader

TOKEN = "hardSERVER0123456789abcd"
PARSERS = ["h11", pytest.param("httptools", marks=pytest.mark.skipif(
    importlib.util.find_spec("httptools") is None, reason="httptools not installed"))]
QUICK = dict(header_timeout=0.5, body_timeout=0.5)


def agent_message(chat: str = "client-1", text: str = "Здравствуйте") -> bytes:
    return json.dumps({"sender": {"id": "agent-1"}, "recipient": {"id": chat},
                       "message": {"type": "text", "id": f"m-{chat}", "text": text}}, ensure_ascii=False).encode()


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return sock


def read_all(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything until the server closes (or `timeout` passes: then what came so far)."""
    sock.settimeout(timeout)
    out = b""
    try:
        while True:
            part = sock.recv(65536)
            if not part:
                return out
            out += part
    except (TimeoutError, socket.timeout):
        return out + b"<still open>"
    except ConnectionResetError:
        return out + b"<reset>"


def post_head(path: str, length: int | None, extra: str = "") -> bytes:
    size = f"Content-Length: {length}\r\n" if length is not None else ""
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{size}{extra}\r\n"
            ).encode()


def rows(store: Path) -> list[sqlite3.Row]:
    with StoreReader(store) as reader:
        return reader.rows_after(0)


@pytest.fixture
def store(tmp_path) -> Path:
    return tmp_path / "hooks.sqlite"


# --- 1. slow and idle connections, the cap, descriptor exhaustion -------------------------------------


@pytest.mark.parametrize("http", PARSERS)
def test_slow_headers_idle_connections_and_stalled_bodies_get_408_then_close(store, http):
    with Recorder(store, token=TOKEN, limits=ServingLimits(**QUICK, http=http)) as rec:
        idle = connect(rec.port)
        slow = connect(rec.port)
        slow.sendall(b"POST /hook/" + TOKEN.encode() + b" HTTP/1.1\r\nHost: x\r\n")  # never ends its headers
        stalled = connect(rec.port)
        stalled.sendall(post_head(f"/hook/{TOKEN}", 100) + b'{"a":')  # 5 of 100 bytes, then nothing
        started = time.monotonic()
        answers = [read_all(s, timeout=5) for s in (idle, slow, stalled)]
        elapsed = time.monotonic() - started
        for answer in answers:
            assert answer.startswith(b"HTTP/1.1 408 "), answer
            assert b"connection: close" in answer.lower() and not answer.endswith(b"<still open>")
        assert elapsed < 5, f"the 0.5 s timeouts took {elapsed:.1f} s"
        assert httpx.post(rec.url, content=agent_message()).status_code == 200  # the server goes on


@pytest.mark.parametrize("http", PARSERS)
def test_a_slow_header_drip_is_cut_at_the_header_timeout_not_reset_by_each_byte(store, http):
    with Recorder(store, token=TOKEN, limits=ServingLimits(**QUICK, http=http)) as rec:
        sock = connect(rec.port)
        started = time.monotonic()
        closed_after = None
        for byte in b"POST /hook/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa":
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed_after = time.monotonic() - started
                break
            time.sleep(0.1)
            if time.monotonic() - started > 3:
                break
        answer = read_all(sock, timeout=2)
        assert answer.startswith(b"HTTP/1.1 408 ") or closed_after is not None, answer
        assert time.monotonic() - started < 6


@pytest.mark.parametrize("http", PARSERS)
def test_a_body_that_keeps_coming_slowly_is_not_cut(store, http):
    body = agent_message()
    with Recorder(store, token=TOKEN, limits=ServingLimits(header_timeout=1, body_timeout=1, http=http)) as rec:
        sock = connect(rec.port)
        sock.sendall(post_head(f"/hook/{TOKEN}", len(body)))
        for start in range(0, len(body), len(body) // 4 + 1):  # each part within the 1 s body timeout,
            time.sleep(0.4)                                      # the whole body well over it
            sock.sendall(body[start:start + len(body) // 4 + 1])
        sock.settimeout(5)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        sock.close()
    assert bytes(rows(store)[0]["body"]) == body


@pytest.mark.parametrize("http", PARSERS)
def test_over_the_connection_cap_a_request_gets_503_with_retry_after(store, http):
    with Recorder(store, token=TOKEN, limits=ServingLimits(header_timeout=5, body_timeout=5, max_connections=3,
                                                           http=http)) as rec:
        held = [connect(rec.port) for _ in range(3)]
        time.sleep(0.2)
        extra = connect(rec.port)
        body = agent_message()
        extra.sendall(post_head(f"/hook/{TOKEN}", len(body)) + body)
        answer = read_all(extra, timeout=3)
        assert answer.startswith(b"HTTP/1.1 503 "), answer
        assert b"retry-after: " in answer.lower() and not answer.endswith(b"<still open>")
        # an attacker's connection over the cap that sends nothing is answered and closed within a second
        silent = connect(rec.port)
        started = time.monotonic()
        assert read_all(silent, timeout=3).startswith(b"HTTP/1.1 503 ")
        assert time.monotonic() - started < 3
        for sock in held:
            sock.close()
        time.sleep(0.2)
        assert httpx.post(rec.url, content=body).status_code == 200
    assert [r["status"] for r in rows(store)] == [200]  # the refused one was never stored (Jivo resends it)


FD_SCRIPT = r"""
import resource, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (96, 96))
from jivo_ops.cli import main
sys.argv = ["jivo-ops", "record", "--listen", "127.0.0.1:0", "--store", sys.argv[1], "--token", sys.argv[2],
            "--header-timeout", "2", "--duration", "12"]
sys.exit(main())
"""


def test_out_of_descriptors_the_accept_loop_degrades_quietly_and_recovers(store, tmp_path):
    script = tmp_path / "fds.py"
    script.write_text(FD_SCRIPT)
    process = subprocess.Popen([sys.executable, str(script), str(store), TOKEN], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+/\S+)", line).group(1)
        port = int(url.split(":")[2].split("/")[0])
        attackers = []
        for _ in range(300):  # far past the 96 descriptors the recorder may open
            try:
                attackers.append(connect(port, timeout=1))
            except OSError:
                break
        time.sleep(2.5)
        for sock in attackers:
            sock.close()
        deadline = time.monotonic() + 8
        while True:  # as Jivo does: resend on a 5xx or a failed connection, until it is taken
            try:
                answer = httpx.post(url, content=agent_message(), timeout=2)
                if answer.status_code == 200 or time.monotonic() > deadline:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)
        assert answer.status_code == 200
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert "Traceback" not in err, err[-2000:]
    assert len(err.encode()) < 4000, f"stderr grew to {len(err)} characters"
    assert err.count("cannot accept connections") <= 2, err


# --- 2. 413 closes the connection and stops reading ---------------------------------------------------


@pytest.mark.parametrize("http", PARSERS)
def test_413_says_connection_close_and_stops_reading(store, http):
    with Recorder(store, token=TOKEN, max_body=4096, limits=ServingLimits(http=http)) as rec:
        sock = connect(rec.port)
        sock.sendall(post_head(f"/hook/{TOKEN}", 10 ** 9))
        sock.settimeout(5)
        head = sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 413 ") and b"connection: close" in head.lower(), head
        sent, chunk = 0, b"x" * 65536
        with pytest.raises(OSError):  # the server closed: writing fails long before the announced GB
            while sent < 256 * 2 ** 20:
                sock.sendall(chunk)
                sent += len(chunk)
        assert sent < 64 * 2 ** 20, f"the server went on reading {sent >> 20} MB after its 413"


# --- 3. truncated requests are stored marked, out of the message tables ------------------------------


@pytest.mark.parametrize("http", PARSERS)
def test_a_body_cut_short_is_stored_marked_and_left_out_of_the_messages(store, http):
    body = json.dumps({"recipient": {"id": "cut"}, "message": {"type": "text", "text": "hi"}},
                      separators=(",", ":")).encode().ljust(66)  # valid JSON alone: the old server stored a 200
    assert len(body) == 66
    with Recorder(store, token=TOKEN, limits=ServingLimits(http=http)) as rec:
        sock = connect(rec.port)
        sock.sendall(post_head(f"/hook/{TOKEN}", 116) + body)
        time.sleep(0.2)
        sock.close()
        assert httpx.post(rec.url, content=agent_message("whole-chat")).status_code == 200
        cut = rec.exchanges.wait_for("cut", timeout=5)
        assert "client disconnected after 66 of 116 bytes" in cut.summary()  # visible in the exchange views
    first = rows(store)[0]
    assert first["status"] != 200 and first["error"] == "incomplete: client disconnected after 66 of 116 bytes"
    part = load_recorder_store(store)
    assert list(part.messages["chat"]) == ["whole-chat"]
    assert "client disconnected after 66 of 116 bytes" in " ".join(part.rejected["reason"])


# --- 4. tap mode: one deadline, a capped answer, nothing forwarded above the configured path -----------


class RawTarget:
    """A raw TCP target: reads each request's head, keeps its first line, then runs `answer(conn)`."""

    def __init__(self, answer):
        self.answer, self.lines = answer, []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> "RawTarget":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        conn.settimeout(30)  # the tap may wait out a slow fsync before it reads on
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                part = conn.recv(65536)
                if not part:
                    return
                head += part
            self.lines.append(head.split(b"\r\n", 1)[0].decode())
            # the whole body too: closing with request bytes unread would reset the connection and cut
            # off what the answer left in flight (seen on a loaded machine)
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            body = len(head.split(b"\r\n\r\n", 1)[1])
            while length and body < int(length[1]):
                part = conn.recv(65536)
                if not part:
                    return
                body += len(part)
            self.answer(conn, self._stop)
        except OSError:
            pass
        finally:
            conn.close()


def drip(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
    while not stop.is_set():  # one byte every 0.2 s: each read is quick, the whole answer never ends
        conn.sendall(b" ")
        time.sleep(0.2)


def big_answer(size: int):
    def answer(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                     b"Content-Length: %d\r\n\r\n" % size)
        chunk = b"z" * 65536
        for _ in range(size // len(chunk)):
            conn.sendall(chunk)
    return answer


def test_tap_a_dripping_target_gets_one_overall_deadline_then_504(store):
    with RawTarget(drip) as target, \
            Recorder(store, token=TOKEN, forward=f"http://127.0.0.1:{target.port}/chatadapter",
                     forward_timeout=1.0) as rec:
        started = time.monotonic()
        answer = httpx.post(rec.url, content=agent_message(), timeout=30)
        elapsed = time.monotonic() - started
    assert answer.status_code == 504, answer.text
    assert elapsed < 4, f"a 1 s forward deadline held the caller {elapsed:.1f} s"
    assert "ReadTimeout" in rows(store)[0]["forward_error"] or "deadline" in rows(store)[0]["forward_error"]


def test_tap_a_huge_answer_is_streamed_to_the_caller_and_stored_truncated_marked(store):
    import psutil

    size = 48 * 2 ** 20
    process = psutil.Process()
    with RawTarget(big_answer(size)) as target, \
            Recorder(store, token=TOKEN, forward=f"http://127.0.0.1:{target.port}/chatadapter",
                     max_answer=65536, forward_timeout=60) as rec:  # the deadline spans the streaming too:
        before = process.memory_info().rss                              # room for a loaded machine
        got = 0
        with httpx.stream("POST", rec.url, content=agent_message(), timeout=30) as answer:
            assert answer.status_code == 200
            for chunk in answer.iter_raw():
                got += len(chunk)
        growth = (process.memory_info().rss - before) / 2 ** 20
    assert got == size  # the caller got the whole answer
    assert growth < 30, f"RSS grew {growth:.0f} MB for a {size >> 20} MB answer"
    row = rows(store)[0]
    assert len(bytes(row["forward_body"])) == 65536 and row["forward_status"] == 200
    assert row["forward_error"] == "answer over the 65536-byte cap: stored the first 65536 bytes"


@pytest.mark.parametrize("http", PARSERS)
@pytest.mark.parametrize("rest", ["../../../../admin/secret", "%2e%2e/%2E%2e/admin/secret", ".%2e/admin",
                                  "a/./b", "a/%2e/b", "a/..%2fadmin", "a%2f..%2f..%2fadmin"])
def test_tap_refuses_dot_segments_plain_or_encoded_and_forwards_nothing(store, rest, http):
    with RawTarget(big_answer(0)) as target, \
            Recorder(store, token=TOKEN, forward=f"http://127.0.0.1:{target.port}/chatadapter",
                     limits=ServingLimits(http=http)) as rec:
        sock = connect(rec.port)
        body = agent_message()
        sock.sendall(post_head(f"/hook/{TOKEN}/{rest}", len(body), "Connection: close\r\n") + body)
        answer = read_all(sock)
        # a plain path beneath the configured one still goes through
        fine = httpx.post(rec.url + "/sub/path", content=body, timeout=5)
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert fine.status_code == 200
    assert target.lines == ["POST /chatadapter/sub/path HTTP/1.1"]


# --- 5. identical refusals, no local path in a 503 ----------------------------------------------------


@pytest.mark.parametrize("http", PARSERS)
def test_every_refusal_is_byte_identical(store, http):
    body = agent_message()
    with Recorder(store, token=TOKEN, limits=ServingLimits(http=http)) as rec:
        answers = set()
        for method, path in [("POST", "/hook/wrongtoken123"), ("POST", "/nothing/here"), ("GET", "/"),
                             ("POST", f"/hook/{TOKEN[:-1]}/x"), ("PUT", "/hook/"), ("POST", f"/{TOKEN}")]:
            sock = connect(rec.port)
            sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
                         f"Connection: close\r\n\r\n".encode() + body)
            answers.add(read_all(sock))
    assert len(answers) == 1, answers
    assert next(iter(answers)).startswith(b"HTTP/1.1 404 ")


def test_a_503_never_tells_the_caller_a_local_path(store):
    with Recorder(store, token=TOKEN) as rec:
        rec.store.close()  # the store can no longer take requests
        answer = httpx.post(rec.url, content=agent_message())
    assert answer.status_code == 503 and answer.headers["retry-after"]
    assert str(store.parent) not in answer.text and store.name not in answer.text


# --- 6. a foreign file is refused before anything in it changes ---------------------------------------


def test_a_foreign_sqlite_file_is_refused_and_left_byte_for_byte_unchanged(tmp_path):
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    conn.execute("INSERT INTO notes (text) VALUES ('mine')")
    conn.commit()
    conn.close()
    before = foreign.read_bytes()
    with pytest.raises(RecorderError, match="not a jivo_ops recorder store"):
        RecorderStore(foreign)
    assert foreign.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign.db"]


# --- 7. the stop summary counts what this recorder stored; --max-body 0 is refused --------------------


def start_record(store: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    exe = Path(sys.executable).with_name("jivo-ops")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "jivo_ops.cli"]
    process = subprocess.Popen(command + ["record", "--listen", "127.0.0.1:0", "--store", str(store),
                                          "--token", TOKEN, "--quiet", *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+/\S+)", line)
    if not match:
        process.kill()
        raise AssertionError(f"no URL: {line!r} {process.stderr.read()[-500:]}")
    return process, match.group(1)


def test_each_recorder_counts_only_what_it_stored_even_two_on_one_store(store):
    first, first_url = start_record(store, "--duration", "6")
    second, second_url = start_record(store, "--duration", "5")
    with httpx.Client() as client:
        for n in range(120):
            url = first_url if n % 3 else second_url  # 80 to the first, 40 to the second
            assert client.post(url, content=agent_message(f"c{n}")).status_code == 200
    outputs = [p.communicate(timeout=30)[0] for p in (first, second)]
    assert "stopped: 80 request(s) stored" in outputs[0], outputs[0]
    assert "stopped: 40 request(s) stored" in outputs[1], outputs[1]
    assert len(rows(store)) == 120


@pytest.mark.parametrize("flag, value", [("--max-body", "0"), ("--max-answer", "-1"), ("--header-timeout", "nan"),
                                         ("--body-timeout", "0"), ("--max-connections", "0"),
                                         ("--forward-timeout", "inf")])
def test_zero_or_nonsense_limits_are_refused_with_one_line_naming_the_flag(store, capsys, flag, value):
    from jivo_ops.cli import main

    code = main(["record", "--listen", "127.0.0.1:0", "--store", str(store), flag, value, "--duration", "0"])
    err = capsys.readouterr().err
    assert code != 0 and flag in err and len(err.strip().splitlines()) == 1, err
    assert not store.exists()
