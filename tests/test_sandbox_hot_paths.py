"""The sandbox's per-request shortcuts (issue 17 §3) give what the plain ways give: the same JSON text,
the same history entries, the user's GC threshold back, the longest accept queue kept."""

from __future__ import annotations

import gc
import json
import socket
import threading

import httpx
import pytest

from jivo_ops.channel.serving import listen_socket
from jivo_ops.channel.http import json_bytes, json_text
from jivo_ops.sandbox._common import History, HistoryEntry
from jivo_ops.sandbox._servers import _GC_YOUNG_THRESHOLD, LoopServers


@pytest.mark.parametrize("data", [
    {"text": "Позовите оператора", "n": 1, "x": 2.5, "none": None, "ok": True, "nested": [{"a": []}, "é\n\"q\""]},
    [], "строка", 3, {"emoji": "🙂", "tab": "\t", "ctl": "\x01"}, {"big": 10 ** 30, "neg": -0.0},
])
def test_json_text_is_what_json_dumps_gives(data):
    assert json_text(data) == json.dumps(data, ensure_ascii=False)
    assert json_bytes(data) == json.dumps(data, ensure_ascii=False).encode("utf-8")


def test_json_text_refuses_what_json_dumps_refuses():
    with pytest.raises(TypeError):
        json_text({"when": object()})


def test_history_entries_are_the_dataclass_they_always_were():
    history = History()
    entry = history.add("jaicp", "bot_reply", client_id="c1", author="BOT", text="hi", state="/Start")
    assert entry == HistoryEntry(1, entry.ts, "jaicp", "bot_reply", "c1", "BOT", "hi", {"state": "/Start"})
    assert history.add("jivo", "chat_opened").seq == 2
    with pytest.raises(AttributeError):  # still frozen
        entry.kind = "other"


def test_a_waiter_is_woken_by_an_entry_from_another_thread():
    history = History()
    timer = threading.Timer(0.05, lambda: history.add("jivo", "operator_message", text="hello"))
    timer.start()
    try:
        assert history.wait_for("operator_message", timeout=5).text == "hello"
    finally:
        timer.cancel()
    history.add_message({"question": "q"})   # nobody waits now: nothing to wake, nothing breaks
    assert history.messages == [{"question": "q"}]


async def _tiny_app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def test_gc_threshold_raised_while_serving_and_the_users_back_after():
    before = gc.get_threshold()
    sock = listen_socket("127.0.0.1", 0)
    try:
        gc.set_threshold(900, before[1], before[2])
        servers = LoopServers([(_tiny_app, sock)])
        # uvicorn listens on the socket again: with its own backlog (2,048) it would cut the queue back
        assert [s.config.backlog for s in servers._servers] == [socket.SOMAXCONN]
        servers.start()
        try:
            assert gc.get_threshold()[0] == _GC_YOUNG_THRESHOLD
            assert httpx.get(servers.urls[0], timeout=5).text == "ok"
        finally:
            servers.stop()
        assert gc.get_threshold() == (900, before[1], before[2])
    finally:
        gc.set_threshold(*before)
        sock.close()


async def _sent(app, scope=None) -> list[dict]:
    """The ASGI messages `app` sends for one request."""
    messages: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        messages.append(message)

    await app(scope or {"type": "http", "method": "GET"}, receive, send)
    return messages


@pytest.mark.parametrize("status, text, media", [
    (200, "", "text/plain; charset=utf-8"), (404, "unknown channel: «Уникальный URL»", "text/plain; charset=utf-8"),
    (200, '{"status": "ok"}', "application/json; charset=utf-8"), (204, "", "text/plain; charset=utf-8"),
])
def test_an_answer_sends_what_starlettes_response_sends(status, text, media):
    import asyncio

    from starlette.responses import Response

    from jivo_ops.sandbox._common import Answer

    ours = asyncio.run(_sent(Answer(text.encode("utf-8"), status, media.encode())))
    theirs = asyncio.run(_sent(Response(text, status_code=status, media_type=media)))
    assert ours == theirs


def test_a_hot_request_reads_what_a_starlette_request_reads():
    import asyncio

    from starlette.requests import Request

    from jivo_ops.sandbox._common import HotRequest, read_body

    headers = [(b"content-type", b"application/json"), (b"x-twice", b"first"), (b"x-twice", b"second"),
               (b"content-length", b"11")]
    scope = {"type": "http", "method": "POST", "headers": headers, "query_string": "a=1&a=2&b=&c=%D1%8F".encode(),
             "path_params": {"token": "t"}}

    def receiver():
        chunks = [{"type": "http.request", "body": b'{"x": ', "more_body": True},
                  {"type": "http.request", "body": b"1}    ", "more_body": False}]

        async def receive():
            return chunks.pop(0)
        return receive

    async def read(request):
        return await read_body(request, 1024)

    hot, theirs = HotRequest(scope, receiver(), scope["path_params"]), Request(scope, receiver())
    assert (hot.method, hot.path_params) == (theirs.method, theirs.path_params)
    assert hot.headers.get("X-Twice") == theirs.headers.get("X-Twice") == "first"
    assert hot.headers.items() == theirs.headers.items() and dict(hot.headers) == dict(theirs.headers)
    assert hot.headers.get("absent", "-") == "-"
    assert hot.query_params == dict(theirs.query_params) and hot.query_params.get("c") == "я"
    assert asyncio.run(read(hot)) == asyncio.run(read(theirs)) == b'{"x": 1}    '

