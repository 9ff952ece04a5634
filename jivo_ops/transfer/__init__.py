"""Test switch transfers end to end: scripted clients over the JAICP Chat API.

Each simulated client plays a *script* — a list of steps, plain data — against the bot's Chat API
channel: say something, ask for an operator, expect the ``switch`` reply, wait for the operator's
first message on ``/events``, maybe talk more, send the close phrase and expect the bot back.
Every step is recorded with a wall-clock UTC timestamp, the payloads (tokens masked) and its
latency, and the transfer ends with exactly one outcome:

============== ==============================================================================
answered        the bot switched and an operator's message arrived
no_operators    the bot switched but nobody was online (``noLivechatOperatorsOnline``)
no_switch       the bot never sent a ``switch`` reply
unanswered      switched, but no operator message came before the step's timeout
error           an HTTP exchange failed (4xx/5xx/connection/timeout of a non-waiting step) or a
                body broke the protocol; the failing exchange is kept as evidence
============== ==============================================================================

Step vocabulary (one dict per step; ``{"action": "say", "text": "hi"}`` or the short
``{"say": "hi"}``; a script file is JSON ``{"name": …, "steps": [...]}`` / a bare JSON list, or
TOML with ``name = …`` and ``[[steps]]`` tables):

``say`` (text)
    a client message. Before the switch the bot answers it; in a live chat it goes to the operator.
``switch`` (text, default "Позовите оператора")
    ask for an operator; the bot must answer with a ``switch`` reply (else ``no_switch``).
``wait_operator`` (timeout, default: the step timeout)
    wait on ``/events`` for the operator's next message; none in time → ``unanswered``.
``close`` (text, default: the switch's first ``closeChatPhrases`` entry, else "/closeChat")
    end the live chat and expect the bot back (a bot reply or ``livechatFinished``); skipped
    when the operator already closed the chat (``closed_by: operator``).
``event`` (name, data)
    send a Chat API event.
``pause`` (seconds)
    think time.

`run_transfers` (sync; works in a plain script and inside Jupyter's running loop) and
`arun_transfers` (async) run many clients with bounded concurrency, a per-step timeout and a
progress bar, and return a `TransferBatch`: the `TransferResult` values, a summary, JSONL.
A JSONL line is ``TransferResult.to_json()`` (the transfer-results contract read by `logs`).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import statistics
import threading
import time
import tomllib
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from ..errors import JivoOpsError, ProtocolError, ScriptError, ServiceError
from ..channel.jaicp import POLL_GRACE
from ..profile import resolve_profile
from ..redaction import mask_secret, mask_url, redact

__all__ = [
    "OUTCOMES", "AUTHORS", "ScriptError", "ScriptStep", "Script", "DEFAULT_SCRIPT", "load_script",
    "Step", "TransferResult", "TransferBatch", "arun_transfers", "run_transfers", "run_transfer",
    "write_jsonl", "read_jsonl", "summarize", "format_summary", "format_timeline",
]

OUTCOMES = ("answered", "no_operators", "no_switch", "unanswered", "error")
AUTHORS = ("CLIENT", "BOT", "OPERATOR", "SYSTEM")
ACTIONS = ("say", "switch", "wait_operator", "close", "event", "pause")
DEFAULT_CLOSE_PHRASE = "/closeChat"
NO_OPERATORS = "noLivechatOperatorsOnline"
LIVECHAT_FINISHED = "livechatFinished"
# Longest single /events long poll; a step's deadline cuts it shorter. Kept under the usual server hold
# (the sandbox's is 25 s) so a quiet poll ends on our side, not as a dropped connection.
POLL_WINDOW_S = 20.0
# Few requests in flight per httpx client beat one crowded client (see BENCHMARKS.md).
REQUESTS_PER_HTTP_CLIENT = 8


# -- scripts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptStep:
    """One step of a script: an action from the vocabulary and its arguments."""

    action: str
    text: str | None = None
    timeout: float | None = None
    seconds: float = 0.0
    name: str | None = None
    data: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action}
        for key in ("text", "timeout", "name", "data"):
            value = getattr(self, key)
            if value is not None:
                out[key] = dict(value) if key == "data" else value
        if self.action == "pause":
            out["seconds"] = self.seconds
        return out


@dataclass(frozen=True)
class Script:
    """A named list of steps; build one with `Script.from_json` or `load_script`."""

    name: str
    steps: tuple[ScriptStep, ...]

    @classmethod
    def from_json(cls, data: Any, *, source: str = "script", default_name: str = "custom") -> "Script":
        if isinstance(data, Mapping):
            unknown = set(data) - {"name", "steps", "description"}
            if unknown:
                raise ScriptError(f"{source}: unknown key(s) {sorted(unknown)}; a script has 'name' and 'steps'")
            name = data.get("name", default_name)
            if not isinstance(name, str) or not name:
                raise ScriptError(f"{source}: 'name' must be a non-empty string")
            raw_steps = data.get("steps")
        else:
            name, raw_steps = default_name, data
        if not isinstance(raw_steps, list) or not raw_steps:
            raise ScriptError(f"{source}: 'steps' must be a non-empty list of steps "
                              f"(actions: {', '.join(ACTIONS)})")
        return cls(name=name, steps=tuple(_parse_step(s, source, i) for i, s in enumerate(raw_steps, 1)))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "steps": [s.to_json() for s in self.steps]}

    @property
    def has_switch(self) -> bool:
        return any(s.action == "switch" for s in self.steps)


def _parse_step(raw: Any, source: str, number: int) -> ScriptStep:
    where = f"{source}: step {number}"
    if isinstance(raw, str):
        raw = {"action": raw}
    if not isinstance(raw, Mapping):
        raise ScriptError(f"{where}: expected a table/object like {{\"action\": \"say\", \"text\": \"…\"}}")
    raw = dict(raw)
    if "action" not in raw:
        short = [k for k in raw if k in ACTIONS]
        if len(short) != 1:
            raise ScriptError(f"{where}: missing 'action' (one of: {', '.join(ACTIONS)})")
        action = short[0]
        value = raw.pop(action)
        key = {"pause": "seconds", "event": "name", "wait_operator": "timeout"}.get(action, "text")
        if value is not None and value is not True:
            raw.setdefault(key, value)
        raw["action"] = action
    action = raw.pop("action")
    if action not in ACTIONS:
        raise ScriptError(f"{where}: unknown action {action!r}; use one of: {', '.join(ACTIONS)}")
    allowed = {"say": {"text"}, "switch": {"text"}, "wait_operator": {"timeout"}, "close": {"text"},
               "event": {"name", "data"}, "pause": {"seconds"}}[action]
    extra = set(raw) - allowed - {"timeout"}
    if extra:
        raise ScriptError(f"{where} ({action}): unknown key(s) {sorted(extra)}; allowed: {sorted(allowed | {'timeout'})}")
    text = raw.get("text")
    if text is not None and not isinstance(text, str):
        raise ScriptError(f"{where} ({action}): 'text' must be a string")
    if action == "say" and not text:
        raise ScriptError(f"{where} (say): 'text' is required")
    timeout = raw.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ScriptError(f"{where} ({action}): 'timeout' must be a positive number of seconds")
    seconds = raw.get("seconds", 0.0)
    if action == "pause" and (isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0):
        raise ScriptError(f"{where} (pause): 'seconds' must be a number ≥ 0")
    name = raw.get("name")
    if action == "event" and (not isinstance(name, str) or not name):
        raise ScriptError(f"{where} (event): 'name' (the event name) is required")
    data = raw.get("data")
    if data is not None and not isinstance(data, Mapping):
        raise ScriptError(f"{where} (event): 'data' must be an object/table")
    return ScriptStep(action=action, text=text, timeout=float(timeout) if timeout is not None else None,
                      seconds=float(seconds), name=name, data=data)


DEFAULT_SCRIPT = Script(name="default", steps=(
    ScriptStep("say", text="Здравствуйте"),
    ScriptStep("switch", text="Позовите оператора"),
    ScriptStep("wait_operator"),
    ScriptStep("close"),
))


def load_script(path: str | os.PathLike) -> Script:
    """Read a script from a JSON or TOML file (chosen by the extension; JSON otherwise)."""
    p = Path(path).expanduser()
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ScriptError(f"{p}: script file not found") from None
    except OSError as exc:
        raise ScriptError(f"{p}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScriptError(f"{p}: not UTF-8 text; save the script as UTF-8") from None
    try:
        if p.suffix.lower() == ".toml":
            data: Any = tomllib.loads(text)
        else:
            data = json.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScriptError(f"{p}: broken TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ScriptError(f"{p}: broken JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    return Script.from_json(data, source=str(p), default_name=p.stem)


def _as_script(script: Script | str | os.PathLike | Sequence | Mapping | None) -> Script:
    if script is None:
        return DEFAULT_SCRIPT
    if isinstance(script, Script):
        return script
    if isinstance(script, (str, os.PathLike)):
        return load_script(script)
    return Script.from_json(script)


# -- results ---------------------------------------------------------------------------------


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


def format_timeline(result: TransferResult, *, width: int = 100) -> str:
    """A text timeline of one transfer, one line per step: elapsed, author, kind, text, latency."""
    lines = [f"transfer {result.transfer_id}  chat {result.chat}  script {result.script}  outcome {result.outcome}"]
    for s in result.steps:
        elapsed = (s.ts - result.started_at).total_seconds()
        latency = f"{s.latency_s * 1000:7.1f} ms" if s.latency_s is not None else " " * 10
        status = (s.http or {}).get("status")
        text = redact(s.text or "").replace("\n", " ⏎ ")
        line = f"+{elapsed:7.3f}s  {latency}  {s.author:<8} {s.kind:<7} {s.step:<13} {text}"
        if status and status >= 400:
            line += f"  [HTTP {status}]"
        if len(line) > width:
            line = line[: width - 1] + "…"
        lines.append(line)
    tail = []
    if result.wait_s is not None:
        tail.append(f"operator answered after {result.wait_s:.3f} s")
    if result.operator:
        tail.append(f"operator: {result.operator}")
    if result.closed_by:
        tail.append(f"closed by {result.closed_by}")
    if result.error:
        tail.append(f"{'error' if result.outcome == 'error' else 'why'}: {redact(result.error)}")
    if tail:
        lines.append("  " + "; ".join(tail))
    return "\n".join(lines)


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
    return {
        "transfers": len(results), "outcomes": counts,
        "interrupted": sum(r.interrupted for r in results),
        "time_to_switch_s": {"median": statistics.median(switch) if switch else None,
                             "p95": _percentile(switch, 0.95), "n": len(switch)},
        "time_to_first_operator_reply_s": {"median": statistics.median(wait) if wait else None,
                                           "p95": _percentile(wait, 0.95), "n": len(wait)},
    }


def format_summary(summary: Mapping[str, Any]) -> tuple[list[list[str]], list[str]]:
    """The summary as table rows (for `cli._output.print_table`): one row per figure."""
    def secs(v: float | None) -> str:
        return "–" if v is None else f"{v:.3f} s"

    total = summary["transfers"] or 1
    rows = [[f"outcome: {o}", str(n), f"{100 * n / total:.0f}%"] for o, n in summary["outcomes"].items()]
    if summary.get("interrupted"):
        rows.append(["interrupted", str(summary["interrupted"]), ""])
    for label, key in (("time to switch", "time_to_switch_s"),
                       ("time to first operator reply", "time_to_first_operator_reply_s")):
        figures = summary[key]
        rows.append([f"{label}: median", secs(figures["median"]), f"n={figures['n']}"])
        rows.append([f"{label}: p95", secs(figures["p95"]), ""])
    return rows, ["figure", "value", "share"]


def write_jsonl(results: Iterable[TransferResult], path: str | os.PathLike) -> Path:
    """Write results as JSONL (one `to_json()` per line, UTF-8, Cyrillic as is)."""
    p = Path(path).expanduser()
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
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

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, index):  # type: ignore[override]
        return self.results[index]

    def __iter__(self) -> Iterator[TransferResult]:
        return iter(self.results)

    @property
    def all_answered(self) -> bool:
        return bool(self.results) and all(r.outcome == "answered" for r in self.results)

    def summary(self) -> dict[str, Any]:
        out = summarize(self.results)
        out["elapsed_s"] = self.elapsed_s
        out["stopped"] = self.interrupted
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


# -- the conversation ------------------------------------------------------------------------


class _Ended(Exception):
    """Raised inside a conversation when its outcome is decided before the script ends."""

    def __init__(self, outcome: str, error: str | None = None):
        super().__init__(outcome)
        self.outcome, self.error = outcome, error


# Where a Chat API body says which event or scenario state produced it. JAICP scenarios handle
# `noLivechatOperatorsOnline` / `livechatFinished` in states conventionally named after them
# (`/NoOperatorsOnline`, `/LivechatFinished`), and the event name itself may travel in `event`.
NO_OPERATORS_SIGNS = ("nolivechatoperatorsonline", "nooperatorsonline")
FINISHED_SIGNS = ("livechatfinished",)


def _signal_fields(raw: Any) -> Iterator[Any]:
    """The event/state names of a Chat API answer or an /events item: data.event, data.nlpClass,
    each reply's state/event, the item's own type/event (only these: a scan of the whole body would
    also match what a client happened to type)."""
    if not isinstance(raw, Mapping):
        return
    yield raw.get("event") if isinstance(raw.get("event"), str) else None
    yield raw.get("type")
    inner = raw.get("event")
    holders = [raw, inner] if isinstance(inner, Mapping) else [raw]
    for holder in holders:
        data = holder.get("data")
        if not isinstance(data, Mapping):
            continue
        yield data.get("event")
        yield data.get("nlpClass")
        replies = data.get("replies")
        if isinstance(replies, list):
            for reply in replies:
                if isinstance(reply, Mapping):
                    yield reply.get("state")
                    yield reply.get("event")


def _signals(raw: Any, signs: Sequence[str]) -> bool:
    """Whether an event/state name of `raw` contains one of `signs` (case-insensitive)."""
    for value in _signal_fields(raw):
        if isinstance(value, str) and value:
            folded = value.casefold()
            if any(sign in folded for sign in signs):
                return True
    return False


def _livechat_refused(raw: Any) -> bool:
    """A Chat API answer that says outright no live chat is open (`data.livechatStatus.enabled: false`)."""
    data = raw.get("data") if isinstance(raw, Mapping) else None
    status = data.get("livechatStatus") if isinstance(data, Mapping) else None
    return isinstance(status, Mapping) and status.get("enabled") is False


def _operator_name(value: Any) -> str | None:
    """An operator's name wherever the service puts it (operatorInfo, operator, sender)."""
    if not isinstance(value, Mapping):
        return None
    info = value.get("operatorInfo")
    if isinstance(info, Mapping):
        name = " ".join(str(info[k]) for k in ("firstName", "lastName") if info.get(k))
        if name:
            return name
    for key in ("operator", "operatorName", "agent"):
        v = value.get(key)
        if isinstance(v, str) and v:
            return v
        if isinstance(v, Mapping) and (v.get("name") or v.get("firstName")):
            return str(v.get("name") or v.get("firstName"))
    for key in ("event", "data"):
        found = _operator_name(value.get(key))
        if found:
            return found
    return None


