"""Switch replies as real scenarios send them: `state`, a numeric `destination`, a list where a string
is expected… Reading never fails because of one field's type; each such field gives one warning naming
the field, what came and what JAICP expects — in SwitchReply, BotResponse (over HTTP from the sandbox),
`jivo-ops probe jaicp --switch-first` and the transfer runner."""

from __future__ import annotations

import json

import pytest

from jivo_ops.channel.jaicp import BotResponse, ChatApiClient
from jivo_ops.channel.switch import FIELD_KINDS, SWITCH_FIELDS, TELEPHONY_FIELDS, SwitchReply
from jivo_ops.cli import main
from jivo_ops.errors import ProtocolError
from jivo_ops.profile import save_profile
from jivo_ops.sandbox import Sandbox
from jivo_ops.transfer import TransferResult, format_timeline, run_transfer

# (wire field, value as scenarios send it, the attribute as read, what came, what JAICP expects)
LOOSE = [
    ("destination", 15, "15", "a number (15)", "a string"),
    ("theme", ["Оплата", "Доставка"], '["Оплата", "Доставка"]', "a list", "a string"),
    ("firstMessage", {"history": 3}, '{"history": 3}', "an object", "a string"),
    ("lastMessage", True, "true", "a boolean (true)", "a string"),
    ("closeChatPhrases", "/closeChat", ("/closeChat",), 'a string ("/closeChat")', "a list of strings"),
    ("ignoreOffline", "true", True, 'a string ("true")', "true or false"),
    ("oneTimeMessage", 0, False, "a number (0)", "true or false"),
    ("appendCloseChatButton", ["yes"], False, "a list", "true or false"),
    ("sendMessageHistoryAmount", "5", 5, 'a string ("5")', "a whole number"),
    ("sendMessageHistoryAmount", 10.0, 10, "a number (10.0)", "a whole number"),
    ("attributes", ["city=Москва"], {}, "a list", "an object of string values"),
]
STATE = "/Operator"
# (A bare string for closeChatPhrases is read as one phrase here, but the sandbox's scenario would not
# close on it: it plays JAICP, whose reading of that is unknown. So the list holds a number instead.)
ODD_SWITCH = {"state": STATE, "destination": 15, "theme": ["Оплата", "Доставка"], "closeChatPhrases": ["/closeChat", 3],
              "ignoreOffline": "true", "sendMessageHistoryAmount": "5"}
ODD_FIELDS = ["destination", "theme", "closeChatPhrases[1]", "ignoreOffline", "sendMessageHistoryAmount"]


def roots(warnings) -> list[str]:
    return [w.split(":")[0] for w in warnings]


@pytest.mark.parametrize("wire, value, read, came, expects", LOOSE, ids=[f"{c[0]}-{type(c[1]).__name__}" for c in LOOSE])
def test_a_wrongly_typed_field_is_kept_with_one_warning(wire, value, read, came, expects):
    reply = SwitchReply.from_json({"type": "switch", wire: value})
    attr = {v: k for k, v in SWITCH_FIELDS.items()}[wire]
    assert (dict(getattr(reply, attr)) if isinstance(read, dict) else getattr(reply, attr)) == read
    [warning] = reply.warnings
    assert warning.startswith(f"{wire}: JAICP expects {expects}, got {came}"), warning
    assert SwitchReply.from_json(reply.to_json()).warnings == (), "what was read is well typed"


def test_wrong_items_are_named_by_their_place():
    reply = SwitchReply.from_json({"type": "switch", "closeChatPhrases": ["/closeChat", 3, None],
                                   "attributes": {"город": "Москва", "заказ": 42}})
    assert reply.close_chat_phrases == ("/closeChat", "3")
    assert dict(reply.attributes) == {"город": "Москва", "заказ": "42"}
    assert roots(reply.warnings) == ["closeChatPhrases[1]", "closeChatPhrases[2]", "attributes.заказ"]
    assert reply.warnings[1].endswith("got null; left out")


def test_state_is_a_known_field_jaicf_fills_on_every_switch():
    wire = {"type": "switch", "closeChatPhrases": ["/closeChat"], "state": STATE}
    reply = SwitchReply.from_json(wire)
    assert reply.state == STATE and reply.warnings == () and dict(reply.extra) == {}
    assert reply.validate() == []  # no "not a documented switch field" for JAICF bots
    assert reply.to_json() == wire
    assert "state" in FIELD_KINDS and set(FIELD_KINDS) == set(SWITCH_FIELDS.values()) | {"state"}
    assert not set(FIELD_KINDS) & TELEPHONY_FIELDS


