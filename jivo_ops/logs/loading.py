"""`load(*sources)`: pick the loader for each source, concatenate, de-duplicate, report.

A source is a path (file or directory), parsed JSON (a Reporter page, a list of pages/messages,
Jivo bodies, transfer dicts), ``TransferResult`` values, a schema DataFrame, or a LogSet.
Files are told apart by extension and content: ``.xlsx`` → export; ``.parquet`` → schema;
an SQLite header → recorder store; ``.csv``/``.tsv``/``.txt`` → CSV export (or the schema's own
CSV); JSON/JSONL by the keys of the first record (``transfer_id`` → transfers, ``messages`` →
Reporter pages, ``ts`` + ``author`` → events, ``recipient``/``sender`` → Jivo bodies, ``event_name`` → Jivo Webhooks API events,
``questionId``/``timestamp`` → Reporter messages).

De-duplication, on stable keys:

1. the same row twice from one source family (overlapping Reporter pages, a file given twice):
   the same ``source``, ``message_id``, ``ts``, ``chat``, ``author``, ``kind`` and ``text`` (an
   id seen twice at different times is two deliveries, e.g. a webhook retried by Jivo);
2. the same message seen by two source families (the recorder and the Reporter both log an
   operator's answer): same chat, author, kind and text within ``dedupe_window`` of each other;
   the row of the richer source is kept (reporter > export > transfers > recorder > jivo > events >
   webhooks).

Every removed row is counted in ``LogSet.duplicates_removed``.

``LogSet.warnings`` says, once per source, when its times carry no zone (read in ``tz``, UTC unless
told), and when two sources of the same chat disagree by a whole number of hours (one of them is
local time read as another zone): the CLI prints them on stderr, `LogExplorer` in its status.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import SourceError
from ..files import input_problem, loads_json, shown_name
from ..i18n import _
from ._build import Builder, Part, json_lines
from .schema import COLUMNS, empty_messages, empty_rejected, conform

__all__ = ["load", "LogSet", "LoadResult", "load_part", "SOURCE_PRIORITY"]

SOURCE_PRIORITY = {"reporter": 6, "export": 5, "transfers": 4, "recorder": 3, "jivo": 2, "events": 1,
                   "webhooks": 0}
_JSON_EXT = {".json", ".jsonl", ".ndjson", ".log", ""}
_CSV_EXT = {".csv", ".tsv", ".txt"}


@dataclass
class LogSet:
    """Loaded logs: ``messages`` (the schema), ``rejected`` (file, row, reason), how many
    duplicates were removed, and one line per source (``sources``: origin, source, messages,
    rejected)."""

    messages: pd.DataFrame
    rejected: pd.DataFrame = field(default_factory=empty_rejected)
    duplicates_removed: int = 0
    sources: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"origin": [], "source": [], "messages": [], "rejected": []}))
    # Jivo Webhooks API chats paired with their JAICP chat (jivo_chat, chat, rule): see jivo_join
    jivo_pairs: pd.DataFrame = field(default_factory=lambda: _empty_pairs())
    warnings: list[str] = field(default_factory=list)  # one line each: zone-less times, sources hours apart
    zoneless: dict[str, str] = field(default_factory=dict)  # origin → the zone its zone-less times were read in

    # --- views -----------------------------------------------------------------------------
    # Every face filters through these two (and so through `filter_frame`): None or a blank text
    # means "no filter", since/until use the one time grammar (`jivo_ops.times`).
    def transfers(self, *, since=None, until=None, chat=None, operator=None, outcome=None) -> pd.DataFrame:
        """One row per switch (see :func:`jivo_ops.logs.transfers_table`), then filtered;
        ``operator`` keeps the transfers that operator answered."""
        from .tabulate import filter_frame, transfers_table

        return filter_frame(transfers_table(self.messages, pairs=self.jivo_pairs), since=since, until=until,
                            chat=chat, operator=operator, outcome=outcome)

    def kpis(self, by: str | None = None, service_level_s: float = 20, *, tz: str = "UTC") -> pd.DataFrame:
        """Contact-centre KPIs of the hand-over: one row, or one per ``by`` = ``"day"``, ``"hour"``
        or ``"operator"``. Every rate comes as ``<name>_num``, ``<name>_den``, ``<name>_rate``:

        - ``escalation`` sessions with a switch ÷ sessions; ``containment`` its complement;
        - ``no_operators`` switches with ``noLivechatOperatorsOnline`` ÷ switches;
        - ``service_level`` switches answered within ``service_level_s`` ÷ switches offered (a
          switch nobody could take counts against it);
        - ``abandonment`` switches the client closed before any operator message ÷ switches;
        - ``rated`` rated ÷ answered switches; ``positive`` positive ratings ÷ rated;

        plus ``sessions``, ``switches``, ``answered``, ``first_reply_median_s``/``_p90_s``/``_p95_s``
        and ``handling_median_s``/``_p90_s``. Times are UTC; ``tz`` is the clock day/hour periods
        are cut on. See :mod:`jivo_ops.logs.kpis`."""
        from .kpis import kpis

        return kpis(self.messages, None, by=by, service_level_s=service_level_s, tz=tz)

    def per_operator(self) -> pd.DataFrame:
        from .tabulate import per_operator, transfers_table

        return per_operator(transfers_table(self.messages), self.messages)

    def to_parquet(self, directory, *, partition_by: str | None = "day"):
        """Write the messages as a hive-partitioned Parquet dataset (one folder per UTC day);
        a second call adds files beside the first's, never rewriting them. See
        :mod:`jivo_ops.logs.parquet`; ``load(directory)`` reads it back."""
        from .parquet import write_dataset

        return write_dataset(self.messages, directory, partition_by=partition_by)

    def per_period(self, freq: str = "h") -> pd.DataFrame:
        from .tabulate import per_period, transfers_table

        return per_period(transfers_table(self.messages), freq=freq)

    def filter(self, *, since=None, until=None, chat=None, operator=None, author=None,
               operator_rows_only: bool = False) -> "LogSet":
        """The same LogSet restricted to some messages: a time range [since, until), chat(s),
        author(s), and ``operator``: the chats those operators took part in, all their rows
        (``operator_rows_only=True``: only the rows the operators wrote)."""
        from .tabulate import filter_frame

        return LogSet(filter_frame(self.messages, since=since, until=until, chat=chat, operator=operator,
                                   author=author, operator_rows_only=operator_rows_only),
                      self.rejected, self.duplicates_removed, self.sources, self.jivo_pairs, self.warnings,
                      self.zoneless)

    def chat_ids(self) -> list[str]:
        """The chats worth picking, sorted: those with a transfer, or every chat when none has one."""
        from .tabulate import transfers_table

        transferred = transfers_table(self.messages)["chat"].dropna().unique().tolist()
        return sorted(transferred or self.messages["chat"].dropna().unique().tolist())

    def operator_names(self) -> list[str]:
        """Every operator named in the messages, sorted."""
        return sorted(self.messages["operator"].dropna().unique().tolist())

    def summary(self) -> dict[str, Any]:
        from .tabulate import summarize

        return summarize(self)

    def timeline(self, chat: str, *, path=None):
        from .plots import chat_timeline

        return chat_timeline(self.messages, chat, path=path)

    def __len__(self) -> int:
        return len(self.messages)

    def __repr__(self) -> str:
        m = self.messages
        by_source = ", ".join(f"{k} {v:,}" for k, v in
                              m["source"].value_counts(sort=False).items() if v) if len(m) else "none"
        span = ""
        if len(m) and m["ts"].notna().any():
            span = f", {m['ts'].min():%Y-%m-%d %H:%M}–{m['ts'].max():%Y-%m-%d %H:%M} UTC"
        return (f"<LogSet {len(m):,} messages in {m['chat'].nunique():,} chats ({by_source}){span}; "
                f"{len(self.rejected):,} rejected; {self.duplicates_removed:,} duplicates removed>")


LoadResult = LogSet


def _empty_pairs() -> pd.DataFrame:
    from .jivo_join import empty_pairs

    return empty_pairs()


def load(*sources: Any, tz: str = "UTC", dedupe: bool = True, dedupe_window: str | pd.Timedelta = "2s",
         since=None, until=None, chat=None, **options: Any) -> LogSet:
    """Load every source into one schema frame; see the module docstring for what is accepted.

    ``since``/``until``/``chat`` keep only those messages (as :meth:`LogSet.filter`); a Parquet
    dataset folder (``LogSet.to_parquet``) is read lazily with them pushed down to its files.

    ``tz``: the zone of naive timestamps (CSV/XLSX exports write local time without a zone).
    ``options`` go to the CSV/XLSX readers: ``header``, ``delimiter``, ``encoding``,
    ``date_format`` (Java style, default ``yyyy-MM-dd HH:mm:ss.SSS``), ``columns``, ``sheet``.
    """
    unknown = set(options) - {"header", "delimiter", "encoding", "date_format", "columns", "sheet", "kind"}
    if unknown:
        raise TypeError(f"load() got unexpected option(s) {', '.join(sorted(unknown))}")
    parts: list[Part] = []
    wanted = {"since": since, "until": until, "chat": chat}
    for src in sources:
        parts.extend(_parts_of(src, tz=tz, options=options, wanted=wanted))
    return combine(parts, dedupe=dedupe, dedupe_window=dedupe_window)


def combine(parts: list[Part], *, dedupe: bool = True, dedupe_window="2s") -> LogSet:
    frames = [p.messages for p in parts if len(p.messages)]
    if not frames:
        messages = empty_messages()
    elif len(frames) == 1:
        messages = frames[0]
    else:
        messages = _concat(frames)
    rejected = [p.rejected for p in parts if len(p.rejected)]
    rejected = pd.concat(rejected, ignore_index=True) if rejected else empty_rejected()
    from .jivo_join import pair_jivo_chats

    zoneless = {p.origin: p.naive_tz for p in parts if p.naive_tz}
    warnings = [w for p in parts for w in p.warnings] + hours_apart(messages, zoneless)
    messages, pairs = pair_jivo_chats(messages)  # before de-duplication: both sides log the client
    removed = 0
    if dedupe and len(messages):
        messages, removed = _dedupe(messages, pd.Timedelta(dedupe_window))
    if not messages["ts"].is_monotonic_increasing:
        ts = messages["ts"].array.asi8
        ts = np.where(messages["ts"].isna().to_numpy(), np.iinfo(np.int64).max, ts)  # no time: last
        order = np.argsort(ts, kind="stable")  # ties keep their load order
        messages = messages.iloc[order]
    messages = messages.reset_index(drop=True)
    sources = pd.DataFrame({"origin": [p.origin for p in parts], "source": [p.source for p in parts],
                            "messages": [len(p.messages) for p in parts],
                            "rejected": [len(p.rejected) for p in parts]})
    return LogSet(messages, rejected, removed, sources, pairs, list(dict.fromkeys(warnings)), zoneless)


HOUR_SLACK_S = 120  # how far from a whole hour two sources' times of one message may be (delivery delays)


def hours_apart(messages: pd.DataFrame, naive_tz: dict[str, str]) -> list[str]:
    """One line per pair of sources whose times of the same messages (chat, author, kind, text) differ
    by a whole, non-zero number of hours; `naive_tz`: the sources whose zone-less times were read
    in a zone, so the line can say which zone they look like."""
    keys = ["chat", "author", "kind", "text"]
    m = messages.loc[messages["text"].notna() & messages["ts"].notna(), keys + ["ts", "origin"]]
    if not len(m) or m["origin"].nunique() < 2:
        return []
    m = m.assign(origin=m["origin"].astype(str))
    shared = m.groupby("chat", observed=True)["origin"].transform("nunique") > 1
    m = m[shared].drop_duplicates(keys + ["origin"])
    pairs = m.merge(m, on=keys, suffixes=("_a", "_b"))
    pairs = pairs[pairs["origin_a"] < pairs["origin_b"]]
    if not len(pairs):
        return []
    seconds = (pairs["ts_a"] - pairs["ts_b"]).dt.total_seconds()
    hours = (seconds / 3600).round()
    pairs = pairs.assign(hours=hours.astype(int))[(hours != 0) & ((seconds - hours * 3600).abs() <= HOUR_SLACK_S)]
    out = []
    for (first, second), rows in pairs.groupby(["origin_a", "origin_b"], sort=True):
        offset = int(rows["hours"].mode().iloc[0])  # first's times minus second's
        chats = ", ".join(sorted(rows["chat"].astype(str).unique())[:3])
        line = _("{first} and {second} disagree by {hours} h on the same messages (chat {chats})").format(
            first=first, second=second, hours=abs(offset), chats=chats)
        naive, sign = (first, 1) if first in naive_tz and second not in naive_tz else \
            (second, -1) if second in naive_tz and first not in naive_tz else (None, 0)
        if naive is not None and naive_tz[naive] == "UTC":
            ahead = sign * offset  # zone-less times read as UTC are that many hours ahead of the truth
            line += "; " + _("the zone-less times of {source} look like UTC{offset:+03d}:00: pass --tz {zone} "
                             "(tz=\"{zone}\" in Python)").format(source=naive, offset=ahead,
                                                                zone=f"Etc/GMT{-ahead:+d}")
        else:
            line += "; " + _("one of them is probably local time read as another zone: pass --tz ZONE "
                             "(tz= in Python)")
        out.append(line)
    return out


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    from pandas.api.types import union_categoricals

    out = pd.concat([f[list(COLUMNS)] for f in frames], ignore_index=True)
    for col in ("source", "origin"):
        cats = [f[col].astype("category") if not isinstance(f[col].dtype, pd.CategoricalDtype) else f[col]
                for f in frames]
        cats = [pd.Categorical.from_codes(c.cat.codes, categories=[str(v) for v in c.cat.categories]) for c in cats]
        out[col] = union_categoricals(cats, ignore_order=True)
    return conform(out)


def _dedupe(m: pd.DataFrame, window: pd.Timedelta) -> tuple[pd.DataFrame, int]:
    # 1) the same row twice within one source family. Every key includes ts, so only rows sharing
    #    a timestamp can be duplicates: hashing int64 times first spares hashing a million strings.
    dup = np.zeros(len(m), dtype=bool)
    shared_ts = _shared(m["ts"].array.asi8)
    if shared_ts.any():
        rows = np.flatnonzero(shared_ts)
        dup[rows] = m.iloc[rows].duplicated(["source", "message_id", "ts", "chat", "author", "kind",
                                             "text"]).to_numpy()
    # 2) the same message from two source families, close in time
    if m["source"].nunique() > 1:
        dup |= _cross_source_duplicates(m, window, dup)
    removed = int(dup.sum())
    return (m[~dup] if removed else m), removed


def _shared(values: np.ndarray) -> np.ndarray:
    """Per row, whether another row has the same value. A loaded file is mostly in time order already,
    where equal times sit side by side: two compares instead of hashing a million values (~100 ms)."""
    if len(values) < 2 or not (values[1:] >= values[:-1]).all():
        return pd.Series(values).duplicated(keep=False).to_numpy()
    same = values[1:] == values[:-1]
    return np.r_[same, False] | np.r_[False, same]


def _cross_source_duplicates(m: pd.DataFrame, window: pd.Timedelta, already: np.ndarray) -> np.ndarray:
    keys = ["chat", "author", "kind", "text"]
    live = ~already & m["ts"].notna().to_numpy()
    sub = m.loc[live, keys + ["ts", "source"]]
    families = sub.groupby(keys, observed=True, dropna=False)["source"].transform("nunique")
    sub = sub[families.to_numpy() > 1]
    out = np.zeros(len(m), dtype=bool)
    if not len(sub):
        return out
    group = sub.groupby(keys, observed=True, dropna=False, sort=False).ngroup().to_numpy()
    ts = sub["ts"].array.asi8
    prio = sub["source"].astype(str).map(SOURCE_PRIORITY).fillna(0).to_numpy()
    src = sub["source"].astype(str).to_numpy()
    order = np.lexsort((ts, group))
    group, ts, prio, src = group[order], ts[order], prio[order], src[order]
    positions = np.flatnonzero(live)[families.to_numpy() > 1][order]
    w = window.value // 1000  # ts are microseconds
    dropped = np.zeros(len(order), dtype=bool)
    for shift in (1, -1):  # compare each row with its neighbour before and after
        other = np.roll(np.arange(len(order)), shift)
        valid = np.ones(len(order), dtype=bool)
        valid[0 if shift == 1 else -1] = False
        same = valid & (group[other] == group) & (src[other] != src) & (np.abs(ts - ts[other]) <= w)
        dropped |= same & (prio[other] > prio)
    out[positions[dropped]] = True
    return out


# --- dispatch --------------------------------------------------------------------------------

def _parts_of(src: Any, *, tz: str, options: dict, wanted: dict) -> list[Part]:
    """The source's parts, each narrowed to the ``wanted`` since/until/chat."""
    from .parquet import is_dataset, read_dataset

    if isinstance(src, (str, os.PathLike)) and Path(src).is_dir() and is_dataset(Path(src)):
        return [read_dataset(src, **wanted)]  # the filters go down to the files
    parts = _all_parts_of(src, tz=tz, options=options)
    if all(v is None for v in wanted.values()):
        return parts
    from .tabulate import filter_frame

    for part in parts:
        part.messages = filter_frame(part.messages, **wanted)
    return parts


