"""JAICP clients: Chat API (query, event, long-polled /events) and Reporter API (Bearer, paging),
sync and async, with MockTransport and a real uvicorn server."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from _servers import delayed, scripted_server, srv  # noqa: F401 - fixtures
from jivo_ops.errors import JivoOpsError, ProtocolError, RejectedError, UnavailableError
from jivo_ops.channel.jaicp import (POLL_GRACE, AsyncChatApiClient, AsyncReporterClient, BotResponse, ChatApiClient,
                            EventBatch, ReporterClient)
from jivo_ops.channel.switch import SwitchReply

TOKEN = "GNVXJdeo:718e36f7005fbba3e2a9696784b83dc3bd0f3d9a"
CHAT_URL = f"https://app.jaicp.com/chatapi/{TOKEN}"
REPORTER_URL = "https://app.jaicp.com/api/v1/reporter"
REPORTER_TOKEN = "rep0rterTok3n-5f1c2a9b8e7d"


def _no_secret(text: str) -> None:
    assert TOKEN not in text and TOKEN.split(":")[1] not in text and REPORTER_TOKEN not in text, text


def bot_body(client_id: str, *replies: dict) -> dict:
    return {"token": TOKEN, "clientId": client_id, "questionId": "q-1",
            "data": {"replies": list(replies), "answer": "Перевожу на оператора", "newSessionStarted": False,
                     "endSession": False, "nlpClass": "/operator", "confidence": 1.0},
            "timestamp": "2024-03-09T15:25:19.497"}


SWITCH = {"type": "switch", "closeChatPhrases": ["/closeChat"], "firstMessage": "хочу оператора"}


class Handler:
    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request):
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if callable(answer):
            return answer(request)
        status, body = answer
        if isinstance(body, (dict, list)):
            return httpx.Response(status, json=body)
        return httpx.Response(status, content=body.encode() if isinstance(body, str) else body)

    def chat(self) -> ChatApiClient:
        return ChatApiClient(CHAT_URL, transport=httpx.MockTransport(self))

    def async_chat(self) -> AsyncChatApiClient:
        async def handler(request):
            return self(request)
        return AsyncChatApiClient(CHAT_URL, transport=httpx.MockTransport(handler))

    def reporter(self) -> ReporterClient:
        return ReporterClient(REPORTER_URL, REPORTER_TOKEN, transport=httpx.MockTransport(self))

    def async_reporter(self) -> AsyncReporterClient:
        async def handler(request):
            return self(request)
        return AsyncReporterClient(REPORTER_URL, REPORTER_TOKEN,
                                   transport=httpx.MockTransport(handler))


# --- Chat API: queries and events ---------------------------------------------------------------

def test_query_reads_replies_at_data_replies_and_finds_the_switch():
    handler = Handler((200, bot_body("client-1", {"type": "text", "text": "Соединяю"}, SWITCH)))
    with handler.chat() as chat:
        answer = chat.send_query("client-1", "позовите оператора", data={"lang": "ru"})
    request = handler.requests[0]
    assert request.method == "POST" and str(request.url) == CHAT_URL
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "позовите оператора".encode() in request.content
    assert json.loads(request.content) == {"clientId": "client-1", "query": "позовите оператора",
                                           "data": {"lang": "ru"}}
    assert answer.client_id == "client-1" and answer.question_id == "q-1"
    assert answer.texts == ["Соединяю"]
    assert answer.reply_types == ["text", "switch"]
    assert answer.switch == SwitchReply(close_chat_phrases=("/closeChat",), first_message="хочу оператора")
    assert answer.answer == "Перевожу на оператора" and not answer.end_session


def test_event_body():
    handler = Handler((200, bot_body("c", {"type": "text", "text": "Привет!"})))
    with handler.chat() as chat:
        answer = chat.send_event("c", "livechatFinished", {"reason": "test"})
    assert json.loads(handler.requests[0].content) == {"clientId": "c", "event": "livechatFinished",
                                                       "data": {"reason": "test"}}
    assert answer.texts == ["Привет!"] and answer.switch is None


@pytest.mark.parametrize("body, field", [
    ({"clientId": "c", "data": {"data": {"replies": []}}}, "data.replies"),   # the classic mis-nesting
    ({"clientId": "c", "replies": []}, "data"),
    ({"clientId": "c", "data": {"replies": {"type": "text"}}}, "data.replies"),
    ({"clientId": "c", "data": {"replies": [{"type": "text", "text": "a"}, "b"]}}, "data.replies[1]"),
    ({"data": {"replies": []}}, "clientId"),
    ({"clientId": "c", "data": "replies"}, "data"),
])
def test_malformed_bot_responses_name_the_field(body, field):
    with Handler((200, body)).chat() as chat, pytest.raises(ProtocolError) as info:
        chat.send_query("c", "x")
    assert info.value.field == field


def test_a_switch_with_a_wrong_field_type_is_read_with_a_warning_naming_it():
    """Reading a bot's response never fails because of one field's type (was: a ProtocolError)."""
    answer = BotResponse.from_json(bot_body("c", {"type": "switch", "closeChatPhrases": "/closeChat"}))
    assert answer.switch.close_chat_phrases == ("/closeChat",)
    assert [w.split(":")[0] for w in answer.switch.warnings] == ["closeChatPhrases"]


@pytest.mark.parametrize("raw", [b"<html>502 Bad Gateway</html>", b"", b"{\"clientId\": ", b"[1]"])
def test_non_json_or_non_object_answers_are_protocol_errors(raw):
    with Handler((200, raw)).chat() as chat, pytest.raises(ProtocolError) as info:
        chat.send_query("c", "x")
    _no_secret(str(info.value))


def test_jaicp_error_bodies_become_clear_typed_errors():
    error = {"error": "chatapi.client_id.required", "message": "clientId must not be blank", "args": {}}
    handler = Handler((400, error))
    with handler.chat() as chat, pytest.raises(RejectedError) as info:
        chat.send_query("c", "x")
    assert info.value.status == 400
    assert info.value.reason == "chatapi.client_id.required: clientId must not be blank"
    assert "clientId must not be blank" in str(info.value)
    _no_secret(str(info.value))

    handler = Handler((503, {"error": "common.service.unavailable", "message": "try later"}))
    with handler.chat() as chat, pytest.raises(UnavailableError, match="try later"):
        chat.send_query("c", "x")
    assert len(handler.requests) == 1  # a query is not idempotent: no resend unless asked


@pytest.mark.parametrize("client_id", ["", "   "])
def test_blank_client_id_is_refused_before_sending(client_id):
    handler = Handler((200, {}))
    with handler.chat() as chat, pytest.raises(ProtocolError, match="clientId"):
        chat.send_query(client_id, "x")
    assert handler.requests == []


def test_bad_url_and_masked_repr():
    with pytest.raises(JivoOpsError, match="Chat API URL"):
        ChatApiClient("app.jaicp.com/chatapi/x")
    with Handler((200, {})).chat() as chat:
        _no_secret(repr(chat))


# --- Chat API: /events long poll ----------------------------------------------------------------------

def _events(*items: dict) -> dict:
    return {"events": list(items)}


def _operator_event(text: str, ts: int) -> dict:
    return {"type": "botResponse", "event": {"questionId": "q", "timestamp": ts,
                                              "data": {"replies": [{"type": "text", "text": text}]}}}


def test_poll_events_request_and_parse():
    handler = Handler((200, _events(_operator_event("Здравствуйте, я оператор", 1700000000100),
                                    _operator_event("Чем помочь?", 1700000000200),
                                    {"type": "livechatStatus", "event": {"timestamp": 1700000000150}})))
    with handler.chat() as chat:
        batch = chat.poll_events("client-1", ts=1700000000000, timeout=7)
    request = handler.requests[0]
    assert request.method == "GET" and request.url.path == f"/chatapi/{TOKEN}/events"
    assert dict(request.url.params) == {"clientId": "client-1", "ts": "1700000000000", "timeout": "7"}
    assert request.extensions["timeout"]["read"] == 7 + POLL_GRACE  # longer than the poll itself
    assert batch.texts == ["Здравствуйте, я оператор", "Чем помочь?"]
    assert [e.type for e in batch] == ["botResponse", "botResponse", "livechatStatus"]
    assert batch.events[2].replies == () and batch.events[0].question_id == "q"
    assert batch.last_ts == 1700000000200


def test_an_empty_poll_keeps_the_ts_and_iso_timestamps_become_millis():
    assert EventBatch.from_json({"events": []}, ts=42).last_ts == 42
    assert EventBatch.from_json({"events": []}).last_ts is None
    batch = EventBatch.from_json(_events({"type": "botResponse", "event": {
        "timestamp": "2024-01-01T00:00:00Z", "data": {"replies": []}}}))
    assert batch.last_ts == 1704067200000


@pytest.mark.parametrize("body, field", [
    ({}, "events"),
    ({"events": {}}, "events"),
    ({"events": [{"event": {}}]}, "events[0].type"),
    ({"events": [_operator_event("a", 1), "x"]}, "events[1]"),
    ({"events": [{"type": "botResponse", "event": {"data": {"replies": "a"}}}]}, "events[0].event.data.replies"),
])
def test_malformed_event_batches_name_the_field(body, field):
    with Handler((200, body)).chat() as chat, pytest.raises(ProtocolError) as info:
        chat.poll_events("c", timeout=1)
    assert info.value.field == field


# --- Reporter API ----------------------------------------------------------------------------------------

def _page(num: int, size: int, total: int, key: str = "messages") -> dict:
    rows = [{"questionId": f"q{i}", "question": f"вопрос {i}"} for i in range(num * size, min(total, (num + 1) * size))]
    return {"paging": {"pageNum": num, "pageSize": size, "totalCount": total}, key: rows}


def test_reporter_sends_the_bearer_token_and_parameters():
    handler = Handler((200, _page(0, 50, 3)))
    with handler.reporter() as reporter:
        page = reporter.messages_by_client("client-1", bot_id="bot-9", size=50,
                                           start_time="2024-01-01T00:00:00Z",
                                           end_time=__import__("datetime").datetime(2024, 1, 2, 3, 4, 5))
    request = handler.requests[0]
    assert request.headers["Authorization"] == f"Bearer {REPORTER_TOKEN}"
    assert request.url.path == "/api/v1/reporter/messages/by-client"
    assert dict(request.url.params) == {"botId": "bot-9", "clientId": "client-1", "page": "0", "size": "50",
                                        "startTime": "2024-01-01T00:00:00Z", "endTime": "2024-01-02T03:04:05.000Z"}
    assert page["paging"]["totalCount"] == 3 and len(page["messages"]) == 3


def test_reporter_filters_post_the_filters():
    filters = [{"key": "MESSAGE_TIME", "type": "DATE_TIME_RANGE", "from": "2024-01-01T00:00:00Z",
                "to": "2024-01-02T00:00:00Z"}]
    handler = Handler((200, _page(0, 10, 1, "sessions")))
    with handler.reporter() as reporter:
        reporter.sessions_filter(filters, size=10)
        reporter.messages_filter({"filters": filters}, page=2)
        reporter.messages_by_session("s-1")
    first, second, third = handler.requests
    assert first.method == "POST" and first.url.path.endswith("/sessions/filter")
    assert json.loads(first.content) == {"filters": filters}
    assert first.headers["Content-Type"] == "application/json; charset=utf-8"
    assert second.url.path.endswith("/messages/filter") and second.url.params["page"] == "2"
    assert json.loads(second.content) == {"filters": filters}
    assert third.method == "GET" and dict(third.url.params) == {"sessionId": "s-1", "page": "0", "size": "100"}


def test_reporter_iter_follows_pages_by_total_count():
    handler = Handler(lambda r: httpx.Response(200, json=_page(int(r.url.params["page"]), 2, 5)))
    with handler.reporter() as reporter:
        pages = list(reporter.iter_messages_by_client("c", size=2))
    assert [p["paging"]["pageNum"] for p in pages] == [0, 1, 2]
    assert sum(len(p["messages"]) for p in pages) == 5


def test_reporter_iter_without_total_stops_at_a_short_page():
    def answer(request):
        n = int(request.url.params["page"])
        return httpx.Response(200, json={"messages": [{"n": i} for i in range(3 if n < 2 else 1)]})
    handler = Handler(answer)
    with handler.reporter() as reporter:
        pages = list(reporter.iter_messages_by_session("s", size=3))
    assert len(pages) == 3 and len(handler.requests) == 3


def test_reporter_errors_and_token_handling():
    handler = Handler((401, {"error": "auth.token.invalid", "message": "Invalid token"}))
    with handler.reporter() as reporter, pytest.raises(RejectedError, match="Invalid token") as info:
        reporter.messages_by_session("s")
    _no_secret(str(info.value))
    with handler.reporter() as reporter:
        _no_secret(repr(reporter))
    with pytest.raises(ProtocolError, match="reporter_token"):
        ReporterClient(REPORTER_URL, "  ")
    with Handler((200, [1, 2])).reporter() as reporter, pytest.raises(ProtocolError):
        reporter.messages_by_session("s")


# --- async twins -------------------------------------------------------------------------------------------

@pytest.mark.anyio
async def test_async_chat_api_client():
    handler = Handler((200, bot_body("c", {"type": "text", "text": "Ок"}, SWITCH)),
                      (200, _events(_operator_event("Оператор на связи", 5))))
    async with handler.async_chat() as chat:
        answer = await chat.send_query("c", "оператор")
        batch = await chat.poll_events("c", ts=1, timeout=2)
    assert answer.switch is not None and answer.texts == ["Ок"]
    assert batch.texts == ["Оператор на связи"] and batch.last_ts == 5
    assert handler.requests[1].extensions["timeout"]["read"] == 2 + POLL_GRACE


@pytest.mark.anyio
async def test_async_reporter_pages():
    handler = Handler(lambda r: httpx.Response(200, json=_page(int(r.url.params["page"]), 2, 3, "sessions")))
    async with handler.async_reporter() as reporter:
        pages = [p async for p in reporter.iter_sessions_filter([], size=2)]
    assert len(pages) == 2 and handler.requests[0].headers["Authorization"] == f"Bearer {REPORTER_TOKEN}"


# --- against a real uvicorn server ---------------------------------------------------------------------------

def _json(status: int, body) -> tuple:
    return status, json.dumps(body, ensure_ascii=False), "application/json"


def test_real_query_round_trip(srv):
    srv.script(_json(200, bot_body("c-1", {"type": "text", "text": "Соединяю"}, SWITCH)))
    with ChatApiClient(f"{srv.url}/chatapi/{TOKEN}") as chat:
        answer = chat.send_query("c-1", "оператор")
    (request,) = srv.requests
    assert request.path == f"/chatapi/{TOKEN}" and not request.chunked
    assert request.header("content-type") == "application/json; charset=utf-8"
    assert request.body == '{"clientId": "c-1", "query": "оператор"}'.encode("utf-8")
    assert answer.switch is not None and answer.texts == ["Соединяю"]


def test_real_long_poll_waits_for_the_server(srv):
    srv.script(delayed(0.5, _json(200, _events(_operator_event("Я оператор", 10)))))
    with ChatApiClient(f"{srv.url}/chatapi/{TOKEN}", timeout=0.2) as chat:  # shorter than the hold
        started = time.monotonic()
        batch = chat.poll_events("c-1", ts=3, timeout=2)
    assert time.monotonic() - started >= 0.45
    assert batch.texts == ["Я оператор"] and batch.last_ts == 10
    assert srv.requests[0].query == "clientId=c-1&ts=3&timeout=2"


def test_real_long_poll_held_past_our_wait_is_an_empty_batch(srv):
    srv.script(delayed(3, _json(200, _events(_operator_event("late", 1)))))
    with ChatApiClient(f"{srv.url}/chatapi/{TOKEN}") as chat:
        started = time.monotonic()
        batch = chat.poll_events("c-1", ts=7, timeout=0.2)
    assert time.monotonic() - started < 0.2 + POLL_GRACE + 1.0
    assert batch.events == () and batch.last_ts == 7


def test_real_error_body(srv):
    srv.script(_json(404, {"error": "chatapi.channel.not_found", "message": "Channel not found"}))
    with ChatApiClient(f"{srv.url}/chatapi/{TOKEN}") as chat, pytest.raises(RejectedError) as info:
        chat.send_event("c", "/start")
    assert info.value.reason == "chatapi.channel.not_found: Channel not found"
    _no_secret(str(info.value))


@pytest.mark.anyio
async def test_real_async_reporter(srv):
    srv.script(_json(200, _page(0, 1, 2)), _json(200, _page(1, 1, 2)))
    async with AsyncReporterClient(f"{srv.url}/api/v1/reporter", REPORTER_TOKEN) as reporter:
        pages = [p async for p in reporter.iter_messages_by_client("c", size=1)]
    assert [len(p["messages"]) for p in pages] == [1, 1]
    assert all(r.header("authorization") == f"Bearer {REPORTER_TOKEN}" for r in srv.requests)


def test_from_profile():
    from jivo_ops.errors import ProfileError
    from jivo_ops.profile import Profile

    profile = Profile().replace(jaicp={"chat_api_url": CHAT_URL, "reporter_token": REPORTER_TOKEN})
    mock = httpx.Client(transport=httpx.MockTransport(Handler((200, {}))))
    with ChatApiClient.from_profile(profile, timeout=3, client=mock) as chat:
        assert chat.url == CHAT_URL and chat.timeout == 3
    with ReporterClient.from_profile(profile, client=mock) as reporter:
        assert reporter.base_url == REPORTER_URL and reporter.headers["Authorization"].endswith(REPORTER_TOKEN)
    with pytest.raises(ProfileError, match=r"jaicp\.chat_api_url"):
        ChatApiClient.from_profile(Profile())
    with pytest.raises(ProfileError, match=r"jaicp\.reporter_token"):
        ReporterClient.from_profile(Profile())
