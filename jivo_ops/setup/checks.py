"""Setup checks: the seed's four steps as checks over a `Profile`, plus optional live probes.

`check_profile(profile)` returns a `CheckReport` of `Finding` values. Each finding has a stable
code, a severity, the step it belongs to, the field as the JAICP or Jivo UI names it, what is
wrong, and the fix in one sentence. No finding ever quotes a token: URLs are described by host,
shape and lengths only.

The steps (the headings of the user's instructions):

1. «Создание канала» — JAICP: Каналы → Операторы → Подключить канал → Jivo; copy «Internal Webhook Url».
2. «Настройка Jivo» — Jivo: Управление → Каналы связи → «Добавьте чат в свое приложение»;
   «URL вашего сервера для Webhooks» = Internal Webhook Url, «Chunked кодировка в запросах» on;
   copy «Уникальный URL».
3. «Подключение операторского канала» — JAICP: «External API Endpoint» = Уникальный URL; the
   inbound channel's «Оператор» = the operator channel.
4. «Перевод на оператора» — the scenario pushes a `switch` reply; testing it needs the Chat API URL
   (and the Reporter API token to read the logs).

Codes (J0xx: the form of any URL field, reported under that field's step; J<step>xx otherwise)::

    J001 error    a URL without a scheme (no https://)
    J002 error    a URL with a leading or trailing space / line break
    J003 error    a URL with a space or line break inside
    J004 error    a URL whose scheme is not http or https
    J005 error    a URL without a host
    J006 warning  plain http:// to a host that is not loopback
    J101 error    «Internal Webhook Url» is empty
    J102 error    «Internal Webhook Url» holds another kind of URL (e.g. Jivo's Уникальный URL)
    J103 warning  «Internal Webhook Url» is not of the shape …/chatadapter/chatapi/webhook/<adapter>/<token>
    J104 warning  the JAICP operator channel's «Название» is empty
    J201 error    «URL вашего сервера для Webhooks» is empty
    J202 error    «URL вашего сервера для Webhooks» holds another kind of URL (e.g. the Уникальный URL)
    J203 error    «URL вашего сервера для Webhooks» ≠ «Internal Webhook Url» (the difference is named:
                  http/https, host, truncated or extra characters, another token, trailing slash, case)
    J204 error    «Chunked кодировка в запросах» is off
    J205 error    «Уникальный URL» is empty
    J206 error    «Уникальный URL» holds another kind of URL (e.g. JAICP's Internal Webhook Url)
    J207 warning  the Уникальный URL's path is not /<16 letters or digits>/<10 letters or digits> (a cut paste?)
    J208 warning  the Уникальный URL's host is neither Jivo's (*.jivosite.com) nor loopback
    J209 warning  the Jivo «Название канала» is empty
    J210 warning  «URL вашего сервера для Webhooks» points at a recorder tap (/hook/<token>), not at JAICP
    J301 error    «External API Endpoint» is empty
    J302 error    «External API Endpoint» holds another kind of URL (e.g. JAICP's own Internal Webhook Url)
    J303 error    the two URLs are swapped (External API Endpoint ↔ URL вашего сервера для Webhooks)
    J304 error    «External API Endpoint» ≠ «Уникальный URL» (the difference is named, as for J203)
    J305 error    the inbound channel's «Оператор» is empty: not linked to the operator channel
    J306 error    the inbound channel's «Оператор» names another operator channel
    J307 warning  the inbound channel is not named
    J401 warning  the Chat API URL is empty: no test transfers or round-trip probe
    J402 error    the Chat API URL holds another kind of URL (e.g. the Internal Webhook Url)
    J403 warning  the Chat API URL is not of the shape …/chatapi/<8 letters or digits>:<40 hex>
    J404 warning  the Reporter API token is empty (and the URL carries none, …/api/reporter/p/<token>):
                  no message logs from JAICP
    J405 warning  the Reporter API URL is empty
    J406 warning  the Reporter API can be reached but the bot id is empty: messages/by-client requires botId

A stand-in (`jivo-ops stand-in`, the `[stand_in]` table) plays Jivo's side of a test operator channel:
    J501 error    the stand-in posts to another URL than the test channel's «Internal Webhook Url»
    J502 error    `[jivo] unique_url` is not the stand-in's «Уникальный URL» (`[stand_in] unique_url`)
    J503 warning  the stand-in's «Уникальный URL» is a local address but JAICP is not on this machine

Live probes (`run_probes`, or `check_profile(profile, probe=True)`) send only harmless requests:
Jivo's `GET <Уникальный URL>/status`, a `HEAD` to each distinct URL (any HTTP answer counts as
reachable: nothing is ever POSTed to a real webhook), and one Chat API query "/start" from a fresh
`jivo-ops-probe-<random>` client. Every request goes through `jivo_ops.channel.http` with a timeout.
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Callable, Iterator
from urllib.parse import SplitResult, urlsplit

from ..errors import JivoOpsError, ProtocolError, RejectedError, ServiceError
from ..i18n import N_, TranslatedMapping, _, ngettext
from ..profile import FIELD_LABELS, Profile, reporter_path_token
from ..redaction import redact

if TYPE_CHECKING:  # pragma: no cover
    import httpx
    import pandas

__all__ = ["Finding", "CheckReport", "ServiceProbe", "FieldInfo", "CODES", "FIELDS", "STEPS", "check_profile",
           "run_probes", "arun_probes", "describe_difference"]

ERROR, WARNING = "error", "warning"

# The headings as the seed's (Russian) instructions word them: `step_title` in JSON, stable in every language.
STEP_HEADINGS: dict[int, str] = {
    1: "Создание канала",
    2: "Настройка Jivo",
    3: "Подключение операторского канала",
    4: "Перевод на оператора",
}
# The same headings on screens, in the language of the moment (read through `_()`).
STEPS: "TranslatedMapping[int, str]" = TranslatedMapping({
    1: N_("Creating the channel"),
    2: N_("Setting up Jivo"),
    3: N_("Connecting the operator channel"),
    4: N_("Transfer to an operator"),
})
SEVERITY_LABELS = TranslatedMapping({ERROR: N_("error"), WARNING: N_("warning")})


@dataclass(frozen=True)
class FieldInfo:
    """A profile key, the step it belongs to, and its label in the JAICP or Jivo UI."""

    key: str
    step: int
    label: str


FIELDS: dict[str, FieldInfo] = {f.key: f for f in (
    FieldInfo("jaicp.operator_channel", 1, "«Название»"),
    FieldInfo("jaicp.internal_webhook_url", 1, "«Internal Webhook Url»"),
    FieldInfo("jivo.channel", 2, "«Название канала»"),
    FieldInfo("jivo.webhook_url", 2, "«URL вашего сервера для Webhooks»"),
    FieldInfo("jivo.chunked", 2, "«Chunked кодировка в запросах»"),
    FieldInfo("jivo.unique_url", 2, "«Уникальный URL»"),
    FieldInfo("jaicp.external_api_endpoint", 3, "«External API Endpoint»"),
    FieldInfo("jaicp.inbound_channel", 3, N_("inbound channel")),
    FieldInfo("jaicp.inbound_operator", 3, "«Оператор»"),
    FieldInfo("jaicp.chat_api_url", 4, "Chat API URL"),
    FieldInfo("jaicp.reporter_url", 4, "Reporter API URL"),
    FieldInfo("jaicp.reporter_token", 4, "Reporter API token"),
    FieldInfo("jaicp.bot_id", 4, "bot id (botId)"),
    FieldInfo("stand_in.webhook_url", 2, "stand-in --webhook"),
    FieldInfo("stand_in.unique_url", 2, "stand-in «Уникальный URL»"),
)}

# code -> (severity, short title, N_-marked: `_()` it where shown); the module docstring lists the same, in words.
CODES: dict[str, tuple[str, str]] = {
    "J001": (ERROR, N_("URL without a scheme")),
    "J002": (ERROR, N_("space around a URL")),
    "J003": (ERROR, N_("space inside a URL")),
    "J004": (ERROR, N_("URL scheme is not http(s)")),
    "J005": (ERROR, N_("URL without a host")),
    "J006": (WARNING, N_("plain http to a public host")),
    "J101": (ERROR, N_("Internal Webhook Url empty")),
    "J102": (ERROR, N_("Internal Webhook Url holds another URL")),
    "J103": (WARNING, N_("Internal Webhook Url of an unknown shape")),
    "J104": (WARNING, N_("operator channel unnamed")),
    "J201": (ERROR, N_("Jivo webhook URL empty")),
    "J202": (ERROR, N_("Jivo webhook URL holds another URL")),
    "J203": (ERROR, N_("Jivo webhook URL ≠ Internal Webhook Url")),
    "J204": (ERROR, N_("chunked encoding off")),
    "J205": (ERROR, N_("Уникальный URL empty")),
    "J206": (ERROR, N_("Уникальный URL holds another URL")),
    "J207": (WARNING, N_("Уникальный URL of an unusual shape")),
    "J208": (WARNING, N_("Уникальный URL on a foreign host")),
    "J209": (WARNING, N_("Jivo channel unnamed")),
    "J210": (WARNING, N_("Jivo webhook URL points at a recorder tap")),
    "J301": (ERROR, N_("External API Endpoint empty")),
    "J302": (ERROR, N_("External API Endpoint holds another URL")),
    "J303": (ERROR, N_("the two URLs swapped")),
    "J304": (ERROR, N_("External API Endpoint ≠ Уникальный URL")),
    "J305": (ERROR, N_("inbound channel not linked")),
    "J306": (ERROR, N_("inbound channel linked elsewhere")),
    "J307": (WARNING, N_("inbound channel unnamed")),
    "J401": (WARNING, N_("Chat API URL empty")),
    "J402": (ERROR, N_("Chat API URL holds another URL")),
    "J403": (WARNING, N_("Chat API URL of an unknown shape")),
    "J404": (WARNING, N_("Reporter API token empty")),
    "J405": (WARNING, N_("Reporter API URL empty")),
    "J406": (WARNING, N_("Reporter bot id empty")),
    "J501": (ERROR, N_("stand-in webhook ≠ Internal Webhook Url")),
    "J502": (ERROR, N_("Уникальный URL is not the stand-in's")),
    "J503": (WARNING, N_("stand-in URL unreachable from JAICP's cloud")),
}

_SEVERITY_ORDER = {ERROR: 0, WARNING: 1}


@dataclass(frozen=True)
class Finding:
    """One problem of the setup: where it is (step, UI field, profile key), what, and the fix."""

    code: str
    severity: str
    step: int
    field: str
    message: str
    fix: str
    key: str = ""

    @property
    def step_title(self) -> str:
        return STEPS[self.step]

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "step": self.step,
                "step_title": STEP_HEADINGS[self.step],
                "field": self.field, "key": self.key, "message": self.message, "fix": self.fix}

    def __str__(self) -> str:
        return _("{severity} {code} (step {step}) {field}: {message}. Fix: {fix}").format(
            severity=SEVERITY_LABELS[self.severity], code=self.code, step=self.step, field=self.field,
            message=self.message, fix=self.fix)


@dataclass(frozen=True)
class ServiceProbe:
    """One live service probe (the deep per-leg probes are `jivo_ops.setup.probes.ProbeResult`).

    `ok` is None when the probe was skipped (its URL is missing or malformed). The Jivo status probe
    is not ok when no operator is online: a transfer made now would find nobody.
    """

    name: str
    ok: bool | None
    latency_s: float | None
    detail: str
    next_step: str = ""
    url: str = ""            # masked
    status: int | None = None
    kind: str = ""           # "jivo_status" | "reach" | "chat_api": what was probed, whatever the language of `name`
    key: str = ""            # the profile key of the (first) field probed

    @property
    def outcome(self) -> str:
        return "skipped" if self.ok is None else ("ok" if self.ok else "failed")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "outcome": self.outcome,
                "latency_s": None if self.latency_s is None else round(self.latency_s, 4),
                "status": self.status, "url": self.url, "detail": self.detail, "next_step": self.next_step}


@dataclass(frozen=True)
class CheckReport:
    """The findings of one check run (errors first within each step), and the probes if any ran."""

    findings: tuple[Finding, ...]
    probes: tuple[ServiceProbe, ...] = ()
    profile_name: str = ""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def failed_probes(self) -> list[ServiceProbe]:
        return [p for p in self.probes if p.ok is False]

    @property
    def ok(self) -> bool:
        """No error finding and no failed probe (warnings and skipped probes are fine)."""
        return not self.errors and not self.failed_probes

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def for_step(self, step: int) -> list[Finding]:
        return [f for f in self.findings if f.step == step]

    def for_key(self, key: str) -> list[Finding]:
        return [f for f in self.findings if f.key == key]

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def summary(self) -> str:
        """One line: the counts and the verdict."""
        errors, warnings = len(self.errors), len(self.warnings)
        parts = [ngettext("{n} error", "{n} errors", errors).format(n=errors),
                 ngettext("{n} warning", "{n} warnings", warnings).format(n=warnings)]
        if self.probes:
            counts = {o: sum(p.outcome == o for p in self.probes) for o in ("ok", "failed", "skipped")}
            parts.append(_("probes: {ok} ok, {failed} failed").format(ok=counts["ok"], failed=counts["failed"])
                         + (_(", {skipped} skipped").format(skipped=counts["skipped"]) if counts["skipped"] else ""))
        who = _("profile {name!r}: ").format(name=self.profile_name) if self.profile_name else ""
        if self.ok:
            verdict = (_("all four steps look right") if not self.warnings
                       else _("no errors; read the warnings"))
        else:
            steps = sorted({f.step for f in self.errors})
            verdict = (_("fix step {steps} first").format(steps=", ".join(map(str, steps))) if steps
                       else _("fix what the failed probes name"))
        return f"{who}{', '.join(parts)} — {verdict}"

    def to_json(self) -> dict[str, Any]:
        return {"profile": self.profile_name, "ok": self.ok, "errors": len(self.errors),
                "warnings": len(self.warnings), "findings": [f.to_json() for f in self.findings],
                "probes": [p.to_json() for p in self.probes], "summary": self.summary()}

    def to_frame(self) -> "pandas.DataFrame":
        """One row per finding: severity, code, step, step_title, field, key, message, fix."""
        import pandas as pd

        columns = ["severity", "code", "step", "step_title", "field", "key", "message", "fix"]
        frame = pd.DataFrame([f.to_json() for f in self.findings], columns=columns)
        frame["severity"] = pd.Categorical(frame["severity"], categories=[ERROR, WARNING])
        frame["step"] = frame["step"].astype("int64")
        for name in ("code", "step_title", "field", "key", "message", "fix"):
            frame[name] = frame[name].astype("string")
        return frame

    def probes_frame(self) -> "pandas.DataFrame":
        import pandas as pd

        columns = ["name", "outcome", "ok", "latency_s", "status", "url", "detail", "next_step"]
        return pd.DataFrame([p.to_json() for p in self.probes], columns=columns)

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = []
        for step, title in STEPS.items():
            found = self.for_step(step)
            mark = "✗" if any(f.is_error for f in found) else ("!" if found else "✓")
            rows.append(f"<tr><th colspan='4' style='text-align:left'>{mark} {step}. {esc(title)}</th></tr>")
            for f in found:
                color = "#b00020" if f.is_error else "#8a6d00"
                rows.append(f"<tr><td style='color:{color}'>{esc(SEVERITY_LABELS[f.severity])}</td><td><code>{esc(f.code)}</code></td>"
                            f"<td>{esc(f.field)}: {esc(f.message)}</td><td>{esc(f.fix)}</td></tr>")
        probes = ""
        if self.probes:
            items = "".join(
                f"<tr><td>{'✓' if p.ok else ('–' if p.ok is None else '✗')}</td><td>{esc(p.name)}</td>"
                f"<td>{'' if p.latency_s is None else f'{p.latency_s:.3f} s'}</td><td>{esc(p.detail)}</td>"
                f"<td>{esc(p.next_step)}</td></tr>" for p in self.probes)
            probes = f"<table><caption>{esc(_('probes'))}</caption>{items}</table>"
        body = (f"<div><p><b>{esc(self.summary())}</b></p><table>{''.join(rows)}</table>{probes}</div>")
        return redact(body)

    def __repr__(self) -> str:
        return f"<CheckReport {self.summary()}>"


# -- URL anatomy ---------------------------------------------------------------------------------

_JIVO_PATH = re.compile(r"^/[A-Za-z0-9]{16}/[A-Za-z0-9]{10}/?$")
_WEBHOOK_PATH = re.compile(r"^(?:/[^/]+)*/webhook/[A-Za-z0-9_.-]+/[^/]+/?$")
_JAICP_WEBHOOK_PATH = re.compile(r"^/chatadapter/chatapi/webhook/[A-Za-z0-9_.-]+/[^/]+/?$")
_CHAT_API_PATH = re.compile(r"^(?:/chatadapter)?/chatapi/(?P<token>[^/]+)/?$")
_CHAT_API_TOKEN = re.compile(r"^[A-Za-z0-9]{8}:[0-9a-f]{40}$")
_REPORTER_PATH = re.compile(r"/api/(?:v\d+/)?reporter(?:/|$)")
_RECORDER_PATH = re.compile(r"^/hook/[^/]+")

# kind -> how a message names a URL of that kind
_KIND_NAMES = TranslatedMapping({
    "jaicp-webhook": N_("JAICP's «Internal Webhook Url»"),
    "jivo-unique": N_("a Jivo «Уникальный URL»"),
    "chat-api": N_("a JAICP Chat API URL"),
    "reporter": N_("the Reporter API URL"),
})
# what each URL field must hold
_EXPECTED_KIND = {
    "jaicp.internal_webhook_url": "jaicp-webhook",
    "jivo.webhook_url": "jaicp-webhook",
    "jivo.unique_url": "jivo-unique",
    "jaicp.external_api_endpoint": "jivo-unique",
    "jaicp.chat_api_url": "chat-api",
    "jaicp.reporter_url": "reporter",
}
_URL_KEYS = tuple(_EXPECTED_KIND)


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 — raises ValueError on a bad port
    except ValueError:
        return None
    return parts


def _url_kind(url: str) -> str:
    """What a URL looks like: one of _KIND_NAMES, or "other"."""
    parts = _split(url)
    if parts is None or not parts.netloc:
        return "other"
    path = parts.path
    if _WEBHOOK_PATH.match(path):
        return "jaicp-webhook"
    if _JIVO_PATH.match(path):
        return "jivo-unique"
    if _CHAT_API_PATH.match(path):
        return "chat-api"
    if _REPORTER_PATH.search(path):
        return "reporter"
    return "other"


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_jivo_host(host: str | None) -> bool:
    host = (host or "").lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in ("jivosite.com", "jivosite.ru", "jivo.ru", "jivochat.com"))


def describe_difference(actual: str, expected: str, *, expected_label: str | None = None) -> str | None:
    """How `actual` differs from `expected` in words, without quoting either; None when they match.

    Both are stripped first (spaces around a URL are reported on their own). Names, in order:
    scheme (http vs https), host, port, a trailing slash, letter case, a truncated or lengthened
    path (a cut token), another token in the same place, another path, the query string.
    """
    a, e = actual.strip(), expected.strip()
    if a == e:
        return None
    pa, pe = _split(a), _split(e)
    if pa is None or pe is None:
        return _("it is a different value")
    none = _("none")
    parts: list[str] = []
    if pa.scheme.lower() != pe.scheme.lower():
        parts.append(_("it uses {actual}:// where {label} uses {expected}://").format(
            actual=pa.scheme or _("no scheme"), label=expected_label or _("the other"), expected=pe.scheme or none))
    if (pa.hostname or "") != (pe.hostname or ""):
        parts.append(_("another host ({actual} instead of {expected})").format(
            actual=pa.hostname or none, expected=pe.hostname or none))
    elif pa.port != pe.port:
        default = _("default")
        parts.append(_("another port ({actual} instead of {expected})").format(
            actual=pa.port or default, expected=pe.port or default))
    if pa.path != pe.path:
        ap, ep = pa.path, pe.path
        if ap.rstrip("/") == ep.rstrip("/"):
            parts.append(_("an extra trailing slash") if len(ap) > len(ep) else _("a missing trailing slash"))
        elif ap.lower() == ep.lower():
            parts.append(_("letter case differs in the path (tokens are case-sensitive)"))
        elif ep.startswith(ap):
            n = len(ep) - len(ap)
            parts.append(ngettext("it is cut short: {n} character missing at the end (a truncated token)",
                                  "it is cut short: {n} characters missing at the end (a truncated token)", n
                                  ).format(n=n))
        elif ap.startswith(ep):
            n = len(ap) - len(ep)
            parts.append(ngettext("{n} extra character at the end", "{n} extra characters at the end", n).format(n=n))
        else:
            sa, se = ap.rstrip("/").split("/"), ep.rstrip("/").split("/")
            if len(sa) == len(se) and sa[:-1] == se[:-1]:
                parts.append(_("another token (the path's last part differs: a stale copy from another channel?)"))
            elif len(sa) == len(se) and sum(x != y for x, y in zip(sa, se)) == 1:
                parts.append(_("one part of the path differs (another key or token)"))
            else:
                parts.append(_("another path"))
    if pa.query != pe.query:
        parts.append(_("another query string"))
    if pa.fragment != pe.fragment:
        parts.append(_("another #fragment"))
    if not parts:  # only the case of the scheme or host differs: the same address
        return None
    return "; ".join(parts)


# -- the checks ----------------------------------------------------------------------------------

class _Run:
    """One check run: the profile's values by key, the findings so far, keys already judged broken."""

    def __init__(self, profile: Profile):
        self.profile = profile
        self.values: dict[str, Any] = {}
        for table, section in (("jaicp", profile.jaicp), ("jivo", profile.jivo), ("stand_in", profile.stand_in)):
            for f in fields(section):
                self.values[f"{table}.{f.name}"] = getattr(section, f.name)
        self.findings: list[Finding] = []
        self.broken: set[str] = set()     # unusable: skip the finer checks of these keys

    def text(self, key: str) -> str:
        value = self.values[key]
        return value.strip() if isinstance(value, str) else ""

    def label(self, key: str) -> str:
        return _(FIELDS[key].label)

    def add(self, code: str, key: str, message: str, fix: str) -> None:
        severity = CODES[code][0]
        info = FIELDS[key]
        self.findings.append(Finding(code=code, severity=severity, step=info.step, field=self.label(key),
                                     message=message, fix=fix, key=key))

    def usable(self, key: str) -> bool:
        return bool(self.text(key)) and key not in self.broken


