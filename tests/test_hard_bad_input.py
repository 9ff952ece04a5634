"""Hard tests, bad input: every server answers garbage with a 4xx and a reason (never a 5xx) and keeps
serving; every parser answers garbage with a typed JivoOpsError or a `rejected` row, never a crash.

Servers: the webhook recorder, the sandbox's Jivo channel (unique URL), JAICP Chat API (+ /async,
/events), Internal Webhook Url and Reporter API. Cases: hypothesis-generated bodies (random bytes,
invalid UTF-8, random and deeply nested JSON) with right/wrong/missing content types, plus
hand-picked ones: huge JSON under and over the 1 MiB cap (Content-Length and chunked), malformed
chunked framing on a raw socket, wrong methods, paths and tokens. (tests/test_sandbox_bad_input.py
has seeded random bodies at the sandbox's admin endpoints; this file adds the rest.) Each test
prints how many cases it tried.
"""

from __future__ import annotations

import json
import socket
import string
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jivo_ops.errors import JivoOpsError
from jivo_ops.recorder.server import Recorder
from jivo_ops.sandbox import Sandbox

from _helpers import other_ending

CAP = 1024 * 1024
HYPOTHESIS = settings(max_examples=120, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                             HealthCheck.data_too_large])
TRIED: dict[str, int] = {}


def tried(kind: str, n: int = 1) -> None:
    TRIED[kind] = TRIED.get(kind, 0) + n


@pytest.fixture(scope="module", autouse=True)
def print_counts(request):
    """Print how many cases were tried, past pytest's output capture (the terminal reporter)."""
    yield
    line = (f"[hard bad input] {sum(TRIED.values())} cases tried: "
            + ", ".join(f"{k} {v}" for k, v in sorted(TRIED.items())))
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print("\n" + line)
    else:
        print(line)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    store = tmp_path_factory.mktemp("rec") / "hooks.sqlite"
    with Sandbox() as sb, Recorder(store) as rec, httpx.Client(timeout=15) as http:
        p = sb.profile
        targets = {
            "recorder": (rec.url, {}),
            "jivo channel": (p.jivo.unique_url, {}),
            "chat api": (p.jaicp.chat_api_url, {}),
            "chat api async": (p.jaicp.chat_api_url + "/async", {}),
            "internal webhook": (p.jaicp.internal_webhook_url, {}),
            "reporter filter": (p.jaicp.reporter_url + "/messages/filter",
                                {"Authorization": "Bearer " + p.jaicp.reporter_token}),
        }
        yield {"sb": sb, "rec": rec, "http": http, "targets": targets, "profile": p}


def still_serving(env) -> None:
    http, p, rec = env["http"], env["profile"], env["rec"]
    assert http.post(p.jaicp.chat_api_url, json={"clientId": "still-serving", "query": "/start"}).status_code == 200
    assert http.get(p.jivo.unique_url + "/status").text.strip() in ("0", "1")
    ok = http.post(rec.url, json={"recipient": {"id": "still-serving"}, "message": {"type": "text", "text": "ок"}})
    assert ok.status_code == 200, ok.text


def assert_refused_well(response: httpx.Response, what: str) -> None:
    """Never a 5xx; anything refused carries a reason in its body."""
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:200]}"
    if response.status_code >= 400:
        assert response.text.strip(), f"{what}: {response.status_code} without a reason"


# ------------------------------------------------------------------------------------ generated bodies

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["sender", "recipient", "message", "id", "type", "text", "clientId", "query", "event",
                         "data", "filters", "file", "name"]) | st.text(max_size=8), inner, max_size=4),
    max_leaves=20)
invalid_utf8 = st.builds(lambda a, b: a + b"\xff\xfe\xc3" + b, st.binary(max_size=40), st.binary(max_size=40))
bodies = st.one_of(
    st.binary(max_size=600),
    invalid_utf8,
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
    st.builds(lambda n, o, c: (o * n + b"1" + c * n), st.integers(200, 5000), st.just(b"["), st.just(b"]")),
    st.builds(lambda n: b'{"a":' * n + b"1" + b"}" * n, st.integers(200, 5000)),
)
content_types = st.sampled_from([None, "application/json", "application/json; charset=utf-8", "text/plain",
                                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=zz",
                                 "application/json; charset=koi8-r", "garbage", ""])


