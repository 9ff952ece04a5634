"""Shared pieces of the CLI commands: tables that fit the terminal, JSON, profile choice, bounded
number arguments, serving until --duration has passed or Ctrl-C."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..redaction import redact

__all__ = ["print_table", "format_table", "print_json", "add_profile_argument", "resolve_profile",
           "number_argument", "add_request_filters", "add_duration_argument", "wait_slices"]


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


def print_table(rows: Iterable[Sequence[Any]], columns: Sequence[str], *, file=None,
                wrap: Sequence[str] = ()) -> None:
    print(redact(format_table(rows, columns, wrap=wrap)), file=file or sys.stdout)


def print_json(value: Any, *, file=None) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2), file=file or sys.stdout)


def add_profile_argument(parser, *, sandbox: bool = False) -> None:
    parser.add_argument("--profile", metavar="PATH",
                        help="profile file (default: $JIVO_OPS_PROFILE)")
    if sandbox:
        parser.add_argument("--sandbox", action="store_true",
                            help="run against a sandbox started for this command (no accounts needed)")


def add_request_filters(parser) -> None:
    """--chat and --since: which recorded requests a command takes (`Exchanges.query`'s chat= and since=)."""
    parser.add_argument("--chat", metavar="ID", help="only requests about this client id")
    parser.add_argument("--since", metavar="T", help="only requests from T on (ISO 8601, or 90s / 15m / 2h / 1d ago)")


def add_duration_argument(parser) -> None:
    """--duration for commands that serve until Ctrl-C (see `wait_slices`)."""
    parser.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                        help="stop after this long instead of waiting for Ctrl-C")


def wait_slices(duration: float | None, step: float) -> Iterator[float]:
    """How long to wait next, at most `step` seconds a turn, until `duration` seconds have passed
    (for ever when None: the command then stops on Ctrl-C)."""
    deadline = None if duration is None else time.monotonic() + duration
    while deadline is None or time.monotonic() < deadline:
        yield step if deadline is None else max(0.0, min(step, deadline - time.monotonic()))


def resolve_profile(args):
    from ..profile import load_profile

    return load_profile(getattr(args, "profile", None))


def number_argument(convert: Callable[[str], float], within: Callable[[Any], bool], *, expected: str,
                    out_of_range: str) -> Callable[[str], Any]:
    """An argparse `type=` that converts with `convert` (int or float) and accepts only values that
    are `within`; each refusal is one line naming what was typed: ``'x': <expected>``."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: {expected}") from None
        if not within(value):
            raise argparse.ArgumentTypeError(f"{text!r}: {out_of_range}")
        return value
    return parse
