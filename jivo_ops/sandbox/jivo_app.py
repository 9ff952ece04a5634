"""The simulated Jivo: one «Добавьте чат в свое приложение» channel and a pool of operators.

Wire behaviour (PROTOCOL.md §2): ``POST <unique URL>`` takes a client message ``{sender, message}``
and answers 2xx, or 4xx with a ``text/plain; charset=utf-8`` reason; ``GET <unique URL>/status``
answers ``1``/``0``. Operators answer on this server's event loop and POST their messages to the
channel's «URL вашего сервера для Webhooks», chunked or with Content-Length as the channel says,
resending on failure as the settings say. ``/admin/…`` stands in for Jivo's web console.

With ``webhooks_api_url`` set, Jivo's separate Webhooks API is simulated too: ``chat_accepted``
when an operator takes a chat and ``chat_finished`` (the transcript, the agents, ``chat.rate``)
when an operator closes it, in the documented shapes (README "Protocol notes"); ``user_token`` is
the client's ``sender.id`` [guess]. ``POST /admin/close`` takes an optional ``rate``
(``positive``/``negative``) for the client's rating.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..channel.http import json_bytes
from ..redaction import mask_url
from ._common import (BodyTooLarge, History, SimulatedService, alnum, deliver, iso, json_response, masked,
                      now, parse_json, plain, read_body, uuid_hex)
from .operator_view import REFUSED
from .settings import MESSAGE_TYPES, SandboxSettings

__all__ = ["JivoService", "Operator", "validate_client_message", "OPERATOR_VIEW_PATH"]

OPERATOR_VIEW_PATH = "/admin/operator-side"   # on the control surface: what the operator of a chat got


@dataclass
class Operator:
    name: str
    id: str
    online: bool = True
    messages_sent: int = 0

    def as_json(self) -> dict:
        return {"name": self.name, "id": self.id, "online": self.online, "messagesSent": self.messages_sent}


@dataclass
class JivoChat:
    """One client's chat as Jivo sees it (opened by the first message from a new `sender.id`)."""

    client_id: str
    sender: dict
    operator: Operator | None = None
    received: int = 0
    replies: int = 0
    closed: bool = False
    pending: list = field(default_factory=list)      # messages waiting for an operator to come online
    chat_id: int = 0                                 # Jivo's own chat number (Webhooks API ``chat_id``)
    transcript: list = field(default_factory=list)   # chat.messages[] of chat_finished
    received_messages: list = field(default_factory=list)  # what the operator got: {"ts", "text", "type"}
    said: list = field(default_factory=list)         # operator texts posted to the webhook (pairing by content)
    refused: str | None = None                       # why JAICP did not take an operator message, if it did not
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def validate_client_message(data: Any) -> str | None:
    """The reason a Jivo Chat API client message is refused, or None when it is acceptable."""
    if not isinstance(data, dict):
        return "body must be a JSON object with \"sender\" and \"message\""
    sender = data.get("sender")
    if not isinstance(sender, dict):
        return "sender is required and must be an object"
    sender_id = sender.get("id")
    if isinstance(sender_id, bool) or not isinstance(sender_id, (str, int)) or str(sender_id).strip() == "":
        return "sender.id is required (the client's id in your system)"
    message = data.get("message")
    if not isinstance(message, dict):
        return "message is required and must be an object"
    kind = message.get("type")
    if kind is None or kind == "":
        return "message.type is required"
    if kind not in MESSAGE_TYPES:
        return f"unknown message.type {str(kind)[:40]!r}; expected one of: {', '.join(MESSAGE_TYPES)}"
    if kind == "text" and not isinstance(message.get("text"), str):
        return "message.text is required for message.type \"text\""
    if kind != "text" and not isinstance(message.get("file"), str):
        return f"message.file (a public URL) is required for message.type \"{kind}\""
    return None


def _fill(template: str, op: Operator, chat: JivoChat) -> str:
    """An operator's line with ``{operator}`` (their name) and ``{chat}`` (Jivo's chat number) filled in."""
    return template.replace("{operator}", op.name).replace("{chat}", str(chat.chat_id))