@HYPOTHESIS
@given(target=st.sampled_from(["recorder", "jivo channel", "chat api", "chat api async", "internal webhook",
                               "reporter filter"]),
       body=bodies, content_type=content_types, chunked=st.booleans())
def test_generated_bodies_get_an_answer_below_500_with_a_reason(servers, target, body, content_type, chunked):
    url, headers = servers["targets"][target]
    headers = dict(headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    content = iter([body]) if chunked else body  # an iterator goes out with Transfer-Encoding: chunked
    response = servers["http"].post(url, content=content, headers=headers)
    tried("generated bodies")
    assert_refused_well(response, f"{target} body={body[:60]!r} ct={content_type!r} chunked={chunked}")


def test_generated_bodies_left_every_server_serving(servers):
    still_serving(servers)


# ---------------------------------------------------------------------------------- hand-picked bodies


def hand_picked() -> list[tuple[str, bytes, dict, tuple[str, ...]]]:
    """(label, body, headers, targets that may accept it); every other target must refuse it with a 4xx."""
    nested = b"[" * 100_000 + b"]" * 100_000
    under_cap = json.dumps({"recipient": {"id": "big"}, "message": {"type": "text", "text": "я" * 400_000}},
                           ensure_ascii=False).encode()
    over_cap = b'{"text":"' + b"x" * (CAP + 10) + b'"}'
    everyone = ("recorder", "jivo channel", "chat api", "chat api async", "internal webhook", "reporter filter")
    return [
        ("empty body", b"", {"Content-Type": "application/json"}, ("reporter filter",)),  # no filters = all
        ("invalid UTF-8", b'{"text":"\xff\xfe"}', {"Content-Type": "application/json"}, ()),
        ("100,000 nested brackets", nested, {"Content-Type": "application/json"}, ()),
        ("a 5,000-digit number", b'{"clientId": 1' + b"0" * 5000 + b"}", {"Content-Type": "application/json"}, ()),
        ("over the cap (Content-Length)", over_cap, {"Content-Type": "application/json"}, ()),
        ("form body", b"a=1&b=2", {"Content-Type": "application/x-www-form-urlencoded"}, ()),
        # JSON, but maybe not what the endpoint wants: any answer below 500 (the recorder keeps any JSON)
        ("NaN", b'{"a": NaN}', {"Content-Type": "application/json"}, everyone),
        ("a JSON string, not an object", b'"hello"', {"Content-Type": "application/json"}, everyone),
        ("huge JSON under the cap", under_cap, {"Content-Type": "application/json; charset=utf-8"}, everyone),
        ("no content type", b'{"a":1}', {}, everyone),
    ]


@pytest.mark.parametrize("label,body,headers,may_accept", hand_picked(), ids=[c[0] for c in hand_picked()])
def test_hand_picked_bodies(servers, label, body, headers, may_accept):
    for target, (url, auth) in servers["targets"].items():
        response = servers["http"].post(url, content=body, headers={**auth, **headers})
        tried("hand-picked bodies")
        assert_refused_well(response, f"{target}: {label}")
        if target not in may_accept:
            assert 400 <= response.status_code < 500, \
                f"{target}: {label}: {response.status_code} {response.text[:200]}"
        if "cap" in label and "under" not in label:
            assert response.status_code in (401, 413), f"{target}: {label}: {response.status_code}"
    still_serving(servers)


def test_chunked_body_over_the_cap_is_413_and_stops_early(servers):
    def chunks():
        for _ in range(40):
            yield b"x" * 65536  # 2.5 MiB in all, chunked: no Content-Length to refuse it up front

    for target, (url, auth) in servers["targets"].items():
        try:
            response = servers["http"].post(url, content=chunks(), headers={**auth, "Content-Type": "application/json"})
        except httpx.HTTPError:  # the server may answer 413 and close before all chunks are sent
            tried("chunked over the cap")
            continue
        tried("chunked over the cap")
        assert response.status_code in (401, 413), f"{target}: {response.status_code} {response.text[:200]}"
        assert response.text.strip()
    still_serving(servers)


def test_wrong_methods_paths_and_tokens_are_4xx_and_not_recorded(servers):
    http, p, rec, sb = servers["http"], servers["profile"], servers["rec"], servers["sb"]
    before = rec.exchanges.last_id()
    rec_base = rec.url.rsplit("/", 1)[0]
    wrong_token_urls = [
        rec_base + "/" + "x" * len(rec.token), rec_base + "/", rec.url[:-1], rec.url + "x",
        other_ending(p.jaicp.chat_api_url, "0"), p.jaicp.internal_webhook_url[:-2] + "zz",
        other_ending(p.jivo.unique_url, "A"),
        sb.jaicp_url + "/nope", sb.jivo_url + "/nope/nope/nope", rec_base.rsplit("/", 1)[0] + "/other",
    ]
    for url in wrong_token_urls:
        response = http.post(url, json={"recipient": {"id": "x"}, "message": {"type": "text", "text": "t"}})
        tried("wrong paths and tokens")
        assert 400 <= response.status_code < 500, (url, response.status_code)
        assert response.text.strip()
    reporter = p.jaicp.reporter_url + "/messages/by-client"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic " + p.jaicp.reporter_token},
                    {"Authorization": "Bearer " + p.jaicp.reporter_token[:-1]}):
        response = http.get(reporter, params={"clientId": "a", "botId": p.jaicp.bot_id}, headers=headers)
        tried("wrong tokens")
        assert response.status_code in (401, 403), response.status_code
        assert response.text.strip()
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        for target, (url, auth) in servers["targets"].items():
            response = http.request(method, url, headers=auth, content=b"{}" if method != "GET" else None)
            tried("wrong methods")
            assert 400 <= response.status_code < 500 or (target == "chat api" and method == "GET"
                                                         and response.status_code == 200), \
                (target, method, response.status_code, response.text[:120])
            assert response.text.strip()
    # a stranger's requests never reach the recorder's store; the wrong methods are kept with their 405
    stored = rec.exchanges.query(after_id=before)
    assert all(e.status == 405 for e in stored), [(e.method, e.status) for e in stored]
    assert rec.rejected >= len(wrong_token_urls) // 3
    still_serving(servers)


