"""The per-transfer table and the KPIs in DuckDB, out of core, over a dataset ``LogSet.to_parquet`` wrote.

>>> from jivo_ops.logs import duckdb as logs_duckdb      # pip install 'jivo-ops[scale]'
>>> logs_duckdb.transfers("logs/")                       # = load("logs/").transfers()
>>> logs_duckdb.kpis("logs/", by="day")                  # = load("logs/").kpis(by="day")

The events never come into Python: DuckDB reads the Parquet files, orders each chat's rows, cuts
them into transfer segments and aggregates them with a ``memory_limit`` (spilling to disk past
it), and only the per-transfer rows (about one per fifteen events) and the per-session rows come
back. The rules are those of :func:`jivo_ops.logs.transfers_table` (same columns, same numbers);
the KPI arithmetic on those rows is :func:`jivo_ops.logs.kpis.kpis` itself. Rows are taken as
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

    con = duckdb.connect(config={"memory_limit": memory_limit} if memory_limit else {})
    con.execute("SET TimeZone = 'UTC'")
    return con


def _events(directory: str | Path) -> str:
    files = dataset_files(Path(directory))
    if not files:
        raise SourceError("no Parquet files (write one with LogSet.to_parquet)", path=str(directory))
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    # (ts, file number, file_row_number) is the row's place in load(DIR).messages: time order, then
    # the sorted files' order, then each file's own (rows without a time come last)
    return (f"SELECT ts, chat, session, author::VARCHAR AS author, kind::VARCHAR AS kind, text, operator, "
            f"source::VARCHAR AS source, list_position([{listed}], filename)::INT AS filename, file_row_number "
            f"FROM read_parquet([{listed}], hive_partitioning = true, filename = true, file_row_number = true)")


def _quoted(values: Sequence[str]) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) or "NULL"


def _transfers_sql(directory, close_phrases: Sequence[str]) -> str:
    event = "kind = 'event' AND text"
    return f"""
    WITH m AS ({_events(directory)}),
    chats AS (SELECT chat, min({{'t': coalesce(epoch_us(ts), 9223372036854775807), 'f': filename,
                               'r': file_row_number}}) AS chat_pos FROM m GROUP BY chat),
    r AS (  -- events of an instant sort after its other rows: they are the switch's consequence
        SELECT *, sum((kind = 'switch')::INT) OVER w AS seg, row_number() OVER w AS rn FROM m
        WHERE ts IS NOT NULL AND chat IN (SELECT chat FROM m WHERE kind = 'switch')
        WINDOW w AS (PARTITION BY chat ORDER BY ts, kind = 'event', filename, file_row_number
                     ROWS UNBOUNDED PRECEDING)),
    s AS (SELECT * FROM r WHERE seg > 0),
    t AS (
        SELECT chat, seg,
          max(session) FILTER (WHERE kind = 'switch') AS session,
          max(ts) FILTER (WHERE kind = 'switch') AS switched_at,
          max(source) FILTER (WHERE kind = 'switch') AS source,
          min(ts) FILTER (WHERE author = 'OPERATOR') AS first_operator_at,
          arg_min_null(operator, rn) FILTER (WHERE author = 'OPERATOR') AS first_operator,
          min(ts) FILTER (WHERE author = 'CLIENT' AND text IN ({_quoted([p.strip() for p in close_phrases])}))
            AS client_close,
          min(ts) FILTER (WHERE {event} IN ({_quoted([FINISHED_EVENT, JIVO_FINISHED_EVENT])})) AS finished,
          min(ts) FILTER (WHERE {event} = '{NO_OPERATORS_EVENT}') AS no_operators,
          min(ts) FILTER (WHERE kind = 'error') AS error,
          min(ts) FILTER (WHERE {event} = '{ACCEPTED_EVENT}') AS accepted_at,
          count(*) FILTER (WHERE {event} = '{ACCEPTED_EVENT}') AS n_accepted,
          arg_min_null(operator, rn) FILTER (WHERE {event} = '{ACCEPTED_EVENT}') AS acceptor,
          arg_min_null(text, rn) FILTER (WHERE kind = 'event' AND starts_with(text, '{RATE_EVENT}:')) AS rate,
          arg_min_null(session, rn) FILTER (WHERE source = 'webhooks') AS jivo_chat
        FROM s GROUP BY chat, seg),
    c AS (SELECT *, least(client_close, finished) AS closed_at FROM t),
    n AS (
        SELECT s.chat, s.seg,
          {", ".join(f"count(*) FILTER (WHERE s.author = '{a}') AS n_{a.lower()}"
                     for a in ("CLIENT", "BOT", "OPERATOR", "SYSTEM"))}
        FROM s JOIN c USING (chat, seg)
        WHERE s.kind <> 'switch' AND (c.closed_at IS NULL OR s.ts <= c.closed_at)
        GROUP BY s.chat, s.seg)
    SELECT c.chat, c.session, c.seg AS transfer_no, c.switched_at, c.first_operator_at,
      (epoch_us(c.first_operator_at) - epoch_us(c.switched_at)) / 1e6 AS wait_s,
      c.closed_at,
      CASE WHEN c.closed_at IS NULL THEN NULL
           WHEN c.client_close IS NOT NULL AND (c.finished IS NULL OR c.client_close <= c.finished)
           THEN 'client' ELSE 'operator' END AS closed_by,
      CASE WHEN c.n_accepted > 0 THEN c.acceptor ELSE c.first_operator END AS operator,
      CASE WHEN c.first_operator_at IS NOT NULL THEN 'answered' WHEN c.no_operators IS NOT NULL THEN 'no_operators'
           WHEN c.error IS NOT NULL THEN 'error' ELSE 'unanswered' END AS outcome,
      {", ".join(f"coalesce(n.n_{a}, 0) AS n_{a}" for a in ("client", "bot", "operator", "system"))},
      c.source, c.accepted_at, c.jivo_chat,
      CASE WHEN substr(c.rate, {len(RATE_EVENT) + 2}) IN ('positive', 'negative')
           THEN substr(c.rate, {len(RATE_EVENT) + 2}) END AS rating,
      NULL::VARCHAR AS paired_by
    FROM c LEFT JOIN n USING (chat, seg) JOIN chats USING (chat)
    ORDER BY c.switched_at, chats.chat_pos, c.seg
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
            WITH m AS ({_events(directory)})
            SELECT min(ts) AS first_at, bool_or(kind = 'switch') AS escalated,
                   min({{'t': epoch_us(ts), 'f': filename, 'r': file_row_number}}) AS pos
            FROM m WHERE source IS DISTINCT FROM 'webhooks' AND ts IS NOT NULL
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
