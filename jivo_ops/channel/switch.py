"""The JAICP `switch` reply: the scenario's order to hand the chat to a live operator.

`SwitchReply` holds every field JAICP documents (PROTOCOL.md §3, after Just AI's own
`LiveChatSwitchReply`) with its documented default, in snake_case; on the wire the names are
camelCase. Three faces::

    reply = SwitchReply(close_chat_phrases=("/closeChat",), send_messages_to_operator=True,
                        send_message_history_amount=10)
    reply.to_json()    # {"type": "switch", "closeChatPhrases": ["/closeChat"], ...} — only set fields
    reply.to_js()      # the snippet to paste into the scenario
    reply.validate()   # warnings: what Jivo ignores, what has no effect

A field equal to its documented default is left out of `to_json()`: JAICP reads the two the same.
Telephony fields (`phoneNumber`, `sipUri`, …) and keys no source documents are kept and emitted
as they came, and `validate()` flags them, because Jivo does nothing with them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from ..errors import ProtocolError

__all__ = ["SwitchReply", "SWITCH_FIELDS", "FIELD_HELP", "TELEPHONY_FIELDS", "find_switch"]

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
_BOOL_FIELDS = ("append_close_chat_button", "ignore_offline", "one_time_message", "send_messages_to_operator")
_MAP_FIELDS = ("attributes", "hidden_attributes")


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

    # --- wire form -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """`{"type": "switch", …}` with only the fields that differ from their default."""
        out: dict[str, Any] = {"type": "switch"}
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

    def to_json_text(self, *, indent: int | None = 2) -> str:
        """The JSON as text, Cyrillic kept as is."""
        return json.dumps(self.to_json(), ensure_ascii=False, indent=indent)

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
                            "(Jivo may not signal an operator-side close); add a phrase such as /closeChat")
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
