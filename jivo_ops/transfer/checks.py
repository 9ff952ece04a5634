"""Expectations of a transfer script and their evaluation: the one place every check lives.

A step's ``expect`` table names checks (`STEP_CHECKS` says which apply to which action); the
script's ``outcome`` is one more. Each evaluated expectation is a `Check`: ``passed`` / ``failed``
/ ``skipped`` with what was expected and what came back, for the step it belongs to.

Bot answers (``say``, ``switch``, ``close``, ``event``)
    ``text`` (exact, one of the text replies), ``text_contains``, ``text_matches`` (a regular
    expression, searched), ``state`` (the state of the last text reply; on a ``switch`` step the
    text reply that came with the switch; a trailing ``*`` matches a prefix), ``no_reply`` (true:
    the bot stays silent), ``replies`` (how many replies, of any type).
``switch``
    ``switch`` — a subset of the switch reply's JSON (objects by subset, lists exactly);
    ``within`` — seconds from the client's message to the switch.
``wait_operator``
    ``within`` — seconds from the client's last message to the operator's message; ``text_matches``;
    ``operator_received`` — ``first_message_contains``, ``history_min``, ``sender`` (a subset), read
    from `TransferResult.operator_side`; without that view (human operators) they are skipped.

`Observed` is what the engine saw during one step; `evaluate_step` turns it into checks;
`settle_operator_checks` evaluates the ``operator_received`` ones once the operator side is known.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..errors import ScriptError

if TYPE_CHECKING:
    from .results import TransferResult

__all__ = ["Check", "CHECK_STATUSES", "STEP_CHECKS", "OPERATOR_RECEIVED_KEYS", "NO_OPERATOR_SIDE", "Observed",
           "parse_expect", "evaluate_step", "step_not_run", "outcome_check", "evaluate_operator_received",
           "settle_operator_checks", "subset_mismatch"]

CHECK_STATUSES = ("passed", "failed", "skipped")
_BOT_ANSWER = ("text", "text_contains", "text_matches", "state", "no_reply", "replies")
STEP_CHECKS: dict[str, tuple[str, ...]] = {
    "say": _BOT_ANSWER,
    "switch": _BOT_ANSWER + ("switch", "within"),
    "close": _BOT_ANSWER,
    "event": _BOT_ANSWER,
    "wait_operator": ("within", "text_matches", "operator_received"),
    "pause": (),
}
OPERATOR_RECEIVED_KEYS = ("first_message_contains", "history_min", "sender")
NO_OPERATOR_SIDE = "no operator-side view (human operators)"
OPERATOR_RECEIVED = "operator_received"


@dataclass(frozen=True)
class Check:
    """One evaluated expectation; `step` is the script step's number (0: the whole script)."""

    step: int
    action: str
    check: str
    status: str
    expected: Any = None
    got: Any = None
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "action": self.action, "check": self.check, "status": self.status,
                "expected": self.expected, "got": self.got, "message": self.message}

    @classmethod
    def from_json(cls, data: Any) -> "Check":
        if not isinstance(data, Mapping) or not {"step", "action", "check", "status"} <= set(data):
            raise ValueError("a check must be an object with step, action, check and status")
        if data["status"] not in CHECK_STATUSES:
            raise ValueError(f"unknown check status {data['status']!r}; expected one of {CHECK_STATUSES}")
        return cls(step=int(data["step"]), action=str(data["action"]), check=str(data["check"]),
                   status=data["status"], expected=data.get("expected"), got=data.get("got"),
                   message=str(data.get("message") or ""))

    @property
    def where(self) -> str:
        return "script" if self.step == 0 else f"step {self.step} ({self.action})"

    def __str__(self) -> str:
        return f"{self.status.upper():<7} {self.where} {self.check}: {self.message}"


# -- parsing ---------------------------------------------------------------------------------


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_value(name: str, value: Any) -> str | None:
    """Why `value` is no good for check `name` (None: fine)."""
    if name in ("text", "text_contains", "state"):
        return None if isinstance(value, str) and value else "must be a non-empty string"
    if name == "text_matches":
        if not isinstance(value, str) or not value:
            return "must be a regular expression (a string)"
        try:
            re.compile(value)
        except re.error as exc:
            return f"is not a regular expression: {exc}"
        return None
    if name == "no_reply":
        return None if isinstance(value, bool) else "must be true or false"
    if name == "replies":
        return None if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else \
            "must be a whole number ≥ 0"
    if name == "within":
        return None if _number(value) and value > 0 else "must be a positive number of seconds"
    if name == "switch":
        return None if isinstance(value, Mapping) and value else "must be a table/object of switch reply fields"
    if name == OPERATOR_RECEIVED:
        if not isinstance(value, Mapping) or not value:
            return f"must be a table/object with any of {', '.join(OPERATOR_RECEIVED_KEYS)}"
        unknown = sorted(set(value) - set(OPERATOR_RECEIVED_KEYS))
        if unknown:
            return f"unknown key(s) {unknown}; allowed: {list(OPERATOR_RECEIVED_KEYS)}"
        if "first_message_contains" in value and not (isinstance(value["first_message_contains"], str)
                                                      and value["first_message_contains"]):
            return ".first_message_contains must be a non-empty string"
        minimum = value.get("history_min", 0)
        if not isinstance(minimum, int) or isinstance(minimum, bool) or minimum < 0:
            return ".history_min must be a whole number ≥ 0"
        if "sender" in value and not (isinstance(value["sender"], Mapping) and value["sender"]):
            return ".sender must be a table/object of sender fields"
        return None
    return "is not a check"


