"""The flat ``events`` source: the schema itself, one JSON object per line (JSONL), or as written
by :func:`jivo_ops.logs.export` to CSV or Parquet.

JSONL lines look like::

    {"ts": "2026-11-25T10:00:03.125000+00:00", "chat": "c-17", "session": "s-17", "author": "CLIENT",
     "kind": "text", "text": "Позовите оператора", "operator": null, "message_id": "m-1"}

``ts`` is ISO 8601 (an offset or ``Z``; without one it is taken as UTC). This is the bulk format:
it is read by pyarrow with an explicit schema (no type inference, no Python per row), which is
what makes a million events load about as fast as a bare ``pyarrow.json.read_json``. Rows with
an unknown author or kind, no chat or no ``ts`` are rejected (row = the record's 1-based
position). A file pyarrow cannot parse at all (a broken line, a bad timestamp) is read again
line by line so only the broken lines are rejected.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from .._build import Builder, Part, decode_text, json_lines
from ..schema import (AUTHOR_DTYPE, AUTHORS, COLUMNS, KIND_DTYPE, KINDS, STRING_COLUMNS, STRING_DTYPE,
                     conform, rejected_frame, to_utc)

__all__ = ["load_events_jsonl", "load_schema_csv", "load_parquet", "load_schema_frame", "arrow_schema"]

_FIELDS = ("ts", "chat", "session", "author", "kind", "text", "operator", "message_id")


def arrow_schema():
    import pyarrow as pa

    return pa.schema([("ts", pa.timestamp("us", tz="UTC"))] +
                     [(name, pa.string()) for name in _FIELDS[1:]] + [("source", pa.string())])


def _constant_category(value: str, n: int) -> pd.Categorical:
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[value])


def load_events_jsonl(path: str | Path, *, origin: str | None = None, source: str = "events") -> Part:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    path = Path(path)
    origin = origin or str(path)
    try:
        table = pj.read_json(path, parse_options=pj.ParseOptions(explicit_schema=arrow_schema(),
                                                           unexpected_field_behavior="ignore"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _events_line_by_line(path.read_text(encoding="utf-8", errors="replace"), origin, source)
    try:
        table.validate(full=True)
    except pa.ArrowInvalid:  # pyarrow does not check UTF-8 while parsing: a cp1251 or latin-1 file
        return _events_line_by_line(_legacy_text(path.read_bytes()), origin, source)
    author_codes = pc.index_in(table["author"], value_set=pa.array(AUTHORS))
    kind_codes = pc.index_in(table["kind"], value_set=pa.array(KINDS))
    valid = pc.and_(pc.and_(pc.is_valid(author_codes), pc.is_valid(kind_codes)),
                    pc.and_(pc.is_valid(table["ts"]), pc.is_valid(table["chat"])))
    rejected = rejected_frame([])
    if not pc.all(valid).as_py() and len(table):
        bad = np.flatnonzero(~valid.to_numpy(zero_copy_only=False))
        sub = table.take(pa.array(bad))
        reasons = []
        for i, row in zip(bad, sub.to_pylist()):
            if row["ts"] is None:
                why = "missing field 'ts'"
            elif row["chat"] is None:
                why = "missing field 'chat'"
            elif row["author"] not in AUTHORS:
                why = f"unknown author {row['author']!r}"
            else:
                why = f"unknown kind {row['kind']!r}"
            reasons.append((origin, int(i) + 1, why))
        rejected = rejected_frame(reasons)
        table = table.filter(valid)
        author_codes = author_codes.filter(valid)
        kind_codes = kind_codes.filter(valid)
    n = len(table)
    mapper = {pa.string(): STRING_DTYPE}.get

    def strings(name: str) -> pd.Series:
        # one chunk, not one per MiB block the reader parsed: a take from a chunked string column
        # (every table picking rows by chat) copies all its chunks together first, every time
        return pa.chunked_array([table[name].combine_chunks()]).to_pandas(types_mapper=mapper)

    cols = {"ts": table["ts"].to_pandas()}
    for name in ("chat", "session"):
        cols[name] = strings(name)
    cols["author"] = pd.Categorical.from_codes(author_codes.to_numpy(zero_copy_only=False).astype(np.int8),
                                               dtype=AUTHOR_DTYPE)
    cols["kind"] = pd.Categorical.from_codes(kind_codes.to_numpy(zero_copy_only=False).astype(np.int8),
                                             dtype=KIND_DTYPE)
    for name in ("text", "operator"):
        cols[name] = strings(name)
    if table["source"].null_count == n:
        cols["source"] = _constant_category(source, n)
    else:  # a file written by export(): each row keeps the family it came from
        cols["source"] = pc.coalesce(table["source"], pa.scalar(source)).dictionary_encode().to_pandas()
    cols["origin"] = _constant_category(origin, n)
    cols["message_id"] = strings("message_id")
    frame = pd.DataFrame(cols, copy=False)
    if frame["ts"].dtype != "datetime64[us, UTC]":
        frame["ts"] = frame["ts"].astype("datetime64[us, UTC]")
    return Part(origin, source, frame, rejected)


def _legacy_text(raw: bytes) -> str:
    """Events JSONL that is not UTF-8: read as cp1251, else latin-1 (which decodes any byte)."""
    try:
        return decode_text(raw)
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _events_line_by_line(text: str, origin: str, source: str) -> Part:
    b = Builder(origin, source)
    for i, rec in json_lines(text, b.reject):
        if not isinstance(rec, dict):
            b.reject(i, f"not a JSON object but {type(rec).__name__}")
            continue
        if rec.get("ts") in (None, ""):
            b.reject(i, "missing field 'ts'")
            continue
        b.add(i, **{f: rec.get(f) for f in _FIELDS})
    return b.build()


def load_schema_frame(frame: pd.DataFrame, *, origin: str, source: str, first_row: int) -> Part:
    """A frame with schema column names (a DataFrame, CSV, Parquet, parsed events JSON) → validated
    schema rows; rows it cannot take are rejected (row numbers count from `first_row`)."""
    b = Builder(origin, source)
    missing = [c for c in ("ts", "chat", "author", "kind") if c not in frame.columns]
    if missing:
        from ...errors import SourceError

        raise SourceError("missing column", path=origin, row=first_row - 1 if first_row > 1 else None,
                          column=missing[0])
    raw_ts = frame["ts"]
    ts = to_utc(raw_ts if pd.api.types.is_datetime64_any_dtype(raw_ts.dtype)
                else raw_ts.astype(object).where(raw_ts.notna(), None))
    bad_ts = ts.isna()
    author_ok = frame["author"].isin(AUTHORS)
    kind_ok = frame["kind"].isin(KINDS)
    chat_ok = frame["chat"].notna() & (frame["chat"].astype(str) != "")
    bad = bad_ts | ~author_ok | ~kind_ok | ~chat_ok
    for i in np.flatnonzero(bad.to_numpy()):
        if bad_ts.iat[i]:
            why = f"column 'ts': cannot read timestamp {frame['ts'].iat[i]!r}"
        elif not chat_ok.iat[i]:
            why = "column 'chat': empty"
        elif not author_ok.iat[i]:
            why = f"unknown author {frame['author'].iat[i]!r}"
        else:
            why = f"unknown kind {frame['kind'].iat[i]!r}"
        b.reject(first_row + int(i), why)
    keep = ~bad.to_numpy()
    out = frame.loc[keep].copy()
    out["ts"] = ts[keep]
    # a file written by export() keeps the families its rows came from
    if "source" in out:
        out["source"] = out["source"].astype(object).where(out["source"].notna(), source)
    else:
        out["source"] = source
    out["origin"] = origin
    for col in STRING_COLUMNS:
        if col in out:
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    out = out[[c for c in COLUMNS if c in out.columns]]
    return Part(origin, source, conform(out.reset_index(drop=True)), rejected_frame(b.rejected))


def load_schema_csv(text: str, *, origin: str, delimiter: str = ",", source: str = "events") -> Part:
    frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False, na_values=[""])
    return load_schema_frame(frame, origin=origin, source=source, first_row=2)


def load_parquet(path: str | Path, *, origin: str | None = None, source: str = "events") -> Part:
    frame = pd.read_parquet(path)
    return load_schema_frame(frame, origin=origin or str(path), source=source, first_row=1)
