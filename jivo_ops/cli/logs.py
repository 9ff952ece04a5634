"""`jivo-ops logs SOURCE... [--summary | --transfers | --kpis [--by day|hour|operator]] [--since T] [--until T] [--chat ID]
[--format table|csv|json] [--out FILE] [--plot FILE.png]`: read message logs from any source.

Without --summary or --transfers it lists the messages. Rejected rows and removed duplicates
are reported on stderr (all rejected rows with --rejected FILE); nothing is dropped silently.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
from pathlib import Path

from ..errors import SourceError
from ..files import check_output, writing
from ..redaction import redact
from ..text import format_table
from ..times import TIME_FORMS

__all__ = ["register", "run"]

_EXPORT_SUFFIXES = {".csv", ".parquet", ".xlsx", ".jsonl", ".json"}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "logs", help="load message logs (Reporter pages/exports, recorder store, transfer JSONL, Jivo dumps)",
        description="Load message logs from any source into one table: JAICP Reporter pages (JSON) and "
                    "CSV/XLSX exports, a recorder store, transfer results (JSONL), raw Jivo bodies, events "
                    "JSONL; a folder means every file in it. Lists the messages, or with --transfers one row "
                    "per switch, or with --summary the headline figures.")
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="files or directories of logs")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--summary", action="store_true", help="headline figures instead of the messages")
    mode.add_argument("--transfers", action="store_true", help="one row per switch: wait, close, outcome")
    mode.add_argument("--kpis", action="store_true",
                      help="contact-centre KPIs of the hand-over, each with its numerator and denominator")
    p.add_argument("--by", choices=["day", "hour", "operator"], help="with --kpis: one row per day, hour or operator")
    p.add_argument("--service-level", metavar="SECONDS", type=float, default=20,
                   help="with --kpis: the service level's answer time (default 20 s)")
    p.add_argument("--display-tz", metavar="ZONE", default="UTC",
                   help="with --kpis --by day|hour: the clock the periods are cut on (default UTC)")
    p.add_argument("--since", metavar="T", help=f"from this time: {TIME_FORMS}")
    p.add_argument("--until", metavar="T", help="before this time (same forms)")
    p.add_argument("--chat", metavar="ID", action="append", help="only this chat (repeatable)")
    p.add_argument("--operator", metavar="NAME", action="append",
                   help="only the chats this operator took part in, all their messages; with --transfers "
                        "the transfers they answered (repeatable)")
    p.add_argument("--outcome", action="append", choices=["answered", "no_operators", "unanswered", "error"],
                   help="with --transfers: only this outcome (repeatable)")
    p.add_argument("--format", choices=["table", "csv", "json", "parquet"],
                   help="output format (default: table); parquet with --out DIR/ writes the messages as a "
                        "Parquet dataset, one folder per UTC day, adding files on every run")
    p.add_argument("--out", metavar="FILE",
                   help="write there instead of stdout; .csv/.parquet/.xlsx/.jsonl export the full table")
    p.add_argument("--plot", metavar="FILE.png",
                   help="save a picture: the chat's timeline with --chat, the wait histogram with "
                        "--transfers, else transfers per hour")
    p.add_argument("--plot-kind", choices=["timeline", "waits", "hourly"], help="which picture --plot draws")
    p.add_argument("--rejected", metavar="FILE", help="write the rejected rows (file, row, reason) as CSV")
    p.add_argument("--tz", default="UTC", help="zone of naive export timestamps (default UTC)")
    p.add_argument("--delimiter", help="CSV export delimiter (default: sniffed)")
    p.add_argument("--encoding", help="CSV export encoding (default: UTF-8, else cp1251)")
    p.add_argument("--date-format", default="yyyy-MM-dd HH:mm:ss.SSS", help="export date format (Java style)")
    p.add_argument("--no-header", action="store_true", help="the CSV/XLSX export has no header row")
    p.set_defaults(func=run)


def _fmt_ts(value) -> str:
    if value is None or value != value:  # NaT
        return ""
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _s(value) -> str:
    return value if isinstance(value, str) else ""


def _fmt_num(value, digits=1) -> str:
    return "" if value is None or value != value else f"{value:.{digits}f}"


def _table_rows(frame, mode):
    """(rows, columns, the columns to drop first when the terminal is narrow); the last column is
    the one format_table shortens."""
    if mode == "transfers":
        columns = ["switched_at", "chat", "outcome", "wait_s", "closed_by", "msgs c/b/o/s", "operator"]
        rows = [(_fmt_ts(r.switched_at), r.chat, r.outcome, _fmt_num(r.wait_s), _s(r.closed_by),
                 f"{r.n_client}/{r.n_bot}/{r.n_operator}/{r.n_system}", _s(r.operator))
                for r in frame.itertuples(index=False)]
        return rows, columns, ["msgs c/b/o/s", "closed_by"]
    columns = ["ts", "chat", "author", "kind", "operator", "text"]
    rows = [(_fmt_ts(r.ts), r.chat, r.author, r.kind, _s(r.operator), _s(r.text).replace("\n", " "))
            for r in frame.itertuples(index=False)]
    return rows, columns, ["operator", "kind"]


def _fit(rows, columns, droppable, width, last_min=12):
    """Drop the least needed columns until the others leave the last one `last_min` characters."""
    rows = [list(r) for r in rows]
    columns = list(columns)
    for name in droppable:
        widths = [max([len(str(c))] + [len(str(r[i])) for r in rows]) for i, c in enumerate(columns)]
        if sum(widths[:-1]) + 2 * (len(columns) - 1) + last_min <= width:
            break
        i = columns.index(name)
        columns.pop(i)
        for r in rows:
            r.pop(i)
    return rows, columns


def _summary_frame(summary: dict):
    import pandas as pd

    flat = {}
    for key, value in summary.items():
        if isinstance(value, dict):
            for sub, n in value.items():
                flat[f"{key}.{sub}"] = n
        else:
            flat[key] = value
    return pd.DataFrame({"figure": list(flat), "value": ["" if v is None else str(v) for v in flat.values()]})


def _kpi_table(frame) -> str:
    """One line per figure, one column per period/operator (a wide table read down)."""
    import pandas as pd

    key = next((c for c in ("period", "operator") if c in frame.columns), None)
    heads = ["figure"] + ([_fmt_ts(v) if key == "period" else str(v) for v in frame[key]] if key else ["value"])
    figures = [c for c in frame.columns if c != key]
    cell = lambda v: "" if pd.isna(v) else (  # noqa: E731
        f"{v:.3f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v))
    rows = [[name] + [cell(v) for v in frame[name]] for name in figures]
    return format_table(rows, heads, width=max(120, shutil.get_terminal_size((120, 24)).columns))


def _render(frame, mode, fmt, summary=None) -> str:
    if mode == "kpis" and fmt == "table":
        return _kpi_table(frame)
    if mode == "summary":
        if fmt == "json":
            return json.dumps(summary, ensure_ascii=False, indent=2)
        frame = _summary_frame(summary)
        if fmt == "csv":
            return frame.to_csv(index=False).rstrip("\n")
        return format_table(frame.itertuples(index=False), list(frame.columns))
    if fmt == "csv":
        buf = io.StringIO()
        frame.to_csv(buf, index=False, date_format="%Y-%m-%dT%H:%M:%S.%f%z")
        return buf.getvalue().rstrip("\n")
    if fmt == "json":
        return json.dumps(json.loads(frame.to_json(orient="records", date_format="iso", date_unit="us",
                                                   force_ascii=False)), ensure_ascii=False, indent=2)
    rows, columns, droppable = _table_rows(frame, mode)
    if not rows:
        return "(no " + ("transfers" if mode == "transfers" else "messages") + ")"
    width = shutil.get_terminal_size((120, 24)).columns
    rows, columns = _fit(rows, columns, droppable, width)
    return format_table(rows, columns, width=width)


def run(args: argparse.Namespace) -> int:
    from ..logs import export, load, summarize

    options = {"date_format": args.date_format}
    if args.delimiter:
        options["delimiter"] = args.delimiter
    if args.encoding:
        options["encoding"] = args.encoding
    if args.no_header:
        options["header"] = False
    mode = "summary" if args.summary else "transfers" if args.transfers else "kpis" if args.kpis else "messages"
    # a dataset folder is appended to; every other output is one file
    for output in (None if args.format == "parquet" else args.out, args.rejected, args.plot):
        check_output(output)  # before the work, not after it
    # a transfer's segment runs past --since/--until: only the other views narrow the messages first
    # (a Parquet dataset then reads only the days asked for)
    wanted = {} if mode == "transfers" or args.operator else {"since": args.since, "until": args.until,
                                                               "chat": args.chat}
    logs = load(*args.sources, tz=args.tz, **wanted, **options)
    if len(logs.rejected):
        first = logs.rejected.iloc[0]
        hint = "" if args.rejected else "; --rejected FILE lists them all"
        n = len(logs.rejected)
        print(redact(f"jivo-ops: {n} row{'s' if n != 1 else ''} rejected (first: {first['file']} row "
                     f"{first['row']}: {first['reason']}){hint}"), file=sys.stderr)
        if args.rejected:
            with writing(args.rejected):
                logs.rejected[["file", "row", "reason"]].to_csv(args.rejected, index=False)
    for warning in logs.warnings:  # zone-less times, sources hours apart: once each
        print(redact(f"jivo-ops: {warning}"), file=sys.stderr)
    if logs.duplicates_removed:
        n = logs.duplicates_removed
        print(f"jivo-ops: {n} duplicate message{'s' if n != 1 else ''} removed", file=sys.stderr)

    if args.outcome and mode != "transfers":
        raise SourceError("--outcome needs --transfers")
    if args.by and mode != "kpis":
        raise SourceError("--by needs --kpis")
    summary = None
    if mode == "transfers":
        frame = logs.transfers(since=args.since, until=args.until, chat=args.chat, operator=args.operator,
                               outcome=args.outcome)
    else:
        logs = logs.filter(since=args.since, until=args.until, chat=args.chat, operator=args.operator)
        frame = logs.messages
        if mode == "kpis":
            frame = logs.kpis(by=args.by, service_level_s=args.service_level, tz=args.display_tz)
        if mode == "summary":
            summary = summarize(logs)
            frame = _summary_frame(summary)

    if args.format == "parquet":
        if not args.out or mode != "messages":
            raise SourceError("--format parquet writes the messages as a dataset: give --out DIR/ and no "
                              "--summary/--transfers/--kpis")
        with writing(args.out):
            logs.to_parquet(args.out)
        print(f"jivo-ops: wrote {len(frame)} messages to the dataset {args.out}", file=sys.stderr)
    elif args.out and args.format is None and Path(args.out).suffix.lower() in _EXPORT_SUFFIXES:
        with writing(args.out):
            export(frame, args.out)
        print(f"jivo-ops: wrote {len(frame)} rows to {args.out}", file=sys.stderr)
    else:
        text = redact(_render(frame, mode, args.format or "table", summary))
        if args.out:
            with writing(args.out):
                Path(args.out).write_text(text + "\n", encoding="utf-8")
            print(f"jivo-ops: wrote {len(frame)} rows to {args.out}", file=sys.stderr)
        else:
            print(text)

    if args.plot:
        with writing(args.plot):
            _plot(args, logs, mode)
    return 0


def _plot(args, logs, mode) -> None:
    from ..logs import plots

    kind = args.plot_kind or ("timeline" if args.chat else "waits" if mode == "transfers" else "hourly")
    if kind == "timeline":
        if not args.chat:
            raise SourceError("--plot-kind timeline needs --chat ID")
        plots.chat_timeline(logs.messages, args.chat[0], path=args.plot)
    else:
        t = logs.transfers(since=args.since, until=args.until, chat=args.chat, operator=args.operator,
                           outcome=args.outcome)
        (plots.wait_histogram if kind == "waits" else plots.transfers_per_hour)(t, path=args.plot)
    print(f"jivo-ops: saved the {kind} picture to {args.plot}", file=sys.stderr)
