"""`jivo-ops switch` and `jivo-ops jivo status|send` through jivo_ops.cli.main: stdout, stderr,
exit codes, and no token anywhere in what a user sees."""

from __future__ import annotations

import json

import pytest

from _helpers import closed_port_url
from _servers import scripted_server, srv  # noqa: F401 - fixtures
from jivo_ops.cli import main

KEY, CHANNEL = "Hs7Kq2Lm9Np4Rt6V", "Wx3Yz5Ab8C"
PATH = f"/{KEY}/{CHANNEL}"
JS_PREFIX = "$response.replies = $response.replies || []; $response.replies.push("


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    for text in (out, err):
        assert KEY not in text and CHANNEL not in text, text
    return code, out, err


# --- switch ----------------------------------------------------------------------------------------

def test_switch_with_no_flags_is_just_the_type(capsys):
    code, out, err = run(capsys, "switch")
    assert code == 0
    assert json.loads(out) == {"type": "switch"}
    assert "warning: closeChatPhrases" in err


def test_switch_every_flag(capsys):
    code, out, err = run(capsys, "switch", "--first-message", "Клиент просит оператора", "--last-message",
                         "Спасибо за обращение", "--close-phrase", "/closeChat", "--close-phrase", "стоп",
                         "--append-close-button", "--ignore-offline", "--one-time", "--destination", "sales",
                         "--history", "5", "--attr", "город=Москва", "--attr", "tier=gold",
                         "--hidden-attr", "ticket=42=x")
    assert code == 0
    assert json.loads(out) == {
        "type": "switch", "firstMessage": "Клиент просит оператора", "lastMessage": "Спасибо за обращение",
        "closeChatPhrases": ["/closeChat", "стоп"], "appendCloseChatButton": True, "ignoreOffline": True,
        "oneTimeMessage": True, "destination": "sales", "sendMessagesToOperator": True,
        "sendMessageHistoryAmount": 5, "attributes": {"город": "Москва", "tier": "gold"},
        "hiddenAttributes": {"ticket": "42=x"}}
    assert "Клиент просит оператора" in out and "\\u" not in out  # Cyrillic kept as is
    warned = {line.split(":")[1].strip() for line in err.splitlines()}
    assert {"destination", "attributes", "hiddenAttributes", "appendCloseChatButton"} <= warned
    assert "sendMessageHistoryAmount" not in warned  # --history sets both fields


def test_switch_history_sets_both_fields(capsys):
    code, out, _ = run(capsys, "switch", "--history", "3", "--close-phrase", "/closeChat")
    assert code == 0
    assert json.loads(out) == {"type": "switch", "closeChatPhrases": ["/closeChat"],
                               "sendMessagesToOperator": True, "sendMessageHistoryAmount": 3}


def test_switch_js_format(capsys):
    code, out, err = run(capsys, "switch", "--close-phrase", "/closeChat", "--first-message", "Привет",
                         "--format", "js")
    assert code == 0 and err == ""
    snippet = out.strip()
    assert snippet.startswith(JS_PREFIX) and snippet.endswith(");")
    assert json.loads(snippet[len(JS_PREFIX):-2]) == {"type": "switch", "firstMessage": "Привет",
                                                     "closeChatPhrases": ["/closeChat"]}


