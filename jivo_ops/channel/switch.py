"""The JAICP `switch` reply: the scenario's order to hand the chat to a live operator.

`SwitchReply` holds every field JAICP documents (PROTOCOL.md §3, after Just AI's own
`LiveChatSwitchReply`) with its documented default, in snake_case; on the wire the names are
camelCase. Three faces::

    reply = SwitchReply(close_chat_phrases=("/closeChat",), send_messages_to_operator=True,
                        send_message_history_amount=10)
    reply.to_json()    # {"type": "switch", "closeChatPhrases": ["/closeChat"], ...} — only set fields
    reply.to_js()      # the snippet to paste into the scenario
    reply.validate()   # warnings: what Jivo ignores, what has no effect

Forms (the `jivo-ops switch` flags, the SwitchBuilder widget) hand the fields over as the user
typed them: `SwitchReply.from_form(...)` is the one reading of that text, `reply.to_form()` its
inverse (what a form shows for a reply).

A field equal to its documented default is left out of `to_json()`: JAICP reads the two the same.
`state` (the scenario state; JAICF fills it on every switch) is a known field too. Telephony fields
(`phoneNumber`, `sipUri`, …) and keys no source documents are kept and emitted, and `validate()`
flags them, because Jivo does nothing with them.

Reading a bot's reply (`from_json`) never fails because of one field's JSON type: real scenarios
send `destination: 15`. Each field is read by the rule of its kind (`FIELD_KINDS`); a value of
another type is kept as that rule reads it (a number where a string is expected becomes its text)
and `reply.warnings` says so, one sentence per field: the field, what came, what JAICP expects.
Only a value that is no JSON at all raises ProtocolError naming the field. Typed input (forms,
`from_json_text`, `from_json(strict=True)`) refuses a wrong type instead.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from ..errors import ProtocolError

__all__ = ["SwitchReply", "SWITCH_FIELDS", "FIELD_HELP", "TELEPHONY_FIELDS", "FIELD_KINDS", "SUGGESTED_CLOSE_PHRASE",
           "find_switch"]

# snake_case attribute -> camelCase wire name, in the order of the docs' table.
SWITCH_FIELDS: Mapping[str, str] = MappingProxyType({
    "first_message": "firstMessage",
    "last_message": "lastMessage",
    "close_chat_phrases": "closeChatPhrases",
    "append_close_chat_button": "appendCloseChatButton",
    "ignore_offline": "ignoreOffline",
    "one_time_message": "oneTimeMessage",
    "destination": "destination",
    "theme": "theme",
    "send_messages_to_operator": "sendMessagesToOperator",
    "send_message_history_amount": "sendMessageHistoryAmount",
    "attributes": "attributes",
    "hidden_attributes": "hiddenAttributes",
    "custom_data": "customData",
})
_WIRE_TO_ATTR = {wire: attr for attr, wire in SWITCH_FIELDS.items()}

# wire name -> what it does, in the docs' words (for help texts and the SwitchBuilder widget).
FIELD_HELP: Mapping[str, str] = MappingProxyType({
    "firstMessage": "first message the operator sees (default: the client's last phrase; often the chat history)",
    "lastMessage": "sent when the chat is closed with a close phrase",
    "closeChatPhrases": "client commands that end the live chat and return to the bot",
    "appendCloseChatButton": "show a button titled with the first close phrase (Jivo probably ignores it)",
    "ignoreOffline": "transfer even if no operator is online",
    "oneTimeMessage": "send firstMessage to the operator without transferring",
    "destination": "operator group; only Aimychat and the Operator API use it",
    "theme": "request subject; Aimychat only",
    "sendMessagesToOperator": "send the client's recent messages to the operator",
    "sendMessageHistoryAmount": "how many recent messages; only with sendMessagesToOperator",
    "attributes": "client info shown to the operator (Aimychat, LiveTex, Operator API)",
    "hiddenAttributes": "like attributes, hidden from the operator",
    "customData": "extra JSON for the operator platform",
})

# Fields of the telephony channel: tolerated by JAICP, meaningless for Jivo.
TELEPHONY_FIELDS = frozenset({"phoneNumber", "headers", "transferChannel", "continueCall", "continueRecording",
                              "method", "sipUri"})

# The kind of JSON value JAICP expects in each live-chat wire field (Just AI's LiveChatSwitchReply);
# `_Reading` holds the one rule per kind. Telephony fields are kept as they came: Jivo ignores them
# whatever their type, and validate() flags each.
FIELD_KINDS: Mapping[str, str] = MappingProxyType({
    "firstMessage": "text", "lastMessage": "text", "closeChatPhrases": "texts", "appendCloseChatButton": "flag",
    "ignoreOffline": "flag", "oneTimeMessage": "flag", "destination": "text", "theme": "text",
    "sendMessagesToOperator": "flag", "sendMessageHistoryAmount": "count", "attributes": "pairs",
    "hiddenAttributes": "pairs", "customData": "json", "state": "text",
})
_EXPECTED = {"text": "a string", "texts": "a list of strings", "flag": "true or false", "count": "a whole number",
             "pairs": "an object of string values"}
_STATE = "state"  # wire name = attribute name; no form control: the platform or JAICF fills it

_STR_FIELDS = ("first_message", "last_message", "destination", "theme", "state")
_MESSAGE_FIELDS = ("first_message", "last_message")  # texts people read: kept as typed
_NAME_FIELDS = ("destination", "theme")               # identifiers: spaces around them are typos
_BOOL_FIELDS = ("append_close_chat_button", "ignore_offline", "one_time_message", "send_messages_to_operator")
_MAP_FIELDS = ("attributes", "hidden_attributes")


# The close phrase a new form starts with (and the one the warnings suggest): JAICP's own examples use it.
SUGGESTED_CLOSE_PHRASE = "/closeChat"

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
_LINE_BREAK = re.compile(r"\r\n?|\n")


def _frozen_map(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True, eq=True)
class SwitchReply:
    """One `{"type": "switch", …}` reply. Every attribute defaults to what JAICP assumes when the
    key is absent; `None` means "not given" for fields without a fixed default."""

    first_message: str | None = None          # default: the client's last phrase
    last_message: str | None = None
    close_chat_phrases: tuple[str, ...] = ()
    append_close_chat_button: bool = False
    ignore_offline: bool = False
    one_time_message: bool = False
    destination: str | None = None             # Aimychat / Operator API only
    theme: str | None = None                   # Aimychat only
    send_messages_to_operator: bool = False
    send_message_history_amount: int | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    hidden_attributes: Mapping[str, str] = field(default_factory=dict)
    custom_data: Any = None
    state: str | None = None                   # the scenario state the switch came from
    telephony: Mapping[str, Any] = field(default_factory=dict)  # phoneNumber, sipUri, …: camelCase keys
    extra: Mapping[str, Any] = field(default_factory=dict)      # keys no source documents, kept verbatim
    # What reading the wire changed (from_json): one sentence per wrongly typed field, starting with its name.
    warnings: tuple[str, ...] = field(default=(), compare=False, repr=False)

    __hash__ = None  # holds mappings: equal by value, not hashable

    def __post_init__(self) -> None:
        for name in _STR_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ProtocolError(f"expected a string, got {type(value).__name__}", field=_wire_name(name))
        for name in _BOOL_FIELDS:
            if not isinstance(getattr(self, name), bool):
                raise ProtocolError(f"expected true or false, got {getattr(self, name)!r}",
                                    field=SWITCH_FIELDS[name])
        phrases = self.close_chat_phrases
        if isinstance(phrases, (str, bytes)) or not isinstance(phrases, Iterable):
            raise ProtocolError("expected a list of strings (one phrase per item)", field="closeChatPhrases")
        phrases = tuple(phrases)
        for i, phrase in enumerate(phrases):
            if not isinstance(phrase, str):
                raise ProtocolError(f"expected a string, got {type(phrase).__name__}", field=f"closeChatPhrases[{i}]")
        object.__setattr__(self, "close_chat_phrases", phrases)
        amount = self.send_message_history_amount
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)):
            raise ProtocolError(f"expected a whole number, got {amount!r}", field="sendMessageHistoryAmount")
        for name in _MAP_FIELDS:
            value = getattr(self, name)
            if value is None:
                value = {}
            if not isinstance(value, Mapping):
                raise ProtocolError(f"expected an object of name: value, got {type(value).__name__}",
                                    field=SWITCH_FIELDS[name])
            for key, item in value.items():
                if not isinstance(key, str) or not isinstance(item, str):
                    raise ProtocolError(f"expected string names and values, got {key!r}: {item!r}",
                                        field=f"{SWITCH_FIELDS[name]}.{key}")
            object.__setattr__(self, name, _frozen_map(value))
        object.__setattr__(self, "telephony", _frozen_map(self.telephony))
        object.__setattr__(self, "extra", _frozen_map(self.extra))
        object.__setattr__(self, "warnings", tuple(str(w) for w in self.warnings))
        clash = set(self.extra) & (set(FIELD_KINDS) | TELEPHONY_FIELDS | {"type"})
        if clash:
            raise ProtocolError("documented fields go in their own attributes, not in extra", field=sorted(clash)[0])

    @classmethod
    def suggested(cls) -> "SwitchReply":
        """The reply a new form starts from: one close phrase, so the client can get back to the bot."""
        return cls(close_chat_phrases=(SUGGESTED_CLOSE_PHRASE,))

    # --- wire form -------------------------------------------------------------------------

    def to_json(self, *, with_type: bool = True) -> dict[str, Any]:
        """`{"type": "switch", …}` with only the fields that differ from their default
        (`with_type=False`: the fields alone, as the sandbox's step 4 takes them)."""
        out: dict[str, Any] = {"type": "switch"} if with_type else {}
        for attr, wire in SWITCH_FIELDS.items():
            value = getattr(self, attr)
            default = _DEFAULTS[attr]
            if value is None or value == default:
                continue
            if attr == "close_chat_phrases":
                value = list(value)
            elif attr in _MAP_FIELDS:
                value = dict(value)
            out[wire] = value
        if self.state is not None:
            out[_STATE] = self.state
        out.update(self.telephony)
        out.update(self.extra)
        return out

    def to_json_text(self, *, indent: int | None = 2, with_type: bool = True) -> str:
        """The JSON as text, Cyrillic kept as is."""
        return json.dumps(self.to_json(with_type=with_type), ensure_ascii=False, indent=indent)

    def to_js(self, *, indent: int | None = 4) -> str:
        """The scenario snippet: `$response.replies = $response.replies || []; $response.replies.push({...});`.

        The object is JSON, which is a valid JS expression; U+2028/U+2029 are escaped because
        older JS engines end a string literal at them.
        """
        body = json.dumps(self.to_json(), ensure_ascii=False, indent=indent)
        body = body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        return f"$response.replies = $response.replies || []; $response.replies.push({body});"

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, strict: bool = False) -> "SwitchReply":
        """Read a `switch` reply as it appears in a bot response; unknown keys are kept in `extra`,
        telephony keys in `telephony`, null means "not given". A field of another JSON type than
        JAICP's is read by its kind's rule and noted in `warnings` (`strict`: raises ProtocolError
        naming the field instead); a value that is no JSON at all always raises."""
        if not isinstance(data, Mapping):
            raise ProtocolError(f"a switch reply must be a JSON object, got {type(data).__name__}")
        kind = data.get("type", "switch")
        if kind != "switch":
            raise ProtocolError(f"expected 'switch', got {kind!r}", field="type")
        reading = _Reading(strict)
        values: dict[str, Any] = {}
        telephony: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            if key == "type":
                continue
            _require_json(value, str(key))
            if key in TELEPHONY_FIELDS:
                telephony[key] = value
            elif key not in FIELD_KINDS:
                extra[key] = value
            elif (read := reading.field(key, value)) is not _NOT_SET:
                values[_WIRE_TO_ATTR.get(key, key)] = read
        return cls(**values, telephony=telephony, extra=extra, warnings=tuple(reading.warnings))

    @classmethod
    def from_json_text(cls, text: str) -> "SwitchReply":
        """Parse a reply typed as JSON text, with or without `"type"`; blank text is the default reply.
        Typed input: broken JSON raises ProtocolError naming the line and column, a wrongly typed field
        one naming the field."""
        try:
            data = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise ProtocolError(f"{exc.msg} at line {exc.lineno}, column {exc.colno}", field="switch JSON") from None
        return cls.from_json({"type": "switch", **data} if isinstance(data, dict) else data, strict=True)

    # --- form input ----------------------------------------------------------------------------

    @classmethod
    def from_form(cls, **typed: Any) -> tuple["SwitchReply", list[str]]:
        """The reply a form describes, and its warnings (`validate()`).

        `typed` holds fields by attribute name (the keys of SWITCH_FIELDS), each as the user typed
        it: text, a list of texts (a repeated flag), or a checkbox's bool; a field left out, None or
        blank means "not set". The one rule per field:

        - firstMessage, lastMessage: kept as typed (the operator and the client read them).
        - destination, theme: spaces around them stripped.
        - closeChatPhrases: one phrase per line of a text, or per item of a list (a repeated flag);
          each stripped, blank ones dropped: a client cannot type spaces around a command.
        - attributes, hiddenAttributes: ``NAME=VALUE`` per line or item, split at the first ``=``,
          spaces around name and value stripped; a later name wins.
        - sendMessageHistoryAmount: a whole number, at least 1. JAICP types it `Int?` and documents
          no range, but it is "the number of customer messages that will be sent": 0 or fewer sends
          none, so a form refuses it (leave it empty instead). A reply read from the wire keeps any
          number, with a warning.
        - the four booleans: true or false.
        - customData: any JSON value (NaN and Infinity are not JSON).

        Bad input raises one ProtocolError naming the field (and the line, for lists).
        """
        unknown = sorted(set(typed) - set(SWITCH_FIELDS))
        if unknown:
            raise TypeError(f"from_form() got fields a switch reply does not have: {', '.join(unknown)}")
        values: dict[str, Any] = {
            "close_chat_phrases": tuple(text for _, text in _form_entries(typed.get("close_chat_phrases"),
                                                                          "closeChatPhrases")),
            "send_message_history_amount": _form_history_amount(typed.get("send_message_history_amount")),
            "custom_data": _form_json(typed.get("custom_data"), "customData"),
        }
        for name in _MESSAGE_FIELDS:
            values[name] = _form_text(typed.get(name), SWITCH_FIELDS[name]) or None
        for name in _NAME_FIELDS:
            values[name] = _form_text(typed.get(name), SWITCH_FIELDS[name]).strip() or None
        for name in _BOOL_FIELDS:
            values[name] = _form_flag(typed.get(name), SWITCH_FIELDS[name])
        for name in _MAP_FIELDS:
            values[name] = _form_pairs(typed.get(name), SWITCH_FIELDS[name])
        reply = cls(**values)
        return reply, reply.validate()

    def to_form(self) -> dict[str, str | bool]:
        """What a form shows for this reply: `from_form(**reply.to_form())` gives it back (state,
        telephony and undocumented keys have no control and are left out)."""
        amount = self.send_message_history_amount
        return {
            "first_message": self.first_message or "",
            "last_message": self.last_message or "",
            "close_chat_phrases": "\n".join(self.close_chat_phrases),
            "append_close_chat_button": self.append_close_chat_button,
            "ignore_offline": self.ignore_offline,
            "one_time_message": self.one_time_message,
            "destination": self.destination or "",
            "theme": self.theme or "",
            "send_messages_to_operator": self.send_messages_to_operator,
            "send_message_history_amount": "" if amount is None else str(amount),
            "attributes": "\n".join(f"{k}={v}" for k, v in self.attributes.items()),
            "hidden_attributes": "\n".join(f"{k}={v}" for k, v in self.hidden_attributes.items()),
            "custom_data": "" if self.custom_data is None else json.dumps(self.custom_data, ensure_ascii=False),
        }

    def replace(self, **changes: Any) -> "SwitchReply":
        """A copy with some attributes changed (validated like a new value); the reading warnings
        of the changed fields are dropped."""
        current = {f.name: getattr(self, f.name) for f in fields(self)}
        changed = {_wire_name(name) for name in changes}
        current["warnings"] = tuple(w for w in self.warnings if _FIELD_ROOT.match(w).group() not in changed)
        current.update(changes)
        return type(self)(**current)

    # --- advice ------------------------------------------------------------------------------

    def validate(self) -> list[str]:
        """Advice on what the reply asks for, one sentence each, starting with the wire field it is
        about (what reading the wire changed is in `warnings`)."""
        warnings: list[str] = []
        if self.append_close_chat_button and not self.close_chat_phrases:
            warnings.append("appendCloseChatButton: has no effect without closeChatPhrases "
                            "(the button is titled with the first close phrase); add --close-phrase")
        elif self.append_close_chat_button:
            warnings.append("appendCloseChatButton: Jivo probably does not show buttons from the bot; "
                            "tell the client the close phrase in text as well")
        if not self.close_chat_phrases:
            warnings.append("closeChatPhrases: empty, so the client cannot end the live chat and return to the bot "
                            f"(Jivo may not signal an operator-side close); add a phrase such as {SUGGESTED_CLOSE_PHRASE}")
        for i, phrase in enumerate(self.close_chat_phrases):
            if not phrase.strip():
                warnings.append(f"closeChatPhrases[{i}]: an empty phrase can never be typed; remove it")
        if len(set(self.close_chat_phrases)) != len(self.close_chat_phrases):
            warnings.append("closeChatPhrases: a phrase is listed twice")
        if self.send_message_history_amount is not None and not self.send_messages_to_operator:
            warnings.append("sendMessageHistoryAmount: ignored unless sendMessagesToOperator is true")
        if self.send_message_history_amount is not None and self.send_message_history_amount <= 0:
            warnings.append("sendMessageHistoryAmount: should be a positive number of messages")
        if self.first_message is not None and not self.first_message.strip():
            warnings.append("firstMessage: empty; the operator would see a blank first message")
        if self.destination is not None:
            warnings.append("destination: ignored by Jivo (only Aimychat and the Operator API route by it)")
        if self.theme is not None:
            warnings.append("theme: ignored by Jivo (Aimychat only)")
        if self.attributes:
            warnings.append("attributes: not shown by Jivo (Aimychat, LiveTex and the Operator API use them)")
        if self.hidden_attributes:
            warnings.append("hiddenAttributes: not used by Jivo (Aimychat, LiveTex and the Operator API use them)")
        for key in sorted(self.telephony):
            warnings.append(f"{key}: a telephony field; Jivo ignores it")
        for key in sorted(self.extra):
            warnings.append(f"{key}: not a documented switch field; JAICP tolerates it, Jivo ignores it")
        return warnings

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.to_json().items() if k != "type")
        return f"SwitchReply({shown})"


