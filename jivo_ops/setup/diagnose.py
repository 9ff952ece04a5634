"""«Что сломалось?»: one action that runs every check of a hand-over in order and gives one verdict.

`diagnose(target)` runs, stopping where it can learn no more:

1. the setup checks (`checks.check_profile`): the fields themselves;
2. the live probes (`checks.run_probes`): Jivo ``/status``, every URL reachable, a Chat API round trip;
3. the Jivo leg probe (`probes.probe_jivo_leg`): a client message to «Уникальный URL», as JAICP would;
4. the JAICP leg probe (`probes.probe_jaicp_leg`): an agent message to «Internal Webhook Url», as Jivo would;
5. one test transfer (`transfer.run_transfer`) — only when everything before was green, since a red
   step already names the field more precisely than a failed transfer could.

The `Diagnosis` names one broken half (`HALVES`), the console and the field as the console labels
it (`profile.FIELD_LABELS`), the fix in one sentence, why that step is the one to believe, and the
evidence of each step. The first red step wins: a check compares the two consoles' fields, which
no probe can see (the leg probes post to the profile's own URLs, not to what the other console
holds), so a red check beside green probes is still the answer.

Every sentence shown to the user is in `MESSAGES`, N_-marked for the catalog (`jivo_ops.i18n`) and `_()`-ed
by `message()` where shown.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Callable

from ..i18n import N_, TranslatedMapping, _
from ..profile import FIELD_LABELS, Profile, resolve_profile
from ..redaction import redact
from ..transfer.render import outcome_label
from .checks import FIELDS, CheckReport, Finding, ServiceProbe, check_profile, run_probes
from .probes import OFFLINE_SUMMARIES

__all__ = ["Diagnosis", "Evidence", "diagnose", "HALVES", "locate"]

# The halves a verdict can name; the keys are stable (JSON), the values what the user reads (in the language
# of the moment).
HALVES: "TranslatedMapping[str, str]" = TranslatedMapping({
    "jaicp_to_jivo": "JAICP → Jivo",
    "jivo_to_jaicp": "Jivo → JAICP",
    "scenario": N_("the scenario"),
    "wiring": N_("the wiring"),
    "nothing": N_("nothing"),
})

# Which half each profile setting carries: client messages go JAICP → Jivo through «External API
# Endpoint» = «Уникальный URL»; operator answers come back Jivo → JAICP through «URL вашего сервера
# для Webhooks» = «Internal Webhook Url»; the link of the two channels is the wiring; the rest is
# what drives and reads the bot.
HALF_OF_KEY: dict[str, str] = {
    "jaicp.external_api_endpoint": "jaicp_to_jivo",
    "jivo.unique_url": "jaicp_to_jivo",
    "jivo.webhook_url": "jivo_to_jaicp",
    "jaicp.internal_webhook_url": "jivo_to_jaicp",
    "jivo.chunked": "jivo_to_jaicp",
    "jaicp.operator_channel": "wiring",
    "jaicp.inbound_channel": "wiring",
    "jaicp.inbound_operator": "wiring",
    "jivo.channel": "wiring",
    "jaicp.chat_api_url": "scenario",
    "jaicp.reporter_url": "scenario",
    "jaicp.reporter_token": "scenario",
    "jaicp.bot_id": "scenario",
    "stand_in.webhook_url": "jivo_to_jaicp",   # the stand-in's operators answer to it
    "stand_in.unique_url": "jaicp_to_jivo",    # JAICP posts the client's messages to it
}
# Findings about both halves at once (J502: the profile's Jivo channel is not the stand-in it runs).
HALF_OF_CODE: dict[str, str] = {"J303": "wiring", "J502": "wiring"}

# Every sentence this module shows; {placeholders} are filled in one place each.
MESSAGES: dict[str, str] = {
    "step.checks": N_("setup checks"),
    "step.probes": N_("live probes"),
    "step.jivo_leg": N_("Jivo leg probe (JAICP → Jivo)"),
    "step.jaicp_leg": N_("JAICP leg probe (Jivo → JAICP)"),
    "step.transfer": N_("test transfer"),
    "skipped.checks_red": N_("skipped: a setup check is red, and a transfer cannot say more than it does"),
    "skipped.earlier_red": N_("skipped: an earlier step is red"),
    "skipped.no_url": N_("skipped: {field} is not usable (see the setup checks)"),
    "checks.summary": "{summary}",
    "verdict.healthy": N_("Nothing is broken: the checks, the probes and a test transfer all passed."),
    "verdict.broken": N_("{half} is broken: {what}."),
    "fix.healthy": N_("Nothing to fix."),
    "why.finding": N_("The setup check compares the two consoles' fields; the probes cannot see that, as they post "
                      "to the profile's own URLs, not to what the other console holds."),
    "why.finding_alone": N_("The setup check names the field; the later steps would only fail on it."),
    "why.probe": N_("The setup checks look right, but the live service answered otherwise: believe the service."),
    "why.leg": N_("The checks and the live probes passed, but a message sent along this leg did not arrive: "
                  "believe the leg probe."),
    "why.transfer": N_("Every check and probe passed, but the whole chain failed for a client: believe the transfer."),
    "why.healthy": "",
    "what.offline": N_("no operator is online in Jivo"),
    "fix.offline": N_("Log in to the Jivo app as an operator and go online."),
    "what.no_switch": N_("the bot never pushed a switch reply"),
    "fix.no_switch": N_("Make the scenario push $response.replies.push({{type: \"switch\", …}}) "
                        "(see `jivo-ops switch`)."),
    "what.no_operators": N_("the bot switched, but Jivo had nobody online"),
    "what.unanswered_seen": N_("the operator got the client's message, but the answer never reached the client"),
    "fix.unanswered_seen": N_("Paste «Internal Webhook Url» from JAICP into «URL вашего сервера для Webhooks» in Jivo "
                              "again, whole."),
    "what.unanswered_unseen": N_("the client's message never reached the operator"),
    "fix.unanswered_unseen": N_("Paste «Уникальный URL» from Jivo into «External API Endpoint» in JAICP again, whole."),
    "what.unanswered": N_("no operator answer came back, though both legs work from the profile: one of the two "
                           "consoles holds another URL than the profile"),
    "fix.unanswered": N_("Compare «External API Endpoint» in JAICP with «Уникальный URL», and «URL вашего сервера "
                         "для Webhooks» in Jivo with «Internal Webhook Url», and paste the one that differs again."),
    "what.transfer_error": N_("the test transfer failed: {error}"),
    "fix.transfer_error": N_("Read the transfer's failing step below and check {field}."),
    "field.none": "",
    "text.field": N_("field: {field} ({console})"),
    "text.fix": N_("fix: {fix}"),
    "text.why": N_("why: {why}"),
    "text.evidence": N_("evidence:"),
}


def message(name: str, **values: Any) -> str:
    """The sentence `name` of `MESSAGES` in the current language, its placeholders filled."""
    text = MESSAGES[name]
    return (_(text) if text else "").format(**values)  # _("") would be the catalog's header


def console_of(key: str) -> str:
    """Which console holds a setting: its table's name."""
    return "Jivo" if key.startswith("jivo.") else "JAICP" if key else ""