# -------------------------------------------------------------------------- malformed chunked framing

MALFORMED_CHUNKED = {
    "size is not hex": b"ZZ\r\nabc\r\n0\r\n\r\n",
    "size overflows": b"ffffffffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
    "data longer than its size": b"3\r\nabcdef\r\n0\r\n\r\n",
    "no CRLF after data": b"3\r\nabcXX0\r\n\r\n",
    "negative size": b"-5\r\nabc\r\n0\r\n\r\n",
    "chunk extension garbage": b"3;\x00\x01\r\nabc\r\n0\r\n\r\n",
    "truncated then closed": b"10\r\nabc",
}


def raw_exchange(url: str, head_extra: bytes, payload: bytes, *, half_close: bool) -> bytes:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        # Connection: close, so an answered request ends the read instead of idling in keep-alive
        sock.sendall(b"POST " + parts.path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     b"Content-Type: application/json\r\n" + head_extra + b"\r\n" + payload)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        data = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return data


@pytest.mark.parametrize("label", sorted(MALFORMED_CHUNKED))
def test_malformed_chunked_framing_on_a_raw_socket(servers, label):
    payload = MALFORMED_CHUNKED[label]
    truncated = label.startswith("truncated")
    for target, (url, _) in servers["targets"].items():
        answer = raw_exchange(url, b"Transfer-Encoding: chunked\r\n", payload, half_close=truncated)
        tried("malformed chunked framing")
        if not answer:
            assert truncated, f"{target}: {label}: connection closed without an answer"
            continue  # the client hung up mid-body: nobody to answer
        status_line = answer.split(b"\r\n", 1)[0]
        status = int(status_line.split()[1])
        assert 400 <= status < 500, f"{target}: {label}: {status_line!r}"
        assert answer.split(b"\r\n\r\n", 1)[1].strip(), f"{target}: {label}: {status} without a reason"
    still_serving(servers)


