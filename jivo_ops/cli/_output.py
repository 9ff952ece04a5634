"""Shared terminal output for the CLI commands: tables that fit the terminal, JSON, profile choice."""

from __future__ import annotations

import json
import shutil
import sys
from typing import Any, Iterable, Sequence

from ..redaction import redact

__all__ = ["print_table", "format_table", "print_json", "add_profile_argument", "resolve_profile"]


def format_table(rows: Iterable[Sequence[Any]], columns: Sequence[str], *, width: int | None = None) -> str:
    """A plain-text table; the last column wraps or is cut so lines fit `width`."""
    rows = [["" if v is None else str(v) for v in row] for row in rows]
    width = width or shutil.get_terminal_size((120, 24)).columns
    widths = [len(c) for c in columns]
    for row in rows:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))
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


def print_table(rows: Iterable[Sequence[Any]], columns: Sequence[str], *, file=None) -> None:
    print(redact(format_table(rows, columns)), file=file or sys.stdout)


def print_json(value: Any, *, file=None) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2), file=file or sys.stdout)


def add_profile_argument(parser, *, sandbox: bool = False) -> None:
    parser.add_argument("--profile", metavar="PATH",
                        help="profile file (default: $JIVO_OPS_PROFILE)")
    if sandbox:
        parser.add_argument("--sandbox", action="store_true",
                            help="run against a sandbox started for this command (no accounts needed)")


def resolve_profile(args):
    from ..profile import load_profile

    return load_profile(getattr(args, "profile", None))
