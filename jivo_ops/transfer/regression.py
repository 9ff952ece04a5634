"""Regression runs: a folder of scripts against a bot (or a sandbox), their checks, JUnit XML.

The one place the pytest plugin, ``jivo-ops transfer --junit`` and the regression notebook share:
which files are scripts (`find_scripts`), how one script runs against a profile or a `Sandbox`
(`run_script`, applying the script's ``sandbox`` settings only there), how a failure reads
(`failure_report`), the table of scripts × checks (`checks_frame`) and the JUnit XML (`junit_xml`).
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence
from xml.etree import ElementTree

from ..errors import JivoOpsError, ScriptError
from ..redaction import redact
from .render import format_check, format_timeline
from .results import TransferBatch, TransferResult
from .script import Script, load_scripts

__all__ = ["SCRIPT_PATTERNS", "EXAMPLE_SANDBOX_SETTINGS", "find_scripts", "load_suite", "run_script", "apply_script_sandbox", "run_suite",
           "failure_report", "checks_frame", "junit_xml", "write_junit", "clients_for"]

SCRIPT_PATTERNS = ("*.transfer.toml", "*.transfer.json")
# The scenario the shipped examples (handover-examples/) expect of a sandbox: the switch a JAICP
# project would send (close phrase, the client's recent messages forwarded to the operator).
EXAMPLE_SANDBOX_SETTINGS: dict[str, Any] = {
    "switch_fields": {"closeChatPhrases": ["/closeChat"], "sendMessagesToOperator": True,
                      "sendMessageHistoryAmount": 3},
}


def find_scripts(folder: str | os.PathLike, *, xml: bool = False) -> list[Path]:
    """The script files under `folder` (recursively, sorted): ``*.transfer.toml`` / ``*.transfer.json``,
    and JAICP ``*.xml`` tests when `xml`."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ScriptError(f"{root}: not a folder of transfer scripts")
    patterns = SCRIPT_PATTERNS + (("*.xml",) if xml else ())
    return sorted({p for pattern in patterns for p in root.rglob(pattern) if p.is_file()})


def load_suite(paths: Iterable[str | os.PathLike], *, xml: bool = False,
               switch_state: str | None = None) -> list[Script]:
    """Every script of the given files and folders (folders: `find_scripts`, JAICP XML when `xml`)."""
    scripts: list[Script] = []
    for path in paths:
        p = Path(path).expanduser()
        files = find_scripts(p, xml=xml) if p.is_dir() else [p]
        for file in files:
            scripts += load_scripts(file, switch_state=switch_state)
    return scripts


def run_script(script: Script, target: Any, *, clients: int | None = None, **options: Any) -> TransferBatch:
    """Run `script` with `clients` (default: the script's own, else 1) against `target`: a `Sandbox`
    (the script's ``sandbox`` settings applied for the run, then restored) or anything
    `run_transfers` takes as a profile (the ``sandbox`` settings then do not apply)."""
    from .runner import run_transfers

    options.setdefault("progress", False)
    count = clients_for(script, clients)
    options.setdefault("concurrency", count)
    if not _is_sandbox(target):
        return run_transfers(target, clients=count, script=script, **options)
    saved = apply_script_sandbox(script, target)
    try:
        return run_transfers(target.profile, clients=count, script=script, **options)
    finally:
        target.set(**saved)


def apply_script_sandbox(script: Script, target: Any) -> dict[str, Any]:
    """Set a script's own `sandbox` settings on a running sandbox or stand-in (`target.set`); the values
    they replaced, to put back. A setting the sandbox refuses is the script's error, named after it."""
    wanted = dict(script.sandbox or {})
    saved = {name: getattr(target.settings, name) for name in wanted if hasattr(target.settings, name)}
    try:
        target.set(**wanted)
    except JivoOpsError as exc:
        raise ScriptError(f"{script.name}: sandbox: {exc}") from None
    return saved


def clients_for(script: Script, clients: int | None = None) -> int:
    """How many clients a run of `script` has: the number asked for, else the script's own, else 1."""
    return clients or script.clients or 1


def _is_sandbox(target: Any) -> bool:
    return hasattr(target, "set") and hasattr(target, "profile") and hasattr(target, "settings")