def _all_parts_of(src: Any, *, tz: str, options: dict) -> list[Part]:
    if isinstance(src, LogSet):
        parts = [Part(str(o), str(s), src.messages[src.messages["origin"] == o], empty_rejected(),
                      naive_tz=src.zoneless.get(str(o)))
                 for o, s in src.sources[["origin", "source"]].itertuples(index=False)]
        if parts:
            parts[0].warnings = list(src.warnings)
        if len(src.rejected):
            parts.append(Part("(rejected)", "events", empty_messages(), src.rejected))
        return parts
    if isinstance(src, pd.DataFrame):
        from .sources.events import load_schema_frame

        return [load_schema_frame(src, origin="DataFrame", source="events", first_row=0)]
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        if path.is_dir():
            return _parts_of_directory(path, tz=tz, options=options)
        return [load_part(path, tz=tz, **options)]
    if not isinstance(src, (dict, list, tuple, str, bytes)) and isinstance(src, Sequence):
        src = list(src)  # e.g. a TransferBatch: a sequence of TransferResult
    if hasattr(src, "to_json") or (isinstance(src, list) and src and hasattr(src[0], "to_json")):
        from .sources.transfer_jsonl import load_transfer_results

        items = src if isinstance(src, list) else [src]
        return [load_transfer_results(enumerate(items, start=1), origin="TransferResult values")]
    if isinstance(src, (dict, list, tuple)):
        return [_part_of_json(src if not isinstance(src, tuple) else list(src), origin="JSON value", tz=tz)]
    raise SourceError(f"cannot load a {type(src).__name__}: give a path, parsed JSON, TransferResult values "
                      "or a DataFrame")


