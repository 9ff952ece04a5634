"""Pictures of the logs: a chat's timeline, the wait-time histogram, transfers per hour, the
service level per hour of the week, the wait per day.

Each function returns a matplotlib ``Figure`` and saves it as PNG when given ``path``. Figures
are built without pyplot's global state (Agg canvas) outside notebooks; inside a Jupyter kernel
they come from pyplot so the notebook shows them inline (closed at once, so a cell that returns
one shows it once).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import SourceError
from .schema import AUTHORS
from ..transfer.results import OUTCOMES

__all__ = ["chat_timeline", "wait_histogram", "transfers_per_hour", "service_level_heatmap", "wait_by_day",
           "new_figure"]

AUTHOR_COLORS = {"CLIENT": "#1f77b4", "BOT": "#7f7f7f", "OPERATOR": "#2ca02c", "SYSTEM": "#d62728"}
OUTCOME_COLORS = {"answered": "#2ca02c", "no_operators": "#ff7f0e", "unanswered": "#d62728", "error": "#9467bd"}


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def new_figure(width: float = 10, height: float = 4):
    if _in_notebook():
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(width, height))
        plt.close(fig)
        return fig
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _finish(fig, path):
    fig.tight_layout()
    if path is not None:
        fig.savefig(Path(path), format="png", dpi=100)
    return fig


def _short(text, limit=28):
    if text is None or text is pd.NA or (isinstance(text, float) and np.isnan(text)):
        return ""
    text = str(text).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def chat_timeline(messages: pd.DataFrame, chat: str, *, path=None, max_labels: int = 40):
    """Who said what when in one chat: one lane per author, the switch and the operator's first
    reply marked with vertical lines and the wait between them."""
    rows = messages[messages["chat"] == chat].dropna(subset=["ts"])
    if rows.empty:
        raise SourceError(f"no messages with a time for chat {chat!r}", column="chat")
    rows = rows.sort_values("ts", kind="stable")
    fig = new_figure(11, 3.8)
    ax = fig.add_subplot()
    lanes = {a: i for i, a in enumerate(reversed(AUTHORS))}
    ts = rows["ts"].dt.tz_convert("UTC").dt.tz_localize(None)
    for author, group in rows.groupby("author", observed=True):
        y = lanes[str(author)]
        ax.scatter(ts[group.index], [y] * len(group), s=40, color=AUTHOR_COLORS[str(author)], label=str(author),
                   zorder=3)
    for n, (i, row) in enumerate(rows.iterrows()):
        if n >= max_labels:
            break
        label = _short(row["text"]) if row["kind"] in ("text", "event", "error") else f"[{row['kind']}]"
        ax.annotate(label, (ts[i], lanes[str(row["author"])]), xytext=(3, 6 if n % 2 else -12),
                    textcoords="offset points", fontsize=7)
    switches = ts[(rows["kind"] == "switch").to_numpy()]
    for k, t in enumerate(switches):
        ax.axvline(t, color="#ff7f0e", linestyle="--", linewidth=1.2, label="switch" if k == 0 else None)
    ops = rows[rows["author"] == "OPERATOR"]
    if len(switches) and len(ops):
        first_op = ts[ops.index[0]]
        ax.axvline(first_op, color=AUTHOR_COLORS["OPERATOR"], linestyle=":", linewidth=1.5,
                   label="first operator reply")
        before = switches[switches <= first_op]
        if len(before):
            wait = (first_op - before.iloc[-1]).total_seconds()
            ax.annotate("", xy=(first_op, len(AUTHORS) - 0.4), xytext=(before.iloc[-1], len(AUTHORS) - 0.4),
                        arrowprops={"arrowstyle": "<->", "color": "#555"})
            ax.text(before.iloc[-1] + (first_op - before.iloc[-1]) / 2, len(AUTHORS) - 0.3, f"wait {wait:.1f} s",
                    ha="center", fontsize=8)
    ax.set_yticks(list(lanes.values()), list(lanes.keys()))
    ax.set_ylim(-0.7, len(AUTHORS) - 0.1)
    ax.set_title(f"Chat {chat}")
    ax.set_xlabel("time (UTC)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper left", fontsize=7, bbox_to_anchor=(1.01, 1.0))
    fig.autofmt_xdate()
    return _finish(fig, path)


def wait_histogram(transfers: pd.DataFrame, *, path=None, bins: int = 30):
    """Time from switch to the operator's first reply, with the median and p95 marked."""
    waits = transfers["wait_s"].dropna().to_numpy(dtype=float)
    fig = new_figure(8, 4)
    ax = fig.add_subplot()
    if len(waits):
        ax.hist(waits, bins=bins, color="#1f77b4", alpha=0.8)
        median, p95 = np.median(waits), np.quantile(waits, 0.95)
        ax.axvline(median, color="#2ca02c", linewidth=2, label=f"median {median:.1f} s")
        ax.axvline(p95, color="#d62728", linewidth=2, linestyle="--", label=f"p95 {p95:.1f} s")
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no answered transfers", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(f"Wait for the first operator reply ({len(waits)} answered transfers)")
    ax.set_xlabel("seconds")
    ax.set_ylabel("transfers")
    return _finish(fig, path)


