"""Contact-centre KPIs of the hand-over, each with its numerator and denominator.

:func:`kpis` gives one row (``by=None``) or one row per ``period`` (``by="day"``/``"hour"``) or
per ``operator``. Every rate is a ``<name>_num``, ``<name>_den``, ``<name>_rate`` triple
(``rate = num / den``, NaN when ``den`` is 0):

=====================  ============================================  ===============================
name                   numerator                                     denominator
=====================  ============================================  ===============================
``escalation``         JAICP sessions with a switch                  JAICP sessions
``containment``        JAICP sessions without a switch               JAICP sessions
``no_operators``       switches with ``noLivechatOperatorsOnline``   switches
``service_level``      switches an operator answered within          switches *offered*: every
                       ``service_level_s`` seconds                   switch, the ones nobody could
                                                                     take (offline) included
``abandonment``        switches the client closed before any         switches
                       operator message
``rated``              answered switches with a rating               answered switches
``positive``           ratings ``positive``                          rated switches
=====================  ============================================  ===============================

and ``sessions``, ``switches``, ``answered`` (switches with an operator message: chats per
operator), ``first_reply_median_s``/``_p90_s``/``_p95_s`` (switch → first operator message, over
answered switches), ``handling_median_s``/``_p90_s`` (first operator message → close).

A session is a JAICP ``session`` (or its chat when the source has none), counted in the period of
its first message; switch figures count in the period of the switch. ``by="operator"`` groups the
switches by who answered (Jivo's ``chat_accepted`` name when known): the session figures are NA
there (a session is nobody's before the switch) and an operator's service level is over the
switches they answered. Tables are in UTC; ``tz`` only chooses the clock the day/hour periods are
cut on (the ``period`` column is then in that zone).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import SourceError
from .tabulate import ChatOrder, chat_order

__all__ = ["kpis", "KPI_COLUMNS", "KPI_BY", "RATE_NAMES", "service_level_by_hour_of_week"]

KPI_BY = (None, "day", "hour", "operator")
RATE_NAMES = ("escalation", "containment", "no_operators", "service_level", "abandonment", "rated", "positive")
_FREQ = {"day": "D", "hour": "h"}
KPI_COLUMNS = ("sessions", "switches",
               *(f"{n}_{part}" for n in RATE_NAMES[:5] for part in ("num", "den", "rate")),
               "answered", "first_reply_median_s", "first_reply_p90_s", "first_reply_p95_s",
               "handling_median_s", "handling_p90_s",
               *(f"{n}_{part}" for n in RATE_NAMES[5:] for part in ("num", "den", "rate")))


def _period(ts: pd.Series, freq: str, tz: str) -> pd.Series:
    local = ts.dt.tz_convert(tz).dt.tz_localize(None).dt.floor(freq)
    return local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")


def _session_codes(messages: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """Each of `rows`' session code (its session, or its chat when it has none). `rows` come by
    chat, so a session's rows sit in runs: only the first row of each run is hashed."""
    session = pa.chunked_array(messages["session"].array._pa_array).take(rows)
    if session.null_count:
        session = pc.coalesce(session, pa.chunked_array(messages["chat"].array._pa_array).take(rows))
    session = session.combine_chunks()
    if session.null_count or not len(session):  # a row with neither: the hash's NA rule, as before
        return pd.factorize(pd.Series(session, dtype=messages["session"].dtype))[0]
    run_start = np.r_[True, pc.not_equal(session[1:], session[:-1]).to_numpy(zero_copy_only=False)]
    heads = np.flatnonzero(run_start)
    head_codes = session.take(heads).dictionary_encode().indices.to_numpy()
    return head_codes[np.cumsum(run_start) - 1]


def _sessions(messages: pd.DataFrame, chats: ChatOrder | None = None) -> pd.DataFrame:
    """One row per JAICP session: its first time and whether it switched."""
    chats = chats if chats is not None else chat_order(messages)
    rows = chats.rows[(messages["source"] != "webhooks").to_numpy(dtype=bool, na_value=True)[chats.rows]]
    if not len(rows):
        return pd.DataFrame({"first_at": pd.Series([], dtype=messages["ts"].dtype), "escalated": []})
    codes = _session_codes(messages, rows)
    ts = messages["ts"].array.asi8[rows]
    n = codes.max() + 1
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, codes, ts)
    switched = np.zeros(n, dtype=bool)
    switched[codes[(messages["kind"] == "switch").to_numpy(dtype=bool, na_value=False)[rows]]] = True
    first_at = pd.Series(pd.to_datetime(first, unit="us", utc=True)).astype(messages["ts"].dtype)
    return pd.DataFrame({"first_at": first_at, "escalated": switched})


def _ratio(num, den) -> pd.Series:
    num, den = pd.Series(num, dtype="float64"), pd.Series(den, dtype="float64")
    return (num / den).where(den > 0)


