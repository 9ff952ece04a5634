"""`jivo-ops load`: transfer scripts as a Locust load test, run for real (Locust in subprocesses only:
gevent patches the process that imports it) against a sandbox in its own process; what Locust
counted is checked against what the sandbox saw, read from its admin API."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from jivo_ops.cli import main
from jivo_ops.profile import load_profile

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## Load test a live bot"):README.index("## The sandbox")]
COMMANDS = [line for line in SECTION.splitlines() if line.startswith("jivo-ops ")]
EXE = Path(sys.executable).with_name("jivo-ops")
MASTER_PORT = 5557  # Locust's default, as the README's worker line relies on


def _argv(line: str) -> list[str]:
    assert "'" not in line and '"' not in line, line  # a plain split is then the shell's split
    return [str(EXE), *line.split()[1:]]


def _origin(url: str) -> str:
    parts = httpx.URL(url)
    return f"{parts.scheme}://{parts.netloc.decode()}"


@pytest.fixture
def sandbox_process(tmp_path, monkeypatch):
    """The README's sandbox line, run in tmp_path until the test ends; yields the profile it wrote."""
    monkeypatch.chdir(tmp_path)
    process = subprocess.Popen(_argv(COMMANDS[0]), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    profile_path = tmp_path / "sandbox.toml"
    try:
        deadline = time.monotonic() + 30
        while not (profile_path.exists() and profile_path.stat().st_size):
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the sandbox did not write its profile"
            time.sleep(0.1)
        time.sleep(0.2)
        yield load_profile(profile_path, env=False)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def _stats(prefix: Path) -> dict[tuple[str, str], dict[str, str]]:
    with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
        return {(row["Type"], row["Name"]): row for row in csv.DictReader(f)}


def _failures(prefix: Path) -> list[dict[str, str]]:
    with open(f"{prefix}_failures.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _count(stats, kind: str, name: str) -> tuple[int, int]:
    row = stats.get((kind, name))
    return (int(row["Request Count"]), int(row["Failure Count"])) if row else (0, 0)


def _sandbox_saw(profile) -> tuple[int, int, int]:
    """(clients that talked to the bot, live chats Jivo opened, chats an operator answered)."""
    jaicp = httpx.get(_origin(profile.jaicp.chat_api_url) + "/admin/state", timeout=5).json()
    jivo = httpx.get(_origin(profile.jivo.unique_url) + "/admin/state", timeout=5).json()
    chats = jivo["chats"].values()
    return len(jaicp["clients"]), len(jivo["chats"]), sum(1 for c in chats if c["replies"] >= 1)


def _assert_agree(stats, saw, transfers: int) -> None:
    clients, switches, answered = saw
    assert (clients, switches, answered) == (transfers, transfers, transfers)
    for step in ("say", "switch", "close"):
        assert _count(stats, step, f"default:{step}") == (transfers, 0)
    polls, poll_failures = _count(stats, "wait_operator", "default:wait_operator")
    assert polls >= transfers and poll_failures == 0
    assert _count(stats, "handover", "default: time to switch") == (switches, 0)
    assert _count(stats, "handover", "default: operator wait") == (answered, 0)
    assert _count(stats, "handover", "default: transfer") == (transfers, 0)
    assert int(stats[("", "Aggregated")]["Failure Count"]) == 0


def _wait_port_free(port: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while True:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("", port))
                return
            except OSError:
                assert time.monotonic() < deadline, f"port {port} (Locust's master) stays taken"
        time.sleep(0.5)


def test_the_readme_load_test_runs_word_for_word(sandbox_process, tmp_path):
    run = subprocess.run(_argv(COMMANDS[1]), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    # -u 4 --transfers-per-user 2
    _assert_agree(_stats(tmp_path / "results" / "load"), _sandbox_saw(sandbox_process), transfers=8)


def test_a_distributed_run_counts_what_the_sandbox_saw(sandbox_process, tmp_path):
    """The README's master line and its worker line twice: one master, two workers, on loopback."""
    master_line, worker_line = COMMANDS[2], COMMANDS[3]
    assert "--master" in master_line and "--expect-workers 2" in master_line and "--worker" in worker_line
    _wait_port_free(MASTER_PORT)
    master = subprocess.Popen(_argv(master_line), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    workers = [subprocess.Popen(_argv(worker_line), cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for _ in range(2)]
    try:
        out, _ = master.communicate(timeout=120)
        assert master.returncode == 0, out[-3000:]
        for worker in workers:
            assert worker.wait(30) == 0
    finally:
        for process in (master, *workers):
            if process.poll() is None:
                process.kill()
    assert "workers connected" in out, out[-2000:]
    _assert_agree(_stats(tmp_path / "results" / "load"), _sandbox_saw(sandbox_process), transfers=8)


def test_outcomes_other_than_answered_are_locust_failures_with_their_reason(sandbox_process, tmp_path):
    profile = sandbox_process
    httpx.post(_origin(profile.jivo.unique_url) + "/admin/operators", json={"online": False},
               timeout=5).raise_for_status()
    run = subprocess.run([str(EXE), "load", "--profile", "sandbox.toml", "--headless", "-u", "2", "-r", "2",
                          "--transfers-per-user", "2", "--csv", "offline"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 1, run.stderr[-2000:]  # Locust's exit code when anything failed
    stats = _stats(tmp_path / "offline")
    assert _count(stats, "handover", "default: transfer") == (4, 4)
    assert _count(stats, "handover", "default: operator wait") == (0, 0)
    assert _count(stats, "switch", "default:switch") == (4, 0)  # the exchange itself went fine
    failures = {(row["Method"], row["Name"]): row for row in _failures(tmp_path / "offline")}
    reason = failures[("handover", "default: transfer")]
    assert reason["Error"].startswith("TransferFailed('no_operators: no operators online")
    assert int(reason["Occurrences"]) == 4
    assert _sandbox_saw(profile)[1] == 0  # Jivo opened no chat


def test_print_locustfile_and_bad_input(tmp_path, capsys):
    assert main(["load", "--print-locustfile"]) == 0
    printed = capsys.readouterr().out
    assert "class Transfers(TransferUser):" in printed
    compile(printed, "locustfile.py", "exec")
    assert main(["load", "--profile", str(tmp_path / "none.toml"), "--headless"]) == 2
    err = capsys.readouterr().err
    assert "none.toml" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["load", "--profile", "x.toml", "--sandbox"]) == 2
    assert "exclude each other" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["transfer", "--headless"])
    assert "unrecognized arguments: --headless" in capsys.readouterr().err


def test_importing_jivo_ops_and_its_cli_loads_no_locust_and_no_gevent():
    code = ("import sys, jivo_ops, jivo_ops.locust, jivo_ops.locust.launch, jivo_ops.cli.load; "
            "from jivo_ops.cli import build_parser; build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent')))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0 and run.stdout.strip() == "[]", run.stdout + run.stderr
