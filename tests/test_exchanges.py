"""Recorded exchanges: query, wait_for, replay, export (curl, HAR, JSONL) and compare, over real stores
filled by a real recorder, replayed to a real second server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time

import httpx
import pytest

from jivo_ops.errors import JivoOpsError, RecorderError
from jivo_ops.recorder.exchanges import (
    Exchanges, WaitTimeoutError, assert_payload, compare_payload, export_exchanges, import_jsonl,
    read_jsonl, to_curl, to_har,
)
from jivo_ops.recorder.server import Recorder
from jivo_ops.channel.serving import ServerThread

from _helpers import foreign_sqlite, store_with_schema_version

TOKEN = "exch-Tok3n-0a1b2c3d4e5f"


def agent_body(chat: str, text: str = "Здравствуйте!", message_id: str = "m1") -> bytes:
    return json.dumps({"sender": {"id": "agent-7", "name": "Анна"}, "recipient": {"id": chat},
                       "message": {"type": "text", "id": message_id, "text": text}}, ensure_ascii=False).encode()


CLIENT_BODY = '{"sender":{"id":"client-9"},"message":{"type":"text","id":"0001","text":"\\u0414\\u043e\\u0431\\u0440\\u044b\\u0439"}}'.encode()
BINARY = bytes(range(256)) * 2


class Receiver:
    """A second Starlette server: keeps every request's method, framing, headers and bytes."""

    def __init__(self, status: int = 201):
        self.got: list[dict] = []
        self.status = status

    def app(self):
        from starlette.applications import Starlette
        from starlette.responses import Response
        from starlette.routing import Route

        async def take(request):
            self.got.append({"method": request.method, "path": request.url.path,
                             "headers": {k.lower(): v for k, v in request.headers.items()},
                             "body": await request.body()})
            return Response(b'{"took":true}', status_code=self.status, media_type="application/json")

        return Starlette(routes=[Route("/{rest:path}", take, methods=["POST", "GET", "PUT"])])


def gen(data: bytes, size: int = 16):
    for i in range(0, len(data), size):
        yield data[i:i + size]


@pytest.fixture
def recorder(tmp_path):
    with Recorder(tmp_path / "hooks.sqlite", token=TOKEN, max_body=8192) as rec:
        yield rec


@pytest.fixture
def filled(recorder):
    """A recorder holding: #1 agent msg c-1 (length), #2 agent msg c-2 (chunked), #3 client msg (sender.id),
    #4 bad JSON (400), #5 binary octets (400), #6 over the cap (413)."""
    with httpx.Client() as client:
        client.post(recorder.url, content=agent_body("c-1"), headers={"Content-Type": "application/json; charset=utf-8"})
        client.post(recorder.url, content=gen(agent_body("c-2", "Чем помочь?")),
                    headers={"Content-Type": "application/json; charset=utf-8"})
        client.post(recorder.url + "?src=jaicp", content=CLIENT_BODY, headers={"Content-Type": "application/json"})
        client.post(recorder.url, content=b'{"broken": ', headers={"Content-Type": "application/json"})
        client.post(recorder.url, content=BINARY, headers={"Content-Type": "application/octet-stream"})
        client.post(recorder.url, content=b"x" * 9000)
    return recorder


@pytest.fixture
def receiver():
    rec = Receiver()
    with ServerThread(rec.app()) as srv:
        rec.url = srv.url
        yield rec


# ------------------------------------------------------------------------------------------- queries


def test_latest_all_get_raw_and_filters(filled):
    ex = filled.exchanges
    assert [e.id for e in ex.all()] == [1, 2, 3, 4, 5, 6]
    assert ex.latest().id == 6 and ex.latest(status=200).id == 3
    assert [e.id for e in ex.all(chat="c-2")] == [2]
    assert [e.id for e in ex.all(chat="client-9")] == [3]  # a client message: sender.id
    assert [e.id for e in ex.all(status=[400, 413])] == [4, 5, 6]
    assert ex.all(path="/hook/{token}*", method="post")[0].id == 1
    assert ex.all(path="/elsewhere*") == []
    second = ex.get(2)
    assert second.chunked and second.json["message"]["text"] == "Чем помочь?" and second.body == agent_body("c-2", "Чем помочь?")
    assert ex.get(3).query == "src=jaicp" and ex.get(3).json["message"]["text"] == "Добрый"
    assert ex.get(5).body == BINARY and ex.get(5).json is None and not ex.get(5).is_text
    raw = ex.raw(1)
    assert raw.startswith(b"POST /hook/{token} HTTP/1.1\r\n") and raw.endswith(b"\r\n\r\n" + agent_body("c-1"))
    assert TOKEN.encode() not in raw
    first_at = ex.get(1).received_at
    assert [e.id for e in ex.all(since=ex.get(4).received_at)] == [4, 5, 6]
    assert [e.id for e in ex.all(until=first_at)] == [1]
    assert len(ex.all(since="1h")) == 6 and ex.all(since="2999-01-01") == []
    with pytest.raises(RecorderError, match="no request #99"):
        ex.get(99)
    with pytest.raises(JivoOpsError, match="since: cannot read .yesterday-ish. as a time; use ISO 8601"):
        ex.all(since="yesterday-ish")


