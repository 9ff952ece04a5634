"""Transfer scripts: what a simulated client does, as plain data.

A script is a list of steps; one dict per step (``{"action": "say", "text": "hi"}`` or the short
``{"say": "hi"}``); a script file is JSON ``{"name": …, "steps": [...]}`` / a bare JSON list, or
TOML with ``name = …`` and ``[[steps]]`` tables. The step vocabulary (`ACTIONS`):

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

Any step may carry ``expect``, a table of checks on what came back for that step; a script may name
its expected ``outcome`` (default ``answered`` when it has a ``switch`` step, none otherwise) and
``clients``, how many to run by default. The checks themselves are `checks`' business.

What each step means on the wire is `conversation.Conversation`'s business; this module only
parses and validates.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import ScriptError
from .checks import parse_expect
from .jaicp_xml import read_jaicp_xml
from .results import OUTCOMES
from ..files import MAX_SMALL_INPUT_BYTES, loads_json, loads_toml, read_input, shown_name

__all__ = ["ACTIONS", "DEFAULT_SWITCH_TEXT", "ScriptStep", "Script", "DEFAULT_SCRIPT", "load_script", "load_scripts",
           "as_script", "ScriptError"]

ACTIONS = ("say", "switch", "wait_operator", "close", "event", "pause")
DEFAULT_SWITCH_TEXT = "Позовите оператора"


@dataclass(frozen=True)
class ScriptStep:
    """One step of a script: an action from the vocabulary and its arguments."""

    action: str
    text: str | None = None
    timeout: float | None = None
    seconds: float = 0.0
    name: str | None = None
    data: Mapping[str, Any] | None = None
    expect: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action}
        for key in ("text", "timeout", "name", "data", "expect"):
            value = getattr(self, key)
            if value is not None:
                out[key] = dict(value) if key in ("data", "expect") else value
        if self.action == "pause":
            out["seconds"] = self.seconds
        return out


@dataclass(frozen=True)
class Script:
    """A named list of steps; build one with `Script.from_json` or `load_script`."""

    name: str
    steps: tuple[ScriptStep, ...]
    outcome: str | None = None   # the expected outcome as written; see `expected_outcome`
    clients: int | None = None   # how many clients to run by default
    # Sandbox settings this script needs (e.g. {"online": False}); applied only when it runs on a sandbox.
    sandbox: Mapping[str, Any] | None = None

    @classmethod
    def from_json(cls, data: Any, *, source: str = "script", default_name: str = "custom") -> "Script":
        outcome = clients = sandbox = None
        if isinstance(data, Mapping):
            unknown = set(data) - {"name", "steps", "description", "outcome", "clients", "sandbox"}
            if unknown:
                raise ScriptError(f"{source}: unknown key(s) {sorted(unknown)}; a script has 'name', 'steps', "
                                  f"'outcome', 'clients' and 'sandbox'")
            sandbox = data.get("sandbox")
            if sandbox is not None and not isinstance(sandbox, Mapping):
                raise ScriptError(f"{source}: 'sandbox' must be a table/object of sandbox settings")
            name = data.get("name", default_name)
            if not isinstance(name, str) or not name:
                raise ScriptError(f"{source}: 'name' must be a non-empty string")
            outcome, clients = _script_outcome(data.get("outcome"), source), _script_clients(data.get("clients"), source)
            raw_steps = data.get("steps")
        else:
            name, raw_steps = default_name, data
        if not isinstance(raw_steps, list) or not raw_steps:
            raise ScriptError(f"{source}: 'steps' must be a non-empty list of steps "
                              f"(actions: {', '.join(ACTIONS)})")
        return cls(name=name, steps=tuple(_parse_step(s, source, i) for i, s in enumerate(raw_steps, 1)),
                   outcome=outcome, clients=clients, sandbox=dict(sandbox) if sandbox else None)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "steps": [s.to_json() for s in self.steps]}
        if self.outcome is not None:
            out["outcome"] = self.outcome
        if self.clients is not None:
            out["clients"] = self.clients
        if self.sandbox:
            out["sandbox"] = dict(self.sandbox)
        return out

    @property
    def has_switch(self) -> bool:
        return any(s.action == "switch" for s in self.steps)

    @property
    def expected_outcome(self) -> str | None:
        """The outcome the script checks: its own, else ``answered`` when it asks for an operator."""
        return self.outcome or ("answered" if self.has_switch else None)


def _script_outcome(value: Any, source: str) -> str | None:
    if value is not None and value not in OUTCOMES:
        raise ScriptError(f"{source}: 'outcome' must be one of {', '.join(OUTCOMES)}, not {value!r}")
    return value


def _script_clients(value: Any, source: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ScriptError(f"{source}: 'clients' must be a whole number ≥ 1, not {value!r}")
    return value


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
               "event": {"name", "data"}, "pause": {"seconds"}}[action] | {"timeout", "expect"}
    extra = set(raw) - allowed
    if extra:
        raise ScriptError(f"{where} ({action}): unknown key(s) {sorted(extra)}; allowed: {sorted(allowed)}")
    expect = parse_expect(raw.get("expect"), action, where)
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
                      seconds=float(seconds), name=name, data=data, expect=expect)


DEFAULT_SCRIPT = Script(name="default", steps=(
    ScriptStep("say", text="Здравствуйте"),
    ScriptStep("switch", text=DEFAULT_SWITCH_TEXT),
    ScriptStep("wait_operator"),
    ScriptStep("close"),
))


def load_scripts(path: str | os.PathLike, *, switch_state: str | None = None) -> list[Script]:
    """Every script in a file: one from JSON/TOML, one per ``<test-case>`` from a JAICP XML test
    (`jaicp_xml`; `switch_state` names the state whose step is the switch)."""
    p = Path(path).expanduser()
    name = shown_name(p)
    if not os.path.lexists(p):
        raise ScriptError(f"{name}: script file not found")
    raw = read_input(p, limit=MAX_SMALL_INPUT_BYTES, error=ScriptError)
    if p.suffix.lower() == ".xml":
        return [Script.from_json(data, source=str(p)) for data in read_jaicp_xml(p, raw, switch_state=switch_state)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScriptError(f"{name}: not UTF-8 text; save the script as UTF-8") from None
    try:
        if p.suffix.lower() == ".toml":
            data: Any = loads_toml(text)
        else:
            data = loads_json(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScriptError(f"{name}: broken TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ScriptError(f"{name}: broken JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:  # nesting too deep, an integer too long
        raise ScriptError(f"{name}: broken JSON: {exc}") from None
    return [Script.from_json(data, source=str(p), default_name=_stem(p))]


def _stem(p: Path) -> str:
    """A script file's name without its extensions (``happy.transfer.toml`` → ``happy``)."""
    return p.name.split(".", 1)[0] or p.stem


def load_script(path: str | os.PathLike, *, switch_state: str | None = None) -> Script:
    """Read a script from a JSON, TOML or JAICP XML file (chosen by the extension; JSON otherwise).
    An XML file must then hold one ``<test-case>``; `load_scripts` reads them all."""
    scripts = load_scripts(path, switch_state=switch_state)
    if len(scripts) != 1:
        raise ScriptError(f"{Path(path).expanduser()}: {len(scripts)} test-cases "
                          f"({', '.join(s.name for s in scripts)}); read them with load_scripts")
    return scripts[0]


def as_script(script: Script | str | os.PathLike | Sequence | Mapping | None) -> Script:
    """A Script from whatever a caller passed: None (the default), a Script, a file path, or JSON data."""
    if script is None:
        return DEFAULT_SCRIPT
    if isinstance(script, Script):
        return script
    if isinstance(script, (str, os.PathLike)):
        return load_script(script)
    return Script.from_json(script)