def label_of(key: str) -> str:
    return FIELD_LABELS.get(key, "")


@dataclass(frozen=True)
class Evidence:
    """One step's result: `ok` None when the step was skipped; `detail` its lines (tokens masked)."""

    step: str
    ok: bool | None
    summary: str
    detail: tuple[str, ...] = ()
    value: Any = field(default=None, compare=False, repr=False)   # the step's own result value

    @property
    def outcome(self) -> str:
        return "skipped" if self.ok is None else ("ok" if self.ok else "failed")

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "outcome": self.outcome, "summary": redact(self.summary),
                "detail": [redact(line) for line in self.detail]}


@dataclass(frozen=True)
class Diagnosis:
    """One verdict of a hand-over: which half, where (console, field), the fix, why, and the evidence."""

    half: str                       # a key of HALVES
    verdict: str                    # one sentence
    fix: str                        # one sentence
    key: str = ""                   # the profile key of the field, "" when it is no field
    why: str = ""
    step: int | None = None         # the setup step of the field
    code: str = ""                  # the finding's code when a check gave the verdict
    evidence: tuple[Evidence, ...] = ()

    @property
    def ok(self) -> bool:
        return self.half == "nothing"

    @property
    def half_label(self) -> str:
        return HALVES[self.half]

    @property
    def console(self) -> str:
        return console_of(self.key)

    @property
    def field(self) -> str:
        """The field as the console labels it (`profile.FIELD_LABELS`)."""
        return label_of(self.key)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "half": self.half, "half_label": self.half_label, "console": self.console,
                "field": self.field, "key": self.key, "step": self.step, "code": self.code,
                "verdict": redact(self.verdict), "fix": redact(self.fix), "why": redact(self.why),
                "evidence": [e.to_json() for e in self.evidence]}

    def render(self) -> str:
        """Terminal text: the verdict, where, the fix, why, then each step's evidence."""
        lines = [(_("OK") if self.ok else _("BROKEN")) + "  " + self.verdict]
        if self.key:
            lines.append(message("text.field", field=self.field, console=self.console))
        lines.append(message("text.fix", fix=self.fix))
        if self.why:
            lines.append(message("text.why", why=self.why))
        lines.append(message("text.evidence"))
        for e in self.evidence:
            lines.append(f"  {_MARKS[e.outcome]} {e.step}: {e.summary}")
            lines.extend(f"      {line}" for line in e.detail)
        return redact("\n".join(lines))

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return redact(f"Diagnosis({self.verdict})")

    def _repr_html_(self) -> str:
        esc = html.escape
        color = "#1a7f37" if self.ok else "#c62828"
        where = (f"<div>{esc(message('text.field', field=self.field, console=self.console))}</div>"
                 if self.key else "")
        why = f"<div style='color:#555'>{esc(message('text.why', why=self.why))}</div>" if self.why else ""
        steps = "".join(
            f"<details><summary>{_MARKS[e.outcome]} {esc(e.step)}: {esc(e.summary)}</summary>"
            f"<pre style='white-space:pre-wrap'>{esc(chr(10).join(e.detail))}</pre></details>"
            for e in self.evidence)
        return redact(f"<div class='jivo-ops-diagnosis'><b style='color:{color}'>{esc(self.verdict)}</b>{where}"
                      f"<div>{esc(message('text.fix', fix=self.fix))}</div>{why}{steps}</div>")