_COUNTERPART = {
    "jivo.webhook_url": "jaicp.internal_webhook_url",
    "jaicp.internal_webhook_url": "jivo.webhook_url",
    "jaicp.external_api_endpoint": "jivo.unique_url",
    "jivo.unique_url": "jaicp.external_api_endpoint",
}


def _check_url_form(run: _Run) -> None:
    """J001–J006 on every URL field that is set."""
    for key in _URL_KEYS:
        raw = run.values[key]
        if not isinstance(raw, str) or not raw.strip():
            continue
        text = raw.strip()
        if raw != text:
            both, first = raw[0].isspace() and raw[-1].isspace(), raw[0].isspace()
            if "\n" in raw.replace(text, ""):
                where = (_("starts and ends with a line break") if both else _("starts with a line break") if first
                         else _("ends with a line break"))
            else:
                where = (_("starts and ends with a space") if both else _("starts with a space") if first
                         else _("ends with a space"))
            same = ""
            other = _COUNTERPART.get(key)
            if other and run.text(other) == text and run.values[other] != raw:
                same = _("; apart from that it matches {field}").format(field=run.label(other))
            run.add("J002", key, where + same,
                    _("Delete the spaces around the URL so the service calls exactly that address."))
        if re.search(r"\s", text):
            run.add("J003", key, _("has a space or line break inside"),
                    _("Copy the URL again in one piece, with no spaces or line breaks inside."))
            run.broken.add(key)
            continue
        if "://" not in text:
            run.add("J001", key, _("has no scheme: it does not start with https://"),
                    _("Paste the whole URL, starting with https://."))
            run.broken.add(key)
            continue
        parts = _split(text)
        scheme = (parts.scheme if parts else text.split("://", 1)[0]).lower()
        if scheme not in ("http", "https"):
            shown = scheme if re.fullmatch(r"[a-z][a-z0-9+.-]{0,15}", scheme) else "?"
            run.add("J004", key, _("has the scheme {scheme}://, not http:// or https://").format(scheme=shown),
                    _("Paste the whole URL as the UI shows it, starting with https://."))
            run.broken.add(key)
            continue
        if parts is None or not parts.hostname:
            run.add("J005", key, _("has no host after {scheme}://").format(scheme=scheme),
                    _("Paste the whole URL, with its host such as https://app.jaicp.com/…."))
            run.broken.add(key)
            continue
        if scheme == "http" and not _is_loopback(parts.hostname):
            run.add("J006", key, _("uses plain http:// to {host}; both services use https").format(
                host=parts.hostname), _("Use the https:// address the UI shows."))


