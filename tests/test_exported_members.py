"""The public surface: nothing added to or lost from `jivo_ops.__all__` by accident (as httpx's own
tests/test_exported_members.py), every name resolves, and importing the package stays light."""

from __future__ import annotations

import subprocess
import sys

import jivo_ops

# What a notebook user types. Changing this list is a decision: say it in the change's message.
PUBLIC = {
    # profiles
    "Profile", "load_profile", "save_profile", "example_profile",
    # errors
    "JivoOpsError", "ProfileError", "ProtocolError", "ServiceError", "RejectedError", "UnavailableError",
    "SourceError", "TimeFormatError", "RecorderError", "ScriptError", "SettingsError", "WaitTimeoutError",
    # secrets
    "mask_url", "redact",
    # the language of every message (ru | en)
    "set_language",
    # the wire
    "SwitchReply", "RetryPolicy", "JivoClient", "ClientMessage", "AgentMessage", "ChatApiClient", "ReporterClient",
    # setup
    "check_profile", "run_probes", "probe_jivo_leg", "probe_jaicp_leg", "diagnose", "Diagnosis",
    # transfers
    "run_transfers", "run_transfer", "Script", "load_script",
    # recorder
    "Recorder", "Exchanges", "replay_exchanges", "export_exchanges", "import_jsonl", "compare_payload",
    "assert_payload",
    # logs, sandbox
    "load_logs", "Sandbox", "SandboxSettings", "StandIn",
    # widgets
    "SetupPanel", "SwitchBuilder", "TransferConsole", "LogExplorer", "RecorderPanel",
}


def test_all_is_exactly_the_public_surface():
    assert set(jivo_ops.__all__) - {"__version__"} == PUBLIC
    assert len(jivo_ops.__all__) == len(set(jivo_ops.__all__))


def test_every_public_name_resolves_to_its_own_definition():
    for name in PUBLIC:
        value = getattr(jivo_ops, name)
        assert value is not None
        defined_in = getattr(value, "__module__", "")
        assert defined_in.startswith("jivo_ops."), (name, defined_in)
    assert dir(jivo_ops) == sorted(jivo_ops.__all__)


def test_an_unknown_name_is_an_attribute_error():
    try:
        jivo_ops.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("jivo_ops.NoSuchThing resolved")


def test_importing_the_package_loads_nothing_heavy():
    heavy = ("httpx", "pandas", "pyarrow", "starlette", "uvicorn", "matplotlib", "ipywidgets", "openpyxl", "tqdm",
             "sqlite3")
    code = ("import sys, jivo_ops, jivo_ops.recorder, jivo_ops.setup, jivo_ops.channel; "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
