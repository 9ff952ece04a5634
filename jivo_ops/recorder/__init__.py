"""The webhook recorder: receive (or tap) what Jivo and JAICP post, durably, and work with it.

    store       the SQLite store: its schema, every way of opening it and reading it
    server      the receiver and the tap (a Starlette app); Recorder runs it
    exchanges   recorded exchanges: query, wait_for, replay, export, compare
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Recorder": "server",
    "RecorderStore": "server",
    "Exchanges": "exchanges",
    "Exchange": "exchanges",
}

lazy_exports(globals(), _EXPORTS)