def test_a_closed_store_is_read_the_same(filled, tmp_path):
    path = filled.store_path
    filled.stop()
    with Exchanges(path) as ex:
        assert ex.count() == 6 and ex.latest(chat="c-1").id == 1


# ------------------------------------------------------------------------------------------- wait_for


def post_later(url: str, body: bytes, delay: float) -> threading.Thread:
    def run():
        time.sleep(delay)
        httpx.post(url, content=body, timeout=10)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_wait_for_returns_as_soon_as_the_request_is_stored(recorder):
    ex = recorder.exchanges
    httpx.post(recorder.url, content=agent_body("someone-else"))
    thread = post_later(recorder.url, agent_body("c-late", "наконец"), 0.3)
    started = time.monotonic()
    hit = ex.wait_for("c-late", timeout=10)
    took = time.monotonic() - started
    thread.join(5)
    assert hit.chat == "c-late" and hit.json["message"]["text"] == "наконец"
    assert took < 5  # woke on the commit, not at the timeout

    thread = post_later(recorder.url, agent_body("c-pred", "по предикату"), 0.2)
    found = ex.wait_for(lambda e: e.json and e.json["message"]["text"] == "по предикату", timeout=10,
                        after_id=hit.id)
    thread.join(5)
    assert found.chat == "c-pred"


def test_wait_for_on_a_store_file_polls_it(recorder, tmp_path):
    with Exchanges(recorder.store_path) as by_path:
        thread = post_later(recorder.url, agent_body("c-file"), 0.2)
        assert by_path.wait_for("c-file", timeout=10).chat == "c-file"
        thread.join(5)


def test_wait_for_timeout_lists_what_did_arrive(recorder):
    httpx.post(recorder.url, content=agent_body("c-other"))
    httpx.post(recorder.url, content=b"{oops")
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError) as caught:
        recorder.exchanges.wait_for("c-never", timeout=0.5)
    assert 0.4 < time.monotonic() - started < 5
    message = str(caught.value)
    assert "chat 'c-never'" in message and "within 0.5 s" in message
    assert "2 other request(s) arrived" in message and "chat=c-other" in message and " 400 " in message
    assert isinstance(caught.value, TimeoutError) and isinstance(caught.value, JivoOpsError)
    assert [e.chat for e in caught.value.arrived] == ["c-other", None]
    assert TOKEN not in message
    with pytest.raises(WaitTimeoutError, match="nothing arrived"):
        recorder.exchanges.wait_for("c-never", timeout=0.2, after_id=2)


# ------------------------------------------------------------------------------------------- replay


def test_replay_sends_identical_bytes_and_framing_and_keeps_the_answers(filled, receiver):
    ex = filled.exchanges
    report = ex.replay(receiver.url + "/chatadapter/chatapi/webhook/jivosite/zz99yy88", ids=[1, 2, 3, 5])
    assert not report.dry_run and len(report.results) == 4
    got = receiver.got
    assert [g["body"] for g in got] == [ex.get(i).body for i in (1, 2, 3, 5)]
    assert [g["headers"].get("transfer-encoding") for g in got] == [None, "chunked", None, None]
    assert "content-length" not in got[1]["headers"] and got[0]["headers"]["content-length"] == str(len(got[0]["body"]))
    assert got[0]["headers"]["content-type"] == "application/json; charset=utf-8"
    assert got[3]["headers"]["content-type"] == "application/octet-stream"
    assert got[0]["path"] == "/chatadapter/chatapi/webhook/jivosite/zz99yy88"
    assert got[0]["headers"]["user-agent"].startswith("python-httpx")  # the original caller's, kept
    # What changed: our receiver says 201 and another body.
    first = report.results[0]
    assert first.status == 201 and first.original_status == 200
    assert "status 200 → 201" in first.changes[0] and any(c.startswith("body") for c in first.changes)
    assert report.results[3].original_status == 400
    stored = ex.replays()
    assert [r["request_id"] for r in stored] == [1, 2, 3, 5]
    assert stored[1]["chunked"] == 1 and stored[0]["status"] == 201 and stored[0]["body"] == b'{"took":true}'
    assert "zz99yy88" not in stored[0]["target"]
    text = str(report)
    assert "replayed 4 request(s)" in text and "zz99yy88" not in text


