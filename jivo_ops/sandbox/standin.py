"""`StandIn`: the sandbox's Jivo serving alone, as Jivo's side of a *test* operator channel of a live bot.

    with StandIn("https://app.jaicp.com/chatadapter/chatapi/webhook/jivosite/<token>") as si:
        si.unique_url      # paste into the test channel's «External API Endpoint»
        si.profile         # what `transfer` needs to read the operator-side view

There is one Jivo in jivo_ops, `JivoService`: every operator behaviour of the sandbox (names, think
time, reply modes, online/offline with ``/status``, agent-side close, chunked, Jivo's resends) is the
stand-in's too, through the same `SandboxSettings`. What differs is the serving:

- the exposed address (``listen``, 127.0.0.1 by default) serves only the Chat API channel, at a
  secret unique path (fresh per start unless given) and its ``/status``; any other path is a plain 404,
  a body over 1 MiB a 413;
- the control surface (the Jivo console's forms and the operator-side view) listens on 127.0.0.1
  alone, on its own port, whatever ``listen`` is;
- both directions go into a recorder store (the schema of `jivo-ops record`): each client message
  JAICP posted (raw bytes, headers, what the stand-in answered) and each operator reply with
  JAICP's answer. Two stand-ins may share a store: SQLite serialises their writers (WAL, one
  transaction per batch), so rows interleave safely with unique ids.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from ..errors import JivoOpsError
from ..redaction import mask_url, register_secret
from ._common import History, QuietDisconnects
from .jivo_app import OPERATOR_VIEW_PATH, JivoService
from .settings import LiveSettings, SandboxSettings

__all__ = ["StandIn", "StoreTap", "UNIQUE_PATH", "LOOPBACK_HOSTS"]

UNIQUE_PATH = re.compile(r"^/(?P<key>[A-Za-z0-9]{16})/(?P<cid>[A-Za-z0-9]{10})$")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class StoreTap:
    """Keeps what crossed the stand-in's channel in a recorder store: the `requests` table of
    `jivo-ops record`, so `logs`, `export`, `replay` and `RecorderPanel` read it unchanged."""

    def __init__(self, path: str | Path):
        from ..recorder.store import RecorderStore

        self.store = RecorderStore(path)

    async def client_message(self, request, raw: bytes, response) -> None:
        """A client message JAICP posted to the unique URL, and what the stand-in answered."""
        from ..recorder.store import MASKED_TOKEN, chat_of, utc_now_iso

        headers = [[k, v] for k, v in request.headers.items()]
        status = response.status_code
        error = None if status < 300 else bytes(response.body).decode("utf-8", "replace")
        row = (utc_now_iso(), "POST", f"/{MASKED_TOKEN}", "", json.dumps(headers, ensure_ascii=False), raw,
               int("chunked" in request.headers.get("transfer-encoding", "").lower()), status, error,
               request.headers.get("content-type"), chat_of(_parsed(raw)), None, None, None, None, None, None)
        await self._submit(row)

    async def operator_message(self, url: str, raw: bytes, chunked: bool, delivery) -> None:
        """An operator reply posted to JAICP's Internal Webhook Url, and JAICP's answer to it."""
        from ..channel.http import JSON_CONTENT_TYPE
        from ..recorder.store import MASKED_TOKEN, chat_of, utc_now_iso

        path = urlsplit(url).path.rsplit("/", 1)[0] + "/" + MASKED_TOKEN
        headers = json.dumps([["content-type", JSON_CONTENT_TYPE]])
        error = None if delivery.ok else (delivery.reason or f"HTTP {delivery.status}")
        row = (utc_now_iso(), "POST", path, "", headers, raw, int(chunked), delivery.status or 0, error,
               JSON_CONTENT_TYPE, chat_of(_parsed(raw)), mask_url(url), delivery.status, None,
               (delivery.reason or "").encode("utf-8"), error, None)
        await self._submit(row)

    async def _submit(self, row: tuple) -> None:
        from ..errors import RecorderError

        try:
            await self.store.submit(row)
        except RecorderError as exc:  # a full disk must not stop the operators
            print(f"stand-in: {exc}", file=sys.stderr)

    def close(self) -> None:
        self.store.close()


class ExposedOnly:
    """The exposed address: the channel's paths only; anything else is a plain 404 before any route."""

    def __init__(self, app, channel_path: Callable[[], str]):
        self.app, self.channel_path = app, channel_path

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] not in (self.channel_path(), self.channel_path() + "/status"):
            from ._common import plain

            return await plain("not found", 404)(scope, receive, send)
        return await self.app(scope, receive, send)