def parse_expect(raw: Any, action: str, where: str) -> dict[str, Any] | None:
    """A step's ``expect`` table, validated for its action; ScriptError names the step and key."""
    if raw is None:
        return None
    allowed = STEP_CHECKS[action]
    if not isinstance(raw, Mapping):
        raise ScriptError(f"{where} ({action}): 'expect' must be a table/object of checks"
                          + (f" ({', '.join(allowed)})" if allowed else ""))
    for name, value in raw.items():
        if name not in allowed:
            raise ScriptError(f"{where} ({action}): expect.{name} is not a check of a {action} step; "
                              + (f"allowed: {', '.join(allowed)}" if allowed else "it takes no checks"))
        problem = _check_value(name, value)
        if problem:
            raise ScriptError(f"{where} ({action}): expect.{name} {problem}")
    return dict(raw)


# -- what one step saw ---------------------------------------------------------------------------


@dataclass
class Observed:
    """What came back during one script step (the engine fills it as replies arrive)."""

    number: int
    action: str
    replies: list[Mapping[str, Any]] = field(default_factory=list)  # the bot's replies, every type
    switch: Mapping[str, Any] | None = None        # the switch reply as on the wire
    switch_batch: list[Mapping[str, Any]] = field(default_factory=list)  # the replies that came with it
    switch_s: float | None = None                  # client message → switch, seconds
    operator_texts: list[str] = field(default_factory=list)
    operator_s: float | None = None                # client's last message → operator's message, seconds


def _texts(replies: Sequence[Mapping[str, Any]]) -> list[str]:
    return [r["text"] for r in replies if r.get("type", "text") == "text" and isinstance(r.get("text"), str)]


def _state_matches(expected: str, got: Any) -> bool:
    if not isinstance(got, str):
        return False
    return got.startswith(expected[:-1]) if expected.endswith("*") else got == expected


def subset_mismatch(expected: Any, got: Any, path: str = "") -> str | None:
    """Where `got` differs from `expected` (objects by subset, lists and scalars exactly), or None."""
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping):
            return f"{path or 'the value'} is not an object"
        for key, value in expected.items():
            name = f"{path}.{key}" if path else str(key)
            if key not in got:
                return f"{name} is missing"
            problem = subset_mismatch(value, got[key], name)
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        return None if isinstance(got, list) and list(got) == expected else f"{path} is {got!r}, not {expected!r}"
    same_kind = type(got) is type(expected) or (_number(got) and _number(expected))  # True is not 1 here
    return None if same_kind and got == expected else f"{path} is {got!r}, not {expected!r}"


def _bot_check(name: str, expected: Any, seen: Observed) -> tuple[bool, Any, str]:
    """(passed, got, message) of one bot-answer check."""
    texts = _texts(seen.replies)
    if name == "text":
        return expected in texts, texts, f"a text reply {expected!r}; the bot said {texts!r}"
    if name == "text_contains":
        return any(expected in t for t in texts), texts, f"a text reply containing {expected!r}; the bot said {texts!r}"
    if name == "text_matches":
        return (any(re.search(expected, t) for t in texts), texts,
                f"a text reply matching /{expected}/; the bot said {texts!r}")
    if name == "state":
        pool = _texts_with_state(seen.switch_batch if seen.switch is not None else seen.replies)
        got = pool[-1].get("state") if pool else None
        return _state_matches(expected, got), got, f"the reply's state {expected!r}; it was {got!r}"
    if name == "no_reply":
        silent = not seen.replies
        return silent == expected, len(seen.replies), ("no reply" if expected else "a reply") + \
            f"; the bot sent {len(seen.replies)}"
    if name == "replies":
        return len(seen.replies) == expected, len(seen.replies), f"{expected} replies; the bot sent {len(seen.replies)}"
    if name == "switch":
        if seen.switch is None:
            return False, None, "a switch reply; the bot sent none"
        problem = subset_mismatch(expected, seen.switch)
        return problem is None, dict(seen.switch), f"the switch reply to hold {expected}" + (
            f"; {problem}" if problem else "")
    raise AssertionError(name)


def _texts_with_state(replies: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in replies if r.get("type", "text") == "text"]


def _within(expected: float, got: float | None, what: str) -> tuple[bool, Any, str]:
    if got is None:
        return False, None, f"{what} within {expected:g} s; it never came"
    return got <= expected, round(got, 3), f"{what} within {expected:g} s; it took {got:.3f} s"


