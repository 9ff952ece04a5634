"""The conversation engine: one simulated client playing a script, with no I/O of its own.

Like h11 (a protocol state machine without sockets), a `Conversation` decides what to send next
and interprets what came back; whoever owns the I/O drives it::

    conversation = Conversation(script, chat="c-1", transfer_id="run-1", step_timeout=10, url=chat_api_url)
    while not isinstance(action := conversation.next_action(), Finished):
        try:
            value = perform(action)        # SendQuery / SendEvent / PollEvents: one Chat API call; Sleep: sleep
        except Exception as exc:           # TimeoutError when the call outlived `action.limit`
            conversation.fail(exc)
        else:
            conversation.receive(value)    # a BotResponse, an EventBatch, or None after a Sleep
    result = action.result                 # a TransferResult

`perform` is three calls of a Chat API client (`send_query`, `send_event`, `poll_events`, e.g.
`jivo_ops.channel.jaicp.ChatApiClient` or its async twin) or anything returning the same values.
Every script rule lives here: the switch detection, the ``noLivechatOperatorsOnline`` signs,
``closeChatPhrases``, a close by the operator, wait deadlines, the cleanup close after an
unanswered transfer, the outcome, the timeline notes (URLs masked). `runner` is the asyncio +
httpx driver; a Locust user would be a synchronous one. The engine reads time from its `Clock`
when the driver asks for an action (sent) and when it hands back the answer (received).
"""

from __future__ import annotations

import time
from collections.abc import Mapping  # isinstance() against typing.Mapping costs three times as much
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Generator, Iterable, Iterator, Sequence

from ..channel.jaicp import POLL_GRACE
from ..channel.switch import find_switch
from ..errors import JivoOpsError, ProtocolError, ServiceError
from ..redaction import mask_url, redact
from .checks import Check, Observed, evaluate_step, outcome_check, step_not_run
from .results import Step, TransferResult
from .script import DEFAULT_SWITCH_TEXT, Script, ScriptStep

__all__ = ["Conversation", "SendQuery", "SendEvent", "PollEvents", "Sleep", "Finished", "Action", "Clock",
           "SYSTEM_CLOCK", "POLL_WINDOW_S", "DEFAULT_CLOSE_PHRASE", "not_started_result"]

DEFAULT_CLOSE_PHRASE = "/closeChat"
NO_OPERATORS = "noLivechatOperatorsOnline"
LIVECHAT_FINISHED = "livechatFinished"
# Longest single /events long poll; a step's deadline cuts it shorter. Kept under the usual server hold
# (the sandbox's is 25 s) so a quiet poll ends on our side, not as a dropped connection.
POLL_WINDOW_S = 20.0
INTERRUPTED = "interrupted: the batch was stopped before this transfer finished"
NOT_STARTED = "not started: the batch was stopped"


# -- what the engine asks its driver to do -----------------------------------------------------


@dataclass(frozen=True)
class SendQuery:
    """Send a client message: ``send_query(client_id, text, data=data)`` → a BotResponse.
    `limit`: seconds the call may take; past them the driver reports ``fail(TimeoutError())``."""

    client_id: str
    text: str
    limit: float
    data: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class SendEvent:
    """Send a Chat API event: ``send_event(client_id, name, data)`` → a BotResponse."""

    client_id: str
    name: str
    data: Mapping[str, Any]
    limit: float


@dataclass(frozen=True)
class PollEvents:
    """One long poll: ``poll_events(client_id, ts=ts, timeout=timeout)`` → an EventBatch."""

    client_id: str
    ts: int | None
    timeout: float
    limit: float


@dataclass(frozen=True)
class Sleep:
    """Think time: sleep, then ``receive(None)``."""

    seconds: float


@dataclass(frozen=True)
class Finished:
    """The conversation is over; nothing more to do."""

    result: TransferResult


Action = SendQuery | SendEvent | PollEvents | Sleep | Finished


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Clock:
    """Where the engine reads time: wall-clock UTC for the timeline, a monotonic clock for deadlines
    and latencies (a test may pass its own)."""

    now: Callable[[], datetime] = _utc_now
    monotonic: Callable[[], float] = time.monotonic


SYSTEM_CLOCK = Clock()


