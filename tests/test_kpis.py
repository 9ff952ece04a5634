"""KPIs of the hand-over on a small fixture, every figure computed by hand.

The fixture (tests/fixtures/jivo_events), 2026-03-02, UTC:

======  ==========================================  =========  ===========  =========  ========
chat    what happened                               switch     1st operator  close      rating
======  ==========================================  =========  ===========  =========  ========
c1      switch, Анна answers (Jivo, user_token)     10:00:06   10:00:16     10:02:06   positive
c5      the bot answers, no switch (10:30)          —          —            —          —
c2      switch, Борис answers (Jivo, paired by      11:00:00   11:00:30     11:05:30   negative
        text; first client message 10:59:59)
c3      switch, noLivechatOperatorsOnline: the      12:00:00   —            —          —
        offline trap
c4      switch, the client closes at 13:00:40       13:00:00   —            13:00:40   —
        before any operator: abandoned
c6      switch, Анна answers (first client message  14:00:00   14:00:05     14:03:05   none
        13:59:58)
======  ==========================================  =========  ===========  =========  ========

sessions 6, switches 5 → escalation 5/6, containment 1/6; no operators 1/5; service level (20 s):
c1 (10 s) and c6 (5 s) of all 5 offered = 2/5 — c3 counts against it (2/4 would be the trap);
abandonment 1/5 (c4); first reply [5, 10, 30] s → median 10, p90 10 + 0.8·20 = 26,
p95 10 + 0.9·20 = 28; handling [110, 180, 300] s → median 180, p90 180 + 0.8·120 = 276;
rated 2 of 3 answered, positive 1 of 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from jivo_ops.cli import main
from jivo_ops.logs import load

FIX = Path(__file__).parent / "fixtures" / "jivo_events"
SOURCES = (FIX / "jaicp.jsonl", FIX / "webhooks.jsonl")

OVERALL = {
    "sessions": 6, "switches": 5,
    "escalation_num": 5, "escalation_den": 6, "escalation_rate": 5 / 6,
    "containment_num": 1, "containment_den": 6, "containment_rate": 1 / 6,
    "no_operators_num": 1, "no_operators_den": 5, "no_operators_rate": 0.2,
    "service_level_num": 2, "service_level_den": 5, "service_level_rate": 0.4,
    "abandonment_num": 1, "abandonment_den": 5, "abandonment_rate": 0.2,
    "answered": 3,
    "first_reply_median_s": 10.0, "first_reply_p90_s": 26.0, "first_reply_p95_s": 28.0,
    "handling_median_s": 180.0, "handling_p90_s": 276.0,
    "rated_num": 2, "rated_den": 3, "rated_rate": 2 / 3,
    "positive_num": 1, "positive_den": 2, "positive_rate": 0.5,
}


@pytest.fixture(scope="module")
def logs():
    return load(*SOURCES)


def test_overall_kpis_are_the_hand_computed_figures(logs):
    k = logs.kpis()
    assert len(k) == 1 and list(k.columns) == list(OVERALL)
    assert k.iloc[0].to_dict() == pytest.approx(OVERALL)
    assert k.attrs["service_level_s"] == 20


def test_the_service_level_threshold_moves_only_the_service_level(logs):
    k = logs.kpis(service_level_s=30).iloc[0]
    assert (k["service_level_num"], k["service_level_den"]) == (3, 5)  # c2's 30 s now counts
    assert k["escalation_rate"] == pytest.approx(5 / 6)


def test_per_operator(logs):
    k = logs.kpis(by="operator").set_index("operator")
    assert list(k.index) == ["Анна Смирнова", "Борис"]
    anna, boris = k.loc["Анна Смирнова"], k.loc["Борис"]
    assert (anna["answered"], anna["service_level_num"], anna["service_level_den"]) == (2, 2, 2)
    assert (anna["first_reply_median_s"], anna["handling_median_s"]) == (7.5, 145.0)  # [5, 10], [110, 180]
    assert (anna["rated_num"], anna["rated_den"], anna["positive_num"], anna["positive_den"]) == (1, 2, 1, 1)
    assert (boris["answered"], boris["service_level_num"], boris["positive_num"], boris["positive_den"]) == (1, 0, 0, 1)
    assert k["sessions"].isna().all() and k["escalation_rate"].isna().all()  # nobody's before the switch


def test_per_hour_counts_a_session_in_the_hour_of_its_first_message(logs):
    k = logs.kpis(by="hour").set_index("period")
    hours = [p.hour for p in k.index]
    assert hours == [10, 11, 12, 13, 14]
    # 10h: c1, c5 and c2 (first message 10:59:59); 13h: c4 and c6 (13:59:58)
    assert k["sessions"].tolist() == [3, 0, 1, 2, 0]
    assert k["escalation_num"].tolist() == [2, 0, 1, 2, 0]
    assert k["switches"].tolist() == [1, 1, 1, 1, 1]
    assert k["service_level_num"].tolist() == [1, 0, 0, 0, 1]
    assert k["abandonment_num"].tolist() == [0, 0, 0, 1, 0]


def test_per_day_in_another_zone_cuts_the_day_on_that_clock(logs):
    k = logs.kpis(by="day", tz="Asia/Vladivostok")  # UTC+10: 14:00 UTC is already March 3rd
    assert [str(p) for p in k["period"]] == ["2026-03-02 00:00:00+10:00", "2026-03-03 00:00:00+10:00"]
    assert k["switches"].tolist() == [4, 1]


def test_cli_kpis_gives_the_same_figures(capsys):
    assert main(["logs", *map(str, SOURCES), "--kpis", "--format", "json"]) == 0
    out, _ = capsys.readouterr()
    assert json.loads(out)[0] == pytest.approx(OVERALL)
    assert main(["logs", *map(str, SOURCES), "--kpis", "--by", "operator"]) == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["figure", "Анна", "Смирнова", "Борис"]
    assert next(line for line in lines if line.startswith("service_level_rate")).split() == ["service_level_rate", "1", "0"]


@pytest.mark.parametrize("argv, message", [
    (["--by", "day"], "--by needs --kpis"),
    (["--kpis", "--display-tz", "Mars/Base"], "--display-tz: unknown time zone 'Mars/Base'"),
])
def test_bad_kpi_options_are_one_line(capsys, argv, message):
    assert main(["logs", str(SOURCES[0]), *argv]) != 0
    _, err = capsys.readouterr()
    assert message in err and "Traceback" not in err


def test_no_switches_at_all_gives_zero_counts_and_no_rates():
    k = load(pd.DataFrame({"ts": [pd.Timestamp("2026-03-02T10:00:00Z")], "chat": ["x"], "session": ["s"],
                           "author": ["CLIENT"], "kind": ["text"], "text": ["hi"]})).kpis().iloc[0]
    assert (k["sessions"], k["switches"], k["escalation_num"], k["containment_num"]) == (1, 0, 0, 1)
    assert pd.isna(k["service_level_rate"]) and pd.isna(k["first_reply_median_s"])


def test_a_session_is_its_id_or_its_chat_and_counts_once_however_its_rows_interleave():
    # chat x: sessions a, b, a again (a resumes: still one); chat y has no session id (its chat stands for it)
    t = pd.Timestamp("2026-03-02T10:00:00Z")
    frame = pd.DataFrame({"ts": [t + pd.Timedelta(seconds=i) for i in range(5)],
                          "chat": ["x", "x", "x", "y", "y"], "session": ["a", "b", "a", None, None],
                          "author": ["CLIENT", "CLIENT", "BOT", "CLIENT", "BOT"],
                          "kind": ["text", "text", "switch", "text", "text"], "text": ["1", "2", "", "3", "4"]})
    k = load(frame).kpis().iloc[0]
    assert (k["sessions"], k["escalation_num"], k["containment_num"]) == (3, 1, 2)


def test_the_readme_kpi_command_runs_word_for_word(capsys, monkeypatch):
    root = Path(__file__).parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### KPIs of the hand-over"):]
    command = next(line for line in section.splitlines() if line.startswith("jivo-ops logs "))
    monkeypatch.chdir(root)
    assert main(command.split()[1:]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines()[0].split() == ["figure", "Анна", "Смирнова", "Борис"]
