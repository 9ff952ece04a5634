"""The webhook recorder: receive (or tap) what Jivo and JAICP post, durably, and work with it.

    store       the SQLite store: its schema, every way of opening, reading and writing it
    wire        what the recorder answers and which headers it passes on
    exchanges   recorded exchanges: query, wait_for, replay, export, compare
    server      the receiver and the tap (a Starlette app); Recorder runs it
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Recorder": "server",
    "RecorderStore": "store",
    "Exchanges": "exchanges",
    "Exchange": "exchanges",
}

lazy_exports(globals(), _EXPORTS)
