"""The KPI tab of LogExplorer shows what `LogSet.kpis` and `jivo-ops logs --kpis` give."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from jivo_ops.logs import load
from jivo_ops.widgets import LogExplorer

FIX = Path(__file__).parent / "fixtures" / "jivo_events"
SOURCES = [str(FIX / "jaicp.jsonl"), str(FIX / "webhooks.jsonl")]


def test_the_kpi_tab_shows_the_operations_figures():
    ui = LogExplorer(*SOURCES, autoload=True)
    ui.wait(60)
    ui.plots.selected_index = 2
    html = ui.kpi_table.value
    assert "service_level_den" in html and "escalation_rate" in html and "0.833" in html
    ui.kpi_by_choice.value = "operator"
    pd.testing.assert_frame_equal(ui.model.kpis(), load(*SOURCES).kpis(by="operator"))
    assert "Борис" in ui.kpi_table.value
    ui.operator_choice.value = "Борис"  # the filters apply: only Борис's chats
    assert ui.model.kpis()["operator"].tolist() == ["Борис"]
    assert "Анна" not in ui.kpi_table.value


def test_the_heat_map_and_the_wait_per_day_are_drawn(tmp_path):
    from jivo_ops.logs.kpis import service_level_by_hour_of_week
    from jivo_ops.logs.plots import service_level_heatmap, wait_by_day

    logs = load(*SOURCES)
    t = logs.transfers()
    grid = service_level_by_hour_of_week(t, logs.messages)
    monday = grid["switches"].loc[0]  # 2026-03-02 is a Monday
    assert monday[[10, 11, 12, 13, 14]].tolist() == [1, 1, 1, 1, 1] and int(grid["switches"].values.sum()) == 5
    assert grid["service_level"].loc[0, 10] == 1.0 and grid["service_level"].loc[0, 12] == 0.0
    # operators were seen at 10, 11 and 14 (messages, accepts); not at 12 (the offline trap) or 13
    assert grid["operators_online"].loc[0, [10, 11, 12, 13, 14]].tolist() == [True, True, False, False, True]
    service_level_heatmap(t, logs.messages, path=tmp_path / "sl.png")
    wait_by_day(t, path=tmp_path / "waits.png")
    assert (tmp_path / "sl.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "waits.png").stat().st_size > 0
