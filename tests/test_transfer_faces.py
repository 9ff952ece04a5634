"""The faces of the transfer operation follow its rules: the CLI and the TransferConsole report a bad
setting with the operation's one message, and `jivo-ops sandbox --demo` is a `run_transfer`."""

from __future__ import annotations

import re

import pytest

from jivo_ops.cli import main
from jivo_ops.sandbox import Sandbox
from jivo_ops.transfer import SettingsError, TransferSettings, run_transfers
from jivo_ops.widgets.transfer_console import TransferModel


@pytest.mark.parametrize("cli_args, model_settings, message", [
    (["--clients", "0"], {"clients": 0}, "clients must be at least 1, not 0"),
    (["--concurrency", "0"], {"concurrency": 0}, "concurrency must be at least 1, not 0"),
    (["--step-timeout", "0"], {"step_timeout": 0.0}, "step timeout must be more than 0 seconds, not 0"),
])
def test_cli_and_console_report_a_bad_setting_the_same_way(cli_args, model_settings, message, capsys):
    with pytest.raises(SettingsError) as raised:
        TransferSettings(**model_settings)
    assert str(raised.value) == message

    assert main(["transfer", "--sandbox", *cli_args]) == 2
    cli_said = capsys.readouterr().err.strip()
    assert cli_said == f"jivo-ops: error: {message}"

    with Sandbox() as sb:
        model = TransferModel(sb, **model_settings)
        with pytest.raises(SettingsError) as from_model:
            model.start()
        assert model.job is None and model.state == "idle"
        with pytest.raises(ValueError, match=re.escape(message)):  # the operation itself, called directly
            run_transfers(sb, **model_settings)
    assert str(from_model.value) == message == cli_said.removeprefix("jivo-ops: error: ")


def test_the_console_view_shows_the_operations_message():
    from jivo_ops.widgets import TransferConsole

    with Sandbox() as sb:
        console = TransferConsole(sb)
        console.model.concurrency = 0  # the view's inputs stop at 1; the model is where the rule is checked
        console.run_button.click()
    assert console.status.kind == "error" and console.status.text == "✗ concurrency must be at least 1, not 0"


@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_sandbox_demo_is_one_run_transfer(capsys):
    assert main(["sandbox", "--demo"]) == 0
    out = capsys.readouterr().out
    # run_transfer's own timeline (its chat ids are jivo-ops-<run>-00000) …
    head = re.search(r"^transfer (\S+)  chat (jivo-ops-[0-9a-f]{8}-00000)  script default  outcome answered$",
                     out, re.M)
    assert head, out
    for who in ("CLIENT", "BOT", "OPERATOR"):
        assert f" {who} " in out
    # … and the sandbox saw that very chat, and no other client
    seen = out[out.index("the sandbox saw:"):]
    assert head.group(2) in seen and "demo-client" not in seen
    for kind in ("switch", "livechat_opened", "operator_relayed", "livechat_finished"):
        assert kind in seen