def _parsed(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


class StandIn(LiveSettings):
    """Jivo's side of a test operator channel, served by jivo_ops's own operators (see the module doc).

    `webhook_url`: the test channel's Internal Webhook Url. `listen`: ``HOST:PORT`` of the exposed
    address. `public_url`: the address JAICP's cloud reaches (a tunnel), used in `unique_url`.
    `unique_path`: ``/<16 alnum>/<10 alnum>`` to keep a pasted URL (default: a fresh secret).
    `store`: the recorder store (None: none). `on_warning(line)`: where warnings and JAICP's refusals
    go (default: stderr). Other keyword arguments are `SandboxSettings` fields (operators, think_time,
    reply_mode, online, chunked, close_after, webhook_retries, …).
    """

    def __init__(self, webhook_url: str = "", *, listen: str = "127.0.0.1:0", public_url: str = "",
                 unique_path: str | None = None, store: str | Path | None = None, control_port: int = 0,
                 settings: SandboxSettings | None = None, on_warning: Callable[[str], None] | None = None,
                 **overrides: Any):
        from ..channel.serving import parse_listen

        try:
            self.host, self.requested_port = parse_listen(listen)
        except ValueError as exc:
            raise JivoOpsError(str(exc)) from None
        if public_url and urlsplit(public_url).scheme not in ("http", "https"):
            raise JivoOpsError(f"--public-url {mask_url(public_url)!r}: expected an http(s):// address")
        match = UNIQUE_PATH.match(unique_path or "") if unique_path else None
        if unique_path and match is None:
            raise JivoOpsError("[stand_in] unique_path: expected /<16 letters or digits>/<10 letters or digits>, "
                               "as a Jivo «Уникальный URL» ends")
        base = settings or SandboxSettings()
        self._settings = base.replace(**overrides) if overrides else base
        self._lock = threading.Lock()
        self.history = History()
        self.jivo = JivoService(lambda: self._settings, self.history, self._apply_settings)
        if match is not None:
            self.jivo.channel_key, self.jivo.channel_id = match["key"], match["cid"]
        self.jivo.channel_name = "jivo-ops stand-in"
        self.webhook_url = webhook_url.strip()
        self.public_url = public_url.rstrip("/")
        self.store_path = Path(store).expanduser() if store else None
        self.requested_control_port = control_port
        self.warn = on_warning or (lambda line: print(f"stand-in: {line}", file=sys.stderr, flush=True))
        self.jivo.on_refused = self.warn
        self._servers = None
        self._tap: StoreTap | None = None
        self.control_url = ""
        register_secret(self.jivo.unique_path)
        register_secret(self.webhook_url)

    @classmethod
    def from_profile(cls, profile=None, *, profile_path: str | None = None, webhook_url: str | None = None,
                     listen: str | None = None, public_url: str | None = None, store: str | Path | None = None,
                     **settings: Any) -> "StandIn":
        """A stand-in set up from a profile's ``[stand_in]`` table, each given value winning: the webhook
        defaults to ``[jaicp] internal_webhook_url``, the unique path is kept (the pasted URL stays valid),
        the store defaults to ``<profile>.stand-in.sqlite`` beside `profile_path`. `settings`: `SandboxSettings`
        fields; a None value keeps the profile's."""
        from ..profile import Profile

        profile = profile or Profile()
        kept = profile.stand_in
        if webhook_url is None:
            webhook_url = kept.webhook_url or profile.jaicp.internal_webhook_url
        if store is None:
            store = kept.store or (Path(profile_path).expanduser().with_name(Path(profile_path).stem
                                                                          + ".stand-in.sqlite")
                                   if profile_path else None)
        for name in ("operators", "think_time", "reply_mode"):
            if settings.get(name) is None:
                settings[name] = getattr(kept, name)
        return cls(webhook_url, listen=listen or kept.listen, public_url=public_url or kept.public_url,
                   unique_path=kept.unique_path or None, store=store,
                   **{k: v for k, v in settings.items() if v is not None})

    # -- running --------------------------------------------------------------------------------------
    def start(self) -> "StandIn":
        from starlette.applications import Starlette

        from ..channel.serving import listen_socket
        from ._servers import LoopServers

        if self._servers is not None:
            return self
        if self.host not in LOOPBACK_HOSTS:
            self.warn(f"binding {self.host}: the unique URL is the only secret of this channel; "
                      "expose it through a tunnel to JAICP only")
        try:
            exposed = listen_socket(self.host, self.requested_port)
        except OSError as exc:
            raise JivoOpsError(f"cannot start the stand-in: {exc}") from None
        try:
            control = listen_socket("127.0.0.1", self.requested_control_port)
        except OSError as exc:
            exposed.close()
            raise JivoOpsError(f"cannot start the stand-in's control address: {exc}") from None
        self._tap = StoreTap(self.store_path) if self.store_path else None
        self.jivo.tap = self._tap
        self.jivo.configure_channel(webhook_url=self.webhook_url, chunked=self._settings.chunked_on)
        try:
            servers = LoopServers([(ExposedOnly(self.jivo.app(admin=False), lambda: self.jivo.unique_path), exposed),
                                   (QuietDisconnects(Starlette(routes=self.jivo.admin_routes()), side="jivo",
                                                    history=self.history), control)]).start()
        except BaseException:
            if self._tap is not None:
                self._tap.close()
            raise
        self._servers = servers
        self.jivo.base_url, self.control_url = servers.urls
        register_secret(self.unique_url)
        if not self.webhook_url:
            self.warn("no --webhook: operators' replies go nowhere until the Internal Webhook Url is set")
        return self

    def stop(self) -> None:
        if self._servers is not None:
            self._servers.stop()
            self._servers = None
        if self._tap is not None:
            self._tap.close()
            self._tap = None

    def __enter__(self) -> "StandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._servers is not None

    # -- what to paste, what points at it ----------------------------------------------------------
    @property
    def unique_path(self) -> str:
        return self.jivo.unique_path

    @property
    def local_url(self) -> str:
        """The unique URL on the bound address (what JAICP reaches only when it runs on this machine)."""
        return self.jivo.unique_url

    @property
    def unique_url(self) -> str:
        """The «Уникальный URL» to paste into «External API Endpoint»: `public_url` + the secret path."""
        return (self.public_url + self.unique_path) if self.public_url else self.local_url

    @property
    def listen(self) -> str:
        """``HOST:PORT`` actually bound (written back to a profile so a restart keeps the URL)."""
        if not self.running:
            return f"{self.host}:{self.requested_port}"
        host_port = self.jivo.base_url.split("://", 1)[1]
        return host_port

    @property
    def reached_at(self) -> str | None:
        """When JAICP first reached the unique URL (its ``/status`` check or a message); None: not yet."""
        return self.jivo.reached_at

    def profile_for(self, base=None):
        """`base` (a Profile, default empty) with this stand-in's state: ``[stand_in]`` and the Jivo side."""
        from ..profile import Profile

        if not self.running:
            raise JivoOpsError("the stand-in is not running: use `with StandIn(...) as si:` or si.start()")
        s = self._settings
        return (base or Profile(name="stand-in")).replace(
            jivo={"channel": self.jivo.channel_name, "webhook_url": self.webhook_url,
                  "unique_url": self.unique_url, "chunked": self.jivo.chunked,
                  "operator_view_url": self.control_url + OPERATOR_VIEW_PATH if s.operator_side_view else ""},
            stand_in={"listen": self.listen, "public_url": self.public_url, "webhook_url": self.webhook_url,
                      "operators": s.operators, "think_time": float(s.think_time), "reply_mode": s.reply_mode,
                      "store": str(self.store_path or ""), "unique_path": self.unique_path,
                      "unique_url": self.unique_url})

    @property
    def profile(self):
        return self.profile_for()

    @property
    def operators(self) -> list[dict]:
        return [op.as_json() for op in self.jivo.operators]

    def timeline(self, client_id: str | None = None) -> str:
        return self.history.timeline(client_id)

    def __repr__(self) -> str:
        if not self.running:
            return "<StandIn stopped>"
        return (f"<StandIn {mask_url(self.unique_url)} → webhook {mask_url(self.webhook_url) or '(none)'}, "
                f"{sum(op.online for op in self.jivo.operators)}/{len(self.jivo.operators)} operators online, "
                f"control on {self.control_url}>")
