"""jivo_ops.logs loaders: every source into the one schema, with exact rows, rejected rows,
de-duplication, encodings, time zones and clear errors."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jivo_ops.errors import SourceError
from jivo_ops.logs import COLUMNS, load
from jivo_ops.logs.schema import AUTHOR_DTYPE, KIND_DTYPE, STRING_DTYPE

FIX = Path(__file__).parent / "fixtures" / "logs"


def rows(frame: pd.DataFrame, cols=("ts", "chat", "author", "kind", "text", "operator")) -> list[tuple]:
    out = []
    for rec in frame[list(cols)].itertuples(index=False):
        vals = []
        for c, v in zip(cols, rec):
            if v is pd.NA or v is None or (not isinstance(v, str) and pd.isna(v)):
                vals.append(None)
            elif c == "ts":
                vals.append(v.isoformat())
            else:
                vals.append(str(v))
        out.append(tuple(vals))
    return out


def reasons(logs) -> list[tuple]:
    assert list(logs.rejected.columns) == ["file", "row", "reason", "origin"]
    assert (logs.rejected["file"] == logs.rejected["origin"]).all()
    return [(Path(f).name, r, why) for f, r, why in logs.rejected[["file", "row", "reason"]].itertuples(index=False)]


def assert_schema(frame: pd.DataFrame) -> None:
    assert tuple(frame.columns[: len(COLUMNS)]) == COLUMNS
    assert str(frame["ts"].dtype) == "datetime64[us, UTC]"
    assert frame["author"].dtype == AUTHOR_DTYPE
    assert frame["kind"].dtype == KIND_DTYPE
    for col in ("chat", "session", "text", "operator", "message_id"):
        assert frame[col].dtype == STRING_DTYPE, col
    assert isinstance(frame["source"].dtype, pd.CategoricalDtype)


def test_reporter_page_gives_client_bot_switch_operator_and_system_rows():
    logs = load(FIX / "reporter_by_client.json")
    assert_schema(logs.messages)
    assert rows(logs.messages) == [
        ("2026-11-25T10:00:00+00:00", "c-1", "CLIENT", "text", "/start", None),
        ("2026-11-25T10:00:00+00:00", "c-1", "BOT", "text", "Здравствуйте! Чем помочь?", None),
        ("2026-11-25T10:00:10+00:00", "c-1", "CLIENT", "text", "Позовите оператора", None),
        ("2026-11-25T10:00:10+00:00", "c-1", "BOT", "text", "Соединяю с оператором", None),
        ("2026-11-25T10:00:10+00:00", "c-1", "BOT", "switch", "Клиент просит оператора", None),
        ("2026-11-25T10:00:15.500000+00:00", "c-1", "OPERATOR", "text", "Здравствуйте, я Анна", "Анна Смирнова"),
        ("2026-11-25T10:01:00+00:00", "c-1", "CLIENT", "text", "/closeChat", None),
        ("2026-11-25T10:01:00+00:00", "c-1", "SYSTEM", "event", "livechatFinished", None),
        ("2026-11-25T10:01:00+00:00", "c-1", "BOT", "text", "С вами снова бот", None),
    ]
    assert set(logs.messages["session"]) == {"s1"}
    assert list(logs.messages["message_id"][:3]) == ["q1:q", "q1:r0", "q2:q"]
    assert reasons(logs) == [("reporter_by_client.json", 5, "missing field 'timestamp'"),
                             ("reporter_by_client.json", 6, "not a JSON object but str")]
    assert "9 messages" in repr(logs) and "2 rejected" in repr(logs)


def test_reporter_pages_list_with_mixed_zones_and_epoch_millis():
    logs = load(FIX / "reporter_by_session.json")
    assert rows(logs.messages, ("ts", "chat", "author", "kind", "text")) == [
        ("2026-11-25T08:00:00+00:00", "c-2", "CLIENT", "text", "оператор"),  # 11:00+03:00
        ("2026-11-25T08:00:00+00:00", "c-2", "BOT", "switch", "оператор"),
        ("2026-11-25T08:00:02+00:00", "c-2", "SYSTEM", "event", "noLivechatOperatorsOnline"),  # epoch ms
        ("2026-11-25T08:00:02+00:00", "c-2", "BOT", "text", "Все операторы заняты"),
    ]
    assert len(logs.rejected) == 0


def test_reporter_pages_as_parsed_values():
    page = json.loads((FIX / "reporter_by_client.json").read_text(encoding="utf-8"))
    logs = load(page)
    assert len(logs.messages) == 9 and len(logs.rejected) == 2
    assert logs.messages["source"].unique().tolist() == ["reporter"]


def test_cp1251_semicolon_export_with_russian_header_in_moscow_time():
    logs = load(FIX / "export_cp1251.csv", tz="Europe/Moscow")
    assert rows(logs.messages) == [
        ("2026-11-25T10:00:00+00:00", "c-3", "CLIENT", "text", "Хочу оператора", None),
        ("2026-11-25T10:00:00+00:00", "c-3", "BOT", "text", "Соединяю", None),
        ("2026-11-25T10:00:00+00:00", "c-3", "BOT", "switch", "Хочу оператора", None),
        ("2026-11-25T10:00:42.250000+00:00", "c-3", "OPERATOR", "text", "Добрый день! Иван на связи", "Иван Петров"),
        ("2026-11-25T10:05:00+00:00", "c-3", "SYSTEM", "event", "livechatFinished", None),
    ]
    assert reasons(logs) == [("export_cp1251.csv", 5, "column 'Дата': cannot read timestamp '25.11.2026 13:06' "
                                                      "as %Y-%m-%d %H:%M:%S.%f")]
    assert set(logs.messages["source"]) == {"export"}


def test_headerless_export_in_the_documented_column_order():
    logs = load(FIX / "export_noheader.csv")
    assert rows(logs.messages) == [
        ("2026-11-25T09:30:00+00:00", "c-7", "CLIENT", "text", "Когда доставка?", None),
        ("2026-11-25T09:30:00+00:00", "c-7", "BOT", "text", "Завтра до 18:00", None),
        ("2026-11-25T09:31:00+00:00", "c-7", "CLIENT", "text", "Спасибо", None),
    ]
    assert list(logs.messages["message_id"]) == ["q71:q", "q71:a", "q72:q"]


def test_export_with_an_explicit_delimiter_and_date_format(tmp_path):
    path = tmp_path / "tab.csv"
    path.write_text("timestamp\tclientId\tquestion\n25/11/2026 10:00\tc-8\tПривет\n", encoding="utf-8")
    logs = load(path, delimiter="\t", date_format="dd/MM/yyyy HH:mm")
    assert rows(logs.messages) == [("2026-11-25T10:00:00+00:00", "c-8", "CLIENT", "text", "Привет", None)]


def test_export_with_columns_named_by_the_caller(tmp_path):
    path = tmp_path / "custom.csv"
    path.write_text("when,who,said\n2026-11-25 10:00:00.000,c-9,Добрый день\n", encoding="utf-8")
    logs = load(path, columns=["timestamp", "clientId", "question"], header=True)
    assert rows(logs.messages) == [("2026-11-25T10:00:00+00:00", "c-9", "CLIENT", "text", "Добрый день", None)]


def test_export_missing_a_column_names_file_row_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,question,answer\n2026-11-25 10:00:00.000,hi,hello\n", encoding="utf-8")
    with pytest.raises(SourceError) as err:
        load(path)
    assert str(err.value) == f"{path}, row 1, column 'clientId': missing column (needed to place each message in time and chat)"


def test_xlsx_export_written_with_openpyxl(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Timestamp", "Client ID", "Session ID", "Question", "Answer", "Event", "Operator"])
    ws.append([datetime(2026, 11, 25, 16, 0, 0, 125000), "c-4", "s4", "Позовите оператора", None, None, None])
    ws.append(["2026-11-25 16:00:30.000", "c-4", "s4", None, "Мария на связи", None, "Мария Кузнецова"])
    ws.append(["когда-то", "c-4", "s4", "?", None, None, None])
    path = tmp_path / "export.xlsx"
    wb.save(path)
    logs = load(path, tz="Europe/Moscow")
    assert rows(logs.messages) == [
        ("2026-11-25T13:00:00.125000+00:00", "c-4", "CLIENT", "text", "Позовите оператора", None),
        ("2026-11-25T13:00:30+00:00", "c-4", "OPERATOR", "text", "Мария на связи", "Мария Кузнецова"),
    ]
    assert reasons(logs) == [("export.xlsx", 4, "column 'Timestamp': cannot read timestamp 'когда-то' "
                                                "as %Y-%m-%d %H:%M:%S.%f")]


def make_store(path: Path, requests: list[tuple]) -> Path:
    """A recorder store as contract C describes it (WAL, requests + meta, extra columns)."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE requests (id INTEGER PRIMARY KEY, received_at TEXT, method TEXT, path TEXT, "
                "query TEXT, headers TEXT, body BLOB, chunked INTEGER, status INTEGER, error TEXT, "
                "forward_status INTEGER, forward_body BLOB)")
    con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    for received_at, method, body, status in requests:
        con.execute("INSERT INTO requests (received_at, method, path, query, headers, body, chunked, status) "
                    "VALUES (?, ?, '/r/{token}', '', '[]', ?, 1, ?)", (received_at, method, body, status))
    con.commit()
    con.close()
    return path


