"""The per-transfer table and the KPIs in DuckDB, out of core, over a dataset ``LogSet.to_parquet`` wrote.

>>> from jivo_ops.logs import duckdb as logs_duckdb      # pip install 'jivo-ops[scale]'
>>> logs_duckdb.transfers("logs/")                       # = load("logs/").transfers()
>>> logs_duckdb.kpis("logs/", by="day")                  # = load("logs/").kpis(by="day")

The events never come into Python, nor are they sorted or held: DuckDB reads the few switch and
closing rows first, then streams every event once through a hash join to its transfer segment
and into that segment's aggregates, so memory holds one row per segment (about one per eight
events), not the events; ``memory_limit`` caps it (spilling to disk past it). Only the
per-transfer rows and the per-session rows come back. The rules are those of
:func:`jivo_ops.logs.transfers_table` (same columns, same numbers); the KPI arithmetic on those
rows is :func:`jivo_ops.logs.kpis.kpis` itself. Rows are taken as
stored: ``to_parquet`` writes a LogSet already de-duplicated; ``paired_by`` is NA (the Jivo
pairing rule is known only to the ``load`` that paired the chats).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from ..errors import SourceError
from .kpis import kpis as _kpis_of_tables
from .parquet import dataset_files
from .tabulate import (CLOSE_PHRASES, FINISHED_EVENT, NO_OPERATORS_EVENT, empty_transfers)
from .sources.jivo_webhooks import ACCEPTED_EVENT, FINISHED_EVENT as JIVO_FINISHED_EVENT, RATE_EVENT

__all__ = ["transfers", "kpis", "sessions", "connect"]


def connect(memory_limit: str | None = None):
    """A DuckDB connection in UTC, with ``memory_limit`` (e.g. ``"2GB"``) when given."""
    import duckdb

    # preserve_insertion_order off: every result here has its own ORDER BY, and keeping scan order
    # costs memory in the pipelines
    config = {"preserve_insertion_order": False, **({"memory_limit": memory_limit} if memory_limit else {})}
    con = duckdb.connect(config=config)
    con.execute("SET TimeZone = 'UTC'")
    return con


def _events(directory: str | Path) -> str:
    files = dataset_files(Path(directory))
    if not files:
        raise SourceError("no Parquet files (write one with LogSet.to_parquet)", path=str(directory))
    # (ts, file_index, file_row_number) is the row's place in load(DIR).messages: time order, then
    # the sorted files' order, then each file's own (rows without a time come last)
    return f"read_parquet([{_quoted(files)}], file_row_number = true)"


def _quoted(values: Sequence[str]) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) or "NULL"


# A row's place as one HUGEINT: (epoch µs, is an event, file number, row in file), lexicographic —
# load(DIR)'s order, events of an instant after its other rows (they are the switch's consequence).
# PLACE leaves out "is an event": a chat's place is its first row in plain load order.
_KEY = ("epoch_us(ts)::HUGEINT * (1::HUGEINT << 57) + ((kind = 'event')::HUGEINT << 56) "
        "+ (file_index::HUGEINT << 36) + file_row_number")
_PLACE = "epoch_us(ts)::HUGEINT * (1::HUGEINT << 57) + (file_index::HUGEINT << 36) + file_row_number"


def _in_segment(row: str) -> str:
    """The join condition of a row to its segment: from its switch (inclusive) to the next."""
    return f"{row}.chat = b.chat AND {row}.key >= b.start AND (b.stop IS NULL OR {row}.key < b.stop)"


def _transfers_sql(directory, close_phrases: Sequence[str]) -> str:
    events = _events(directory)
    closing = f"author = 'CLIENT' AND text IN ({_quoted([p.strip() for p in close_phrases])})"
    finishing = f"kind = 'event' AND text IN ({_quoted([FINISHED_EVENT, JIVO_FINISHED_EVENT])})"
    # No window over the events and nothing materialised: the few switch and closing rows are read
    # first, then one streaming pass joins every row to its segment (hash join on chat) and
    # aggregates, so memory holds segments, not events.
    return f"""
    WITH sw AS (
        SELECT chat, {_KEY} AS key, session, source::VARCHAR AS source, ts
        FROM {events} WHERE kind = 'switch' AND ts IS NOT NULL),
    b0 AS (  -- segment n: from the n-th switch to the next (rows before a chat's first switch are in none)
        SELECT chat, row_number() OVER w AS seg, key AS start, lead(key) OVER w AS stop FROM sw
        WINDOW w AS (PARTITION BY chat ORDER BY key)),
    b AS (  -- sid: one integer per segment, so the aggregates below hash an integer, not (chat, seg)
        SELECT *, row_number() OVER () AS sid FROM b0),
    cl AS (
        SELECT b.sid, min(x.ts) FILTER (WHERE x.closing) AS client_close,
               min(x.ts) FILTER (WHERE NOT x.closing) AS finished
        FROM (SELECT chat, ts, {_KEY} AS key, {closing} AS closing FROM {events}
              WHERE ts IS NOT NULL AND (({closing}) OR ({finishing}))) x JOIN b ON {_in_segment("x")}
        GROUP BY b.sid),
    bc AS (SELECT b.*, cl.client_close, cl.finished, least(cl.client_close, cl.finished) AS closed_at
           FROM b LEFT JOIN cl USING (sid)),
    e AS (
        SELECT ts, chat, session, author::VARCHAR AS author, kind::VARCHAR AS kind, operator,
          source::VARCHAR AS source, {_KEY} AS key,
          CASE WHEN kind <> 'event' THEN 0 WHEN text = '{NO_OPERATORS_EVENT}' THEN 2
               WHEN text = '{ACCEPTED_EVENT}' THEN 3 ELSE 0 END::UTINYINT AS ev,
          CASE WHEN kind = 'event' AND starts_with(text, '{RATE_EVENT}:') THEN text END AS rate
        FROM {events} WHERE ts IS NOT NULL),
    t AS (
        SELECT b.sid,
          min(e.ts) FILTER (WHERE e.author = 'OPERATOR') AS first_operator_at,
          arg_min_null(e.operator, e.key) FILTER (WHERE e.author = 'OPERATOR') AS first_operator,
          min(e.ts) FILTER (WHERE e.ev = 2) AS no_operators,
          min(e.ts) FILTER (WHERE e.kind = 'error') AS error,
          min(e.ts) FILTER (WHERE e.ev = 3) AS accepted_at,
          count(*) FILTER (WHERE e.ev = 3) AS n_accepted,
          arg_min_null(e.operator, e.key) FILTER (WHERE e.ev = 3) AS acceptor,
          arg_min_null(e.rate, e.key) FILTER (WHERE e.rate IS NOT NULL) AS rate,
          arg_min_null(e.session, e.key) FILTER (WHERE e.source = 'webhooks') AS jivo_chat,
          {", ".join(f"count(*) FILTER (WHERE e.author = '{a}' AND e.kind <> 'switch' AND "
                     f"(b.closed_at IS NULL OR e.ts <= b.closed_at)) AS n_{a.lower()}"
                     for a in ("CLIENT", "BOT", "OPERATOR", "SYSTEM"))}
        FROM e JOIN bc b ON {_in_segment("e")}
        GROUP BY b.sid),
    -- switches of several chats at one instant go in the order of the chats' first rows (the
    -- pandas path's chat codes): only those chats' first rows are looked up, not every chat's
    tied AS (SELECT DISTINCT chat FROM sw WHERE ts IN (SELECT ts FROM sw GROUP BY ts HAVING count(DISTINCT chat) > 1)),
    chats AS (SELECT chat, min({_PLACE}) AS chat_pos FROM {events}
              WHERE ts IS NOT NULL AND chat IN (SELECT chat FROM tied) GROUP BY chat)
    SELECT bc.chat, sw.session, bc.seg AS transfer_no, sw.ts AS switched_at, t.first_operator_at,
      (epoch_us(t.first_operator_at) - epoch_us(sw.ts)) / 1e6 AS wait_s,
      bc.closed_at,
      CASE WHEN bc.closed_at IS NULL THEN NULL
           WHEN bc.client_close IS NOT NULL AND (bc.finished IS NULL OR bc.client_close <= bc.finished)
           THEN 'client' ELSE 'operator' END AS closed_by,
      CASE WHEN t.n_accepted > 0 THEN t.acceptor ELSE t.first_operator END AS operator,
      CASE WHEN t.first_operator_at IS NOT NULL THEN 'answered' WHEN t.no_operators IS NOT NULL THEN 'no_operators'
           WHEN t.error IS NOT NULL THEN 'error' ELSE 'unanswered' END AS outcome,
      {", ".join(f"t.n_{a}" for a in ("client", "bot", "operator", "system"))},
      sw.source, t.accepted_at, t.jivo_chat,
      CASE WHEN substr(t.rate, {len(RATE_EVENT) + 2}) IN ('positive', 'negative')
           THEN substr(t.rate, {len(RATE_EVENT) + 2}) END AS rating,
      NULL::VARCHAR AS paired_by
    FROM t JOIN bc USING (sid) JOIN sw ON sw.chat = bc.chat AND sw.key = bc.start LEFT JOIN chats ON chats.chat = bc.chat
    ORDER BY switched_at, chats.chat_pos, transfer_no
    """


def _as_frame(table, like: pd.DataFrame) -> pd.DataFrame:
    """An Arrow result in the dtypes of the pandas path's table (`like`)."""
    import pyarrow as pa

    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow"),
                                          pa.large_string(): pd.StringDtype("pyarrow")}.get)
    out = {}
    for col, dtype in like.dtypes.items():
        s = frame[col]
        if isinstance(dtype, pd.DatetimeTZDtype):
            s = s.astype("datetime64[us, UTC]")
        elif col == "source":
            s = s.astype("category")
        elif str(s.dtype) != str(dtype):
            s = s.astype(dtype)
        out[col] = s
    return pd.DataFrame(out)


