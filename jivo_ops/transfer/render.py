"""Text views of transfer results: one transfer's timeline, a batch summary as table rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from ..redaction import redact

if TYPE_CHECKING:
    from .checks import Check
    from .results import TransferResult

__all__ = ["format_timeline", "format_summary", "format_check", "format_stopped"]

STOPPED = "остановлено: {ran} из {planned} выполнено, {not_started} не начаты"


def format_timeline(result: TransferResult, *, width: int = 100) -> str:
    """A text timeline of one transfer, one line per step: elapsed, author, kind, text, latency."""
    lines = [f"transfer {result.transfer_id}  chat {result.chat}  script {result.script}  outcome {result.outcome}"]
    for s in result.steps:
        elapsed = (s.ts - result.started_at).total_seconds()
        latency = f"{s.latency_s * 1000:7.1f} ms" if s.latency_s is not None else " " * 10
        status = (s.http or {}).get("status")
        text = redact(s.text or "").replace("\n", " ⏎ ")
        line = f"+{elapsed:7.3f}s  {latency}  {s.author:<8} {s.kind:<7} {s.step:<13} {text}"
        if status and status >= 400:
            line += f"  [HTTP {status}]"
        if len(line) > width:
            line = line[: width - 1] + "…"
        lines.append(line)
    tail = []
    if result.wait_s is not None:
        tail.append(f"operator answered after {result.wait_s:.3f} s")
    if result.operator:
        tail.append(f"operator: {result.operator}")
    if result.closed_by:
        tail.append(f"closed by {result.closed_by}")
    if result.error:
        tail.append(f"{'error' if result.outcome == 'error' else 'why'}: {redact(result.error)}")
    if tail:
        lines.append("  " + "; ".join(tail))
    return "\n".join(lines)


def format_summary(summary: Mapping[str, Any]) -> tuple[list[list[str]], list[str]]:
    """The summary as table rows (for `cli._output.print_table`): one row per figure."""
    def secs(v: float | None) -> str:
        return "–" if v is None else f"{v:.3f} s"

    total = summary["transfers"] or 1
    rows = [[f"outcome: {o}", str(n), f"{100 * n / total:.0f}%"] for o, n in summary["outcomes"].items()]
    checks = summary.get("checks") or {}
    if any(checks.values()):
        rows += [[f"checks: {status}", str(n), ""] for status, n in checks.items()]
    if summary.get("interrupted"):
        rows.append(["interrupted", str(summary["interrupted"]), ""])
    if summary.get("not_started"):
        rows.append(["not started", str(summary["not_started"]), ""])
    for label, key in (("time to switch", "time_to_switch_s"),
                       ("time to first operator reply", "time_to_first_operator_reply_s")):
        figures = summary[key]
        rows.append([f"{label}: median", secs(figures["median"]), f"n={figures['n']}"])
        rows.append([f"{label}: p95", secs(figures["p95"]), ""])
    return rows, ["figure", "value", "share"]


def format_check(check: Check, indent: str = "  ") -> str:
    """A failed (or any) check as three lines: where and what, then expected and got (secrets masked)."""
    return (f"{indent}{check.where} {check.check}: {redact(check.message)}\n"
            f"{indent}    expected: {redact(repr(check.expected))}\n"
            f"{indent}    got:      {redact(repr(check.got))}")


def format_stopped(summary: Mapping[str, Any]) -> str:
    """What a stopped batch did, of what was asked: shares elsewhere are of what ran."""
    return STOPPED.format(ran=summary["transfers"], planned=summary.get("planned", summary["transfers"]),
                          not_started=summary.get("not_started", 0))