def _wire_name(attr: str) -> str:
    return SWITCH_FIELDS.get(attr, attr)


_FIELD_ROOT = re.compile(r"[A-Za-z_]*")  # the field a warning is about: "attributes.city: …" → attributes
_NOT_SET = object()


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _require_json(value: Any, wire: str) -> None:
    """A value from Python that JSON cannot hold has no JSON type at all: no rule reads it."""
    try:
        json.dumps(value, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"not a JSON value ({exc})", field=wire) from None


class _Reading:
    """One reading of a wire reply: every known field by the rule of its kind (FIELD_KINDS). A value
    of another JSON type is read as the rule says and the change becomes one warning (or, strict, a
    ProtocolError naming the field)."""

    def __init__(self, strict: bool):
        self.strict = strict
        self.warnings: list[str] = []

    def loose(self, wire: str, kind: str, value: Any, read: Any, outcome: str) -> Any:
        came = _json_type(value)
        if self.strict:
            raise ProtocolError(f"expected {_EXPECTED[kind]}, got {came}", field=wire)
        shown = "" if value is None else f" ({_preview(value)})"
        self.warnings.append(f"{wire}: JAICP expects {_EXPECTED[kind]}, got {came}{shown}; {outcome}")
        return read

    def field(self, wire: str, value: Any) -> Any:
        """The field's value as this reading keeps it; _NOT_SET when there is none (null: not given)."""
        if value is None:
            return _NOT_SET
        kind = FIELD_KINDS[wire]
        return value if kind == "json" else getattr(self, kind)(wire, value)

    def text(self, wire: str, value: Any) -> Any:
        """A string as is; anything else as its JSON text (15 → "15"); a null item is left out."""
        if isinstance(value, str):
            return value
        if value is None:
            return self.loose(wire, "text", value, _NOT_SET, "left out")
        text = _json_text(value)
        outcome = f"kept as the text {_preview(text)}" if not isinstance(value, (list, dict)) else \
            "kept as its JSON text"
        return self.loose(wire, "text", value, text, outcome)

    def texts(self, wire: str, value: Any) -> Any:
        """A list: each item read as text; one value of another type: the list of that one item."""
        if not isinstance(value, list):
            item = value if isinstance(value, str) else _json_text(value)
            return self.loose(wire, "texts", value, (item,), f"kept as the one item {_preview(item)}")
        items = (self.text(f"{wire}[{i}]", item) for i, item in enumerate(value))
        return tuple(item for item in items if item is not _NOT_SET)

    def flag(self, wire: str, value: Any) -> Any:
        """true/false; the strings "true"/"false"; a number: true unless 0; else false, the default."""
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            read = value.strip().lower() == "true"
        elif isinstance(value, (int, float)):
            read = value != 0
        else:
            return self.loose(wire, "flag", value, False, "read as false, the default")
        return self.loose(wire, "flag", value, read, f"read as {_json_text(read)}")

    def count(self, wire: str, value: Any) -> Any:
        """A whole number; a finite fraction cut to its whole part, a string of digits as that number;
        else not set."""
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and math.isfinite(value):
            read: Any = int(value)
        elif isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
            read = int(value.strip())
        else:
            return self.loose(wire, "count", value, _NOT_SET, "ignored (not set)")
        return self.loose(wire, "count", value, read, f"read as {read}")

    def pairs(self, wire: str, value: Any) -> Any:
        """An object: each value read as text; anything else: ignored (no pairs)."""
        if not isinstance(value, Mapping):
            return self.loose(wire, "pairs", value, _NOT_SET, "ignored (none set)")
        read = {str(key): self.text(f"{wire}.{key}", item) for key, item in value.items()}
        return {key: item for key, item in read.items() if item is not _NOT_SET}