@pytest.mark.parametrize("head", [
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    b"Content-Length: -1\r\n",
    b"Content-Length: abc\r\n",
    b"Content-Length: 5\r\nContent-Length: 6\r\n",
    b"Transfer-Encoding: gzip\r\n",
], ids=["cl+te", "negative cl", "non-numeric cl", "two cls", "unknown te"])
def test_contradictory_framing_headers(servers, head):
    for target, (url, _) in servers["targets"].items():
        answer = raw_exchange(url, head, b"3\r\nabc\r\n0\r\n\r\n", half_close=False)
        tried("framing headers")
        assert answer, f"{target}: no answer"
        status = int(answer.split(b"\r\n", 1)[0].split()[1])
        assert status < 500, f"{target}: {answer[:120]!r}"
        if status >= 400:
            assert answer.split(b"\r\n\r\n", 1)[1].strip()
    still_serving(servers)


# ------------------------------------------------------------------------------------------- parsers

any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=25)


def shaped(keys: list[str]):
    """Dicts built from the format's own keys, so parsers get past their first check."""
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=15),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(keys), inner, max_size=5),
        max_leaves=25)


WIRE_KEYS = ["sender", "recipient", "message", "id", "type", "text", "file", "file_name", "name", "url",
             "clientId", "questionId", "timestamp", "data", "replies", "events", "event", "state", "switch",
             "firstMessage", "closeChatPhrases", "appendCloseChatButton", "ignoreOffline", "oneTimeMessage",
             "sendMessagesToOperator", "sendMessageHistoryAmount", "attributes", "hiddenAttributes", "destination"]


def parses_or_typed_error(parse, value) -> None:
    try:
        parse(value)
    except JivoOpsError as exc:
        assert str(exc).strip()
    tried("parser inputs")


@settings(max_examples=300, deadline=None, database=None)
@given(value=any_json | shaped(WIRE_KEYS))
def test_wire_parsers_give_a_value_or_a_typed_error(value):
    from jivo_ops.channel.jaicp import BotResponse, EventBatch
    from jivo_ops.channel.jivo import AgentMessage, ClientMessage
    from jivo_ops.channel.switch import SwitchReply

    for parse in (AgentMessage.from_json, ClientMessage.from_json, BotResponse.from_json, EventBatch.from_json,
                  SwitchReply.from_json):
        parses_or_typed_error(parse, value)


TRANSFER_KEYS = ["steps", "name", "say", "expect", "wait", "event", "timeout", "text", "kind", "transfer_id", "chat",
                 "script", "outcome", "started_at", "step", "author", "ts", "http", "latency_s"]
nearly_a_transfer = st.fixed_dictionaries(
    {"transfer_id": st.text(max_size=3), "chat": st.text(max_size=3), "outcome": st.sampled_from(["answered", "x"]),
     "started_at": st.sampled_from(["2026-01-01T00:00:00+00:00", "x", None, 5])},
    optional={"steps": any_json | shaped(TRANSFER_KEYS) | st.lists(shaped(TRANSFER_KEYS), max_size=2),
              "switched_at": any_json, "closed_by": any_json})


def read_jsonl_text(text: str):
    import tempfile
    from pathlib import Path

    from jivo_ops.transfer import read_jsonl

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "transfers.jsonl"
        path.write_text(text + "\n", encoding="utf-8")
        return read_jsonl(path)


@settings(max_examples=200, deadline=None, database=None)
@given(value=any_json | shaped(TRANSFER_KEYS) | nearly_a_transfer)
def test_transfer_script_and_result_parsers(value):
    from jivo_ops.transfer import Script, TransferResult

    parses_or_typed_error(Script.from_json, value)
    parses_or_typed_error(TransferResult.from_json, value)
    parses_or_typed_error(read_jsonl_text, json.dumps(value))


