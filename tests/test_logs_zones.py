"""Log times without a zone: said once per source, with the assumption and the --tz / tz= to change it;
two sources of one chat a whole number of hours apart are named (the repro: notebooks/data, chat c-3)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from _helpers import clean_env, jivo_ops_command

from jivo_ops.logs import load
from jivo_ops.widgets import LogExplorer

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "notebooks" / "data"


def test_the_repro_says_the_zone_assumption_once_per_source_and_the_three_hours():
    done = subprocess.run(jivo_ops_command() + ["logs", "notebooks/data", "--chat", "c-3"], cwd=ROOT,
                          capture_output=True, text=True, env=clean_env(JIVO_OPS_LANG="en"), timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    for export in ("reporter-export.csv", "reporter-export.xlsx"):
        said = [line for line in lines if f"{export}: " in line and "carry no zone" in line]
        assert len(said) == 1, done.stderr
        assert "read as UTC" in said[0] and "--tz ZONE" in said[0] and "Traceback" not in done.stderr
    apart = [line for line in lines if "disagree by 3 h" in line]
    assert len(apart) == 1 and "chat c-3" in apart[0] and "reporter-export.csv look like UTC+03:00" in apart[0]
    assert "--tz Etc/GMT-3" in apart[0]


def test_the_suggested_zone_makes_the_sources_agree():
    logs = load(DATA, chat="c-3", tz="Etc/GMT-3")
    assert not [w for w in logs.warnings if "расходятся" in w]  # the suite speaks Russian
    assert [w for w in logs.warnings if "прочитаны как Etc/GMT-3" in w]
    replies = logs.messages[logs.messages["author"] == "OPERATOR"]
    assert replies["ts"].dt.strftime("%H:%M").unique().tolist() == ["10:00"]
    switch = logs.messages.loc[logs.messages["kind"] == "switch", "ts"].iloc[0]
    assert (replies["ts"] > switch).all()  # the operator answers after the switch, not before


def test_zoned_sources_say_nothing_and_the_warnings_survive_filter_and_reload(tmp_path):
    zoned = tmp_path / "zoned.jsonl"
    zoned.write_text('{"ts": "2026-11-25T10:00:00+03:00", "chat": "c-1", "author": "CLIENT", "kind": "text", '
                     '"text": "привет"}\n', encoding="utf-8")
    assert load(zoned).warnings == []
    logs = load(DATA)
    assert logs.warnings and logs.filter(chat="c-3").warnings == logs.warnings
    assert load(logs).warnings == logs.warnings


def test_log_explorer_status_shows_the_warnings():
    explorer = LogExplorer(DATA)
    explorer.wait(60)
    assert explorer.status.kind == "warning"
    assert "нет часового пояса" in explorer.status.text and "--tz Etc/GMT-3" in explorer.status.text
