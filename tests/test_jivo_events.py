"""Jivo Webhooks API events (written from the documented shapes): the loader, `jivo-ops logs FILE`,
a recorder store that received them over real HTTP, and the join with the JAICP side."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pandas as pd

from jivo_ops.cli import main
from jivo_ops.logs import load
from jivo_ops.recorder.server import Recorder

FIX = Path(__file__).parent / "fixtures" / "jivo_events"
WEBHOOKS = FIX / "webhooks.jsonl"
JAICP = FIX / "jaicp.jsonl"
UTC = "2026-03-02T{}+00:00"


def at(hms: str) -> pd.Timestamp:
    return pd.Timestamp(UTC.format(hms))


def test_events_become_operator_client_and_event_rows_with_rejected_rows_kept():
    logs = load(WEBHOOKS)
    m = logs.messages
    assert set(m["source"]) == {"webhooks"}
    c1 = m[m["session"] == "jivo:101"]
    assert list(zip(c1["author"], c1["kind"], c1["text"])) == [
        ("CLIENT", "text", "Хочу вернуть заказ 1"), ("SYSTEM", "event", "chat_accepted"),
        ("OPERATOR", "text", "Здравствуйте, сейчас посмотрю"), ("SYSTEM", "event", "chat_updated"),
        ("CLIENT", "text", "спасибо"), ("OPERATOR", "text", "Пожалуйста"),
        ("SYSTEM", "event", "chat_finished"), ("SYSTEM", "event", "chat_rate:positive")]
    assert set(c1["chat"]) == {"c1"}  # user_token is the JAICP client id
    assert c1[c1["author"] == "OPERATOR"]["operator"].tolist() == ["Анна Смирнова"] * 2
    assert c1["ts"].iloc[1] == at("10:00:16")  # chat_accepted: the envelope's received_at
    assert set(m[m["session"] == "jivo:102"]["chat"]) == {"jivo:102"}  # no user_token, no JAICP side
    offline = m[m["session"] == "jivo:offline-2614"]
    assert offline[offline["author"] == "CLIENT"]["text"].tolist() == ["Перезвоните мне"]
    assert logs.rejected[["row", "reason"]].values.tolist() == [
        [4, "missing field 'event_name' (not a Jivo Webhooks API event)"],
        [6, "chat_finished chat.messages[1]: unknown type 'system' (expected 'visitor' or 'agent')"],
        [11, "not valid JSON: Expecting ',' delimiter: line 1 column 47 (char 46)"]]


def test_cli_logs_reads_an_event_file(capsys):
    assert main(["logs", str(WEBHOOKS), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    rows = json.loads(out)
    assert len(rows) == 20 and {r["source"] for r in rows} == {"webhooks"}
    assert "3 rows rejected (first: " in err and "row 4: missing field 'event_name'" in err


def test_a_recorder_store_that_received_the_events_over_http(tmp_path):
    store = tmp_path / "hooks.sqlite"
    lines = [json.loads(line) for line in WEBHOOKS.read_text(encoding="utf-8").splitlines()[:3]]
    with Recorder(store) as rec:
        for envelope in lines:
            assert httpx.post(rec.url, json=envelope["body"], timeout=5).status_code == 200
        agent_message = {"sender": {"id": "7", "name": "Анна Смирнова"}, "recipient": {"id": "c1"},
                         "message": {"type": "text", "text": "Чат API тоже здесь", "id": "m-1"}}
        assert httpx.post(rec.url, json=agent_message, timeout=5).status_code == 200
    logs = load(store)
    by_source = logs.messages.groupby("source", observed=True)["text"].agg(list).to_dict()
    assert by_source["recorder"] == ["Чат API тоже здесь"]
    assert {"chat_accepted", "chat_updated", "chat_finished", "chat_rate:positive", "Пожалуйста"} <= set(
        by_source["webhooks"])
    accepted = logs.messages[logs.messages["text"] == "chat_accepted"]
    assert accepted["ts"].notna().all()  # the recorder's receipt time


def test_the_join_makes_each_jaicp_switch_and_its_jivo_chat_one_transfer():
    logs = load(JAICP, WEBHOOKS)
    assert logs.jivo_pairs.values.tolist() == [["jivo:101", "c1", "id"], ["jivo:102", "c2", "text"],
                                               ["jivo:106", "c6", "id"]]
    # both sides logged the client's words: kept once (JAICP's row, the richer source)
    assert logs.duplicates_removed == 4
    t = logs.transfers().set_index("chat")
    assert t.loc["c1", "switched_at"] == at("10:00:06") and t.loc["c1", "accepted_at"] == at("10:00:16")
    assert t.loc["c2", "accepted_at"] == at("11:00:30") and t.loc["c2", "paired_by"] == "text"
    assert t["operator"].fillna("-").tolist() == ["Анна Смирнова", "Борис", "-", "-", "Анна Смирнова"]
    assert t["rating"].astype(object).where(t["rating"].notna(), None).tolist() == [
        "positive", "negative", None, None, None]
    assert t.loc["c1", "closed_at"] == at("10:02:06") and t.loc["c1", "closed_by"] == "operator"
    assert t.loc["c3", "outcome"] == "no_operators" and pd.isna(t.loc["c3", "jivo_chat"])


def test_a_jivo_chat_whose_words_match_two_switches_stays_unpaired(tmp_path):
    jaicp = [json.loads(line) for line in JAICP.read_text(encoding="utf-8").splitlines()]
    twin = [dict(r, chat="c2b", session="s-c2b", message_id=f"b{i}") for i, r in enumerate(jaicp)
            if r["chat"] == "c2"]
    path = tmp_path / "jaicp.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in jaicp + twin), encoding="utf-8")
    logs = load(path, WEBHOOKS)
    assert "jivo:102" not in set(logs.jivo_pairs["jivo_chat"])
    assert set(logs.messages[logs.messages["session"] == "jivo:102"]["chat"]) == {"jivo:102"}