# Chat API reply types → the `kind` vocabulary of message logs; anything else is "other".
_KINDS = {"text": "text", "image": "photo", "photo": "photo", "video": "video", "file": "document",
          "document": "document", "audio": "audio", "switch": "switch", "buttons": "buttons",
          "inlineButtons": "buttons", "location": "location"}


def _kind(reply: Mapping[str, Any]) -> str:
    return _KINDS.get(str(reply.get("type", "text")), "other")


def _reply_text(reply: Mapping[str, Any]) -> str | None:
    for key in ("text", "imageUrl", "fileUrl", "videoUrl", "audioUrl", "url", "firstMessage"):
        v = reply.get(key)
        if isinstance(v, str) and v:
            return v
    return None


def _describe_exc(exc: BaseException) -> str:
    return redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


class _Conversation:
    """One simulated client playing a script; collects `Step`s and decides the outcome."""

    def __init__(self, api, script: Script, *, chat: str, transfer_id: str, step_timeout: float,
                 masked_url: str, masked_events_url: str, poll_window: float):
        self.api, self.script, self.chat, self.transfer_id = api, script, chat, transfer_id
        self.step_timeout, self.poll_window = step_timeout, poll_window
        self.url, self.events_url = masked_url, masked_events_url
        self.steps: list[Step] = []
        self.started_at = _now()
        self.switched_at: datetime | None = None
        self.first_operator_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.closed_by: str | None = None
        self.operator: str | None = None
        self.close_phrases: list[str] = []
        self.in_live_chat = False
        self.cursor: int | None = None
        self.outcome: str | None = None
        self.error: str | None = None
        self.interrupted = False

    # -- recording ------------------------------------------------------------------------
    def note(self, step: str, author: str, kind: str, text: str | None = None, *, latency: float | None = None,
             http: Mapping[str, Any] | None = None, ts: datetime | None = None) -> Step:
        record = Step(ts=ts or _now(), step=step, author=author, kind=kind, text=text, latency_s=latency, http=http)
        self.steps.append(record)
        return record

    def result(self) -> TransferResult:
        return TransferResult(
            transfer_id=self.transfer_id, chat=self.chat, script=self.script.name, outcome=self.outcome or "error",
            started_at=self.started_at, switched_at=self.switched_at, first_operator_at=self.first_operator_at,
            closed_at=self.closed_at, closed_by=self.closed_by, operator=self.operator, error=self.error,
            steps=tuple(self.steps), interrupted=self.interrupted)

    # -- HTTP with evidence -----------------------------------------------------------------
    async def _call(self, step: str, method: str, url: str, request: Mapping[str, Any], call, *,
                    timeout: float | None = None, on_timeout: str = "error"):
        """Run one API call under the step timeout; on failure record the exchange and end the transfer."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout or self.step_timeout):
                response = await call
        except TimeoutError:
            latency = time.perf_counter() - started
            message = f"{step}: no answer from {url} within {timeout or self.step_timeout:g} s"
            self.note(step, "SYSTEM", "error", message, latency=latency,
                      http={"method": method, "url": url, "status": None, "request": dict(request), "response": None})
            raise _Ended(on_timeout, message) from None
        except ServiceError as exc:
            latency = time.perf_counter() - started
            message = f"{step}: {exc}"
            self.note(step, "SYSTEM", "error", message, latency=latency,
                      http={"method": method, "url": url, "status": exc.status, "request": dict(request),
                            "response": exc.reason or None})
            raise _Ended("error", message) from None
        except (ProtocolError, JivoOpsError, ValueError) as exc:
            latency = time.perf_counter() - started
            message = f"{step}: {_describe_exc(exc)}"
            self.note(step, "SYSTEM", "error", message, latency=latency,
                      http={"method": method, "url": url, "status": None, "request": dict(request), "response": None})
            raise _Ended("error", message) from None
        return response, time.perf_counter() - started

    async def _query(self, step: str, text: str):
        request = {"clientId": self.chat, "query": text}
        sent_at = _now()
        response, latency = await self._call(step, "POST", self.url, request, self.api.send_query(self.chat, text))
        self.note(step, "CLIENT", "text", text, latency=latency, ts=sent_at,
                  http={"method": "POST", "url": self.url, "status": 200, "request": request, "response": response.raw})
        return response

    def _record_replies(self, step: str, replies: Iterable[Mapping[str, Any]], author: str,
                        ts: datetime | None = None) -> list[Mapping[str, Any]]:
        kept = []
        for reply in replies:
            if not isinstance(reply, Mapping):
                continue
            kind = _kind(reply)
            self.note(step, author, kind, _reply_text(reply), ts=ts)
            kept.append(reply)
        return kept

    def _take_switch(self, replies: Sequence[Mapping[str, Any]], at: datetime) -> bool:
        for reply in replies:
            if reply.get("type") == "switch":
                self.switched_at = self.switched_at or at
                phrases = reply.get("closeChatPhrases")
                if isinstance(phrases, list):
                    self.close_phrases = [p for p in phrases if isinstance(p, str) and p]
                self.in_live_chat = True
                return True
        return False

    # -- steps ----------------------------------------------------------------------------
    async def run(self) -> TransferResult:
        try:
            for number, step in enumerate(self.script.steps, 1):
                await getattr(self, f"_do_{step.action}")(step)
            self._finish()
        except _Ended as ended:
            self.outcome, self.error = ended.outcome, ended.error
            if ended.outcome == "unanswered" and self.in_live_chat:
                await self._cleanup()
        except asyncio.CancelledError:
            self.interrupted = True
            self.outcome = "error"
            self.error = "interrupted: the batch was stopped before this transfer finished"
            self.note("stop", "SYSTEM", "event", self.error)
        except Exception as exc:  # a bug or an unexpected body: the evidence, never a lost batch
            self.outcome, self.error = "error", f"unexpected {_describe_exc(exc)}"
            self.note("error", "SYSTEM", "error", self.error)
        return self.result()

    def _finish(self) -> None:
        if self.switched_at is None:
            self.outcome = "no_switch" if self.script.has_switch else "answered" if self.first_operator_at else "no_switch"
        elif self.first_operator_at is not None:
            self.outcome = "answered"
        else:
            self.outcome = "unanswered"
            self.error = self.error or "the script ended before an operator answered"

    async def _do_pause(self, step: ScriptStep) -> None:
        if step.seconds:
            await asyncio.sleep(step.seconds)

    async def _do_say(self, step: ScriptStep) -> None:
        response = await self._query("say", step.text or "")
        replies = self._record_replies("say", response.replies, "BOT")
        if self._take_switch(replies, self.steps[-1].ts if replies else _now()):
            self._check_no_operators(response.raw, "say")

    async def _do_event(self, step: ScriptStep) -> None:
        request = {"clientId": self.chat, "event": step.name, "data": dict(step.data or {})}
        sent_at = _now()
        response, latency = await self._call("event", "POST", self.url, request,
                                             self.api.send_event(self.chat, step.name, dict(step.data or {})))
        self.note("event", "CLIENT", "event", step.name, latency=latency, ts=sent_at,
                  http={"method": "POST", "url": self.url, "status": 200, "request": request, "response": response.raw})
        self._record_replies("event", response.replies, "BOT")

    async def _do_switch(self, step: ScriptStep) -> None:
        response = await self._query("switch", step.text or "Позовите оператора")
        received = _now()
        replies = self._record_replies("switch", response.replies, "BOT", ts=received)
        if not self._take_switch(replies, received):
            self.note("switch", "SYSTEM", "event", "the bot answered without a switch reply")
            raise _Ended("no_switch", "the bot did not switch to an operator (no `switch` reply)")
        self._check_no_operators(response.raw, "switch")
        if _livechat_refused(response.raw):
            await self._refused("switch")

    async def _refused(self, step: str) -> None:
        """The bot switched but says no live chat opened: no operators (told on /events), or no channel."""
        try:
            batch, latency = await self._poll(step, time.monotonic() + POLL_GRACE + 0.3, on_timeout="error")
        except TimeoutError:
            batch, latency = None, None
        received = _now()
        for event in batch.events if batch is not None else ():
            if self._classify_event(step, event, received, latency) == "no_operators":
                self.in_live_chat = False
                raise _Ended("no_operators", "no operators online (noLivechatOperatorsOnline)")
        self.in_live_chat = False
        message = ("the bot sent a switch but no live chat opened (livechatStatus.enabled is false): is an operator "
                   "channel linked to the inbound channel (its «Оператор» field)?")
        self.note(step, "SYSTEM", "error", message)
        raise _Ended("error", message)

    def _check_no_operators(self, raw: Any, step: str) -> None:
        if _signals(raw, NO_OPERATORS_SIGNS):
            self.in_live_chat = False
            self.note(step, "SYSTEM", "event", NO_OPERATORS)
            raise _Ended("no_operators", "no operators online (noLivechatOperatorsOnline)")

    async def _poll(self, step: str, deadline: float, on_timeout: str):
        """One long-poll window on /events, bounded by `deadline`; returns the EventBatch."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        # The client waits `window` plus the Chat API client's grace: keep the sum within the deadline.
        window = max(0.05, min(self.poll_window, remaining - POLL_GRACE))
        request = {"clientId": self.chat, "ts": self.cursor}
        batch, latency = await self._call(step, "GET", self.events_url, request,
                                          self.api.poll_events(self.chat, ts=self.cursor, timeout=window),
                                          timeout=window + 2.0, on_timeout=on_timeout)
        if batch.last_ts is not None:
            self.cursor = batch.last_ts
        return batch, latency

    def _classify_event(self, step: str, event, received: datetime, latency: float) -> str:
        """Record one /events item; returns 'operator', 'finished', 'no_operators' or 'other'."""
        raw = getattr(event, "raw", {}) or {}
        http = {"method": "GET", "url": self.events_url, "status": 200, "request": {"clientId": self.chat},
                "response": raw}
        if _signals(raw, NO_OPERATORS_SIGNS):
            self.note(step, "SYSTEM", "event", NO_OPERATORS, latency=latency, http=http, ts=received)
            self._record_replies(step, event.replies, "BOT", ts=received)
            return "no_operators"
        if _signals(raw, FINISHED_SIGNS):
            self.note(step, "SYSTEM", "event", LIVECHAT_FINISHED, latency=latency, http=http, ts=received)
            self._record_replies(step, event.replies, "BOT", ts=received)
            return "finished"
        if not self.in_live_chat:
            self._record_replies(step, event.replies, "BOT", ts=received)
            return "other"
        name = _operator_name(raw)
        if name and not self.operator:
            self.operator = name
        replies = [r for r in event.replies if isinstance(r, Mapping)]
        if not replies:
            self.note(step, "SYSTEM", "event", str(getattr(event, "type", "event")), latency=latency, http=http,
                      ts=received)
            return "other"
        first = True
        for reply in replies:
            kind = _kind(reply)
            self.note(step, "OPERATOR", kind, _reply_text(reply), latency=latency if first else None,
                      http=http if first else None, ts=received)
            first = False
        return "operator"

    def _operator_closed(self, at: datetime) -> None:
        self.in_live_chat = False
        self.closed_at, self.closed_by = at, "operator"

    async def _do_wait_operator(self, step: ScriptStep) -> None:
        if not self.in_live_chat:
            if self.closed_by == "operator":
                return
            self.note("wait_operator", "SYSTEM", "event", "skipped: no live chat is open")
            return
        limit = step.timeout or self.step_timeout
        deadline = time.monotonic() + limit
        while True:
            try:
                batch, latency = await self._poll("wait_operator", deadline, on_timeout="unanswered")
            except TimeoutError:
                message = f"no operator message within {limit:g} s"
                self.note("wait_operator", "SYSTEM", "event", message)
                raise _Ended("unanswered", message) from None
            received = _now()
            got = False
            for event in batch.events:
                kind = self._classify_event("wait_operator", event, received, latency)
                if kind == "no_operators":
                    self.in_live_chat = False
                    raise _Ended("no_operators", "no operators online (noLivechatOperatorsOnline)")
                if kind == "operator":
                    got = True
                    self.first_operator_at = self.first_operator_at or received
                elif kind == "finished":
                    self._operator_closed(received)
                    if not got and self.first_operator_at is None:
                        raise _Ended("unanswered", "the live chat was closed before any operator message")
                    return
            if got:
                return

    async def _do_close(self, step: ScriptStep) -> None:
        if self.closed_by == "operator":
            self.note("close", "SYSTEM", "event", "skipped: the operator already closed the chat")
            return
        if not self.in_live_chat:
            self.note("close", "SYSTEM", "event", "skipped: no live chat is open")
            return
        phrase = step.text or (self.close_phrases[0] if self.close_phrases else DEFAULT_CLOSE_PHRASE)
        response = await self._query("close", phrase)
        received = _now()
        replies = self._record_replies("close", response.replies, "BOT", ts=received)
        if _signals(response.raw, FINISHED_SIGNS):
            self.in_live_chat = False
            self.closed_at, self.closed_by = received, "client"
            return
        if replies:
            # The bot answered, but not as the end of a live chat: the operator may have closed it
            # just before (that close is then waiting on /events). A short look decides who closed.
            self.in_live_chat = False
            if not await self._operator_closed_meanwhile("close"):
                self.closed_at, self.closed_by = received, "client"
            return
        # The bot may answer asynchronously: its reply then arrives on /events.
        deadline = time.monotonic() + (step.timeout or self.step_timeout)
        while True:
            try:
                batch, latency = await self._poll("close", deadline, on_timeout="error")
            except TimeoutError:
                raise _Ended("error", f"the bot did not come back within {step.timeout or self.step_timeout:g} s "
                                      f"after the close phrase {phrase!r}") from None
            received = _now()
            for event in batch.events:
                kind = self._classify_event("close", event, received, latency)
                if kind in ("finished", "other") or (kind == "operator" and not self.in_live_chat):
                    self.in_live_chat = False
                    self.closed_at, self.closed_by = received, "client"
                    return

    async def _operator_closed_meanwhile(self, step: str) -> bool:
        try:
            batch, latency = await self._poll(step, time.monotonic() + POLL_GRACE + 0.3, on_timeout="error")
        except (TimeoutError, _Ended):
            return False
        received = _now()
        for event in batch.events:
            if self._classify_event(step, event, received, latency) == "finished":
                self._operator_closed(received)
                return True
        return False

    async def _cleanup(self) -> None:
        """Best effort: leave no live chat open behind an unanswered transfer."""
        phrase = self.close_phrases[0] if self.close_phrases else DEFAULT_CLOSE_PHRASE
        try:
            async with asyncio.timeout(min(self.step_timeout, 5.0)):
                await self.api.send_query(self.chat, phrase)
            self.note("cleanup", "CLIENT", "text", phrase)
        except (Exception, TimeoutError, asyncio.CancelledError):  # best effort only
            pass


