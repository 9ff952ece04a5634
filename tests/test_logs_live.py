"""Logs from the real producers: transfer results and the Reporter API of a running sandbox, and a
store written by a running recorder (contracts C and D as implemented, not as imagined)."""

from __future__ import annotations

import json

import httpx
import pandas as pd

import jivo_ops
from jivo_ops.channel.jaicp import ReporterClient
from jivo_ops.logs import from_reporter, load
from jivo_ops.recorder.server import Recorder
from jivo_ops.sandbox import Sandbox
from jivo_ops.transfer import run_transfers


def test_transfer_batch_and_reporter_pages_of_the_same_chats():
    with Sandbox(operators=2) as sb:
        batch = run_transfers(sb, clients=3, concurrency=3, step_timeout=5.0, progress=False)
        assert [r.outcome for r in batch] == ["answered"] * 3
        with ReporterClient(sb.profile.jaicp.reporter_url, sb.profile.jaicp.reporter_token) as reporter:
            pages = [p for r in batch
                     for p in from_reporter(reporter, client_id=r.chat, bot_id=sb.profile.jaicp.bot_id, size=2)]
    from_runner = jivo_ops.load_logs(batch)
    t = from_runner.transfers().set_index("chat")
    assert len(t) == 3 and set(t["outcome"]) == {"answered"}
    for r in batch:
        row = t.loc[r.chat]
        assert row["switched_at"] == pd.Timestamp(r.switched_at)
        assert row["first_operator_at"] == pd.Timestamp(r.first_operator_at)
        assert row["wait_s"] == (r.first_operator_at - r.switched_at).total_seconds()
        assert row["operator"] == r.operator and row["closed_by"] == r.closed_by

    from_reporter_pages = load(pages)
    assert len(from_reporter_pages.rejected) == 0
    rt = from_reporter_pages.transfers()
    assert len(rt) == 3 and set(rt["outcome"]) == {"answered"}
    assert set(from_reporter_pages.messages["author"]) == {"CLIENT", "BOT", "OPERATOR", "SYSTEM"}

    both = load(pages, batch)
    # the client's messages and the operator's answers are in both sources: kept once, counted
    assert both.duplicates_removed > 0
    assert len(both.messages) == len(from_runner.messages) + len(from_reporter_pages.messages) \
        - both.duplicates_removed
    assert len(both.transfers()) == 3  # each switch once, though both sources logged it


def test_a_store_written_by_the_recorder(tmp_path):
    store = tmp_path / "rec.sqlite"
    body = {"sender": {"id": "agent-9", "name": "Пётр"}, "recipient": {"id": "client-42"},
            "message": {"type": "text", "id": "m-1", "text": "Здравствуйте! Чем помочь?"}}
    raw = json.dumps(body, ensure_ascii=False).encode()
    with Recorder(store) as rec, httpx.Client(timeout=10) as client:
        assert client.post(rec.url, content=raw, headers={"Content-Type": "application/json"}).status_code == 200
        chunks = iter([raw[:20], raw[20:]])  # Transfer-Encoding: chunked
        assert client.post(rec.url, content=chunks, headers={"Content-Type": "application/json"}).status_code == 200
        assert client.post(rec.url, content=b"{broken").status_code == 400
        logs = load(store)  # while the recorder still runs
    assert [(r.chat, r.author, r.kind, r.text, r.operator) for r in logs.messages.itertuples()] == [
        ("client-42", "OPERATOR", "text", "Здравствуйте! Чем помочь?", "Пётр")] * 2
    assert logs.duplicates_removed == 0  # the same id twice but at different times: two deliveries
    assert len(logs.rejected) == 1 and "not UTF-8 JSON" in logs.rejected.loc[0, "reason"]


def test_offline_operators_show_as_no_operators_in_both_sources():
    with Sandbox(operators=2, online=False) as sb:
        batch = run_transfers(sb, clients=2, concurrency=2, step_timeout=5.0, progress=False)
        with ReporterClient.from_profile(sb) as reporter:  # the profile's bot_id goes along
            pages = [p for r in batch for p in from_reporter(reporter, client_id=r.chat)]
    assert [r.outcome for r in batch] == ["no_operators"] * 2
    for logs in (load(batch), load(pages)):
        t = logs.transfers()
        assert sorted(t["chat"]) == sorted(r.chat for r in batch)
        assert set(t["outcome"]) == {"no_operators"} and t["wait_s"].isna().all()
