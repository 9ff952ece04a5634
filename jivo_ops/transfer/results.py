"""What a test transfer produced: its recorded steps, its one outcome, a batch of them, JSONL.

Every transfer ends with exactly one outcome (`OUTCOMES`, the one list `logs` uses too):

============== ==============================================================================
answered        the bot switched and an operator's message arrived
no_operators    the bot switched but nobody was online (``noLivechatOperatorsOnline``)
no_switch       the bot never sent a ``switch`` reply
unanswered      switched, but no operator message came before the step's timeout
error           an HTTP exchange failed (4xx/5xx/connection/timeout of a non-waiting step) or a
                body broke the protocol; the failing exchange is kept as evidence
============== ==============================================================================

A JSONL line is ``TransferResult.to_json()`` (the transfer-results contract read by `logs`);
tokens are masked on the way out (`Step.to_json`). Its ``checks`` key (additive) lists the script's
evaluated expectations, ``{"step", "action", "check", "status", "expected", "got", "message"}``
(`checks.Check`); ``passed`` says whether the transfer was what the script wanted.
"""

from __future__ import annotations

import json
import math
import os
import statistics
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from ..errors import ProtocolError
from ..redaction import mask_secret, redact
from .checks import CHECK_STATUSES, Check
from .render import format_summary, format_timeline

__all__ = ["OUTCOMES", "AUTHORS", "Step", "TransferResult", "TransferBatch", "summarize", "jsonl_line",
           "write_jsonl", "read_jsonl"]