# -- running many ----------------------------------------------------------------------------


async def arun_transfers(profile, *, clients: int = 1, concurrency: int = 10,
                         script: Script | str | os.PathLike | Sequence | Mapping | None = None,
                         step_timeout: float = 10.0, progress: bool = True, out: str | os.PathLike | None = None,
                         stop: Any = None, chat_prefix: str | None = None,
                         poll_window: float = POLL_WINDOW_S,
                         requests_per_http_client: int = REQUESTS_PER_HTTP_CLIENT,
                         transport_factory=None, on_result=None) -> TransferBatch:
    """Run `clients` scripted transfers, at most `concurrency` at once; see the module docstring.

    `stop`: anything with `is_set()` (threading.Event, asyncio.Event): when set, running transfers
    are interrupted and unstarted ones marked, finished results kept. Cancelling this coroutine does
    the same and still returns the batch. `out`: a JSONL path written as transfers finish.
    `transport_factory`: a callable returning an httpx async transport (tests only).
    `on_result(result)`: called as each transfer finishes (a widget's live table); its errors are
    logged, never allowed to break the batch.
    """
    from ..channel.jaicp import AsyncChatApiClient
    from ..channel.http import KEEPALIVE_EXPIRY_S, check_url, make_async_client
    import httpx

    if clients < 1:
        raise ValueError("clients must be ≥ 1")
    if concurrency < 1:
        raise ValueError("concurrency must be ≥ 1")
    if step_timeout <= 0:
        raise ValueError("step_timeout must be > 0")
    the_profile = resolve_profile(profile)
    url = check_url(the_profile.require("jaicp.chat_api_url", "a test transfer drives the bot through a Chat API "
                                        "inbound channel"), "[jaicp] chat_api_url")
    the_script = _as_script(script)
    masked, masked_events = mask_url(url), mask_url(url.rstrip("/") + "/events")
    run_id = uuid.uuid4().hex[:8]
    prefix = chat_prefix or f"jivo-ops-{run_id}"
    concurrency = min(concurrency, clients)
    sink = _open_sink(out) if out else None  # before anything needs closing: a bad path fails first

    per_client = max(1, requests_per_http_client)
    pool_size = max(1, math.ceil(concurrency / per_client))
    # Idle connections are dropped before a server's keep-alive timeout (uvicorn: 5 s) can close
    # them under a request in flight, which would surface as a spurious ReadError.
    limits = httpx.Limits(max_connections=per_client + 2, max_keepalive_connections=per_client + 2,
                          keepalive_expiry=KEEPALIVE_EXPIRY_S)
    http_timeout = httpx.Timeout(step_timeout + poll_window + 5.0, connect=min(step_timeout, 5.0))
    # One TLS context for the whole pool: building one per client costs ~60 ms of CPU each.
    tls = httpx.create_ssl_context() if url.startswith("https:") else False
    http_clients = [make_async_client(timeout=http_timeout,
                                      transport=transport_factory() if transport_factory
                                      else httpx.AsyncHTTPTransport(verify=tls, limits=limits))
                    for _ in range(pool_size)]
    apis = [AsyncChatApiClient(url, client=c, timeout=step_timeout) for c in http_clients]

    results: list[TransferResult | None] = [None] * clients
    semaphore = asyncio.Semaphore(concurrency)
    bar = _progress_bar(clients, the_script.name, progress)
    counts = {o: 0 for o in OUTCOMES}
    started = time.perf_counter()
    stopping = asyncio.Event()

    def finished(index: int, result: TransferResult) -> None:
        results[index] = result
        counts[result.outcome] += 1
        if sink is not None:
            sink.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
            sink.flush()
        if bar is not None:
            bar.update(1)
            bar.set_postfix({k: v for k, v in counts.items() if v}, refresh=False)
        if on_result is not None:
            try:
                on_result(result)
            except Exception:  # noqa: BLE001 - a viewer's bug must not end the batch
                import logging

                logging.getLogger("jivo_ops.transfer").exception("on_result callback failed")

    async def one(index: int) -> None:
        async with semaphore:
            if stopping.is_set():
                return
            conversation = _Conversation(apis[index % pool_size], the_script, chat=f"{prefix}-{index:05d}",
                                         transfer_id=f"{run_id}-{index:05d}", step_timeout=step_timeout,
                                         masked_url=masked, masked_events_url=masked_events,
                                         poll_window=poll_window)
            finished(index, await conversation.run())

    async def watch_stop(tasks: list[asyncio.Task]) -> None:
        while not stopping.is_set():
            if stop is not None and stop.is_set():
                stopping.set()
                break
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()

    tasks = [asyncio.ensure_future(one(i)) for i in range(clients)]
    watcher = asyncio.ensure_future(watch_stop(tasks))
    interrupted = False
    try:
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        except asyncio.CancelledError:
            # Ctrl-C / kernel interrupt / task.cancel(): stop cleanly, keep what finished.
            interrupted = True
            stopping.set()
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        interrupted = interrupted or stopping.is_set()
        stopping.set()
        await asyncio.gather(watcher, return_exceptions=True)
        for index, result in enumerate(results):
            if result is None:
                now = _now()
                finished(index, TransferResult(
                    transfer_id=f"{run_id}-{index:05d}", chat=f"{prefix}-{index:05d}", script=the_script.name,
                    outcome="error", started_at=now, error="not started: the batch was stopped", interrupted=True,
                    steps=(Step(ts=now, step="stop", author="SYSTEM", kind="event",
                                text="not started: the batch was stopped"),)))
    finally:
        watcher.cancel()
        if bar is not None:
            bar.close()
        if sink is not None:
            sink.close()
        await asyncio.gather(*(c.aclose() for c in http_clients), return_exceptions=True)
    return TransferBatch(results=[r for r in results if r is not None], script=the_script.name,
                         interrupted=interrupted, elapsed_s=time.perf_counter() - started)


