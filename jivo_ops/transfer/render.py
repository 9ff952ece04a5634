"""Text views of transfer results: one transfer's timeline, a batch summary as table rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from ..i18n import N_, TranslatedMapping, _
from ..redaction import redact

if TYPE_CHECKING:
    from .checks import Check
    from .results import TransferResult

__all__ = ["format_timeline", "format_summary", "format_check", "format_stopped", "OUTCOME_LABELS", "outcome_label"]

STOPPED = N_("stopped: {ran} of {planned} done, {not_started} not started")
# What each outcome (a wire value, `results.OUTCOMES`) means, shown next to it, never instead of it in data.
OUTCOME_LABELS = TranslatedMapping({
    "answered": N_("an operator answered"),
    "no_operators": N_("the bot switched, but no operator was online"),
    "no_switch": N_("the bot did not switch to an operator"),
    "unanswered": N_("switched, but no operator answered in time"),
    "error": N_("an exchange failed"),
})


def outcome_label(outcome: str) -> str:
    """`outcome` and what it means: "answered (an operator answered)"."""
    return f"{outcome} ({OUTCOME_LABELS[outcome]})" if outcome in OUTCOME_LABELS else outcome


def format_timeline(result: TransferResult, *, width: int = 100) -> str:
    """A text timeline of one transfer, one line per step: elapsed, author, kind, text, latency."""
    lines = [_("transfer {transfer}  chat {chat}  script {script}  outcome {outcome}").format(
        transfer=result.transfer_id, chat=result.chat, script=result.script, outcome=result.outcome)]
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
        tail.append(_("operator answered after {seconds:.3f} s").format(seconds=result.wait_s))
    if result.operator:
        tail.append(_("operator: {operator}").format(operator=result.operator))
    if result.closed_by:
        tail.append(_("closed by {who}").format(who=result.closed_by))
    if result.error:
        tail.append((_("error: {error}") if result.outcome == "error" else _("why: {error}")).format(
            error=redact(result.error)))
    if tail:
        lines.append("  " + "; ".join(tail))
    return "\n".join(lines)


def format_summary(summary: Mapping[str, Any]) -> tuple[list[list[str]], list[str]]:
    """The summary as table rows (for `cli._output.print_table`): one row per figure."""
    def secs(v: float | None) -> str:
        return "–" if v is None else _("{seconds:.3f} s").format(seconds=v)

    total = summary["transfers"] or 1
    rows = [[_("outcome: {outcome}").format(outcome=o), str(n), f"{100 * n / total:.0f}%"]
            for o, n in summary["outcomes"].items()]
    checks = summary.get("checks") or {}
    if any(checks.values()):
        rows += [[_("checks: {status}").format(status=status), str(n), ""] for status, n in checks.items()]
    if summary.get("interrupted"):
        rows.append([_("interrupted"), str(summary["interrupted"]), ""])
    if summary.get("not_started"):
        rows.append([_("not started"), str(summary["not_started"]), ""])
    for label, key in ((_("time to switch"), "time_to_switch_s"),
                       (_("time to first operator reply"), "time_to_first_operator_reply_s")):
        figures = summary[key]
        rows.append([_("{figure}: median").format(figure=label), secs(figures["median"]), f"n={figures['n']}"])
        rows.append([_("{figure}: p95").format(figure=label), secs(figures["p95"]), ""])
    return rows, [_("figure"), _("value"), _("share")]


def format_check(check: Check, indent: str = "  ") -> str:
    """A failed (or any) check as three lines: where and what, then expected and got (secrets masked)."""
    return (f"{indent}{check.where} {check.check}: {redact(check.message)}\n"
            f"{indent}    {_('expected:'):<9} {redact(repr(check.expected))}\n"
            f"{indent}    {_('got:'):<9} {redact(repr(check.got))}")


def format_stopped(summary: Mapping[str, Any]) -> str:
    """What a stopped batch did, of what was asked: shares elsewhere are of what ran."""
    return _(STOPPED).format(ran=summary["transfers"], planned=summary.get("planned", summary["transfers"]),
                          not_started=summary.get("not_started", 0))
