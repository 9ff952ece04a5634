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

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import SourceError
from .tabulate import transfers_table

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


def _sessions(messages: pd.DataFrame) -> pd.DataFrame:
    """One row per JAICP session (its session, or its chat when it has none; a row with neither
    is one session of all such rows, as SQL groups NULL): its first time and whether it switched.
    The keys are hashed in load order, where the strings are read front to back: gathering them in
    chat order first costs more than the hash (cache misses on a million strings)."""
    ts = messages["ts"].array.asi8
    keep = messages["ts"].notna().to_numpy() & (messages["source"] != "webhooks").to_numpy(dtype=bool, na_value=True)
    key = pa.chunked_array(pa.array(messages["session"].array))
    if key.null_count:
        key = pc.coalesce(key, pa.chunked_array(pa.array(messages["chat"].array)))
    is_switch = (messages["kind"] == "switch").to_numpy(dtype=bool, na_value=False)
    if not keep.all():
        key, ts, is_switch = key.filter(pa.array(keep)), ts[keep], is_switch[keep]
    if not len(ts):
        return pd.DataFrame({"first_at": pd.Series([], dtype=messages["ts"].dtype), "escalated": []})
    # one chunk first: encoding the chunks apart leaves dictionaries to unify, which costs far more
    codes = pc.dictionary_encode(key.combine_chunks(), null_encoding="encode")
    n = len(codes.dictionary)
    codes = codes.indices.to_numpy()
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, codes, ts)
    switched = np.zeros(n, dtype=bool)
    switched[codes[is_switch]] = True
    first_at = pd.Series(pd.to_datetime(first, unit="us", utc=True)).astype(messages["ts"].dtype)
    return pd.DataFrame({"first_at": first_at, "escalated": switched})


def _ratio(num, den) -> pd.Series:
    num, den = pd.Series(num, dtype="float64"), pd.Series(den, dtype="float64")
    return (num / den).where(den > 0)


def _median(values: np.ndarray) -> float:
    """What pandas' grouped ``median`` gives for one group (NaN ignored; NaN when none)."""
    values = values[~np.isnan(values)]
    return float(np.median(values)) if len(values) else np.nan


def _quantile(values: np.ndarray, q: float) -> float:
    """What pandas' grouped ``quantile(q)`` gives for one group, to the bit: its linear
    interpolation, ``v[i] + (v[i + 1] - v[i]) * frac`` (numpy's own rounds differently)."""
    values = np.sort(values[~np.isnan(values)])
    if not len(values):
        return np.nan
    i, frac = int(q * (len(values) - 1)), q * (len(values) - 1) % 1
    return float(values[i]) if frac == 0.0 else float(values[i] + (values[i + 1] - values[i]) * frac)


# the spread figures: (column, source, quantile; None = median)
_SPREAD = (("first_reply_median_s", "wait_s", None), ("first_reply_p90_s", "wait_s", 0.9),
           ("first_reply_p95_s", "wait_s", 0.95), ("handling_median_s", "handling_s", None),
           ("handling_p90_s", "handling_s", 0.9))
_COUNTED = ("switches", "no_operators_num", "service_level_num", "abandonment_num", "answered", "rated_num",
            "positive_num")
# the transfers table's columns the figures read (``operator`` only for by="operator")
_TRANSFER_COLUMNS = ("switched_at", "first_operator_at", "wait_s", "closed_at", "closed_by", "outcome", "rating")