def kpis(messages: pd.DataFrame | None, transfers: pd.DataFrame, *, by: str | None = None,
         service_level_s: float = 20, tz: str = "UTC", sessions: pd.DataFrame | None = None,
         chats: ChatOrder | None = None) -> pd.DataFrame:
    """The KPI table (see the module docstring); ``transfers`` is ``transfers_table(messages)``;
    ``sessions`` (``first_at``, ``escalated``), when given, stands for the messages' sessions
    (the DuckDB path computes them out of core); ``chats`` is ``chat_order(messages)`` when the
    caller already has it (the one the transfers table was built from)."""
    if by not in KPI_BY:
        raise SourceError(f"--by: unknown grouping {by!r} (one of day, hour, operator)")
    if not (isinstance(service_level_s, (int, float)) and service_level_s >= 0):
        raise SourceError(f"--service-level: {service_level_s!r} is not a number of seconds ≥ 0")
    try:
        pd.Timestamp(0, tz="UTC").tz_convert(tz)
    except Exception:
        raise SourceError(f"--display-tz: unknown time zone {tz!r} (e.g. UTC, Europe/Moscow)") from None
    t = transfers
    first_op, closed = t["first_operator_at"], t["closed_at"]
    answered = first_op.notna()
    handling = (closed - first_op).dt.total_seconds()
    flags = pd.DataFrame({
        "switches": 1,
        "no_operators_num": (t["outcome"] == "no_operators").to_numpy(dtype=bool),
        "service_level_num": (t["wait_s"] <= service_level_s).to_numpy(dtype=bool),
        "abandonment_num": ((t["closed_by"] == "client").to_numpy(dtype=bool)
                            & (~answered | (first_op > closed)).to_numpy(dtype=bool, na_value=False)),
        "answered": answered.to_numpy(dtype=bool),
        "rated_num": (answered & t["rating"].notna()).to_numpy(dtype=bool),
        "positive_num": (t["rating"] == "positive").to_numpy(dtype=bool),
        "wait_s": t["wait_s"].to_numpy(dtype="float64"),
        "handling_s": handling.where(handling >= 0).to_numpy(dtype="float64", na_value=np.nan),
    })
    if by is None:
        key = np.zeros(len(t), dtype=int)
    elif by == "operator":
        key = t["operator"]
        flags = flags[key.notna().to_numpy()]
        key = key[key.notna()].to_numpy()
    else:
        key = _period(t["switched_at"], _FREQ[by], tz).to_numpy()
    g = flags.groupby(key, sort=True)
    counts = g[["switches", "no_operators_num", "service_level_num", "abandonment_num", "answered",
                "rated_num", "positive_num"]].sum()
    index = counts.index
    given_sessions, escalated, sessions = sessions, None, None
    if by != "operator":
        s = given_sessions if given_sessions is not None else _sessions(messages, chats)
        skey = np.zeros(len(s), dtype=int) if by is None else _period(s["first_at"], _FREQ[by], tz).to_numpy()
        sg = s.groupby(skey, sort=True)["escalated"].agg(["size", "sum"])
        index = index.union(sg.index).union([0] if by is None else [])
        sg = sg.reindex(index, fill_value=0)
        sessions, escalated = sg["size"].astype("int64"), sg["sum"].astype("int64")
    counts = counts.reindex(index, fill_value=0)
    out = pd.DataFrame(index=index)
    out["sessions"] = pd.NA if sessions is None else sessions
    for name, num in (("escalation", escalated), ("containment", None if sessions is None else sessions - escalated)):
        out[f"{name}_num"] = pd.NA if num is None else num
        out[f"{name}_den"] = pd.NA if sessions is None else sessions
        out[f"{name}_rate"] = np.nan if num is None else _ratio(num, sessions).to_numpy()
    for name in ("no_operators", "service_level", "abandonment"):
        out[f"{name}_num"] = counts[f"{name}_num"].astype("int64")
        out[f"{name}_den"] = counts["switches"].astype("int64")
        out[f"{name}_rate"] = _ratio(out[f"{name}_num"], out[f"{name}_den"]).to_numpy()
    out["switches"] = counts["switches"].astype("int64")
    out["answered"] = counts["answered"].astype("int64")
    waits = g["wait_s"]
    out["first_reply_median_s"] = waits.median()
    out["first_reply_p90_s"] = waits.quantile(0.9)
    out["first_reply_p95_s"] = waits.quantile(0.95)
    out["handling_median_s"] = g["handling_s"].median()
    out["handling_p90_s"] = g["handling_s"].quantile(0.9)
    for name, den in (("rated", "answered"), ("positive", "rated_num")):
        out[f"{name}_num"] = counts[f"{name}_num"].astype("int64")
        out[f"{name}_den"] = counts[den].astype("int64")
        out[f"{name}_rate"] = _ratio(out[f"{name}_num"], out[f"{name}_den"]).to_numpy()
    out = out[list(KPI_COLUMNS)]
    out.attrs["service_level_s"] = service_level_s
    if by is None:
        return out.reset_index(drop=True)
    out.index.name = "operator" if by == "operator" else "period"
    return out.reset_index()


def service_level_by_hour_of_week(transfers: pd.DataFrame, messages: pd.DataFrame | None = None, *,
                                  service_level_s: float = 20, tz: str = "UTC") -> dict[str, pd.DataFrame]:
    """Weekday (0 = Monday) × hour tables: ``switches``, ``service_level`` (rate, NaN without
    switches) and ``operators_online`` (True where an operator wrote or Jivo saw an accept that
    hour; only where the messages are given)."""
    local = transfers["switched_at"].dt.tz_convert(tz)
    frame = pd.DataFrame({"day": local.dt.day_of_week, "hour": local.dt.hour,
                          "ok": (transfers["wait_s"] <= service_level_s).to_numpy(dtype=bool)})
    grid = pd.MultiIndex.from_product([range(7), range(24)], names=["day", "hour"])
    g = frame.groupby(["day", "hour"])["ok"].agg(["size", "sum"]).reindex(grid, fill_value=0)
    out = {"switches": g["size"].unstack(), "service_level": (g["sum"] / g["size"].where(g["size"] > 0)).unstack()}
    if messages is not None:
        active = messages[(messages["author"] == "OPERATOR") | (messages["text"] == "chat_accepted")]
        when = active["ts"].dropna().dt.tz_convert(tz)
        seen = pd.Series(True, index=pd.MultiIndex.from_arrays([when.dt.day_of_week, when.dt.hour],
                                                                names=["day", "hour"]))
        seen = seen[~seen.index.duplicated()].reindex(grid, fill_value=False)
        out["operators_online"] = seen.unstack()
    return out
