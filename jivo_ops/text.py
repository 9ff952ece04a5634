"""Plain-text tables that fit a terminal: shown by the CLI and by text reprs of the operations' values."""

from __future__ import annotations

import shutil
from typing import Any, Iterable, Sequence

__all__ = ["format_table"]


def format_table(rows: Iterable[Sequence[Any]], columns: Sequence[str], *, width: int | None = None,
                 wrap: Sequence[str] = ()) -> str:
    """A plain-text table that fits `width` (default: the terminal's).

    Without `wrap` the last column is cut with "…"; with `wrap` (column names) those columns share the
    width left by the others and their text wraps onto more lines, so nothing is lost.
    """
    rows = [["" if v is None else str(v) for v in row] for row in rows]
    width = width or shutil.get_terminal_size((120, 24)).columns
    widths = [len(c) for c in columns]
    for row in rows:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))
    if wrap:
        return _wrapped_table(rows, columns, widths, width, [columns.index(name) for name in wrap])
    fixed = sum(widths[:-1]) + 2 * (len(columns) - 1)
    widths[-1] = max(len(columns[-1]), min(widths[-1], width - fixed)) if width > fixed + 8 else widths[-1]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(),
           "  ".join("-" * w for w in widths)]
    for row in rows:
        cells = [v.ljust(w) if i < len(widths) - 1 else v for i, (v, w) in enumerate(zip(row, widths))]
        last = cells[-1]
        if len(last) > widths[-1]:
            last = last[: max(widths[-1] - 1, 1)] + "…"
        out.append("  ".join(cells[:-1] + [last]).rstrip())
    return "\n".join(out)


def _wrapped_table(rows: list[list[str]], columns: Sequence[str], widths: list[int], width: int,
                   wrapped: list[int], minimum: int = 12) -> str:
    import textwrap

    room = width - sum(w for i, w in enumerate(widths) if i not in wrapped) - 2 * (len(columns) - 1)
    # Share the room: narrow columns keep their natural width, the rest split what is left evenly.
    pending = sorted(wrapped, key=lambda i: widths[i])
    while pending:
        share = max(minimum, room // len(pending))
        i = pending.pop(0)
        widths[i] = max(min(widths[i], share), min(minimum, widths[i]))
        room -= widths[i]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(),
           "  ".join("-" * w for w in widths)]
    for row in rows:
        cells = [textwrap.wrap(v, widths[i], break_long_words=True, break_on_hyphens=False) or [""]
                 if i in wrapped else [v] for i, v in enumerate(row)]
        for line in range(max(len(c) for c in cells)):
            parts = [(c[line] if line < len(c) else "").ljust(w) for c, w in zip(cells, widths)]
            out.append("  ".join(parts).rstrip())
    return "\n".join(out)