def kpis(messages: pd.DataFrame | None, transfers: pd.DataFrame | None, *, by: str | None = None,
         service_level_s: float = 20, tz: str = "UTC", sessions: pd.DataFrame | None = None) -> pd.DataFrame:
    """The KPI table (see the module docstring); ``transfers`` is ``transfers_table(messages)``, or
    None to build from the messages only the columns the figures read; ``sessions`` (``first_at``,
    ``escalated``), when given, stands for the messages' sessions (the DuckDB path computes them
    out of core)."""
    if by not in KPI_BY:
        raise SourceError(f"--by: unknown grouping {by!r} (one of day, hour, operator)")
    if not (isinstance(service_level_s, (int, float)) and service_level_s >= 0):
        raise SourceError(f"--service-level: {service_level_s!r} is not a number of seconds ≥ 0")
    try:
        pd.Timestamp(0, tz="UTC").tz_convert(tz)
    except Exception:
        raise SourceError(f"--display-tz: unknown time zone {tz!r} (e.g. UTC, Europe/Moscow)") from None
    if transfers is None:
        columns = (*_TRANSFER_COLUMNS, *(["operator"] if by == "operator" else []))
        if sessions is None and by != "operator":
            # the sessions' hash on a second core while the table is built: both are mostly Arrow and
            # numpy kernels, which let go of the GIL (a fifth less wall time at 1M events)
            with ThreadPoolExecutor(1) as pool:
                job = pool.submit(_sessions, messages)
                transfers = transfers_table(messages, columns=columns)
                sessions = job.result()
        else:
            transfers = transfers_table(messages, columns=columns)
    t = transfers
    first_op, closed = t["first_operator_at"], t["closed_at"]
    answered = first_op.notna()
    handling = (closed - first_op).dt.total_seconds()
    flags = {
        "switches": np.ones(len(t), dtype=np.int64),
        "no_operators_num": (t["outcome"] == "no_operators").to_numpy(dtype=bool),
        "service_level_num": (t["wait_s"] <= service_level_s).to_numpy(dtype=bool),
        "abandonment_num": ((t["closed_by"] == "client").to_numpy(dtype=bool)
                            & (~answered | (first_op > closed)).to_numpy(dtype=bool, na_value=False)),
        "answered": answered.to_numpy(dtype=bool),
        "rated_num": (answered & t["rating"].notna()).to_numpy(dtype=bool),
        "positive_num": (t["rating"] == "positive").to_numpy(dtype=bool),
        "wait_s": t["wait_s"].to_numpy(dtype="float64"),
        "handling_s": handling.where(handling >= 0).to_numpy(dtype="float64", na_value=np.nan),
    }
    if by is None:  # one group: its figures straight from the arrays, the same numbers as grouped
        counts = pd.DataFrame({c: [int(np.count_nonzero(flags[c]))] for c in _COUNTED}, dtype="int64")
        spread = {c: pd.Series([_median(flags[v]) if q is None else _quantile(flags[v], q)])
                  for c, v, q in _SPREAD}
    else:
        flags = pd.DataFrame(flags)
        if by == "operator":
            key = t["operator"]
            flags = flags[key.notna().to_numpy()]
            key = key[key.notna()].to_numpy()
        else:
            key = _period(t["switched_at"], _FREQ[by], tz).to_numpy()
        g = flags.groupby(key, sort=True)
        counts = g[list(_COUNTED)].sum()
        spread = {c: g[v].median() if q is None else g[v].quantile(q) for c, v, q in _SPREAD}
    index = counts.index
    given_sessions, escalated, sessions = sessions, None, None
    if by != "operator":
        s = given_sessions if given_sessions is not None else _sessions(messages)
        if by is None:
            sg = pd.DataFrame({"size": [len(s)], "sum": [int(s["escalated"].sum())]})
        else:
            sg = s.groupby(_period(s["first_at"], _FREQ[by], tz).to_numpy(), sort=True)["escalated"].agg(
                ["size", "sum"])
            index = index.union(sg.index)
            sg = sg.reindex(index, fill_value=0)
        sessions, escalated = sg["size"].astype("int64"), sg["sum"].astype("int64")
    counts = counts.reindex(index, fill_value=0)
    # the columns gathered in a dict and framed once: inserting them one by one costs more than the figures
    col: dict = {"sessions": pd.NA if sessions is None else sessions}
    for name, num in (("escalation", escalated), ("containment", None if sessions is None else sessions - escalated)):
        col[f"{name}_num"] = pd.NA if num is None else num
        col[f"{name}_den"] = pd.NA if sessions is None else sessions
        col[f"{name}_rate"] = np.nan if num is None else _ratio(num, sessions).to_numpy()
    for name, num, den in (*((n, f"{n}_num", "switches") for n in ("no_operators", "service_level", "abandonment")),
                           ("rated", "rated_num", "answered"), ("positive", "positive_num", "rated_num")):
        col[f"{name}_num"] = counts[num].astype("int64")
        col[f"{name}_den"] = counts[den].astype("int64")
        col[f"{name}_rate"] = _ratio(col[f"{name}_num"], col[f"{name}_den"]).to_numpy()
    col["switches"] = counts["switches"].astype("int64")
    col["answered"] = counts["answered"].astype("int64")
    col.update(spread)
    out = pd.DataFrame({c: col[c] for c in KPI_COLUMNS}, index=index)
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
