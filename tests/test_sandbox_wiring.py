"""Wiring as in real life: webhook framing, offline operators, agent-side close, an unconfigured
start walked through the seed's four steps, and injected faults."""

from __future__ import annotations

import httpx
import pytest

from jivo_ops.sandbox import Sandbox
from jivo_ops.channel.serving import ServerThread

TIMEOUT = 10.0


def ask(sb, client_id: str, text: str) -> httpx.Response:
    return httpx.post(sb.profile.jaicp.chat_api_url, json={"clientId": client_id, "query": text}, timeout=TIMEOUT)


def events(sb, client_id: str, ts=None, timeout: float = 5.0) -> list[dict]:
    params = {"clientId": client_id, "timeout": timeout, **({"ts": ts} if ts is not None else {})}
    r = httpx.get(sb.profile.jaicp.chat_api_url + "/events", params=params, timeout=timeout + TIMEOUT)
    assert r.status_code == 200
    return r.json()["events"]


def texts(replies) -> list[str]:
    return [r["text"] for r in replies if r.get("type") == "text"]


class Receiver:
    """A small Starlette webhook receiver recording what arrived on the wire."""

    def __init__(self):
        from starlette.applications import Starlette
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route

        self.seen: list[dict] = []

        async def hook(request):
            body = await request.body()
            self.seen.append({"headers": dict(request.headers), "body": body})
            return PlainTextResponse("ok")

        self.server = ServerThread(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))

    def __enter__(self):
        self.server.start()
        return self

    def __exit__(self, *exc):
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url + "/hook"


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_operator_messages_reach_a_receiver_chunked_or_with_content_length(chunked):
    import json

    with Sandbox(chunked=chunked) as sb, Receiver() as rx:
        step = sb.configure_step(2, webhook_url=rx.url, chunked=chunked)
        assert step["chunked"] is chunked and sb.profile.jivo.webhook_url == rx.url
        assert sb.operator_say("client-w", "Добрый день, это Анна") is True
        assert len(rx.seen) == 1
        got = rx.seen[0]
        if chunked:
            assert got["headers"].get("transfer-encoding") == "chunked"
            assert "content-length" not in got["headers"]
        else:
            assert got["headers"].get("content-length") == str(len(got["body"]))
            assert "transfer-encoding" not in got["headers"]
        assert got["headers"]["content-type"] == "application/json; charset=utf-8"
        body = json.loads(got["body"].decode("utf-8"))
        assert body["recipient"] == {"id": "client-w"}
        assert body["message"]["type"] == "text" and body["message"]["text"] == "Добрый день, это Анна"
        assert body["sender"]["name"] and body["message"]["id"]
        assert "Добрый".encode() in got["body"]  # raw UTF-8, no \u escapes


@pytest.mark.parametrize("chunked", [True, False])
def test_jaicp_side_records_the_framing_it_received(chunked):
    with Sandbox(chunked=chunked) as sb:
        ask(sb, "c", "оператор")
        got = sb.history.wait_for(lambda e: e.kind == "webhook_received", timeout=5)
        assert got.detail["chunked"] is chunked
        assert (got.detail["content_length"] is None) is chunked


def test_offline_operators_give_no_livechat_operators_online():
    with Sandbox(online=False) as sb:
        assert httpx.get(sb.profile.jivo.unique_url + "/status", timeout=5).text == "0"
        r = ask(sb, "c-off", "Хочу оператора")
        replies = r.json()["data"]["replies"]
        assert [x["type"] for x in replies] == ["text", "switch", "text"]
        assert replies[2]["text"] == sb.settings.no_operators_text and replies[2]["state"] == "/NoOperatorsOnline"
        assert r.json()["data"]["livechatStatus"] == {"enabled": False}
        assert [e.text for e in sb.history.entries("no_operators")] == ["noLivechatOperatorsOnline"]
        assert not sb.history.entries("forward")
        # delivered as a separate bot response instead, when set so
        sb.set(no_operators_delivery="events")
        r = ask(sb, "c-off2", "оператор")
        assert [x["type"] for x in r.json()["data"]["replies"]] == ["text", "switch"]
        (event,) = events(sb, "c-off2")
        assert event["event"]["data"]["event"] == "noLivechatOperatorsOnline"
        # ignoreOffline: the live chat opens and waits; an operator coming online answers
        sb.set(switch_fields={"closeChatPhrases": ["/closeChat"], "ignoreOffline": True})
        r = ask(sb, "c-wait", "оператор")
        assert r.json()["data"]["livechatStatus"] == {"enabled": True}
        sb.history.wait_for(lambda e: e.kind == "queued" and e.client_id == "c-wait")
        sb.set(online=True)
        assert events(sb, "c-wait"), "the operator who came online did not answer"


