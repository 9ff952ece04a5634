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
from ..profile import FIELD_LABELS, Profile, reporter_path_token
from ..redaction import redact

if TYPE_CHECKING:  # pragma: no cover
    import httpx
    import pandas

__all__ = ["Finding", "CheckReport", "ServiceProbe", "FieldInfo", "CODES", "FIELDS", "STEPS", "check_profile",
           "run_probes", "arun_probes", "describe_difference"]

ERROR, WARNING = "error", "warning"

STEPS: dict[int, str] = {
    1: "Создание канала",
    2: "Настройка Jivo",
    3: "Подключение операторского канала",
    4: "Перевод на оператора",
}


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
    FieldInfo("jaicp.inbound_channel", 3, "входящий канал"),
    FieldInfo("jaicp.inbound_operator", 3, "«Оператор»"),
    FieldInfo("jaicp.chat_api_url", 4, "Chat API URL"),
    FieldInfo("jaicp.reporter_url", 4, "Reporter API URL"),
    FieldInfo("jaicp.reporter_token", 4, "Reporter API token"),
    FieldInfo("jaicp.bot_id", 4, "bot id (botId)"),
    FieldInfo("stand_in.webhook_url", 2, "stand-in --webhook"),
    FieldInfo("stand_in.unique_url", 2, "stand-in «Уникальный URL»"),
)}