def agent(chat, text, name=None, kind="text", mid=None):
    body = {"recipient": {"id": chat}, "message": {"type": kind, "text": text}}
    if name:
        body["sender"] = {"id": "agent-1", "name": name}
    if mid:
        body["message"]["id"] = mid
    return json.dumps(body, ensure_ascii=False).encode()


def test_recorder_store_read_only_with_rejected_requests(tmp_path):
    store = make_store(tmp_path / "rec.sqlite", [
        ("2026-11-25T10:00:15.700000+00:00", "POST", agent("c-1", "Здравствуйте, я Анна", "Анна", mid="m1"), 200),
        ("2026-11-25T10:20:00.000000+00:00", "POST", agent("c-5", "Фото", kind="photo"), 200),
        ("2026-11-25T10:21:00.000000+00:00", "GET", b"", 200),
        ("2026-11-25T10:22:00.000000+00:00", "POST", b"{not json", 400),
        ("2026-11-25T10:23:00.000000+00:00", "POST", b'{"recipient": {"id": "c-5"}}', 200),
    ])
    before = store.read_bytes()
    logs = load(store)
    assert rows(logs.messages) == [
        ("2026-11-25T10:00:15.700000+00:00", "c-1", "OPERATOR", "text", "Здравствуйте, я Анна", "Анна"),
        ("2026-11-25T10:20:00+00:00", "c-5", "OPERATOR", "photo", "Фото", None),
    ]
    assert list(logs.messages["message_id"]) == ["m1", "recorder:2"]
    got = reasons(logs)
    assert [(n, r) for n, r, _ in got] == [("rec.sqlite", 3), ("rec.sqlite", 4), ("rec.sqlite", 5)]
    assert got[0][2] == "GET request, not a message"
    assert got[1][2].startswith("body is not UTF-8 JSON") and got[1][2].endswith("(the recorder answered 400)")
    assert got[2][2] == "missing field 'message' (not a Jivo Chat API message)"
    assert store.read_bytes() == before  # opened read-only


