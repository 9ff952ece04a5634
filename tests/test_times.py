"""The one time grammar (`jivo_ops.times.parse_time`): a table of forms, then generated input."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from jivo_ops.errors import JivoOpsError, SourceError
from jivo_ops.times import DURATION_UNITS, TimeFormatError, parse_time

NOW = datetime(2026, 11, 25, 15, 30, 45, 123456, tzinfo=timezone.utc)
UTC = timezone.utc


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


ACCEPTED = [
    # durations ago: both old grammars (logs: s m min h d w, any case, spaces; recorder: s m h d)
    ("90s", NOW - timedelta(seconds=90)),
    ("15m", NOW - timedelta(minutes=15)),
    ("30min", NOW - timedelta(minutes=30)),
    ("2h", NOW - timedelta(hours=2)),
    ("1.5h", NOW - timedelta(minutes=90)),
    ("24 H", NOW - timedelta(hours=24)),
    (" 7d ", NOW - timedelta(days=7)),
    ("1w", NOW - timedelta(weeks=1)),
    ("1W", NOW - timedelta(weeks=1)),
    # new: combinations and a trailing "ago"
    ("1h30m", NOW - timedelta(minutes=90)),
    ("1d 12h", NOW - timedelta(hours=36)),
    ("24h ago", NOW - timedelta(hours=24)),
    ("now", NOW),
    ("NOW", NOW),
    ("today", at(2026, 11, 25)),
    # ISO 8601: zone-less = UTC, offsets honoured, Z, basic format, week dates
    ("2026-11-25", at(2026, 11, 25)),
    ("2026-11-25T10:00", at(2026, 11, 25, 10)),
    ("2026-11-25 10:00:05", at(2026, 11, 25, 10, 0, 5)),
    ("2026-11-25T10:00:00.250", at(2026, 11, 25, 10, 0, 0, 250000)),
    ("2026-11-25T10:00:00Z", at(2026, 11, 25, 10)),
    ("2026-11-25T10:00:00z", at(2026, 11, 25, 10)),
    ("2026-11-25T13:00:00+03:00", at(2026, 11, 25, 10)),
    ("2026-11-25T13:00+0300", at(2026, 11, 25, 10)),
    ("2026-11-25T05:00:00-05:00", at(2026, 11, 25, 10)),
    ("20261125T100000", at(2026, 11, 25, 10)),
    ("20261125", at(2026, 11, 25)),
    ("2026-W48-3", at(2026, 11, 25)),
    # what pandas.Timestamp read (the old logs grammar), still read
    ("2026/11/25 10:00", at(2026, 11, 25, 10)),
    ("25 Nov 2026", at(2026, 11, 25)),
    ("2026-11-25 10:00 UTC", at(2026, 11, 25, 10)),
    ("2026-11", at(2026, 11, 1)),
    # values that are already times
    (datetime(2026, 11, 25, 10), at(2026, 11, 25, 10)),
    (datetime(2026, 11, 25, 13, tzinfo=timezone(timedelta(hours=3))), at(2026, 11, 25, 10)),
    (date(2026, 11, 25), at(2026, 11, 25)),
]


@pytest.mark.parametrize("value,expected", ACCEPTED, ids=[str(v) for v, _ in ACCEPTED])
def test_accepted_forms(value, expected):
    moment = parse_time(value, now=NOW)
    assert moment == expected
    assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)


def test_pandas_timestamps_and_none():
    import pandas as pd

    assert parse_time(pd.Timestamp("2026-11-25 13:00", tz="Europe/Moscow")) == at(2026, 11, 25, 10)
    assert parse_time(None) is None


REFUSED = ["", "   ", "yesterday-ish", "soon", "Z", "nat", "1.5.5h", "h", "-1h", "2026-13-45", "10 parsecs",
           "0001-01-01T00:00+03:00", "9" * 30 + "w"]


@pytest.mark.parametrize("text", REFUSED)
def test_refused_forms_are_one_line_naming_the_field_and_the_forms(text):
    with pytest.raises(TimeFormatError) as info:
        parse_time(text, name="--since", now=NOW)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"--since: cannot read {text.strip()!r} as a time; use ISO 8601")
    assert "no zone = UTC" in message and "1w" in message and "now / today" in message
    # the types callers already catch
    assert isinstance(info.value, SourceError) and isinstance(info.value, JivoOpsError)
    assert isinstance(info.value, ValueError)


def test_a_long_paste_is_not_echoed_whole():
    with pytest.raises(TimeFormatError) as info:
        parse_time("x" * 5000, name="since")
    assert len(str(info.value)) < 300


def test_durations_count_back_from_the_current_time():
    before = datetime.now(UTC)
    moment = parse_time("1w")
    after = datetime.now(UTC)
    assert before - timedelta(weeks=1) <= moment <= after - timedelta(weeks=1)


def test_importing_the_grammar_does_not_import_pandas():
    code = "import sys, jivo_ops.times; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_a_utc_time_or_a_time_format_error(text):
    try:
        moment = parse_time(text, name="field", now=NOW)
    except TimeFormatError as exc:
        assert str(exc).startswith("field: cannot read ") and "\n" not in str(exc)
    else:
        assert moment.utcoffset() == timedelta(0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 999), st.sampled_from(sorted(DURATION_UNITS))), min_size=1, max_size=3),
       st.sampled_from(["", " ", " ago"]))
def test_durations_add_up(parts, tail):
    text = " ".join(f"{n}{unit}" for n, unit in parts) + tail
    seconds = sum(n * DURATION_UNITS[unit] for n, unit in parts)
    assert parse_time(text, now=NOW) == NOW - timedelta(seconds=seconds)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 12, 31)),
       st.sampled_from([None, UTC, timezone(timedelta(hours=3)), timezone(timedelta(hours=-5, minutes=-30))]))
def test_iso_round_trip(moment, zone):
    text = moment.replace(tzinfo=zone).isoformat()
    expected = moment.replace(tzinfo=zone or UTC).astimezone(UTC)
    assert parse_time(text) == expected
    assert parse_time(text.replace("T", " ")) == expected
