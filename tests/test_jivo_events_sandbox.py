"""The sandbox's Jivo posts Webhooks API events when `webhooks_api_url` is set (off by default):
a recorder receives them over real HTTP, and they load and join with the sandbox's Reporter pages."""

from __future__ import annotations

import httpx

from jivo_ops.channel.jaicp import ReporterClient
from jivo_ops.logs import from_reporter, load
from jivo_ops.recorder.server import Recorder
from jivo_ops.sandbox import Sandbox

TIMEOUT = 10


def talk_to_an_operator(sb, client_id: str) -> None:
    r = httpx.post(sb.profile.jaicp.chat_api_url, json={"clientId": client_id, "query": "оператор"},
                   timeout=TIMEOUT)
    assert r.status_code == 200
    sb.history.wait_for(lambda e: e.kind == "operator_message" and e.client_id == client_id)


def test_accept_and_finish_events_reach_the_recorder_and_join_the_jaicp_side(tmp_path):
    store = tmp_path / "webhooks.sqlite"
    with Recorder(store) as rec, Sandbox(operators=1, webhooks_api_url=rec.url) as sb:
        for client_id, rate in (("wh-1", "positive"), ("wh-2", None)):
            talk_to_an_operator(sb, client_id)
            body = {"clientId": client_id, **({"rate": rate} if rate else {})}
            assert httpx.post(sb.jivo_url + "/admin/close", json=body, timeout=TIMEOUT).status_code == 200
        sb.history.wait_for(lambda e: e.kind == "webhooks_api_attempt" and e.client_id == "wh-2"
                            and e.text == "chat_finished" and e.detail["status"] == 200)
        assert httpx.post(sb.jivo_url + "/admin/close", json={"clientId": "wh-3", "rate": "5"},
                          timeout=TIMEOUT).status_code == 400
        with ReporterClient.from_profile(sb.profile) as reporter:
            pages = [p for cid in ("wh-1", "wh-2") for p in from_reporter(reporter, client_id=cid)]
        operator = sb.settings.names[0]
    hooks = load(store)
    events = hooks.messages[hooks.messages["kind"] == "event"]
    assert sorted(events["text"]) == ["chat_accepted", "chat_accepted", "chat_finished", "chat_finished",
                                      "chat_rate:positive"]
    logs = load(pages, store)
    assert set(logs.jivo_pairs["rule"]) == {"id"} and sorted(logs.jivo_pairs["chat"]) == ["wh-1", "wh-2"]
    t = logs.transfers().set_index("chat")
    assert t["accepted_at"].notna().all() and (t["accepted_at"] >= t["switched_at"]).all()
    assert set(t["operator"]) == {operator}
    assert t.loc["wh-1", "rating"] == "positive" and t["rating"].isna().sum() == 1
    assert t["closed_by"].tolist() == ["operator", "operator"]
    k = logs.kpis().iloc[0]
    assert (k["switches"], k["answered"], k["rated_num"], k["positive_num"]) == (2, 2, 1, 1)


def test_no_webhooks_api_events_by_default():
    with Sandbox(operators=1) as sb:
        talk_to_an_operator(sb, "wh-off")
        assert not sb.history.entries("webhooks_api_attempt")
