"""`Sandbox`: the simulated JAICP and Jivo, each on its own uvicorn server on 127.0.0.1, wired
together as the seed's four steps would wire them (or left unwired, to rehearse the setup)."""

from __future__ import annotations

import threading
from typing import Any

from ..errors import JivoOpsError
from ..redaction import mask_url, register_secret
from ._common import History
from .jaicp_app import JaicpService
from .jivo_app import OPERATOR_VIEW_PATH, JivoService
from .settings import LiveSettings, SandboxSettings

__all__ = ["Sandbox"]


class Sandbox(LiveSettings):
    """Simulated JAICP + Jivo on loopback::

        with Sandbox(operators=2, online=True, chunked=True, configured=True, think_time=0.0) as sb:
            sb.profile          # a jivo_ops Profile pointing at it
            sb.history          # everything both sides saw
            sb.set(online=False)

    Keyword arguments are `SandboxSettings` fields; `settings` gives them all at once.
    """

    def __init__(self, settings: SandboxSettings | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 jivo_port: int | None = None, jivo: bool = True, **overrides: Any):
        self._settings = (settings or SandboxSettings()).replace(**overrides) if overrides else \
            (settings or SandboxSettings())
        self.host, self.requested_port = host, port
        self.requested_jivo_port = jivo_port
        self.serves_jivo = jivo   # False: only the simulated JAICP, wired to a Jivo elsewhere (a stand-in)
        self._lock = threading.Lock()
        self.history = History()
        self.jaicp = JaicpService(lambda: self._settings, self.history, self._apply_settings)
        self.jivo = JivoService(lambda: self._settings, self.history, self._apply_settings)
        self._servers: list = []

    def _settings_changed(self, changes: dict) -> None:
        self.jivo.settings_changed(changes)
        self.history.add("sandbox", "settings", text=", ".join(sorted(changes)))

    def set_operator_online(self, name: str, online: bool = True) -> None:
        try:
            self.jivo.set_online(online, name)
        except KeyError:
            raise JivoOpsError(f"no sandbox operator named {name!r}; operators: "
                               + ", ".join(op.name for op in self.jivo.operators)) from None

    # -- running ----------------------------------------------------------------------------------
    def start(self) -> "Sandbox":
        from ..channel.serving import listen_socket
        from ._servers import LoopServers

        if self._servers:
            return self
        jaicp_socket = listen_socket(self.host, self.requested_port)
        if not self.serves_jivo:
            return self._started(LoopServers([(self.jaicp.app(), jaicp_socket)]).start())
        try:
            jivo_port = self.requested_jivo_port
            if jivo_port is None:
                jivo_port = self.requested_port + 1 if self.requested_port else 0
            try:
                jivo_socket = listen_socket(self.host, jivo_port)
            except OSError:
                if self.requested_jivo_port is not None:
                    raise
                jivo_socket = listen_socket(self.host, 0)
        except BaseException:
            jaicp_socket.close()
            raise
        return self._started(LoopServers([(self.jaicp.app(), jaicp_socket), (self.jivo.app(), jivo_socket)]).start())

    def _started(self, servers) -> "Sandbox":
        self._servers = [servers]
        jaicp_url, jivo_url = (servers.urls + [""])[:2]
        self.jaicp.base_url, self.jivo.base_url = jaicp_url, jivo_url
        for secret in (self.jaicp.chat_token, self.jaicp.webhook_token, self.jaicp.reporter_token,
                       self.jivo.unique_url if jivo_url else "", self.jaicp.chat_api_url,
                       self.jaicp.internal_webhook_url):
            register_secret(secret)
        if self._settings.configured:
            self.wire()
        else:
            self.jivo.chunked = self._settings.chunked_on
        where = f", Jivo on {jivo_url}" if jivo_url else " (no Jivo: wire it to a stand-in)"
        self.history.add("sandbox", "started", text=f"JAICP on {jaicp_url}{where}",
                         configured=self._settings.configured)
        return self

    def wire(self) -> None:
        """The seed's steps 1–3 done right: both URLs pasted where they belong, chunked on, inbound linked.
        Without the sandbox's Jivo, step 1 and the inbound link: the External API Endpoint is the user's."""
        self.configure_step(1)
        if not self.serves_jivo:
            self.jaicp.link_inbound(self.jaicp.operator_channel)
            return
        self.configure_step(2, chunked=self._settings.chunked_on)
        self.configure_step(3)

    def stop(self) -> None:
        self.jaicp.begin_close()
        for server in reversed(self._servers):
            server.stop()
        self._servers = []

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return bool(self._servers)

    @property
    def jaicp_url(self) -> str:
        return self.jaicp.base_url

    @property
    def jivo_url(self) -> str:
        return self.jivo.base_url

    # -- the seed's four steps (what the two web UIs' forms do) ---------------------------------
    def configure_step(self, step: int, **values: Any) -> dict:
        """Do one step of the setup the way the user would in the UIs; returns what that step shows.

        1. JAICP: create the Jivo operator channel (``name``) → ``internal_webhook_url``.
        2. Jivo: the app channel (``webhook_url`` default: the Internal Webhook Url, ``chunked`` default
           True, ``name``) → ``unique_url``.
        3. JAICP: ``external_api_endpoint`` (default: Jivo's unique URL) and the inbound channel's
           «Оператор» (``inbound_operator``, default: the operator channel).
        4. Scenario: ``switch`` fields (a dict) for the default scenario's `switch` reply.
        """
        def take(*allowed: str) -> dict:
            unknown = sorted(set(values) - set(allowed))
            if unknown:
                raise JivoOpsError(f"step {step} takes {', '.join(allowed) or 'no values'}; "
                                   f"not {', '.join(unknown)}")
            return values

        if step == 1:
            v = take("name")
            name = v.get("name")
            if name is not None and (not isinstance(name, str) or not name.strip()):
                raise JivoOpsError("step 1: the operator channel needs a name («Название»)")
            state = self.jaicp.create_operator_channel(name or self.jaicp.operator_channel)
            return {"operator_channel": state["name"], "internal_webhook_url": state["internalWebhookUrl"]}
        if step in (2, 3) and not self.serves_jivo and not (step == 3 and "external_api_endpoint" in values):
            raise JivoOpsError(f"step {step}: this sandbox serves no Jivo (jivo=False); "
                               + ("configure the stand-in instead" if step == 2 else
                                  "pass external_api_endpoint= (the stand-in's «Уникальный URL»)"))
        if step == 2:
            v = take("webhook_url", "chunked", "name")
            state = self.jivo.configure_channel(name=v.get("name"),
                                                webhook_url=v.get("webhook_url", self.jaicp.internal_webhook_url),
                                                chunked=v.get("chunked", True))
            return {"channel": state["name"], "unique_url": state["uniqueUrl"], "webhook_url": state["webhookUrl"],
                    "chunked": state["chunked"]}
        if step == 3:
            v = take("external_api_endpoint", "inbound_operator")
            self.jaicp.set_external_api_endpoint(v.get("external_api_endpoint", self.jivo.unique_url))
            self.jaicp.link_inbound(v.get("inbound_operator", self.jaicp.operator_channel))
            return {"external_api_endpoint": self.jaicp.external_api_endpoint,
                    "inbound_channel": self.jaicp.inbound_channel, "inbound_operator": self.jaicp.inbound_operator}
        if step == 4:
            v = take("switch")
            if "switch" in v:
                if not isinstance(v["switch"], dict):
                    raise JivoOpsError("step 4: switch must be a dict of switch reply fields")
                self.set(switch_fields=v["switch"])
            return {"switch": dict(self._settings.switch_fields)}
        raise JivoOpsError(f"there is no step {step}: the setup has steps 1–4")

    # -- the agent console ----------------------------------------------------------------------
    def operator_say(self, client_id: str, text: str, *, operator: str | None = None, timeout: float = 30.0) -> bool:
        """An operator writes `text` to the client now; True when JAICP's webhook took it."""
        return self.jivo.run_coroutine(self.jivo.operator_say(client_id, text, operator=operator), timeout)

    def operator_close(self, client_id: str, timeout: float = 30.0) -> None:
        """The operator closes the client's chat in Jivo (agent-side close)."""
        try:
            self.jivo.run_coroutine(self.jivo.operator_close(client_id), timeout)
        except KeyError:
            raise JivoOpsError(f"no open Jivo chat with client {client_id!r}") from None

    # -- what points at it ----------------------------------------------------------------------
    @property
    def profile(self):
        """A jivo_ops Profile describing the current wiring of this sandbox."""
        from ..profile import JaicpSettings, JivoSettings, Profile

        if not self.running:
            raise JivoOpsError("the sandbox is not running: use `with Sandbox() as sb:` or sb.start()")
        return Profile(
            jaicp=JaicpSettings(chat_api_url=self.jaicp.chat_api_url, operator_channel=self.jaicp.operator_channel,
                                internal_webhook_url=self.jaicp.internal_webhook_url,
                                external_api_endpoint=self.jaicp.external_api_endpoint,
                                inbound_channel=self.jaicp.inbound_channel,
                                inbound_operator=self.jaicp.inbound_operator,
                                reporter_url=self.jaicp.reporter_url, reporter_token=self.jaicp.reporter_token,
                                bot_id=self.jaicp.bot_id),
            jivo=(JivoSettings(channel=self.jivo.channel_name, webhook_url=self.jivo.webhook_url,
                               unique_url=self.jivo.unique_url, chunked=self.jivo.chunked,
                               operator_view_url=self.jivo_url + OPERATOR_VIEW_PATH
                               if self._settings.operator_side_view else "")
                  if self.serves_jivo else JivoSettings(unique_url=self.jaicp.external_api_endpoint)),
            name="sandbox")

    @property
    def operators(self) -> list[dict]:
        return [op.as_json() for op in self.jivo.operators]

    def timeline(self, client_id: str | None = None) -> str:
        """What happened, one line per event (tokens masked), for one client or all."""
        return self.history.timeline(client_id)

    def _repr_html_(self) -> str:
        import html

        if not self.running:
            return "<p>Sandbox (stopped)</p>"
        online = sum(op.online for op in self.jivo.operators)
        head = (f"<p><b>Sandbox</b>: JAICP {html.escape(self.jaicp_url)}, Jivo {html.escape(self.jivo_url)}; "
                f"{online}/{len(self.jivo.operators)} operators online; "
                f"{len(self.history)} history entries, {len(self.history.dropped)} dropped</p>")
        return head + self.profile._repr_html_()

    def __repr__(self) -> str:
        if not self.running:
            return "<Sandbox stopped>"
        wired = "wired" if self.jaicp.linked and self.jaicp.external_api_endpoint and self.jivo.webhook_url \
            else "not fully wired"
        return (f"<Sandbox JAICP {self.jaicp_url} Jivo {self.jivo_url} {wired}, "
                f"{sum(op.online for op in self.jivo.operators)}/{len(self.jivo.operators)} operators online, "
                f"unique URL {mask_url(self.jivo.unique_url)}>")
