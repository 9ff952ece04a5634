"""Tables from a messages frame: per transfer, per operator, per hour/day; filters; export.

**Per transfer** (:func:`transfers_table`), one row per ``switch`` message. A transfer's
*segment* is its chat's messages from the switch up to the next switch (or the end of the log);
within it:

- ``first_operator_at`` — the first OPERATOR message; ``wait_s`` = that − ``switched_at``;
  (events logged at the very instant of the switch count as after it: they are its consequence)
- ``closed_at``/``closed_by`` — the earlier of a CLIENT message equal to a close phrase
  (``closed_by='client'``; default phrases ``("/closeChat",)``) and a ``livechatFinished`` event
  or Jivo's ``chat_finished`` (``'operator'``: the live chat ended without the client asking);
  NA when neither happened;
- ``outcome`` — ``answered`` (an operator wrote), else ``no_operators`` (a
  ``noLivechatOperatorsOnline`` event), else ``error`` (an ``error`` row), else ``unanswered``;
- ``operator`` — who Jivo says accepted the chat (``chat_accepted``), else the first operator's name;
- ``n_client``, ``n_bot``, ``n_operator``, ``n_system`` — messages by author from the switch
  (itself not counted) to the close (included), or to the segment's end when not closed;
- from Jivo's Webhooks API, when the chat was paired (:mod:`jivo_ops.logs.jivo_join`):
  ``accepted_at`` (the ``chat_accepted`` event), ``jivo_chat`` (``jivo:<chat_id>``), ``rating``
  (``positive``/``negative`` from ``chat.rate``, else NA) and ``paired_by`` (the pairing rule:
  ``id`` or ``text``); all NA without Jivo events.

Everything is computed with sorts, cumulative sums and bincounts over whole columns — no Python
loop per chat — so 100,000 chats take a fraction of a second.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import SourceError
from ..times import parse_time
from ..transfer.results import OUTCOMES  # the one list: the transfer operation's rule
from .schema import AUTHORS, STRING_DTYPE, TS_DTYPE
from .sources.jivo_webhooks import ACCEPTED_EVENT, FINISHED_EVENT as JIVO_FINISHED_EVENT, RATE_EVENT

__all__ = ["transfers_table", "per_operator", "per_period", "filter_frame", "summarize",
           "export", "OUTCOMES", "CLOSED_BY", "TRANSFER_COLUMNS", "CLOSE_PHRASES", "empty_transfers",
           "filter_values", "is_blank_filter", "FINISHED_EVENT", "NO_OPERATORS_EVENT"]

CLOSED_BY = ("client", "operator")
RATINGS = ("positive", "negative")
CLOSE_PHRASES = ("/closeChat",)
NO_OPERATORS_EVENT = "noLivechatOperatorsOnline"
FINISHED_EVENT = "livechatFinished"
OUTCOME_DTYPE = pd.CategoricalDtype(list(OUTCOMES))
CLOSED_BY_DTYPE = pd.CategoricalDtype(list(CLOSED_BY))
RATING_DTYPE = pd.CategoricalDtype(list(RATINGS))
TRANSFER_COLUMNS = ("chat", "session", "transfer_no", "switched_at", "first_operator_at", "wait_s",
                    "closed_at", "closed_by", "operator", "outcome", "n_client", "n_bot", "n_operator",
                    "n_system", "source", "accepted_at", "jivo_chat", "rating", "paired_by")
_NAT = np.iinfo(np.int64).min  # datetime64's NaT as int64


def empty_transfers() -> pd.DataFrame:
    ts = pd.Series([], dtype=TS_DTYPE)
    return pd.DataFrame({
        "chat": pd.Series([], dtype=STRING_DTYPE), "session": pd.Series([], dtype=STRING_DTYPE),
        "transfer_no": pd.Series([], dtype="int64"), "switched_at": ts, "first_operator_at": ts,
        "wait_s": pd.Series([], dtype="float64"), "closed_at": ts,
        "closed_by": pd.Series([], dtype=CLOSED_BY_DTYPE), "operator": pd.Series([], dtype=STRING_DTYPE),
        "outcome": pd.Series([], dtype=OUTCOME_DTYPE),
        **{f"n_{a.lower()}": pd.Series([], dtype="int64") for a in AUTHORS},
        "source": pd.Series([], dtype="category"), "accepted_at": ts,
        "jivo_chat": pd.Series([], dtype=STRING_DTYPE), "rating": pd.Series([], dtype=RATING_DTYPE),
        "paired_by": pd.Series([], dtype=STRING_DTYPE)})


def _ordered(all_ts: np.ndarray, is_event: np.ndarray, chat_codes: np.ndarray,
             idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows `idx` (rows with a time, ascending) by chat, then time, and their chat codes."""
    # An event logged at the same instant as a switch is its consequence (JAICP logs
    # noLivechatOperatorsOnline in the same turn, sometimes before the question): events sort after
    # the other rows of their instant; otherwise same-ts rows keep their load order (stable sort).
    time_key = all_ts[idx] * 2 + is_event[idx]
    codes = chat_codes[idx]
    # two stable sorts instead of one lexsort; a loaded frame is already in time order, so the first
    # is skipped when the keys ascend (a stable sort would return them as they are)
    if not (time_key[1:] >= time_key[:-1]).all():
        by_time = np.argsort(time_key, kind="stable")
        idx, codes = idx[by_time], codes[by_time]
    by_chat, row_codes = _by_chat(codes)
    return idx[by_chat], row_codes