def not_started_result(script: Script, *, chat: str, transfer_id: str, clock: Clock = SYSTEM_CLOCK) -> TransferResult:
    """The result of a transfer whose batch was stopped before it began."""
    now = clock.now()
    return TransferResult(transfer_id=transfer_id, chat=chat, script=script.name, outcome="error", started_at=now,
                          error=NOT_STARTED, interrupted=True,
                          steps=(Step(ts=now, step="stop", author="SYSTEM", kind="event", text=NOT_STARTED),))


# -- reading Chat API bodies -------------------------------------------------------------------


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


class _Ended(Exception):
    """Raised inside a conversation when its outcome is decided before the script ends."""

    def __init__(self, outcome: str, error: str | None = None):
        super().__init__(outcome)
        self.outcome, self.error = outcome, error


class _Interrupted(BaseException):
    """Thrown into the plan by `Conversation.interrupt()`; a BaseException like a task's cancellation,
    so only the places that mean to (the top, the best-effort cleanup) catch it."""


# The plan is a generator: it yields an action and gets the answer back (or has the failure thrown in).
Plan = Generator[Any, Any, Any]


class Conversation:
    """One simulated client playing a script; collects `Step`s and decides the outcome.

    Drive it with `next_action()` and `receive(value)` / `fail(exc)` (see the module docstring);
    `interrupt()` ends it at once as stopped. `url` is the Chat API URL (only its masked form is kept)."""

    def __init__(self, script: Script, *, chat: str, transfer_id: str, step_timeout: float, url: str,
                 poll_window: float = POLL_WINDOW_S, clock: Clock = SYSTEM_CLOCK):
        self.script, self.chat, self.transfer_id = script, chat, transfer_id
        self.step_timeout, self.poll_window, self.clock = step_timeout, poll_window, clock
        self.url, self.events_url = mask_url(url), mask_url(url.rstrip("/") + "/events")
        self.steps: list[Step] = []
        self.started_at = clock.now()
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
        self.current: ScriptStep | None = None  # the script step being played
        self.checks: list[Check] = []
        self._seen: Observed | None = None  # what the current step has seen so far (for its `expect`)
        self._evaluated = 0  # script steps whose checks are in `self.checks`
        self._client_said = clock.monotonic()  # when the client's last message was sent
        self._plan = self._play()
        self._action: Action | None = None  # what the driver is to do now (None: not started)
        self._handed = False
        self._sent_at = self.started_at
        self._sent = self._received = clock.monotonic()

    # -- the driver's side ------------------------------------------------------------------
    def next_action(self) -> Action:
        """What to do now; the same action until `receive` or `fail` answers it."""
        if self._action is None:
            self._resume(self._plan.send, None)
        if not self._handed:
            self._handed = True
            self._sent_at, self._sent = self.clock.now(), self.clock.monotonic()
        return self._action

    def receive(self, value: Any = None) -> None:
        """What the last action brought back: a BotResponse (SendQuery/SendEvent), an EventBatch
        (PollEvents), None (Sleep)."""
        self._answered()
        self._resume(self._plan.send, value)

    def fail(self, error: BaseException) -> None:
        """The last action failed: a ServiceError/ProtocolError from the client, TimeoutError past
        `action.limit`, anything else (recorded as an unexpected error)."""
        self._answered()
        self._resume(self._plan.throw, error)

    def interrupt(self) -> TransferResult:
        """The batch is being stopped: end now (as interrupted, unless only the cleanup was left)."""
        self.next_action()
        while not isinstance(self._action, Finished):
            self._resume(self._plan.throw, _Interrupted())
        return self._action.result

    def _answered(self) -> None:
        if not self._handed or isinstance(self._action, Finished):
            raise RuntimeError("receive()/fail() answer the action next_action() returned; "
                               + ("the conversation has finished" if self._handed else "ask for one first"))
        self._received = self.clock.monotonic()

    def _resume(self, resume: Callable[[Any], Any], value: Any) -> None:
        try:
            self._action = resume(value)
        except StopIteration as done:
            self._action = Finished(done.value)
        self._handed = False

    # -- recording ------------------------------------------------------------------------
    def note(self, step: str, author: str, kind: str, text: str | None = None, *, latency: float | None = None,
             http: Mapping[str, Any] | None = None, ts: datetime | None = None) -> Step:
        record = Step(ts=ts or self.clock.now(), step=step, author=author, kind=kind, text=text, latency_s=latency,
                      http=http)
        self.steps.append(record)
        return record

    def result(self) -> TransferResult:
        return TransferResult(
            transfer_id=self.transfer_id, chat=self.chat, script=self.script.name, outcome=self.outcome or "error",
            started_at=self.started_at, switched_at=self.switched_at, first_operator_at=self.first_operator_at,
            closed_at=self.closed_at, closed_by=self.closed_by, operator=self.operator, error=self.error,
            steps=tuple(self.steps), interrupted=self.interrupted,
            checks=tuple(self.checks + outcome_check(self.script.expected_outcome, self.outcome or "error")))

    def _settle_checks(self) -> None:
        """Evaluate the step just played; after the end, skip the checks of steps never reached."""
        if self._seen is not None:
            self.checks += evaluate_step(self.script.steps[self._seen.number - 1].expect, self._seen)
            self._evaluated, self._seen = self._seen.number, None
        if self.outcome is not None:
            why = f"not run: the transfer ended earlier ({self.outcome})"
            for number, step in enumerate(self.script.steps[self._evaluated:], self._evaluated + 1):
                self.checks += step_not_run(step.expect, number, step.action, why)
            self._evaluated = len(self.script.steps)

    # -- one exchange with evidence ---------------------------------------------------------
    def _exchange(self, step: str, action: Action, method: str, url: str, request: Mapping[str, Any], *,
                  on_timeout: str = "error") -> Plan:
        """Hand `action` to the driver; on failure record the exchange and end the transfer."""
        try:
            value = yield action
        except TimeoutError:
            message = f"{step}: no answer from {url} within {action.limit:g} s"
            self._failed(step, message, method, url, request)
            raise _Ended(on_timeout, message) from None
        except ServiceError as exc:
            message = f"{step}: {exc}"
            self._failed(step, message, method, url, request, status=exc.status, response=exc.reason or None)
            raise _Ended("error", message) from None
        except (ProtocolError, JivoOpsError, ValueError) as exc:
            message = f"{step}: {_describe_exc(exc)}"
            self._failed(step, message, method, url, request)
            raise _Ended("error", message) from None
        self._observe(value)
        return value, self._received - self._sent

    def _failed(self, step: str, message: str, method: str, url: str, request: Mapping[str, Any], *,
                status: int | None = None, response: Any = None) -> None:
        self.note(step, "SYSTEM", "error", message, latency=self._received - self._sent,
                  http={"method": method, "url": url, "status": status, "request": dict(request),
                        "response": response})

    def _observe(self, value: Any) -> None:
        """Every reply of every step passes here, with `self.current` the step that asked for it:
        the place for per-step `expect` checks."""

    def _query(self, step: str, text: str) -> Plan:
        request = {"clientId": self.chat, "query": text}
        response, latency = yield from self._exchange(
            step, SendQuery(self.chat, text, limit=self.step_timeout), "POST", self.url, request)
        self._client_said = self._sent
        self.note(step, "CLIENT", "text", text, latency=latency, ts=self._sent_at,
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
        if author == "BOT" and self._seen is not None:
            self._seen.replies += kept
        return kept

    def _take_switch(self, step: str, replies: Sequence[Mapping[str, Any]], at: datetime) -> bool:
        """Whether the replies hold a switch; its close phrases are read the way SwitchReply reads
        them, and each field it had to read leniently becomes a SYSTEM note on the timeline."""
        switch = find_switch(replies)
        if switch is None:
            return False
        self.switched_at = self.switched_at or at
        if self._seen is not None and self._seen.switch is None:
            self._seen.switch = next(r for r in replies if r.get("type") == "switch")
            self._seen.switch_batch, self._seen.switch_s = list(replies), self._received - self._sent
        if switch.close_chat_phrases:  # a switch without phrases leaves those known so far
            self.close_phrases = [p for p in switch.close_chat_phrases if p]
        for warning in switch.warnings:
            self.note(step, "SYSTEM", "event", f"switch reply: {warning}", ts=at)
        self.in_live_chat = True
        return True

    # -- steps ----------------------------------------------------------------------------
    def _play(self) -> Plan:
        try:
            for number, step in enumerate(self.script.steps, 1):
                self.current, self._seen = step, Observed(number, step.action)
                yield from getattr(self, f"_do_{step.action}")(step)
                self._settle_checks()
            self._finish()
        except _Ended as ended:
            self.outcome, self.error = ended.outcome, ended.error
            if ended.outcome == "unanswered" and self.in_live_chat:
                yield from self._cleanup()
        except _Interrupted:
            self.interrupted = True
            self.outcome = "error"
            self.error = INTERRUPTED
            self.note("stop", "SYSTEM", "event", self.error)
        except Exception as exc:  # a bug or an unexpected body: the evidence, never a lost batch
            self.outcome, self.error = "error", f"unexpected {_describe_exc(exc)}"
            self.note("error", "SYSTEM", "error", self.error)
        self._settle_checks()
        return self.result()

    def _finish(self) -> None:
        if self.switched_at is None:
            self.outcome = "no_switch" if self.script.has_switch else "answered" if self.first_operator_at else "no_switch"
        elif self.first_operator_at is not None:
            self.outcome = "answered"
        else:
            self.outcome = "unanswered"
            self.error = self.error or "the script ended before an operator answered"

    def _do_pause(self, step: ScriptStep) -> Plan:
        limit = step.timeout or self.step_timeout
        if step.seconds > limit:  # 1e308 or Infinity would hold the transfer (and the batch) for ever
            raise _Ended("error", f"pause of {step.seconds:g} s is longer than the step timeout ({limit:g} s)")
        if step.seconds:
            yield Sleep(step.seconds)

    def _do_say(self, step: ScriptStep) -> Plan:
        response = yield from self._query("say", step.text or "")
        replies = self._record_replies("say", response.replies, "BOT")
        if self._take_switch("say", replies, self.steps[-1].ts if replies else self.clock.now()):
            self._check_no_operators(response.raw, "say")

    def _do_event(self, step: ScriptStep) -> Plan:
        data = dict(step.data or {})
        request = {"clientId": self.chat, "event": step.name, "data": data}
        response, latency = yield from self._exchange(
            "event", SendEvent(self.chat, step.name, data, limit=self.step_timeout), "POST", self.url, request)
        self.note("event", "CLIENT", "event", step.name, latency=latency, ts=self._sent_at,
                  http={"method": "POST", "url": self.url, "status": 200, "request": request, "response": response.raw})
        self._record_replies("event", response.replies, "BOT")

    def _do_switch(self, step: ScriptStep) -> Plan:
        response = yield from self._query("switch", step.text or DEFAULT_SWITCH_TEXT)
        received = self.clock.now()
        replies = self._record_replies("switch", response.replies, "BOT", ts=received)
        if not self._take_switch("switch", replies, received):
            self.note("switch", "SYSTEM", "event", "the bot answered without a switch reply")
            raise _Ended("no_switch", "the bot did not switch to an operator (no `switch` reply)")
        self._check_no_operators(response.raw, "switch")
        if _livechat_refused(response.raw):
            yield from self._refused("switch")

    def _refused(self, step: str) -> Plan:
        """The bot switched but says no live chat opened: no operators (told on /events), or no channel."""
        try:
            batch, latency = yield from self._poll(step, self.clock.monotonic() + POLL_GRACE + 0.3, on_timeout="error")
        except TimeoutError:
            batch, latency = None, None
        received = self.clock.now()
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

    def _poll(self, step: str, deadline: float, on_timeout: str) -> Plan:
        """One long-poll window on /events, bounded by `deadline` (monotonic); returns the EventBatch.
        TimeoutError when the deadline has already passed."""
        remaining = deadline - self.clock.monotonic()
        if remaining <= 0:
            raise TimeoutError
        # The client waits `window` plus the Chat API client's grace: keep the sum within the deadline.
        window = max(0.05, min(self.poll_window, remaining - POLL_GRACE))
        request = {"clientId": self.chat, "ts": self.cursor}
        batch, latency = yield from self._exchange(
            step, PollEvents(self.chat, self.cursor, window, limit=window + 2.0), "GET", self.events_url, request,
            on_timeout=on_timeout)
        if batch.last_ts is not None:
            self.cursor = batch.last_ts
        return batch, latency

    def _classify_event(self, step: str, event, received: datetime, latency: float | None) -> str:
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
            if self._seen is not None:
                self._seen.operator_texts.append(_reply_text(reply) or "")
                if self._seen.operator_s is None:
                    self._seen.operator_s = self._received - self._client_said
        return "operator"

    def _operator_closed(self, at: datetime) -> None:
        self.in_live_chat = False
        self.closed_at, self.closed_by = at, "operator"

    def _do_wait_operator(self, step: ScriptStep) -> Plan:
        if not self.in_live_chat:
            if self.closed_by == "operator":
                return
            self.note("wait_operator", "SYSTEM", "event", "skipped: no live chat is open")
            return
        limit = step.timeout or self.step_timeout
        deadline = self.clock.monotonic() + limit
        while True:
            try:
                batch, latency = yield from self._poll("wait_operator", deadline, on_timeout="unanswered")
            except TimeoutError:
                message = f"no operator message within {limit:g} s"
                self.note("wait_operator", "SYSTEM", "event", message)
                raise _Ended("unanswered", message) from None
            received = self.clock.now()
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

    def _do_close(self, step: ScriptStep) -> Plan:
        if self.closed_by == "operator":
            self.note("close", "SYSTEM", "event", "skipped: the operator already closed the chat")
            return
        if not self.in_live_chat:
            self.note("close", "SYSTEM", "event", "skipped: no live chat is open")
            return
        if not step.text and not self.close_phrases:
            # Any phrase would only reach the operator: such a chat ends on the operator's side.
            self.note("close", "SYSTEM", "event", "skipped: the switch reply has no closeChatPhrases, so the client "
                                                  "cannot close the chat")
            return
        phrase = step.text or (self.close_phrases[0] if self.close_phrases else DEFAULT_CLOSE_PHRASE)
        response = yield from self._query("close", phrase)
        received = self.clock.now()
        replies = self._record_replies("close", response.replies, "BOT", ts=received)
        if _signals(response.raw, FINISHED_SIGNS):
            self.in_live_chat = False
            self.closed_at, self.closed_by = received, "client"
            return
        if replies:
            # The bot answered, but not as the end of a live chat: the operator may have closed it
            # just before (that close is then waiting on /events). A short look decides who closed.
            self.in_live_chat = False
            if not (yield from self._operator_closed_meanwhile("close")):
                self.closed_at, self.closed_by = received, "client"
            return
        # The bot may answer asynchronously: its reply then arrives on /events.
        deadline = self.clock.monotonic() + (step.timeout or self.step_timeout)
        while True:
            try:
                batch, latency = yield from self._poll("close", deadline, on_timeout="error")
            except TimeoutError:
                raise _Ended("error", f"the bot did not come back within {step.timeout or self.step_timeout:g} s "
                                      f"after the close phrase {phrase!r}") from None
            received = self.clock.now()
            for event in batch.events:
                kind = self._classify_event("close", event, received, latency)
                if kind in ("finished", "other") or (kind == "operator" and not self.in_live_chat):
                    self.in_live_chat = False
                    self.closed_at, self.closed_by = received, "client"
                    return

    def _operator_closed_meanwhile(self, step: str) -> Plan:
        try:
            batch, latency = yield from self._poll(step, self.clock.monotonic() + POLL_GRACE + 0.3, on_timeout="error")
        except (TimeoutError, _Ended):
            return False
        received = self.clock.now()
        for event in batch.events:
            if self._classify_event(step, event, received, latency) == "finished":
                self._operator_closed(received)
                return True
        return False

    def _cleanup(self) -> Plan:
        """Best effort: leave no live chat open behind an unanswered transfer (no evidence kept)."""
        phrase = self.close_phrases[0] if self.close_phrases else DEFAULT_CLOSE_PHRASE
        try:
            yield SendQuery(self.chat, phrase, limit=min(self.step_timeout, 5.0))
            self.note("cleanup", "CLIENT", "text", phrase)
        except (Exception, _Interrupted):  # best effort only, even while the batch is being stopped
            pass

    def __repr__(self) -> str:
        state = self._action.result.outcome if isinstance(self._action, Finished) else "playing"
        return f"Conversation({self.chat!r}, script={self.script.name!r}, {state}, url={self.url!r})"
