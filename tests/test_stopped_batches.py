"""Issue 15, «Стоп» / Ctrl-C: transfers that never started are not errors. The summary says what ran of
what was asked, shares are of what ran, the table, «Хронология» and the JSONL hold what ran; the CLI
prints the summary of what ran and exits 130, with no traceback from the sandbox."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time

import httpx
import psutil
import pytest

from jivo_ops.sandbox import Sandbox
from jivo_ops.transfer import format_summary, read_jsonl, run_transfers
from jivo_ops.widgets import TransferConsole

from _helpers import clean_env, jivo_ops_command

STOPPED = re.compile(r"остановлено: (\d+) из (\d+) выполнено, (\d+) не начаты")


def _wait_until_clients_reach_its_sandbox(pid: int, timeout: float = 60) -> None:
    """Until the sandbox a `jivo-ops transfer --sandbox` process started has seen a client (its start
    and the run's take seconds on a loaded machine): a fixed sleep would interrupt the start instead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for port in {c.laddr.port for c in psutil.Process(pid).net_connections("tcp") if c.status == psutil.CONN_LISTEN}:
            try:
                state = httpx.get(f"http://127.0.0.1:{port}/admin/state", timeout=5).json()
            except (httpx.HTTPError, ValueError):
                continue
            if state.get("clients"):
                return
        time.sleep(0.1)
    raise AssertionError(f"no client reached the sandbox of process {pid} in {timeout:g} s")


@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_a_stopped_batch_counts_what_never_started_apart(tmp_path):
    out = tmp_path / "t.jsonl"
    stop = threading.Event()
    with Sandbox(think_time=0.3) as sb:
        timer = threading.Timer(1.0, stop.set)
        timer.start()
        batch = run_transfers(sb, clients=40, concurrency=2, step_timeout=5, progress=False, stop=stop, out=out)
    summary = batch.summary()
    ran = len(batch)
    assert 0 < ran < 40 and summary["transfers"] == ran and summary["not_started"] == 40 - ran
    assert summary["outcomes"]["error"] == sum(r.interrupted for r in batch), "only the cut-off ones, not the unrun"
    shares = {row[0]: row[2] for row in format_summary(summary)[0]}
    answered = summary["outcomes"]["answered"]
    assert shares["outcome: answered"] == f"{100 * answered / ran:.0f}%", "shares are of what ran"
    assert len(read_jsonl(out)) == ran


def test_the_console_after_stop_shows_what_ran_in_a_neutral_colour():
    with Sandbox(think_time=0.3) as sb:
        console = TransferConsole(sb, clients=40, concurrency=2, step_timeout=5)
        console.on_run()
        time.sleep(1.0)
        console.stop_button.click()
        batch = console.wait(30)
    ran = len(batch)
    match = STOPPED.match(console.status.text)
    assert match and match.groups() == (str(ran), "40", str(40 - ran)), console.status.text
    assert console.status.kind == "info" and "✗" not in console.status.text
    assert console.progress.value == ran < console.progress.max and console.progress.bar_style == ""
    assert list(console.chat_choice.options) == [r.chat for r in batch], "«Хронология» lists what ran"
    assert "not started" not in console.table.value and len(console.result) == ran


def test_ctrl_c_on_the_cli_prints_what_ran_and_exits_130_without_a_traceback(tmp_path):
    command, env = jivo_ops_command(), clean_env()
    process = subprocess.Popen(command + ["transfer", "--sandbox", "--clients", "400", "--concurrency", "20",
                                          "--out", str(tmp_path / "t.jsonl")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out_file = tmp_path / "t.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out_file.exists() and out_file.stat().st_size > 20_000):
        time.sleep(0.2)  # the sandbox is up and transfers are landing: now, mid-batch, Ctrl-C
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    match = STOPPED.search(out)
    assert match and match.group(2) == "400", out
    ran = int(match.group(1))
    assert len(read_jsonl(tmp_path / "t.jsonl")) == ran
    assert "error=" not in out and "Traceback" not in err and "ClientDisconnect" not in err, err


def test_ctrl_c_stops_the_whole_run_of_several_scripts_not_just_the_current_one(tmp_path):
    """A JAICP XML file is one script per test-case: after Ctrl-C the later ones never start."""
    suite = tmp_path / "bot-tests.xml"
    suite.write_text("""<test>
  <test-case id="hand-over"><q>/start</q><q>Позовите оператора</q><a state="/Operator"/></test-case>
  <test-case id="greeting"><q>/start</q><a state="/Start"/></test-case>
</test>""", encoding="utf-8")
    command, env = jivo_ops_command(), clean_env()
    process = subprocess.Popen(command + ["transfer", "--sandbox", "--script", str(suite), "--switch-state",
                                          "/Operator", "--clients", "2000", "--concurrency", "10"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _wait_until_clients_reach_its_sandbox(process.pid)  # the first test-case (2000 hand-overs) is running
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    match = STOPPED.search(out)
    assert match and match.group(2) == "4000", out
    assert int(match.group(1)) < 2000, out  # the greeting test-case never started
