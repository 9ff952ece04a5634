"""`jivo-ops sandbox`: masked profile on the terminal, the real one in a 0600 file, serving until Ctrl-C."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time

import httpx
import pytest

from jivo_ops.cli import main
from jivo_ops.profile import load_profile


def test_prints_a_masked_profile_and_writes_the_real_one(tmp_path, capsys):
    out_file = tmp_path / "sandbox.toml"
    assert main(["sandbox", "--duration", "0.2", "--operators", "3", "--no-chunked",
                 "--profile-out", str(out_file)]) == 0
    printed = capsys.readouterr().out
    profile = load_profile(out_file, env=False)
    assert stat.S_IMODE(os.stat(out_file).st_mode) == 0o600
    assert profile.jivo.chunked is False and profile.jaicp.inbound_operator == "Jivo"
    for secret in (profile.jaicp.chat_api_url, profile.jivo.unique_url, profile.jaicp.reporter_token,
                   profile.jaicp.chat_api_url.rsplit("/", 1)[1], profile.jivo.unique_url.split("/")[-2]):
        assert secret not in printed
    assert "unique_url" in printed and "…" in printed and "127.0.0.1" in printed


def test_unconfigured_and_offline_flags(tmp_path, capsys):
    out_file = tmp_path / "p.toml"
    assert main(["sandbox", "--duration", "0", "--unconfigured", "--offline", "--profile-out", str(out_file)]) == 0
    profile = load_profile(out_file, env=False)
    assert profile.jaicp.external_api_endpoint == "" and profile.jivo.webhook_url == ""
    assert "unconfigured" in capsys.readouterr().out


def test_demo_prints_a_switch_conversation(capsys):
    assert main(["sandbox", "--demo"]) == 0
    out = capsys.readouterr().out
    for kind in ("switch", "livechat_opened", "operator_relayed", "livechat_finished"):
        assert kind in out


def test_bad_arguments_are_one_line_errors(capsys):
    assert main(["sandbox", "--operators", "-1", "--duration", "0"]) == 2
    assert "--operators" in capsys.readouterr().err


def test_serves_until_interrupted(tmp_path):
    out_file = tmp_path / "live.toml"
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from jivo_ops.cli import main; sys.exit(main())",
                             "sandbox", "--profile-out", str(out_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not out_file.exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the sandbox did not write its profile"
            time.sleep(0.05)
        time.sleep(0.1)
        profile = load_profile(out_file, env=False)
        r = httpx.post(profile.jaicp.chat_api_url, json={"clientId": "cli", "query": "/start"}, timeout=10)
        assert r.status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
        out = proc.stdout.read()
        assert profile.jivo.unique_url not in out and profile.jaicp.chat_api_url not in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    with pytest.raises(httpx.TransportError):
        httpx.post(profile.jaicp.chat_api_url, json={"clientId": "cli", "query": "/start"}, timeout=3)