def test_agent_side_close_sends_livechat_finished():
    with Sandbox(close_after=2) as sb:
        ask(sb, "c-close", "оператор")
        first = events(sb, "c-close")
        ts = first[-1]["event"]["timestamp"]
        ask(sb, "c-close", "Спасибо")
        later: list[dict] = []
        for _ in range(5):
            later += events(sb, "c-close", ts=ts)
            ts = later[-1]["event"]["timestamp"] if later else ts
            if any(e["event"]["data"].get("event") == "livechatFinished" for e in later):
                break
        finished = [e for e in later if e["event"]["data"].get("event") == "livechatFinished"]
        assert finished, later
        assert texts(finished[0]["event"]["data"]["replies"]) == [sb.settings.livechat_finished_text]
        assert [e.detail["closed_by"] for e in sb.history.entries("livechat_finished")] == ["operator"]
        # the next message goes to the bot again
        assert texts(ask(sb, "c-close", "привет").json()["data"]["replies"]) == [sb.settings.fallback]


def test_agent_close_without_a_signal_leaves_the_live_chat_open():
    with Sandbox(close_after=1, agent_close_signal=False) as sb:
        ask(sb, "c-silent", "оператор")
        sb.history.wait_for("operator_close")
        assert sb.jaicp.clients["c-silent"].livechat is True
        assert not sb.history.entries("livechat_finished")


def test_unconfigured_start_fails_like_the_real_thing_then_the_four_steps_fix_it():
    with Sandbox(configured=False) as sb:
        p = sb.profile
        assert p.jaicp.external_api_endpoint == "" and p.jivo.webhook_url == "" and p.jaicp.inbound_operator == ""
        assert p.jivo.chunked is False
        r = ask(sb, "c-u", "оператор")
        assert r.status_code == 200
        assert texts(r.json()["data"]["replies"])[-1] == sb.settings.no_operator_channel_text
        (dropped,) = sb.history.dropped
        assert dropped.detail["status"] == 400 and "no operator channel is linked" in dropped.detail["reason"]
        sb.set(no_operator_channel_status=400)
        r = ask(sb, "c-u", "оператор")
        assert r.status_code == 400 and r.json()["error"] == "chatadapter.livechat.no_operator_channel"

        # linked, but External API Endpoint still empty: messages go nowhere, recorded
        sb.configure_step(3, external_api_endpoint="")
        ask(sb, "c-u2", "оператор")
        gone = sb.history.wait_for(lambda e: e.kind == "dropped" and e.client_id == "c-u2")
        assert "External API Endpoint" in gone.detail["reason"]

        # and the Jivo webhook empty: the operator's answer goes nowhere, recorded
        sb.configure_step(3)
        ask(sb, "c-u3", "оператор")
        gone = sb.history.wait_for(lambda e: e.kind == "dropped" and e.client_id == "c-u3")
        assert "URL вашего сервера для Webhooks" in gone.detail["reason"]

        # walk the seed's steps through the admin HTTP API, as the notebook does
        jaicp, jivo = sb.jaicp_url, sb.jivo_url
        step1 = httpx.post(jaicp + "/admin/operator-channel", json={"name": "Jivo"}, timeout=5).json()
        step2 = httpx.post(jivo + "/admin/channel", json={"webhookUrl": step1["internalWebhookUrl"],
                                                         "chunked": True}, timeout=5).json()
        httpx.post(jaicp + "/admin/operator-channel", json={"externalApiEndpoint": step2["uniqueUrl"]}, timeout=5)
        httpx.post(jaicp + "/admin/inbound-channel", json={"operator": "Jivo"}, timeout=5)
        httpx.post(jaicp + "/admin/scenario", json={"switch": {"closeChatPhrases": ["/стоп"]}}, timeout=5)
        p = sb.profile
        assert p.jivo.webhook_url == p.jaicp.internal_webhook_url and p.jivo.chunked is True
        assert p.jaicp.external_api_endpoint == p.jivo.unique_url and p.jaicp.inbound_operator == "Jivo"
        r = ask(sb, "c-ok", "оператор")
        assert r.json()["data"]["replies"][1]["closeChatPhrases"] == ["/стоп"]
        assert events(sb, "c-ok")
        assert texts(ask(sb, "c-ok", "/стоп").json()["data"]["replies"]) == [sb.settings.livechat_finished_text]


def test_swapped_urls_open_a_live_chat_whose_messages_go_nowhere():
    with Sandbox(forward_retry_wait=0.0) as sb:
        sb.configure_step(3, external_api_endpoint=sb.profile.jaicp.internal_webhook_url)
        r = ask(sb, "c-swap", "оператор")
        assert r.json()["data"]["livechatStatus"] == {"enabled": True}
        assert sb.history.entries("status_check_failed", client_id="c-swap")
        gone = sb.history.wait_for(lambda e: e.kind == "dropped" and e.client_id == "c-swap")
        assert gone.detail["status"] == 400 and gone.detail["attempts"] == 1  # a 4xx is never resent
        sb.set(offline_when_status_fails=True)
        r = ask(sb, "c-swap2", "оператор")
        assert r.json()["data"]["replies"][-1]["text"] == sb.settings.no_operators_text