def _holds_wrong_kind(run: _Run, key: str) -> str | None:
    """What a URL field holds instead of its kind (worded for a message), or None if nothing wrong."""
    expected = _EXPECTED_KIND[key]
    kind = _url_kind(run.text(key))
    if kind != "other":
        return _KIND_NAMES[kind] if kind != expected else None
    # Shape unknown (a custom host or path): the same value as a field of another kind gives it away.
    for other in _URL_KEYS:
        if other == key or _EXPECTED_KIND[other] == expected or not run.text(other):
            continue
        if run.text(other) == run.text(key) and _url_kind(run.text(other)) in ("other", _EXPECTED_KIND[other]):
            return _("the same URL as {field}").format(field=run.label(other))
    return None


def _check_step1(run: _Run) -> None:
    key = "jaicp.internal_webhook_url"
    if not run.text("jaicp.operator_channel"):
        run.add("J104", "jaicp.operator_channel", _("the JAICP operator channel has no name in the profile"),
                _("Write the channel's name as JAICP shows it under Каналы → Операторы, such as Jivo."))
    if not run.text(key):
        run.add("J101", key, _("is empty: Jivo has nowhere to send operator answers"),
                _("In JAICP open Каналы → Операторы → the Jivo channel → Редактировать and copy its "
                  "«Internal Webhook Url» into the profile."))
        return
    if key in run.broken:
        return
    wrong = _holds_wrong_kind(run, key)
    if wrong:
        run.add("J102", key, _("holds {wrong}, not JAICP's own webhook address").format(wrong=wrong),
                _("Copy «Internal Webhook Url» from the Jivo operator channel's settings in JAICP "
                  "(Каналы → Операторы → Редактировать)."))
        run.broken.add(key)
        return
    parts = _split(run.text(key))
    if parts is not None and not _JAICP_WEBHOOK_PATH.match(parts.path) and not _WEBHOOK_PATH.match(parts.path):
        run.add("J103", key, _("does not look like …/chatadapter/chatapi/webhook/<adapter>/<token>"),
                _("Copy «Internal Webhook Url» again from the operator channel's settings in JAICP, in full."))


