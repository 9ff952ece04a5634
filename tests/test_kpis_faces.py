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