_MARKS = {"ok": "✓", "failed": "✗", "skipped": "–"}


# -- where a finding or a probe points ---------------------------------------------------------

def locate(finding: Finding) -> tuple[str, str]:
    """(half, profile key) a finding points at."""
    return HALF_OF_CODE.get(finding.code, HALF_OF_KEY.get(finding.key, "scenario")), finding.key


def _probe_key(probe: ServiceProbe) -> str:
    """The profile key a live probe tested: Jivo /status the unique URL, reach probes their first field."""
    if probe.kind == "jivo_status":
        return "jivo.unique_url"
    return probe.key


def _is_offline(probe: ServiceProbe) -> bool:
    """Jivo's /status answered 0: the channel is fine, nobody is online."""
    return probe.kind == "jivo_status" and probe.status == 200 and probe.ok is False


def _broken(half: str, what: str, fix: str, why: str, key: str = "", code: str = "") -> dict[str, Any]:
    step = FIELDS[key].step if key in FIELDS else None
    return {"half": half, "verdict": _capital(message("verdict.broken", half=HALVES[half], what=what)),
            "fix": fix, "why": why, "key": key, "step": step, "code": code}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _from_finding(finding: Finding, alone: bool) -> dict[str, Any]:
    half, key = locate(finding)
    what = _("{field} {message} (step {step}, {code})").format(
        field=label_of(key) or finding.field, message=finding.message, step=finding.step, code=finding.code)
    return _broken(half, what, finding.fix, message("why.finding_alone" if alone else "why.finding"), key,
                   finding.code)


