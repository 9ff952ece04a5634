"""Leg probes: when an end-to-end transfer fails, find which of the two legs broke.

* **Jivo leg** (`probe_jivo_leg`): act as JAICP — ask Jivo's ``<Уникальный URL>/status``, post a
  client message to the unique URL, and, when a webhook recorder store is given, wait there for
  the operator's reply (Jivo → «URL вашего сервера для Webhooks»).
* **JAICP leg** (`probe_jaicp_leg`): act as Jivo — post an agent message
  ``{sender, recipient: {id}, message}`` to JAICP's «Internal Webhook Url» (chunked when the
  profile says Jivo sends chunked) and watch it arrive for that client on the Chat API ``/events``.

Each returns a `ProbeResult`: what was sent, what came back, how long each exchange took, ok or
not, and `next_check` — one sentence naming the UI field to look at. The static setup checks and
simple reachability probes live in `jivo_ops.setup.checks`; these are the deep, per-leg ones.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from ..errors import JivoOpsError, ProtocolError, RecorderError, ServiceError
from ..i18n import N_, _
from ..profile import resolve_profile
from ..recorder.store import StoreReader
from ..redaction import mask_url, redact

__all__ = ["ProbeExchange", "ProbeResult", "probe_jivo_leg", "probe_jaicp_leg", "aprobe_jivo_leg",
           "aprobe_jaicp_leg", "format_probe", "OFFLINE_SUMMARIES"]

PROBE_AGENT = {"id": "jivo-ops-probe-agent", "name": "jivo-ops probe"}
# Field names exactly as the two consoles show them, with where to find them (N_-marked: `_()` where shown).
F_UNIQUE = N_("«Уникальный URL» (Jivo: Управление → Каналы связи → your channel)")
F_EXTERNAL = N_("«External API Endpoint» (JAICP operator channel)")
F_WEBHOOK = N_("«URL вашего сервера для Webhooks» (Jivo channel settings)")
F_INTERNAL = N_("«Internal Webhook Url» (JAICP: Каналы → Операторы → Jivo)")
F_CHUNKED = N_("«Chunked кодировка в запросах» (Jivo channel settings)")
F_CHAT_API = N_("the Chat API channel URL (JAICP: Каналы → Входящие → Chat API)")
# The Jivo leg's summaries when nobody is online (a diagnosis tells them from a broken channel).
NOBODY_ONLINE = N_("Jivo accepted the message, but no operator is online")
NO_REPLY_NOBODY_ONLINE = N_("no operator reply: nobody is online")
OFFLINE_SUMMARIES = (NOBODY_ONLINE, NO_REPLY_NOBODY_ONLINE)
# The exchanges' names (`ProbeExchange.what`, kept in English in JSON), `_()`-ed where shown.
EXCHANGE_NAMES = (N_("status"), N_("client message"), N_("operator reply (recorder)"), N_("open live chat"),
                  N_("agent message"), N_("client /events"))
PUT_OPERATOR_ONLINE = N_("Put an operator online in the Jivo app (status answered 0), then probe again.")


def _fields() -> dict[str, str]:
    """The field names above in the current language, by the placeholder names the hints use."""
    return {"unique": _(F_UNIQUE), "external": _(F_EXTERNAL), "webhook": _(F_WEBHOOK), "internal": _(F_INTERNAL),
            "chunked": _(F_CHUNKED), "chat_api": _(F_CHAT_API)}


@dataclass(frozen=True)
class ProbeExchange:
    """One HTTP exchange (or wait) of a probe."""

    what: str
    method: str | None
    url: str                                 # masked
    status: int | None
    sent: Any = None
    received: Any = None
    latency_s: float | None = None
    ok: bool = True
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"what": self.what, "method": self.method, "url": self.url, "status": self.status,
                "sent": self.sent, "received": self.received,
                "latency_s": None if self.latency_s is None else round(self.latency_s, 6),
                "ok": self.ok, "note": self.note}


@dataclass(frozen=True)
class ProbeResult:
    """A leg probe's verdict: ok or not, the exchanges, and the one thing to check next."""

    leg: str
    ok: bool
    summary: str
    next_check: str
    client_id: str
    exchanges: tuple[ProbeExchange, ...] = ()
    elapsed_s: float = 0.0
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def sent(self) -> list[Any]:
        return [e.sent for e in self.exchanges if e.sent is not None]

    @property
    def received(self) -> list[Any]:
        return [e.received for e in self.exchanges if e.received is not None]

    def to_json(self) -> dict[str, Any]:
        return json.loads(redact(json.dumps({
            "leg": self.leg, "ok": self.ok, "summary": self.summary, "next_check": self.next_check,
            "client_id": self.client_id, "started_at": self.started_at.isoformat(),
            "elapsed_s": round(self.elapsed_s, 6), "exchanges": [e.to_json() for e in self.exchanges]},
            ensure_ascii=False)))

    def render(self) -> str:
        return format_probe(self)

    def __repr__(self) -> str:
        return redact(f"ProbeResult(leg={self.leg!r}, ok={self.ok}, summary={self.summary!r}, "
                      f"elapsed={self.elapsed_s:.3f}s)")

    def _repr_html_(self) -> str:
        import html

        mark = "✓" if self.ok else "✗"
        rows = "".join(
            f"<tr><td>{html.escape(_(e.what))}</td><td>{html.escape(str(e.method or ''))}</td>"
            f"<td><code>{html.escape(e.url)}</code></td><td>{e.status or ''}</td>"
            f"<td>{'' if e.latency_s is None else f'{e.latency_s * 1000:.1f} ms'}</td>"
            f"<td>{'✓' if e.ok else '✗'} {html.escape(redact(e.note or ''))}</td></tr>" for e in self.exchanges)
        head = "".join(f"<th>{html.escape(_(name))}</th>" for name in (
            N_("step"), N_("method"), N_("url"), N_("status"), N_("time"), N_("result")))
        title = _("{leg} leg: {summary}").format(leg=self.leg, summary=self.summary)
        return redact(f"<div><b>{mark} {html.escape(title)}</b>"
                      f"<table><tr>{head}</tr>{rows}</table>"
                      f"<p>{html.escape(_('Next: {next}').format(next=self.next_check))}</p></div>")