def _check_step2(run: _Run) -> None:
    if not run.text("jivo.channel"):
        run.add("J209", "jivo.channel", _("the Jivo channel has no name in the profile"),
                _("Write the name you gave the channel in Jivo (Управление → Каналы связи)."))
    _check_jivo_webhook(run)
    if run.values["jivo.chunked"] is not True:
        run.add("J204", "jivo.chunked", _("is off; the instructions require it on"),
                _("In Jivo open the channel's settings and switch «Chunked кодировка в запросах» on."))
    _check_unique_url(run)


def _check_jivo_webhook(run: _Run) -> None:
    key, target = "jivo.webhook_url", "jaicp.internal_webhook_url"
    if not run.text(key):
        run.add("J201", key, _("is empty: operator answers never reach JAICP"),
                _("Paste JAICP's «Internal Webhook Url» into «URL вашего сервера для Webhooks» in Jivo."))
        return
    if key in run.broken or _is_swapped(run):
        return
    wrong = _holds_wrong_kind(run, key)
    if wrong:
        run.add("J202", key, _("holds {wrong}: Jivo would post operator answers there instead of to JAICP").format(
                    wrong=wrong),
                _("Replace it with JAICP's «Internal Webhook Url» (Каналы → Операторы → the channel → "
                  "Редактировать)."))
        run.broken.add(key)
        return
    parts = _split(run.text(key))
    if parts is not None and _RECORDER_PATH.match(parts.path) and _url_kind(run.text(key)) == "other":
        run.add("J210", key, _("points at a recorder tap, not at JAICP: answers reach JAICP only if the tap "
                               "forwards them to «Internal Webhook Url»"),
                _("Keep it only while debugging with `jivo-ops record --forward`, then paste «Internal Webhook Url» "
                  "back."))
        return
    if not run.usable(target):
        return
    difference = describe_difference(run.text(key), run.text(target), expected_label="«Internal Webhook Url»")
    if difference:
        run.add("J203", key, _("differs from JAICP's «Internal Webhook Url»: {difference}").format(
                    difference=difference),
                _("Copy «Internal Webhook Url» again from JAICP and paste it whole into «URL вашего сервера для "
                  "Webhooks» in Jivo."))