def run_suite(scripts: Sequence[Script], target: Any, **options: Any) -> list[TransferBatch]:
    """`run_script` for each script, in order; a stopped batch (Ctrl-C, `stop`) ends the suite there.
    ``out=`` gets every script's transfers as they finish, one file for the suite."""
    batches: list[TransferBatch] = []
    for number, script in enumerate(scripts):
        batches.append(run_script(script, target, **options, append=number > 0))
        if batches[-1].interrupted:
            break
    return batches


def failure_report(result: TransferResult) -> str:
    """What a failing transfer shows: each failed check with expected/got, then its timeline."""
    lines = [f"{result.script}: {len(result.failed_checks)} failed check(s), outcome {result.outcome}"]
    lines += [format_check(c) for c in result.failed_checks]
    if not result.failed_checks and not result.passed:
        lines.append(f"  the transfer ended in error: {redact(result.error or '')}")
    lines += ["", format_timeline(result)]
    return "\n".join(lines)


def checks_frame(batches: Iterable[TransferBatch]):
    """One row per check of every transfer: script, client, step, action, check, status, expected, got, message."""
    import pandas as pd

    rows = [{"script": r.script, "client": i, "transfer_id": r.transfer_id, "step": c.step, "action": c.action,
             "check": c.check, "status": c.status, "expected": c.expected, "got": c.got, "message": c.message}
            for batch in batches for i, r in enumerate(batch, 1) for c in r.checks]
    columns = ["script", "client", "transfer_id", "step", "action", "check", "status", "expected", "got", "message"]
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("script", "transfer_id", "action", "check", "status", "message"):
        frame[column] = frame[column].astype("string")
    return frame


def _seconds(result: TransferResult) -> str:
    return f"{max(0.0, (result.ended_at - result.started_at).total_seconds()):.3f}"


def junit_xml(batches: Sequence[TransferBatch]) -> str:
    """JUnit XML: one testsuite per script, one testcase per client × script; a failed check is a
    ``<failure>`` with the check's message (an error outcome nobody expected: ``<error>``)."""
    root = ElementTree.Element("testsuites", name="jivo-ops transfer")
    totals = dict(tests=0, failures=0, errors=0, skipped=0)
    host = socket.gethostname()
    for number, batch in enumerate(batches):
        cases = list(batch)
        failures = sum(1 for r in cases if r.failed_checks)
        errors = sum(1 for r in cases if not r.passed and not r.failed_checks)
        started = min((r.started_at for r in cases), default=datetime.now(timezone.utc))
        suite = ElementTree.SubElement(
            root, "testsuite", name=batch.script or f"script {number + 1}", tests=str(len(cases)),
            failures=str(failures), errors=str(errors), skipped="0", time=f"{batch.elapsed_s:.3f}",
            timestamp=started.replace(tzinfo=None).isoformat(timespec="seconds"), hostname=host, id=str(number),
            package="jivo_ops.transfer")
        for index, result in enumerate(cases, 1):
            case = ElementTree.SubElement(suite, "testcase", name=f"{result.script} [client {index}]",
                                          classname=f"transfer.{result.script}", time=_seconds(result))
            if result.failed_checks:
                first = result.failed_checks[0]
                failure = ElementTree.SubElement(case, "failure", type="check",
                                                 message=redact(f"{first.where} {first.check}: {first.message}"))
                failure.text = failure_report(result)
            elif not result.passed:
                error = ElementTree.SubElement(case, "error", type=result.outcome,
                                               message=redact(result.error or result.outcome))
                error.text = failure_report(result)
            out = ElementTree.SubElement(case, "system-out")
            out.text = "\n".join(str(c) for c in result.checks) + "\n\n" + format_timeline(result)
        for key, value in (("tests", len(cases)), ("failures", failures), ("errors", errors)):
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{sum(b.elapsed_s for b in batches):.3f}")
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def write_junit(batches: Sequence[TransferBatch], path: str | os.PathLike) -> Path:
    p = Path(path).expanduser()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(junit_xml(batches), encoding="utf-8")
    except OSError as exc:
        raise JivoOpsError(f"{p}: cannot write the JUnit file: {exc.strerror or exc}") from None
    return p
