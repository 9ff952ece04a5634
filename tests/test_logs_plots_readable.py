"""Issue 15 §4: the pictures read well — concise time ticks, whole-number counts, labels that do not
overprint, a legend beside the points, sub-second waits in ms; real figures from real log files."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.ticker import MaxNLocator

from jivo_ops.logs import chat_timeline, load, transfers_per_hour, wait_histogram
from jivo_ops.logs.plots import duration_text

FIX = Path(__file__).parent / "fixtures" / "logs"


def drawn(fig):
    fig.canvas.draw()
    return fig.axes[0]


def test_waits_read_in_the_unit_people_use():
    assert duration_text(0.034) == "34 мс"  # never "0.0 s"
    assert duration_text(5.49) == "5.5 с"
    assert duration_text(150) == "2.5 мин"


def test_timeline_ticks_are_concise_and_simultaneous_labels_do_not_overprint(tmp_path):
    messages = pd.DataFrame({
        "chat": ["c-9"] * 4,
        "ts": pd.to_datetime(["2026-11-25T10:32:17.370Z", "2026-11-25T10:32:17.380Z", "2026-11-25T10:32:17.380Z",
                              "2026-11-25T10:32:17.414Z"]),
        "author": pd.Categorical(["CLIENT", "BOT", "BOT", "OPERATOR"],
                                 categories=["CLIENT", "BOT", "OPERATOR", "SYSTEM"]),
        "kind": ["text", "text", "switch", "text"],
        "text": ["Позовите оператора", "Соединяю", "", "Здравствуйте"],
    })
    ax = drawn(chat_timeline(messages, "c-9", path=tmp_path / "t.png"))
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ticks and not any(re.search(r"\.\d{4,}", t) for t in ticks), ticks  # no "32:17.380000"
    same_moment = [a for a in ax.texts if a.get_text() in ("Соединяю", "[switch]")]  # one lane, one instant
    assert len({a.xyann for a in same_moment}) == 2, "stacked, not printed over each other"
    assert any(t.get_text() == "ожидание 34 мс" for t in ax.texts)
    legend = ax.get_legend()
    assert legend.get_bbox_to_anchor().x0 >= ax.get_window_extent().x1, "the legend sits beside the axes"


def test_count_axes_have_whole_ticks_and_the_wait_axis_is_in_ms_under_a_second(tmp_path):
    logs = load(FIX, tz="Europe/Moscow")
    transfers = logs.transfers()
    ax = drawn(transfers_per_hour(transfers, path=tmp_path / "h.png"))
    assert isinstance(ax.yaxis.get_major_locator(), MaxNLocator)
    assert all(float(v).is_integer() for v in ax.get_yticks())
    fast = transfers.assign(wait_s=[0.034, 0.051, 0.2, None][: len(transfers)] + [None] * (len(transfers) - 4))
    ax = drawn(wait_histogram(fast, path=tmp_path / "w.png"))
    assert ax.get_xlabel() == "миллисекунды"
    assert ax.get_legend_handles_labels()[1][0] == "медиана 51 мс"
    assert all(float(v).is_integer() for v in ax.get_yticks())
