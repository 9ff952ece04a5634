"""The one grammar for a point in time typed by a user: every ``--since``/``--until`` flag, every
widget time field and every ``since=``/``until=`` argument reads it through :func:`parse_time`.

Accepted forms (surrounding spaces ignored, letters in any case):

- a duration ago: a number and a unit, ``s``, ``m``/``min``, ``h``, ``d``, ``w`` (``90s``, ``15m``,
  ``1.5h``, ``7d``, ``1w``), or several of them (``1h30m``, ``1d 12h``), optionally followed by
  ``ago`` (``24h ago``);
- ``now`` (this instant) and ``today`` (00:00 UTC of the current UTC day);
- ISO 8601 dates and date-times: ``2026-11-25``, ``2026-11-25T10:00``, ``2026-11-25 10:00:00.250``,
  ``20261125T100000``, with ``Z`` or an offset (``+03:00``, ``+0300``) or none. **A time without a
  zone is UTC**, not the machine's local time;
- for compatibility with the older `jivo_ops.logs` grammar, the other spellings pandas reads
  (``2026/11/25 10:00``, ``25 Nov 2026``, ``2026-11-25 10:00 UTC``), zone-less ones again as UTC;
- a ``datetime`` (naive = UTC) or ``date`` (its midnight UTC); ``None`` stays ``None``.

The result is always a timezone-aware ``datetime`` in UTC. Anything else raises
:class:`TimeFormatError`, one line naming the field and listing the forms above.

This module sits in the base layer and imports no pandas (only the compatibility fallback loads
it, when a text matched none of the forms above).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from .errors import TimeFormatError

__all__ = ["parse_time", "TimeFormatError", "TIME_FORMS", "DURATION_UNITS"]

DURATION_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
# the forms, as every error and every --since/--until help shows them
TIME_FORMS = ("ISO 8601 like 2026-11-25T10:00:00+03:00 (no zone = UTC), a duration ago like 90s, 15m, "
              "24h, 7d, 1w, 1h30m, or now / today")

_PART = r"(\d+(?:\.\d+)?)\s*(min|s|m|h|d|w)"
_DURATION = re.compile(rf"(?:{_PART}\s*)+(?:ago)?", re.IGNORECASE)
_DURATION_PART = re.compile(_PART, re.IGNORECASE)
_SHOWN_LIMIT = 60  # a pasted paragraph is not echoed whole


def _refusal(name: str, text: str) -> TimeFormatError:
    shown = text if len(text) <= _SHOWN_LIMIT else text[:_SHOWN_LIMIT] + "…"
    return TimeFormatError(f"{name}: cannot read {shown!r} as a time; use {TIME_FORMS}", name=name, text=text)


def parse_time(value: Any, *, name: str = "time", now: datetime | None = None) -> datetime | None:
    """`value` as an aware UTC `datetime` (see the module docstring for the grammar).

    ``name`` is the flag or field the value came from, for the error; ``now`` is the instant
    durations count back from and ``now``/``today`` mean (default: the current time)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return _as_utc(value)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=timezone.utc)
    text = str(value).strip()
    try:
        moment = _parse_text(text, now)
    except OverflowError:  # 10**9 weeks ago, year 1 at +03:00: outside what a datetime holds
        moment = None
    if moment is None:
        raise _refusal(name, text)
    return moment


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _parse_text(text: str, now: datetime | None) -> datetime | None:
    if not text:
        return None
    current = _as_utc(now) if now is not None else datetime.now(timezone.utc)
    lowered = text.lower()
    if lowered == "now":
        return current
    if lowered == "today":
        return current.replace(hour=0, minute=0, second=0, microsecond=0)
    if _DURATION.fullmatch(text):
        seconds = sum(float(n) * DURATION_UNITS[unit.lower()] for n, unit in _DURATION_PART.findall(text))
        return current - timedelta(seconds=seconds)
    try:
        return _as_utc(datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text))
    except ValueError:
        return _parse_like_pandas(text)


def _parse_like_pandas(text: str) -> datetime | None:
    """What `pandas.Timestamp(text)` read, the grammar `jivo_ops.logs` used before: kept so no
    spelling that worked stops working. NaT (from "nat", "") is not a time."""
    import pandas as pd

    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        return None
    if stamp is pd.NaT:
        return None
    return _as_utc(stamp.to_pydatetime(warn=False))
