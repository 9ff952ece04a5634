"""Message logs as pandas tables: one schema from every source, transfer KPIs, plots.

>>> logs = load("reporter-pages.json", "export.csv", "recorder.sqlite", "transfers.jsonl")
>>> logs                       # <LogSet 1,234 messages in 56 chats (...); 2 rejected; 7 duplicates removed>
>>> logs.messages              # the schema (see jivo_ops.logs.schema)
>>> logs.rejected              # file, row, reason — nothing is dropped silently
>>> t = logs.transfers(since="24h", outcome="unanswered")
>>> wait_histogram(logs.transfers()).savefig("waits.png")

Sources: Reporter API pages (saved JSON, or live via :func:`from_reporter`), Reporter CSV/XLSX
exports, the webhook recorder's SQLite store, test-transfer JSONL, raw Jivo body dumps, and the
flat events JSONL/CSV/Parquet of the schema itself. Plots load matplotlib only when called.
"""

from __future__ import annotations

from .loading import LoadResult, LogSet, load, load_part
from .sources.reporter import from_reporter
from .schema import AUTHORS, COLUMNS, KINDS, SOURCES, empty_messages
from ..times import parse_time
from .tabulate import (OUTCOMES, export, filter_frame, per_operator, per_period, summarize,
                       transfers_table)

load_logs = load  # the name jivo_ops exports at top level

__all__ = [
    "load", "load_logs", "load_part", "LogSet", "LoadResult", "from_reporter",
    "COLUMNS", "AUTHORS", "KINDS", "SOURCES", "OUTCOMES", "empty_messages",
    "transfers_table", "per_operator", "per_period", "filter_frame", "parse_time", "summarize", "export",
    "chat_timeline", "wait_histogram", "transfers_per_hour",
]


def __getattr__(name):  # plots import matplotlib: only when asked for
    if name in ("chat_timeline", "wait_histogram", "transfers_per_hour"):
        from . import plots

        return getattr(plots, name)
    raise AttributeError(f"module 'jivo_ops.logs' has no attribute {name!r}")