@pytest.mark.parametrize("argv, message", [
    (["--attr", "no-equals"], "expected NAME=VALUE"),
    (["--history", "ten"], "whole number"),
    (["--history", "0"], "at least 1"),
])
def test_switch_bad_flag_values_are_one_clear_error(capsys, argv, message):
    # read by SwitchReply.from_form, as in the SwitchBuilder widget: one line, exit 2
    code, out, err = run(capsys, "switch", *argv)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_switch_unknown_format_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["switch", "--format", "yaml"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err and "Traceback" not in err


def test_switch_bad_custom_data_is_one_line(capsys):
    code, out, err = run(capsys, "switch", "--custom-data", "{oops")
    assert code != 0 and out == ""
    assert err.startswith("jivo-ops: error: customData: not valid JSON") and len(err.strip().splitlines()) == 1


# --- jivo status / send ------------------------------------------------------------------------------

def test_status_online_and_offline(capsys, srv):
    url = srv.url + PATH
    srv.script((200, "1"), (200, "0"))
    assert run(capsys, "jivo", "status", url) == (0, "1 online\n", "")
    assert run(capsys, "jivo", "status", url) == (0, "0 offline\n", "")
    assert [r.path for r in srv.requests] == [PATH + "/status"] * 2


def test_status_of_a_removed_channel(capsys, srv):
    srv.script((404, "Канал не найден"))
    code, out, err = run(capsys, "jivo", "status", srv.url + PATH)
    assert code != 0 and out == ""
    assert "Канал не найден" in err and len(err.strip().splitlines()) == 1


def test_send_ok(capsys, srv):
    code, out, err = run(capsys, "jivo", "send", srv.url + PATH, "--client-id", "42", "--name", "Иван",
                         "--text", "Добрый день!")
    assert code == 0 and err == ""
    (request,) = srv.requests
    body = json.loads(request.body)
    assert body["sender"] == {"id": "42", "name": "Иван"}
    assert body["message"]["type"] == "text" and body["message"]["text"] == "Добрый день!"
    assert body["message"]["id"] in out
    assert request.header("content-type") == "application/json; charset=utf-8"
    assert "Добрый день!".encode() in request.body


def test_send_rejected_is_one_attempt_with_jivos_reason(capsys, srv):
    srv.reset(default=(400, "Invalid message type"))
    code, out, err = run(capsys, "jivo", "send", srv.url + PATH, "--client-id", "42", "--text", "x",
                         "--retry-wait", "0.01")
    assert code != 0 and out == ""
    assert "Invalid message type" in err and "400" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert len(srv.requests) == 1


def test_send_retries_5xx_with_the_given_wait(capsys, srv):
    srv.script((503, "busy"), (500, "busy"))
    code, _, err = run(capsys, "jivo", "send", srv.url + PATH, "--client-id", "42", "--text", "x",
                       "--retry-wait", "0.01")
    assert code == 0 and err == ""
    assert len(srv.requests) == 3


def test_send_always_5xx_gives_up_after_three_resends(capsys, srv):
    srv.reset(default=(502, "bad gateway"))
    code, _, err = run(capsys, "jivo", "send", srv.url + PATH, "--client-id", "42", "--text", "x",
                       "--retry-wait", "0.01")
    assert code != 0 and "502" in err
    assert len(srv.requests) == 4


def test_send_to_a_closed_port(capsys):
    code, out, err = run(capsys, "jivo", "send", closed_port_url(PATH), "--client-id", "1",
                         "--text", "x", "--retry-wait", "0.01")
    assert code != 0 and out == ""
    assert "ConnectError" in err and "4 attempt" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("url", ["not-a-url", f"ftp://wh.jivosite.com{PATH}"])
def test_bad_urls_are_one_line_errors(capsys, url):
    code, out, err = run(capsys, "jivo", "status", url, "--retry-wait", "0")
    assert code != 0 and out == "" and err.startswith("jivo-ops: error:") and "Traceback" not in err


@pytest.mark.parametrize("argv, message", [
    (["--retry-wait", "soon"], "expected seconds"),
    (["--retry-wait", "-1"], "0–600"),
    (["--retries", "5"], "0–3"),
    (["--timeout", "0"], "more than 0"),
])
def test_jivo_bad_numbers_are_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        main(["jivo", "status", "https://wh.jivosite.com" + PATH, *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and KEY not in err


def test_send_requires_client_id_and_text(capsys):
    with pytest.raises(SystemExit) as info:
        main(["jivo", "send", "https://wh.jivosite.com" + PATH, "--text", "x"])
    assert info.value.code == 2
    assert "--client-id" in capsys.readouterr().err


def test_status_url_from_the_profile(capsys, srv, tmp_path):
    from jivo_ops.profile import Profile, save_profile

    path = save_profile(Profile().replace(jivo={"unique_url": srv.url + PATH}), tmp_path / "p.toml")
    srv.script((200, "1"))
    assert run(capsys, "jivo", "status", "--profile", str(path)) == (0, "1 online\n", "")
    assert srv.requests[0].path == PATH + "/status"
    empty = save_profile(Profile(), tmp_path / "empty.toml")
    code, out, err = run(capsys, "jivo", "send", "--profile", str(empty), "--client-id", "1", "--text", "x")
    assert code != 0 and "jivo.unique_url" in err and out == ""


def test_verbose_logs_never_hold_the_token(capsys, caplog, srv):
    import logging

    caplog.set_level(logging.DEBUG)
    srv.script((503, "busy"), (200, ""))
    code, _, _ = run(capsys, "-v", "-v", "jivo", "send", srv.url + PATH, "--client-id", "42", "--text", "x",
                     "--retry-wait", "0.01")
    assert code == 0
    logged = caplog.text
    assert "retry 1 of 3" in logged and srv.url.split("//")[1] in logged  # the traffic is there…
    assert KEY not in logged and CHANNEL not in logged                   # …the token is not
