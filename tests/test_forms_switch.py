"""One reading of switch form input: the same text through `jivo-ops switch` (jivo_ops.cli.main) and
the SwitchBuilder's model gives the same JSON, the same warnings and the same error, field by field."""

from __future__ import annotations

import json

import pytest

from jivo_ops.channel.switch import SWITCH_FIELDS, SwitchReply
from jivo_ops.cli import main
from jivo_ops.widgets import SwitchBuilder, SwitchModel

BLANK_FORM = SwitchReply().to_form()
HISTORY = {"send_messages_to_operator": True}  # what --history stands for, besides the amount

# (id, the widget's controls as typed, the same input as flags, the pinned JSON fields or the error)
CASES = [
    # attributes / hiddenAttributes: NAME=VALUE, split at the first "=", spaces around both stripped
    ("attr-space-after-equals", {"attributes": "city= Москва"}, ["--attr", "city= Москва"],
     {"attributes": {"city": "Москва"}}),
    ("attr-spaces-around", {"attributes": " city = Москва \ntier=gold"}, ["--attr", " city = Москва ", "--attr",
                                                                         "tier=gold"],
     {"attributes": {"city": "Москва", "tier": "gold"}}),
    ("attr-equals-in-value", {"attributes": "ticket=42=x"}, ["--attr", "ticket=42=x"],
     {"attributes": {"ticket": "42=x"}}),
    ("attr-blank-entry-skipped", {"attributes": "a=1\n\nb=2"}, ["--attr", "a=1", "--attr", "", "--attr", "b=2"],
     {"attributes": {"a": "1", "b": "2"}}),
    ("attr-later-name-wins", {"attributes": "a=1\na=2"}, ["--attr", "a=1", "--attr", "a=2"],
     {"attributes": {"a": "2"}}),
    ("attr-empty-value", {"attributes": "note="}, ["--attr", "note="], {"attributes": {"note": ""}}),
    ("attr-no-equals", {"attributes": "no-equals"}, ["--attr", "no-equals"],
     "attributes, line 1: expected NAME=VALUE, got 'no-equals' (e.g. city=Москва)"),
    ("attr-no-name-on-line-3", {"attributes": "a=1\n\n = x"}, ["--attr", "a=1", "--attr", "", "--attr", " = x"],
     "attributes, line 3: expected NAME=VALUE, got '= x' (e.g. city=Москва)"),
    ("hidden-attr", {"hidden_attributes": " crm = 42 "}, ["--hidden-attr", " crm = 42 "],
     {"hiddenAttributes": {"crm": "42"}}),
    ("hidden-attr-bad", {"hidden_attributes": "crm"}, ["--hidden-attr", "crm"],
     "hiddenAttributes, line 1: expected NAME=VALUE, got 'crm' (e.g. city=Москва)"),
    # sendMessageHistoryAmount: a whole number, at least 1, spaces around it ignored
    ("history", {**HISTORY, "send_message_history_amount": "5"}, ["--history", "5"],
     {"sendMessagesToOperator": True, "sendMessageHistoryAmount": 5}),
    ("history-spaces", {**HISTORY, "send_message_history_amount": " 5 "}, ["--history", " 5 "],
     {"sendMessagesToOperator": True, "sendMessageHistoryAmount": 5}),
    ("history-blank", {**HISTORY, "send_message_history_amount": " "}, ["--history", " "],
     {"sendMessagesToOperator": True}),
    ("history-zero", {**HISTORY, "send_message_history_amount": "0"}, ["--history", "0"],
     "sendMessageHistoryAmount: '0': expected at least 1 message (leave it empty to set no amount)"),
    ("history-negative", {**HISTORY, "send_message_history_amount": "-2"}, ["--history=-2"],
     "sendMessageHistoryAmount: '-2': expected at least 1 message (leave it empty to set no amount)"),
    ("history-words", {**HISTORY, "send_message_history_amount": "ten"}, ["--history", "ten"],
     "sendMessageHistoryAmount: 'ten': expected a whole number of messages"),
    ("history-arabic-digit", {**HISTORY, "send_message_history_amount": "٥"}, ["--history", "٥"],
     "sendMessageHistoryAmount: '٥': expected a whole number of messages"),
    ("history-fraction", {**HISTORY, "send_message_history_amount": "2.5"}, ["--history", "2.5"],
     "sendMessageHistoryAmount: '2.5': expected a whole number of messages"),
    # closeChatPhrases: one per line / per flag, stripped, blank ones dropped
    ("phrases", {"close_chat_phrases": " /closeChat \nстоп"}, ["--close-phrase", " /closeChat ",
                                                              "--close-phrase", "стоп"],
     {"closeChatPhrases": ["/closeChat", "стоп"]}),
    ("phrases-blank-dropped", {"close_chat_phrases": "\n/closeChat\n\n"}, ["--close-phrase", "",
                                                                          "--close-phrase", "/closeChat"],
     {"closeChatPhrases": ["/closeChat"]}),
    ("phrases-twice", {"close_chat_phrases": "/c\n/c"}, ["--close-phrase", "/c", "--close-phrase", "/c"],
     {"closeChatPhrases": ["/c", "/c"]}),
    # the booleans
    ("append-close-button", {"close_chat_phrases": "/c", "append_close_chat_button": True},
     ["--close-phrase", "/c", "--append-close-button"], {"closeChatPhrases": ["/c"], "appendCloseChatButton": True}),
    ("ignore-offline", {"ignore_offline": True}, ["--ignore-offline"], {"ignoreOffline": True}),
    ("one-time", {"one_time_message": True}, ["--one-time"], {"oneTimeMessage": True}),
    # destination / theme: identifiers, stripped; blank = not set
    ("destination", {"destination": " sales "}, ["--destination", " sales "], {"destination": "sales"}),
    ("destination-blank", {"destination": "  "}, ["--destination", "  "], {}),
    ("theme", {"theme": " Оплата "}, ["--theme", " Оплата "], {"theme": "Оплата"}),
    # firstMessage / lastMessage: kept as typed; empty = not set
    ("first-message", {"first_message": "Клиент просит оператора"}, ["--first-message", "Клиент просит оператора"],
     {"firstMessage": "Клиент просит оператора"}),
    ("first-message-empty", {"first_message": ""}, ["--first-message", ""], {}),
    ("first-message-spaces-kept", {"first_message": "  "}, ["--first-message", "  "], {"firstMessage": "  "}),
    ("last-message-as-typed", {"last_message": " Спасибо "}, ["--last-message", " Спасибо "],
     {"lastMessage": " Спасибо "}),
    # customData: any JSON value; blank = not set
    ("custom-data", {"custom_data": ' {"order": 17} '}, ["--custom-data", ' {"order": 17} '],
     {"customData": {"order": 17}}),
    ("custom-data-list", {"custom_data": "[1, \"два\"]"}, ["--custom-data", "[1, \"два\"]"],
     {"customData": [1, "два"]}),
    ("custom-data-blank", {"custom_data": "  "}, ["--custom-data", "  "], {}),
    ("custom-data-broken", {"custom_data": "{oops"}, ["--custom-data", "{oops"],
     "customData: not valid JSON (Expecting property name enclosed in double quotes, line 1 column 2)"),
    ("custom-data-nan", {"custom_data": "NaN"}, ["--custom-data", "NaN"],
     "customData: not valid JSON (NaN is not a JSON value)"),
]


