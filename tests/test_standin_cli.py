"""`jivo-ops sandbox --jaicp-only` and `jivo-ops stand-in` as separate processes, wired as a user wires a
test operator channel (step 1 → --webhook via the profile, step 3 → the JAICP admin API), then
`jivo-ops transfer --profile …` and `jivo-ops logs STORE`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from jivo_ops.cli import main
from jivo_ops.profile import load_profile

CLI = [sys.executable, "-c", "import sys; from jivo_ops.cli import main; sys.exit(main())"]


@contextmanager
def serving(*args: str, ready: Path | None = None, ready_text: str = "serving"):
    """A `jivo-ops …` process until the block ends; waits for its "serving" line."""
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"{args[0]} ended early: {''.join(lines)}{proc.stderr.read()}")
            lines.append(line)
            if line.startswith(ready_text):
                break
            assert time.monotonic() < deadline, "".join(lines)
        yield proc, "".join(lines)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def transfer(profile: Path, out: Path, *extra: str) -> list[dict]:
    done = subprocess.run([*CLI, "transfer", "--profile", str(profile), "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode in (0, 1), done.stderr
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


@contextmanager
def wired_pair(tmp_path: Path, *stand_in_args: str, jaicp_settings: dict | None = None):
    profile = tmp_path / "test.toml"
    with serving("sandbox", "--jaicp-only", "--profile-out", str(profile)) as (_, shown):
        jaicp = load_profile(profile, env=False)
        admin = jaicp.jaicp.chat_api_url.split("/chatapi/")[0] + "/admin"
        if jaicp_settings:
            assert httpx.post(admin + "/settings", json=jaicp_settings).status_code == 200
        with serving("stand-in", "--profile", str(profile), "--listen", "127.0.0.1:0", *stand_in_args) as (si, said):
            stand_in = load_profile(profile, env=False)
            assert stand_in.stand_in.unique_url == stand_in.jivo.unique_url
            assert stand_in.stand_in.unique_path not in said and stand_in.jaicp.chat_api_url == jaicp.jaicp.chat_api_url
            step3 = httpx.post(admin + "/operator-channel", json={"externalApiEndpoint": stand_in.stand_in.unique_url})
            assert step3.status_code == 200
            yield profile, stand_in, si


@pytest.mark.parametrize("sender_id", ["client_id", "own"])
def test_fifty_transfers_answered_by_the_stand_in(tmp_path, sender_id, capsys):
    with wired_pair(tmp_path, jaicp_settings={"jivo_sender_id": sender_id}) as (profile, stand_in, _):
        results = transfer(profile, tmp_path / "r.jsonl", "--clients", "50", "--concurrency", "50")
    assert [r["outcome"] for r in results] == ["answered"] * 50
    for r in results:
        side = r["operator_side"]
        assert side is not None and "Позовите оператора" in side["first_message"] and side["sender"]["id"]
        assert (side["sender"]["id"] == r["chat"]) is (sender_id == "client_id")
    store = Path(stand_in.stand_in.store)
    assert store.exists()
    assert main(["logs", str(store)]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:] if line.strip()]
    both = {}
    for row in rows:  # ts(2 words) chat author …
        both.setdefault(row[2], set()).add(row[3])
    assert len(both) == 50 and all(authors == {"CLIENT", "OPERATOR"} for authors in both.values())
    if sender_id == "client_id":
        assert set(both) == {r["chat"] for r in results}


def test_offline_stand_in_means_no_operators(tmp_path):
    with wired_pair(tmp_path, "--offline") as (profile, _, _):
        results = transfer(profile, tmp_path / "r.jsonl", "--clients", "5", "--concurrency", "5")
    assert [r["outcome"] for r in results] == ["no_operators"] * 5


def test_a_wrong_webhook_ends_each_transfer_refused(tmp_path):
    profile = tmp_path / "test.toml"
    with serving("sandbox", "--jaicp-only", "--profile-out", str(profile)):
        jaicp = load_profile(profile, env=False)
        wrong = jaicp.jaicp.internal_webhook_url[:-4] + "AAAA"
        with serving("stand-in", "--webhook", wrong, "--listen", "127.0.0.1:0", "--profile", str(profile)) as (si, _):
            stand_in = load_profile(profile, env=False)
            admin = jaicp.jaicp.chat_api_url.split("/chatapi/")[0] + "/admin"
            httpx.post(admin + "/operator-channel", json={"externalApiEndpoint": stand_in.stand_in.unique_url})
            results = transfer(profile, tmp_path / "r.jsonl", "--clients", "5", "--concurrency", "5",
                               "--step-timeout", "2")
            si.terminate()
            err = si.communicate(timeout=10)[1]
    assert {(r["outcome"], r["error"]) for r in results} == {("error", "JAICP refused the operator's reply: HTTP 404")}
    refusals = [line for line in err.splitlines() if "refused" in line]
    assert len(refusals) == 1 and wrong not in err and wrong.rsplit("/", 1)[1] not in err


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    assert main(["stand-in", "--listen", "nowhere:port", "--duration", "0"]) == 2
    assert "--listen" in capsys.readouterr().err
    assert main(["stand-in", "--profile", str(tmp_path / "missing.toml"), "--duration", "0"]) == 2
    assert "missing.toml" in capsys.readouterr().err
    assert main(["stand-in", "--profile", "a.toml", "--profile-out", "b.toml", "--duration", "0"]) == 2
    assert "exclude" in capsys.readouterr().err


def test_profile_out_writes_a_fresh_profile_and_masks_the_terminal(tmp_path, capsys):
    out = tmp_path / "fresh.toml"
    assert main(["stand-in", "--webhook", "https://app.jaicp.com/chatadapter/chatapi/webhook/jivosite/SECRETTOKEN1",
                 "--listen", "127.0.0.1:0", "--public-url", "https://tunnel.example.org", "--operators", "3",
                 "--profile-out", str(out), "--duration", "0"]) == 0
    printed = capsys.readouterr()
    profile = load_profile(out, env=False)
    assert profile.stand_in.unique_url.startswith("https://tunnel.example.org/")
    assert profile.stand_in.unique_url == profile.jivo.unique_url and profile.stand_in.operators == 3
    for secret in (profile.stand_in.unique_path, "SECRETTOKEN1"):
        assert secret not in printed.out + printed.err
    assert "tunnel" not in printed.out.split("\n")[1]  # no "expose it" hint: a public URL was given


@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_the_readme_rehearsal_runs_word_for_word(tmp_path, monkeypatch):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Test a live bot unattended"):]
    block = section[section.index("```\n") + 4:]
    commands = [line.split() for line in block[:block.index("```")].splitlines() if line.strip()]
    assert [c[:2] for c in commands] == [["jivo-ops", "sandbox"], ["jivo-ops", "stand-in"],
                                         ["jivo-ops", "transfer"], ["jivo-ops", "logs"]]
    monkeypatch.chdir(tmp_path)
    with serving(*commands[0][1:]):
        jaicp = load_profile("test.toml", env=False)
        with serving(*commands[1][1:]):
            unique_url = load_profile("test.toml", env=False).stand_in.unique_url
            admin = jaicp.jaicp.chat_api_url.split("/chatapi/")[0] + "/admin"
            assert httpx.post(admin + "/operator-channel", json={"externalApiEndpoint": unique_url}).status_code == 200
            done = subprocess.run([*CLI, *commands[2][1:]], capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
            assert "outcome: answered                     20" in done.stdout
    logs = subprocess.run([*CLI, *commands[3][1:]], capture_output=True, text=True, timeout=60)
    assert logs.returncode == 0 and "OPERATOR" in logs.stdout and "CLIENT" in logs.stdout