def _check_unique_url(run: _Run) -> None:
    key = "jivo.unique_url"
    if not run.text(key):
        run.add("J205", key, _("is empty: JAICP cannot post client messages to Jivo"),
                _("In Jivo open the channel (Управление → Каналы связи) and copy its «Уникальный URL» into the "
                  "profile."))
        return
    if key in run.broken:
        return
    wrong = _holds_wrong_kind(run, key)
    if wrong:
        run.add("J206", key, _("holds {wrong}, not the Jivo channel's address").format(wrong=wrong),
                _("Copy «Уникальный URL» from the Jivo channel's settings (Управление → Каналы связи)."))
        run.broken.add(key)
        return
    _check_jivo_shape(run, key)


def _check_jivo_shape(run: _Run, key: str) -> None:
    """J207/J208 (warnings): /<16 alnum>/<10 alnum> on Jivo's host (or loopback, where the sandbox lives)."""
    parts = _split(run.text(key))
    if parts is None:
        return
    also = ""
    endpoint = "jaicp.external_api_endpoint"
    if key == "jivo.unique_url" and run.text(endpoint) == run.text(key):
        also = _(" ({field} holds the same)").format(field=run.label(endpoint))
    if not _JIVO_PATH.match(parts.path):
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) == 2:
            shape = (_("its parts are {first} and {second} characters long").format(
                        first=len(segments[0]), second=len(segments[1]))
                     + ("" if all(s.isalnum() for s in segments) else _(", not all letters and digits")))
        else:
            shape = ngettext("its path has {n} part", "its path has {n} parts", len(segments)).format(
                n=len(segments))
        # Only a hint that a paste was cut: Jivo's own docs show an example URL of another shape.
        run.add("J207", key, _("is not of Jivo's usual shape /<16 letters or digits>/<10 letters or digits>: "
                               "{shape}{also}").format(shape=shape, also=also),
                _("Compare it with «Уникальный URL» in the Jivo channel's settings (Управление → Каналы связи): "
                  "if the end was cut off, copy it again in full; if they match, nothing is wrong."))
    if not _is_jivo_host(parts.hostname) and not _is_loopback(parts.hostname):
        run.add("J208", key, _("is on {host}, not on Jivo's host (wh.jivosite.com){also}").format(
                    host=parts.hostname, also=also),
                _("Use the address Jivo shows as «Уникальный URL», unless you put a proxy in between on purpose."))