OUTCOMES = ("answered", "no_operators", "no_switch", "unanswered", "error")
AUTHORS = ("CLIENT", "BOT", "OPERATOR", "SYSTEM")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_iso(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ProtocolError(f"not an ISO 8601 timestamp: {value!r}", field=what) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _mask_payload(value: Any) -> Any:
    """A JSON payload with every secret masked (the Chat API echoes its token in `token`)."""
    if isinstance(value, Mapping):
        return {k: (mask_secret(v) or "…") if k == "token" and isinstance(v, str) and v else _mask_payload(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_payload(v) for v in value]
    if isinstance(value, str) and len(value) >= 6:
        return redact(value)
    return value


@dataclass(frozen=True)
class Step:
    """One recorded moment of a transfer: who, what, when, how long, and the HTTP exchange."""

    ts: datetime
    step: str
    author: str
    kind: str
    text: str | None = None
    latency_s: float | None = None
    http: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        http = None
        if self.http is not None:
            http = {"method": self.http.get("method"), "url": self.http.get("url"),
                    "status": self.http.get("status"),
                    "request": _mask_payload(self.http.get("request")),
                    "response": _mask_payload(self.http.get("response"))}
        return {"ts": _iso(self.ts), "step": self.step, "author": self.author, "kind": self.kind,
                "text": redact(self.text) if self.text else self.text,
                "latency_s": None if self.latency_s is None else round(self.latency_s, 6), "http": http}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Step":
        if not isinstance(data, Mapping):
            raise ProtocolError(f"a transfer step must be a JSON object, not {type(data).__name__}", field="steps[]")
        for key in ("ts", "step", "author", "kind"):
            if key not in data:
                raise ProtocolError("missing in a transfer step", field=f"steps[].{key}")
        return cls(ts=_parse_iso(data["ts"], "steps[].ts"), step=data["step"], author=data["author"],
                   kind=data["kind"], text=data.get("text"), latency_s=data.get("latency_s"),
                   http=data.get("http"))


def _operator_side(value: Any) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ProtocolError(f"must be a JSON object or null, not {type(value).__name__}", field="operator_side")
    return dict(value)


def _checks(value: Any) -> tuple[Check, ...]:
    if not isinstance(value or [], list):
        raise ProtocolError("must be a list of checks", field="checks")
    try:
        return tuple(Check.from_json(c) for c in value or ())
    except (ValueError, TypeError) as exc:
        raise ProtocolError(str(exc), field="checks[]") from None


@dataclass(frozen=True)
class TransferResult:
    """What happened to one simulated client; `to_json()` is one line of the JSONL file."""

    transfer_id: str
    chat: str
    script: str
    outcome: str
    started_at: datetime
    switched_at: datetime | None = None
    first_operator_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    operator: str | None = None
    error: str | None = None
    steps: tuple[Step, ...] = ()
    interrupted: bool = False
    # What the operator was given: {"first_message", "sender", "messages": [{"ts", "text", "type"}]};
    # None when nobody can see Jivo's side (a real Jivo with human operators).
    operator_side: Mapping[str, Any] | None = None
    checks: tuple[Check, ...] = ()  # the script's expectations, evaluated

    # -- derived figures --------------------------------------------------------------------
    @property
    def time_to_switch_s(self) -> float | None:
        return (self.switched_at - self.started_at).total_seconds() if self.switched_at else None

    @property
    def wait_s(self) -> float | None:
        """Time from the switch to the operator's first message (what the client waited)."""
        if self.switched_at and self.first_operator_at:
            return (self.first_operator_at - self.switched_at).total_seconds()
        return None

    @property
    def passed(self) -> bool:
        """No check failed (skips allowed), and no error unless an outcome check asked for it."""
        if any(c.status == "failed" for c in self.checks):
            return False
        return self.outcome != "error" or any(c.check == "outcome" and c.status == "passed" for c in self.checks)

    @property
    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if c.status == "failed"]

    @property
    def ended_at(self) -> datetime:
        return self.steps[-1].ts if self.steps else self.started_at

    # -- wire form --------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "transfer_id": self.transfer_id, "chat": self.chat, "script": self.script, "outcome": self.outcome,
            "started_at": _iso(self.started_at), "switched_at": _iso(self.switched_at),
            "first_operator_at": _iso(self.first_operator_at), "closed_at": _iso(self.closed_at),
            "closed_by": self.closed_by, "operator": self.operator,
            "error": redact(self.error) if self.error else None,
            "interrupted": self.interrupted,
            "steps": [s.to_json() for s in self.steps],
            "operator_side": _mask_payload(self.operator_side) if self.operator_side is not None else None,
            "checks": [_mask_payload(c.to_json()) for c in self.checks],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "TransferResult":
        if not isinstance(data, Mapping):
            raise ProtocolError(f"a transfer result must be a JSON object, not {type(data).__name__}")
        for key in ("transfer_id", "chat", "outcome", "started_at"):
            if key not in data:
                raise ProtocolError("missing in a transfer result", field=key)
        if not isinstance(data.get("steps") or [], list):
            raise ProtocolError("must be a list of steps", field="steps")
        if data["started_at"] is None:
            raise ProtocolError("missing in a transfer result", field="started_at")
        if data["outcome"] not in OUTCOMES:
            raise ProtocolError(f"unknown outcome {data['outcome']!r}; expected one of {OUTCOMES}", field="outcome")
        return cls(
            transfer_id=str(data["transfer_id"]), chat=str(data["chat"]), script=str(data.get("script", "")),
            outcome=data["outcome"], started_at=_parse_iso(data["started_at"], "started_at"),
            switched_at=_parse_iso(data.get("switched_at"), "switched_at"),
            first_operator_at=_parse_iso(data.get("first_operator_at"), "first_operator_at"),
            closed_at=_parse_iso(data.get("closed_at"), "closed_at"), closed_by=data.get("closed_by"),
            operator=data.get("operator"), error=data.get("error"),
            steps=tuple(Step.from_json(s) for s in data.get("steps") or ()),
            interrupted=bool(data.get("interrupted", False)),
            operator_side=_operator_side(data.get("operator_side")),
            checks=_checks(data.get("checks")),
        )

    # -- views ------------------------------------------------------------------------------
    def timeline(self):
        """The steps as a pandas DataFrame (ts as datetime64 UTC, elapsed seconds from the start)."""
        import pandas as pd

        rows = [{"ts": s.ts, "elapsed_s": (s.ts - self.started_at).total_seconds(), "step": s.step,
                 "author": s.author, "kind": s.kind, "text": redact(s.text) if s.text else s.text,
                 "latency_s": s.latency_s, "status": (s.http or {}).get("status"),
                 "transfer_id": self.transfer_id, "chat": self.chat} for s in self.steps]
        columns = ["ts", "elapsed_s", "step", "author", "kind", "text", "latency_s", "status", "transfer_id", "chat"]
        frame = pd.DataFrame(rows, columns=columns)
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        for column in ("step", "author", "kind", "text", "transfer_id", "chat"):
            frame[column] = frame[column].astype("string")
        frame["status"] = frame["status"].astype("Int64")
        return frame

    def render_timeline(self, *, width: int = 100) -> str:
        return format_timeline(self, width=width)

    def __repr__(self) -> str:
        wait = f", wait={self.wait_s:.2f}s" if self.wait_s is not None else ""
        err = f", error={redact(self.error)!r}" if self.error else ""
        return (f"TransferResult({self.outcome}, chat={self.chat!r}, steps={len(self.steps)}{wait}"
                f"{', interrupted' if self.interrupted else ''}{err})")

    def _repr_html_(self) -> str:
        import html

        head = html.escape(repr(self))
        return f"<div><b>{head}</b>{self.timeline().to_html(index=False)}</div>"


def _percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank-interpolated percentile (same as numpy's default 'linear')."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(results: Iterable[TransferResult]) -> dict[str, Any]:
    """Counts per outcome, time to switch and time to the operator's first reply (median, p95)."""
    results = list(results)
    counts = {o: 0 for o in OUTCOMES}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    switch = [r.time_to_switch_s for r in results if r.time_to_switch_s is not None]
    wait = [r.wait_s for r in results if r.wait_s is not None]
    checks = {status: sum(c.status == status for r in results for c in r.checks) for status in CHECK_STATUSES}
    return {
        "transfers": len(results), "outcomes": counts,
        "checks": checks, "passed": sum(r.passed for r in results),
        "interrupted": sum(r.interrupted for r in results),
        "time_to_switch_s": {"median": statistics.median(switch) if switch else None,
                             "p95": _percentile(switch, 0.95), "n": len(switch)},
        "time_to_first_operator_reply_s": {"median": statistics.median(wait) if wait else None,
                                           "p95": _percentile(wait, 0.95), "n": len(wait)},
    }


def jsonl_line(result: TransferResult) -> str:
    """One line of a transfer-results JSONL file (UTF-8 text, Cyrillic as is, newline included)."""
    return json.dumps(result.to_json(), ensure_ascii=False) + "\n"


def write_jsonl(results: Iterable[TransferResult], path: str | os.PathLike) -> Path:
    """Write results as JSONL (one `to_json()` per line, UTF-8, Cyrillic as is)."""
    p = Path(path).expanduser()
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", encoding="utf-8") as fh:
        for r in results:
            fh.write(jsonl_line(r))
    return p


def read_jsonl(path: str | os.PathLike) -> list[TransferResult]:
    """Read a transfer-results JSONL file back into values; errors name the line."""
    p = Path(path).expanduser()
    out = []
    try:
        with p.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    out.append(TransferResult.from_json(json.loads(line)))
                except (ValueError, ProtocolError) as exc:  # ValueError: bad JSON or not UTF-8
                    raise ProtocolError(f"{p}: line {number}: {exc}") from None
    except FileNotFoundError:
        raise ProtocolError(f"{p}: file not found") from None
    return out


@dataclass
class TransferBatch(Sequence[TransferResult]):
    """The results of a batch, in client order, with a summary and JSONL export."""

    results: list[TransferResult]
    script: str = ""
    interrupted: bool = False
    elapsed_s: float = 0.0
    planned: int = 0          # clients asked for; a stopped batch ran fewer (0: as many as ran)

    @property
    def not_started(self) -> int:
        """Transfers a stop came before: not results, not errors — they never ran."""
        return max(0, self.planned - len(self.results))

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, index):  # type: ignore[override]
        return self.results[index]

    def __iter__(self) -> Iterator[TransferResult]:
        return iter(self.results)

    @property
    def all_answered(self) -> bool:
        return bool(self.results) and all(r.outcome == "answered" for r in self.results)

    @property
    def passed(self) -> bool:
        """Every transfer's checks passed (skips allowed)."""
        return bool(self.results) and all(r.passed for r in self.results)

    def summary(self) -> dict[str, Any]:
        out = summarize(self.results)
        out["elapsed_s"] = self.elapsed_s
        out["stopped"] = self.interrupted
        out["planned"], out["not_started"] = max(self.planned, len(self.results)), self.not_started
        return out

    def summary_frame(self):
        import pandas as pd

        rows, columns = format_summary(self.summary())
        return pd.DataFrame(rows, columns=columns)

    def to_frame(self):
        """One row per transfer (the same columns as `logs`' per-transfer table where they overlap)."""
        import pandas as pd

        rows = [{"transfer_id": r.transfer_id, "chat": r.chat, "script": r.script, "outcome": r.outcome,
                 "started_at": r.started_at, "switched_at": r.switched_at, "first_operator_at": r.first_operator_at,
                 "closed_at": r.closed_at, "closed_by": r.closed_by, "operator": r.operator,
                 "time_to_switch_s": r.time_to_switch_s, "wait_s": r.wait_s,
                 "error": redact(r.error) if r.error else None, "interrupted": r.interrupted} for r in self.results]
        frame = pd.DataFrame(rows, columns=["transfer_id", "chat", "script", "outcome", "started_at", "switched_at",
                                            "first_operator_at", "closed_at", "closed_by", "operator",
                                            "time_to_switch_s", "wait_s", "error", "interrupted"])
        for column in ("started_at", "switched_at", "first_operator_at", "closed_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        for column in ("transfer_id", "chat", "script", "closed_by", "operator", "error"):
            frame[column] = frame[column].astype("string")
        frame["outcome"] = pd.Categorical(frame["outcome"], categories=list(OUTCOMES))
        return frame

    def timeline(self):
        import pandas as pd

        frames = [r.timeline() for r in self.results]
        return pd.concat(frames, ignore_index=True) if frames else TransferResult(
            "", "", "", "error", _now()).timeline()

    def to_jsonl(self, path: str | os.PathLike) -> Path:
        return write_jsonl(self.results, path)

    def __repr__(self) -> str:
        counts = ", ".join(f"{o}={n}" for o, n in summarize(self.results)["outcomes"].items() if n)
        return (f"TransferBatch({len(self.results)} transfers, {counts or 'none'}"
                f"{', interrupted' if self.interrupted else ''}, {self.elapsed_s:.2f}s)")

    def _repr_html_(self) -> str:
        import html

        return f"<div><b>{html.escape(repr(self))}</b>{self.summary_frame().to_html(index=False)}</div>"