def test_a_foreign_sqlite_file_is_a_clear_error(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE things (x)")
    con.commit()
    con.close()
    with pytest.raises(SourceError, match="no table 'requests'"):
        load(path)
    con = sqlite3.connect(tmp_path / "old.db")
    con.execute("CREATE TABLE requests (id INTEGER PRIMARY KEY, method TEXT, body BLOB)")
    con.commit()
    con.close()
    with pytest.raises(SourceError) as err:
        load(tmp_path / "old.db")
    assert "column 'received_at'" in str(err.value) and "old.db" in str(err.value)


def test_transfer_results_jsonl_steps_become_rows():
    logs = load(FIX / "transfers.jsonl")
    assert rows(logs.messages, ("ts", "chat", "author", "kind", "text", "operator", "session")) == [
        ("2026-11-25T12:00:00+00:00", "tr-1", "CLIENT", "text", "/start", None, "t-1"),
        ("2026-11-25T12:00:00.200000+00:00", "tr-1", "BOT", "text", "Привет!", None, "t-1"),
        ("2026-11-25T12:00:01+00:00", "tr-1", "CLIENT", "text", "оператор", None, "t-1"),
        ("2026-11-25T12:00:01.300000+00:00", "tr-1", "BOT", "text", "Соединяю", None, "t-1"),
        ("2026-11-25T12:00:01.300000+00:00", "tr-1", "BOT", "switch", "оператор", None, "t-1"),
        ("2026-11-25T12:00:03.800000+00:00", "tr-1", "OPERATOR", "text", "Здравствуйте!", "Оператор 1", "t-1"),
        ("2026-11-25T12:00:05+00:00", "tr-1", "CLIENT", "text", "/closeChat", None, "t-1"),
        ("2026-11-25T12:00:05.400000+00:00", "tr-1", "SYSTEM", "event", "livechatFinished", None, "t-1"),
        ("2026-11-25T12:10:00+00:00", "tr-2", "CLIENT", "text", "оператор", None, "t-2"),
        ("2026-11-25T12:10:00.500000+00:00", "tr-2", "BOT", "switch", None, None, "t-2"),
        ("2026-11-25T12:10:30.500000+00:00", "tr-2", "SYSTEM", "error", "HTTP 503 from /events", None, "t-2"),
    ]
    assert list(logs.messages["message_id"][:2]) == ["t-1:0", "t-1:1"]
    got = reasons(logs)
    assert got[0] == ("transfers.jsonl", 2, "steps[3]: unknown author 'ROBOT'")
    assert got[1][:2] == ("transfers.jsonl", 3) and got[1][2].startswith("not valid JSON")


def test_transfer_result_values_with_to_json():
    record = json.loads((FIX / "transfers.jsonl").read_text(encoding="utf-8").splitlines()[0])

    class Result:  # what jivo_ops.transfer.TransferResult offers
        def to_json(self):
            return record

    logs = load([Result()])
    assert len(logs.messages) == 8 and logs.messages["chat"].unique().tolist() == ["tr-1"]


def test_raw_jivo_bodies_both_directions_with_and_without_time():
    logs = load(FIX / "jivo_bodies.jsonl")
    assert rows(logs.messages) == [
        ("2026-11-25T09:00:00+00:00", "c-6", "CLIENT", "text", "Добрый день!", None),
        ("2026-11-25T10:00:42.900000+00:00", "c-3", "OPERATOR", "text", "Добрый день! Иван на связи", "Иван Петров"),
        (None, "c-6", "OPERATOR", "photo", "https://example.com/p.jpg", None),
    ]
    assert reasons(logs) == [("jivo_bodies.jsonl", 4, "field 'message.type': unknown type 'sticker'")]


def test_raw_jivo_bodies_as_a_json_list(tmp_path):
    path = tmp_path / "dump.json"
    path.write_text(json.dumps([{"ts": "2026-11-25T10:00:00Z", "recipient": {"id": "c-9"},
                                 "message": {"type": "text", "text": "Ок"}}, 42]), encoding="utf-8")
    logs = load(path)
    assert rows(logs.messages) == [("2026-11-25T10:00:00+00:00", "c-9", "OPERATOR", "text", "Ок", None)]
    assert reasons(logs) == [("dump.json", 2, "not a JSON object but int")]


def test_events_jsonl_fast_path_rejects_and_dedupes():
    logs = load(FIX / "events.jsonl")
    assert rows(logs.messages) == [
        ("2026-11-25T14:00:00+00:00", "e-1", "CLIENT", "text", "оператор", None),
        ("2026-11-25T14:00:00.250000+00:00", "e-1", "BOT", "switch", None, None),
        ("2026-11-25T14:00:20.250000+00:00", "e-1", "OPERATOR", "text", "Слушаю", "Олег"),
    ]
    assert reasons(logs) == [("events.jsonl", 4, "unknown author 'ROBOT'")]
    assert logs.duplicates_removed == 1  # line 5 repeats line 3


def test_events_jsonl_with_broken_lines_is_read_line_by_line():
    logs = load(FIX / "events_broken.jsonl")
    assert rows(logs.messages, ("ts", "chat", "text")) == [("2026-11-25T15:00:00+00:00", "e-2", "hi"),
                                                          ("2026-11-25T15:00:02+00:00", "e-2", "bye")]
    got = reasons(logs)
    assert [(n, r) for n, r, _ in got] == [("events_broken.jsonl", 2), ("events_broken.jsonl", 3)]
    assert got[0][2].startswith("not valid JSON") and got[1][2] == "column 'ts': cannot read timestamp 'yesterday'"


def test_everything_at_once_deduplicates_across_sources():
    logs = load(FIX, tz="Europe/Moscow")  # a directory: every fixture
    assert_schema(logs.messages)
    assert len(logs.messages) == 39
    # the recorder-style Jivo body of Иван's answer (10:00:42.9) and the export row (10:00:42.25) are one
    # message: the export's row stays; events.jsonl's repeated line goes too
    assert logs.duplicates_removed == 2
    ivan = logs.messages[logs.messages["text"] == "Добрый день! Иван на связи"]
    assert list(ivan["source"]) == ["export"]
    assert len(logs.rejected) == 9
    assert logs.messages["ts"].dropna().is_monotonic_increasing
    assert logs.sources["messages"].sum() == 39 + 2
    assert sorted(logs.sources["source"]) == ["events", "events", "export", "export", "jivo", "reporter",
                                              "reporter", "transfers"]


def test_recorder_and_reporter_report_the_same_operator_message_once(tmp_path):
    store = make_store(tmp_path / "rec.sqlite", [
        ("2026-11-25T10:00:15.700000+00:00", "POST", agent("c-1", "Здравствуйте, я Анна", "Анна"), 200),
        ("2026-11-25T10:00:30.000000+00:00", "POST", agent("c-1", "Здравствуйте, я Анна", "Анна"), 200),
    ])
    logs = load(FIX / "reporter_by_client.json", store)
    anna = logs.messages[logs.messages["author"] == "OPERATOR"]
    # within 2 s of the Reporter row: the same message; 14.5 s later: said again
    assert rows(anna, ("ts", "source", "operator")) == [
        ("2026-11-25T10:00:15.500000+00:00", "reporter", "Анна Смирнова"),
        ("2026-11-25T10:00:30+00:00", "recorder", "Анна"),
    ]
    assert logs.duplicates_removed == 1
    assert load(FIX / "reporter_by_client.json", store, dedupe=False).duplicates_removed == 0
    # the same file twice: every row is a duplicate
    twice = load(FIX / "reporter_by_client.json", FIX / "reporter_by_client.json")
    assert len(twice.messages) == 9 and twice.duplicates_removed == 9 and len(twice.rejected) == 4


def test_a_folder_with_a_live_store_and_a_file_that_is_no_log(tmp_path):
    make_store(tmp_path / "hooks.sqlite", [
        ("2026-11-25T10:00:15.700000+00:00", "POST", agent("c-1", "Здравствуйте", "Анна"), 200)])
    con = sqlite3.connect(tmp_path / "hooks.sqlite")  # held open: the -wal and -shm files stay
    con.execute("INSERT INTO meta VALUES ('x', 'y')")
    con.commit()
    (tmp_path / "exchanges.har").write_text('{"log": {"version": "1.2", "entries": []}}', encoding="utf-8")
    (tmp_path / "transfers.jsonl").write_bytes((FIX / "transfers.jsonl").read_bytes())
    try:
        assert (tmp_path / "hooks.sqlite-wal").exists()
        logs = load(tmp_path)
    finally:
        con.close()
    assert set(logs.messages["source"]) == {"recorder", "transfers"}
    assert len(logs.messages) == 1 + 11
    skipped = logs.rejected[logs.rejected["row"].isna()]
    assert len(skipped) == 1 and skipped.iloc[0]["file"].endswith("exchanges.har")
    assert skipped.iloc[0]["reason"].startswith("skipped: ") and "cannot tell what kind of log" in skipped.iloc[0]["reason"]


def test_empty_files_give_empty_results(tmp_path):
    for name in ("empty.jsonl", "empty.csv", "empty.json"):
        (tmp_path / name).write_bytes(b"")
    logs = load(*(tmp_path / n for n in ("empty.jsonl", "empty.csv", "empty.json")))
    assert len(logs.messages) == 0 and len(logs.rejected) == 0
    assert_schema(logs.messages)
    assert len(logs.transfers()) == 0


def test_unknown_and_missing_sources_are_clear_errors(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        load(tmp_path / "nope.json")
    odd = tmp_path / "odd.jsonl"
    odd.write_text('{"foo": 1}\n', encoding="utf-8")
    with pytest.raises(SourceError) as err:
        load(odd)
    assert str(err.value).startswith(f"{odd}, row 1: cannot tell what kind of log this is")
    broken = tmp_path / "broken.json"
    broken.write_text('[{"timestamp": "x", ', encoding="utf-8")
    with pytest.raises(SourceError, match="not valid JSON"):
        load(broken)
    with pytest.raises(SourceError, match="cannot load a int"):
        load(42)


def test_schema_roundtrip_through_csv_parquet_and_jsonl(tmp_path):
    from jivo_ops.logs import export

    logs = load(FIX / "reporter_by_client.json", FIX / "transfers.jsonl")
    for name in ("m.csv", "m.parquet", "m.jsonl"):
        export(logs.messages, tmp_path / name)
        back = load(tmp_path / name)
        assert_schema(back.messages)
        assert rows(back.messages) == rows(logs.messages), name
        assert list(back.messages["source"].astype(str)) == list(logs.messages["source"].astype(str)), name


@given(st.lists(st.integers(0, 5), max_size=20), st.booleans())
def test_shared_times_are_found_in_order_or_not(values, in_order):
    """De-duplication looks only at rows whose time another row shares; a file in time order is read by
    comparing neighbours, any other by hashing: both find the same rows."""
    from jivo_ops.logs.loading import _shared

    times = np.array(sorted(values) if in_order else values, dtype=np.int64)
    assert _shared(times).tolist() == pd.Series(times).duplicated(keep=False).tolist()