def test_state_of_another_type_is_one_warning_too():
    reply = SwitchReply.from_json({"type": "switch", "state": 7})
    assert reply.state == "7" and roots(reply.warnings) == ["state"]


def test_a_value_with_no_json_type_at_all_keeps_its_protocol_error():
    with pytest.raises(ProtocolError) as info:
        SwitchReply.from_json({"type": "switch", "destination": {1, 2}})
    assert info.value.field == "destination" and "not a JSON value" in str(info.value)


def test_replacing_a_field_drops_its_reading_warning():
    reply = SwitchReply.from_json({"type": "switch", "destination": 15, "theme": 1})
    assert roots(reply.replace(destination="sales").warnings) == ["theme"]
    assert reply == SwitchReply(destination="15", theme="1"), "equal by reading, warnings aside"


# -- through the sandbox, over HTTP ----------------------------------------------------------------


def test_the_sandbox_passes_odd_switch_fields_through_and_bot_response_reads_them():
    with Sandbox() as sb:
        shown = sb.configure_step(4, switch=ODD_SWITCH)
        assert shown == {"switch": ODD_SWITCH}, "step 4 keeps the types as given"
        with ChatApiClient(sb.profile.jaicp.chat_api_url) as chat:
            answer = chat.send_query("lenient-1", "Позовите оператора")
    wire = next(r for r in answer.raw["data"]["replies"] if r["type"] == "switch")
    assert wire["destination"] == 15 and wire["closeChatPhrases"] == ["/closeChat", 3]  # really sent as odd types
    switch = BotResponse.from_json(answer.raw).switch
    assert switch.destination == "15" and switch.close_chat_phrases == ("/closeChat", "3") and switch.state == STATE
    assert switch.ignore_offline is True
    assert switch.send_message_history_amount == 5 and switch.theme == '["Оплата", "Доставка"]'
    assert roots(switch.warnings) == ODD_FIELDS


@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_probe_jaicp_switch_first_reads_an_odd_switch_and_notes_each_warning(tmp_path, capsys):
    with Sandbox() as sb:
        sb.configure_step(4, switch=ODD_SWITCH)
        path = save_profile(sb.profile, tmp_path / "sandbox.toml")
        code = main(["probe", "jaicp", "--profile", str(path), "--switch-first", "--timeout", "5"])
        out = capsys.readouterr().out
        assert main(["probe", "jaicp", "--profile", str(path), "--switch-first", "--timeout", "5", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
    assert code == 0, out
    note = next(line for line in out.splitlines() if "switch read with warnings" in line)
    assert roots(note.split("switch read with warnings: ", 1)[1].split(" | ")) == ODD_FIELDS, note
    opened = report["exchanges"][0]
    assert opened["what"] == "open live chat" and opened["ok"] and "destination: JAICP expects a string" in opened["note"]


def test_the_transfer_runner_plays_an_odd_switch_and_notes_one_warning_each():
    with Sandbox() as sb:
        sb.configure_step(4, switch=ODD_SWITCH)
        result = run_transfer(sb, step_timeout=5.0)
    assert result.outcome == "answered", format_timeline(result)
    notes = [s.text for s in result.steps if s.author == "SYSTEM" and (s.text or "").startswith("switch reply: ")]
    assert [n.removeprefix("switch reply: ").split(":")[0] for n in notes] == ODD_FIELDS
    assert result.steps.index(next(s for s in result.steps if s.kind == "switch")) + 1 == \
        result.steps.index(next(s for s in result.steps if s.text == notes[0])), "right after the switch"
    closing = [s for s in result.steps if s.author == "CLIENT"][-1]
    assert closing.text == "/closeChat" and result.closed_by == "client"
    assert notes[0] == 'switch reply: destination: JAICP expects a string, got a number (15); kept as the text "15"'
    assert "SYSTEM   event   switch        switch reply: destination" in format_timeline(result)
    again = TransferResult.from_json(json.loads(json.dumps(result.to_json(), ensure_ascii=False)))
    assert [s.text for s in again.steps] == [s.text for s in result.steps], "the notes survive the JSONL line"