def _make(seen: Observed, name: str, passed: bool, expected: Any, got: Any, message: str) -> Check:
    return Check(seen.number, seen.action, name, "passed" if passed else "failed", expected, got,
                 ("ok: " if passed else "expected ") + message)


def evaluate_step(expect: Mapping[str, Any] | None, seen: Observed) -> list[Check]:
    """The checks of one step that ran; ``operator_received`` ones wait for `settle_operator_checks`."""
    out: list[Check] = []
    for name, expected in (expect or {}).items():
        if name == OPERATOR_RECEIVED:
            out += [Check(seen.number, seen.action, f"{OPERATOR_RECEIVED}.{key}", "skipped", value, None,
                          NO_OPERATOR_SIDE) for key, value in expected.items()]
            continue
        if seen.action == "wait_operator":
            if name == "within":
                passed, got, message = _within(expected, seen.operator_s, "the operator's message")
            else:  # text_matches
                texts = seen.operator_texts
                passed, got, message = (any(re.search(expected, t) for t in texts), texts,
                                        f"an operator message matching /{expected}/; the operator said {texts!r}")
        elif name == "within":
            passed, got, message = _within(expected, seen.switch_s, "the switch")
        else:
            passed, got, message = _bot_check(name, expected, seen)
        out.append(_make(seen, name, passed, expected, got, message))
    return out


def step_not_run(expect: Mapping[str, Any] | None, number: int, action: str, why: str) -> list[Check]:
    """The checks of a step the transfer never reached: skipped, with the reason."""
    out = []
    for name, expected in (expect or {}).items():
        pairs = ([(f"{OPERATOR_RECEIVED}.{k}", v) for k, v in expected.items()] if name == OPERATOR_RECEIVED
                 else [(name, expected)])
        out += [Check(number, action, n, "skipped", v, None, why) for n, v in pairs]
    return out


def outcome_check(expected: str | None, got: str) -> list[Check]:
    """The script-level outcome check (none when the script expects no outcome)."""
    if expected is None:
        return []
    passed = got == expected
    return [Check(0, "script", "outcome", "passed" if passed else "failed", expected, got,
                  ("ok: " if passed else "expected ") + f"the outcome {expected}; it was {got}")]


# -- what the operator was given ----------------------------------------------------------------


def _history_count(side: Mapping[str, Any]) -> int:
    """Earlier messages the operator was given: the history blocks of `firstMessage` (blank-line separated,
    as $jsapi.chatHistory() writes them; a single block is the phrase itself, no history) plus the
    messages sent with sendMessagesToOperator (``type: history``)."""
    first = side.get("first_message") or ""
    blocks = [b for b in re.split(r"\n\s*\n", first) if b.strip()] if isinstance(first, str) else []
    in_first = len(blocks) if len(blocks) > 1 else 0
    sent = sum(1 for m in side.get("messages") or () if isinstance(m, Mapping) and m.get("type") == "history")
    return in_first + sent


def evaluate_operator_received(key: str, expected: Any, side: Mapping[str, Any]) -> tuple[bool, Any, str]:
    """(passed, got, message) of one ``operator_received`` check against the operator-side view."""
    if key == "first_message_contains":
        got = side.get("first_message")
        return (isinstance(got, str) and expected in got, got,
                f"the operator's first message to contain {expected!r}; it was {got!r}")
    if key == "history_min":
        got = _history_count(side)
        return got >= expected, got, f"at least {expected} earlier message(s) given to the operator; got {got}"
    if key == "sender":
        got = side.get("sender")
        problem = subset_mismatch(expected, got, "sender")
        return problem is None, got, f"the sender to hold {expected}" + (f"; {problem}" if problem else "")
    raise ValueError(f"unknown operator_received check {key!r}")


def settle_operator_checks(result: "TransferResult") -> "TransferResult":
    """`result` with its ``operator_received`` checks evaluated against `result.operator_side`
    (left skipped when there is none: human operators, nobody sees Jivo's side), and its outcome check
    against the final outcome (the Jivo side's view can turn `unanswered` into `error`)."""
    side = result.operator_side
    prefix = f"{OPERATOR_RECEIVED}."
    checks = []
    for c in result.checks:
        if c.check == "outcome" and c.got != result.outcome:
            c = dataclasses.replace(outcome_check(c.expected, result.outcome)[0], step=c.step, action=c.action)
        elif (side is not None and c.check.startswith(prefix) and c.status == "skipped"
              and c.message == NO_OPERATOR_SIDE):
            passed, got, message = evaluate_operator_received(c.check[len(prefix):], c.expected, side)
            c = dataclasses.replace(c, status="passed" if passed else "failed", got=got,
                                    message=("ok: " if passed else "expected ") + message)
        checks.append(c)
    if checks == list(result.checks):
        return result
    return dataclasses.replace(result, checks=tuple(checks))
