"""`jivo-ops check`: table and JSON output, exit codes, profile errors, probes on the sandbox, no token."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from jivo_ops.cli import main
from jivo_ops.profile import JaicpSettings, JivoSettings, Profile, save_profile

from _helpers import assert_no_secret, clear_jivo_ops_env, random_token

# The assertions are the English sentences of the code (issue 15 §3).
pytestmark = pytest.mark.usefixtures("english")


ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "jivo_ops" / "data" / "example-profile.toml"
HEADER = ["severity", "code", "step", "field", "problem", "fix"]


@pytest.fixture(autouse=True)
def _terminal(monkeypatch):
    clear_jivo_ops_env(monkeypatch)
    monkeypatch.setenv("COLUMNS", "100")


@pytest.fixture
def broken(tmp_path) -> tuple[Path, list[str]]:
    """A profile with typical mistakes and distinctive random tokens."""
    webhook, key, ident, reporter = random_token(32), random_token(16), random_token(10), random_token(40)
    chat = f"{random_token(8)}:{secrets.token_hex(20)}"
    internal = f"https://app.jaicp.com/chatadapter/chatapi/webhook/jivosite/{webhook}"
    unique = f"https://wh.jivosite.com/{key}/{ident}"
    profile = Profile(
        jaicp=JaicpSettings(chat_api_url=f"https://app.jaicp.com/chatapi/{chat}", internal_webhook_url=internal,
                            external_api_endpoint=unique[:-2], inbound_operator="", reporter_token=reporter,
                            bot_id="broken_bot-1-AbC"),
        jivo=JivoSettings(webhook_url=internal.replace("https", "http") + " ", unique_url=unique, chunked=False),
        name="broken")
    return save_profile(profile, tmp_path / "broken.toml"), [webhook, key, ident, chat, reporter]


def run_check(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_example_profile_exits_0_through_the_installed_command(tmp_path):
    """The real console script, from another directory: exit 0, one warning row, the summary line."""
    command = Path(sys.executable).with_name("jivo-ops")
    done = subprocess.run([str(command), "check", "--profile", str(EXAMPLE)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "COLUMNS": "120"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == HEADER
    assert lines[2].split()[:3] == ["warning", "J404", "4"]
    assert lines[-1] == "profile 'example': 0 errors, 1 warning — no errors; read the warnings"
    assert done.stderr == ""


def test_broken_profile_table_fits_the_terminal_and_exits_1(capsys, broken):
    path, tokens = broken
    code, out, err = run_check(capsys, "--profile", str(path))
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == HEADER
    assert all(len(line) <= 100 for line in lines), "\n".join(line for line in lines if len(line) > 100)
    rows = [line.split()[:3] for line in lines[2:] if line[:1] in ("e", "w")]
    # By step, errors first within a step, then by code.
    assert rows == [["error", "J002", "2"], ["error", "J203", "2"], ["error", "J204", "2"], ["warning", "J006", "2"],
                    ["error", "J304", "3"], ["error", "J305", "3"]]
    # Wrapped, not cut: every word of the fix survives in its column.
    fix_start = lines[0].index("fix")
    fix_words = " ".join(line[fix_start:].strip() for line in lines[2:] if len(line) > fix_start).split()
    assert "Сохранить." in fix_words and "«Chunked" in fix_words and "…" not in out
    assert lines[-1] == "profile 'broken': 5 errors, 1 warning — fix step 2, 3 first"
    assert_no_secret(out + err, tokens)


def test_json_format(capsys, broken):
    path, tokens = broken
    code, out, err = run_check(capsys, "--profile", str(path), "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False and data["errors"] == 5 and data["warnings"] == 1
    assert [f["code"] for f in data["findings"]] == ["J002", "J203", "J204", "J006", "J304", "J305"]
    chunked = next(f for f in data["findings"] if f["code"] == "J204")
    assert chunked == {"code": "J204", "severity": "error", "step": 2, "step_title": "Настройка Jivo",
                       "field": "«Chunked кодировка в запросах»", "key": "jivo.chunked",
                       "message": "is off; the instructions require it on",
                       "fix": "In Jivo open the channel's settings and switch «Chunked кодировка в запросах» on."}
    messages = {f["code"]: f["message"] for f in data["findings"]}
    assert messages["J203"] == "differs from JAICP's «Internal Webhook Url»: it uses http:// where «Internal Webhook Url» uses https://"
    assert messages["J304"] == ("differs from Jivo's «Уникальный URL»: it is cut short: 2 characters missing at the end "
                                "(a truncated token)")
    assert messages["J002"] == "ends with a space"
    assert data["probes"] == []
    assert_no_secret(out + err, tokens)


def test_example_as_json_exits_0(capsys):
    code, out, _ = run_check(capsys, "--profile", str(EXAMPLE), "--format", "json")
    assert code == 0 and json.loads(out)["ok"] is True


def test_default_profile_from_the_environment(capsys, broken, monkeypatch):
    path, _ = broken
    monkeypatch.setenv("JIVO_OPS_PROFILE", str(path))
    code, out, _ = run_check(capsys)
    assert code == 1 and out.splitlines()[-1].startswith("profile 'broken'")
    monkeypatch.setenv("JIVO_OPS_PROFILE", str(EXAMPLE))
    assert run_check(capsys)[0] == 0


@pytest.mark.parametrize("text, expected", [
    ('[jivo]\nunique_url = "https://wh.jivosite.com/{t}\n', "bad.toml:2: [jivo.unique_url] broken TOML"),
    ('[jivo]\nwebhok_url = "https://app.jaicp.com/chatadapter/chatapi/webhook/jivosite/{t}"\n',
     "bad.toml:2: [jivo.webhok_url] unknown key (did you mean 'webhook_url'?)"),
    ('[jivo]\nchunked = "on"\n', "bad.toml:2: [jivo.chunked] must be true or false, got str"),
])
def test_profile_errors_are_one_line_and_exit_2(capsys, tmp_path, text, expected):
    token = random_token(24)
    path = tmp_path / "bad.toml"
    path.write_text(text.replace("{t}", token), encoding="utf-8")
    code, out, err = run_check(capsys, "--profile", str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("jivo-ops: error: ") and expected in err
    assert_no_secret(err, [token])


def test_no_profile_at_all_is_exit_2(capsys):
    code, _, err = run_check(capsys)
    assert code == 2 and "--profile PATH or set JIVO_OPS_PROFILE" in err


def test_bad_timeout_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["check", "--profile", str(EXAMPLE), "--probe", "--timeout", "-1"])
    assert caught.value.code == 2
    assert "expected more than 0" in capsys.readouterr().err


# -- probes on the sandbox ------------------------------------------------------------------------

def _sandbox_tokens(profile: Profile) -> list[str]:
    urls = [profile.jaicp.chat_api_url, profile.jaicp.internal_webhook_url, profile.jivo.unique_url]
    return [url.rstrip("/").rsplit("/", 1)[-1] for url in urls] + [profile.jaicp.reporter_token]


def test_probe_on_a_wired_sandbox_exits_0(capsys, tmp_path, sandbox):
    path = save_profile(sandbox.profile, tmp_path / "sandbox.toml")
    code, out, err = run_check(capsys, "--profile", str(path), "--probe", "--timeout", "5")
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0].split() == ["probe", "result", "latency", "detail", "next", "step"]
    assert "Jivo status" in out and "Chat API round trip" in out
    assert lines[-1] == "profile 'sandbox': 0 errors, 0 warnings, probes: 6 ok, 0 failed — all four steps look right"
    assert all(len(line) <= 100 for line in lines)
    assert_no_secret(out + err, _sandbox_tokens(sandbox.profile))


@pytest.mark.sandbox(configured=False, online=False)
def test_probe_on_an_unconfigured_offline_sandbox_exits_1(capsys, tmp_path, sandbox):
    path = save_profile(sandbox.profile, tmp_path / "sandbox.toml")
    code, out, err = run_check(capsys, "--profile", str(path), "--probe", "--timeout", "5", "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert [f["code"] for f in data["findings"]] == ["J201", "J204", "J301", "J305"]
    status = next(p for p in data["probes"] if p["name"] == "Jivo status")
    assert status["outcome"] == "failed" and status["detail"].startswith("0: no operator is online")
    assert next(p for p in data["probes"] if p["name"] == "Chat API round trip")["ok"] is True
    assert_no_secret(out + err, _sandbox_tokens(sandbox.profile))


def test_probe_failures_alone_make_exit_1(capsys, tmp_path, sandbox):
    sandbox.set(online=False)
    path = save_profile(sandbox.profile, tmp_path / "sandbox.toml")
    code, out, _ = run_check(capsys, "--profile", str(path), "--probe", "--timeout", "5")
    assert code == 1
    assert out.splitlines()[-1] == ("profile 'sandbox': 0 errors, 0 warnings, probes: 5 ok, 1 failed — "
                                    "fix what the failed probes name")


def test_wrapped_table_keeps_every_word_within_the_width():
    from jivo_ops.cli._output import format_table

    long_text = "Copy «Internal Webhook Url» again from JAICP and paste it whole into the Jivo field, then save."
    rows = [["error", "J203", long_text, long_text.upper()], ["warning", "J404", "short", ""]]
    for width in (60, 80, 140):
        table = format_table(rows, ["severity", "code", "problem", "fix"], width=width, wrap=("problem", "fix"))
        lines = table.splitlines()
        assert all(len(line) <= width for line in lines), (width, table)
        start = lines[0].index("fix")
        fix = " ".join(line[start:].strip() for line in lines[2:])
        assert " ".join(fix.split()) == long_text.upper()
    # Without wrap the old behaviour stays: one line per row, the last column cut with "…".
    assert format_table(rows, ["severity", "code", "problem", "fix"], width=80).count("\n") == 3


def test_hosts_survive_redaction_in_the_output(capsys, tmp_path):
    """Masking hides tokens, not words of the URLs: «wh.jivosite.com» stays readable in a finding."""
    key, ident, webhook = random_token(16), random_token(10), random_token(32)
    internal = f"https://app.jaicp.com/chatadapter/chatapi/webhook/jivosite/{webhook}"
    unique = f"https://jivo.example.org/{key}/{ident}"
    profile = Profile(jaicp=JaicpSettings(internal_webhook_url=internal, external_api_endpoint=unique,
                                          inbound_operator="Jivo", chat_api_url="", reporter_token=random_token(30)),
                      jivo=JivoSettings(webhook_url=internal, unique_url=unique), name="foreign")
    path = save_profile(profile, tmp_path / "foreign.toml")
    code, out, _ = run_check(capsys, "--profile", str(path), "--format", "json")
    assert code == 0
    message = next(f["message"] for f in json.loads(out)["findings"] if f["code"] == "J208")
    assert message == ("is on jivo.example.org, not on Jivo's host (wh.jivosite.com) "
                       "(«External API Endpoint» holds the same)")
    code, out, _ = run_check(capsys, "--profile", str(path))
    assert "wh.jivosite.com" in out
    assert_no_secret(out, [key, ident, webhook])
