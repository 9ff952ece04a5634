"""The webhook recorder: real HTTP through httpx to a real uvicorn recorder writing a real SQLite store."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime

import httpx
import pytest

from jivo_ops.errors import JivoOpsError, RecorderError
from jivo_ops.recorder.server import Recorder
from jivo_ops.recorder.store import RecorderStore, open_readonly
from jivo_ops.channel.serving import ServerThread

from _helpers import foreign_sqlite, store_with_schema_version

TOKEN = "rec-Tok3n-9f8e7d6c5b4a"
AGENT_BODY = ('{"sender":{"id":"agent-7","name":"Анна"},"recipient":{"id":"client-42"},'
              '"message":{"type":"text","id":"m1","text":"Здравствуйте, чем помочь?"}}').encode()


def rows(path) -> list[sqlite3.Row]:
    conn = open_readonly(path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM requests ORDER BY id").fetchall()
    finally:
        conn.close()


@pytest.fixture
def store(tmp_path):
    return tmp_path / "hooks.sqlite"


@pytest.fixture
def recorder(store):
    with Recorder(store, token=TOKEN, max_body=4096) as rec:
        yield rec


def chunks(*parts: bytes):
    yield from parts


class Target:
    """A second Starlette server standing in for JAICP's Internal Webhook Url: keeps what it gets."""

    def __init__(self, status: int = 202, body: bytes = b'{"accepted":true}'):
        self.got: list[dict] = []
        self.status, self.body = status, body

    def app(self):
        from starlette.applications import Starlette
        from starlette.responses import Response
        from starlette.routing import Route

        async def hook(request):
            self.got.append({"method": request.method, "path": request.url.path, "query": request.url.query,
                             "headers": list(request.headers.items()), "body": await request.body()})
            return Response(self.body, status_code=self.status, media_type="application/json")

        return Starlette(routes=[Route("/{rest:path}", hook, methods=["POST", "GET", "PUT"])])


def test_content_length_body_is_stored_byte_for_byte_before_the_200(recorder, store):
    with httpx.Client() as client:
        answer = client.post(recorder.url, content=AGENT_BODY,
                             headers={"Content-Type": "application/json; charset=utf-8", "X-Trace": "t1"})
    assert answer.status_code == 200
    assert answer.json() == {"ok": True, "id": 1}
    (row,) = rows(store)  # already on disk when the 200 arrived
    assert bytes(row["body"]) == AGENT_BODY
    assert row["method"] == "POST" and row["path"] == "/hook/{token}" and row["status"] == 200
    assert row["chunked"] == 0 and row["error"] is None and row["chat"] == "client-42"
    assert row["content_type"] == "application/json; charset=utf-8"
    headers = json.loads(row["headers"])
    assert ["x-trace", "t1"] in headers and ["content-length", str(len(AGENT_BODY))] in headers
    moment = datetime.fromisoformat(row["received_at"])
    assert row["received_at"].endswith("+00:00") and "." in row["received_at"] and moment.utcoffset().total_seconds() == 0


def test_the_headers_column_is_exactly_json_dumps_of_what_arrived_each_time(recorder, store):
    awkward = [("X-Quote", 'say "hi"'), ("X-Slash", "a\\b"), ("X-Latin", "caf\xe9"), ("X-Plain", "t1")]
    sent = [(name.encode(), value.encode("latin-1")) for name, value in awkward]
    with httpx.Client() as client:
        for _ in range(2):  # the second time each header is looked up rather than made
            assert client.post(recorder.url, content=AGENT_BODY, headers=sent).status_code == 200
    for row in rows(store):
        received = json.loads(row["headers"])
        assert row["headers"] == json.dumps(received, ensure_ascii=False)
        assert [[k.lower(), v] for k, v in awkward] == [pair for pair in received if pair[0].startswith("x-")]


def test_chunked_body_is_stored_whole_and_flagged(recorder, store):
    answer = httpx.post(recorder.url, content=chunks(AGENT_BODY[:10], AGENT_BODY[10:50], AGENT_BODY[50:]),
                        headers={"Content-Type": "application/json"})
    assert answer.status_code == 200
    (row,) = rows(store)
    assert bytes(row["body"]) == AGENT_BODY and row["chunked"] == 1
    assert ["transfer-encoding", "chunked"] in json.loads(row["headers"])


@pytest.mark.parametrize("suffix", ["", "-wrong", "X"])
def test_wrong_or_missing_token_is_404_and_not_recorded(recorder, store, suffix):
    base = recorder.url.rsplit("/", 1)[0]
    urls = [f"{base}/{TOKEN}{suffix}" if suffix else f"{base}/", f"{base}/{TOKEN[:-1]}",
            recorder.base_url + "/", recorder.base_url + f"/other/{TOKEN}"]
    with httpx.Client() as client:
        for url in urls:
            answer = client.post(url, content=AGENT_BODY)
            assert answer.status_code == 404, url
            assert TOKEN not in answer.text
        assert client.post(recorder.url, content=AGENT_BODY).status_code == 200  # same connection still serves
    assert [r["id"] for r in rows(store)] == [1]
    # Counted: the /hook/<something> ones; other paths never reach the endpoint.
    assert recorder.rejected == (2 if suffix else 1)


