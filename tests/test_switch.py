"""SwitchReply: every documented field and its default, the JSON and JS faces, parsing, warnings."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from jivo_ops.errors import ProtocolError
from jivo_ops.channel.switch import FIELD_HELP, SWITCH_FIELDS, TELEPHONY_FIELDS, SwitchReply, find_switch

JS_PREFIX = "$response.replies = $response.replies || []; $response.replies.push("


def test_every_documented_field_has_its_default():
    reply = SwitchReply()
    assert set(SWITCH_FIELDS.values()) == {
        "firstMessage", "lastMessage", "closeChatPhrases", "appendCloseChatButton", "ignoreOffline",
        "oneTimeMessage", "destination", "theme", "sendMessagesToOperator", "sendMessageHistoryAmount",
        "attributes", "hiddenAttributes", "customData"}
    assert reply.first_message is None and reply.last_message is None
    assert reply.close_chat_phrases == ()
    assert reply.append_close_chat_button is False
    assert reply.ignore_offline is False
    assert reply.one_time_message is False
    assert reply.send_messages_to_operator is False
    assert reply.send_message_history_amount is None
    assert dict(reply.attributes) == {} and dict(reply.hidden_attributes) == {}
    assert reply.destination is None and reply.theme is None and reply.custom_data is None
    assert reply.to_json() == {"type": "switch"}
    assert set(FIELD_HELP) == set(SWITCH_FIELDS.values())


def test_to_json_emits_only_set_fields_in_camel_case():
    reply = SwitchReply(first_message="История: клиент хочет оператора", close_chat_phrases=["/closeChat"],
                        ignore_offline=True, send_messages_to_operator=True, send_message_history_amount=5,
                        hidden_attributes={"ticket": "42"})
    assert reply.to_json() == {
        "type": "switch",
        "firstMessage": "История: клиент хочет оператора",
        "closeChatPhrases": ["/closeChat"],
        "ignoreOffline": True,
        "sendMessagesToOperator": True,
        "sendMessageHistoryAmount": 5,
        "hiddenAttributes": {"ticket": "42"},
    }
    assert "Клиент".lower() in reply.to_json_text().lower()  # Cyrillic kept, not \u-escaped
    assert "\\u" not in reply.to_json_text()


def test_round_trip_through_json_keeps_telephony_and_unknown_keys():
    wire = {"type": "switch", "firstMessage": "Здравствуйте", "closeChatPhrases": ["/closeChat", "стоп"],
            "appendCloseChatButton": True, "oneTimeMessage": True, "destination": "sales", "theme": "Оплата",
            "attributes": {"город": "Москва"}, "customData": {"a": [1, 2]},
            "phoneNumber": "+79990000000", "sipUri": "sip:x@y", "oppositeChannelType": "jivo"}
    reply = SwitchReply.from_json(wire)
    assert reply.close_chat_phrases == ("/closeChat", "стоп")
    assert dict(reply.telephony) == {"phoneNumber": "+79990000000", "sipUri": "sip:x@y"}
    assert dict(reply.extra) == {"oppositeChannelType": "jivo"}
    assert reply.to_json() == wire
    assert SwitchReply.from_json(reply.to_json()) == reply


def test_explicit_defaults_and_nulls_mean_the_same_as_absent():
    reply = SwitchReply.from_json({"type": "switch", "ignoreOffline": False, "closeChatPhrases": None,
                                   "attributes": None})
    assert reply == SwitchReply()


@pytest.mark.parametrize("wire, field", [
    ({"closeChatPhrases": "/closeChat"}, "closeChatPhrases"),
    ({"closeChatPhrases": ["/closeChat", 3]}, "closeChatPhrases[1]"),
    ({"ignoreOffline": "yes"}, "ignoreOffline"),
    ({"sendMessageHistoryAmount": "5"}, "sendMessageHistoryAmount"),
    ({"sendMessageHistoryAmount": True}, "sendMessageHistoryAmount"),
    ({"firstMessage": 12}, "firstMessage"),
    ({"attributes": ["a"]}, "attributes"),
    ({"attributes": {"a": 1}}, "attributes.a"),
    ({"type": "text"}, "type"),
])
def test_wrongly_typed_fields_raise_protocol_error_naming_the_field(wire, field):
    """Typed input (strict) refuses a wrong type; a bot's reply is read leniently (test_lenient_switch)."""
    with pytest.raises(ProtocolError) as info:
        SwitchReply.from_json({"type": "switch", **wire}, strict=True)
    assert info.value.field == field
    assert str(info.value).startswith(field)


