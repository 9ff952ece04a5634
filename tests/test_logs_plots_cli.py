"""Plots render to real PNG files; `jivo-ops logs` prints tables that fit, CSV, JSON, exports."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest

from jivo_ops.cli import main
from jivo_ops.errors import SourceError
from jivo_ops.logs import chat_timeline, load, transfers_per_hour, wait_histogram

FIX = Path(__file__).parent / "fixtures" / "logs"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def logs():
    return load(FIX, tz="Europe/Moscow")


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG and len(data) > 2000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 300 and height > 200


def test_plots_render_to_png(tmp_path, logs):
    t = logs.transfers()
    fig = chat_timeline(logs.messages, "c-1", path=tmp_path / "timeline.png")
    ax = fig.axes[0]
    assert ax.get_title() == "Чат c-1"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["система", "оператор", "бот", "клиент"]
    assert any(t.get_text() == "ожидание 5.5 с" for t in ax.texts)
    assert_png(tmp_path / "timeline.png")

    fig = wait_histogram(t, path=tmp_path / "waits.png")
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["медиана 12.8 с", "p95 38.9 с"]  # waits 2.5, 5.5, 20, 42.25
    assert_png(tmp_path / "waits.png")

    fig = transfers_per_hour(t, path=tmp_path / "hourly.png")
    assert fig.axes[0].get_legend_handles_labels()[1] == ["answered", "no_operators", "error"]
    assert_png(tmp_path / "hourly.png")
    # empty inputs still draw a readable picture
    wait_histogram(t.iloc[:0], path=tmp_path / "empty.png")
    assert_png(tmp_path / "empty.png")
    with pytest.raises(SourceError, match="no messages with a time for chat 'nope'"):
        chat_timeline(logs.messages, "nope")


def test_import_jivo_ops_does_not_load_matplotlib():
    import subprocess

    code = "import jivo_ops, sys; jivo_ops.load_logs; print(sorted(m for m in ('matplotlib', 'openpyxl') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def run(capsys, *argv):
    code = main(["logs", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_messages_table_fits_the_terminal(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "70")
    code, out, err = run(capsys, FIX / "reporter_by_client.json", "--chat", "c-1")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ts", "chat", "author", "kind", "text"]  # operator dropped to make room
    assert len(lines) == 2 + 9
    assert all(len(line) <= 70 for line in lines)
    assert "Здравствуйте, я Анна" in out
    assert "2 rows rejected" in err and "row 5: missing field 'timestamp'" in err
    monkeypatch.setenv("COLUMNS", "100")
    _, out, _ = run(capsys, FIX / "reporter_by_client.json", "--chat", "c-1")
    assert out.splitlines()[0].split() == ["ts", "chat", "author", "kind", "operator", "text"]
    assert "Анна Смирнова" in out and all(len(line) <= 100 for line in out.splitlines())
    monkeypatch.setenv("COLUMNS", "56")
    _, out, _ = run(capsys, FIX / "reporter_by_client.json", "--chat", "c-1")
    assert "Здравствуйте! Чем …" in out and all(len(line) <= 56 for line in out.splitlines())


def test_cli_transfers_table_fits_a_narrow_terminal(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    _, wide, _ = run(capsys, FIX, "--transfers", "--tz", "Europe/Moscow")
    assert wide.splitlines()[0].split() == ["switched_at", "chat", "outcome", "wait_s", "closed_by", "msgs",
                                            "c/b/o/s", "operator"]
    assert "1/1/1/1" in wide and "Анна Смирнова" in wide
    monkeypatch.setenv("COLUMNS", "60")
    _, narrow, _ = run(capsys, FIX, "--transfers", "--tz", "Europe/Moscow")
    lines = narrow.splitlines()
    assert lines[0].split() == ["switched_at", "chat", "outcome", "wait_s", "operator"]
    assert len(lines) == 2 + 6 and all(len(line) <= 60 for line in lines)


def test_cli_transfers_csv_and_json(capsys):
    code, out, err = run(capsys, FIX, "--transfers", "--format", "csv", "--tz", "Europe/Moscow")
    assert code == 0
    table = list(csv.DictReader(io.StringIO(out)))
    assert [r["chat"] for r in table] == ["c-2", "c-3", "c-1", "tr-1", "tr-2", "e-1"]
    assert table[1]["wait_s"] == "42.25" and table[1]["closed_by"] == "operator"
    assert "2 duplicate messages removed" in err

    code, out, _ = run(capsys, FIX, "--transfers", "--format", "json", "--tz", "Europe/Moscow",
                       "--since", "2026-11-25T12:00:00Z", "--until", "2026-11-25T13:00:00Z")
    data = json.loads(out)
    assert [(d["chat"], d["outcome"], d["wait_s"]) for d in data] == [("tr-1", "answered", 2.5),
                                                                      ("tr-2", "error", None)]


def test_cli_summary_table_and_json(capsys):
    code, out, _ = run(capsys, FIX, "--summary", "--tz", "Europe/Moscow")
    assert code == 0
    figures = dict(line.split(None, 1) for line in out.splitlines()[2:])
    assert figures["messages"] == "39" and figures["transfers"] == "6"
    assert figures["outcomes.answered"] == "4" and figures["duplicates_removed"] == "2"
    code, out, _ = run(capsys, FIX / "transfers.jsonl", "--summary", "--format", "json")
    assert json.loads(out)["outcomes"] == {"answered": 1, "no_operators": 0, "no_switch": 0, "unanswered": 0, "error": 1}


def test_cli_out_exports_and_plot(capsys, tmp_path):
    code, _, err = run(capsys, FIX, "--transfers", "--out", tmp_path / "t.xlsx", "--plot", tmp_path / "w.png",
                       "--rejected", tmp_path / "rejected.csv")
    assert code == 0
    assert (tmp_path / "t.xlsx").stat().st_size > 0
    assert_png(tmp_path / "w.png")
    assert "saved the waits picture" in err and "wrote 6 rows" in err
    rejected = list(csv.DictReader((tmp_path / "rejected.csv").open(encoding="utf-8")))
    assert len(rejected) == 9 and set(rejected[0]) == {"file", "row", "reason"}

    code, _, err = run(capsys, FIX, "--chat", "c-1", "--plot", tmp_path / "tl.png")
    assert code == 0 and "saved the timeline picture" in err
    assert_png(tmp_path / "tl.png")
    code, _, _ = run(capsys, FIX, "--format", "csv", "--out", tmp_path / "m.txt")
    assert (tmp_path / "m.txt").read_text(encoding="utf-8").startswith("ts,chat,session,author,kind,text")


def test_cli_errors_are_one_line(capsys, tmp_path):
    code, out, err = run(capsys, tmp_path / "missing.jsonl")
    assert code == 2 and out == ""
    assert err.strip() == f"jivo-ops: error: {tmp_path / 'missing.jsonl'}: no such file"
    code, _, err = run(capsys, FIX, "--since", "soon")
    assert code == 2 and "cannot read 'soon' as a time" in err and "Traceback" not in err
    code, _, err = run(capsys, FIX, "--outcome", "answered")
    assert code == 2 and "--outcome needs --transfers" in err


def test_cli_never_prints_a_token(capsys, tmp_path):
    from jivo_ops.redaction import register_secret

    secret = "https://wh.jivosite.com/Ab12Cd34Ef56Gh78/Zx98Yw76Vu"
    register_secret(secret)
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"ts": "2026-11-25T10:00:00Z", "chat": "z", "author": "SYSTEM", "kind": "error",
                                "text": f"POST {secret} failed"}) + "\n", encoding="utf-8")
    for fmt in ("table", "csv", "json"):
        code, out, err = run(capsys, path, "--format", fmt)
        assert code == 0 and "Ab12Cd34Ef56Gh78" not in out + err and "failed" in out
