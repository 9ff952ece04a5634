"""Whatever a log file holds, `load` gives rows, rejected rows, or one SourceError — never an
uncaught exception (hypothesis feeds random JSON, Reporter-ish pages, Jivo-ish bodies and bytes)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jivo_ops.errors import SourceError
from jivo_ops.logs import load

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53), st.floats(allow_nan=False),
                    st.text(max_size=20), st.sampled_from(["2026-11-25T10:00:00Z", "2026-11-25 10:00:00.000",
                                                          "CLIENT", "OPERATOR", "switch", "text", "c-1"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=12)
reply = st.fixed_dictionaries({"type": st.sampled_from(["text", "switch", "image", "buttons", "weird", 3])},
                              optional={"text": scalars, "firstMessage": scalars, "buttons": json_values})
message = st.fixed_dictionaries({}, optional={
    "timestamp": scalars, "questionId": scalars, "sessionId": scalars, "clientId": scalars, "question": scalars,
    "textAnswer": scalars, "event": scalars, "isLivechat": scalars, "exception": scalars,
    "operatorInfo": st.one_of(scalars, st.fixed_dictionaries({}, optional={"id": scalars, "firstName": scalars})),
    "responseData": st.one_of(scalars, st.fixed_dictionaries({"replies": st.one_of(scalars, st.lists(reply, max_size=3))})),
})
page = st.fixed_dictionaries({"messages": st.lists(st.one_of(message, scalars), max_size=4)},
                             optional={"client": json_values, "session": json_values, "paging": json_values})
jivo_body = st.fixed_dictionaries({}, optional={
    "sender": json_values, "recipient": st.one_of(scalars, st.fixed_dictionaries({}, optional={"id": scalars})),
    "message": st.one_of(scalars, st.fixed_dictionaries({}, optional={"type": st.sampled_from(
        ["text", "photo", "video", "document", "sticker", None]), "text": scalars, "file": scalars, "id": scalars,
        "timestamp": scalars})),
    "received_at": scalars})
event = st.fixed_dictionaries({"ts": scalars, "author": scalars},
                              optional={"chat": scalars, "kind": scalars, "text": scalars, "operator": scalars})
transfer = st.fixed_dictionaries({"transfer_id": scalars, "steps": st.one_of(scalars, st.lists(
    st.one_of(scalars, event.map(lambda e: {**e, "step": "x"})), max_size=3))}, optional={"chat": scalars})


def survive(path: Path) -> None:
    try:
        logs = load(path)
    except SourceError as exc:
        assert str(exc) and "\n" not in str(exc)  # one clear line
        return
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    n_in = len(logs.messages) + len(logs.rejected)
    assert n_in >= 0
    assert str(logs.messages["ts"].dtype) == "datetime64[us, UTC]"
    logs.transfers()  # the tables work on whatever was loaded


def write(name: str, data: bytes) -> Path:
    directory = Path(tempfile.mkdtemp(prefix="jivo-ops-logs-"))
    path = directory / name
    path.write_bytes(data)
    return path


@SETTINGS
@given(st.one_of(json_values, page, st.lists(page, max_size=3), st.lists(message, max_size=4),
                 st.lists(jivo_body, max_size=4), st.lists(transfer, max_size=3), st.lists(event, max_size=4)))
def test_random_json_documents(value):
    survive(write("doc.json", json.dumps(value, ensure_ascii=False).encode()))


@SETTINGS
@given(st.lists(st.one_of(page, message, jivo_body, transfer, event, json_values), min_size=1, max_size=5),
       st.sampled_from([0, 1, 2]))
def test_random_jsonl_lines(values, family):
    lines = [json.dumps(v, ensure_ascii=False) for v in values]
    if family == 1:
        lines.insert(1, "{broken")
    survive(write("lines.jsonl", "\n".join(lines).encode()))


@SETTINGS
@given(st.binary(max_size=300), st.sampled_from(["x.csv", "x.json", "x.jsonl", "x.xlsx", "x.sqlite"]))
def test_random_bytes_under_every_extension(data, name):
    survive(write(name, data))


@SETTINGS
@given(st.lists(st.lists(st.one_of(st.text(max_size=12), st.sampled_from(
    ["2026-11-25 10:00:00.000", "c-1", "оператор", '{"replies": [{"type": "switch"}]}', "true"])),
    max_size=10), max_size=5), st.sampled_from([",", ";", "\t"]), st.sampled_from(["utf-8", "cp1251"]))
def test_random_csv_exports(rows, delimiter, encoding):
    header = delimiter.join(["timestamp", "clientId", "question", "answer", "event", "responseData"])
    body = "\n".join(delimiter.join(c.replace(delimiter, " ").replace("\n", " ").replace('"', "'") for c in row)
                     for row in rows)
    survive(write("export.csv", (header + "\n" + body).encode(encoding, errors="replace")))


def poisoned_store(path: Path) -> Path:
    """A recorder store with the three bodies that broke `logs STORE` for the whole store, and one good one."""
    from jivo_ops.recorder.store import REQUEST_COLUMNS, append_requests, open_writable

    def request(body: bytes, status: int) -> tuple:
        row = dict.fromkeys(REQUEST_COLUMNS[1:]) | {
            "received_at": "2026-11-25T10:00:00.000000+00:00", "method": "POST", "path": "/hook/{token}",
            "query": "", "headers": "[]", "body": body, "chunked": 0, "status": status}
        return tuple(row[c] for c in REQUEST_COLUMNS[1:])

    def message(text: str, mid: str) -> bytes:
        return json.dumps({"recipient": {"id": "c1"}, "message": {"type": "text", "text": text, "id": mid}}).encode()

    open_writable(path).close()
    append_requests(path, [request(b"[" * 100_000 + b"]" * 100_000, 400), request(message("\udfff", "m1"), 200),
                           request(message("a\u0000b", "m2"), 200), request(message("hello", "m3"), 200)])
    return path


def test_a_poisoned_store_is_read_in_every_format(tmp_path, capsys):
    from jivo_ops.cli import main

    store = poisoned_store(tmp_path / "hooks.sqlite")
    logs = load(store)
    assert sorted(logs.messages["text"]) == ["a\u0000b", "hello"]
    reasons = " | ".join(logs.rejected["reason"])
    assert "nested too deeply" in reasons and "not valid Unicode" in reasons, reasons
    for extra in ([], ["--format", "csv"], ["--format", "json"], ["--out", str(tmp_path / "x.xlsx")],
                  ["--out", str(tmp_path / "x.csv")], ["--out", str(tmp_path / "x.parquet")], ["--summary"],
                  ["--transfers"], ["--kpis"]):
        assert main(["logs", str(store), *extra]) == 0, extra
        err = capsys.readouterr().err
        assert "internal error" not in err and "2 rows rejected" in err, (extra, err)
    from openpyxl import load_workbook

    cells = [c.value for row in load_workbook(tmp_path / "x.xlsx").active.iter_rows() for c in row]
    assert "a\\x00b" in cells  # escaped: XML cannot hold it


def test_one_reporter_message_on_its_own_is_a_row_or_a_rejected_row(tmp_path):
    """Found by hypothesis: a lone message object (no page around it) crashed with a ValueError."""
    lone = tmp_path / "one.json"
    lone.write_text('{"timestamp": "\\u0085", "questionId": null}', encoding="utf-8")
    logs = load(lone)
    assert len(logs.messages) == 0 and len(logs.rejected) == 1
