"""Test-transfer results (``jivo_ops.transfer``; JSONL, one transfer per line) → messages.

Each ``steps[i]`` becomes one row: ``ts``, ``author``, ``kind`` and ``text`` from the step,
``chat`` = the transfer's ``chat`` (the Chat API clientId), ``session`` = ``transfer_id``,
``operator`` = the transfer's ``operator`` on OPERATOR rows, ``message_id`` =
``<transfer_id>:<i>``. A step of an unknown author or kind, or without ``ts``, is rejected
(row = the line, the reason names the step); the rest of the transfer is kept.
Also accepts a JSON list of transfers and ``TransferResult`` values (anything with ``to_json()``).
"""

from __future__ import annotations

from typing import Any, Iterable

from ...files import loads_json
from .._build import Builder, Part

__all__ = ["load_transfer_results", "add_transfer"]


def add_transfer(b: Builder, row: int, record: Any) -> None:
    if hasattr(record, "to_json"):
        record = record.to_json()
    if not isinstance(record, dict):
        b.reject(row, f"not a JSON object but {type(record).__name__}")
        return
    for field in ("transfer_id", "chat", "steps"):
        if record.get(field) in (None, ""):
            b.reject(row, f"missing field {field!r}")
            return
    steps = record["steps"]
    if not isinstance(steps, list):
        b.reject(row, "field 'steps' is not a list")
        return
    tid, chat = record["transfer_id"], record["chat"]
    operator = record.get("operator")
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            b.reject(row, f"steps[{i}]: not a JSON object")
            continue
        if step.get("ts") in (None, ""):
            b.reject(row, f"steps[{i}]: missing field 'ts'")
            continue
        author = step.get("author")
        b.add(row, ts=step["ts"], chat=chat, session=tid, author=author, kind=step.get("kind"),
              text=step.get("text"), operator=operator if author == "OPERATOR" else None,
              message_id=f"{tid}:{i}", where=f"steps[{i}]")


def load_transfer_results(records: Iterable[tuple[int, Any]], *, origin: str) -> Part:
    """``records``: (row number, a transfer dict / TransferResult / JSON error text) pairs."""
    b = Builder(origin, "transfers")
    for row, record in records:
        if isinstance(record, ValueError):
            b.reject(row, f"not valid JSON: {record}")
        else:
            add_transfer(b, row, record)
    return b.build()


def jsonl_records(text: str) -> Iterable[tuple[int, Any]]:
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield i, loads_json(line)
        except ValueError as exc:
            yield i, exc
