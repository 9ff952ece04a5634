"""Logs as a Parquet dataset (issue 17 §2): ``LogSet.to_parquet``, ``load(DIR)`` with filters
pushed down to the files, and ``jivo_ops.logs.duckdb`` giving the pandas path's numbers.

Real files throughout: the Jivo-events fixture (webhooks, pairing, ratings, a row without time)
and a generated day of traffic (benchmarks/gen_events.py), written, appended, read back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from jivo_ops.cli import main
from jivo_ops.errors import SourceError
from jivo_ops.logs import duckdb as logs_duckdb
from jivo_ops.logs import load

ROOT = Path(__file__).parent.parent
FIXTURE = [ROOT / "tests/fixtures/jivo_events/jaicp.jsonl", ROOT / "tests/fixtures/jivo_events/webhooks.jsonl"]
sys.path.insert(0, str(ROOT / "benchmarks"))
from gen_events import generate  # noqa: E402


@pytest.fixture(scope="module")
def traffic(tmp_path_factory) -> Path:
    """About 12,000 events over two UTC days: every outcome, closes, same-instant events."""
    return generate(tmp_path_factory.mktemp("gen") / "events.jsonl", 12_000, seed=3)


def _files(directory: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(directory.rglob("*.parquet"))}


def test_a_dataset_reads_back_as_the_same_messages_in_one_schema(tmp_path):
    logs = load(*FIXTURE)
    logs.to_parquet(tmp_path / "ds")
    folders = sorted(p.name for p in (tmp_path / "ds").iterdir())
    assert folders == ["day=2026-03-02", "day=__HIVE_DEFAULT_PARTITION__"]  # a raw Jivo body has no time
    schemas = {str(pq.read_schema(p)) for p in _files(tmp_path / "ds")}
    assert len(schemas) == 1
    schema = pq.read_schema(next(iter(_files(tmp_path / "ds"))))
    assert str(schema.field("ts").type) == "timestamp[us, tz=UTC]"
    assert all(str(schema.field(c).type).startswith("dictionary") for c in ("author", "kind", "source", "origin"))
    back = load(tmp_path / "ds")
    pd.testing.assert_frame_equal(back.messages, logs.messages, check_categorical=False)
    assert back.messages["author"].dtype == logs.messages["author"].dtype  # the schema's categories


def test_appending_a_day_adds_files_and_never_rewrites_old_ones(tmp_path, traffic):
    logs = load(traffic)
    days = logs.messages["ts"].dt.floor("D")
    first, second = (logs.filter(until=str(days.iloc[-1].date())),
                     logs.filter(since=str(days.iloc[-1].date())))
    assert len(first) and len(second)
    first.to_parquet(tmp_path / "ds")
    before = _files(tmp_path / "ds")
    second.to_parquet(tmp_path / "ds")
    after = _files(tmp_path / "ds")
    assert all(after[p] == content for p, content in before.items())  # untouched, byte for byte
    assert len(after) > len(before)
    pd.testing.assert_frame_equal(load(tmp_path / "ds").messages, logs.messages, check_categorical=False)


def test_since_until_and_chat_go_down_to_the_files(tmp_path, traffic):
    logs = load(traffic)
    logs.to_parquet(tmp_path / "ds")
    day = str(logs.messages["ts"].iloc[0].date())
    next_day = str((logs.messages["ts"].iloc[0] + pd.Timedelta(days=1)).date())
    # another day's file turned to junk: a day read must not even open it
    for path in (tmp_path / "ds" / f"day={next_day}").glob("*.parquet"):
        path.write_bytes(b"not parquet")
    one_day = load(tmp_path / "ds", since=day, until=next_day)
    expected = logs.filter(since=day, until=next_day).messages
    pd.testing.assert_frame_equal(one_day.messages, expected, check_categorical=False)
    with pytest.raises(SourceError, match="cannot read the Parquet dataset"):
        load(tmp_path / "ds")
    chat = expected["chat"].iloc[0]
    picked = load(tmp_path / "ds", since=day, until=next_day, chat=chat).messages
    assert len(picked) and set(picked["chat"]) == {chat}


@pytest.mark.parametrize("source", ["fixture", "traffic"])
def test_duckdb_gives_the_pandas_paths_columns_and_numbers(tmp_path, traffic, source):
    load(*(FIXTURE if source == "fixture" else [traffic])).to_parquet(tmp_path / "ds")
    logs = load(tmp_path / "ds")
    pandas_table, duck_table = logs.transfers(), logs_duckdb.transfers(tmp_path / "ds")
    assert list(duck_table.columns) == list(pandas_table.columns)
    assert len(pandas_table) > (3 if source == "fixture" else 500)
    # paired_by: the pairing rule is the loader's knowledge (documented); source: the same values,
    # its category list is the dataset's, not the LogSet's; every other column exactly
    keep = [c for c in pandas_table.columns if c not in ("paired_by", "source")]
    pd.testing.assert_frame_equal(duck_table[keep], pandas_table[keep], check_exact=True, check_categorical=False)
    assert (duck_table["source"].astype(str) == pandas_table["source"].astype(str)).all()
    for by, tz in ((None, "UTC"), ("day", "Europe/Moscow"), ("hour", "UTC"), ("operator", "UTC")):
        pd.testing.assert_frame_equal(logs_duckdb.kpis(tmp_path / "ds", by=by, tz=tz, memory_limit="256MB"),
                                      logs.kpis(by=by, tz=tz), check_exact=True)


def test_duckdb_cuts_chats_with_several_switches_like_the_pandas_path(tmp_path):
    """Two switches in a chat, events at a switch's instant, rows after a close, a switch tie
    between chats (their first rows decide), a chat that never switches."""
    rows = [("00:00", "b", "CLIENT", "text", "hi", None), ("00:01", "a", "CLIENT", "text", "hi", None),
            ("00:02", "a", "BOT", "switch", "to operator", None), ("00:02", "a", "SYSTEM", "event",
                                                                 "noLivechatOperatorsOnline", None),
            ("00:02", "b", "BOT", "switch", "to operator", None), ("00:03", "c", "CLIENT", "text", "hi", None),
            ("00:04", "a", "CLIENT", "text", "again", None), ("00:05", "a", "BOT", "switch", "to operator", None),
            ("00:06", "a", "SYSTEM", "event", "chat_accepted", "Ann"), ("00:07", "a", "OPERATOR", "text", "hello",
                                                                        "Bob"),
            ("00:08", "a", "CLIENT", "text", "/closeChat", None), ("00:08", "a", "BOT", "text", "bye", None),
            ("00:09", "a", "CLIENT", "text", "after the close", None), ("00:09", "a", "SYSTEM", "event",
                                                                      "chat_rate:positive", None),
            ("00:10", "b", "OPERATOR", "text", "hello", "Eve"), ("00:11", "b", "SYSTEM", "event",
                                                              "livechatFinished", None),
            ("00:12", "b", "BOT", "switch", "once more", None)]
    lines = [json.dumps({"ts": f"2026-03-02T10:{t}Z", "chat": chat, "session": f"s-{chat}", "author": author,
                         "kind": kind, "text": text, "operator": operator, "message_id": f"m{i}"})
             for i, (t, chat, author, kind, text, operator) in enumerate(rows)]
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    load(tmp_path / "events.jsonl").to_parquet(tmp_path / "ds")
    pandas_table = load(tmp_path / "ds").transfers()
    duck_table = logs_duckdb.transfers(tmp_path / "ds")
    # a's and b's first switches tie: b spoke first
    assert list(pandas_table["chat"] + pandas_table["transfer_no"].astype(str)) == ["b1", "a1", "a2", "b2"]
    keep = [c for c in pandas_table.columns if c not in ("paired_by", "source")]
    pd.testing.assert_frame_equal(duck_table[keep], pandas_table[keep], check_exact=True, check_categorical=False)


def test_a_day_is_written_in_time_order_in_few_row_groups(tmp_path, traffic):
    load(traffic).to_parquet(tmp_path / "ds")
    for path in _files(tmp_path / "ds"):
        ts = pq.read_table(path, columns=["ts"])["ts"].to_pandas()
        assert ts.is_monotonic_increasing  # so load(DIR) needs no sort, a copy of every column
        assert pq.ParquetFile(path).metadata.num_row_groups == 1  # < ROW_GROUP_ROWS rows a day here


def test_the_readme_section_runs_word_for_word(tmp_path, monkeypatch, capsys):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### A year of logs"):]
    section = section[:section.index("\n## ")]
    commands = [line for line in section.splitlines() if line.startswith("jivo-ops logs ")]
    code = section[section.index("```python\n") + len("```python\n"):]
    code = code[:code.index("```")]
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    monkeypatch.chdir(tmp_path)
    assert len(commands) == 2
    assert main(commands[0].split()[1:]) == 0
    assert "wrote 33 messages to the dataset logs-dataset/" in capsys.readouterr().err
    assert main(commands[1].split()[1:]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:2] == ["figure", "2026-03-02"]
    assert [line.split()[1] for line in out.splitlines() if line.startswith("switches ")] == ["5"]
    names: dict = {}
    exec(code, names)
    assert len(names["day"].messages) == 32 and len(names["table"]) == 5
    assert int(names["figures"]["switches"].sum()) == 5


def test_parquet_format_needs_a_folder_and_the_messages(tmp_path, capsys):
    assert main(["logs", str(FIXTURE[0]), "--kpis", "--format", "parquet", "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "--format parquet writes the messages as a dataset" in err and "Traceback" not in err
    with pytest.raises(SourceError, match="no Parquet files"):
        logs_duckdb.transfers(tmp_path)


def test_import_jivo_ops_loads_neither_duckdb_nor_pyarrow():
    code = "import sys, jivo_ops; print([m for m in ('duckdb', 'pyarrow') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