def format_probe(result: ProbeResult) -> str:
    """A probe as terminal text: verdict, one line per exchange, what to check next."""
    lines = [(_("OK") if result.ok else _("FAILED")) + "  "
             + _("{leg} leg: {summary}").format(leg=result.leg, summary=result.summary)
             + "  " + _("({seconds:.3f} s)").format(seconds=result.elapsed_s),
             _("client id: {client}").format(client=result.client_id)]
    for e in result.exchanges:
        latency = f"{e.latency_s * 1000:8.1f} ms" if e.latency_s is not None else " " * 11
        status = str(e.status) if e.status is not None else "-"
        lines.append(f"  {'✓' if e.ok else '✗'} {_(e.what):<26} {e.method or '':<5} {status:>4} {latency}  {e.url}")
        if e.sent is not None:
            lines.append(f"      {_('sent:'):<9} {json.dumps(e.sent, ensure_ascii=False)[:200]}")
        if e.received is not None:
            shown = e.received if isinstance(e.received, str) else json.dumps(e.received, ensure_ascii=False)
            lines.append(f"      {_('received:'):<9} {shown[:200]}")
        if e.note:
            lines.append(f"      {_('note:'):<9} {e.note}")
    lines.append(_("next: {next}").format(next=result.next_check))
    return redact("\n".join(lines))


