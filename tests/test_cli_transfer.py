"""`jivo-ops transfer`, `jivo-ops probe` and `jivo-ops demo` as a user runs them."""

from __future__ import annotations

import json
import subprocess

import pytest

from jivo_ops.cli import main
from jivo_ops.profile import save_profile
from jivo_ops.sandbox import Sandbox

from _helpers import clean_env, jivo_ops_command


# The assertions are the English sentences of the code (issue 15 §3).
pytestmark = pytest.mark.usefixtures("english")


def run_cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(jivo_ops_command() + list(args), capture_output=True, text=True, timeout=timeout,
                          env=clean_env())


def test_transfer_sandbox_20_clients_exits_0_with_20_answered(tmp_path):
    out = tmp_path / "t.jsonl"
    done = run_cli("transfer", "--sandbox", "--clients", "20", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "outcome: answered                     20" in done.stdout
    for figure in ("time to switch: median", "time to switch: p95", "time to first operator reply: median",
                   "time to first operator reply: p95"):
        assert figure in done.stdout
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 20 and {r["outcome"] for r in rows} == {"answered"}
    assert "Traceback" not in done.stderr


def test_transfer_with_an_offline_profile_exits_1_and_lists_the_failures(tmp_path, capsys):
    with Sandbox(online=False) as sb:
        profile = save_profile(sb.profile, tmp_path / "p.toml")
        code = main(["transfer", "--profile", str(profile), "--clients", "3", "--concurrency", "3"])
        token = sb.jaicp.chat_token
    out = capsys.readouterr().out
    assert code == 1
    assert "outcome: no_operators                 3" in out
    assert out.count("no_operators  ") >= 3 and token not in out


def test_transfer_json_summary_and_a_script_file(tmp_path, capsys):
    script = tmp_path / "s.toml"
    script.write_text('name = "short"\n[[steps]]\naction = "switch"\ntext = "оператор!"\n'
                      '[[steps]]\naction = "wait_operator"\n', encoding="utf-8")
    with Sandbox() as sb:
        profile = save_profile(sb.profile, tmp_path / "p.toml")
        code = main(["transfer", "--profile", str(profile), "--clients", "2", "--script", str(script), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["outcomes"]["answered"] == 2


@pytest.mark.parametrize("args, message", [
    (["--sandbox", "--profile", "x.toml"], "--profile and --sandbox exclude each other"),
    (["--sandbox", "--clients", "0"], "clients must be at least 1, not 0"),
    (["--sandbox", "--script", "missing.json"], "missing.json: script file not found"),
    (["--profile", "no-such-profile.toml"], "no-such-profile.toml"),
])
def test_transfer_bad_input_is_one_line(args, message, capsys):
    code = main(["transfer", *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_probe_both_legs_on_the_sandbox():
    jaicp = run_cli("probe", "jaicp", "--sandbox")
    assert jaicp.returncode == 0, jaicp.stdout + jaicp.stderr
    assert jaicp.stdout.startswith("OK  jaicp leg") and "next:" in jaicp.stdout
    jivo = run_cli("probe", "jivo", "--sandbox", "--json")
    assert jivo.returncode == 0, jivo.stdout + jivo.stderr
    result = json.loads(jivo.stdout)
    assert result["ok"] and [e["what"] for e in result["exchanges"]] == ["status", "client message",
                                                                         "operator reply (recorder)"]


def test_probe_failing_leg_exits_1_with_what_to_check(tmp_path, capsys):
    with Sandbox() as sb:
        broken = sb.profile.replace(jaicp={"internal_webhook_url": sb.jaicp.internal_webhook_url + "x"})
        path = save_profile(broken, tmp_path / "p.toml")
        code = main(["probe", "jaicp", "--profile", str(path), "--timeout", "1"])
    out = capsys.readouterr().out
    assert code == 1 and out.startswith("FAILED  jaicp leg")
    assert "«Internal Webhook Url»" in out.splitlines()[-1]


def test_demo_prints_a_timeline_and_exits_0():
    done = run_cli("demo", "--clients", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "outcome answered" in done.stdout
    for who in ("CLIENT", "BOT", "OPERATOR"):
        assert who in done.stdout
    assert "outcome: answered                     3" in done.stdout
