"""Leg probes against the sandbox: each leg working, and each broken the way users break it."""

from __future__ import annotations

import json

import pytest

from jivo_ops.setup.probes import format_probe, probe_jaicp_leg, probe_jivo_leg
from jivo_ops.recorder.server import Recorder
from jivo_ops.sandbox import Sandbox

# The assertions are the English sentences of the code (issue 15 §3).
pytestmark = pytest.mark.usefixtures("english")


# -- the JAICP leg (act as Jivo) --------------------------------------------------------------


@pytest.mark.parametrize("chunked", [True, False])
def test_jaicp_leg_agent_message_reaches_the_client(chunked):
    with Sandbox() as sb:
        result = probe_jaicp_leg(sb, chunked=chunked, timeout=5)
        received = sb.history.entries("webhook_received")
    assert result.ok, format_probe(result)
    assert [e.what for e in result.exchanges] == ["agent message", "client /events"]
    sent = result.exchanges[0].sent
    assert sent["recipient"] == {"id": result.client_id} and sent["message"]["type"] == "text"
    assert result.exchanges[0].status == 200 and result.exchanges[0].latency_s > 0
    assert sent["message"]["text"] in json.dumps(result.exchanges[1].received, ensure_ascii=False)
    assert ("chunked" in received[-1].text) is chunked  # the framing really went out as asked
    assert "JAICP leg works" in result.next_check


def test_jaicp_leg_with_a_stale_webhook_token_names_the_fields():
    with Sandbox() as sb:
        profile = sb.profile.replace(jaicp={"internal_webhook_url": sb.jaicp.internal_webhook_url[:-3] + "xyz"})
        result = probe_jaicp_leg(profile, timeout=2)
    assert not result.ok
    assert result.exchanges[-1].status == 404
    assert "«Internal Webhook Url»" in result.next_check and "«URL вашего сервера для Webhooks»" in result.next_check


def test_jaicp_leg_not_relayed_outside_a_live_chat_suggests_switch_first():
    with Sandbox(relay_outside_livechat=False) as sb:
        plain = probe_jaicp_leg(sb, timeout=1.5)
        switched = probe_jaicp_leg(sb, timeout=5, switch_first=True)
    assert not plain.ok and "--switch-first" in plain.next_check
    assert plain.exchanges[-1].note.startswith("the agent message did not arrive")
    assert switched.ok, format_probe(switched)
    assert [e.what for e in switched.exchanges] == ["open live chat", "agent message", "client /events"]


def test_jaicp_leg_unreachable_host():
    with Sandbox() as sb:
        profile = sb.profile
    result = probe_jaicp_leg(profile, timeout=1)  # the sandbox is gone: nothing listens there now
    assert not result.ok and result.exchanges[0].status is None
    assert "not reachable" in result.next_check


# -- the Jivo leg (act as JAICP) --------------------------------------------------------------


def test_jivo_leg_without_recorder_checks_status_and_sends():
    with Sandbox() as sb:
        result = probe_jivo_leg(sb, timeout=2)
        got = [e for e in sb.history.entries("jivo_received") if e.client_id == result.client_id]
    assert result.ok, format_probe(result)
    assert [(e.what, e.status, e.received) for e in result.exchanges][:1] == [("status", 200, "1")]
    assert got and got[0].text == result.exchanges[1].sent["message"]["text"]
    assert "«URL вашего сервера для Webhooks»" in result.next_check


def test_jivo_leg_offline_says_put_an_operator_online():
    with Sandbox(online=False) as sb:
        result = probe_jivo_leg(sb, timeout=2)
    assert not result.ok and result.exchanges[0].received == "0"
    assert "online" in result.next_check


def test_jivo_leg_wrong_unique_url():
    with Sandbox() as sb:
        profile = sb.profile.replace(jivo={"unique_url": sb.jivo_url + "/AAAAAAAAAAAAAAAA/BBBBBBBBBB"})
        result = probe_jivo_leg(profile, timeout=2)
    assert not result.ok and result.exchanges[0].status == 404
    assert "«Уникальный URL»" in result.next_check


def test_jivo_leg_sees_the_operator_reply_in_a_recorder_tap(tmp_path):
    store = tmp_path / "hooks.sqlite"
    with Sandbox() as sb, Recorder(store, forward=sb.jaicp.internal_webhook_url) as recorder:
        sb.configure_step(2, webhook_url=recorder.url)
        result = probe_jivo_leg(sb, recorder=recorder, timeout=5)
    assert result.ok, format_probe(result)
    reply = result.exchanges[-1]
    assert reply.what == "operator reply (recorder)" and reply.received["recipient"]["id"] == result.client_id
    assert "Jivo leg works" in result.next_check


def test_jivo_leg_webhook_pointing_elsewhere_times_out_with_the_field_named(tmp_path):
    store = tmp_path / "hooks.sqlite"
    with Sandbox() as sb, Recorder(store) as recorder:  # Jivo still posts to JAICP, not to the recorder
        result = probe_jivo_leg(sb, recorder=store, timeout=1)
    assert not result.ok
    assert "nothing for" in result.exchanges[-1].note
    assert "«URL вашего сервера для Webhooks»" in result.next_check


def test_jivo_leg_chunked_off_in_jivo_is_named(tmp_path):
    store = tmp_path / "hooks.sqlite"
    with Sandbox() as sb, Recorder(store, forward=sb.jaicp.internal_webhook_url) as recorder:
        sb.configure_step(2, webhook_url=recorder.url, chunked=False)
        profile = sb.profile.replace(jivo={"chunked": True})  # what the seed asks for
        result = probe_jivo_leg(profile, recorder=store, timeout=5)
    assert not result.ok and "«Chunked кодировка в запросах»" in result.next_check


def test_probe_result_json_and_text_hide_tokens():
    with Sandbox() as sb:
        result = probe_jaicp_leg(sb, timeout=5)
        secrets = [sb.jaicp.webhook_token, sb.jaicp.chat_token]
    text = format_probe(result) + json.dumps(result.to_json(), ensure_ascii=False) + repr(result) + result._repr_html_()
    assert not any(secret in text for secret in secrets)
    assert result.to_json()["leg"] == "jaicp" and result.to_json()["ok"] is True