def _is_swapped(run: _Run) -> bool:
    endpoint, webhook = "jaicp.external_api_endpoint", "jivo.webhook_url"
    if not run.text(endpoint) or not run.text(webhook):
        return False
    endpoint_holds_webhook = (_url_kind(run.text(endpoint)) == "jaicp-webhook"
                              or run.text(endpoint) == run.text("jaicp.internal_webhook_url"))
    webhook_holds_unique = (_url_kind(run.text(webhook)) == "jivo-unique"
                            or run.text(webhook) == run.text("jivo.unique_url"))
    return endpoint_holds_webhook and webhook_holds_unique


def _check_step3(run: _Run) -> None:
    key, source = "jaicp.external_api_endpoint", "jivo.unique_url"
    if not run.text(key):
        run.add("J301", key, _("is empty: JAICP does not know where to send client messages"),
                _("In JAICP edit the Jivo operator channel, paste Jivo's «Уникальный URL» into «External API "
                  "Endpoint» and press Сохранить."))
    elif key not in run.broken:
        if _is_swapped(run):
            run.add("J303", key, _("swapped with «URL вашего сервера для Webhooks»: JAICP's field holds its own "
                                   "Internal Webhook Url, Jivo's holds its own Уникальный URL"),
                    _("Paste Jivo's «Уникальный URL» into «External API Endpoint» and JAICP's «Internal Webhook "
                      "Url» into «URL вашего сервера для Webhooks»."))
            run.broken.add(key)
        elif wrong := _holds_wrong_kind(run, key):
            run.add("J302", key, _("holds {wrong}, not Jivo's «Уникальный URL»").format(wrong=wrong),
                    _("Replace it with Jivo's «Уникальный URL» and press Сохранить."))
            run.broken.add(key)
        elif run.usable(source):
            difference = describe_difference(run.text(key), run.text(source), expected_label="«Уникальный URL»")
            if difference:
                run.add("J304", key, _("differs from Jivo's «Уникальный URL»: {difference}").format(
                            difference=difference),
                        _("Copy «Уникальный URL» again from Jivo and paste it whole into «External API Endpoint», "
                          "then press Сохранить."))
        elif not run.text(source):
            _check_jivo_shape(run, key)  # nothing to compare with: at least its shape
    _check_inbound_link(run)


def _check_inbound_link(run: _Run) -> None:
    channel, operator = run.text("jaicp.inbound_channel"), run.text("jaicp.inbound_operator")
    operator_channel = run.text("jaicp.operator_channel")
    inbound = (_("the inbound channel «{channel}»").format(channel=channel) if channel
               else _("the inbound channel"))
    if not channel:
        run.add("J307", "jaicp.inbound_channel", _("the inbound channel the bot talks on is not named in the profile"),
                _("Write the name of the JAICP inbound channel whose «Оператор» field you set, such as chat api."))
    open_it = _("In JAICP open {inbound}, choose «{operator_channel}» in «Оператор» and press Сохранить.").format(
        inbound=inbound, operator_channel=operator_channel or "Jivo")
    if not operator:
        run.add("J305", "jaicp.inbound_operator", _(
                "is empty in {inbound}: it is not linked to the operator channel, a switch fails with “no operator "
                "channel” and nobody in Jivo sees the chat").format(inbound=inbound), open_it)
    elif operator_channel and operator.casefold() != operator_channel.casefold():
        run.add("J306", "jaicp.inbound_operator", _(
                "of {inbound} is «{operator}», not the Jivo operator channel «{operator_channel}»: chats go "
                "elsewhere").format(inbound=inbound, operator=operator, operator_channel=operator_channel), open_it)


