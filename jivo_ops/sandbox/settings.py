"""Every knob of the sandbox, one frozen value.

Each point that PROTOCOL.md tags **[guess]** is a setting here, with the documented (or most
likely) behaviour as its default, so a user who learns how the real service behaves can make the
sandbox do the same. Change settings of a running sandbox with ``sb.set(name=value, …)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from ..errors import JivoOpsError

__all__ = ["SandboxSettings", "DEFAULT_OPERATOR_NAMES", "MESSAGE_TYPES", "MAX_BODY_BYTES", "FAULT_RATES"]

MAX_BODY_BYTES = 1024 * 1024
MESSAGE_TYPES = ("text", "photo", "video", "document")
DEFAULT_OPERATOR_NAMES = ("Анна Смирнова", "Борис Иванов", "Вера Петрова", "Глеб Соколов", "Дарья Козлова",
                          "Егор Новиков", "Жанна Морозова", "Илья Волков")
# The injected faults that are shares of requests (0–1), by the side whose answers they break.
FAULT_RATES = {"jaicp": ("jaicp_error_rate", "jaicp_drop_rate", "webhook_error_rate", "webhook_drop_rate"),
               "jivo": ("jivo_error_rate", "jivo_drop_rate")}


@dataclass(frozen=True)
class SandboxSettings:
    """How the simulated JAICP and Jivo behave. [guess] marks what the real services may do otherwise."""

    # -- wiring at start ------------------------------------------------------------------------
    configured: bool = True          # False: External API Endpoint, Jivo webhook URL and the inbound link all empty
    chunked: bool | None = None      # «Chunked кодировка в запросах»; None: on when configured, off otherwise

    # -- Jivo operators ---------------------------------------------------------------------------
    operators: int = 2
    operator_names: tuple[str, ...] = ()            # default: DEFAULT_OPERATOR_NAMES
    online: bool = True
    think_time: float = 0.0                         # seconds before an operator answers
    reply_mode: str = "echo"                        # "echo" | "script" | "silent"
    echo_prefix: str = "Оператор: "                 # echo replies are prefix + the client's text
    # echo mode's first reply; {chat}, Jivo's chat number, makes it unique: it pairs a transfer with its
    # Jivo chat by what crossed the wire when JAICP uses its own ids toward Jivo
    operator_greeting: str = "Здравствуйте! Меня зовут {operator}. Чем могу помочь? (обращение №{chat})"
    scripted_replies: tuple[str, ...] = ("Здравствуйте! Меня зовут {operator}. Чем могу помочь?",
                                         "Сейчас проверю.", "Готово, что-нибудь ещё?")
    photo_replies: bool = False                     # also answer each message with a photo
    photo_url: str = "https://example.com/jivo-ops/operator-photo.jpg"
    close_after: int | None = None                  # agent-side close after this many operator messages
    agent_close_signal: bool = True                 # [guess] an agent-side close is posted to the webhook
    lifecycle_events: bool = False                  # [guess] post "agent joined" / "chat closed" to the webhook
    joined_message_type: str = "agent_joined"       # [guess] message.type of those events
    closed_message_type: str = "chat_closed"        # [guess]
    webhooks_api_url: str = ""                      # Jivo's Webhooks API (chat_accepted, chat_finished) posts here; "": off
    operator_side_view: bool = True                 # False: like a real Jivo with human operators, nobody can
                                                    # read what the operator got (TransferResult.operator_side None)

    # -- Jivo Chat API channel ----------------------------------------------------------------------
    strict_content_type: bool = False               # [guess] reject bodies not labelled application/json
    unknown_channel_status: int = 404               # [guess] answer for a unique URL that does not exist
    max_body_bytes: int = MAX_BODY_BYTES
    webhook_retries: int = 3                        # [guess] Jivo's resends toward a failing webhook
    webhook_retry_wait: float = 3.0                 # [guess] seconds between them
    webhook_timeout: float = 10.0                   # [guess]

    # -- JAICP ----------------------------------------------------------------------------------
    operator_event_type: str = "botResponse"        # [guess] /events type of an operator message
    jivo_sender_id: str = "client_id"               # [guess] Jivo's sender.id: the Chat API clientId | "own" chat ids
    events_timeout: float = 25.0                    # longest /events long poll, seconds
    greeting: str = "Здравствуйте! Я бот. Напишите «оператор», чтобы поговорить с человеком."
    fallback: str = "Я вас не понял. Напишите «оператор», чтобы позвать человека."
    operator_keywords: tuple[str, ...] = ("оператор", "operator")
    switch_text: str = "Соединяю с оператором…"
    switch_fields: Mapping[str, Any] = field(default_factory=lambda: {"closeChatPhrases": ["/closeChat"]})
    first_message: str = "history"                  # "history" ($jsapi.chatHistory()) | "last_phrase"
    no_operators_text: str = "Сейчас нет операторов в сети. Попробуйте позже."
    no_operators_delivery: str = "sync"             # [guess] "sync": in the switch turn's answer | "events"
    livechat_finished_text: str = "Диалог с оператором завершён. Я снова с вами."
    no_operator_channel_text: str = "Не удалось перевести на оператора: к каналу не подключён операторский канал."
    no_operator_channel_status: int = 200           # [guess] 200: the bot says so; 400: the Chat API call fails
    close_phrase_match: str = "exact"               # [guess] "exact" | "casefold"
    last_message_to: str = "client"                 # [doc disagrees] where `lastMessage` goes: "client" | "operator"
    status_check: bool = True                       # [guess] ask Jivo's /status before opening a live chat
    offline_when_status_fails: bool = False         # [guess] a failed /status check counts as "nobody online"
    relay_outside_livechat: bool = True             # [guess] relay agent messages to clients not in a live chat
    forward_retries: int = 3                        # JAICP → Jivo resends (Jivo's docs: up to 3, 3–60 s apart)
    forward_retry_wait: float = 3.0
    forward_timeout: float = 10.0
    async_webhook_url: str = ""                     # /async results go here; empty: to /events
    reporter_page_max: int = 1000

    # -- faults (deterministic with `seed`) ----------------------------------------------------------
    seed: int | None = None
    jaicp_latency: float = 0.0                      # seconds added to every JAICP answer
    jaicp_error_rate: float = 0.0                   # share answered 503
    jaicp_drop_rate: float = 0.0                    # share whose connection is closed without an answer
    jivo_latency: float = 0.0
    jivo_error_rate: float = 0.0
    jivo_drop_rate: float = 0.0
    webhook_error_rate: float = 0.0                 # share of Internal Webhook Url calls answered 503
    webhook_drop_rate: float = 0.0                  # …or dropped

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise JivoOpsError("sandbox settings: " + "; ".join(problems))

    def _type_problems(self) -> list[str]:
        """Each value must have its field's type (ints pass for floats; None where the default is None)."""
        out = []
        for f in fields(self):
            value, default = getattr(self, f.name), f.default if f.default is not dataclasses.MISSING else None
            if f.name == "switch_fields":
                ok = isinstance(value, Mapping)
            elif f.name in ("chunked",):
                ok = value is None or isinstance(value, bool)
            elif f.name in ("close_after", "seed"):
                ok = value is None or (isinstance(value, int) and not isinstance(value, bool))
            elif isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif isinstance(default, float):
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            elif isinstance(default, str):
                ok = isinstance(value, str)
            elif isinstance(default, tuple):
                ok = isinstance(value, tuple) and all(isinstance(v, str) for v in value)
            else:
                ok = True
            if not ok:
                out.append(f"{f.name}={value!r} has the wrong type")
        return out

    # -- derived --------------------------------------------------------------------------------
    @property
    def chunked_on(self) -> bool:
        return self.configured if self.chunked is None else bool(self.chunked)

    @property
    def names(self) -> tuple[str, ...]:
        """The operator pool's names, `operators` of them."""
        pool = self.operator_names or DEFAULT_OPERATOR_NAMES
        return tuple(pool[i] if i < len(pool) else f"Оператор {i + 1}" for i in range(self.operators))

    def replace(self, **changes: Any) -> "SandboxSettings":
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            raise JivoOpsError(f"unknown sandbox setting(s): {', '.join(unknown)}; "
                               f"known: {', '.join(f.name for f in fields(self))}")
        for name in ("operator_names", "scripted_replies", "operator_keywords"):
            value = changes.get(name)
            if isinstance(value, str):
                changes[name] = (value,)
            elif isinstance(value, (list, tuple)):
                changes[name] = tuple(value)
        if isinstance(changes.get("switch_fields"), Mapping):
            changes["switch_fields"] = dict(changes["switch_fields"])
        return dataclasses.replace(self, **changes)

    def problems(self) -> list[str]:
        out = self._type_problems()
        if out:
            return out
        for name in FAULT_RATES["jaicp"] + FAULT_RATES["jivo"]:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                out.append(f"{name}={value!r} must be a share between 0 and 1")
        for name in ("think_time", "jaicp_latency", "jivo_latency", "webhook_retry_wait", "forward_retry_wait",
                     "events_timeout"):
            if getattr(self, name) < 0:
                out.append(f"{name} must be ≥ 0 seconds")
        for name in ("think_time", "jaicp_latency", "jivo_latency", "webhook_retry_wait", "forward_retry_wait",
                     "events_timeout", "webhook_timeout", "forward_timeout"):
            if getattr(self, name) > 600:
                out.append(f"{name} must be at most 600 seconds")
        for name, most in (("operators", 1000), ("webhook_retries", 10), ("forward_retries", 10),
                           ("reporter_page_max", 100_000)):
            if not 0 <= getattr(self, name) <= most:
                out.append(f"{name} must be 0–{most}")
        if not (self.webhook_timeout > 0 and self.forward_timeout > 0):
            out.append("timeouts must be > 0")
        choices = {"reply_mode": ("echo", "script", "silent"), "first_message": ("history", "last_phrase"),
                   "no_operators_delivery": ("sync", "events"), "close_phrase_match": ("exact", "casefold"),
                   "last_message_to": ("client", "operator"),
                   "jivo_sender_id": ("client_id", "own")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                out.append(f"{name}={getattr(self, name)!r}: expected one of {', '.join(allowed)}")
        if self.reporter_page_max < 1:
            out.append("reporter_page_max must be ≥ 1")
        if self.close_after is not None and self.close_after < 1:
            out.append("close_after must be ≥ 1 (or None)")
        if not 1 <= self.max_body_bytes <= 64 * MAX_BODY_BYTES:
            out.append(f"max_body_bytes must be 1–{64 * MAX_BODY_BYTES}")
        if not 400 <= self.unknown_channel_status < 500:
            out.append("unknown_channel_status must be a 4xx code")
        if self.no_operator_channel_status not in (200, 400):
            out.append("no_operator_channel_status must be 200 or 400")
        return out


class LiveSettings:
    """Settings that change while the services run (`set(**changes)`): swapped under a lock, the
    services told. The sandbox and the stand-in both hold their settings this way."""

    _settings: SandboxSettings

    @property
    def settings(self) -> SandboxSettings:
        return self._settings

    def set(self, **changes: Any) -> SandboxSettings:
        """Change settings while running, e.g. ``sb.set(online=False)`` or ``sb.set(jivo_error_rate=0.5)``."""
        return self._apply_settings(changes)

    def _apply_settings(self, changes: dict) -> SandboxSettings:
        with self._lock:
            self._settings = self._settings.replace(**changes)
        self._settings_changed(changes)
        return self._settings

    def _settings_changed(self, changes: dict) -> None:
        self.jivo.settings_changed(changes)

