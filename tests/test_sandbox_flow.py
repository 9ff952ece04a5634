"""The sandbox's lifecycle of a transfer, driven with plain httpx calls shaped like the documented examples."""

from __future__ import annotations

import httpx
import pytest

from jivo_ops.sandbox import Sandbox

TIMEOUT = 5.0


def post(sb_or_url, client_id: str, **fields):
    url = sb_or_url if isinstance(sb_or_url, str) else sb_or_url.profile.jaicp.chat_api_url
    return httpx.post(url, json={"clientId": client_id, **fields}, timeout=TIMEOUT)


def poll(sb, client_id: str, ts: int | None = None, timeout: float = 5.0) -> list[dict]:
    params = {"clientId": client_id, "timeout": timeout}
    if ts is not None:
        params["ts"] = ts
    r = httpx.get(sb.profile.jaicp.chat_api_url + "/events", params=params, timeout=timeout + TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()["events"]


def texts(replies) -> list[str]:
    return [r["text"] for r in replies if r.get("type") == "text"]


def test_default_scenario_switch_operator_reply_and_close(sandbox):
    r = post(sandbox, "client-1", query="/start")
    assert r.status_code == 200
    body = r.json()
    assert body["clientId"] == "client-1" and body["questionId"] and body["timestamp"]
    assert body["data"]["newSessionStarted"] is True
    assert texts(body["data"]["replies"]) == [sandbox.settings.greeting]

    r = post(sandbox, "client-1", query="Позовите ОПЕРАТОРА, пожалуйста")
    replies = r.json()["data"]["replies"]
    assert [x["type"] for x in replies] == ["text", "switch"]
    switch = replies[1]
    assert switch["closeChatPhrases"] == ["/closeChat"]
    assert switch["firstMessage"].startswith("CLIENT\n/start\n\nBOT\n")
    assert "Позовите ОПЕРАТОРА" in switch["firstMessage"]

    events = poll(sandbox, "client-1")
    assert len(events) == 1
    event = events[0]
    assert event["type"] == "botResponse"
    greeting = texts(event["event"]["data"]["replies"])[0]
    assert greeting.startswith("Здравствуйте! Меня зовут ")
    last_ts = event["event"]["timestamp"]

    r = post(sandbox, "client-1", query="Где мой заказ?")
    assert r.json()["data"]["replies"] == []
    events = poll(sandbox, "client-1", ts=last_ts)
    assert [texts(e["event"]["data"]["replies"]) for e in events] == [["Оператор: Где мой заказ?"]]
    assert events[0]["event"]["timestamp"] > last_ts

    r = post(sandbox, "client-1", query="/closeChat")
    assert texts(r.json()["data"]["replies"]) == [sandbox.settings.livechat_finished_text]
    assert r.json()["data"]["livechatStatus"] == {"enabled": False}
    finished = sandbox.history.entries("livechat_finished", client_id="client-1")
    assert [e.detail["closed_by"] for e in finished] == ["client"]

    # back with the bot
    r = post(sandbox, "client-1", query="Привет")
    assert texts(r.json()["data"]["replies"]) == [sandbox.settings.fallback]
    assert not sandbox.history.dropped


def test_context_manager_profile_shapes_and_stop():
    import re

    with Sandbox(operators=3, think_time=0.0) as sb:
        p = sb.profile
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/chatapi/[A-Za-z0-9]{8}:[0-9a-f]{40}", p.jaicp.chat_api_url)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/chatadapter/chatapi/webhook/jivosite/\w+",
                            p.jaicp.internal_webhook_url)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/[A-Za-z0-9]{16}/[A-Za-z0-9]{10}", p.jivo.unique_url)
        assert p.jivo.webhook_url == p.jaicp.internal_webhook_url
        assert p.jaicp.external_api_endpoint == p.jivo.unique_url
        assert p.jaicp.inbound_operator == p.jaicp.operator_channel and p.jivo.chunked is True
        assert p.jaicp.reporter_url == sb.jaicp_url + "/api/v1/reporter"
        assert sb.jaicp_url != sb.jivo_url
        assert len(sb.operators) == 3
        assert p.jivo.unique_url not in repr(sb) and p.jaicp.reporter_token not in repr(p)
        url = p.jaicp.chat_api_url
    with pytest.raises(httpx.TransportError):
        httpx.post(url, json={"clientId": "x", "query": "hi"}, timeout=2)


def test_switch_fields_change_what_the_platform_does():
    fields = {"closeChatPhrases": ["/Стоп"], "lastMessage": "Спасибо за обращение!",
              "sendMessagesToOperator": True, "sendMessageHistoryAmount": 2}
    with Sandbox(switch_fields=fields, first_message="last_phrase", close_phrase_match="casefold") as sb:
        for text in ("раз", "два", "три"):
            post(sb, "sf", query=text)
        switch = post(sb, "sf", query="оператор").json()["data"]["replies"][1]
        assert switch["firstMessage"] == "оператор" and switch["lastMessage"] == "Спасибо за обращение!"
        sb.history.wait_for(lambda e: e.kind == "jivo_received" and e.client_id == "sf" and e.text == "три")
        forwarded = [e.text for e in sb.history.entries("jivo_received", client_id="sf")]
        assert forwarded[:3] == ["оператор", "два", "три"]  # firstMessage, then the last 2 earlier messages
        r = post(sb, "sf", query="/стоп")
        assert texts(r.json()["data"]["replies"]) == ["Спасибо за обращение!", sb.settings.livechat_finished_text]

        sb.set(switch_fields={"oneTimeMessage": True, "firstMessage": "Клиент просил перезвонить"})
        r = post(sb, "once", query="оператор")
        assert r.json()["data"]["livechatStatus"] == {"enabled": False}
        got = sb.history.wait_for(lambda e: e.kind == "jivo_received" and e.client_id == "once")
        assert got.text == "Клиент просил перезвонить"
        assert not sb.history.entries("livechat_opened", client_id="once")