# code -> (severity, short title); the module docstring lists the same, in words.
CODES: dict[str, tuple[str, str]] = {
    "J001": (ERROR, "URL without a scheme"),
    "J002": (ERROR, "space around a URL"),
    "J003": (ERROR, "space inside a URL"),
    "J004": (ERROR, "URL scheme is not http(s)"),
    "J005": (ERROR, "URL without a host"),
    "J006": (WARNING, "plain http to a public host"),
    "J101": (ERROR, "Internal Webhook Url empty"),
    "J102": (ERROR, "Internal Webhook Url holds another URL"),
    "J103": (WARNING, "Internal Webhook Url of an unknown shape"),
    "J104": (WARNING, "operator channel unnamed"),
    "J201": (ERROR, "Jivo webhook URL empty"),
    "J202": (ERROR, "Jivo webhook URL holds another URL"),
    "J203": (ERROR, "Jivo webhook URL ≠ Internal Webhook Url"),
    "J204": (ERROR, "chunked encoding off"),
    "J205": (ERROR, "Уникальный URL empty"),
    "J206": (ERROR, "Уникальный URL holds another URL"),
    "J207": (WARNING, "Уникальный URL of an unusual shape"),
    "J208": (WARNING, "Уникальный URL on a foreign host"),
    "J209": (WARNING, "Jivo channel unnamed"),
    "J210": (WARNING, "Jivo webhook URL points at a recorder tap"),
    "J301": (ERROR, "External API Endpoint empty"),
    "J302": (ERROR, "External API Endpoint holds another URL"),
    "J303": (ERROR, "the two URLs swapped"),
    "J304": (ERROR, "External API Endpoint ≠ Уникальный URL"),
    "J305": (ERROR, "inbound channel not linked"),
    "J306": (ERROR, "inbound channel linked elsewhere"),
    "J307": (WARNING, "inbound channel unnamed"),
    "J401": (WARNING, "Chat API URL empty"),
    "J402": (ERROR, "Chat API URL holds another URL"),
    "J403": (WARNING, "Chat API URL of an unknown shape"),
    "J404": (WARNING, "Reporter API token empty"),
    "J405": (WARNING, "Reporter API URL empty"),
    "J406": (WARNING, "Reporter bot id empty"),
    "J501": (ERROR, "stand-in webhook ≠ Internal Webhook Url"),
    "J502": (ERROR, "Уникальный URL is not the stand-in's"),
    "J503": (WARNING, "stand-in URL unreachable from JAICP's cloud"),
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
        return {"code": self.code, "severity": self.severity, "step": self.step, "step_title": self.step_title,
                "field": self.field, "key": self.key, "message": self.message, "fix": self.fix}

    def __str__(self) -> str:
        return f"{self.severity} {self.code} (step {self.step}) {self.field}: {self.message}. Fix: {self.fix}"


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
        def plural(n: int, word: str) -> str:
            return f"{n} {word}{'' if n == 1 else 's'}"

        parts = [plural(len(self.errors), "error"), plural(len(self.warnings), "warning")]
        if self.probes:
            counts = {o: sum(p.outcome == o for p in self.probes) for o in ("ok", "failed", "skipped")}
            parts.append(f"probes: {counts['ok']} ok, {counts['failed']} failed"
                         + (f", {counts['skipped']} skipped" if counts["skipped"] else ""))
        who = f"profile {self.profile_name!r}: " if self.profile_name else ""
        if self.ok:
            verdict = ("all four steps look right" if not self.warnings
                       else "no errors; read the warnings")
        else:
            steps = sorted({f.step for f in self.errors})
            verdict = ("fix step " + ", ".join(map(str, steps)) + " first" if steps
                       else "fix what the failed probes name")
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
                rows.append(f"<tr><td style='color:{color}'>{esc(f.severity)}</td><td><code>{esc(f.code)}</code></td>"
                            f"<td>{esc(f.field)}: {esc(f.message)}</td><td>{esc(f.fix)}</td></tr>")
        probes = ""
        if self.probes:
            items = "".join(
                f"<tr><td>{'✓' if p.ok else ('–' if p.ok is None else '✗')}</td><td>{esc(p.name)}</td>"
                f"<td>{'' if p.latency_s is None else f'{p.latency_s:.3f} s'}</td><td>{esc(p.detail)}</td>"
                f"<td>{esc(p.next_step)}</td></tr>" for p in self.probes)
            probes = f"<table><caption>probes</caption>{items}</table>"
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
_KIND_NAMES = {
    "jaicp-webhook": "JAICP's «Internal Webhook Url»",
    "jivo-unique": "a Jivo «Уникальный URL»",
    "chat-api": "a JAICP Chat API URL",
    "reporter": "the Reporter API URL",
}
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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def describe_difference(actual: str, expected: str, *, expected_label: str = "the other") -> str | None:
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
        return "it is a different value"
    parts: list[str] = []
    if pa.scheme.lower() != pe.scheme.lower():
        parts.append(f"it uses {pa.scheme or 'no scheme'}:// where {expected_label} uses {pe.scheme or 'none'}://")
    if (pa.hostname or "") != (pe.hostname or ""):
        parts.append(f"another host ({pa.hostname or 'none'} instead of {pe.hostname or 'none'})")
    elif pa.port != pe.port:
        parts.append(f"another port ({pa.port or 'default'} instead of {pe.port or 'default'})")
    if pa.path != pe.path:
        ap, ep = pa.path, pe.path
        if ap.rstrip("/") == ep.rstrip("/"):
            parts.append("an extra trailing slash" if len(ap) > len(ep) else "a missing trailing slash")
        elif ap.lower() == ep.lower():
            parts.append("letter case differs in the path (tokens are case-sensitive)")
        elif ep.startswith(ap):
            parts.append(f"it is cut short: {_plural(len(ep) - len(ap), 'character')} missing at the end "
                         "(a truncated token)")
        elif ap.startswith(ep):
            parts.append(f"{_plural(len(ap) - len(ep), 'extra character')} at the end")
        else:
            sa, se = ap.rstrip("/").split("/"), ep.rstrip("/").split("/")
            if len(sa) == len(se) and sa[:-1] == se[:-1]:
                parts.append("another token (the path's last part differs: a stale copy from another channel?)")
            elif len(sa) == len(se) and sum(x != y for x, y in zip(sa, se)) == 1:
                parts.append("one part of the path differs (another key or token)")
            else:
                parts.append("another path")
    if pa.query != pe.query:
        parts.append("another query string")
    if pa.fragment != pe.fragment:
        parts.append("another #fragment")
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
        return FIELDS[key].label

    def add(self, code: str, key: str, message: str, fix: str) -> None:
        severity, _ = CODES[code]
        info = FIELDS[key]
        self.findings.append(Finding(code=code, severity=severity, step=info.step, field=info.label,
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
            where = ("starts and ends" if raw[0].isspace() and raw[-1].isspace()
                     else "starts" if raw[0].isspace() else "ends")
            what = "a line break" if "\n" in raw.replace(text, "") else "a space"
            same = ""
            other = _COUNTERPART.get(key)
            if other and run.text(other) == text and run.values[other] != raw:
                same = f"; apart from that it matches {run.label(other)}"
            run.add("J002", key, f"{where} with {what}{same}",
                    "Delete the spaces around the URL so the service calls exactly that address.")
        if re.search(r"\s", text):
            run.add("J003", key, "has a space or line break inside",
                    "Copy the URL again in one piece, with no spaces or line breaks inside.")
            run.broken.add(key)
            continue
        if "://" not in text:
            run.add("J001", key, "has no scheme: it does not start with https://",
                    "Paste the whole URL, starting with https://.")
            run.broken.add(key)
            continue
        parts = _split(text)
        scheme = (parts.scheme if parts else text.split("://", 1)[0]).lower()
        if scheme not in ("http", "https"):
            shown = scheme if re.fullmatch(r"[a-z][a-z0-9+.-]{0,15}", scheme) else "?"
            run.add("J004", key, f"has the scheme {shown}://, not http:// or https://",
                    "Paste the whole URL as the UI shows it, starting with https://.")
            run.broken.add(key)
            continue
        if parts is None or not parts.hostname:
            run.add("J005", key, f"has no host after {scheme}://",
                    "Paste the whole URL, with its host such as https://app.jaicp.com/….")
            run.broken.add(key)
            continue
        if scheme == "http" and not _is_loopback(parts.hostname):
            run.add("J006", key, f"uses plain http:// to {parts.hostname}; both services use https",
                    "Use the https:// address the UI shows.")


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
            return f"the same URL as {run.label(other)}"
    return None


def _check_step1(run: _Run) -> None:
    key = "jaicp.internal_webhook_url"
    if not run.text("jaicp.operator_channel"):
        run.add("J104", "jaicp.operator_channel", "the JAICP operator channel has no name in the profile",
                "Write the channel's name as JAICP shows it under Каналы → Операторы, such as Jivo.")
    if not run.text(key):
        run.add("J101", key, "is empty: Jivo has nowhere to send operator answers",
                "In JAICP open Каналы → Операторы → the Jivo channel → Редактировать and copy its "
                "«Internal Webhook Url» into the profile.")
        return
    if key in run.broken:
        return
    wrong = _holds_wrong_kind(run, key)
    if wrong:
        run.add("J102", key, f"holds {wrong}, not JAICP's own webhook address",
                "Copy «Internal Webhook Url» from the Jivo operator channel's settings in JAICP "
                "(Каналы → Операторы → Редактировать).")
        run.broken.add(key)
        return
    parts = _split(run.text(key))
    if parts is not None and not _JAICP_WEBHOOK_PATH.match(parts.path) and not _WEBHOOK_PATH.match(parts.path):
        run.add("J103", key, "does not look like …/chatadapter/chatapi/webhook/<adapter>/<token>",
                "Copy «Internal Webhook Url» again from the operator channel's settings in JAICP, in full.")


def _check_step2(run: _Run) -> None:
    if not run.text("jivo.channel"):
        run.add("J209", "jivo.channel", "the Jivo channel has no name in the profile",
                "Write the name you gave the channel in Jivo (Управление → Каналы связи).")
    _check_jivo_webhook(run)
    if run.values["jivo.chunked"] is not True:
        run.add("J204", "jivo.chunked", "is off; the instructions require it on",
                "In Jivo open the channel's settings and switch «Chunked кодировка в запросах» on.")
    _check_unique_url(run)


def _check_jivo_webhook(run: _Run) -> None:
    key, target = "jivo.webhook_url", "jaicp.internal_webhook_url"
    if not run.text(key):
        run.add("J201", key, "is empty: operator answers never reach JAICP",
                "Paste JAICP's «Internal Webhook Url» into «URL вашего сервера для Webhooks» in Jivo.")
        return
    if key in run.broken or _is_swapped(run):
        return
    wrong = _holds_wrong_kind(run, key)
    if wrong:
        run.add("J202", key, f"holds {wrong}: Jivo would post operator answers there "
                "instead of to JAICP",
                "Replace it with JAICP's «Internal Webhook Url» (Каналы → Операторы → the channel → Редактировать).")
        run.broken.add(key)
        return
    parts = _split(run.text(key))
    if parts is not None and _RECORDER_PATH.match(parts.path) and _url_kind(run.text(key)) == "other":
        run.add("J210", key, "points at a recorder tap, not at JAICP: answers reach JAICP only if the tap "
                "forwards them to «Internal Webhook Url»",
                "Keep it only while debugging with `jivo-ops record --forward`, then paste «Internal Webhook Url» back.")
        return
    if not run.usable(target):
        return
    difference = describe_difference(run.text(key), run.text(target), expected_label="«Internal Webhook Url»")
    if difference:
        run.add("J203", key, f"differs from JAICP's «Internal Webhook Url»: {difference}",
                "Copy «Internal Webhook Url» again from JAICP and paste it whole into «URL вашего сервера для "
                "Webhooks» in Jivo.")


def _check_unique_url(run: _Run) -> None:
    key = "jivo.unique_url"
    if not run.text(key):
        run.add("J205", key, "is empty: JAICP cannot post client messages to Jivo",
                "In Jivo open the channel (Управление → Каналы связи) and copy its «Уникальный URL» into the profile.")
        return
    if key in run.broken:
        return
    wrong = _holds_wrong_kind(run, key)
    if wrong:
        run.add("J206", key, f"holds {wrong}, not the Jivo channel's address",
                "Copy «Уникальный URL» from the Jivo channel's settings (Управление → Каналы связи).")
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
        also = f" ({run.label(endpoint)} holds the same)"
    if not _JIVO_PATH.match(parts.path):
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) == 2:
            shape = (f"its parts are {len(segments[0])} and {len(segments[1])} characters long"
                     + ("" if all(s.isalnum() for s in segments) else ", not all letters and digits"))
        else:
            shape = f"its path has {_plural(len(segments), 'part')}"
        # Only a hint that a paste was cut: Jivo's own docs show an example URL of another shape.
        run.add("J207", key, f"is not of Jivo's usual shape /<16 letters or digits>/<10 letters or digits>: "
                f"{shape}{also}",
                "Compare it with «Уникальный URL» in the Jivo channel's settings (Управление → Каналы связи): "
                "if the end was cut off, copy it again in full; if they match, nothing is wrong.")
    if not _is_jivo_host(parts.hostname) and not _is_loopback(parts.hostname):
        run.add("J208", key, f"is on {parts.hostname}, not on Jivo's host (wh.jivosite.com){also}",
                "Use the address Jivo shows as «Уникальный URL», unless you put a proxy in between on purpose.")


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
        run.add("J301", key, "is empty: JAICP does not know where to send client messages",
                "In JAICP edit the Jivo operator channel, paste Jivo's «Уникальный URL» into «External API Endpoint» "
                "and press Сохранить.")
    elif key not in run.broken:
        if _is_swapped(run):
            run.add("J303", key, "swapped with «URL вашего сервера для Webhooks»: JAICP's field holds its own "
                    "Internal Webhook Url, Jivo's holds its own Уникальный URL",
                    "Paste Jivo's «Уникальный URL» into «External API Endpoint» and JAICP's «Internal Webhook Url» "
                    "into «URL вашего сервера для Webhooks».")
            run.broken.add(key)
        elif wrong := _holds_wrong_kind(run, key):
            run.add("J302", key, f"holds {wrong}, not Jivo's «Уникальный URL»",
                    "Replace it with Jivo's «Уникальный URL» and press Сохранить.")
            run.broken.add(key)
        elif run.usable(source):
            difference = describe_difference(run.text(key), run.text(source), expected_label="«Уникальный URL»")
            if difference:
                run.add("J304", key, f"differs from Jivo's «Уникальный URL»: {difference}",
                        "Copy «Уникальный URL» again from Jivo and paste it whole into «External API Endpoint», "
                        "then press Сохранить.")
        elif not run.text(source):
            _check_jivo_shape(run, key)  # nothing to compare with: at least its shape
    _check_inbound_link(run)


def _check_inbound_link(run: _Run) -> None:
    channel, operator = run.text("jaicp.inbound_channel"), run.text("jaicp.inbound_operator")
    operator_channel = run.text("jaicp.operator_channel")
    inbound = f"inbound channel «{channel}»" if channel else "the inbound channel"
    if not channel:
        run.add("J307", "jaicp.inbound_channel", "the inbound channel the bot talks on is not named in the profile",
                "Write the name of the JAICP inbound channel whose «Оператор» field you set, such as chat api.")
    if not operator:
        run.add("J305", "jaicp.inbound_operator", f"is empty in the {inbound}: it is not linked to the operator channel, a switch "
                "fails with “no operator channel” and nobody in Jivo sees the chat",
                f"In JAICP open the {inbound}, choose «{operator_channel or 'Jivo'}» in «Оператор» and press Сохранить.")
    elif operator_channel and operator.casefold() != operator_channel.casefold():
        run.add("J306", "jaicp.inbound_operator", f"of the {inbound} is «{operator}», not the Jivo operator channel "
                f"«{operator_channel}»: chats go elsewhere",
                f"In JAICP open the {inbound}, choose «{operator_channel}» in «Оператор» and press Сохранить.")


def _check_step4(run: _Run) -> None:
    key = "jaicp.chat_api_url"
    if not run.text(key):
        run.add("J401", key, "is empty: test transfers and the round-trip probe cannot reach the bot",
                "Create a Chat API inbound channel in JAICP (or use an existing one) and put its URL with the token "
                "into the profile.")
    elif key not in run.broken:
        if wrong := _holds_wrong_kind(run, key):
            run.add("J402", key, f"holds {wrong}, not a Chat API channel's address",
                    "Put the Chat API channel's URL (…/chatapi/<token>) into the profile.")
        else:
            parts = _split(run.text(key))
            match = _CHAT_API_PATH.match(parts.path) if parts else None
            if match is None:
                run.add("J403", key, "is not of the shape …/chatapi/<token>",
                        "Copy the Chat API channel's URL again from JAICP, in full.")
            elif not _CHAT_API_TOKEN.match(match["token"]):
                run.add("J403", key, f"its token is {len(match['token'])} characters long, not of the shape "
                        "<8 letters or digits>:<40 hex digits> (truncated?)",
                        "Copy the Chat API channel's token again from JAICP, in full.")
    if not run.text("jaicp.reporter_url"):
        run.add("J405", "jaicp.reporter_url", "is empty: message logs cannot be fetched",
                "Set it to https://app.jaicp.com/api/v1/reporter (or your JAICP server's address).")
    token_in_url = bool(reporter_path_token(run.text("jaicp.reporter_url")))
    if not run.text("jaicp.reporter_token") and not token_in_url:
        run.add("J404", "jaicp.reporter_token", "is empty: message logs cannot be fetched from JAICP",
                "Create an API token in JAICP and set it in the profile or in JIVO_OPS_REPORTER_TOKEN.")
    elif not run.text("jaicp.bot_id"):
        run.add("J406", "jaicp.bot_id", "is empty: the Reporter API's messages/by-client requires botId, so the "
                "message logs of a client cannot be fetched",
                f"Paste {FIELD_LABELS['jaicp.bot_id']}.")


def _check_stand_in(run: _Run) -> None:
    """J501–J503: the wiring of a stand-in, when the profile has one (a `[stand_in] unique_url`)."""
    own, webhook, internal = (run.text("stand_in.unique_url"), run.text("stand_in.webhook_url"),
                              run.text("jaicp.internal_webhook_url"))
    if not own:
        return
    if webhook and internal and (difference := describe_difference(webhook, internal,
                                                                     expected_label="«Internal Webhook Url»")):
        run.add("J501", "stand_in.webhook_url", f"differs from the test channel's «Internal Webhook Url»: {difference}",
                "Restart `jivo-ops stand-in --webhook <Internal Webhook Url>` with the URL copied again from the test "
                "operator channel (or fix [jaicp] internal_webhook_url and restart with --profile).")
    if run.text("jivo.unique_url") != own:
        run.add("J502", "stand_in.unique_url", "is not what [jivo] unique_url holds: the other checks compare "
                "«External API Endpoint» with another Jivo channel",
                "Restart `jivo-ops stand-in --profile PATH`: it writes its «Уникальный URL» into both.")
    parts, jaicp = _split(own), _split(internal)
    if parts is not None and jaicp is not None and _is_loopback(parts.hostname) and not _is_loopback(jaicp.hostname):
        run.add("J503", "stand_in.unique_url", f"is on {parts.hostname}: JAICP's cloud cannot reach this machine's "
                "local address", "Expose the stand-in's port through a tunnel and restart it with --public-url "
                "<the tunnel's https address>; paste the new URL into «External API Endpoint».")


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


def _probe_jivo_status(url: str, client: "httpx.Client", shown: str) -> ServiceProbe:
    from ..channel.jivo import JivoClient
    from ..channel.http import NO_RETRY

    name = "Jivo status"
    started = time.perf_counter()
    try:
        jivo = JivoClient(url, client=client, retry=NO_RETRY)
        online = jivo.status()
    except RejectedError as exc:
        return ServiceProbe(name, False, time.perf_counter() - started, redact(str(exc)),
                           "Jivo does not know this channel: copy «Уникальный URL» again from Jivo.",
                           url=shown, status=exc.status)
    except ProtocolError as exc:
        return ServiceProbe(name, False, time.perf_counter() - started, redact(str(exc)),
                           "This address is not a Jivo channel: check «Уникальный URL».", url=shown)
    except JivoOpsError as exc:
        detail, status = _service_failure(exc)
        return ServiceProbe(name, False, time.perf_counter() - started, detail,
                           "Check the network and that «Уникальный URL» is the address Jivo shows.",
                           url=shown, status=status)
    latency = time.perf_counter() - started
    if online:
        return ServiceProbe(name, True, latency, "1: an operator is online", url=shown, status=200)
    return ServiceProbe(name, False, latency, "0: no operator is online; a switch now ends with noLivechatOperatorsOnline",
                       "Log in to the Jivo app as an operator and go online (or send the switch with ignoreOffline).",
                       url=shown, status=200)


def _probe_reach(url: str, labels: list[str], client: "httpx.Client") -> ServiceProbe:
    from ..channel.http import send
    from ..redaction import mask_url

    name = "reach " + " = ".join(labels)
    shown = mask_url(url)
    started = time.perf_counter()
    try:
        response = send(client, "HEAD", url, what=f"probe of {labels[0]}")
        status = response.status_code
    except ServiceError as exc:
        if exc.status is None:  # no HTTP answer at all
            return ServiceProbe(name, False, time.perf_counter() - started, redact(str(exc)),
                               "Check the host name and the network; the other service must reach this address "
                               "from the internet.", url=shown)
        status = exc.status
    except JivoOpsError as exc:
        return ServiceProbe(name, False, time.perf_counter() - started, redact(str(exc)),
                           "Fix the URL (see the findings above).", url=shown)
    latency = time.perf_counter() - started
    return ServiceProbe(name, True, latency, f"HTTP {status} (any answer counts: the server is there)",
                       url=shown, status=status)


def _probe_chat_api(url: str, client: "httpx.Client", shown: str, client_id: str) -> ServiceProbe:
    from ..channel.jaicp import ChatApiClient

    name = "Chat API round trip"
    started = time.perf_counter()
    try:
        bot = ChatApiClient(url, client=client)
        response = bot.send_query(client_id, "/start")
    except JivoOpsError as exc:
        detail, status = _service_failure(exc)
        return ServiceProbe(name, False, time.perf_counter() - started, detail,
                           "Check the Chat API URL and token in JAICP (Каналы → Входящие → Chat API) and that the "
                           "bot is published.", url=shown, status=status)
    latency = time.perf_counter() - started
    types = response.reply_types
    detail = (f"/start from {client_id}: {_plural(len(types), 'reply')}"
              + (f" ({', '.join(types)})" if types else " — the bot said nothing"))
    return ServiceProbe(name, True, latency, redact(detail),
                       "" if types else "Check that the scenario answers /start.", url=shown, status=200)


def _skipped(name: str, reason: str) -> ServiceProbe:
    return ServiceProbe(name, None, None, f"skipped: {reason}", "Fix the findings above, then probe again.")


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
        tasks.append(lambda url=url: _probe_jivo_status(url, http, mask_url(url)))
    else:
        tasks.append(lambda: _skipped("Jivo status", "no usable «Уникальный URL»"))

    distinct: dict[str, list[str]] = {}
    for key in ("jaicp.internal_webhook_url", "jivo.webhook_url", "jivo.unique_url", "jaicp.external_api_endpoint",
                "jaicp.chat_api_url", "jaicp.reporter_url"):
        if run.usable(key):
            distinct.setdefault(run.text(key), []).append(FIELDS[key].label)
    for url, labels in distinct.items():
        tasks.append(lambda url=url, labels=labels: _probe_reach(url, labels, http))

    if run.usable("jaicp.chat_api_url"):
        url = run.text("jaicp.chat_api_url")
        tasks.append(lambda url=url: _probe_chat_api(url, http, mask_url(url), client_id))
    else:
        tasks.append(lambda: _skipped("Chat API round trip", "no usable Chat API URL"))

    try:
        with ThreadPoolExecutor(max_workers=min(8, len(tasks)), thread_name_prefix="jivo-ops-probe") as pool:
            return list(pool.map(lambda task: task(), tasks))
    finally:
        http.close()


async def arun_probes(profile: Profile, **kwargs: Any) -> list[ServiceProbe]:
    """`run_probes` without blocking an event loop (a notebook kernel, a widget task)."""
    return await asyncio.to_thread(run_probes, profile, **kwargs)