def _from_probe(probe: ServiceProbe) -> dict[str, Any]:
    if _is_offline(probe):
        return _broken("jaicp_to_jivo", message("what.offline"), message("fix.offline"), message("why.probe"))
    key = _probe_key(probe)
    return _broken(HALF_OF_KEY.get(key, "scenario"), f"{probe.name}: {probe.detail}",
                   probe.next_step or message("fix.transfer_error", field=label_of(key)), message("why.probe"), key)


def _from_leg(result: Any) -> dict[str, Any]:
    if result.leg == "jivo":
        offline = result.summary in {_(summary) for summary in OFFLINE_SUMMARIES}
        if offline:
            return _broken("jaicp_to_jivo", message("what.offline"), message("fix.offline"), message("why.leg"))
        return _broken("jaicp_to_jivo", result.summary, result.next_check, message("why.leg"), "jivo.unique_url")
    return _broken("jivo_to_jaicp", result.summary, result.next_check, message("why.leg"),
                   "jaicp.internal_webhook_url")


def _from_transfer(result: Any) -> dict[str, Any]:
    why = message("why.transfer")
    if result.outcome == "no_switch":
        return _broken("scenario", message("what.no_switch"), message("fix.no_switch"), why)
    if result.outcome == "no_operators":
        return _broken("jaicp_to_jivo", message("what.no_operators"), message("fix.offline"), why)
    if result.outcome == "unanswered":
        seen = _operator_saw_client(result)
        if seen is True:
            return _broken("jivo_to_jaicp", message("what.unanswered_seen"), message("fix.unanswered_seen"), why,
                           "jivo.webhook_url")
        if seen is False:
            return _broken("jaicp_to_jivo", message("what.unanswered_unseen"), message("fix.unanswered_unseen"),
                           why, "jaicp.external_api_endpoint")
        return _broken("wiring", message("what.unanswered"), message("fix.unanswered"), why)
    # error: the bot could not be driven (or it switched into no live chat: the inbound link)
    error = redact(result.error or "")
    key = "jaicp.inbound_operator" if "«Оператор»" in error else "jaicp.chat_api_url"
    return _broken(HALF_OF_KEY[key], message("what.transfer_error", error=error),
                   message("fix.transfer_error", field=label_of(key)), why, key)


def _operator_saw_client(result: Any) -> bool | None:
    """Whether Jivo's side got the client's messages: None when nobody can see Jivo's side
    (human operators); a stand-in fills `operator_side`."""
    side = result.operator_side
    if side is None:
        return None
    return bool(side.get("first_message") or side.get("messages"))


# -- the steps ----------------------------------------------------------------------------------

def _checks_evidence(report: CheckReport) -> Evidence:
    lines = tuple(str(f) for f in report.findings)
    return Evidence(message("step.checks"), not report.errors, message("checks.summary", summary=report.summary()),
                    lines, report)


def _probes_evidence(probes: list[ServiceProbe]) -> Evidence:
    failed = [p for p in probes if p.ok is False]
    lines = tuple(f"{_MARKS[p.outcome]} {p.name}: {p.detail}" + (f" → {p.next_step}" if p.next_step and not p.ok
                                                                   else "") for p in probes)
    summary = _("{passed} of {total} passed").format(passed=len(probes) - len(failed), total=len(probes))
    return Evidence(message("step.probes"), not failed, summary, lines, probes)


def _leg_evidence(name: str, result: Any) -> Evidence:
    return Evidence(message(name), result.ok, result.summary, tuple(result.render().splitlines()[1:]), result)


def _transfer_evidence(result: Any) -> Evidence:
    return Evidence(message("step.transfer"), result.outcome == "answered", outcome_label(result.outcome),
                    tuple(result.render_timeline().splitlines()), result)