def test_replay_is_a_dry_run_for_non_loopback_targets_and_skips_cut_bodies(filled, receiver):
    report = filled.exchanges.replay("http://192.0.2.10/chatadapter/chatapi/webhook/jivosite/secret999tok")
    assert report.dry_run and not any(r.sent for r in report.results)
    assert report.skipped == [(6, "its body was over the cap and was not kept")]
    assert filled.exchanges.replays() == []
    assert "dry run" in str(report) and "secret999tok" not in str(report)
    sent = filled.exchanges.replay(receiver.url, ids=[6, 1])
    assert [r.request_id for r in sent.results] == [1] and not sent.ok  # the skipped one makes it not ok


def test_replay_reports_an_unreachable_target(filled):
    with ServerThread(Receiver().app()) as srv:
        dead = srv.url
    report = filled.exchanges.replay(dead + "/x", ids=[1], timeout=3)
    (result,) = report.results
    assert result.error and "ConnectError" in result.error and not report.ok
    assert filled.exchanges.replays(1)[0]["error"].startswith("ConnectError")


# ------------------------------------------------------------------------------------------- export


HAR_SCHEMA = {  # the HAR 1.2 spec's required fields (http://www.softwareishard.com/blog/har-12-spec/)
    "type": "object", "required": ["log"],
    "properties": {"log": {
        "type": "object", "required": ["version", "creator", "entries"],
        "properties": {
            "version": {"const": "1.2"},
            "creator": {"type": "object", "required": ["name", "version"]},
            "entries": {"type": "array", "items": {
                "type": "object",
                "required": ["startedDateTime", "time", "request", "response", "cache", "timings"],
                "properties": {
                    "startedDateTime": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d)$"},
                    "time": {"type": "number", "minimum": 0},
                    "request": {"type": "object", "required": ["method", "url", "httpVersion", "cookies", "headers",
                                                               "queryString", "headersSize", "bodySize"],
                                "properties": {"headers": {"type": "array", "items": {
                                    "type": "object", "required": ["name", "value"]}},
                                    "postData": {"type": "object", "required": ["mimeType", "text"]}}},
                    "response": {"type": "object", "required": ["status", "statusText", "httpVersion", "cookies",
                                                                "headers", "content", "redirectURL", "headersSize",
                                                                "bodySize"],
                                 "properties": {"content": {"type": "object", "required": ["size", "mimeType"]}}},
                    "cache": {"type": "object"},
                    "timings": {"type": "object", "required": ["send", "wait", "receive"]},
                }}},
        }}},
}


def test_har_is_valid_1_2_and_keeps_binary_bodies(filled):
    import base64

    import jsonschema

    exchanges = filled.exchanges.all()
    har = to_har(exchanges)
    jsonschema.validate(har, HAR_SCHEMA)
    entries = har["log"]["entries"]
    assert len(entries) == 6
    first = entries[0]
    assert first["request"]["postData"]["text"] == agent_body("c-1").decode()
    assert first["request"]["url"].endswith("/hook/{token}") and first["response"]["status"] == 200
    assert json.loads(first["response"]["content"]["text"]) == {"ok": True, "id": 1}
    binary = entries[4]["request"]["postData"]
    assert binary["encoding"] == "base64" and base64.b64decode(binary["text"]) == BINARY
    assert entries[2]["request"]["queryString"] == [{"name": "src", "value": "jaicp"}]
    assert entries[5]["response"]["status"] == 413
    assert TOKEN not in json.dumps(har, ensure_ascii=False)
    revealed = to_har(exchanges, token=TOKEN, reveal=True)
    assert revealed["log"]["entries"][0]["request"]["url"] == filled.url