def transfers(directory: str | Path, *, close_phrases: Sequence[str] = CLOSE_PHRASES,
              memory_limit: str | None = None) -> pd.DataFrame:
    """One row per switch, as ``load(directory).transfers()`` gives it, computed in DuckDB."""
    con = connect(memory_limit)
    # the events are the probe side of the segment join, as written: DuckDB's estimate of the
    # CTE above them is too low, and it would build its hash table of every event instead
    con.execute("SET disabled_optimizers = 'build_side_probe_side'")
    try:
        return _as_frame(con.sql(_transfers_sql(directory, close_phrases)).to_arrow_table(), empty_transfers())
    finally:
        con.close()


def sessions(directory: str | Path, *, memory_limit: str | None = None) -> pd.DataFrame:
    """One row per JAICP session (``first_at``, ``escalated``): the rule of ``kpis._sessions``
    (Jivo's own rows name no session; no session id → the chat)."""
    con = connect(memory_limit)
    try:
        table = con.sql(f"""
            SELECT min(ts) AS first_at, bool_or(kind = 'switch') AS escalated,
                   min({{'t': epoch_us(ts), 'f': file_index, 'r': file_row_number}}) AS pos
            FROM {_events(directory)} WHERE source IS DISTINCT FROM 'webhooks' AND ts IS NOT NULL
            GROUP BY coalesce(session, chat) ORDER BY pos""").to_arrow_table()
    finally:
        con.close()
    frame = table.to_pandas()
    return pd.DataFrame({"first_at": frame["first_at"].astype("datetime64[us, UTC]"),
                         "escalated": frame["escalated"].astype(bool)})


def kpis(directory: str | Path, by: str | None = None, service_level_s: float = 20, *, tz: str = "UTC",
         memory_limit: str | None = None) -> pd.DataFrame:
    """``load(directory).kpis(by, service_level_s, tz=tz)``, from the DuckDB tables above."""
    return _kpis_of_tables(None, transfers(directory, memory_limit=memory_limit), by=by,
                           service_level_s=service_level_s, tz=tz,
                           sessions=None if by == "operator" else sessions(directory, memory_limit=memory_limit))