def test_body_over_the_cap_is_413_for_both_framings_and_the_server_goes_on(recorder, store):
    big = b'{"x":"' + b"a" * 5000 + b'"}'
    with httpx.Client() as client:
        by_length = client.post(recorder.url, content=big)
        by_chunks = client.post(recorder.url, content=chunks(big[:3000], big[3000:]))
        fine = client.post(recorder.url, content=AGENT_BODY)
    assert by_length.status_code == 413 and "4096-byte cap" in by_length.json()["error"]
    assert by_chunks.status_code == 413 and "stopped reading" in by_chunks.json()["error"]
    assert fine.status_code == 200
    stored = rows(store)
    assert [(r["status"], r["chunked"], bytes(r["body"])) for r in stored[:2]] == [(413, 0, b""), (413, 1, b"")]
    assert all("cap" in r["error"] for r in stored[:2])


def test_default_cap_is_one_mebibyte(store):
    exactly = b'"' + b"a" * (1024 * 1024 - 2) + b'"'
    with Recorder(store, token=TOKEN) as rec, httpx.Client(timeout=30) as client:
        assert client.post(rec.url, content=exactly).status_code == 200
        assert client.post(rec.url, content=exactly + b" ").status_code == 413
    assert len(bytes(rows(store)[0]["body"])) == 1024 * 1024


@pytest.mark.parametrize("body", [b'{"recipient": {"id": "c1"', b"\xff\xfe not utf-8", b"plain words"])
def test_malformed_json_is_400_and_still_recorded_raw(recorder, store, body):
    answer = httpx.post(recorder.url, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert "not valid JSON" in answer.json()["error"]
    (row,) = rows(store)
    assert bytes(row["body"]) == body and row["status"] == 400 and "not valid JSON" in row["error"]


def test_other_methods_and_empty_bodies_are_4xx_with_a_reason_and_recorded(recorder, store):
    with httpx.Client() as client:
        get = client.get(recorder.url + "/sub?x=1")
        empty = client.post(recorder.url, content=b"")
    assert get.status_code == 405 and get.headers["allow"] == "POST" and "POST" in get.json()["error"]
    assert empty.status_code == 400 and "empty body" in empty.json()["error"]
    first, second = rows(store)
    assert (first["method"], first["path"], first["query"], first["status"]) == ("GET", "/hook/{token}/sub", "x=1", 405)
    assert second["status"] == 400


def test_tap_mode_forwards_unchanged_and_records_both_halves(store):
    target = Target(status=202, body=b'{"accepted":true}')
    with ServerThread(target.app()) as srv, \
            Recorder(store, token=TOKEN, forward=f"{srv.url}/chatadapter/chatapi/webhook/jivosite/abc123xyz") as rec:
        with httpx.Client() as client:
            plain = client.post(rec.url + "?trace=1", content=AGENT_BODY,
                                headers={"Content-Type": "application/json; charset=utf-8", "X-Jivo": "1",
                                         "Connection": "keep-alive, X-Drop", "X-Drop": "hop"})
            chunked = client.post(rec.url, content=chunks(AGENT_BODY[:7], AGENT_BODY[7:]),
                                  headers={"Content-Type": "application/json"})
            broken = client.post(rec.url, content=b"{not json")
    # The caller gets the target's status and body.
    assert (plain.status_code, plain.content) == (202, b'{"accepted":true}')
    assert chunked.status_code == 202 and broken.status_code == 202
    first, second, third = target.got
    assert first["body"] == AGENT_BODY and first["method"] == "POST"
    assert first["path"] == "/chatadapter/chatapi/webhook/jivosite/abc123xyz" and first["query"] == "trace=1"
    sent = dict(first["headers"])
    assert sent["content-type"] == "application/json; charset=utf-8" and sent["x-jivo"] == "1"
    assert "x-drop" not in sent and "content-length" in sent and "transfer-encoding" not in sent
    assert dict(second["headers"]).get("transfer-encoding") == "chunked" and second["body"] == AGENT_BODY
    assert third["body"] == b"{not json"
    stored = rows(store)
    assert [r["status"] for r in stored] == [202, 202, 202]
    assert [r["forward_status"] for r in stored] == [202, 202, 202]
    assert bytes(stored[0]["forward_body"]) == b'{"accepted":true}' and stored[0]["forward_ms"] > 0
    assert stored[0]["forward_url"] == f"{srv.url}/…3xyz"  # kept masked
    assert stored[1]["chunked"] == 1 and "not valid JSON" in stored[2]["error"]


def test_tap_mode_with_an_unreachable_target_answers_502_and_keeps_the_request(store):
    with ServerThread(Target().app()) as srv:
        dead = srv.url  # nothing listens there once the block ends
    with Recorder(store, token=TOKEN, forward=dead + "/webhook/abcdef123", forward_timeout=3) as rec:
        answer = httpx.post(rec.url, content=AGENT_BODY)
    assert answer.status_code == 502 and "ConnectError" in answer.json()["error"]
    (row,) = rows(store)
    assert row["status"] == 502 and row["forward_status"] is None and "ConnectError" in row["forward_error"]
    assert bytes(row["body"]) == AGENT_BODY


def test_restart_on_the_same_store_keeps_everything_acknowledged(store):
    acknowledged = []
    for run in range(2):
        with Recorder(store, token=TOKEN) as rec, httpx.Client() as client:
            for i in range(3):
                answer = client.post(rec.url, content=json.dumps({"recipient": {"id": f"c{run}{i}"}}).encode())
                assert answer.status_code == 200
                acknowledged.append(answer.json()["id"])
    assert acknowledged == [1, 2, 3, 4, 5, 6]
    assert [r["chat"] for r in rows(store)] == ["c00", "c01", "c02", "c10", "c11", "c12"]


@pytest.mark.anyio
async def test_concurrent_requests_are_group_committed_with_no_loss(store):
    rec = Recorder(store, token=TOKEN).start()
    try:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=32)) as client:
            answers = await asyncio.gather(*(
                client.post(rec.url, content=json.dumps({"recipient": {"id": f"c{i}"}, "n": i}).encode())
                for i in range(150)))
        batches = rec.store.committed_batches
    finally:
        rec.stop()
    ok = [a for a in answers if a.status_code == 200]
    stored = rows(store)
    assert len(ok) == len(stored) == 150
    assert sorted(a.json()["id"] for a in ok) == [r["id"] for r in stored]
    assert batches < 150  # several requests shared a commit
    conn = open_readonly(store)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_schema_version_is_kept_in_meta(recorder, store):
    conn = open_readonly(store)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "1"


