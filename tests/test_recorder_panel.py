"""RecorderPanel headless: a live recorder fed over HTTP; values set and buttons clicked as a user would."""

from __future__ import annotations

import json
import time

import httpx
import ipywidgets as w
import pytest

from jivo_ops.recorder.server import Recorder
from jivo_ops.channel.serving import ServerThread
from jivo_ops.widgets.recorder_panel import RecorderPanel

TOKEN = "panel-Tok3n-112233445566"


def body(chat: str, text: str) -> bytes:
    return json.dumps({"recipient": {"id": chat}, "message": {"type": "text", "text": text}},
                      ensure_ascii=False).encode()


def until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def widget_texts(widget) -> list[str]:
    """Every string value and option label in the widget tree (what could end up on screen or in a notebook)."""
    out = []
    stack = [widget]
    while stack:
        node = stack.pop()
        for name in ("value", "description", "placeholder", "tooltip"):
            value = getattr(node, name, None)
            if isinstance(value, str):
                out.append(value)
        out.extend(str(label) for label in getattr(node, "_options_labels", ()) or ())
        stack.extend(getattr(node, "children", ()) or ())
    return out + [repr(widget)]


@pytest.fixture
def recorder(tmp_path):
    with Recorder(tmp_path / "hooks.sqlite", token=TOKEN) as rec:
        yield rec


@pytest.fixture
def receiver():
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    got = []

    async def take(request):
        got.append((dict(request.headers), await request.body()))
        return Response(b"ok", status_code=200)

    with ServerThread(Starlette(routes=[Route("/{p:path}", take, methods=["POST"])])) as srv:
        srv.got = got
        yield srv


def test_follows_new_requests_live_newest_first(recorder):
    httpx.post(recorder.url, content=body("c-1", "первое"))
    panel = RecorderPanel(recorder, poll_interval=0.05)
    try:
        assert [i for _, i in panel.list.options] == [1]
        assert panel.list.value == 1 and "первое" in panel.parsed.value
        httpx.post(recorder.url, content=body("c-2", "второе"))
        until(lambda: len(panel.list.options) == 2)
        assert [i for _, i in panel.list.options] == [2, 1]
        until(lambda: panel.list.value == 2)  # auto-follow selects the newest
        assert "второе" in panel.parsed.value and "chat=c-2" in panel.list.options[0][0]
        assert "POST /hook/{token} HTTP/1.1" in panel.raw.value, panel.raw.value[:400]
        assert "2 запроса" in panel.count.value
    finally:
        panel.close()


def test_auto_follow_off_keeps_the_selection_and_picking_shows_it(recorder):
    for i in range(3):
        httpx.post(recorder.url, content=body(f"c-{i}", f"текст {i}"))
    panel = RecorderPanel(recorder, poll_interval=0)  # no polling: refresh by the button
    try:
        panel.follow.value = False
        panel.list.value = 1
        assert panel.model.selected == 1 and "текст 0" in panel.parsed.value
        httpx.post(recorder.url, content=b"{broken")
        panel.refresh_button.click()
        assert [i for _, i in panel.list.options] == [4, 3, 2, 1]
        assert panel.list.value == 1 and "текст 0" in panel.parsed.value
        panel.follow.value = True
        assert panel.list.value == 4
        assert "не JSON" in panel.parsed.value and "{broken" in panel.raw.value
    finally:
        panel.close()


def test_binary_and_tap_requests_are_shown_faithfully(tmp_path):
    from jivo_ops.recorder.exchanges import Exchanges

    binary = bytes(range(200))
    with ServerThread(plain_ok_app()) as target, \
            Recorder(tmp_path / "tap.sqlite", token=TOKEN, forward=target.url + "/webhook/abcdefgh123") as rec:
        httpx.post(rec.url, content=binary, headers={"Content-Type": "application/octet-stream"})
    panel = RecorderPanel(Exchanges(rec.store_path), poll_interval=0)
    try:
        assert "двоичное тело, 200 байт" in panel.parsed.value and "00 01 02 03" in panel.parsed.value
        assert "&lt;200 байт двоичных данных&gt;" in panel.raw.value
        assert "переслано на" in panel.raw.value and "abcdefgh123" not in panel.raw.value
        assert "took it" in panel.raw.value
    finally:
        panel.close()


def plain_ok_app():
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def ok(request):
        await request.body()
        return PlainTextResponse("took it")

    return Starlette(routes=[Route("/{p:path}", ok, methods=["POST"])])


def test_replay_button_sends_the_selected_request_and_reports(recorder, receiver):
    httpx.post(recorder.url, content=body("c-9", "повтор"), headers={"Content-Type": "application/json"})
    panel = RecorderPanel(recorder, poll_interval=0, replay_to=receiver.url + "/webhook/jivosite/tok987654321")
    try:
        assert "tok987654321" not in panel.replay_to.placeholder
        panel.replay_button.click()
        assert panel.join(10)
        assert receiver.got[0][1] == body("c-9", "повтор")
        assert "повторено #1" in panel.status.text and "200" in panel.status.text
        assert recorder.exchanges.replays(1)[0]["status"] == 200

        panel.replay_to.value = "https://jaicp.example.com/webhook/abcdef123456"
        panel.replay_button.click()
        assert panel.join(10)
        assert "пробный прогон" in panel.status.text and len(receiver.got) == 1
        panel.replay_yes.value = False

        panel.replay_to.value = "not a url"
        panel.replay_button.click()
        assert panel.join(10)
        assert panel.status.kind == "error" and "not an http(s) URL" in panel.status.text
    finally:
        panel.close()


def test_export_button_writes_the_file(recorder, tmp_path):
    httpx.post(recorder.url, content=body("c-1", "один"))
    httpx.post(recorder.url, content=body("c-2", "два"))
    out = tmp_path / "out.jsonl"
    panel = RecorderPanel(recorder, poll_interval=0, export_path=str(out))
    try:
        panel.export_format.value = "jsonl"
        panel.export_button.click()
        assert panel.join(10)
        lines = out.read_text(encoding="utf-8").splitlines()
        assert [json.loads(line)["chat"] for line in lines] == ["c-1", "c-2"]
        assert "2 запроса выгружены" in panel.status.text

        panel.export_path.value = str(tmp_path / "no-such-dir" / "x.har")
        panel.export_button.click()
        assert panel.join(10)
        assert panel.status.kind == "error" and "cannot write the export" in panel.status.text
    finally:
        panel.close()


def test_a_store_path_works_and_no_token_is_ever_shown(recorder, receiver):
    httpx.post(recorder.url, content=body("c-1", "x"))
    for source in (recorder, recorder.store_path):
        panel = RecorderPanel(source, poll_interval=0, replay_to=receiver.url + "/hook/" + TOKEN)
        try:
            assert isinstance(panel, w.VBox)
            texts = widget_texts(panel)
            assert texts and not any(TOKEN in t for t in texts)
        finally:
            panel.close()


def test_errors_show_in_the_widget(tmp_path):
    from jivo_ops.errors import RecorderError

    with pytest.raises(RecorderError):
        RecorderPanel(tmp_path / "missing.sqlite")
    store = tmp_path / "s.sqlite"
    with Recorder(store, token=TOKEN):
        pass
    panel = RecorderPanel(store, poll_interval=0)
    try:
        panel.replay_button.click()  # nothing selected, no target
        assert panel.status.kind == "error" and "адрес для повтора" in panel.status.text
    finally:
        panel.close()