toml_texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(["[jaicp]", "[jivo]", "[other]", "chat_api_url = 1", 'chat_api_url = "x"',
                              "chunked = \"yes\"", "chunked = true", "reporter_token = []", "x = ", "= 3",
                              "unique_url = \"https://wh.jivosite.com/a/b\"", "[jaicp.nested]", "[[jivo]]",
                              "operator_channel = 1979-05-27", 'webhook_url = "\\uZZZZ"']),
             max_size=8).map("\n".join),
)


@settings(max_examples=150, deadline=None, database=None)
@given(text=toml_texts, junk=st.binary(max_size=20))
def test_profile_files_load_or_give_a_profile_error(tmp_path_factory, text, junk):
    from jivo_ops.profile import load_profile

    path = tmp_path_factory.mktemp("p") / "profile.toml"
    for raw in (text.encode(), junk + text.encode()):
        path.write_bytes(raw)
        parses_or_typed_error(lambda p: load_profile(p, env=False), path)


LOG_SUFFIXES = [".json", ".jsonl", ".csv", ".xlsx", ".sqlite", ".txt", ""]


@settings(max_examples=80, deadline=None, database=None)
@given(suffix=st.sampled_from(LOG_SUFFIXES),
       content=st.one_of(
           st.binary(max_size=300),
           st.lists(any_json | shaped(["question", "textAnswer", "timestamp", "clientId", "sessionId", "isLivechat",
                                       "operatorInfo", "responseData", "replies", "messages", "paging", "ts",
                                       "chat", "author", "kind", "recipient", "message", "transfer_id",
                                       "steps", "outcome"]), max_size=5)
           .map(lambda rows: "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()),
           st.lists(st.lists(st.text(string.printable + "ёжЯ", max_size=12), min_size=1, max_size=6), max_size=6)
           .map(lambda rows: "\n".join(";".join(r) for r in rows).encode("cp1251", errors="replace")),
       ))
def test_log_sources_load_or_reject_or_give_a_source_error(tmp_path_factory, suffix, content):
    from jivo_ops.logs import load

    path = tmp_path_factory.mktemp("logs") / f"source{suffix}"
    path.write_bytes(content)
    try:
        logs = load(path)
    except JivoOpsError as exc:
        assert str(exc).strip()
    else:  # loaded: the schema's columns, and every row set aside says why
        from jivo_ops.logs import COLUMNS

        assert set(COLUMNS) <= set(logs.messages.columns)
        assert "reason" in logs.rejected.columns
        assert all(str(reason).strip() for reason in logs.rejected["reason"])
    tried("log source files")


def test_reporter_pages_with_broken_rows_are_rejected_not_dropped(tmp_path):
    from jivo_ops.logs import load

    page = {"paging": {"pageNum": 0, "pageSize": 5, "totalCount": 5}, "messages": [
        {"timestamp": "not a time", "clientId": "c1", "question": "привет"},
        {"clientId": "c2"},
        "a string where a message should be",
        {"timestamp": "2026-11-25T10:00:00Z", "clientId": "c3", "question": "оператор", "sessionId": "s3"},
        {"timestamp": 1.5e30, "clientId": ["x"], "question": {"a": 1}},
    ]}
    path = tmp_path / "reporter.json"
    path.write_text(json.dumps(page, ensure_ascii=False), encoding="utf-8")
    tried("reporter pages")
    try:
        logs = load(path)
    except JivoOpsError as exc:
        assert "reporter.json" in str(exc)
        return
    assert len(logs.rejected) >= 3, logs.rejected
    assert "c3" in set(logs.messages["chat"].astype(str))


def test_recorder_store_that_is_not_one_is_a_recorder_error(tmp_path):
    from jivo_ops.errors import RecorderError
    from jivo_ops.recorder.store import open_readonly

    for name, raw in (("empty.sqlite", b""), ("text.sqlite", b"hello"), ("half.sqlite", b"SQLite format 3\x00" + b"\0" * 50)):
        path = tmp_path / name
        path.write_bytes(raw)
        tried("recorder stores")
        with pytest.raises(RecorderError):
            open_readonly(path).close()