# SQLite's sidecar files (a live recorder store's WAL) are part of the store, not sources
_SIDECARS = ("-wal", "-shm", "-journal")


def _parts_of_directory(path: Path, *, tz: str, options: dict) -> list[Part]:
    """Every file under a folder; one that is no log (a HAR, a README) becomes a rejected row
    naming it, so the rest still loads and nothing goes unmentioned."""
    from .schema import rejected_frame

    parts = []
    files = sorted(p for p in _files_under(path) if not p.name.startswith(".") and not p.name.endswith(_SIDECARS))
    for file in files:
        try:
            parts.append(load_part(file, tz=tz, **options))
        except SourceError as exc:
            parts.append(Part(str(file), "events", empty_messages(),
                              rejected_frame([(str(file), None, f"skipped: {exc}")])))
    return parts


def _files_under(folder: Path) -> list[Path]:
    """Every regular file below `folder`; a folder that cannot be listed is an error, not "no logs"."""
    def refuse(exc: OSError):
        raise SourceError(f"cannot list the folder: {(exc.strerror or type(exc).__name__).lower()}",
                          path=shown_name(exc.filename or folder)) from None

    found = []
    for where, _folders, names in os.walk(folder, onerror=refuse):
        found.extend(Path(where, name) for name in names if Path(where, name).is_file())
    return found


