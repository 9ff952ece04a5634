"""Per-transfer, per-operator and per-period tables, filters and exports, on hand-written fixtures."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jivo_ops.errors import SourceError
from jivo_ops.logs import export, filter_frame, load, per_operator, per_period, transfers_table

FIX = Path(__file__).parent / "fixtures" / "logs"


@pytest.fixture(scope="module")
def logs():
    return load(FIX, tz="Europe/Moscow")


@pytest.fixture(scope="module")
def transfers(logs):
    return logs.transfers()


def as_tuples(t: pd.DataFrame) -> list[tuple]:
    out = []
    for r in t.itertuples(index=False):
        out.append((r.chat, r.switched_at.isoformat(),
                    None if pd.isna(r.first_operator_at) else r.first_operator_at.isoformat(),
                    None if math.isnan(r.wait_s) else r.wait_s,
                    None if pd.isna(r.closed_at) else r.closed_at.isoformat(),
                    None if pd.isna(r.closed_by) else r.closed_by,
                    None if pd.isna(r.operator) else r.operator, r.outcome,
                    (r.n_client, r.n_bot, r.n_operator, r.n_system)))
    return out


def test_per_transfer_figures_from_every_source(transfers):
    assert as_tuples(transfers) == [
        # Reporter pages: nobody online
        ("c-2", "2026-11-25T08:00:00+00:00", None, None, None, None, None, "no_operators", (0, 1, 0, 1)),
        # cp1251 export in Moscow time: answered after 42.25 s, closed by the operator (livechatFinished)
        ("c-3", "2026-11-25T10:00:00+00:00", "2026-11-25T10:00:42.250000+00:00", 42.25,
         "2026-11-25T10:05:00+00:00", "operator", "Иван Петров", "answered", (0, 0, 1, 1)),
        # Reporter page: answered after 5.5 s, the client sent /closeChat
        ("c-1", "2026-11-25T10:00:10+00:00", "2026-11-25T10:00:15.500000+00:00", 5.5,
         "2026-11-25T10:01:00+00:00", "client", "Анна Смирнова", "answered", (1, 1, 1, 1)),
        # transfer JSONL: the same figures the runner wrote (switched 12:00:01.3, operator 12:00:03.8)
        ("tr-1", "2026-11-25T12:00:01.300000+00:00", "2026-11-25T12:00:03.800000+00:00", 2.5,
         "2026-11-25T12:00:05+00:00", "client", "Оператор 1", "answered", (1, 0, 1, 0)),
        ("tr-2", "2026-11-25T12:10:00.500000+00:00", None, None, None, None, None, "error", (0, 0, 0, 1)),
        # events JSONL
        ("e-1", "2026-11-25T14:00:00.250000+00:00", "2026-11-25T14:00:20.250000+00:00", 20.0,
         None, None, "Олег", "answered", (0, 0, 1, 0)),
    ]
    assert list(transfers["transfer_no"]) == [1] * 6
    assert str(transfers["switched_at"].dtype) == "datetime64[us, UTC]"
    assert list(transfers["outcome"].cat.categories) == ["answered", "no_operators", "no_switch", "unanswered", "error"]


def test_per_transfer_matches_what_the_transfer_runner_recorded():
    import json

    record = json.loads((FIX / "transfers.jsonl").read_text(encoding="utf-8").splitlines()[0])
    t = load(FIX / "transfers.jsonl").transfers()
    row = t[t["chat"] == record["chat"]].iloc[0]
    assert row["outcome"] == record["outcome"]
    assert row["switched_at"] == pd.Timestamp(record["switched_at"])
    assert row["first_operator_at"] == pd.Timestamp(record["first_operator_at"])
    assert row["closed_at"] == pd.Timestamp(record["closed_at"])
    assert row["closed_by"] == record["closed_by"] and row["operator"] == record["operator"]


def test_two_switches_in_one_chat_and_an_unanswered_one():
    ts = pd.Timestamp("2026-11-25T10:00:00Z")
    s = lambda sec: (ts + pd.Timedelta(seconds=sec)).isoformat()  # noqa: E731
    events = [
        {"ts": s(0), "chat": "x", "author": "BOT", "kind": "switch"},
        {"ts": s(0), "chat": "y", "author": "CLIENT", "kind": "text", "text": "hello"},
        {"ts": s(30), "chat": "x", "author": "OPERATOR", "kind": "text", "text": "Да?", "operator": "Оля"},
        {"ts": s(40), "chat": "x", "author": "OPERATOR", "kind": "photo", "text": "u", "operator": "Оля"},
        {"ts": s(60), "chat": "x", "author": "SYSTEM", "kind": "event", "text": "livechatFinished"},
        {"ts": s(100), "chat": "x", "author": "BOT", "kind": "switch"},
        {"ts": s(110), "chat": "x", "author": "CLIENT", "kind": "text", "text": "Алло?"},
    ]
    t = transfers_table(load(events).messages)
    assert as_tuples(t) == [
        ("x", s(0), s(30), 30.0, s(60), "operator", "Оля", "answered", (0, 0, 2, 1)),
        ("x", s(100), None, None, None, None, None, "unanswered", (1, 0, 0, 0)),
    ]
    assert list(t["transfer_no"]) == [1, 2]
    assert len(transfers_table(load(events[1:2]).messages)) == 0  # no switch, no transfer


def test_per_operator(logs, transfers):
    table = per_operator(transfers, logs.messages).set_index("operator")
    assert sorted(table.index) == ["Анна Смирнова", "Иван Петров", "Олег", "Оператор 1"]
    assert table.loc["Иван Петров", "transfers"] == 1
    assert table.loc["Иван Петров", "median_wait_s"] == 42.25
    assert table.loc["Иван Петров", "closed_by_operator"] == 1
    assert table.loc["Анна Смирнова", "closed_by_operator"] == 0
    assert table.loc["Анна Смирнова", "messages"] == 1 and table.loc["Анна Смирнова", "chats"] == 1


def test_per_hour_and_day(transfers):
    hourly = per_period(transfers, "h")
    assert [p.hour for p in hourly["period"]] == [8, 9, 10, 11, 12, 13, 14]  # empty hours included
    assert list(hourly["transfers"]) == [1, 0, 2, 0, 2, 0, 1]
    assert list(hourly["answered"]) == [0, 0, 2, 0, 1, 0, 1]
    assert list(hourly["error"]) == [0, 0, 0, 0, 1, 0, 0]
    assert hourly.loc[2, "median_wait_s"] == pytest.approx((42.25 + 5.5) / 2)
    daily = per_period(transfers, "D")
    assert len(daily) == 1 and daily.loc[0, "transfers"] == 6 and daily.loc[0, "no_operators"] == 1


def test_filters(logs, transfers):
    assert list(filter_frame(transfers, outcome="answered")["chat"]) == ["c-3", "c-1", "tr-1", "e-1"]
    assert list(filter_frame(transfers, operator=["Олег", "Иван Петров"])["chat"]) == ["c-3", "e-1"]
    assert list(filter_frame(transfers, since="2026-11-25T12:00:00Z", until="2026-11-25T14:00:00Z")["chat"]) \
        == ["tr-1", "tr-2"]
    # naive = UTC; offsets are honoured
    assert list(filter_frame(transfers, since="2026-11-25T13:00:00+03:00", until="2026-11-25 10:00:05")["chat"]) \
        == ["c-3"]
    assert set(filter_frame(logs.messages, chat="c-1")["chat"]) == {"c-1"}
    assert len(logs.filter(chat=["c-1", "c-2"]).messages) == 13
    assert len(logs.filter(since="1h").messages) == 0  # all fixtures are in the past
    with pytest.raises(SourceError, match="unknown outcome 'lost'"):
        filter_frame(transfers, outcome="lost")
    with pytest.raises(SourceError, match="cannot read 'yesterday-ish' as a time"):
        filter_frame(transfers, since="yesterday-ish")
    with pytest.raises(SourceError, match="no such column"):
        filter_frame(logs.messages, outcome="answered")


@pytest.mark.parametrize("suffix", ["csv", "parquet", "xlsx"])
def test_export_transfers(tmp_path, transfers, suffix):
    path = export(transfers, tmp_path / f"t.{suffix}")
    assert path.stat().st_size > 0
    if suffix == "csv":
        back = pd.read_csv(path)
        assert back.loc[back["chat"] == "c-3", "wait_s"].item() == 42.25
        assert back.loc[back["chat"] == "c-3", "switched_at"].item() == "2026-11-25T10:00:00.000000+0000"
    elif suffix == "parquet":
        back = pd.read_parquet(path)
        assert str(back["switched_at"].dtype) == "datetime64[us, UTC]"
        assert list(back["outcome"].astype(str)) == list(transfers["outcome"].astype(str))
    else:
        import openpyxl

        ws = openpyxl.load_workbook(path, read_only=True).active
        values = list(ws.iter_rows(values_only=True))
        assert values[0][:4] == ("chat", "session", "transfer_no", "switched_at")
        assert values[2][0] == "c-3" and values[2][5] == 42.25
        assert values[2][3] == pd.Timestamp("2026-11-25 10:00:00").to_pydatetime()  # UTC, naive for Excel
    with pytest.raises(SourceError, match="cannot export"):
        export(transfers, tmp_path / "t.doc")


def test_summary(logs):
    s = logs.summary()
    assert s["messages"] == 39 and s["chats"] == 9 and s["transfers"] == 6
    assert s["outcomes"] == {"answered": 4, "no_operators": 1, "no_switch": 0, "unanswered": 0, "error": 1}
    assert s["median_wait_s"] == pytest.approx((5.5 + 20.0) / 2)
    assert s["rejected"] == 9 and s["duplicates_removed"] == 2


def test_an_event_logged_at_the_switch_instant_belongs_to_it():
    # JAICP may log noLivechatOperatorsOnline in the same turn as the switch, even before it
    t0 = "2026-11-25T10:00:00.955Z"
    events = [
        {"ts": t0, "chat": "z", "author": "SYSTEM", "kind": "event", "text": "noLivechatOperatorsOnline"},
        {"ts": t0, "chat": "z", "author": "CLIENT", "kind": "text", "text": "Позовите оператора"},
        {"ts": t0, "chat": "z", "author": "BOT", "kind": "switch"},
    ]
    t = transfers_table(load(events).messages)
    assert list(t["outcome"]) == ["no_operators"] and (t["n_system"] == 1).all() and (t["n_client"] == 0).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "ё"])), max_size=30), st.data())
def test_chats_hashed_in_two_parts_number_as_one_hash_would(values, data):
    """The table hashes its chats in two parts at once (two cores); joined, the numbers are pd.factorize's."""
    from jivo_ops.logs.tabulate import _joined_codes

    array = pa.array(values, type=pa.large_string())
    cut = data.draw(st.integers(0, len(values)))
    joined = _joined_codes(pc.dictionary_encode(array.slice(0, cut)), pc.dictionary_encode(array.slice(cut)))
    assert joined.tolist() == pd.factorize(pd.array(values, dtype="string[pyarrow]"))[0].tolist()