def _check_step4(run: _Run) -> None:
    key = "jaicp.chat_api_url"
    if not run.text(key):
        run.add("J401", key, _("is empty: test transfers and the round-trip probe cannot reach the bot"),
                _("Create a Chat API inbound channel in JAICP (or use an existing one) and put its URL with the "
                  "token into the profile."))
    elif key not in run.broken:
        if wrong := _holds_wrong_kind(run, key):
            run.add("J402", key, _("holds {wrong}, not a Chat API channel's address").format(wrong=wrong),
                    _("Put the Chat API channel's URL (…/chatapi/<token>) into the profile."))
        else:
            parts = _split(run.text(key))
            match = _CHAT_API_PATH.match(parts.path) if parts else None
            if match is None:
                run.add("J403", key, _("is not of the shape …/chatapi/<token>"),
                        _("Copy the Chat API channel's URL again from JAICP, in full."))
            elif not _CHAT_API_TOKEN.match(match["token"]):
                run.add("J403", key, _("its token is {length} characters long, not of the shape "
                                       "<8 letters or digits>:<40 hex digits> (truncated?)").format(
                            length=len(match["token"])),
                        _("Copy the Chat API channel's token again from JAICP, in full."))
    if not run.text("jaicp.reporter_url"):
        run.add("J405", "jaicp.reporter_url", _("is empty: message logs cannot be fetched"),
                _("Set it to https://app.jaicp.com/api/v1/reporter (or your JAICP server's address)."))
    token_in_url = bool(reporter_path_token(run.text("jaicp.reporter_url")))
    if not run.text("jaicp.reporter_token") and not token_in_url:
        run.add("J404", "jaicp.reporter_token", _("is empty: message logs cannot be fetched from JAICP"),
                _("Create an API token in JAICP and set it in the profile or in JIVO_OPS_REPORTER_TOKEN."))
    elif not run.text("jaicp.bot_id"):
        run.add("J406", "jaicp.bot_id", _("is empty: the Reporter API's messages/by-client requires botId, so the "
                                          "message logs of a client cannot be fetched"),
                _("Paste {field}.").format(field=FIELD_LABELS['jaicp.bot_id']))


def _check_stand_in(run: _Run) -> None:
    """J501–J503: the wiring of a stand-in, when the profile has one (a `[stand_in] unique_url`)."""
    own, webhook, internal = (run.text("stand_in.unique_url"), run.text("stand_in.webhook_url"),
                              run.text("jaicp.internal_webhook_url"))
    if not own:
        return
    if webhook and internal and (difference := describe_difference(webhook, internal,
                                                                     expected_label="«Internal Webhook Url»")):
        run.add("J501", "stand_in.webhook_url", _("differs from the test channel's «Internal Webhook Url»: "
                                                  "{difference}").format(difference=difference),
                _("Restart `jivo-ops stand-in --webhook <Internal Webhook Url>` with the URL copied again from the "
                  "test operator channel (or fix [jaicp] internal_webhook_url and restart with --profile)."))
    if run.text("jivo.unique_url") != own:
        run.add("J502", "stand_in.unique_url", _("is not what [jivo] unique_url holds: the other checks compare "
                                                 "«External API Endpoint» with another Jivo channel"),
                _("Restart `jivo-ops stand-in --profile PATH`: it writes its «Уникальный URL» into both."))
    parts, jaicp = _split(own), _split(internal)
    if parts is not None and jaicp is not None and _is_loopback(parts.hostname) and not _is_loopback(jaicp.hostname):
        run.add("J503", "stand_in.unique_url", _("is on {host}: JAICP's cloud cannot reach this machine's local "
                                                 "address").format(host=parts.hostname),
                _("Expose the stand-in's port through a tunnel and restart it with --public-url <the tunnel's https "
                  "address>; paste the new URL into «External API Endpoint»."))


_CHECKS: tuple[Callable[[_Run], None], ...] = (_check_url_form, _check_step1, _check_step2, _check_step3,
                                               _check_step4, _check_stand_in)


def check_profile(profile: Profile, *, probe: bool = False, timeout: float = 10.0,
                  transport: "httpx.BaseTransport | None" = None) -> CheckReport:
    """Every static check of the four steps (and the live probes when `probe`)."""
    run = _Run(profile)
    for check in _CHECKS:
        check(run)
    findings = sorted(run.findings, key=lambda f: (f.step, _SEVERITY_ORDER[f.severity], f.code))
    probes = tuple(run_probes(profile, timeout=timeout, transport=transport)) if probe else ()
    return CheckReport(findings=tuple(findings), probes=probes, profile_name=profile.name)


# -- live probes ---------------------------------------------------------------------------------

def _service_failure(exc: Exception) -> tuple[str, int | None]:
    status = getattr(exc, "status", None)
    return redact(str(exc)), status


# The probes' names, N_-marked: `_()`-ed when the probe is made.
JIVO_STATUS, CHAT_API_ROUND_TRIP = N_("Jivo status"), N_("Chat API round trip")