class JivoService(SimulatedService):
    """State and behaviour of the simulated Jivo; `app()` is its ASGI face."""

    side = "jivo"

    def __init__(self, settings: Callable[[], SandboxSettings], history: History,
                 apply_settings: Callable[[dict], SandboxSettings] | None = None):
        super().__init__()
        self.settings, self.history, self.apply_settings = settings, history, apply_settings
        self.channel_name = "JAICP bot"
        self.channel_key, self.channel_id = alnum(16), alnum(10)
        self.webhook_url = ""
        self.chunked = settings().chunked_on
        self.base_url = ""
        self.operators: list[Operator] = []
        self.rebuild_operators()
        self.chats: dict[str, JivoChat] = {}
        self._next_operator = 0
        self._chat_numbers = itertools.count(4398)
        self.on_refused: Callable[[str], None] | None = None   # told once per new refusal reason (the stand-in)
        self.tap = None   # keeps both directions in a recorder store (the stand-in's StoreTap)
        self.reached_at: str | None = None   # when JAICP first reached the unique URL (/status or a message)
        self._refusals: set[str] = set()
        self.refusing: str | None = None   # the last delivery's refusal, None once JAICP takes one again

    # -- wiring ---------------------------------------------------------------------------------
    @property
    def unique_path(self) -> str:
        return f"/{self.channel_key}/{self.channel_id}"

    @property
    def unique_url(self) -> str:
        return self.base_url + self.unique_path

    def rebuild_operators(self) -> None:
        s = self.settings()
        old = {op.name: op for op in getattr(self, "operators", [])}
        self.operators = [old.get(name) or Operator(name=name, id=f"agent-{i + 1}", online=s.online)
                          for i, name in enumerate(s.names)]

    def settings_changed(self, changes: dict) -> None:
        """Bring the running channel in line with changed settings (operators, online, chunked)."""
        s = self.settings()
        if "operators" in changes or "operator_names" in changes:
            self.rebuild_operators()
        if "online" in changes:
            self.set_online(s.online)
        if "chunked" in changes:
            self.chunked = s.chunked_on

    def set_online(self, online: bool, name: str | None = None) -> list[Operator]:
        chosen = [op for op in self.operators if name is None or op.name == name]
        if name is not None and not chosen:
            raise KeyError(name)
        for op in chosen:
            op.online = online
        if online:
            self.call_soon(self._serve_pending)
        return chosen

    def configure_channel(self, *, name: str | None = None, webhook_url: str | None = None,
                          chunked: bool | None = None) -> dict:
        """Step 2 of the seed: the channel's name, «URL вашего сервера для Webhooks» and «Chunked
        кодировка в запросах»; gives back «Уникальный URL»."""
        if name is not None:
            self.channel_name = name
        if webhook_url is not None:
            self.webhook_url = webhook_url
        if chunked is not None:
            self.chunked = bool(chunked)
        self.history.add(self.side, "admin", text="channel configured", webhook_url=mask_url(self.webhook_url),
                         chunked=self.chunked)
        return self.channel_state()

    def channel_state(self) -> dict:
        return {"name": self.channel_name, "uniqueUrl": self.unique_url, "webhookUrl": self.webhook_url,
                "chunked": self.chunked}

    def anyone_online(self) -> bool:
        return any(op.online for op in self.operators)

    # -- running on the server's loop -----------------------------------------------------------
    def call_soon(self, coro_fn) -> None:
        """Run `coro_fn()` on this server's loop, from any thread."""
        if self.loop is None or self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(lambda: self.spawn(coro_fn()))

    # -- operators --------------------------------------------------------------------------------
    def _pick_operator(self) -> Operator | None:
        online = [op for op in self.operators if op.online]
        if not online:
            return None
        op = online[self._next_operator % len(online)]
        self._next_operator += 1
        return op

    def _chat(self, sender: dict) -> JivoChat:
        client_id = str(sender["id"])
        chat = self.chats.get(client_id)
        if chat is None or chat.closed:
            chat = JivoChat(client_id=client_id, sender=dict(sender), chat_id=next(self._chat_numbers))
            self.chats[client_id] = chat
            self.history.add(self.side, "chat_opened", client_id=client_id, author="SYSTEM",
                             text="new chat from " + str(sender.get("name") or client_id))
        return chat

    async def _answer(self, chat: JivoChat, message: dict) -> None:
        async with chat.lock:
            if chat.closed:
                return
            op = chat.operator if chat.operator is not None and chat.operator.online else None
            if op is None:
                op = self._pick_operator()
                if op is None:
                    chat.pending.append(message)
                    self.history.add(self.side, "queued", client_id=chat.client_id, author="SYSTEM",
                                     text="no operator online: the message waits in Jivo")
                    return
                first = chat.operator is None
                chat.operator = op
                if first:
                    await self._post_event(chat, "chat_accepted", op)
                if first and self.settings().lifecycle_events:
                    self.history.add(self.side, "agent_joined", client_id=chat.client_id, author="OPERATOR",
                                     text=f"{op.name} joined", operator=op.name)
                    await self._post(chat, op, {"type": self.settings().joined_message_type,
                                                "text": f"{op.name} подключился к чату"})
            s = self.settings()
            if s.think_time:
                await asyncio.sleep(s.think_time)
            for reply in self._replies(chat, op, message, s):
                await self._post(chat, op, reply)
            chat.replies += 1
            if s.close_after is not None and chat.replies >= s.close_after:
                await self._close(chat, op)

    def _replies(self, chat: JivoChat, op: Operator, message: dict, s: SandboxSettings) -> list[dict]:
        out: list[dict] = []
        if s.reply_mode == "echo" and chat.replies == 0 and s.operator_greeting:
            out.append({"type": "text", "text": _fill(s.operator_greeting, op, chat)})
        elif s.reply_mode == "echo":
            said = message.get("text") if message.get("type") == "text" else f"[{message.get('type')}] " + \
                str(message.get("file_name") or message.get("file") or "")
            out.append({"type": "text", "text": s.echo_prefix + str(said)})
        elif s.reply_mode == "script" and s.scripted_replies:
            line = s.scripted_replies[chat.replies % len(s.scripted_replies)]
            out.append({"type": "text", "text": _fill(line, op, chat)})
        if s.photo_replies and s.reply_mode != "silent":
            out.append({"type": "photo", "file": s.photo_url, "file_name": s.photo_url.rsplit("/", 1)[-1]})
        return out

    async def _close(self, chat: JivoChat, op: Operator | None, rate: str | None = None) -> None:
        """Agent-side close: the chat ends in Jivo; JAICP hears of it only if the signal is on."""
        chat.closed = True
        await self._post_event(chat, "chat_finished", op, rate=rate)
        self.history.add(self.side, "operator_close", client_id=chat.client_id, author="OPERATOR",
                         text="operator closed the chat", operator=op.name if op else None)
        s = self.settings()
        if s.agent_close_signal or s.lifecycle_events:
            await self._post(chat, op, {"type": s.closed_message_type, "text": "Чат завершён оператором"})

    async def _post(self, chat: JivoChat, op: Operator | None, message: dict) -> bool:
        """POST one agent message to the channel's webhook, with Jivo's resends."""
        s = self.settings()
        body = {"sender": {"id": op.id, "name": op.name} if op else {"id": "agent", "name": "Оператор"},
                "recipient": {"id": chat.client_id},
                "message": {"id": uuid_hex(), **message}}
        kind = message.get("type")
        text = message.get("text") or message.get("file")
        is_content = kind in MESSAGE_TYPES
        if is_content:
            if op is not None:
                op.messages_sent += 1
                chat.transcript.append({"timestamp": int(time.time()), "type": "agent", "agent_id": op.id,
                                        "message": text})
            self.history.add(self.side, "operator_message", client_id=chat.client_id, author="OPERATOR", text=text,
                             operator=op.name if op else None, type=kind, message_id=body["message"]["id"])
        url = self.webhook_url.strip()
        if not url:
            self.history.add(self.side, "dropped", client_id=chat.client_id, author="OPERATOR", text=text,
                             reason="the Jivo channel has no «URL вашего сервера для Webhooks»: "
                                    "the operator's message goes nowhere")
            return False
        raw = json_bytes(body)
        chunked = self.chunked
        if is_content:  # before the POST: the client may see it (and ask for the view) before JAICP's answer is back
            chat.said.append(text)

        def on_attempt(attempt: int, status: int | None, reason: str) -> None:
            self.history.add(self.side, "webhook_attempt", client_id=chat.client_id, text=text, attempt=attempt,
                             status=status, chunked=chunked, url=masked(url), type=kind,
                             **({"reason": reason} if status is None or status >= 300 else {}))

        result = await deliver(await self.http(), url, raw, chunked=chunked, retries=s.webhook_retries,
                               wait=s.webhook_retry_wait, timeout=s.webhook_timeout, on_attempt=on_attempt)
        if self.tap is not None:
            await self.tap.operator_message(url, raw, chunked, result)
        if result.ok:
            self.refusing = None
        if not result.ok:
            self._refused(chat, result)
            self.history.add(self.side, "dropped", client_id=chat.client_id, author="OPERATOR", text=text,
                             status=result.status, attempts=result.attempts,
                             reason=f"webhook {masked(url)} did not accept it after {result.attempts} "
                                    f"attempt(s): {result.reason or result.status}")
        return result.ok

    def _refused(self, chat: JivoChat, result) -> None:
        """Remember why JAICP did not take this chat's operator message, and say it once per reason."""
        if result.status is not None and 400 <= result.status < 500:
            chat.refused = f"{REFUSED}: HTTP {result.status}"
        else:
            chat.refused = (f"JAICP did not take the operator's reply after {result.attempts} attempt(s): "
                            f"{result.reason or result.status}")
        self.refusing = chat.refused
        if self.on_refused is not None and chat.refused not in self._refusals:
            self._refusals.add(chat.refused)
            self.on_refused(f"{chat.refused} (webhook {mask_url(self.webhook_url)}); check the Internal Webhook Url")

    # -- the operator-side view -------------------------------------------------------------------
    def find_chat(self, client_id: str, replies: list[str] | tuple[str, ...] = ()) -> JivoChat | None:
        """The Jivo chat of a transfer: the one whose ``sender.id`` is the Chat API clientId, else the
        only chat whose operator sent every reply the client received (JAICP used its own ids)."""
        chat = self.chats.get(str(client_id))
        if chat is not None:
            return chat
        wanted = [r for r in replies if r]
        if not wanted:
            return None
        hits = [c for c in list(self.chats.values()) if all(r in c.said for r in wanted)]
        return hits[0] if len(hits) == 1 else None

    def operator_side(self, client_id: str, replies: list[str] | tuple[str, ...] = ()) -> dict:
        """``{"operator_side": {first_message, sender, messages} | None, "refused": str | None}``."""
        if not self.settings().operator_side_view:
            return {"operator_side": None, "refused": None}
        chat = self.find_chat(client_id, replies)
        if chat is None:  # unpaired (own ids, nothing got through): JAICP refusing every reply is still news
            return {"operator_side": None, "refused": None if replies else self.refusing}
        got = list(chat.received_messages)
        view = {"first_message": got[0]["text"] if got else "", "sender": dict(chat.sender), "messages": got[1:]}
        return {"operator_side": view, "refused": chat.refused}

    async def _post_event(self, chat: JivoChat, event: str, op: Operator | None, *, rate: str | None = None) -> None:
        """One Webhooks API event to ``webhooks_api_url`` (nothing when it is empty)."""
        s = self.settings()
        url = s.webhooks_api_url.strip()
        if not url:
            return
        agent = {"id": op.id, "name": op.name, "email": "", "phone": ""} if op else None
        body: dict[str, Any] = {
            "event_name": event, "chat_id": chat.chat_id, "widget_id": self.channel_id,
            "user_token": chat.client_id,
            "visitor": {"name": chat.sender.get("name"), "email": chat.sender.get("email"),
                        "phone": chat.sender.get("phone"), "number": str(chat.chat_id), "description": "",
                        "social": None, "chats_count": 1}}
        if event == "chat_finished":
            body["agents"] = [agent] if agent else []
            body["chat"] = {"messages": list(chat.transcript), "rate": rate, "blacklisted": False}
        else:
            body["agent"] = agent
        raw = json_bytes(body)

        def on_attempt(attempt: int, status: int | None, reason: str) -> None:
            self.history.add(self.side, "webhooks_api_attempt", client_id=chat.client_id, text=event,
                             attempt=attempt, status=status, url=masked(url),
                             **({"reason": reason} if status is None or status >= 300 else {}))

        await deliver(await self.http(), url, raw, chunked=False, retries=s.webhook_retries,
                      wait=s.webhook_retry_wait, timeout=s.webhook_timeout, on_attempt=on_attempt)

    async def _serve_pending(self) -> None:
        for chat in list(self.chats.values()):
            if chat.pending and not chat.closed:
                waiting, chat.pending = chat.pending, []
                for message in waiting:
                    await self._answer(chat, message)

    async def operator_say(self, client_id: str, text: str | None = None, *, operator: str | None = None,
                           kind: str = "text", file: str | None = None) -> bool:
        """An operator writes to a client now (the agent console)."""
        chat = self.chats.get(client_id) or self._chat({"id": client_id})
        op = next((o for o in self.operators if o.name == operator), None) if operator else None
        op = op or chat.operator or self._pick_operator() or (self.operators[0] if self.operators else None)
        chat.operator = chat.operator or op
        message: dict[str, Any] = {"type": kind}
        if kind == "text":
            message["text"] = text or ""
        else:
            message["file"] = file or self.settings().photo_url
            message["file_name"] = message["file"].rsplit("/", 1)[-1]
        return await self._post(chat, op, message)

    async def operator_close(self, client_id: str, *, rate: str | None = None) -> None:
        """The operator closes the chat; `rate` is the client's rating Jivo reports (chat.rate)."""
        chat = self.chats.get(client_id)
        if chat is None or chat.closed:
            raise KeyError(client_id)
        await self._close(chat, chat.operator, rate=rate)

    # -- HTTP -------------------------------------------------------------------------------------
    def _unknown_channel(self, request):
        """The refusal for a URL that is not this channel's «Уникальный URL», or None when it is."""
        if (request.path_params["key"], request.path_params["cid"]) == (self.channel_key, self.channel_id):
            self.reached_at = self.reached_at or iso(now())
            return None
        return plain("unknown channel: no Jivo channel at this URL; copy «Уникальный URL» again",
                     self.settings().unknown_channel_status)

    async def _status(self, request):
        if (refused := self._unknown_channel(request)) is not None:
            return refused
        return plain("1" if self.anyone_online() else "0", 200)

    async def _message(self, request):
        if (refused := self._unknown_channel(request)) is not None:
            self.history.add(self.side, "rejected", status=refused.status_code, reason="unknown channel")
            return refused
        kept: dict[str, bytes] = {}
        response = await self._take_message(request, kept)
        if self.tap is not None:
            await self.tap.client_message(request, kept.get("raw", b""), response)
        return response

    async def _take_message(self, request, kept: dict):
        """Answer one client message on the unique URL; its raw body goes into `kept` once read."""
        s = self.settings()
        content_type = request.headers.get("content-type", "")
        if s.strict_content_type and not content_type.lower().startswith("application/json"):
            return self._reject(415, f"Content-Type must be application/json; charset=utf-8, got "
                                     f"{content_type[:60] or 'none'!r}")
        try:
            raw = kept["raw"] = await read_body(request, s.max_body_bytes)
        except BodyTooLarge:
            return self._reject(413, f"body too large: at most {s.max_body_bytes} bytes")
        data, problem = parse_json(raw)
        if problem is None:
            problem = validate_client_message(data)
        if problem is not None:
            return self._reject(400, problem)
        sender, message = data["sender"], data["message"]
        chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
        chat = self._chat(sender)
        chat.received += 1
        chat.transcript.append({"timestamp": int(time.time()), "type": "visitor",
                                "message": message.get("text") or message.get("file")})
        chat.received_messages.append({"ts": iso(now()), "text": message.get("text") or message.get("file") or "",
                                       "type": message["type"]})
        self.history.add(self.side, "jivo_received", client_id=chat.client_id, author="CLIENT",
                         text=message.get("text") or message.get("file"), type=message["type"],
                         message_id=message.get("id"), chunked=chunked, status=200)
        self.spawn(self._answer(chat, message))
        return plain("", 200)

    def _reject(self, status: int, reason: str):
        self.history.add(self.side, "rejected", status=status, reason=reason)
        return plain(reason, status)

    # -- admin (the Jivo console's forms) ---------------------------------------------------------
    def _admin_error(self, status: int, code: str, message: str):
        return plain(message, status)   # Jivo refuses in plain text; the code is JAICP's idea

    async def _admin_state(self, request):
        return json_response({"channel": self.channel_state(),
                              "operators": [op.as_json() for op in self.operators],
                              "chats": {cid: {"operator": c.operator.name if c.operator else None,
                                              "received": c.received, "replies": c.replies, "closed": c.closed}
                                        for cid, c in self.chats.items()}})

    async def _admin_channel(self, request):
        data, error = await self._admin_body(request)
        if error:
            return error
        for key, kind in (("name", str), ("webhookUrl", str), ("chunked", bool)):
            if key in data and not isinstance(data[key], kind):
                return plain(f"{key} must be a {kind.__name__}", 400)
        return json_response(self.configure_channel(name=data.get("name"), webhook_url=data.get("webhookUrl"),
                                                    chunked=data.get("chunked")))

    async def _admin_operators(self, request):
        data, error = await self._admin_body(request)
        if error:
            return error
        if not isinstance(data.get("online"), bool):
            return plain("online (true/false) is required", 400)
        name = data.get("name")
        if name is not None and not isinstance(name, str):
            return plain("name must be a string", 400)
        try:
            self.set_online(data["online"], name)
        except KeyError:
            return plain(f"no operator named {name!r}", 404)
        return json_response({"operators": [op.as_json() for op in self.operators]})

    async def _admin_client_body(self, request) -> tuple[dict | None, str, Any]:
        """(body, its clientId, None) or (None, "", the refusal) for forms that act on one chat."""
        data, error = await self._admin_body(request)
        if error:
            return None, "", error
        client_id = data.get("clientId")
        if not isinstance(client_id, str) or not client_id:
            return None, "", plain("clientId is required", 400)
        return data, client_id, None

    async def _admin_say(self, request):
        data, client_id, error = await self._admin_client_body(request)
        if error:
            return error
        kind = data.get("type", "text")
        if kind not in MESSAGE_TYPES:
            return plain(f"type must be one of {', '.join(MESSAGE_TYPES)}", 400)
        if kind == "text" and not isinstance(data.get("text"), str):
            return plain("text is required", 400)
        delivered = await self.operator_say(client_id, data.get("text"), operator=data.get("operator"),
                                            kind=kind, file=data.get("file"))
        return json_response({"delivered": delivered})

    async def _admin_close(self, request):
        data, client_id, error = await self._admin_client_body(request)
        if error:
            return error
        rate = data.get("rate")
        if rate not in (None, "positive", "negative"):
            return plain("rate must be positive, negative or absent", 400)
        try:
            await self.operator_close(client_id, rate=rate)
        except KeyError:
            return plain(f"no open chat with client {client_id!r}", 404)
        return json_response({"closed": client_id})

    async def _admin_operator_side(self, request):
        data, client_id, error = await self._admin_client_body(request)
        if error:
            return error
        replies = data.get("replies") or []
        if not isinstance(replies, list) or not all(isinstance(r, str) for r in replies):
            return plain("replies must be a list of strings", 400)
        return json_response(self.operator_side(client_id, replies))

    def admin_routes(self) -> list:
        """The Jivo console's forms: the control surface, never on an exposed address (the stand-in)."""
        from starlette.routing import Route

        return [
            Route("/admin/state", self._admin_state, methods=["GET"]),
            Route("/admin/channel", self._admin_channel, methods=["POST"]),
            Route("/admin/operators", self._admin_operators, methods=["POST"]),
            Route("/admin/say", self._admin_say, methods=["POST"]),
            Route("/admin/close", self._admin_close, methods=["POST"]),
            Route("/admin/settings", self._admin_settings, methods=["POST"]),
            Route(OPERATOR_VIEW_PATH, self._admin_operator_side, methods=["POST"]),
        ]

    def channel_routes(self) -> list:
        """The Chat API channel: the «Уникальный URL» and its ``/status``."""
        from starlette.routing import Route

        return [Route("/{key}/{cid}/status", self._status, methods=["GET"]),
                Route("/{key}/{cid}", self._message, methods=["POST"])]

    def fast_routes(self, *, channel: bool = True, admin: bool = True) -> dict:
        """The paths every transfer takes (`FastRoutes`): the «Уникальный URL», its /status, the operator view."""
        where = {"key": self.channel_key, "cid": self.channel_id}
        table = {("POST", self.unique_path): (self._message, where),
                 ("GET", self.unique_path + "/status"): (self._status, where)} if channel else {}
        if admin:
            table["POST", OPERATOR_VIEW_PATH] = (self._admin_operator_side, {})
        return table

    def app(self, *, channel: bool = True, admin: bool = True):
        routes = (self.admin_routes() if admin else []) + (self.channel_routes() if channel else [])

        def rates(path: str) -> tuple[float, float, float]:
            s = self.settings()
            return s.jivo_latency, s.jivo_error_rate, s.jivo_drop_rate

        return self._asgi(routes, rates, lambda: self.fast_routes(channel=channel, admin=admin),
                          lambda: (self.channel_key, self.channel_id))