def test_from_json_rejects_non_objects():
    with pytest.raises(ProtocolError):
        SwitchReply.from_json(["switch"])  # type: ignore[arg-type]


def test_find_switch_in_bot_replies():
    replies = [{"type": "text", "text": "Перевожу"}, {"type": "switch", "closeChatPhrases": ["/closeChat"]}]
    assert find_switch(replies) == SwitchReply(close_chat_phrases=("/closeChat",))
    assert find_switch([{"type": "text", "text": "нет"}]) is None


def _js_object(snippet: str) -> dict:
    assert snippet.startswith(JS_PREFIX) and snippet.endswith(");")
    return json.loads(snippet[len(JS_PREFIX):-2])


def test_to_js_is_the_scenario_snippet_with_cyrillic_as_is():
    reply = SwitchReply(first_message="Клиент просит оператора", close_chat_phrases=("/closeChat",))
    snippet = reply.to_js()
    assert _js_object(snippet) == reply.to_json()
    assert "Клиент просит оператора" in snippet
    assert _js_object(reply.to_js(indent=None)) == reply.to_json()
    assert "\n" not in reply.to_js(indent=None)


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_to_js_runs_in_a_javascript_engine():
    reply = SwitchReply(first_message="Строка с \u2028 разделителем и \"кавычками\" </script>",
                        close_chat_phrases=("/closeChat",), attributes={"имя": "Пётр"})
    program = ("var $response = {replies: [{type: 'text', text: 'hi'}]};\n" + reply.to_js()
               + "\nprocess.stdout.write(JSON.stringify($response.replies));")
    out = subprocess.run(["node", "-e", program], capture_output=True, text=True, timeout=20, check=True).stdout
    assert json.loads(out) == [{"type": "text", "text": "hi"}, reply.to_json()]


def test_validate_warns_about_what_jivo_ignores_or_has_no_effect():
    warnings = SwitchReply(append_close_chat_button=True, send_message_history_amount=3, destination="sales",
                           theme="t", attributes={"a": "b"}, hidden_attributes={"h": "i"},
                           telephony={"phoneNumber": "+7"}, extra={"foo": 1}).validate()
    starts = [w.split(":")[0] for w in warnings]
    for field in ("appendCloseChatButton", "closeChatPhrases", "sendMessageHistoryAmount", "destination", "theme",
                  "attributes", "hiddenAttributes", "phoneNumber", "foo"):
        assert field in starts, (field, warnings)
    assert any("has no effect" in w for w in warnings)
    assert any("sendMessagesToOperator" in w for w in warnings if w.startswith("sendMessageHistoryAmount"))


def test_a_sensible_jivo_switch_has_no_warnings():
    reply = SwitchReply(first_message="история", close_chat_phrases=("/closeChat",),
                        send_messages_to_operator=True, send_message_history_amount=10)
    assert reply.validate() == []


def test_telephony_fields_are_all_flagged():
    reply = SwitchReply.from_json({"type": "switch", "closeChatPhrases": ["/c"],
                                   **{name: "x" for name in TELEPHONY_FIELDS}})
    flagged = {w.split(":")[0] for w in reply.validate()}
    assert flagged == set(TELEPHONY_FIELDS)


def test_replace_validates_and_values_are_immutable():
    reply = SwitchReply(attributes={"a": "b"})
    with pytest.raises(TypeError):
        reply.attributes["c"] = "d"  # type: ignore[index]
    assert reply.replace(ignore_offline=True).to_json()["ignoreOffline"] is True
    with pytest.raises(ProtocolError):
        reply.replace(send_message_history_amount="ten")
    assert "Москва" in repr(SwitchReply(first_message="Москва"))