def _widget(fields: dict) -> SwitchModel:
    return SwitchModel(**{**BLANK_FORM, **fields})


def _cli(capsys, argv: list[str]) -> tuple[int, str, list[str], str]:
    code = main(["switch", *argv])
    out, err = capsys.readouterr()
    warnings = [line.removeprefix("warning: ") for line in err.splitlines() if line.startswith("warning: ")]
    errors = "\n".join(line for line in err.splitlines() if not line.startswith("warning: "))
    return code, out, warnings, errors


def test_the_table_covers_every_switch_field():
    typed = {name for _, fields, _, _ in CASES for name in fields}
    assert typed == set(SWITCH_FIELDS)


@pytest.mark.parametrize("fields, argv, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_both_faces_read_the_same_input_the_same_way(capsys, fields, argv, expected):
    model = _widget(fields)
    code, out, warnings, errors = _cli(capsys, argv)
    if isinstance(expected, str):
        assert model.reply is None and model.error == expected
        assert (code, out) == (2, "") and errors == f"jivo-ops: error: {expected}"
        return
    assert model.error == "" and code == 0 and errors == ""
    assert json.loads(out) == model.reply.to_json() == {"type": "switch", **expected}
    assert warnings == model.warnings


def test_the_builder_shows_the_same_error_as_the_cli(capsys):
    builder = SwitchBuilder()
    builder.controls["send_message_history_amount"].value = "0"
    _, _, _, errors = _cli(capsys, ["--history", "0"])
    assert errors == f"jivo-ops: error: {builder.model.error}"
    assert builder.model.error in builder.warnings_html.value.replace("&#x27;", "'")


@pytest.mark.parametrize("reply", [
    SwitchReply(),
    SwitchReply.suggested(),
    SwitchReply(first_message="история\nвторая строка", last_message="Спасибо", close_chat_phrases=("/c", "стоп"),
                append_close_chat_button=True, ignore_offline=True, one_time_message=True, destination="sales",
                theme="Оплата", send_messages_to_operator=True, send_message_history_amount=7,
                attributes={"город": "Москва", "tier": "gold"}, hidden_attributes={"crm": "42=x"},
                custom_data={"order": [1, None, "три"]}),
])
def test_to_form_and_from_form_are_inverse(reply):
    assert SwitchReply.from_form(**reply.to_form()) == (reply, reply.validate())
    assert SwitchModel(reply).reply == reply


def test_a_new_form_starts_from_the_suggested_reply():
    assert SwitchModel().reply == SwitchReply.suggested()
    assert SwitchReply.suggested().to_json(with_type=False) == {"closeChatPhrases": ["/closeChat"]}


def test_from_form_refuses_fields_a_reply_does_not_have():
    with pytest.raises(TypeError, match="history"):
        SwitchReply.from_form(history="5")