def transfers_per_hour(transfers: pd.DataFrame, *, path=None, freq: str = "h"):
    """Transfers per hour (or ``freq``), stacked by outcome."""
    from .tabulate import per_period

    table = per_period(transfers, freq=freq)
    fig = new_figure(10, 4)
    ax = fig.add_subplot()
    if len(table):
        x = table["period"].dt.tz_convert("UTC").dt.tz_localize(None)
        from pandas.tseries.frequencies import to_offset

        width = pd.Timedelta(to_offset(freq).nanos, unit="ns") * 0.9
        bottom = np.zeros(len(table))
        for outcome in OUTCOMES:
            values = table[outcome].to_numpy()
            if values.any():
                ax.bar(x, values, width=width, bottom=bottom, color=OUTCOME_COLORS[outcome], label=outcome,
                       align="edge")
                bottom += values
        ax.legend(fontsize=8)
        fig.autofmt_xdate()
    else:
        ax.text(0.5, 0.5, "no transfers", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("Transfers and outcomes per " + ("hour" if freq.lower() == "h" else freq))
    ax.set_ylabel("transfers")
    return _finish(fig, path)


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def service_level_heatmap(transfers: pd.DataFrame, messages: pd.DataFrame | None = None, *, path=None,
                          service_level_s: float = 20, tz: str = "UTC"):
    """Service level (colour) and switches (the number in each cell) per hour of the week, on the
    ``tz`` clock; with the messages, hours in which no operator was seen (no operator message, no
    Jivo ``chat_accepted``) are hatched."""
    from .kpis import service_level_by_hour_of_week

    grid = service_level_by_hour_of_week(transfers, messages, service_level_s=service_level_s, tz=tz)
    fig = new_figure(12, 4)
    ax = fig.add_subplot()
    level = grid["service_level"].to_numpy(dtype=float)
    image = ax.imshow(np.ma.masked_invalid(level), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    fig.colorbar(image, ax=ax, label=f"answered within {service_level_s:g} s ÷ switches offered")
    counts = grid["switches"].to_numpy()
    for day, hour in zip(*np.nonzero(counts)):
        ax.text(hour, day, str(counts[day, hour]), ha="center", va="center", fontsize=7)
    if "operators_online" in grid:
        offline = ~grid["operators_online"].to_numpy(dtype=bool)
        for day, hour in zip(*np.nonzero(offline)):
            ax.add_patch(_hatched_cell(hour, day))
    ax.set_xticks(range(24))
    ax.set_yticks(range(7), _WEEKDAYS)
    ax.set_xlabel(f"hour ({tz})")
    ax.set_title("Service level and switches per hour of the week" +
                 (" (hatched: no operator seen)" if "operators_online" in grid else ""))
    return _finish(fig, path)


def _hatched_cell(x, y):
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#999999", linewidth=0)


def wait_by_day(transfers: pd.DataFrame, *, path=None, tz: str = "UTC"):
    """The distribution of the wait for the first operator reply, one box per day (``tz`` clock)."""
    answered = transfers[transfers["wait_s"].notna()]
    fig = new_figure(10, 4)
    ax = fig.add_subplot()
    if len(answered):
        day = answered["switched_at"].dt.tz_convert(tz).dt.date
        groups = [(str(d), g.to_numpy()) for d, g in answered["wait_s"].groupby(day)]
        ax.boxplot([g for _, g in groups], showfliers=True)
        ax.set_xticks(range(1, len(groups) + 1), [d for d, _ in groups], rotation=30)
    else:
        ax.text(0.5, 0.5, "no answered transfers", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(f"Wait for the first operator reply per day ({tz})")
    ax.set_ylabel("seconds")
    return _finish(fig, path)