def test_jsonl_round_trip_gives_identical_bytes(filled, tmp_path):
    out = tmp_path / "hooks.jsonl"
    originals = filled.exchanges.all()
    export_exchanges(originals, "jsonl", out=out)
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert TOKEN not in out.read_text(encoding="utf-8")
    copy = tmp_path / "copy.sqlite"
    assert import_jsonl(out, copy) == [1, 2, 3, 4, 5, 6]
    with Exchanges(copy) as ex:
        again = ex.all()
    for before, after in zip(originals, again, strict=True):
        assert after == before  # every field, body bytes included (binary too)
    assert again[4].body == BINARY and again[1].chunked
    assert read_jsonl(out) == originals


def test_a_broken_jsonl_line_is_named(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n', encoding="utf-8")
    with pytest.raises(RecorderError, match="bad.jsonl, line 1"):
        read_jsonl(bad)


def test_curl_lines_mask_the_token_unless_revealed(filled):
    lines = to_curl(filled.exchanges.all(ids=[1]))
    assert TOKEN not in lines and "/hook/{token}" in lines and lines.count("\ncurl ") == 1
    target = "https://app.jaicp.com/chatadapter/chatapi/webhook/jivosite/Real0Token0Here"
    masked = to_curl(filled.exchanges.all(ids=[1]), url=target)
    assert "Real0Token0Here" not in masked and "https://app.jaicp.com/" in masked
    assert TOKEN in to_curl(filled.exchanges.all(ids=[1]), token=TOKEN, reveal=True)


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl binary on this machine")
def test_curl_lines_run_against_a_local_server_and_deliver_the_same_bytes(filled, receiver):
    chosen = filled.exchanges.all(ids=[1, 2, 3, 5])
    script = to_curl(chosen, url=receiver.url + "/again", reveal=True)
    run = subprocess.run(["sh", "-c", script], capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert [g["body"] for g in receiver.got] == [e.body for e in chosen]
    assert [g["headers"].get("transfer-encoding") for g in receiver.got] == [None, "chunked", None, None]
    assert receiver.got[0]["headers"]["content-type"] == "application/json; charset=utf-8"
    assert receiver.got[3]["headers"]["content-type"] == "application/octet-stream"


def test_export_rejects_an_unknown_format(filled):
    with pytest.raises(JivoOpsError, match="choose one of curl, har, jsonl"):
        export_exchanges([], "xml")


# ------------------------------------------------------------------------------------------- compare


GOLDEN = {"sender": {"id": "agent-1", "name": "Someone"}, "recipient": {"id": "c-1"},
          "message": {"type": "text", "id": "golden-id", "text": "Здравствуйте!"}}


def test_compare_ignores_volatile_paths_and_reads_any_payload_form(filled, tmp_path):
    recorded = filled.exchanges.get(1)
    diff = compare_payload(recorded, GOLDEN, ignore=["message.id", "sender.*"])
    assert diff.equal and not diff and str(diff).startswith("payloads match")
    golden_file = tmp_path / "golden.json"
    golden_file.write_text(json.dumps(GOLDEN), encoding="utf-8")
    assert compare_payload(recorded.body, golden_file, ignore=["message.id", "sender"]).equal
    assert_payload(recorded, GOLDEN, ignore=["message.id", "sender.*"])

    diff = compare_payload(recorded, GOLDEN, ignore=["sender.*"])
    assert [(d.path, d.kind) for d in diff.differences] == [("message.id", "changed")]


def test_compare_as_an_assertion_shows_a_readable_diff():
    actual = {"recipient": {"id": "c-1"}, "message": {"type": "photo", "id": 5, "extra": True},
              "flags": [1, 2, 3], "n": 1.0, "b": 1}
    golden = {"recipient": {"id": "c-1"}, "message": {"type": "text", "text": "hi", "id": 7},
              "flags": [1, 2], "n": 1, "b": True}
    with pytest.raises(AssertionError) as caught:
        assert_payload(actual, golden, ignore=["message.id"])
    text = str(caught.value)
    assert "5 difference(s) from the golden payload (ignoring message.id)" in text
    assert '~ message.type: expected "text", got "photo"' in text
    assert '- message.text: missing (expected "hi")' in text
    assert "+ message.extra: unexpected true" in text
    assert "+ flags[2]: unexpected 3" in text
    assert "~ b: expected true, got 1" in text  # a bool is never a number; 1.0 == 1 is
    strict = compare_payload({"b": 1}, {"b": True})
    assert [(d.path, d.kind) for d in strict.differences] == [("b", "type")]
    assert compare_payload({"list": [{"id": 1, "t": "a"}, {"id": 2, "t": "b"}]},
                           {"list": [{"id": 9, "t": "a"}, {"id": 8, "t": "b"}]}, ignore=["list[*].id"]).equal
    with pytest.raises(JivoOpsError, match="recorded payload is not JSON"):
        compare_payload(b"{nope", {})


# ------------------------------------------------------------------------------------------- stores


def test_damaged_and_foreign_stores_are_refused_with_a_reason(tmp_path):
    foreign = foreign_sqlite(tmp_path / "foreign.sqlite")
    with pytest.raises(RecorderError, match="not a jivo_ops recorder store"):
        Exchanges(foreign)
    future = store_with_schema_version(tmp_path / "future.sqlite", "7")
    with pytest.raises(RecorderError, match="version '7' is not the one"):
        Exchanges(future)
    with pytest.raises(RecorderError, match="not an SQLite file"):
        (tmp_path / "x.sqlite").write_bytes(os.urandom(4096))
        Exchanges(tmp_path / "x.sqlite")


# ------------------------------------------------------------------------------------------- CLI


def test_export_and_replay_commands(filled, receiver, tmp_path, capsys):
    from jivo_ops.cli import main

    store = str(filled.store_path)
    out = tmp_path / "hooks.har"
    assert main(["export", store, "--format", "har", "--out", str(out), "--chat", "c-2"]) == 0
    assert "1 request(s) written" in capsys.readouterr().err
    assert [e["request"]["postData"]["text"] for e in json.loads(out.read_text())["log"]["entries"]] == \
           [agent_body("c-2", "Чем помочь?").decode()]
    assert main(["export", store, "--format", "curl"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("# #") == 6 and "| base64 -d | curl" in printed and TOKEN not in printed
    assert "# #6" in printed and "not kept" in printed

    assert main(["replay", store, "--to", receiver.url + "/hook", "--chat", "c-1"]) == 0
    printed = capsys.readouterr().out
    assert "replayed 1 request(s)" in printed and "status 200 → 201" in printed
    assert receiver.got[-1]["body"] == agent_body("c-1")
    assert main(["replay", store, "--to", "https://jaicp.example.com/webhook/tok123456789", "--id", "1"]) == 0
    assert "dry run" in capsys.readouterr().out and len(receiver.got) == 1
    assert main(["replay", store, "--to", receiver.url, "--chat", "nobody"]) == 2
    assert "nothing to replay" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "none.sqlite"), "--format", "jsonl"]) == 2
    assert "no such recorder store" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- sandbox


def test_sandbox_traffic_through_the_tap_replays_byte_for_byte_to_a_second_sandbox(tmp_path):
    """The tap between the sandbox's Jivo and JAICP records operator messages (chunked and not), JAICP
    still gets them, and replaying them to another sandbox delivers the same bytes and framing."""
    from jivo_ops.channel.jaicp import ChatApiClient
    from jivo_ops.sandbox import Sandbox

    with Sandbox() as first, Sandbox() as second:
        with Recorder(tmp_path / "tap.sqlite", forward=first.profile.jaicp.internal_webhook_url) as rec, \
                ChatApiClient(first.profile.jaicp.chat_api_url) as chat:
            for chunked in (True, False):
                first.configure_step(2, webhook_url=rec.url, chunked=chunked)
                client_id = f"tap-{'chunked' if chunked else 'length'}"
                assert chat.send_query(client_id, "Позовите оператора").switch is not None
                hit = rec.exchanges.wait_for(client_id, timeout=15)
                assert hit.chunked is chunked and hit.status == 200 and hit.forward.status == 200
                assert_payload(hit, {"recipient": {"id": client_id}, "message": {"type": "text", "text": ""}},
                               ignore=["message.id", "message.text", "sender.*"])
            relayed = first.history.entries("operator_relayed")
            assert {e.client_id for e in relayed} == {"tap-chunked", "tap-length"}  # JAICP got them through the tap
            recorded = rec.exchanges.all()
            report = rec.exchanges.replay(second.profile.jaicp.internal_webhook_url, recorded)
        assert len(report.results) == 2 and all(r.sent and r.error is None for r in report.results)
        arrived = second.history.entries("webhook_received")
        assert [e.detail["body"].encode() for e in arrived] == [ex.body for ex in recorded]
        assert [e.detail["chunked"] for e in arrived] == [True, False]