def load_part(path: str | Path, *, tz: str = "UTC", kind: str | None = None, **options: Any) -> Part:
    """One file → a Part (messages + rejected), the loader chosen by extension and content."""
    path = Path(path)
    origin = shown_name(path)
    problem = input_problem(path)
    if problem:
        raise SourceError(problem, path=origin)
    suffix = path.suffix.lower()
    head = _head(path, origin)
    if not head.strip():
        return Builder(origin, kind or "events").build()  # an empty file: nothing, not an error
    csv_opts = {k: options[k] for k in ("header", "delimiter", "encoding", "date_format", "columns")
                if k in options}
    try:
        if kind == "recorder" or head.startswith(b"SQLite format 3\x00"):
            from .sources.recorder_store import load_recorder_store

            return load_recorder_store(path, origin=origin)
        if kind == "export" and suffix in (".xlsx", ".xlsm") or suffix in (".xlsx", ".xlsm"):
            from .sources.exports import load_xlsx_export

            xlsx_opts = {k: v for k, v in csv_opts.items() if k not in ("delimiter", "encoding")}
            if "sheet" in options:
                xlsx_opts["sheet"] = options["sheet"]
            return load_xlsx_export(path, origin=origin, tz=tz, **xlsx_opts)
        if suffix == ".parquet":
            from .sources.events import load_parquet

            return load_parquet(path, origin=origin)
        if kind == "export" or suffix in _CSV_EXT:
            from .sources.exports import load_csv_export

            return load_csv_export(path, origin=origin, tz=tz, **csv_opts)
        return _load_json_file(path, head, origin=origin, tz=tz, kind=kind)
    except SourceError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read: {exc}", path=origin) from None
    except RecursionError:
        raise SourceError("nested too deeply to read", path=origin) from None