def _skipped(name: str, reason: str) -> Evidence:
    return Evidence(message(name), None, reason)


def transfer_once(profile: Profile, *, step_timeout: float) -> Any:
    """The test transfer of a diagnosis. With a profile whose Jivo side shows what the operator got
    (`[jivo] operator_view_url`: the sandbox's Jivo, a running stand-in), the result's `operator_side`
    says whether Jivo's side got the client's messages, and `_operator_saw_client` tells the halves apart."""
    from ..transfer.runner import run_transfer

    return run_transfer(profile, step_timeout=step_timeout)


def diagnose(target: Any = None, *, timeout: float = 10.0, step_timeout: float = 10.0,
             on_step: Callable[[Evidence], None] | None = None) -> Diagnosis:
    """Run the checks, the live probes, both leg probes and one test transfer, in order, and give
    one `Diagnosis` (see the module docstring).

    `target`: anything `resolve_profile` takes (a Profile, a Sandbox, a path; None: the default
    profile). `timeout`: each probe's limit; `step_timeout`: each transfer step's. `on_step(evidence)`
    is called as each step ends (a widget's progress). A profile that cannot be read raises
    `ProfileError`: the diagnosis could not run.
    """
    from .probes import probe_jaicp_leg, probe_jivo_leg

    profile = resolve_profile(target)
    evidence: list[Evidence] = []
    verdicts: list[dict[str, Any]] = []

    def record(item: Evidence, verdict: dict[str, Any] | None = None) -> None:
        evidence.append(item)
        if verdict is not None:
            verdicts.append(verdict)
        if on_step is not None:
            on_step(item)

    report = check_profile(profile)
    first_error = report.errors[0] if report.errors else None
    record(_checks_evidence(report))

    probes = run_probes(profile, timeout=timeout)
    # A service's own answer (Jivo /status, the Chat API round trip) says more than a bare reach probe.
    failed_probe = min((p for p in probes if p.ok is False), key=lambda p: p.kind == "reach",
                       default=None)
    record(_probes_evidence(probes), _from_probe(failed_probe) if failed_probe else None)

    legs = {"step.jivo_leg": (("jivo.unique_url",), lambda: probe_jivo_leg(profile, timeout=timeout,
                                                                           http_timeout=timeout)),
            "step.jaicp_leg": (("jaicp.internal_webhook_url", "jaicp.chat_api_url"),
                               lambda: probe_jaicp_leg(profile, timeout=timeout, http_timeout=timeout))}
    for name, (keys, run) in legs.items():
        missing = _unusable(profile, report, keys)
        if missing:
            record(_skipped(name, message("skipped.no_url", field=missing)))
            continue
        result = run()
        record(_leg_evidence(name, result), None if result.ok else _from_leg(result))

    if first_error is not None:
        record(_skipped("step.transfer", message("skipped.checks_red")))
    elif verdicts:
        record(_skipped("step.transfer", message("skipped.earlier_red")))
    elif missing := _unusable(profile, report, ("jaicp.chat_api_url",)):
        record(_skipped("step.transfer", message("skipped.no_url", field=missing)))
    else:
        result = transfer_once(profile, step_timeout=step_timeout)
        record(_transfer_evidence(result), None if result.outcome == "answered" else _from_transfer(result))

    if first_error is not None:
        chosen = _from_finding(first_error, alone=not any(e.ok for e in evidence[1:]))
    elif verdicts:
        chosen = verdicts[0]
    else:
        chosen = {"half": "nothing", "verdict": message("verdict.healthy"), "fix": message("fix.healthy"),
                  "why": message("why.healthy")}
    return Diagnosis(evidence=tuple(evidence), **chosen)


def _unusable(profile: Profile, report: CheckReport, keys: tuple[str, ...]) -> str:
    """The label of the first key that is empty or whose URL form a check refused, or ""."""
    values = profile.to_values()
    for key in keys:
        if not str(values.get(key) or "").strip() or any(f.is_error and f.code < "J100" for f in report.for_key(key)):
            return label_of(key)
    return ""
