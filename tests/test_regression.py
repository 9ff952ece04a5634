"""Regression checks: `expect` in scripts, their evaluation, the shipped examples against a sandbox
broken four ways, JSONL, the CLI's exit codes and JUnit XML, JAICP XML tests."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from lxml import etree

from jivo_ops.cli import main
from jivo_ops.profile import save_profile
from jivo_ops.sandbox import Sandbox
from jivo_ops.transfer import Check, Script, ScriptError, TransferResult, load_script, load_scripts, read_jsonl, \
    run_transfer
from jivo_ops.transfer.checks import NO_OPERATOR_SIDE, evaluate_operator_received, settle_operator_checks
from jivo_ops.transfer.regression import EXAMPLE_SANDBOX_SETTINGS, junit_xml, load_suite, run_suite

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "handover-examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
JUNIT_XSD = etree.XMLSchema(etree.parse(str(FIXTURES / "junit.xsd")))
STEP = 5.0
SIDE_TS = datetime(2026, 1, 1, tzinfo=timezone.utc)


def failing(batches) -> list[tuple[str, int, str]]:
    return sorted((r.script, c.step, c.check) for batch in batches for r in batch for c in r.failed_checks)


def assert_valid_junit(text: str) -> etree._Element:
    document = etree.fromstring(text.encode("utf-8"))
    assert JUNIT_XSD.validate(document), JUNIT_XSD.error_log
    return document


# -- parsing: one clear error naming file, step and key --------------------------------------------


@pytest.mark.parametrize("script, message", [
    ({"steps": [{"say": "hi", "expect": {"colour": "red"}}]},
     "s.json: step 1 (say): expect.colour is not a check of a say step; allowed: text, text_contains"),
    ({"steps": [{"say": "hi", "expect": {"within": 2}}]}, "step 1 (say): expect.within is not a check of a say step"),
    ({"steps": [{"switch": None, "expect": {"within": -1}}]},
     "step 1 (switch): expect.within must be a positive number of seconds"),
    ({"steps": [{"say": "hi"}, {"say": "x", "expect": {"text_matches": "("}}]},
     "step 2 (say): expect.text_matches is not a regular expression"),
    ({"steps": [{"wait_operator": 3, "expect": {"operator_received": {"history": 3}}}]},
     "step 1 (wait_operator): expect.operator_received unknown key(s) ['history']"),
    ({"steps": [{"wait_operator": 3, "expect": {"operator_received": {"history_min": -1}}}]},
     "expect.operator_received .history_min must be a whole number ≥ 0"),
    ({"steps": [{"pause": 1, "expect": {"text": "x"}}]}, "step 1 (pause): expect.text is not a check of a pause step"),
    ({"steps": [{"say": "hi", "expect": "бот"}]}, "step 1 (say): 'expect' must be a table/object of checks"),
    ({"outcome": "happy", "steps": [{"say": "hi"}]}, "s.json: 'outcome' must be one of answered, no_operators"),
    ({"clients": 0, "steps": [{"say": "hi"}]}, "s.json: 'clients' must be a whole number ≥ 1, not 0"),
])
def test_a_bad_expectation_is_one_error_naming_file_step_and_key(tmp_path, script, message):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(script), encoding="utf-8")
    with pytest.raises(ScriptError) as caught:
        load_script(path)
    assert message in str(caught.value) and len(str(caught.value).splitlines()) == 1


def test_the_issue_example_parses_and_round_trips(tmp_path):
    path = tmp_path / "offline.transfer.toml"
    path.write_text('''name = "офлайн: предлагаем перезвонить"
outcome = "no_operators"
clients = 3

[[steps]]
say = "/start"
expect = { state = "/Start", text_contains = "бот" }

[[steps]]
switch = "Позовите оператора"
expect = { switch = { sendMessagesToOperator = true, closeChatPhrases = ["/closeChat"] }, within = 2.0 }

[[steps]]
wait_operator = 30
expect = { within = 20.0, operator_received = { first_message_contains = "Позовите оператора", history_min = 3 } }
''', encoding="utf-8")
    script = load_script(path)
    assert (script.name, script.outcome, script.clients, script.expected_outcome) == (
        "офлайн: предлагаем перезвонить", "no_operators", 3, "no_operators")
    assert script.steps[1].expect == {"switch": {"sendMessagesToOperator": True, "closeChatPhrases": ["/closeChat"]},
                                      "within": 2.0}
    assert Script.from_json(script.to_json()) == script
    assert Script.from_json({"steps": [{"say": "hi"}]}).expected_outcome is None  # a plain bot test


# -- operator_received, on literal operator-side views ---------------------------------------------


SIDE = {"first_message": "CLIENT\n/start\n\nBOT\nЗдравствуйте!\n\nCLIENT\nПозовите оператора",
        "sender": {"id": "c-1", "name": "Клиент", "phone": "+79990000000"},
        "messages": [{"ts": "2026-01-01T00:00:00+00:00", "text": "CLIENT\n/start…", "type": "firstMessage"},
                     {"ts": "2026-01-01T00:00:01+00:00", "text": "Мой заказ 4711", "type": "history"},
                     {"ts": "2026-01-01T00:00:01+00:00", "text": "Где он?", "type": "history"}]}


@pytest.mark.parametrize("key, expected, side, passed, got", [
    ("first_message_contains", "Позовите", SIDE, True, SIDE["first_message"]),
    ("first_message_contains", "заказ", SIDE, False, SIDE["first_message"]),
    ("history_min", 5, SIDE, True, 5),  # 3 blocks of firstMessage + 2 messages sent with sendMessagesToOperator
    ("history_min", 6, SIDE, False, 5),
    ("history_min", 1, {"first_message": "Позовите оператора", "messages": []}, False, 0),  # the phrase alone
    ("history_min", 2, {"first_message": "Позовите оператора", "messages": SIDE["messages"]}, True, 2),
    ("sender", {"phone": "+79990000000"}, SIDE, True, SIDE["sender"]),
    ("sender", {"phone": "+70000000000"}, SIDE, False, SIDE["sender"]),
    ("sender", {"phone": "+79990000000"}, {"first_message": "x"}, False, None),
])
def test_operator_received_reads_the_operator_side_view(key, expected, side, passed, got):
    ok, value, message = evaluate_operator_received(key, expected, side)
    assert (ok, value) == (passed, got) and message


def test_operator_received_is_skipped_without_the_view_and_settled_with_it():
    pending = Check(4, "wait_operator", "operator_received.history_min", "skipped", 3, None, NO_OPERATOR_SIDE)
    result = TransferResult("t", "c", "s", "answered", SIDE_TS, checks=(pending,))
    assert settle_operator_checks(result) is result and result.passed  # human operators: skipped, never passed
    seen = settle_operator_checks(TransferResult("t", "c", "s", "answered", SIDE_TS, checks=(pending,),
                                                 operator_side=SIDE))
    assert [(c.status, c.got) for c in seen.checks] == [("passed", 5)]
    short = settle_operator_checks(TransferResult("t", "c", "s", "answered", SIDE_TS, checks=(pending,),
                                                  operator_side={"first_message": "x", "messages": []}))
    assert [(c.status, c.got) for c in short.checks] == [("failed", 0)] and not short.passed


# -- the engine against the sandbox --------------------------------------------------------------


@pytest.fixture(scope="module")
def examples():
    return load_suite([EXAMPLES])


def test_the_shipped_examples_are_the_five_scripts(examples):
    assert sorted(s.name for s in examples) == [
        "close phrase returns to the bot", "happy path", "history reaches the operator", "offline path",
        "slow operator breaks the service level"]


def test_unbroken_every_check_passes_operator_received_included(examples):
    with Sandbox(**EXAMPLE_SANDBOX_SETTINGS) as sb:
        batches = run_suite(examples, sb, step_timeout=STEP)
        assert sb.settings.online  # the offline script's sandbox settings were restored
    assert failing(batches) == [] and all(b.passed for b in batches)
    checks = [c for b in batches for r in b for c in r.checks]
    received = [c for c in checks if c.check.startswith("operator_received.")]
    assert {(c.check, c.status) for c in received} == {
        ("operator_received.first_message_contains", "passed"), ("operator_received.history_min", "passed")}
    assert {c.status for c in checks} == {"passed"}


def test_against_human_operators_operator_received_is_skipped_never_passed(examples):
    history = [s for s in examples if s.name == "history reaches the operator"]
    with Sandbox(**EXAMPLE_SANDBOX_SETTINGS, operator_side_view=False) as sb:
        [[result]] = run_suite(history, sb, step_timeout=STEP)
    assert result.operator_side is None and result.passed
    received = [c for c in result.checks if c.check.startswith("operator_received.")]
    assert {(c.check, c.status, c.message) for c in received} == {
        ("operator_received.first_message_contains", "skipped", NO_OPERATOR_SIDE),
        ("operator_received.history_min", "skipped", NO_OPERATOR_SIDE)}


NO_SWITCH_FAILURES = [
    ("close phrase returns to the bot", 0, "outcome"), ("close phrase returns to the bot", 1, "switch"),
    ("happy path", 0, "outcome"), ("happy path", 2, "state"), ("happy path", 2, "switch"), ("happy path", 2, "within"),
    ("history reaches the operator", 0, "outcome"), ("history reaches the operator", 3, "switch"),
    ("offline path", 0, "outcome"), ("offline path", 2, "switch"), ("offline path", 2, "text_contains"),
    ("slow operator breaks the service level", 0, "outcome")]


@pytest.mark.parametrize("broken, expected", [
    pytest.param({"operator_keywords": ("человек",)}, NO_SWITCH_FAILURES, id="no switch on the phrase"),
    pytest.param({"switch_fields": {"closeChatPhrases": ["/closeChat"]}},
                 [("history reaches the operator", 3, "switch")], id="switch without sendMessagesToOperator"),
    pytest.param({"greeting": "Добрый день! Чем помочь?"}, [("happy path", 1, "text_contains")],
                 id="changed bot text"),
    pytest.param({"think_time": 2.5}, [("slow operator breaks the service level", 2, "within")],
                 id="operators slower than within"),
    pytest.param({"first_message": "last_phrase"},
                 [("history reaches the operator", 4, "operator_received.first_message_contains"),
                  ("history reaches the operator", 4, "operator_received.history_min")],
                 id="history not forwarded"),
])
def test_a_broken_sandbox_fails_exactly_the_checks_it_breaks(examples, broken, expected):
    with Sandbox(**{**EXAMPLE_SANDBOX_SETTINGS, **broken}) as sb:
        batches = run_suite(examples, sb, step_timeout=STEP)
    assert failing(batches) == expected
    for check in (c for b in batches for r in b for c in r.failed_checks):
        assert check.expected is not None and check.message.startswith("expected ")


def test_the_failed_checks_say_expected_and_got(examples):
    slow = next(s for s in examples if s.name.startswith("slow"))
    with Sandbox(**EXAMPLE_SANDBOX_SETTINGS, think_time=2.5) as sb:
        result = run_suite([slow], sb, step_timeout=STEP)[0][0]
    [check] = result.failed_checks
    assert (check.step, check.action, check.check, check.expected) == (2, "wait_operator", "within", 2.0)
    assert check.got > 2.0 and "expected the operator's message within 2 s; it took" in check.message
    assert result.outcome == "answered" and not result.passed


def test_a_step_that_never_ran_is_skipped_with_the_reason():
    script = Script.from_json({"steps": [{"switch": None}, {"wait_operator": 3, "expect": {"within": 1.0}},
                                         {"close": None, "expect": {"text_contains": "снова"}}]})
    with Sandbox(online=False) as sb:
        result = run_transfer(sb.profile, script=script, step_timeout=STEP)
    assert result.outcome == "no_operators"
    assert [(c.step, c.check, c.status, c.message) for c in result.checks] == [
        (2, "within", "skipped", "not run: the transfer ended earlier (no_operators)"),
        (3, "text_contains", "skipped", "not run: the transfer ended earlier (no_operators)"),
        (0, "outcome", "failed", "expected the outcome answered; it was no_operators")]


def test_a_switch_without_close_phrases_is_answered_and_the_close_is_skipped_with_a_note():
    with Sandbox(switch_fields={}) as sb:
        result = run_transfer(sb.profile, step_timeout=STEP)  # the default script ends with a close
        finished = sb.history.entries("livechat_finished")
    assert result.outcome == "answered" and result.passed, result.render_timeline()
    assert [s.text for s in result.steps if s.author == "CLIENT"] == ["Здравствуйте", "Позовите оператора"]
    assert any(s.step == "close" and "no closeChatPhrases" in (s.text or "") for s in result.steps)
    assert finished == []


def test_checks_travel_in_the_jsonl_and_the_summary_counts_them(tmp_path):
    script = Script.from_json({"name": "bot", "steps": [
        {"say": "/start", "expect": {"state": "/Start", "text": "нет такого"}},
        {"switch": None, "expect": {"switch": {"closeChatPhrases": ["/closeChat"]}, "within": 2.0}},
        {"wait_operator": 3, "expect": {"operator_received": {"history_min": 1}}}]})
    out = tmp_path / "t.jsonl"
    with Sandbox() as sb:
        batch = run_suite([script], sb, step_timeout=STEP, out=out)[0]
    row = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert [(c["step"], c["action"], c["check"], c["status"]) for c in row["checks"]] == [
        (1, "say", "state", "passed"), (1, "say", "text", "failed"), (2, "switch", "switch", "passed"),
        (2, "switch", "within", "passed"), (3, "wait_operator", "operator_received.history_min", "passed"),
        (0, "script", "outcome", "passed")]
    assert set(row["checks"][1]) == {"step", "action", "check", "status", "expected", "got", "message"}
    assert row["checks"][1]["got"] == ["Здравствуйте! Я бот. Напишите «оператор», чтобы поговорить с человеком."]
    assert read_jsonl(out)[0].checks == batch[0].checks
    assert batch.summary()["checks"] == {"passed": 5, "failed": 1, "skipped": 0} and not batch.passed


def test_a_suite_writes_every_scripts_transfers_to_its_out_file_as_they_finish(tmp_path):
    out = tmp_path / "suite.jsonl"
    on_disk = []  # (script, lines in the file) as each transfer finishes: nothing waits for the suite's end
    first, second = (Script.from_json({"name": n, "steps": [{"say": "/start"}]}) for n in ("first", "second"))
    with Sandbox() as sb:
        run_suite([first, second], sb, step_timeout=STEP, clients=2, out=out,
                  on_result=lambda r: on_disk.append((r.script, len(out.read_text(encoding="utf-8").splitlines()))))
    assert [r.script for r in read_jsonl(out)] == ["first", "first", "second", "second"]
    assert on_disk == [("first", 1), ("first", 2), ("second", 3), ("second", 4)]


# -- the command line ----------------------------------------------------------------------------


@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_cli_exit_codes_failed_checks_and_junit(tmp_path, capsys):
    happy, junit = EXAMPLES / "happy-path.transfer.toml", tmp_path / "out" / "report.xml"
    with Sandbox(**EXAMPLE_SANDBOX_SETTINGS) as sb:
        profile = save_profile(sb.profile, tmp_path / "p.toml")
        assert main(["transfer", "--profile", str(profile), "--script", str(happy), "--clients", "2",
                     "--junit", str(junit)]) == 0
        document = assert_valid_junit(junit.read_text(encoding="utf-8"))
        assert [(s.get("name"), s.get("tests"), s.get("failures")) for s in document] == [("happy path", "2", "0")]
        capsys.readouterr()
        sb.set(greeting="Добрый день! Чем помочь?")
        assert main(["transfer", "--profile", str(profile), "--script", str(happy), "--junit", str(junit)]) == 1
    out = capsys.readouterr().out
    assert "checks: failed                        1" in out
    assert "    step 1 (say) text_contains: expected a text reply containing 'бот'" in out
    assert "        expected: 'бот'\n        got:      ['Добрый день! Чем помочь?']" in out
    document = assert_valid_junit(junit.read_text(encoding="utf-8"))
    [case] = document.iter("testcase")
    [failure] = case.findall("failure")
    assert case.get("name") == "happy path [client 1]" and float(case.get("time")) > 0
    assert failure.get("message").startswith("step 1 (say) text_contains: expected a text reply containing 'бот'")
    assert main(["transfer", "--sandbox", "--script", str(tmp_path / "none.toml")]) == 2


def test_junit_of_every_example_validates_and_so_does_pytests_own(tmp_path, examples):
    with Sandbox(**EXAMPLE_SANDBOX_SETTINGS, greeting="Добрый день!") as sb:
        batches = run_suite(examples, sb, step_timeout=STEP, clients=2)
    document = assert_valid_junit(junit_xml(batches))
    assert document.get("tests") == "10" and document.get("failures") == "2"
    assert len(document.findall("testsuite")) == 5


# -- JAICP XML tests -----------------------------------------------------------------------------


def test_jaicp_xml_every_supported_tag():
    greeting, event, handover = load_scripts(FIXTURES / "regression" / "jaicp-tests.xml")
    assert greeting.name == "jaicp-tests: greeting"
    assert [(s.action, s.text, s.expect) for s in greeting.steps] == [
        ("say", "/start", {"text": "Здравствуйте! Я бот. Напишите «оператор», чтобы поговорить с человеком.",
                           "state": "/Start"})]
    assert [(s.action, s.text or s.name, s.expect) for s in event.steps] == [
        ("say", "какая погода?", {"state": "/CatchAll"}),
        ("event", "myEvent", {"text": "Событие myEvent получено.", "state": "/Event"})]
    assert [s.action for s in handover.steps] == ["say", "switch", "wait_operator", "close"]  # the file's marker
    assert handover.expected_outcome == "answered" and greeting.expected_outcome is None
    with Sandbox() as sb:
        batches = run_suite([greeting, event, handover], sb, step_timeout=STEP)
    assert failing(batches) == [] and [b[0].outcome for b in batches][2] == "answered"


@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_switch_state_turns_an_unmarked_test_into_a_hand_over(capsys):
    unmarked = FIXTURES / "regression" / "unmarked.xml"
    assert [s.action for s in load_script(unmarked).steps] == ["say"]
    assert [s.action for s in load_script(unmarked, switch_state="/Operator").steps] == [
        "switch", "wait_operator", "close"]
    assert main(["transfer", "--sandbox", "--script", str(unmarked), "--switch-state", "/Operator"]) == 0
    assert "outcome: answered                     1" in capsys.readouterr().out


@pytest.mark.parametrize("body, message", [
    ('<test>\n  <test-case id="a">\n    <q>hi</q>\n    <mockData/>\n  </test-case>\n</test>',
     "t.xml: line 4: tag <mockData> is not supported (supported: <test>, <test-case>, <q>, <a>, <event>)"),
    ('<test>\n<test-case>\n<a>hi</a>\n</test-case>\n</test>', "t.xml: line 3: <a> must follow a <q> or an <event>"),
    ('<test>\n<test-case>\n<q lang="ru">hi</q>\n</test-case>\n</test>', "t.xml: line 3: <q> attribute(s) ['lang']"),
    ('<test>\n<q>hi</q>\n</test>', "t.xml: line 2: <q> must be inside a <test-case>"),
    ('<test><test-case>', "t.xml: broken XML at line 1"),
])
def test_jaicp_xml_errors_name_the_tag_and_line(tmp_path, body, message):
    (tmp_path / "t.xml").write_text(body, encoding="utf-8")
    with pytest.raises(ScriptError) as caught:
        load_scripts(tmp_path / "t.xml")
    assert message in str(caught.value)


# -- TransferConsole -------------------------------------------------------------------------------


def test_the_console_shows_a_checks_column_and_marks_failed_checks_in_the_timeline(examples):
    from jivo_ops.widgets import TransferConsole

    happy = next(s for s in examples if s.name == "happy path")
    with Sandbox(**EXAMPLE_SANDBOX_SETTINGS, greeting="Добрый день! Чем помочь?") as sb:
        console = TransferConsole(sb, [happy], clients=1, step_timeout=STEP)
        console.script_choice.value = "happy path"
        console.run_button.click()
        batch = console.wait(60)
    assert batch is not None and not batch.passed
    assert ">проверки</th>" in console.table.value
    assert "✗ 7 ок, 1 не прошли, 0 пропущены" in console.table.value
    assert console.status.text.startswith("✗")
    assert "✗ step 1 (say) text_contains: expected a text reply containing" in console.timeline.value
    assert "got:      [&#x27;Добрый день! Чем помочь?&#x27;]" in console.timeline.value