def _head(path: Path, origin: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(65536)
    except OSError as exc:
        raise SourceError(f"cannot read: {(exc.strerror or type(exc).__name__).lower()}", path=origin) from None


def _json_kind(record: Any) -> str | None:
    if isinstance(record, dict):
        if "transfer_id" in record and "steps" in record:
            return "transfers"
        if isinstance(record.get("messages"), list):
            return "reporter"
        if "ts" in record and "author" in record:
            return "events"
        from .sources.jivo_webhooks import is_webhook_event

        if is_webhook_event(record):
            return "webhooks"
        if isinstance(record.get("body"), dict) or "recipient" in record or (
                "sender" in record and "message" in record):
            return "jivo"
        if "questionId" in record or ("timestamp" in record and {"question", "textAnswer", "event",
                                                                 "isLivechat"} & record.keys()):
            return "reporter"
    return None


def _load_json_file(path: Path, head: bytes, *, origin: str, tz: str, kind: str | None) -> Part:
    text_head = head.decode("utf-8", errors="replace").lstrip("\ufeff").lstrip()
    first_line = text_head.splitlines()[0] if text_head else ""
    if text_head.startswith("["):
        return _part_of_json_text(path.read_text(encoding="utf-8-sig"), origin=origin, tz=tz, kind=kind)
    try:
        first = loads_json(first_line)
    except ValueError:
        first = None
    if first is None:  # a pretty-printed JSON document, or junk
        return _part_of_json_text(path.read_text(encoding="utf-8-sig"), origin=origin, tz=tz, kind=kind)
    kind = kind or _json_kind(first)
    if kind == "events":
        from .sources.events import load_events_jsonl

        return load_events_jsonl(path, origin=origin)
    text = path.read_text(encoding="utf-8-sig")
    if kind == "transfers":
        from .sources.transfer_jsonl import jsonl_records, load_transfer_results

        return load_transfer_results(jsonl_records(text), origin=origin)
    if kind == "jivo":
        from .sources.jivo_dumps import load_jivo_bodies

        return load_jivo_bodies(text, origin=origin, tz=tz)
    if kind == "webhooks":
        from .sources.jivo_webhooks import load_webhook_text

        return load_webhook_text(text, origin=origin, tz=tz)
    if kind == "reporter":
        from .sources.reporter import load_reporter_pages

        bad: list[tuple[str, int, str]] = []
        records = [rec for _, rec in json_lines(text, lambda i, reason: bad.append((origin, i, reason)))]
        part = load_reporter_pages(records, origin=origin, tz=tz)
        if bad:
            from .schema import rejected_frame

            part.rejected = pd.concat([rejected_frame(bad), part.rejected], ignore_index=True)
        return part
    raise SourceError("cannot tell what kind of log this is (expected Reporter pages, transfer results, "
                      "Jivo bodies, Jivo Webhooks API events or events JSONL; keys of the first record: "
                      f"{', '.join(repr(k) for k in list(first)[:8]) if isinstance(first, dict) else type(first).__name__})",
                      path=origin, row=1)


def _part_of_json_text(text: str, *, origin: str, tz: str, kind: str | None) -> Part:
    try:
        data = loads_json(text)
    except ValueError as exc:
        raise SourceError(f"not valid JSON ({exc.args[0] if exc.args else exc})", path=origin,
                          row=getattr(exc, "lineno", None)) from None
    return _part_of_json(data, origin=origin, tz=tz, kind=kind)


def _part_of_json(data: Any, *, origin: str, tz: str, kind: str | None = None) -> Part:
    sample = data[0] if isinstance(data, list) and data else data
    kind = kind or _json_kind(sample)
    if isinstance(data, list) and not data:
        return Builder(origin, kind or "events").build()
    if kind == "reporter":
        from .sources.reporter import load_reporter_pages

        return load_reporter_pages(data, origin=origin, tz=tz)
    items = data if isinstance(data, list) else [data]
    if kind == "transfers":
        from .sources.transfer_jsonl import load_transfer_results

        return load_transfer_results(enumerate(items, start=1), origin=origin)
    if kind == "jivo":
        from .sources.jivo_dumps import add_jivo_body

        b = Builder(origin, "jivo", tz=tz)
        for i, body in enumerate(items, start=1):
            add_jivo_body(b, i, body)
        return b.build()
    if kind == "webhooks":
        from .sources.jivo_webhooks import load_webhook_events

        return load_webhook_events(enumerate(items, start=1), origin=origin, tz=tz)
    if kind == "events":
        from .sources.events import load_schema_frame

        frame = pd.DataFrame([r if isinstance(r, dict) else {} for r in items])
        return load_schema_frame(frame, origin=origin, source="events", first_row=1)
    keys = ", ".join(repr(k) for k in list(sample)[:8]) if isinstance(sample, dict) else type(sample).__name__
    raise SourceError("cannot tell what kind of log this is (expected Reporter pages, transfer results, "
                      f"Jivo bodies, Jivo Webhooks API events or events; first record: {keys})", path=origin)
