"""Both faces, one rule: the LogExplorer model and `jivo-ops logs` on the same files keep the same
chats and rows (operator, chat, time, outcome filters), and every --since/--until face — `logs`,
`export`, `replay` (dry run) and the widget's time field — reads a time as the same instant."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from jivo_ops.cli import main
from jivo_ops.recorder.exchanges import import_jsonl
from jivo_ops.times import parse_time
from jivo_ops.widgets import LogExplorer
from jivo_ops.widgets.log_explorer import LogModel

FIX = Path(__file__).parent / "fixtures" / "logs"
UTC = timezone.utc


def cli_json(capsys, *argv) -> list[dict]:
    code = main([str(a) for a in argv] + ["--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def rows_of(records) -> list[tuple]:
    return [(pd.Timestamp(r["ts"]), r["chat"], r["author"], r["kind"], r["text"]) for r in records]


@pytest.fixture(scope="module")
def model():
    m = LogModel(str(FIX), load_options={"tz": "Europe/Moscow"})
    m.load()
    m.wait(60)
    return m


@pytest.mark.parametrize("operator", ["Олег", "Анна Смирнова"])
def test_operator_filter_keeps_the_same_chats_in_the_widget_and_the_cli(capsys, model, operator):
    model.operator = operator
    try:
        widget_rows = rows_of(json.loads(model.messages().to_json(orient="records", date_format="iso",
                                                                  date_unit="us", force_ascii=False)))
        widget_transfers = list(model.transfers()["chat"])
    finally:
        model.operator = ""
    cli_rows = rows_of(cli_json(capsys, "logs", FIX, "--tz", "Europe/Moscow", "--operator", operator))
    assert widget_rows == cli_rows
    # the scope is the operator's chats, every row of them: the client's and the bot's too
    own = model.logs.filter(operator=operator, operator_rows_only=True).messages
    assert len(own) == 1 and set(own["operator"]) == {operator}
    assert len(cli_rows) > len(own) and {r[2] for r in cli_rows} >= {"CLIENT", "OPERATOR"}
    assert {r[1] for r in cli_rows} == set(own["chat"])
    # transfers: the ones this operator answered, the same in both faces
    cli_transfers = [r["chat"] for r in cli_json(capsys, "logs", FIX, "--tz", "Europe/Moscow", "--transfers",
                                                 "--operator", operator)]
    assert widget_transfers == cli_transfers == list(own["chat"])


def test_olegs_chat_is_three_rows_in_both_faces(capsys, model):
    """The issue's example: the widget used to keep 3 rows (the chat), the CLI 1 (his own row)."""
    explorer = LogExplorer(FIX, load_options={"tz": "Europe/Moscow"})
    explorer.wait(60)
    explorer.operator_choice.value = "Олег"
    assert len(explorer.model.messages()) == 3
    assert len(cli_json(capsys, "logs", FIX, "--tz", "Europe/Moscow", "--operator", "Олег")) == 3


@pytest.mark.parametrize("filters,argv", [
    ({"chat": "c-1"}, ["--chat", "c-1"]),
    ({"since": "2026-11-25T12:00:00Z", "until": "2026-11-25T13:00:00Z"},
     ["--since", "2026-11-25T12:00:00Z", "--until", "2026-11-25T13:00:00Z"]),
    ({"since": "2026-11-25 10:00", "chat": "c-3", "operator": "Иван Петров"},
     ["--since", "2026-11-25 10:00", "--chat", "c-3", "--operator", "Иван Петров"]),
    ({"outcome": "answered"}, ["--outcome", "answered"]),
])
def test_other_filters_agree_too(capsys, model, filters, argv):
    for name, value in filters.items():
        setattr(model, name, value)
    try:
        widget_transfers = list(model.transfers()["chat"])
        widget_rows = len(model.messages())
    finally:
        for name in filters:
            setattr(model, name, "")
    base = ["logs", FIX, "--tz", "Europe/Moscow", *argv]
    assert [r["chat"] for r in cli_json(capsys, *base, "--transfers")] == widget_transfers
    if "outcome" not in filters:  # the CLI refuses --outcome without --transfers; the widget's messages ignore it
        assert len(cli_json(capsys, *base)) == widget_rows


def test_blank_fields_mean_no_filter(model):
    model.since, model.chat = "   ", ""
    assert len(model.messages()) == len(model.logs.messages)
    model.since = ""


# --------------------------------------------------------------------------- one time grammar, four faces

EXACT = ["2026-11-25T10:00:00Z", "2026-11-25 13:00:00.5+03:00", "2026-11-25", "20261125T120000",
         "2026/11/25 14:00", "2026-11-25T15:00", "today"]
RELATIVE = ["1w", "24h ago", "1h30m", "90s", "2d"]