def test_jivo_5xx_makes_jaicp_resend_then_drop():
    with Sandbox(jivo_error_rate=1.0, forward_retries=2, forward_retry_wait=0.0, status_check=False) as sb:
        ask(sb, "c-5xx", "оператор")
        gone = sb.history.wait_for(lambda e: e.kind == "dropped" and e.client_id == "c-5xx")
        attempts = sb.history.entries("forward", client_id="c-5xx")
        assert [a.detail["status"] for a in attempts] == [503, 503, 503]
        assert gone.detail["attempts"] == 3


def test_dropped_connections_are_real_resets_and_the_server_survives():
    with Sandbox(jaicp_drop_rate=1.0) as sb:
        with pytest.raises(httpx.TransportError):
            ask(sb, "c-drop", "привет")
        assert sb.history.entries("fault")[0].detail["fault"] == "drop"
        sb.set(jaicp_drop_rate=0.0)
        assert ask(sb, "c-drop", "привет").status_code == 200


def test_jivo_dropping_connections_makes_jaicp_resend_then_drop():
    with Sandbox(jivo_drop_rate=1.0, forward_retries=1, forward_retry_wait=0.0) as sb:
        ask(sb, "c-jdrop", "оператор")
        assert sb.history.entries("status_check_failed", client_id="c-jdrop")
        gone = sb.history.wait_for(lambda e: e.kind == "dropped" and e.client_id == "c-jdrop")
        attempts = sb.history.entries("forward", client_id="c-jdrop")
        assert [a.detail["status"] for a in attempts] == [None, None]
        assert "RemoteProtocolError" in attempts[0].detail["reason"] and gone.detail["attempts"] == 2


def test_failing_webhook_is_retried_by_jivo_as_set():
    with Sandbox(webhook_error_rate=1.0, webhook_retries=1, webhook_retry_wait=0.0) as sb:
        assert sb.operator_say("c-wh", "алло") is False
        attempts = sb.history.entries("webhook_attempt", client_id="c-wh")
        assert [a.detail["status"] for a in attempts] == [503, 503]
        assert sb.history.entries("dropped", client_id="c-wh")
        # 4xx is never resent
        sb.set(webhook_error_rate=0.0)
        sb.configure_step(2, webhook_url=sb.jaicp_url + "/chatadapter/chatapi/webhook/jivosite/wrongtoken")
        assert sb.operator_say("c-wh2", "алло") is False
        assert [a.detail["status"] for a in sb.history.entries("webhook_attempt", client_id="c-wh2")] == [404]


def test_faults_are_deterministic_with_a_seed():
    def run(seed: int) -> list[int]:
        with Sandbox(seed=seed, jaicp_error_rate=0.5) as sb:
            with httpx.Client(timeout=TIMEOUT) as http:
                return [http.post(sb.profile.jaicp.chat_api_url, json={"clientId": "s", "query": "x"}).status_code
                        for _ in range(12)]

    first, second = run(7), run(7)
    assert first == second and set(first) == {200, 503}


def test_latency_is_added():
    import time

    with Sandbox(jivo_latency=0.3) as sb:
        start = time.monotonic()
        httpx.get(sb.profile.jivo.unique_url + "/status", timeout=5)
        assert time.monotonic() - start >= 0.3


@pytest.mark.sandbox(operators=1, photo_replies=True, reply_mode="script", scripted_replies=["Привет от {operator}"])
def test_fixture_marker_scripted_and_photo_replies(sandbox):
    ask(sandbox, "c-photo", "оператор")
    got: list[dict] = []
    for _ in range(3):
        got += events(sandbox, "c-photo", ts=got[-1]["event"]["timestamp"] if got else None)
        if len(got) >= 2:
            break
    replies = [e["event"]["data"]["replies"][0] for e in got]
    assert replies[0] == {"type": "text", "text": "Привет от Анна Смирнова"}
    assert replies[1]["type"] == "image" and replies[1]["imageUrl"] == sandbox.settings.photo_url
    assert got[0]["event"]["data"]["operatorInfo"]["firstName"] == "Анна"


def test_lifecycle_events_are_opt_in():
    with Sandbox(lifecycle_events=True) as sb:
        ask(sb, "c-life", "оператор")
        sb.history.wait_for(lambda e: e.kind == "agent_joined" and e.side == "jaicp")
    with Sandbox() as sb:
        ask(sb, "c-life", "оператор")
        sb.history.wait_for("operator_relayed")
        assert not sb.history.entries("agent_joined")