def _by_chat(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``order = np.argsort(codes, kind="stable")`` and ``codes[order]``, by one sort of (code,
    position) packed in an int64: numpy sorts plain integers (SIMD) about twice as fast as it
    argsorts them stably, and the codes come out sorted beside the order."""
    n = len(codes)
    bits = max((n - 1).bit_length(), 1)
    if not n or codes.max() + 2 >= 1 << (63 - bits):  # too many chats to pack
        order = np.argsort(codes, kind="stable")
        return order, codes[order]
    keys = ((codes.astype(np.int64) + 1) << bits) | np.arange(n)  # +1: NA chats (-1) first, as sorted
    keys.sort()
    return keys & ((1 << bits) - 1), (keys >> bits) - 1


def _is(column: pd.Series, value: str) -> np.ndarray:
    return (column == value).to_numpy(dtype=bool, na_value=False)


def _one_array(column: pd.Series) -> pa.Array:
    """The column as one Arrow array (a copy only when it comes in several chunks)."""
    values = pa.array(column.array)
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _joined_codes(head: pa.DictionaryArray, tail: pa.DictionaryArray) -> np.ndarray:
    """pd.factorize's codes (order of first appearance, -1: NA; int32) of head's values then tail's,
    from the two dictionary-encoded apart: a tail value head has keeps head's code, the others follow
    head's in tail's order, which is their order of first appearance over the whole."""
    known = pc.index_in(tail.dictionary, value_set=head.dictionary)
    new = pc.is_null(known).to_numpy(zero_copy_only=False)
    codes = np.where(new, len(head.dictionary) - 1 + np.cumsum(new), pc.fill_null(known, 0).to_numpy())
    codes = codes.astype(np.int32)
    tail_codes = np.r_[codes, -1][pc.fill_null(tail.indices, -1).to_numpy()]  # -1 (NA) picks the -1 put last
    return np.concatenate([pc.fill_null(head.indices, -1).to_numpy(), tail_codes])


_EVENT_NAMES = (FINISHED_EVENT, JIVO_FINISHED_EVENT, NO_OPERATORS_EVENT, ACCEPTED_EVENT)
_RATED = len(_EVENT_NAMES)  # a Jivo rating: the event's text is `chat_rate:<rating>`


def _event_names(text: pd.Series, is_event: np.ndarray) -> np.ndarray:
    """Per row, which of `_EVENT_NAMES` its event is (`_RATED` for a rating; -1: another name, or no event)."""
    out = np.full(len(text), -1, dtype=np.int8)
    rows = np.flatnonzero(is_event)
    if len(rows):
        names = pa.array(text.array).take(rows)
        out[rows] = pc.fill_null(pc.index_in(names, value_set=pa.array(_EVENT_NAMES)), -1).to_numpy()
        rated = pc.fill_null(pc.starts_with(names, f"{RATE_EVENT}:"), False).to_numpy(zero_copy_only=False)
        out[rows[rated]] = _RATED
    return out


def _says(text: pd.Series, phrases: Sequence[str]) -> np.ndarray:
    """Per row, whether its text is one of the close `phrases` (compared stripped)."""
    phrases = [p.strip() for p in phrases]
    if not phrases:
        return np.zeros(len(text), dtype=bool)
    texts = pa.chunked_array(pa.array(text.array))  # one pass of Arrow's string compare over the column
    return np.logical_or.reduce([pc.fill_null(pc.equal(texts, p), False).to_numpy() for p in phrases])


def _codes_of(column: pd.Series, rows: np.ndarray, *names: str) -> tuple[np.ndarray, ...]:
    """A categorical column's codes at `rows`, and the code of each name (-2 when not a category)."""
    categories = list(column.cat.categories)
    return (column.cat.codes.to_numpy()[rows],
            *(categories.index(n) if n in categories else -2 for n in names))


def transfers_table(messages: pd.DataFrame, *, close_phrases: Sequence[str] = CLOSE_PHRASES,
                    pairs: pd.DataFrame | None = None, columns: Sequence[str] = TRANSFER_COLUMNS) -> pd.DataFrame:
    """One row per switch; see the module docstring for each column's meaning. ``pairs`` (a
    LogSet's ``jivo_pairs``) gives ``paired_by``; ``columns`` (in table order) leaves the others
    unbuilt (the KPIs read no string column but ``operator``)."""
    columns = [c for c in TRANSFER_COLUMNS if c in columns]
    m = messages
    kind_all, switch_code, event_code, error_code = _codes_of(m["kind"], slice(None), "switch", "event", "error")
    is_switch_all = kind_all == switch_code
    if not is_switch_all.any():
        return empty_transfers()[columns]
    text = m["text"]
    chats = _one_array(m["chat"])
    cut = len(chats) * 3 // 4
    with ThreadPoolExecutor(1) as pool:
        # the chats' hash (Arrow's, which lets go of the GIL): the first three quarters on a second core
        # while this one reads the texts (about a third as long), then hashes the rest
        head = pool.submit(pc.dictionary_encode, chats.slice(0, cut))
        all_ts = m["ts"].array.asi8
        is_event_all = kind_all == event_code
        event_name_all = _event_names(text, is_event_all)
        says_all = _says(text, close_phrases)
        tail = pc.dictionary_encode(chats.slice(cut))
        chat_codes = _joined_codes(head.result(), tail)
    # only the rows from each chat's first switch on need sorting
    # a chat's first switch time, the int64 maximum for a chat without one; NaT (the minimum) never passes
    first_switch = np.full(chat_codes.max() + 2, np.iinfo(np.int64).max)
    switches = np.flatnonzero(is_switch_all)
    np.minimum.at(first_switch, chat_codes[switches], all_ts[switches])
    idx, codes = _ordered(all_ts, is_event_all, chat_codes,
                          np.flatnonzero((all_ts >= first_switch[chat_codes]) & (all_ts != _NAT)))
    sw = is_switch_all[idx]

    # segment = how many switches of its chat precede (and include) the row: the running count
    # less its value before the chat's first row
    c = np.cumsum(sw)
    chat_first = np.flatnonzero(np.r_[len(codes) > 0, codes[1:] != codes[:-1]])
    seg_in_chat = c - np.repeat(c[chat_first] - sw[chat_first], np.diff(np.r_[chat_first, len(idx)]))
    r = np.flatnonzero(seg_in_chat > 0)  # the rows inside a transfer (about half); from here on, positions in r
    rows = idx[r]
    tr = c[r] - 1  # transfer number 0..T-1, non-decreasing along r
    sw = sw[r]
    ts = m["ts"].array.asi8[rows]
    sw_pos = np.flatnonzero(sw)
    n_tr = len(sw_pos)

    def first_of(mask: np.ndarray) -> np.ndarray:
        """Per transfer, the position (in r) of its first row `mask` picks; -1 where none."""
        pos = np.flatnonzero(mask)
        out = np.full(n_tr, -1, dtype=np.int64)
        if len(pos):
            t = tr[pos]
            heads = np.r_[True, t[1:] != t[:-1]]
            out[t[heads]] = pos[heads]
        return out

    def ts_at(pos: np.ndarray) -> np.ndarray:
        return np.where(pos >= 0, ts[pos], _NAT)

    def row_at(pos: np.ndarray) -> np.ndarray:
        return np.where(pos >= 0, rows[pos], -1)

    author, op_code, client_code = _codes_of(m["author"], rows, "OPERATOR", "CLIENT")
    kind = kind_all[rows]
    event_name = event_name_all[rows]
    client_says = says_all[rows] & (author == client_code)
    client_close = ts_at(first_of(client_says))
    finished = ts_at(first_of((event_name == _EVENT_NAMES.index(FINISHED_EVENT))
                              | (event_name == _EVENT_NAMES.index(JIVO_FINISHED_EVENT))))
    no_ops = ts_at(first_of(event_name == _EVENT_NAMES.index(NO_OPERATORS_EVENT)))
    errors = ts_at(first_of(kind == error_code))
    op_first = first_of(author == op_code)
    first_op = ts_at(op_first)
    accept_first = first_of(event_name == _EVENT_NAMES.index(ACCEPTED_EVENT))
    accepted = ts_at(accept_first)
    acceptor = row_at(accept_first)
    op_names = np.where(acceptor >= 0, acceptor, row_at(op_first))  # Jivo's own word on who took the chat
    rate_rows = row_at(first_of(event_name == _RATED))
    jivo_rows = row_at(first_of(_is(m["source"], "webhooks")[rows]))

    big = np.iinfo(np.int64).max
    cc = np.where(client_close == _NAT, big, client_close)
    ff = np.where(finished == _NAT, big, finished)
    closed = np.minimum(cc, ff)
    closed_by = np.where(closed == big, -1, np.where(cc <= ff, 0, 1))
    closed = np.where(closed == big, _NAT, closed)

    # message counts from the switch (excluded) to the close (included)
    limit = np.where(closed == _NAT, big, closed)
    counted = ~sw & (ts <= limit[tr])
    counts = np.bincount(tr[counted] * 4 + author[counted].astype(np.int64), minlength=n_tr * 4).reshape(n_tr, 4)

    code = OUTCOMES.index  # by name: the list is the transfer operation's, its order is not ours
    outcome = np.where(first_op != _NAT, code("answered"), np.where(no_ops != _NAT, code("no_operators"),
                       np.where(errors != _NAT, code("error"), code("unanswered"))))
    # the table's order (by time, then chat, then transfer number) applied to the per-transfer
    # arrays before any string is taken, so strings are taken once and never reordered
    transfer_no = seg_in_chat[r[sw_pos]].astype(np.int64)
    order = np.lexsort((transfer_no, codes[r[sw_pos]], ts[sw_pos]))
    switch_rows, switched, transfer_no = rows[sw_pos][order], ts[sw_pos][order], transfer_no[order]
    first_op, closed, closed_by, op_names, outcome, counts, accepted, jivo_rows, rate_rows = (
        a[order] for a in (first_op, closed, closed_by, op_names, outcome, counts, accepted, jivo_rows, rate_rows))
    to_ts = lambda a: pd.array(a.astype("datetime64[us]"), dtype="datetime64[us]").tz_localize("UTC")  # noqa: E731

    def rating():
        rated = rate_rows >= 0
        rating_codes = np.full(n_tr, -1, dtype=np.int8)
        if rated.any():
            names = pd.Series(_strings_at(text, rate_rows[rated])).str.slice(len(RATE_EVENT) + 1)
            rating_codes[rated] = pd.Categorical(names, dtype=RATING_DTYPE).codes
        return pd.Categorical.from_codes(rating_codes, dtype=RATING_DTYPE)

    def paired_by():
        if pairs is None or not len(pairs):
            return _strings_at(m["session"], np.full(n_tr, -1))
        jivo_chat = pd.Series(_strings_at(m["session"], jivo_rows))
        return jivo_chat.map(dict(zip(pairs["jivo_chat"], pairs["rule"]))).astype(STRING_DTYPE).array

    build = {
        "chat": lambda: _strings_at(m["chat"], switch_rows),
        "session": lambda: _strings_at(m["session"], switch_rows),
        "transfer_no": lambda: transfer_no,
        "switched_at": lambda: to_ts(switched),
        "first_operator_at": lambda: to_ts(first_op),
        "wait_s": lambda: np.where(first_op != _NAT, (first_op - switched) / 1e6, np.nan),
        "closed_at": lambda: to_ts(closed),
        "closed_by": lambda: pd.Categorical.from_codes(closed_by, dtype=CLOSED_BY_DTYPE),
        "operator": lambda: _strings_at(m["operator"], op_names),
        "outcome": lambda: pd.Categorical.from_codes(outcome, dtype=OUTCOME_DTYPE),
        **{f"n_{a.lower()}": (lambda i=i: counts[:, i]) for i, a in enumerate(AUTHORS)},
        "source": lambda: m["source"].array.take(switch_rows),
        "accepted_at": lambda: to_ts(accepted),
        "jivo_chat": lambda: _strings_at(m["session"], jivo_rows),
        "rating": rating,
        "paired_by": paired_by,
    }
    return pd.DataFrame({c: build[c]() for c in columns})


def _strings_at(column: pd.Series, rows: np.ndarray) -> pd.arrays.ArrowStringArray:
    """column[rows] as strings, NA where a row number is -1 (none): one Arrow take, the NAs by a masked index."""
    missing = rows < 0
    if missing.all():
        taken = pa.chunked_array([pa.nulls(len(rows), pa.large_string())])
    else:
        index = pa.array(np.where(missing, 0, rows), mask=missing) if missing.any() else pa.array(rows)
        taken = pa.array(column.array).take(index)  # an Array, or a ChunkedArray from a column of several chunks
        taken = taken if isinstance(taken, pa.ChunkedArray) else pa.chunked_array([taken])
    return pd.arrays.ArrowStringArray(taken.cast(pa.large_string()), dtype=STRING_DTYPE)


def _p95(s: pd.Series) -> float:
    return float(s.quantile(0.95)) if s.notna().any() else float("nan")


def per_operator(transfers: pd.DataFrame, messages: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per operator: transfers answered first, wait median/p95/max, chats closed by the operator,
    and (given the messages) messages written and chats touched."""
    t = transfers[transfers["operator"].notna()]
    g = t.groupby("operator", observed=True)
    out = pd.DataFrame({
        "transfers": g.size(),
        "median_wait_s": g["wait_s"].median(),
        "p95_wait_s": g["wait_s"].agg(_p95),
        "max_wait_s": g["wait_s"].max(),
        "closed_by_operator": g["closed_by"].agg(lambda s: int((s == "operator").sum())),
    })
    if messages is not None:
        ops = messages[(messages["author"] == "OPERATOR") & messages["operator"].notna()]
        mg = ops.groupby("operator", observed=True)
        out = out.join(pd.DataFrame({"messages": mg.size(), "chats": mg["chat"].nunique()}), how="outer")
        out[["transfers", "closed_by_operator", "messages", "chats"]] = (
            out[["transfers", "closed_by_operator", "messages", "chats"]].fillna(0).astype("int64"))
    out.index = out.index.astype(STRING_DTYPE)
    out.index.name = "operator"
    return out.sort_values("transfers", ascending=False).reset_index()


def per_period(transfers: pd.DataFrame, freq: str = "h") -> pd.DataFrame:
    """Transfers per hour (``freq='h'``) or day (``'D'``): total, by outcome, wait median/p95."""
    columns = ["period", "transfers", *OUTCOMES, "median_wait_s", "p95_wait_s"]
    if not len(transfers):
        return pd.DataFrame({c: [] for c in columns})
    period = transfers["switched_at"].dt.floor(freq)
    counts = pd.crosstab(period, transfers["outcome"]).reindex(columns=list(OUTCOMES), fill_value=0)
    g = transfers["wait_s"].groupby(period)
    out = counts.assign(transfers=counts.sum(axis=1), median_wait_s=g.median(), p95_wait_s=g.agg(_p95))
    full = pd.date_range(period.min(), period.max(), freq=freq)
    out = out.reindex(full).fillna({c: 0 for c in ["transfers", *OUTCOMES]})
    out[["transfers", *OUTCOMES]] = out[["transfers", *OUTCOMES]].astype("int64")
    out.index.name = "period"
    out.columns.name = None
    return out.reset_index()[columns]


def filter_values(value) -> list | None:
    """The values a filter keeps; None, "" and blanks mean no filter (a face's empty field)."""
    if value is None:
        return None
    values = [value] if isinstance(value, str) else list(value)
    values = [v for v in values if not (isinstance(v, str) and not v.strip())]
    return values or None


def is_blank_filter(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def filter_frame(frame: pd.DataFrame, *, since=None, until=None, chat=None, operator=None, outcome=None,
                 author=None, operator_rows_only: bool = False) -> pd.DataFrame:
    """Rows of a messages, transfers or per-period frame within [since, until) and matching the
    given chat(s), operator(s), outcome(s) and author(s); a filter on a column the frame lacks is
    an error, not ignored. None or a blank text means "no filter" for every parameter.

    ``since``/``until`` are read by :func:`jivo_ops.times.parse_time` (ISO 8601, naive = UTC; 24h,
    7d, 1w ago; now, today).

    ``operator`` on a **messages** frame keeps the *chats* those operators took part in, every row
    of them (client, bot and system rows included: an operator's conversations);
    ``operator_rows_only=True`` narrows that to the operators' own rows. On a **transfers** frame
    it keeps the transfers they answered (its ``operator`` column: the first to answer).
    """
    mask = np.ones(len(frame), dtype=bool)
    time_col = next((c for c in ("ts", "switched_at", "period") if c in frame.columns), None)
    for value, op, label in ((since, np.greater_equal, "since"), (until, np.less, "until")):
        if not is_blank_filter(value):
            if time_col is None:
                raise SourceError(f"--{label}: this table has no time column")
            mask &= op(frame[time_col], parse_time(value, name=label)).to_numpy(dtype=bool, na_value=False)
    for column, value in (("chat", chat), ("operator", operator), ("outcome", outcome), ("author", author)):
        values = filter_values(value)
        if values is None:
            continue
        if column not in frame.columns:
            raise SourceError(f"cannot filter by {column}: this table has no such column", column=column)
        if column == "outcome" and (unknown := set(values) - set(OUTCOMES)):
            raise SourceError(f"unknown outcome {sorted(unknown)[0]!r} (one of {', '.join(OUTCOMES)})",
                              column="outcome")
        picked = frame[column].isin(values).to_numpy(dtype=bool, na_value=False)
        if column == "operator" and "author" in frame.columns and not operator_rows_only:
            picked = frame["chat"].isin(frame["chat"][picked].dropna().unique()).to_numpy(dtype=bool,
                                                                                          na_value=False)
        mask &= picked
    return frame if mask.all() else frame[mask].reset_index(drop=True)


def summarize(logs) -> dict[str, Any]:
    """Headline figures of a LogSet: counts, outcomes, wait median/p95, rejected, duplicates."""
    m = logs.messages
    t = transfers_table(m)
    waits = t["wait_s"].dropna()
    span = (m["ts"].min(), m["ts"].max()) if m["ts"].notna().any() else (None, None)
    return {
        "messages": int(len(m)),
        "chats": int(m["chat"].nunique()),
        "by_author": {a: int(n) for a, n in m["author"].value_counts(sort=False).items()},
        "by_source": {str(s): int(n) for s, n in m["source"].value_counts(sort=False).items() if n},
        "first": None if span[0] is None else span[0].isoformat(),
        "last": None if span[1] is None else span[1].isoformat(),
        "transfers": int(len(t)),
        "outcomes": {o: int(n) for o, n in t["outcome"].value_counts(sort=False).items()},
        "median_wait_s": None if waits.empty else round(float(waits.median()), 3),
        "p95_wait_s": None if waits.empty else round(float(waits.quantile(0.95)), 3),
        "operators": int(t["operator"].nunique()),
        "rejected": int(len(logs.rejected)),
        "duplicates_removed": int(logs.duplicates_removed),
    }


def _excel_ready(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):  # Excel has no time zones: UTC, naive
            out[col] = out[col].dt.tz_convert("UTC").dt.tz_localize(None)
        elif not pd.api.types.is_numeric_dtype(out[col].dtype):  # XML cannot hold \x00-\x1f: escaped
            out[col] = out[col].map(_excel_text, na_action="ignore")
    return out


def _excel_text(value):
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if not isinstance(value, str):
        return value
    return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m[0]):02x}", value)


def export(frame: pd.DataFrame, path: str | Path, *, format: str | None = None) -> Path:
    """Write a table to CSV, Parquet, XLSX or JSONL (by ``format`` or the file's extension).
    Timestamps stay UTC (ISO 8601 with offset in CSV/JSONL; naive UTC in XLSX)."""
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt == "csv":
        frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S.%f%z")
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    elif fmt in ("xlsx", "excel"):
        _excel_ready(frame).to_excel(path, index=False, engine="openpyxl")
    elif fmt in ("jsonl", "ndjson", "json"):
        frame.to_json(path, orient="records", lines=fmt != "json", date_format="iso", date_unit="us",
                      force_ascii=False)
    else:
        raise SourceError(f"cannot export to {fmt!r}: use .csv, .parquet, .xlsx or .jsonl", path=str(path))
    return path