def instants(now: datetime) -> list[tuple[str, str, datetime]]:
    """(case, name, time) of the items placed around each case's instant: 1 µs before, at and after
    it for exact inputs; ten minutes either side for durations ago (the faces run later than `now`)."""
    out = []
    for i, text in enumerate(EXACT):
        moment = parse_time(text, now=now)
        out += [(f"x{i}", "before", moment - timedelta(microseconds=1)), (f"x{i}", "at", moment),
                (f"x{i}", "after", moment + timedelta(microseconds=1))]
    for i, text in enumerate(RELATIVE):
        moment = parse_time(text, now=now)
        out += [(f"r{i}", "before", moment - timedelta(minutes=10)),
                (f"r{i}", "after", moment + timedelta(minutes=10))]
    return out


@pytest.fixture(scope="module")
def timed(tmp_path_factory):
    """The same chats as an events log and as a recorder store (real SQLite, via import_jsonl)."""
    folder = tmp_path_factory.mktemp("timed")
    events, requests = [], []
    for n, (case, name, moment) in enumerate(instants(datetime.now(UTC)), start=1):
        chat = f"{case}-{name}"
        stamp = moment.isoformat(timespec="microseconds")
        events.append({"ts": stamp, "chat": chat, "author": "CLIENT", "kind": "text", "text": "привет"})
        body = json.dumps({"id": f"m{n}", "client_id": chat, "message": {"type": "TEXT", "text": "привет"}})
        requests.append({"id": n, "received_at": stamp, "method": "POST", "path": "/hook/t", "query": "",
                         "headers": [["content-type", "application/json"]], "body": body, "chunked": False,
                         "status": 200, "error": None, "content_type": "application/json", "chat": chat,
                         "forward": None})
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    (folder / "requests.jsonl").write_text("".join(json.dumps(r) + "\n" for r in requests), encoding="utf-8")
    ids = import_jsonl(folder / "requests.jsonl", folder / "store.sqlite")
    chat_of_id = {i: r["chat"] for i, r in zip(ids, requests)}
    return folder, chat_of_id


def chats_by_every_face(capsys, timed, text: str) -> dict[str, set[str]]:
    folder, chat_of_id = timed
    seen = {"logs": {r["chat"] for r in cli_json(capsys, "logs", folder / "events.jsonl", "--since", text)}}

    assert main(["export", str(folder / "store.sqlite"), "--format", "jsonl", "--since", text]) == 0
    seen["export"] = {json.loads(line)["chat"] for line in capsys.readouterr().out.splitlines() if line}

    assert main(["replay", str(folder / "store.sqlite"), "--to", "https://example.com/hook/t", "--since", text]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dry run: nothing sent")
    seen["replay"] = {chat_of_id[int(m)] for m in re.findall(r"^\s*(\d+)\s", out, flags=re.M)}

    model = LogModel(str(folder / "events.jsonl"))
    model.load()
    model.wait(60)
    model.since = text
    seen["widget"] = set(model.messages()["chat"])
    return seen


@pytest.mark.parametrize("text", EXACT + RELATIVE)
def test_every_since_face_reads_the_same_instant(capsys, timed, text):
    seen = chats_by_every_face(capsys, timed, text)
    assert seen["logs"] == seen["export"] == seen["replay"] == seen["widget"]
    case = f"x{EXACT.index(text)}" if text in EXACT else f"r{RELATIVE.index(text)}"
    # the instant itself is in (since is inclusive), a microsecond before is not
    assert f"{case}-after" in seen["logs"] and f"{case}-before" not in seen["logs"]
    if text in EXACT:
        assert f"{case}-at" in seen["logs"]


def test_a_bad_time_is_the_same_one_line_in_every_face(capsys, timed):
    folder, _ = timed
    lines = []
    for argv in (["logs", folder / "events.jsonl"], ["export", folder / "store.sqlite", "--format", "jsonl"],
                 ["replay", folder / "store.sqlite", "--to", "https://example.com/hook/t"]):
        assert main([str(a) for a in argv] + ["--since", "soon"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        lines.append(err[-1])
    expected = "jivo-ops: error: since: cannot read 'soon' as a time; use ISO 8601"
    assert all(line.startswith(expected) for line in lines) and len(set(lines)) == 1
    explorer = LogExplorer(folder / "events.jsonl")
    explorer.wait(60)
    explorer.since_input.value = "soon"
    assert explorer.status.kind == "error" and lines[0].removeprefix("jivo-ops: error: ") in explorer.status.text


def test_a_typed_delimiter_escape_is_read_by_load_for_every_face(capsys, tmp_path):
    """`--delimiter '\\t'` (as typed in a shell) used to be decoded by the CLI itself; load reads it."""
    from jivo_ops.errors import SourceError
    from jivo_ops.logs import load

    path = tmp_path / "tab.csv"
    path.write_text("timestamp\tclientId\tquestion\n2026-11-25 10:00:00.000\tc-8\tПривет\n", encoding="utf-8")
    typed = load(path, delimiter="\\t").messages
    assert list(typed["chat"]) == ["c-8"] and list(typed["text"]) == ["Привет"]
    assert [r["chat"] for r in cli_json(capsys, "logs", path, "--delimiter", "\\t")] == ["c-8"]
    with pytest.raises(SourceError, match=r"delimiter '\\\\x': give one character"):
        load(path, delimiter="\\x")