def _preview(value: Any, limit: int = 40) -> str:
    """A value as JSON, cut short for a one-line warning."""
    text = _json_text(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _form_text(typed: Any, wire: str) -> str:
    if typed is None:
        return ""
    if not isinstance(typed, str):
        raise ProtocolError(f"expected text, got {type(typed).__name__}", field=wire)
    return typed


def _form_flag(typed: Any, wire: str) -> bool:
    if typed is None:
        return False
    if not isinstance(typed, bool):
        raise ProtocolError(f"expected true or false, got {typed!r}", field=wire)
    return typed


def _form_entries(typed: str | Iterable[str] | None, wire: str) -> list[tuple[int, str]]:
    """(line number, stripped text) of each non-blank line of a text, or item of a list."""
    if typed is None:
        return []
    items = _LINE_BREAK.split(typed) if isinstance(typed, str) else list(typed)
    entries = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, str):
            raise ProtocolError(f"expected text, got {type(item).__name__}", field=f"{wire}, line {number}")
        if item.strip():
            entries.append((number, item.strip()))
    return entries


def _form_pairs(typed: str | Iterable[str] | None, wire: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for number, entry in _form_entries(typed, wire):
        name, sep, value = entry.partition("=")
        if not sep or not name.strip():
            raise ProtocolError(f"expected NAME=VALUE, got {entry!r} (e.g. city=Москва)", field=f"{wire}, line {number}")
        pairs[name.strip()] = value.strip()
    return pairs


def _form_history_amount(typed: str | None) -> int | None:
    text = _form_text(typed, "sendMessageHistoryAmount").strip()
    if not text:
        return None
    if not _WHOLE_NUMBER.fullmatch(text):
        raise ProtocolError(f"{text!r}: expected a whole number of messages", field="sendMessageHistoryAmount")
    if int(text) < 1:
        raise ProtocolError(f"{text!r}: expected at least 1 message (leave it empty to set no amount)",
                            field="sendMessageHistoryAmount")
    return int(text)


def _not_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _form_json(typed: str | None, wire: str) -> Any:
    text = _form_text(typed, wire)
    if not text.strip():
        return None
    try:
        return json.loads(text, parse_constant=_not_json_constant)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})", field=wire) from None
    except ValueError as exc:
        raise ProtocolError(f"not valid JSON ({exc})", field=wire) from None


_DEFAULTS: dict[str, Any] = {
    f.name: (f.default_factory() if callable(f.default_factory) else f.default)  # type: ignore[misc]
    for f in fields(SwitchReply)
}


def find_switch(replies: Iterable[Mapping[str, Any]]) -> SwitchReply | None:
    """The first `switch` among a bot response's replies (as on the wire), or None."""
    for reply in replies:
        if isinstance(reply, Mapping) and reply.get("type") == "switch":
            return SwitchReply.from_json(reply)
    return None
