"""The simulated JAICP: Chat API envelopes and bad input, the Internal Webhook Url, the Reporter API,
/async, and the spine's own clients working against it unchanged."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import httpx
import pytest

from jivo_ops.sandbox import Sandbox

TIMEOUT = 10.0


@pytest.fixture(scope="module")
def sb():
    with Sandbox() as sandbox:
        yield sandbox


def chat_url(sb) -> str:
    return sb.profile.jaicp.chat_api_url


def test_documented_query_and_event_bodies(sb):
    r = httpx.post(chat_url(sb), json={"clientId": "doc-1", "query": "/start"}, timeout=TIMEOUT)
    body = r.json()
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert set(body) >= {"token", "clientId", "questionId", "data", "timestamp"}
    assert set(body["data"]) >= {"replies", "answer", "newSessionStarted", "endSession"}
    assert body["data"]["answer"] == sb.settings.greeting
    r = httpx.post(chat_url(sb), json={"clientId": "doc-1", "event": "noLivechatOperatorsOnline"}, timeout=TIMEOUT)
    assert r.json()["data"]["replies"][0]["text"] == sb.settings.no_operators_text
    r = httpx.post(chat_url(sb), json={"clientId": "doc-1", "event": "custom", "data": {"k": "v"}}, timeout=TIMEOUT)
    assert r.status_code == 200
    # the simplified GET form and the /chatadapter alias
    r = httpx.get(chat_url(sb), params={"clientId": "doc-1", "query": "/start"}, timeout=TIMEOUT)
    assert r.json()["data"]["answer"] == sb.settings.greeting
    alias = chat_url(sb).replace("/chatapi/", "/chatadapter/chatapi/")
    assert httpx.post(alias, json={"clientId": "doc-1", "query": "/start"}, timeout=TIMEOUT).status_code == 200


@pytest.mark.parametrize("content, reason", [
    (b"{broken", "invalid JSON"),
    (b"\xc3\x28", "not UTF-8"),
    (b'"just a string"', "JSON object"),
    (b'{"query": "hi"}', "clientId is required"),
    (b'{"clientId": "", "query": "hi"}', "clientId is required"),
    (b'{"clientId": "a"}', "either query"),
    (b'{"clientId": "a", "query": 5}', "either query"),
    (b'{"clientId": "a", "event": ""}', "event must be"),
    (b'{"clientId": "a", "query": "x", "data": [1]}', "data must be"),
    (b"[" * 100000 + b"]" * 100000, "invalid JSON"),
])
def test_chat_api_bad_input_is_400_with_a_reason(sb, content, reason):
    r = httpx.post(chat_url(sb), content=content, headers={"Content-Type": "application/json"}, timeout=TIMEOUT)
    assert r.status_code == 400
    assert reason in r.json()["message"]


def test_chat_api_wrong_token_path_and_size(sb):
    r = httpx.post(sb.jaicp_url + "/chatapi/AAAAAAAA:" + "0" * 40, json={"clientId": "a", "query": "x"},
                   timeout=TIMEOUT)
    assert r.status_code == 404 and r.json()["error"] == "chatapi.channel.not_found"
    assert httpx.get(sb.jaicp_url + "/nope", timeout=TIMEOUT).status_code == 404
    assert httpx.delete(chat_url(sb), timeout=TIMEOUT).status_code == 405
    big = json.dumps({"clientId": "a", "query": "x" * (1024 * 1024 + 1)}).encode()
    assert httpx.post(chat_url(sb), content=big, timeout=TIMEOUT).status_code == 413
    r = httpx.get(chat_url(sb) + "/events", params={"timeout": 0}, timeout=TIMEOUT)
    assert r.status_code == 400 and "clientId" in r.json()["message"]
    r = httpx.get(chat_url(sb) + "/events", params={"clientId": "a", "ts": "yesterday"}, timeout=TIMEOUT)
    assert r.status_code == 400


def test_events_long_poll_waits_then_returns_empty(sb):
    import time

    start = time.monotonic()
    r = httpx.get(chat_url(sb) + "/events", params={"clientId": "idle", "timeout": 0.5}, timeout=TIMEOUT)
    assert r.json() == {"events": []} and 0.45 <= time.monotonic() - start < 3


@pytest.mark.parametrize("body, status", [
    (b"nope", 400),
    (b"{}", 400),
    (json.dumps({"recipient": {"id": "x"}}).encode(), 400),
    (json.dumps({"recipient": {"id": "x"}, "message": {"type": "text"}}).encode(), 400),
    (json.dumps({"recipient": {"id": "x"}, "message": {"type": "photo"}}).encode(), 400),
    (json.dumps({"recipient": {"id": "webhook-ok"}, "message": {"type": "text", "text": "Здравствуйте"}}).encode(),
     200),
])
def test_internal_webhook_input(sb, body, status):
    r = httpx.post(sb.profile.jaicp.internal_webhook_url, content=body,
                   headers={"Content-Type": "application/json; charset=utf-8"}, timeout=TIMEOUT)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")


def test_agent_message_without_sender_reaches_the_client_as_an_event(sb):
    body = {"recipient": {"id": "probe-1"}, "message": {"type": "text", "text": "Проверка связи"}}
    assert httpx.post(sb.profile.jaicp.internal_webhook_url, json=body, timeout=TIMEOUT).status_code == 200
    r = httpx.get(chat_url(sb) + "/events", params={"clientId": "probe-1", "timeout": 2}, timeout=TIMEOUT)
    (event,) = r.json()["events"]
    assert event["type"] == sb.settings.operator_event_type
    assert event["event"]["data"]["replies"] == [{"type": "text", "text": "Проверка связи"}]
    wrong = sb.profile.jaicp.internal_webhook_url + "x"
    assert httpx.post(wrong, json=body, timeout=TIMEOUT).status_code == 404


def test_async_request_delivers_its_answer_on_events(sb):
    r = httpx.post(chat_url(sb) + "/async", json={"clientId": "async-1", "query": "/start"}, timeout=TIMEOUT)
    qid = r.json()["questionId"]
    r = httpx.get(chat_url(sb) + "/events", params={"clientId": "async-1", "timeout": 3}, timeout=TIMEOUT)
    (event,) = r.json()["events"]
    assert event["event"]["questionId"] == qid
    assert event["event"]["data"]["replies"][0]["text"] == sb.settings.greeting


def test_reporter_api_serves_the_history(sb):
    url, token, bot = sb.profile.jaicp.reporter_url, sb.profile.jaicp.reporter_token, sb.profile.jaicp.bot_id
    assert bot == sb.jaicp.bot_id
    with httpx.Client(timeout=TIMEOUT) as http:
        http.post(chat_url(sb), json={"clientId": "rep-1", "query": "/start"})
        http.post(chat_url(sb), json={"clientId": "rep-1", "query": "оператор"})
        http.get(chat_url(sb) + "/events", params={"clientId": "rep-1", "timeout": 3})
        http.post(chat_url(sb), json={"clientId": "rep-1", "query": "/closeChat"})
        auth = {"Authorization": f"Bearer {token}"}
        assert http.get(url + "/messages/by-client", params={"clientId": "rep-1", "botId": bot}).status_code == 401
        assert http.get(url + "/messages/by-client", params={"clientId": "rep-1", "botId": bot},
                        headers={"Authorization": "Bearer wrong"}).status_code == 401
        page = http.get(url + "/messages/by-client", params={"clientId": "rep-1", "botId": bot, "page": 0, "size": 2},
                        headers=auth).json()
        assert page["paging"] == {"pageNum": 0, "pageSize": 2, "totalCount": 4}
        everything = http.get(url + "/messages/by-client", params={"clientId": "rep-1", "botId": bot, "size": 100},
                              headers=auth).json()["messages"]
        start, switch, operator, finished = everything
        assert start["question"] == "/start" and start["textAnswer"] == sb.settings.greeting
        assert switch["responseData"]["replies"][1]["type"] == "switch"
        assert operator["isLivechat"] is True and operator["operatorInfo"]["firstName"] == "Анна"
        assert operator["textAnswer"].startswith("Здравствуйте! Меня зовут")
        assert finished["event"] == "livechatFinished" and finished["question"] == "/closeChat"
        assert finished["requestData"] == {"livechatStatus": {"enabled": True}}

        session = start["sessionId"]
        by_session = http.get(url + "/messages/by-session", params={"sessionId": session}, headers=auth).json()
        assert by_session["session"]["isLivechat"] is True and len(by_session["messages"]) == 4
        assert http.get(url + "/messages/by-session", params={"sessionId": "nope"}, headers=auth).status_code == 404

        sessions = http.post(url + "/sessions/filter", headers=auth, json={"filters": [
            {"key": "TRANSFER_TO_OPERATOR", "type": "RADIO", "option": "YES"}]}).json()
        assert "rep-1" in {s["client"]["id"] for s in sessions["sessions"]}
        live = http.post(url + "/messages/filter", headers=auth, json={"filters": [
            {"key": "IS_LIVECHAT", "type": "RADIO", "option": "YES"},
            {"key": "MESSAGE_TIME", "type": "DATE_TIME_RANGE", "from": "2000-01-01T00:00:00Z",
             "to": "2100-01-01T00:00:00Z"}]}, params={"size": 100}).json()
        assert live["messages"] and all(m["isLivechat"] for m in live["messages"])
        assert all(m["projectShortName"] == "sandbox" for m in live["messages"])
        future = http.post(url + "/messages/filter", headers=auth, json={"filters": [
            {"key": "MESSAGE_TIME", "type": "DATE_TIME_RANGE", "from": "2100-01-01T00:00:00Z"}]}).json()
        assert future["paging"]["totalCount"] == 0
        stats = http.get(url + "/stats/switched-sessions", headers=auth,
                         params={"transferToOperatorMethod": "SWITCH"}).json()
        assert stats["totalCount"] >= 1 and stats["stats"][0]["value"] >= 1
        # TimestampToValue: an int64 `ts`, the day's start in epoch milliseconds
        day_ms = int(datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)
        assert [type(item["ts"]) for item in stats["stats"]] == [int] * len(stats["stats"])
        assert stats["stats"][-1]["ts"] in (day_ms, day_ms - 86_400_000)  # today, or yesterday past midnight
        assert http.get(url + "/stats/switched-sessions", headers=auth).status_code == 400
        for bad in ({"filters": [{"key": "WHAT"}]}, {"filters": "x"}, [1]):
            assert http.post(url + "/messages/filter", headers=auth, json=bad).status_code == 400
        assert http.post(url + "/messages/filter", headers=auth, content=b"{oops").status_code == 400
        assert http.get(url + "/messages/by-client", headers=auth,
                        params={"clientId": "rep-1", "botId": bot, "size": 0}).status_code == 400
        assert http.get(url + "/messages/by-client", headers=auth,
                        params={"clientId": "rep-1", "botId": bot, "startTime": "soon"}).status_code == 400
        assert http.get(url + "/messages/by-client", headers=auth,
                        params={"clientId": "rep-1", "botId": "other-bot"}).status_code == 404


def test_by_client_requires_bot_id_as_the_spec_says(sb):
    """reporter-api.yml marks botId required on messages/by-client: without it, a 400 with JAICP's error body."""
    url, token = sb.profile.jaicp.reporter_url, sb.profile.jaicp.reporter_token
    httpx.post(chat_url(sb), json={"clientId": "bot-1", "query": "/start"}, timeout=TIMEOUT)
    r = httpx.get(url + "/messages/by-client", params={"clientId": "bot-1"},
                  headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
    assert r.status_code == 400
    assert r.json() == {"error": "reporter.request.bot_id", "message": "botId is required", "args": {}}


def test_reporter_serves_the_token_in_path_form_too(sb):
    """The older `/api/reporter/p/{token}/…` answers every endpoint like `/api/v1/reporter/…`, no header needed."""
    bearer, path_url = sb.profile.jaicp.reporter_url, sb.jaicp.reporter_path_url
    auth = {"Authorization": f"Bearer {sb.profile.jaicp.reporter_token}"}
    assert path_url == f"{sb.jaicp_url}/api/reporter/p/{sb.profile.jaicp.reporter_token}"
    httpx.post(chat_url(sb), json={"clientId": "path-1", "query": "оператор"}, timeout=TIMEOUT)
    calls = [("GET", "/messages/by-client", {"clientId": "path-1", "botId": sb.jaicp.bot_id}, None),
             ("GET", "/stats/switched-sessions", {"transferToOperatorMethod": "SWITCH"}, None),
             ("POST", "/messages/filter", {}, {"filters": []}), ("POST", "/sessions/filter", {}, {"filters": []})]
    with httpx.Client(timeout=TIMEOUT) as http:
        for method, path, params, body in calls:
            by_path = http.request(method, path_url + path, params=params, json=body)
            by_bearer = http.request(method, bearer + path, params=params, json=body, headers=auth)
            assert by_path.status_code == by_bearer.status_code == 200, (path, by_path.text)
            assert by_path.json().keys() == by_bearer.json().keys()
        session = http.get(path_url + "/messages/by-client",
                           params={"clientId": "path-1", "botId": sb.jaicp.bot_id}).json()["messages"][0]["sessionId"]
        assert http.get(path_url + "/messages/by-session", params={"sessionId": session}).status_code == 200
        wrong = http.get(f"{sb.jaicp_url}/api/reporter/p/{'W' * 40}/messages/by-client",
                         params={"clientId": "path-1", "botId": "b"})
        assert wrong.status_code == 401 and wrong.json()["error"] == "reporter.auth.invalid"
        assert http.get(path_url + "/messages/by-client", params={"clientId": "path-1"}).status_code == 400


def test_spine_clients_work_against_the_sandbox(sb):
    from jivo_ops.channel.jaicp import ChatApiClient, ReporterClient
    from jivo_ops.channel.jivo import JivoClient

    p = sb.profile
    with ChatApiClient(p.jaicp.chat_api_url) as chat:
        assert chat.send_query("spine-1", "/start").texts == [sb.settings.greeting]
        answer = chat.send_query("spine-1", "Оператора, пожалуйста")
        assert answer.switch is not None and answer.switch.close_chat_phrases
        batch = chat.poll_events("spine-1", timeout=3)
        assert batch.events and batch.texts
        assert chat.send_event("spine-1", "livechatFinished").texts
    jivo = JivoClient(p.jivo.unique_url)
    assert jivo.status() is True
    message_id = jivo.send_text("spine-2", "Добрый день!", name="Тест тестерович")
    assert sb.history.wait_for(lambda e: e.kind == "jivo_received" and e.client_id == "spine-2").detail[
        "message_id"] == message_id
    with ReporterClient.from_profile(p) as reporter:
        pages = list(reporter.iter_messages_by_client("spine-1", size=2))
        assert len(pages) == 2 and sum(len(page["messages"]) for page in pages) == 4


@pytest.mark.anyio
async def test_async_spine_client_against_the_sandbox(sb):
    from jivo_ops.channel.jaicp import AsyncChatApiClient

    async with AsyncChatApiClient(sb.profile.jaicp.chat_api_url) as chat:
        answer = await chat.send_query("spine-async", "operator please")
        assert answer.switch is not None
        batch = await chat.poll_events("spine-async", timeout=3)
        assert batch.events


def test_history_is_readable_as_a_table(sb):
    # The module's sandbox may still be relaying earlier tests' replies: the table holds every
    # entry up to the moment it was taken, none skipped.
    before = len(sb.history)
    frame = sb.history.to_dataframe()
    assert {"ts", "side", "kind", "client_id", "author", "text"} <= set(frame.columns)
    assert before <= len(frame) <= len(sb.history)
    assert list(frame["seq"]) == list(range(1, len(frame) + 1))
    assert sb.profile.jaicp.reporter_token not in frame.to_string()


def test_the_hot_chat_api_answers_as_starlettes_route_does(sb):
    """`/chatapi/{token}` (FastRoutes) and its `/chatadapter/` alias (Starlette's router) reach the same
    handler: the same status, headers and bytes, but for the ids and times a turn makes."""
    def volatile_out(body: dict) -> dict:
        return {k: v for k, v in body.items() if k not in ("questionId", "timestamp", "clientId")}

    fast = chat_url(sb)
    routed = fast.replace("/chatapi/", "/chatadapter/chatapi/")
    with httpx.Client(timeout=TIMEOUT) as client:
        for content in (b"{broken", b'{"clientId": "a"}', b"", b"[1]"):
            a, b = (client.post(url, content=content, headers={"Content-Type": "application/json"})
                    for url in (fast, routed))
            assert (a.status_code, a.headers.raw, a.content) == (b.status_code, b.headers.raw, b.content)
            assert a.status_code == 400
        a, b = (client.post(url, json={"clientId": f"same-{i}", "query": "/start"}) for i, url in enumerate((fast, routed)))
        assert (a.status_code, a.headers["content-type"]) == (b.status_code, b.headers["content-type"]) == \
            (200, "application/json; charset=utf-8")
        assert volatile_out(a.json()) == volatile_out(b.json())