def _open_sink(out: str | os.PathLike):
    path = Path(out).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("w", encoding="utf-8")
    except OSError as exc:
        raise JivoOpsError(f"{path}: cannot write the results file: {exc.strerror or exc}") from None


def _progress_bar(total: int, name: str, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"transfers ({name})", unit="chat", leave=True, mininterval=0.2)


class _EitherStop:
    """Set when the caller's stop flag or our own (set on Ctrl-C) is set."""

    def __init__(self, *flags: Any):
        self.flags = [f for f in flags if f is not None]

    def is_set(self) -> bool:
        return any(f.is_set() for f in self.flags)


def run_transfers(profile, *, clients: int = 1, concurrency: int = 10, stop: Any = None, **options) -> TransferBatch:
    """Synchronous `arun_transfers`: fine in a plain script and inside Jupyter's running loop.

    The batch runs on its own event loop in a worker thread; Ctrl-C / a kernel interrupt while it
    runs stops it cleanly and the finished results are returned (`batch.interrupted` is True).
    """
    own_stop = threading.Event()
    combined = _EitherStop(stop, own_stop)
    box: dict[str, Any] = {}

    finished = threading.Event()

    def work() -> None:
        try:
            box["value"] = asyncio.run(arun_transfers(profile, clients=clients, concurrency=concurrency,
                                                      stop=combined, **options))
        except BaseException as exc:  # handed to the caller's thread as is
            box["error"] = exc
        finally:
            finished.set()

    worker = threading.Thread(target=work, name="jivo-ops-transfers", daemon=True)
    worker.start()
    # Wait on an Event, not Thread.join: a join interrupted by Ctrl-C can leave the thread looking dead.
    while not finished.is_set():
        try:
            finished.wait(0.1)
        except KeyboardInterrupt:
            own_stop.set()
    if "error" in box:
        raise box["error"]
    return box["value"]


def run_transfer(profile, *, script=None, step_timeout: float = 10.0, **options) -> TransferResult:
    """One transfer, synchronously (no progress bar): the value to look at in a notebook."""
    options.setdefault("progress", False)
    return run_transfers(profile, clients=1, concurrency=1, script=script, step_timeout=step_timeout, **options)[0]