class _Verdict:
    """A leg probe under way: the exchanges so far and its clock; `done()` gives the ProbeResult."""

    def __init__(self, leg: str, client_id: str | None, *, http_timeout: float, transport: Any) -> None:
        from ..channel.http import make_async_client

        self.leg, self.client_id = leg, client_id or _new_client_id()
        self.http = make_async_client(timeout=http_timeout, transport=transport)
        self.exchanges: list[ProbeExchange] = []
        self.started, self.t0 = datetime.now(timezone.utc), time.perf_counter()

    def done(self, ok: bool, summary: str, next_check: str) -> ProbeResult:
        return ProbeResult(leg=self.leg, ok=ok, summary=summary, next_check=next_check, client_id=self.client_id,
                           exchanges=tuple(self.exchanges), elapsed_s=time.perf_counter() - self.t0,
                           started_at=self.started)


def _new_client_id() -> str:
    return f"jivo-ops-probe-{uuid.uuid4().hex[:12]}"


def _body_of(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


# -- the Jivo leg ----------------------------------------------------------------------------


_REPLY_COLUMNS = ("id", "body", "chunked", "status")


def _store_path(recorder: Any) -> Path | None:
    """A recorder store path from a path, or from a recorder object that knows its store."""
    if recorder is None:
        return None
    if isinstance(recorder, (str, os.PathLike)):
        return Path(recorder).expanduser()
    for attr in ("store_path", "db_path", "path", "store"):
        value = getattr(recorder, attr, None)
        if isinstance(value, (str, os.PathLike)):
            return Path(value).expanduser()
        inner = getattr(value, "path", None) if value is not None else None
        if isinstance(inner, (str, os.PathLike)):
            return Path(inner).expanduser()
    raise JivoOpsError(_("recorder {kind}: pass the recorder's SQLite store path").format(kind=type(recorder).__name__))


def _open_store(path: Path) -> StoreReader:
    """The recorder store the probe watches, read-only; one line naming it and the webhook field when missing."""
    if not path.exists():
        raise RecorderError(_("recorder store {path} does not exist; start `jivo-ops record --store {path}` "
                              "first and point «URL вашего сервера для Webhooks» at it").format(path=path))
    return StoreReader(path)


async def aprobe_jivo_leg(profile, *, recorder: Any = None, client_id: str | None = None,
                          text: str | None = None, timeout: float = 30.0, http_timeout: float = 10.0,
                          transport=None) -> ProbeResult:
    """Act as JAICP toward Jivo: `/status`, then a client message; with `recorder` (a store path or a
    recorder), wait up to `timeout` s for the operator's reply to arrive there."""
    from ..channel.jivo import AsyncJivoClient, ClientMessage
    from ..channel.http import NO_RETRY

    prof = resolve_profile(profile)
    unique = prof.require("jivo.unique_url")
    store_path = _store_path(recorder)
    store = _open_store(store_path) if store_path is not None else None
    verdict = _Verdict("jivo", client_id, http_timeout=http_timeout, transport=transport)
    client_id, exchanges, done, http = verdict.client_id, verdict.exchanges, verdict.done, verdict.http
    text = text or f"jivo-ops probe {client_id[-6:]}: пожалуйста, ответьте на это сообщение"
    f = _fields()
    jivo = AsyncJivoClient(unique, client=http, retry=NO_RETRY)
    try:
        # 1. /status
        began = time.perf_counter()
        try:
            online = await jivo.status()
        except ServiceError as exc:
            exchanges.append(ProbeExchange("status", "GET", mask_url(jivo.status_url), exc.status,
                                           received=exc.reason or None, latency_s=time.perf_counter() - began,
                                           ok=False, note=str(exc)))
            if exc.status == 404:
                hint = _("Jivo does not know this channel: copy {unique} again into the profile and "
                         "{external}.").format(**f)
            elif exc.status is None:
                hint = _("Jivo is not reachable at {url}: check the host in {unique} and your network.").format(
                    url=mask_url(unique), **f)
            else:
                hint = _("Jivo answered HTTP {status}: check {unique}; retry later if Jivo is down.").format(
                    status=exc.status, **f)
            return done(False, _("Jivo /status failed"), hint)
        except ProtocolError as exc:
            exchanges.append(ProbeExchange("status", "GET", mask_url(jivo.status_url), 200,
                                           latency_s=time.perf_counter() - began, ok=False, note=str(exc)))
            return done(False, _("Jivo /status answered something else than 1 or 0"),
                        _("{unique} may point at another service: copy it again from Jivo.").format(**f))
        exchanges.append(ProbeExchange("status", "GET", mask_url(jivo.status_url), 200, received="1" if online else "0",
                                       latency_s=time.perf_counter() - began, ok=online,
                                       note=None if online else _("no operator online")))

        # 2. a client message
        message = ClientMessage.text(client_id, text, name="jivo-ops probe")
        began = time.perf_counter()
        mark = store.highest_id() if store is not None else 0
        try:
            await jivo.send_message(message)
        except ServiceError as exc:
            exchanges.append(ProbeExchange("client message", "POST", mask_url(unique), exc.status,
                                           sent=message.to_json(), received=exc.reason or None,
                                           latency_s=time.perf_counter() - began, ok=False, note=str(exc)))
            hint = (_("Jivo refused the message ({reason}): check {unique} is the channel's current URL and that "
                      "the channel was not removed.").format(reason=exc.reason or exc.status, **f)
                    if exc.status and exc.status < 500
                    else _("Jivo did not accept the message: check {unique} and retry later.").format(**f))
            return done(False, _("Jivo did not accept a client message"), hint)
        exchanges.append(ProbeExchange("client message", "POST", mask_url(unique), 200, sent=message.to_json(),
                                       latency_s=time.perf_counter() - began, ok=True))

        if store is None:
            if not online:
                return done(False, _(NOBODY_ONLINE), _(PUT_OPERATOR_ONLINE))
            return done(True, _("Jivo is reachable, an operator is online and the client message was accepted"),
                        _("Answer chat {client} in the Jivo app; to see the reply arrive, run `jivo-ops record` "
                          "and paste its URL into {webhook} (then probe with --recorder STORE).").format(
                            client=client_id, **f))

        # 3. the operator's reply, as the recorder stored it
        began = time.perf_counter()
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            rows = await asyncio.to_thread(store.rows_after, mark, _REPLY_COLUMNS)
            for row_id, body, chunked, status in rows:
                mark = max(mark, row_id)
                seen += 1
                try:
                    data = json.loads(bytes(body or b"").decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    continue
                recipient = data.get("recipient") if isinstance(data, Mapping) else None
                if isinstance(recipient, Mapping) and str(recipient.get("id")) == client_id:
                    want_chunked = bool(prof.jivo.chunked)
                    framing_ok = chunked is None or bool(chunked) == want_chunked
                    note = None if framing_ok else (
                        (_("the reply came chunked, but the profile says chunked={setting}") if chunked else
                         _("the reply came with Content-Length, but the profile says chunked={setting}")).format(
                            setting="on" if want_chunked else "off"))
                    exchanges.append(ProbeExchange("operator reply (recorder)", "POST",
                                                   _("recorder row {row}").format(row=row_id),
                                                   status, received=data, latency_s=time.perf_counter() - began,
                                                   ok=True, note=note))
                    if not framing_ok:
                        return done(False, _("the operator's reply reached the recorder with the wrong framing"),
                                    _("Set {chunked} as the profile expects (the seed says ON).").format(**f))
                    return done(True, _("the operator's reply came back through Jivo's webhook"),
                                _("The Jivo leg works; if transfers still fail, probe the JAICP leg "
                                  "(`jivo-ops probe jaicp`) and check {external}.").format(**f))
            await asyncio.sleep(0.1)
        exchanges.append(ProbeExchange("operator reply (recorder)", None, mask_url(str(store.path)), None,
                                       latency_s=time.perf_counter() - began, ok=False,
                                       note=_("nothing for {client} within {timeout:g} s ({seen} other "
                                              "request(s) recorded)").format(client=client_id, timeout=timeout,
                                                                            seen=seen)))
        if not online:
            return done(False, _(NO_REPLY_NOBODY_ONLINE), _(PUT_OPERATOR_ONLINE))
        hint = (_("Requests arrived but none for this client: make sure an operator answered chat {client}.")
                if seen else
                _("Nothing reached the recorder: set {webhook} to the recorder's URL and have an operator "
                  "answer chat {client} in the Jivo app.")).format(client=client_id, **f)
        return done(False, _("no operator reply reached the recorder within {timeout:g} s").format(timeout=timeout),
                    hint)
    finally:
        await http.aclose()
        if store is not None:
            store.close()


# -- the JAICP leg ---------------------------------------------------------------------------


async def aprobe_jaicp_leg(profile, *, client_id: str | None = None, text: str | None = None,
                           timeout: float = 15.0, chunked: bool | None = None, switch_first: bool = False,
                           http_timeout: float = 10.0, transport=None) -> ProbeResult:
    """Act as Jivo toward JAICP: post an agent message for `client_id` to the Internal Webhook Url and
    watch `/events` of the Chat API for it, up to `timeout` s.

    `switch_first`: open a live chat for the client first (ask the bot for an operator over the
    Chat API), for a JAICP that relays agent messages only into live chats.
    `chunked`: framing of the POST; default: the profile's «Chunked кодировка в запросах».
    """
    from ..channel.jaicp import AsyncChatApiClient
    from ..channel.jivo import encode_json, new_message_id
    from ..channel.http import JSON_CONTENT_TYPE, asend

    prof = resolve_profile(profile)
    webhook = prof.require("jaicp.internal_webhook_url")
    chat_url = prof.require("jaicp.chat_api_url")
    use_chunked = prof.jivo.chunked if chunked is None else chunked
    verdict = _Verdict("jaicp", client_id, http_timeout=http_timeout, transport=transport)
    client_id, exchanges, done, http = verdict.client_id, verdict.exchanges, verdict.done, verdict.http
    text = text or f"jivo-ops probe {client_id[-6:]}: агент на связи"
    f = _fields()
    chat = AsyncChatApiClient(chat_url, client=http, timeout=http_timeout)
    try:
        cursor = None
        if switch_first:
            began = time.perf_counter()
            try:
                answer = await chat.send_query(client_id, "Позовите оператора")
            except (ServiceError, ProtocolError) as exc:
                exchanges.append(ProbeExchange("open live chat", "POST", mask_url(chat_url),
                                               getattr(exc, "status", None), latency_s=time.perf_counter() - began,
                                               ok=False, note=str(exc)))
                return done(False, _("the Chat API did not answer the switch request"),
                            _("Check {chat_api} and that the bot is published.").format(**f))
            switch = answer.switch
            switched = switch is not None
            exchanges.append(ProbeExchange("open live chat", "POST", mask_url(chat_url), 200,
                                           sent={"clientId": client_id, "query": "Позовите оператора"},
                                           received=answer.texts + (["<switch>"] if switched else []),
                                           latency_s=time.perf_counter() - began, ok=switched,
                                           note=_switch_note(switch)))
            if not switched:
                return done(False, _("the bot did not switch to an operator"),
                            _("Make the scenario push a reply of type switch (see `jivo-ops switch`)."))
            # Let what the switch turn produced pass by, so we watch only for our message.
            try:
                cursor = (await chat.poll_events(client_id, timeout=0.2)).last_ts
            except (ServiceError, ProtocolError):
                cursor = None

        body = {"sender": dict(PROBE_AGENT), "recipient": {"id": client_id},
                "message": {"type": "text", "id": new_message_id(), "text": text}}
        raw = encode_json(body)
        began = time.perf_counter()
        try:
            response = await asend(http, "POST", webhook, content=raw, chunked=use_chunked,
                                   headers={"Content-Type": JSON_CONTENT_TYPE}, what="agent message")
        except ServiceError as exc:
            latency = time.perf_counter() - began
            exchanges.append(ProbeExchange("agent message", "POST", mask_url(webhook), exc.status, sent=body,
                                           received=exc.reason or None, latency_s=latency, ok=False, note=str(exc)))
            if exc.status in (404, 410):
                hint = _("JAICP does not know this webhook: copy {internal} again and paste it into {webhook} "
                         "(and into this profile).").format(**f)
            elif exc.status == 411 or (exc.status == 400 and use_chunked):
                hint = _("JAICP refused a chunked body: compare with {chunked} (probe with --no-chunked).").format(**f)
            elif exc.status is None:
                hint = _("JAICP is not reachable at {url}: check the host in {internal}.").format(
                    url=mask_url(webhook), **f)
            else:
                hint = _("JAICP answered HTTP {status}: check {internal}; retry later if JAICP is down.").format(
                    status=exc.status, **f)
            return done(False, _("JAICP did not accept the agent message"), hint)
        latency = time.perf_counter() - began
        exchanges.append(ProbeExchange("agent message", "POST", mask_url(webhook), response.status_code, sent=body,
                                       received=_body_of(response.text) if response.content else None,
                                       latency_s=latency, ok=True,
                                       note=_("sent chunked") if use_chunked else _("sent with Content-Length")))

        began = time.perf_counter()
        deadline = time.monotonic() + timeout
        others: list[str] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch = await chat.poll_events(client_id, ts=cursor, timeout=min(remaining, 5.0))
            except (ServiceError, ProtocolError) as exc:
                exchanges.append(ProbeExchange("client /events", "GET", mask_url(chat.events_url),
                                               getattr(exc, "status", None), latency_s=time.perf_counter() - began,
                                               ok=False, note=str(exc)))
                return done(False, _("the Chat API /events poll failed"), _("Check {chat_api}.").format(**f))
            cursor = batch.last_ts
            for event in batch.events:
                if text in event.texts:
                    exchanges.append(ProbeExchange("client /events", "GET", mask_url(chat.events_url), 200,
                                                   received=event.raw, latency_s=time.perf_counter() - began, ok=True,
                                                   note=_("event type {type!r}").format(type=event.type)))
                    return done(True, _("the agent message reached the client through JAICP"),
                                _("The JAICP leg works; if transfers still fail, probe the Jivo leg "
                                  "(`jivo-ops probe jivo`) and check {webhook}.").format(**f))
                others.extend(event.texts)
        exchanges.append(ProbeExchange("client /events", "GET", mask_url(chat.events_url), 200,
                                       received=others or None, latency_s=time.perf_counter() - began, ok=False,
                                       note=_("the agent message did not arrive within {timeout:g} s").format(
                                           timeout=timeout)))
        hint = (_("JAICP accepted the message but did not relay it: check that {internal} belongs to the operator "
                  "channel linked to this inbound channel («Оператор» field).") if switch_first else
                _("JAICP accepted the message but did not relay it: check that {internal} belongs to the operator "
                  "channel linked to this inbound channel («Оператор» field), and probe again with --switch-first "
                  "(JAICP may relay only into an open live chat).")).format(**f)
        return done(False, _("the agent message never reached the client"), hint)
    finally:
        await http.aclose()


def _switch_note(switch) -> str | None:
    """What the probe says about the bot's switch: none at all, or how reading its fields went."""
    if switch is None:
        return _("the bot did not switch")
    if switch.warnings:
        return _("switch read with warnings: {warnings}").format(warnings=" | ".join(switch.warnings))
    return None


def _run(coro):
    """Run a probe coroutine from sync code, also inside Jupyter's running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="jivo-ops-probe") as pool:
        return pool.submit(asyncio.run, coro).result()


def probe_jivo_leg(profile, **options) -> ProbeResult:
    """Sync `aprobe_jivo_leg`."""
    return _run(aprobe_jivo_leg(profile, **options))


def probe_jaicp_leg(profile, **options) -> ProbeResult:
    """Sync `aprobe_jaicp_leg`."""
    return _run(aprobe_jaicp_leg(profile, **options))
