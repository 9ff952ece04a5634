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
Telephony fields (`phoneNumber`, `sipUri`, …) and keys no source documents are kept and emitted
as they came, and `validate()` flags them, because Jivo does nothing with them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from ..errors import ProtocolError

__all__ = ["SwitchReply", "SWITCH_FIELDS", "FIELD_HELP", "TELEPHONY_FIELDS", "SUGGESTED_CLOSE_PHRASE", "find_switch"]

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

_STR_FIELDS = ("first_message", "last_message", "destination", "theme")
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
    telephony: Mapping[str, Any] = field(default_factory=dict)  # phoneNumber, sipUri, …: camelCase keys
    extra: Mapping[str, Any] = field(default_factory=dict)      # keys no source documents, kept verbatim

    __hash__ = None  # holds mappings: equal by value, not hashable

    def __post_init__(self) -> None:
        for name in _STR_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ProtocolError(f"expected a string, got {type(value).__name__}", field=SWITCH_FIELDS[name])
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
        clash = set(self.extra) & (set(_WIRE_TO_ATTR) | TELEPHONY_FIELDS | {"type"})
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
    def from_json(cls, data: Mapping[str, Any]) -> "SwitchReply":
        """Parse a `switch` reply as it appears in a bot response; unknown keys are kept in `extra`,
        telephony keys in `telephony`; a wrongly typed field raises ProtocolError naming it."""
        if not isinstance(data, Mapping):
            raise ProtocolError(f"a switch reply must be a JSON object, got {type(data).__name__}")
        kind = data.get("type", "switch")
        if kind != "switch":
            raise ProtocolError(f"expected 'switch', got {kind!r}", field="type")
        values: dict[str, Any] = {}
        telephony: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            if key == "type":
                continue
            if key in _WIRE_TO_ATTR:
                values[_WIRE_TO_ATTR[key]] = value
            elif key in TELEPHONY_FIELDS:
                telephony[key] = value
            else:
                extra[key] = value
        for attr in ("close_chat_phrases", "attributes", "hidden_attributes"):
            if attr in values and values[attr] is None:  # an explicit null means "none"
                del values[attr]
        for attr in _BOOL_FIELDS:
            if attr in values and values[attr] is None:
                del values[attr]
        if isinstance(values.get("close_chat_phrases"), list):
            values["close_chat_phrases"] = tuple(values["close_chat_phrases"])
        elif "close_chat_phrases" in values:
            raise ProtocolError("expected a list of strings", field="closeChatPhrases")
        return cls(**values, telephony=telephony, extra=extra)

    @classmethod
    def from_json_text(cls, text: str) -> "SwitchReply":
        """Parse a reply typed as JSON text, with or without `"type"`; blank text is the default reply.
        Broken JSON raises ProtocolError naming the line and column."""
        try:
            data = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise ProtocolError(f"{exc.msg} at line {exc.lineno}, column {exc.colno}", field="switch JSON") from None
        return cls.from_json({"type": "switch", **data} if isinstance(data, dict) else data)

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
        """What a form shows for this reply: `from_form(**reply.to_form())` gives it back (telephony
        and undocumented keys have no control and are left out)."""
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
        """A copy with some attributes changed (validated like a new value)."""
        current = {f.name: getattr(self, f.name) for f in fields(self)}
        current.update(changes)
        return type(self)(**current)

    # --- advice ------------------------------------------------------------------------------

    def validate(self) -> list[str]:
        """Warnings, one sentence each, starting with the wire field they are about."""
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
