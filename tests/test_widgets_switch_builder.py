"""SwitchBuilder, headless: set control values as a user would type, read what the user would see."""

from __future__ import annotations

import json

from jivo_ops.channel.switch import SwitchReply
from jivo_ops.widgets import SwitchBuilder


def test_defaults_show_a_valid_reply_with_the_close_phrase():
    builder = SwitchBuilder()
    assert json.loads(builder.json_text) == {"type": "switch", "closeChatPhrases": ["/closeChat"]}
    assert builder.js_text.startswith("$response.replies = $response.replies || []; $response.replies.push({")
    assert "предупреждений нет" in builder.warnings_html.value
    assert "/closeChat" in builder.json_html.value and "push(" in builder.js_html.value


def test_every_control_reaches_the_json():
    builder = SwitchBuilder()
    c = builder.controls
    c["first_message"].value = "Клиент просит оператора"
    c["last_message"].value = "Чат завершён"
    c["close_chat_phrases"].value = "/closeChat\nзакрыть"
    c["append_close_chat_button"].value = True
    c["ignore_offline"].value = True
    c["one_time_message"].value = True
    c["send_messages_to_operator"].value = True
    c["send_message_history_amount"].value = "5"
    c["destination"].value = "support"
    c["theme"].value = "Оплата"
    c["attributes"].value = "plan=gold\ncity = Москва"
    c["hidden_attributes"].value = "crm=42"
    c["custom_data"].value = '{"order": 17}'
    assert json.loads(builder.json_text) == {
        "type": "switch", "firstMessage": "Клиент просит оператора", "lastMessage": "Чат завершён",
        "closeChatPhrases": ["/closeChat", "закрыть"], "appendCloseChatButton": True, "ignoreOffline": True,
        "oneTimeMessage": True, "destination": "support", "theme": "Оплата", "sendMessagesToOperator": True,
        "sendMessageHistoryAmount": 5, "attributes": {"plan": "gold", "city": "Москва"},
        "hiddenAttributes": {"crm": "42"}, "customData": {"order": 17}}
    assert "Москва" in builder.js_text  # Cyrillic kept as is, not \u-escaped
    assert builder.reply == SwitchReply.from_json(json.loads(builder.json_text))


def test_warnings_follow_the_controls_live():
    builder = SwitchBuilder()
    builder.controls["send_message_history_amount"].value = "10"
    assert any(w.startswith("sendMessageHistoryAmount") for w in builder.warnings)
    assert "sendMessageHistoryAmount" in builder.warnings_html.value
    builder.controls["send_messages_to_operator"].value = True
    assert builder.warnings == []
    builder.controls["close_chat_phrases"].value = ""
    builder.controls["destination"].value = "sales"
    warned = {w.split(":")[0] for w in builder.warnings}
    assert warned == {"closeChatPhrases", "destination"}
    assert "предупреждения (2)" in builder.warnings_html.value


def test_bad_input_is_shown_in_the_widget_naming_the_field():
    builder = SwitchBuilder()
    builder.controls["custom_data"].value = "{not json"
    assert builder.reply is None and builder.json_text == ""
    assert "customData: not valid JSON" in builder.warnings_html.value
    builder.controls["custom_data"].value = ""
    builder.controls["send_message_history_amount"].value = "ten"
    assert "sendMessageHistoryAmount" in builder.model.error
    builder.controls["send_message_history_amount"].value = ""
    builder.controls["attributes"].value = "no equals sign"
    assert "attributes, line 1" in builder.model.error
    builder.controls["attributes"].value = ""
    assert builder.reply is not None and builder.model.error == ""


def test_loads_an_existing_reply_and_summarises_stably():
    reply = SwitchReply(first_message="история", close_chat_phrases=("/stop",), send_messages_to_operator=True,
                        send_message_history_amount=3)
    builder = SwitchBuilder(reply)
    assert builder.reply == reply
    assert builder.controls["close_chat_phrases"].value == "/stop"
    assert builder.model.summary() == ("switch fields set: firstMessage, closeChatPhrases, sendMessagesToOperator, "
                                       "sendMessageHistoryAmount\nwarnings: 0")
    assert repr(builder).startswith("SwitchBuilder(SwitchReply(") and "warnings=0" in repr(builder)
