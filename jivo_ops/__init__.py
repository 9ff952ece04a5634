"""jivo_ops: configure, test and debug the hand-over of chats from a JAICP bot to live Jivo operators.

The public API is listed in `__all__`; names load lazily so `import jivo_ops` stays light
(servers, plotting and spreadsheet readers load only when used).
"""

from __future__ import annotations

from ._lazy import lazy_getattr

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Profile": "profile",
    "load_profile": "profile",
    "save_profile": "profile",
    "example_profile": "profile",
    "JivoOpsError": "errors",
    "ProfileError": "errors",
    "ProtocolError": "errors",
    "ServiceError": "errors",
    "RejectedError": "errors",
    "UnavailableError": "errors",
    "SourceError": "errors",
    "RecorderError": "errors",
    "RetryPolicy": "_http",
    "mask_url": "redaction",
    "redact": "redaction",
    "SwitchReply": "switch",
    "JivoClient": "jivo",
    "AsyncJivoClient": "jivo",
    "ClientMessage": "jivo",
    "AgentMessage": "jivo",
    "ChatApiClient": "jaicp",
    "AsyncChatApiClient": "jaicp",
    "BotResponse": "jaicp",
    "EventBatch": "jaicp",
    "ChatEvent": "jaicp",
    "ReporterClient": "jaicp",
    "AsyncReporterClient": "jaicp",
    "Sandbox": "sandbox",
    "SandboxSettings": "sandbox",
    "load_logs": "logs",
    "LogSet": "logs",
    "run_transfers": "transfer",
    "arun_transfers": "transfer",
    "run_transfer": "transfer",
    "TransferResult": "transfer",
    "TransferBatch": "transfer",
    "Script": "transfer",
    "load_script": "transfer",
    "probe_jivo_leg": "probes",
    "probe_jaicp_leg": "probes",
    "ProbeResult": "probes",
    "check_profile": "checks",
    "run_probes": "checks",
    "CheckReport": "checks",
    "Finding": "checks",
    "ServiceProbe": "checks",
    "Recorder": "recorder",
    "RecorderStore": "recorder",
    "Exchanges": "exchanges",
    "Exchange": "exchanges",
    "WaitTimeoutError": "exchanges",
    "replay_exchanges": "exchanges",
    "export_exchanges": "exchanges",
    "import_jsonl": "exchanges",
    "RecorderPanel": "widgets.recorder_panel",
    "SetupPanel": "widgets.setup_panel",
    "SwitchBuilder": "widgets.switch_builder",
    "TransferConsole": "widgets.transfer_console",
    "LogExplorer": "widgets.log_explorer",
    "compare_payload": "exchanges",
    "assert_payload": "exchanges",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return __all__