def test_foreign_older_truncated_and_garbage_stores_are_refused(tmp_path):
    foreign = foreign_sqlite(tmp_path / "foreign.sqlite")
    with pytest.raises(RecorderError, match="not a jivo_ops recorder store"):
        Recorder(foreign).start()

    older = store_with_schema_version(tmp_path / "older.sqlite", "0")
    with pytest.raises(RecorderError, match="version '0' is older"):
        open_readonly(older)
    with pytest.raises(RecorderError, match="older"):
        Recorder(older).start()

    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database at all" * 10)
    with pytest.raises(RecorderError, match="not an SQLite file"):
        open_readonly(garbage)

    whole = tmp_path / "whole.sqlite"
    with RecorderStore(whole) as st:
        conn = sqlite3.connect(whole)
        conn.executemany("INSERT INTO requests (received_at, method, path, headers, body, status) "
                         "VALUES ('2026-01-01T00:00:00.000000+00:00', 'POST', '/hook/{token}', '[]', ?, 200)",
                         [(b"x" * 3000,) for _ in range(50)])
        conn.commit()
        conn.close()
    data = whole.read_bytes()
    truncated = tmp_path / "truncated.sqlite"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(RecorderError, match="truncated"):
        open_readonly(truncated)
    with pytest.raises(RecorderError, match="truncated"):
        Recorder(truncated).start()
    with pytest.raises(RecorderError, match="no such recorder store"):
        open_readonly(tmp_path / "missing.sqlite")


def test_bad_arguments_are_clear_errors(store):
    with pytest.raises(RecorderError, match="token must be"):
        Recorder(store, token="short")
    with pytest.raises(JivoOpsError, match="not an http"):
        Recorder(store, forward="app.jaicp.com/webhook")


def test_repr_and_masked_url_never_show_the_token(recorder):
    assert TOKEN in recorder.url
    assert TOKEN not in repr(recorder) and TOKEN not in recorder.masked_url
    assert recorder.masked_url.startswith("http://127.0.0.1:")


def test_record_command_prints_the_url_once_logs_masked_and_stops_on_ctrl_c(tmp_path):
    store = tmp_path / "cli.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from jivo_ops.cli import main; sys.exit(main(sys.argv[1:]))",
         "record", "--listen", "127.0.0.1:0", "--store", str(store), "--token", TOKEN, "--duration", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert "«URL вашего сервера для Webhooks»" in first
        url = first.rsplit(" ", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith(f"/hook/{TOKEN}")
        assert httpx.post(url, content=AGENT_BODY, timeout=10).status_code == 200
        time.sleep(0.3)  # let it log the request before Ctrl-C
        proc.send_signal(signal.SIGINT)  # Ctrl-C: a clean stop with a summary
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, err
    assert TOKEN not in out and TOKEN not in err  # only the first line, read above, holds it
    assert "POST /hook/{token} 200 chat=client-42" in err
    assert "stopped: 1 request(s) stored" in out
    assert bytes(rows(store)[0]["body"]) == AGENT_BODY


def test_record_command_refuses_a_bad_listen_address(capsys, tmp_path):
    from jivo_ops.cli import main

    assert main(["record", "--listen", "localhost:notaport", "--store", str(tmp_path / "s.sqlite")]) == 2
    assert "--listen" in capsys.readouterr().err
