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
from ..i18n import N_, _
from .schema import AUTHORS
from ..transfer.results import OUTCOMES

__all__ = ["chat_timeline", "wait_histogram", "transfers_per_hour", "service_level_heatmap", "wait_by_day",
           "new_figure", "duration_text"]

AUTHOR_COLORS = {"CLIENT": "#1f77b4", "BOT": "#7f7f7f", "OPERATOR": "#2ca02c", "SYSTEM": "#d62728"}
# The lanes as labelled on screen (the schema's author values stay as they are in the data).
AUTHOR_LABELS = {"CLIENT": N_("client"), "BOT": N_("bot"), "OPERATOR": N_("operator"), "SYSTEM": N_("system")}
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


def duration_text(seconds: float) -> str:
    """A wait as people read it: "34 ms" under a second (never "0.0 s"), "5.5 s" under a minute, then minutes."""
    if seconds < 1:
        return _("{value} ms").format(value=f"{seconds * 1000:.0f}")
    if seconds < 60:
        return _("{value} s").format(value=f"{seconds:.1f}")
    return _("{value} min").format(value=f"{seconds / 60:.1f}")


def _time_axis(ax) -> None:
    """Ticks a reader can use on any span: "10:32:17", the date once at the edge, no microseconds."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    # numeric dates: a month's name would be the locale's, not the screen's language
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(
        locator, formats=["%Y", "%m", "%d", "%H:%M", "%H:%M", "%S.%f"],
        zero_formats=["", "%Y", "%Y-%m", "%m-%d", "%H:%M", "%H:%M"],
        offset_formats=["", "%Y", "%Y-%m", "%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M"]))


def _count_axis(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))  # counts: no tick at 0.2 transfers


def _label_offsets(times: pd.Series, lanes: list[int], span_s: float) -> list[int]:
    """Vertical offsets (points) of the events' labels: in one lane, labels of events closer than a label's
    width (about a fifth of the axis) go alternately above and below the points, further out each time
    (three rows each side, then again), instead of printing over each other."""
    offsets, clusters = [], {}
    window = span_s * 0.2
    for moment, lane in zip(times, lanes):
        start, level = clusters.get(lane, (None, -1))
        if start is None or (moment - start).total_seconds() >= window:
            start, level = moment, -1
        level += 1
        clusters[lane] = (start, level)
        rank = (level // 2) % 3
        offsets.append(6 + 10 * rank if level % 2 == 0 else -12 - 10 * rank)
    return offsets


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
        ax.scatter(ts[group.index], [y] * len(group), s=40, color=AUTHOR_COLORS[str(author)],
                   label=_(AUTHOR_LABELS[str(author)]), zorder=3)
    labelled = rows.head(max_labels)
    lane_of = [lanes[str(a)] for a in labelled["author"]]
    span_s = max((ts.iloc[-1] - ts.iloc[0]).total_seconds(), 1e-3)
    offsets = _label_offsets(ts[labelled.index], lane_of, span_s)
    for (i, row), lane, dy in zip(labelled.iterrows(), lane_of, offsets):
        label = _short(row["text"], 24) if row["kind"] in ("text", "event", "error") else f"[{row['kind']}]"
        ax.annotate(label, (ts[i], lane), xytext=(3, dy), textcoords="offset points", fontsize=7)
    switches = ts[(rows["kind"] == "switch").to_numpy()]
    for k, t in enumerate(switches):
        ax.axvline(t, color="#ff7f0e", linestyle="--", linewidth=1.2, label=_("switch") if k == 0 else None)
    ops = rows[rows["author"] == "OPERATOR"]
    if len(switches) and len(ops):
        first_op = ts[ops.index[0]]
        ax.axvline(first_op, color=AUTHOR_COLORS["OPERATOR"], linestyle=":", linewidth=1.5,
                   label=_("first operator reply"))
        before = switches[switches <= first_op]
        if len(before):
            wait = (first_op - before.iloc[-1]).total_seconds()
            ax.annotate("", xy=(first_op, len(AUTHORS) - 0.4), xytext=(before.iloc[-1], len(AUTHORS) - 0.4),
                        arrowprops={"arrowstyle": "<->", "color": "#555"})
            ax.text(before.iloc[-1] + (first_op - before.iloc[-1]) / 2, len(AUTHORS) - 0.3,
                    _("wait {duration}").format(duration=duration_text(wait)), ha="center", fontsize=8)
    ax.set_yticks(list(lanes.values()), [_(AUTHOR_LABELS[a]) for a in lanes])
    ax.set_ylim(-0.7, len(AUTHORS) - 0.1)
    ax.set_title(_("Chat {chat}").format(chat=chat))
    ax.set_xlabel(_("time (UTC)"))
    _time_axis(ax)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper left", fontsize=7, bbox_to_anchor=(1.01, 1.0))  # outside: it never covers a point
    return _finish(fig, path)


def wait_histogram(transfers: pd.DataFrame, *, path=None, bins: int = 30):
    """Time from switch to the operator's first reply, with the median and p95 marked."""
    waits = transfers["wait_s"].dropna().to_numpy(dtype=float)
    fig = new_figure(8, 4)
    ax = fig.add_subplot()
    # sub-second waits are drawn in milliseconds: an axis of 0.00, 0.01 … says nothing
    in_ms = bool(len(waits)) and float(np.max(waits)) < 1
    scale = 1000 if in_ms else 1
    if len(waits):
        ax.hist(waits * scale, bins=bins, color="#1f77b4", alpha=0.8)
        median, p95 = np.median(waits), np.quantile(waits, 0.95)
        ax.axvline(median * scale, color="#2ca02c", linewidth=2,
                   label=_("median {duration}").format(duration=duration_text(median)))
        ax.axvline(p95 * scale, color="#d62728", linewidth=2, linestyle="--",
                   label=_("p95 {duration}").format(duration=duration_text(p95)))
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: it never covers a bar
    else:
        ax.text(0.5, 0.5, _("no answered transfers"), ha="center", va="center", transform=ax.transAxes)
    ax.set_title(_("Wait for the first operator reply ({n} answered transfers)").format(n=len(waits)))
    ax.set_xlabel(_("milliseconds") if in_ms else _("seconds"))
    ax.set_ylabel(_("transfers"))
    _count_axis(ax.yaxis)
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
        ax.legend(loc="best", fontsize=8)
        _time_axis(ax)
    else:
        ax.text(0.5, 0.5, _("no transfers"), ha="center", va="center", transform=ax.transAxes)
    ax.set_title(_("Transfers and outcomes per hour (UTC)") if freq.lower() == "h"
                 else _("Transfers and outcomes per {period} (UTC)").format(period=freq))
    ax.set_ylabel(_("transfers"))
    _count_axis(ax.yaxis)
    return _finish(fig, path)


_WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


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
    fig.colorbar(image, ax=ax, label=_("answered within {seconds} s ÷ switches offered").format(
        seconds=f"{service_level_s:g}"))
    counts = grid["switches"].to_numpy()
    for day, hour in zip(*np.nonzero(counts)):
        ax.text(hour, day, str(counts[day, hour]), ha="center", va="center", fontsize=7)
    if "operators_online" in grid:
        offline = ~grid["operators_online"].to_numpy(dtype=bool)
        for day, hour in zip(*np.nonzero(offline)):
            ax.add_patch(_hatched_cell(hour, day))
    ax.set_xticks(range(24))
    ax.set_yticks(range(7), [_(day) for day in _WEEKDAYS])
    ax.set_xlabel(_("hour ({tz})").format(tz=tz))
    ax.set_title(_("Service level and switches per hour of the week (hatched: no operator seen)")
                 if "operators_online" in grid else _("Service level and switches per hour of the week"))
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
        ax.text(0.5, 0.5, _("no answered transfers"), ha="center", va="center", transform=ax.transAxes)
    ax.set_title(_("Wait for the first operator reply per day ({tz})").format(tz=tz))
    ax.set_ylabel(_("seconds"))
    return _finish(fig, path)