def _probe_jivo_status(url: str, client: "httpx.Client", shown: str, key: str) -> ServiceProbe:
    from ..channel.jivo import JivoClient
    from ..channel.http import NO_RETRY

    name, where = _(JIVO_STATUS), {"kind": "jivo_status", "key": key, "url": shown}
    started = time.perf_counter()
    try:
        jivo = JivoClient(url, client=client, retry=NO_RETRY)
        online = jivo.status()
    except RejectedError as exc:
        return ServiceProbe(name, False, time.perf_counter() - started, redact(str(exc)),
                           _("Jivo does not know this channel: copy «Уникальный URL» again from Jivo."),
                           status=exc.status, **where)
    except ProtocolError as exc:
        return ServiceProbe(name, False, time.perf_counter() - started, redact(str(exc)),
                           _("This address is not a Jivo channel: check «Уникальный URL»."), **where)
    except JivoOpsError as exc:
        detail, status = _service_failure(exc)
        return ServiceProbe(name, False, time.perf_counter() - started, detail,
                           _("Check the network and that «Уникальный URL» is the address Jivo shows."),
                           status=status, **where)
    latency = time.perf_counter() - started
    if online:
        return ServiceProbe(name, True, latency, _("1: an operator is online"), status=200, **where)
    return ServiceProbe(name, False, latency,
                       _("0: no operator is online; a switch now ends with noLivechatOperatorsOnline"),
                       _("Log in to the Jivo app as an operator and go online (or send the switch with "
                         "ignoreOffline)."), status=200, **where)


def _probe_reach(url: str, keys: list[str], client: "httpx.Client") -> ServiceProbe:
    from ..channel.http import send
    from ..redaction import mask_url

    labels = [_(FIELDS[key].label) for key in keys]
    name = _("reach {fields}").format(fields=" = ".join(labels))
    where = {"kind": "reach", "key": keys[0], "url": mask_url(url)}
    started = time.perf_counter()
    try:
        response = send(client, "HEAD", url, what=_("probe of {field}").format(field=labels[0]))
        status = response.status_code
    except ServiceError as exc:
        if exc.status is None:  # no HTTP answer at all
            return ServiceProbe(name, False, time.perf_counter() - started, redact(str(exc)),
                               _("Check the host name and the network; the other service must reach this address "
                                 "from the internet."), **where)
        status = exc.status
    except JivoOpsError as exc:
        return ServiceProbe(name, False, time.perf_counter() - started, redact(str(exc)),
                           _("Fix the URL (see the findings above)."), **where)
    latency = time.perf_counter() - started
    return ServiceProbe(name, True, latency, _("HTTP {status} (any answer counts: the server is there)").format(
        status=status), status=status, **where)


def _probe_chat_api(url: str, client: "httpx.Client", shown: str, client_id: str) -> ServiceProbe:
    from ..channel.jaicp import ChatApiClient

    name, where = _(CHAT_API_ROUND_TRIP), {"kind": "chat_api", "key": "jaicp.chat_api_url", "url": shown}
    started = time.perf_counter()
    try:
        bot = ChatApiClient(url, client=client)
        response = bot.send_query(client_id, "/start")
    except JivoOpsError as exc:
        detail, status = _service_failure(exc)
        return ServiceProbe(name, False, time.perf_counter() - started, detail,
                           _("Check the Chat API URL and token in JAICP (Каналы → Входящие → Chat API) and that the "
                             "bot is published."), status=status, **where)
    latency = time.perf_counter() - started
    types = response.reply_types
    detail = (ngettext("/start from {client}: {n} reply", "/start from {client}: {n} replies", len(types)).format(
                  client=client_id, n=len(types))
              + (f" ({', '.join(types)})" if types else _(" — the bot said nothing")))
    return ServiceProbe(name, True, latency, redact(detail),
                       "" if types else _("Check that the scenario answers /start."), status=200, **where)


def _skipped(name: str, kind: str, reason: str) -> ServiceProbe:
    return ServiceProbe(_(name), None, None, _("skipped: {reason}").format(reason=reason),
                        _("Fix the findings above, then probe again."), kind=kind)


def run_probes(profile: Profile, *, timeout: float = 10.0, transport: "httpx.BaseTransport | None" = None,
               client_id: str | None = None) -> list[ServiceProbe]:
    """Live, harmless probes of the profile's addresses, run in parallel; each bounded by `timeout`.

    Jivo `/status`, a HEAD to each distinct URL (any HTTP answer = reachable), and a Chat API "/start"
    round trip. A URL that is empty or malformed gives a skipped probe, not a failed one.
    """

    from ..channel.http import make_client
    from ..redaction import mask_url

    run = _Run(profile)
    _check_url_form(run)
    http = make_client(timeout=timeout, transport=transport)
    client_id = client_id or f"jivo-ops-probe-{secrets.token_hex(6)}"
    tasks: list[Callable[[], ServiceProbe]] = []

    unique_key = next((k for k in ("jivo.unique_url", "jaicp.external_api_endpoint") if run.usable(k)), None)
    if unique_key:
        url = run.text(unique_key)
        tasks.append(lambda url=url: _probe_jivo_status(url, http, mask_url(url), unique_key))
    else:
        tasks.append(lambda: _skipped(JIVO_STATUS, "jivo_status", _("no usable «Уникальный URL»")))

    distinct: dict[str, list[str]] = {}
    for key in ("jaicp.internal_webhook_url", "jivo.webhook_url", "jivo.unique_url", "jaicp.external_api_endpoint",
                "jaicp.chat_api_url", "jaicp.reporter_url"):
        if run.usable(key):
            distinct.setdefault(run.text(key), []).append(key)
    for url, keys in distinct.items():
        tasks.append(lambda url=url, keys=keys: _probe_reach(url, keys, http))

    if run.usable("jaicp.chat_api_url"):
        url = run.text("jaicp.chat_api_url")
        tasks.append(lambda url=url: _probe_chat_api(url, http, mask_url(url), client_id))
    else:
        tasks.append(lambda: _skipped(CHAT_API_ROUND_TRIP, "chat_api", _("no usable Chat API URL")))

    try:
        with ThreadPoolExecutor(max_workers=min(8, len(tasks)), thread_name_prefix="jivo-ops-probe") as pool:
            return list(pool.map(lambda task: task(), tasks))
    finally:
        http.close()


async def arun_probes(profile: Profile, **kwargs: Any) -> list[ServiceProbe]:
    """`run_probes` without blocking an event loop (a notebook kernel, a widget task)."""
    return await asyncio.to_thread(run_probes, profile, **kwargs)
