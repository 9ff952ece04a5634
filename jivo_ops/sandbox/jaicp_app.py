"""The simulated JAICP: a Chat API inbound channel, a small scenario engine, the Jivo operator
channel (Internal Webhook Url + External API Endpoint), a Reporter-style API and an admin API.

Lifecycle of a transfer (PROTOCOL.md §4): a text with «оператор»/"operator" gets a text reply and a
``switch``; nobody online (Jivo's ``/status`` says ``0``) and ``ignoreOffline`` false → the bot gets
``noLivechatOperatorsOnline``; otherwise a live chat opens and ``firstMessage`` plus each later client
message is POSTed to the External API Endpoint as a Jivo client message; agent messages arriving on
the Internal Webhook Url reach the client on ``/events``; a close phrase or an agent-side close ends
the live chat with ``livechatFinished``. Unwired pieces fail as they would for real and every message
that goes nowhere is recorded as ``dropped``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable

from ..channel.http import json_bytes
from ..redaction import mask_url
from ._common import (BodyTooLarge, History, SimulatedService, alnum, deliver, error_dto, hex_token, iso,
                      json_response, masked, now, parse_json, read_body, reporter_time, uuid_hex, uuid_text)
from .settings import SandboxSettings

__all__ = ["JaicpService", "WEBHOOK_PREFIX"]

WEBHOOK_PREFIX = "/chatadapter/chatapi/webhook/jivosite/"
EVENT_NO_OPERATORS = "noLivechatOperatorsOnline"
EVENT_FINISHED = "livechatFinished"
FILE_REPLY = {"photo": "image", "video": "file", "document": "file"}


@dataclass
class ClientState:
    """One Chat API client as JAICP sees it."""

    client_id: str
    session_id: str
    session_started: datetime
    livechat: bool = False
    switch: dict | None = None
    switched_at: datetime | None = None
    operator: dict | None = None
    transcript: list[tuple[str, str]] = field(default_factory=list)   # ($jsapi.chatHistory)
    events: list[dict] = field(default_factory=list)
    last_ts: int = 0
    changed: asyncio.Future | None = None           # a waiting long poll's wake-up, resolved by the next event
    forward_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    was_livechat: bool = False
    switches: list = field(default_factory=list)   # when the bot emitted a switch
    questions: int = 0
    first_question: str | None = None
    last_question: str | None = None
    jivo_id: str = ""                               # JAICP's own chat id toward Jivo (jivo_sender_id="own")


class JaicpService(SimulatedService):
    """State and behaviour of the simulated JAICP; `app()` is its ASGI face."""

    side = "jaicp"

    def __init__(self, settings: Callable[[], SandboxSettings], history: History,
                 apply_settings: Callable[[dict], SandboxSettings] | None = None):
        super().__init__()
        self.settings, self.history, self.apply_settings = settings, history, apply_settings
        self.base_url = ""
        self.chat_token = f"{alnum(8)}:{hex_token(40)}"
        self.bot_id = "sandbox-bot"
        self.project = "sandbox"
        self.inbound_channel = "chat api"
        self.inbound_operator = ""
        self.operator_channel = "Jivo"
        self.webhook_token = alnum(32)
        self.external_api_endpoint = ""
        self.reporter_token = alnum(40)
        self.clients: dict[str, ClientState] = {}
        self.jivo_ids: dict[str, str] = {}   # own chat id toward Jivo → Chat API clientId
        self.closing = False

    # -- wiring ---------------------------------------------------------------------------------
    @property
    def chat_api_url(self) -> str:
        return f"{self.base_url}/chatapi/{self.chat_token}"

    @property
    def internal_webhook_url(self) -> str:
        return f"{self.base_url}{WEBHOOK_PREFIX}{self.webhook_token}"

    @property
    def reporter_url(self) -> str:
        return f"{self.base_url}/api/v1/reporter"

    @property
    def reporter_path_url(self) -> str:
        """The older form of the Reporter's address, the token in the path (no Bearer header)."""
        return f"{self.base_url}/api/reporter/p/{self.reporter_token}"

    def create_operator_channel(self, name: str = "Jivo") -> dict:
        """Step 1: Каналы → Операторы → Подключить канал → Jivo; gives the Internal Webhook Url."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError("the operator channel needs a name («Название»)")
        if self.inbound_operator == self.operator_channel:
            self.inbound_operator = name
        self.operator_channel = name
        self.history.add(self.side, "admin", text=f"operator channel {name!r} saved")
        return self.operator_channel_state()

    def set_external_api_endpoint(self, url: str) -> dict:
        """Step 3: paste Jivo's «Уникальный URL» into «External API Endpoint»."""
        self.external_api_endpoint = url
        self.history.add(self.side, "admin", text="External API Endpoint saved", url=masked(url))
        return self.operator_channel_state()

    def link_inbound(self, operator_channel: str | None) -> dict:
        """Step 3 (end): the inbound channel's «Оператор» field."""
        self.inbound_operator = operator_channel or ""
        self.history.add(self.side, "admin", text=f"inbound channel operator = {self.inbound_operator!r}")
        return self.inbound_state()

    def operator_channel_state(self) -> dict:
        return {"name": self.operator_channel, "internalWebhookUrl": self.internal_webhook_url,
                "externalApiEndpoint": self.external_api_endpoint}

    def inbound_state(self) -> dict:
        return {"name": self.inbound_channel, "type": "chatapi", "chatApiUrl": self.chat_api_url,
                "operator": self.inbound_operator}

    @property
    def linked(self) -> bool:
        return bool(self.inbound_operator) and self.inbound_operator == self.operator_channel

    # -- running on the server's loop -----------------------------------------------------------
    async def startup(self) -> None:
        await super().startup()
        self.closing = False

    def begin_close(self) -> None:
        """Wake every long poll so the server can stop at once (call from any thread)."""
        self.closing = True
        if self.loop is not None and not self.loop.is_closed():
            def wake():
                for st in self.clients.values():
                    _wake(st)
            try:
                self.loop.call_soon_threadsafe(wake)
            except RuntimeError:
                pass

    async def shutdown(self) -> None:
        self.closing = True
        await super().shutdown()

    # -- clients, events, logs ----------------------------------------------------------------------
    def _state(self, client_id: str) -> tuple[ClientState, bool]:
        st = self.clients.get(client_id)
        if st is not None:
            return st, False
        st = ClientState(client_id=client_id, session_id=uuid_text(), session_started=now(),
                         jivo_id=f"jaicp-{uuid_hex()}")
        self.clients[client_id] = st
        self.jivo_ids[st.jivo_id] = client_id
        return st, True

    def _push_event(self, st: ClientState, kind: str, data: dict, question_id: str | None = None) -> dict:
        ts = max(int(time.time() * 1000), st.last_ts + 1)
        st.last_ts = ts
        item = {"type": kind, "event": {"questionId": question_id or uuid_text(), "timestamp": ts,
                                        "data": data}}
        st.events.append(item)
        _wake(st)
        return item

    def _log(self, st: ClientState, question_id: str, *, question: str | None = None, event: str | None = None,
             replies: list[dict] | None = None, livechat: bool = False, operator: dict | None = None,
             request_livechat: bool | None = None, at: datetime | None = None) -> None:
        texts = [r.get("text", "") for r in replies or [] if r.get("type") == "text"]
        row: dict[str, Any] = {
            "timestamp": reporter_time(at or now()), "questionId": question_id, "sessionId": st.session_id,
            "clientId": st.client_id, "botId": self.bot_id, "channelType": "CHAT_API", "isLivechat": livechat,
            "question": question, "textAnswer": "\n".join(texts) if texts else None, "event": event,
            "responseData": {"replies": list(replies or []), "answer": "\n".join(texts)},
            "requestData": {"livechatStatus": {"enabled": st.livechat if request_livechat is None
                                               else request_livechat}},
            "status": "SENT",
        }
        if operator is not None:
            row["operatorInfo"] = operator
        self.history.add_message(row)

    def _envelope(self, st: ClientState, question_id: str, replies: list[dict], new_session: bool,
                  nlp_class: str) -> dict:
        texts = [r["text"] for r in replies if r.get("type") == "text"]
        return {"token": self.chat_token, "clientId": st.client_id, "questionId": question_id,
                "data": {"replies": replies, "answer": "\n".join(texts), "nlpClass": nlp_class,
                         "confidence": 1.0 if nlp_class != "/CatchAll" else 0.0,
                         "newSessionStarted": new_session, "endSession": False,
                         "livechatStatus": {"enabled": st.livechat}},
                "timestamp": iso(now())}

    def _bot_says(self, st: ClientState, texts: list[str], state: str) -> list[dict]:
        replies = [{"type": "text", "text": t, "state": state} for t in texts]
        for t in texts:
            st.transcript.append(("BOT", t))
            self.history.add(self.side, "bot_reply", client_id=st.client_id, author="BOT", text=t, state=state)
        return replies

    # -- the scenario ---------------------------------------------------------------------------------
    def _switch_reply(self, st: ClientState) -> dict:
        s = self.settings()
        reply: dict[str, Any] = {"type": "switch", **{k: v for k, v in dict(s.switch_fields).items() if k != "type"}}
        if "firstMessage" not in reply:
            if s.first_message == "history":
                reply["firstMessage"] = "\n\n".join(f"{who}\n{text}" for who, text in st.transcript)
            else:
                reply["firstMessage"] = st.last_question or ""
        return reply

    def _is_close_phrase(self, st: ClientState, text: str) -> bool:
        phrases = [p for p in (st.switch or {}).get("closeChatPhrases") or [] if isinstance(p, str)]
        if self.settings().close_phrase_match == "casefold":
            return text.strip().casefold() in {p.strip().casefold() for p in phrases}
        return text.strip() in {p.strip() for p in phrases}

    async def turn(self, client_id: str, *, query: str | None = None, event: str | None = None,
                   data: dict | None = None, question_id: str | None = None) -> tuple[int, dict]:
        """One Chat API request: (HTTP status, body)."""
        s = self.settings()
        asked_at = now()  # the turn's time in the Reporter: what the platform does on it (no operators) is later
        st, new_session = self._state(client_id)
        qid = question_id or uuid_text()
        was_livechat = st.livechat
        if query is not None:
            st.questions += 1
            st.first_question = st.first_question or query
            st.last_question = query
            st.transcript.append(("CLIENT", query))
            self.history.add(self.side, "client_message", client_id=client_id, author="CLIENT", text=query,
                             livechat=st.livechat, question_id=qid)
        else:
            self.history.add(self.side, "client_event", client_id=client_id, author="CLIENT", text=event,
                             question_id=qid)

        if query is not None and st.livechat:
            if self._is_close_phrase(st, query):
                replies = self._finish_livechat(st, closed_by="client", phrase=query)
                self._log(st, qid, question=query, event=EVENT_FINISHED, replies=replies, request_livechat=True,
                          at=asked_at)
                return 200, self._envelope(st, qid, replies, new_session, "/LivechatFinished")
            self._log(st, qid, question=query, livechat=True, request_livechat=True, at=asked_at)
            self.spawn(self._forward(st, query, "client message"))
            return 200, self._envelope(st, qid, [], new_session, "/Livechat")

        if event is not None:
            if event == EVENT_NO_OPERATORS:
                replies, nlp = self._bot_says(st, [s.no_operators_text], "/NoOperatorsOnline"), "/NoOperatorsOnline"
            elif event == EVENT_FINISHED:
                replies, nlp = self._bot_says(st, [s.livechat_finished_text], "/LivechatFinished"), "/LivechatFinished"
            else:
                replies, nlp = self._bot_says(st, [f"Событие {event} получено."], "/Event"), "/Event"
            self._log(st, qid, event=event, replies=replies, request_livechat=was_livechat, at=asked_at)
            return 200, self._envelope(st, qid, replies, new_session, nlp)

        text = query or ""
        lowered = text.casefold()
        if text.strip() == "/start":
            replies = self._bot_says(st, [s.greeting], "/Start")
            self._log(st, qid, question=text, replies=replies, request_livechat=False, at=asked_at)
            return 200, self._envelope(st, qid, replies, new_session, "/Start")
        if not any(word.casefold() in lowered for word in s.operator_keywords):
            replies = self._bot_says(st, [s.fallback], "/CatchAll")
            self._log(st, qid, question=text, replies=replies, request_livechat=False, at=asked_at)
            return 200, self._envelope(st, qid, replies, new_session, "/CatchAll")

        # The scenario asks for an operator: a text reply plus the switch, then the platform acts on it.
        replies = self._bot_says(st, [s.switch_text], "/Operator")
        switch = self._switch_reply(st)
        replies.append(switch)
        st.switches.append(now())
        self.history.add(self.side, "switch", client_id=client_id, author="BOT", text=switch.get("firstMessage"),
                         reply=switch)
        status, extra = await self._act_on_switch(st, switch)
        if status == 400:
            self._log(st, qid, question=text, replies=replies, request_livechat=False, at=asked_at)
            return 400, {"error": "chatadapter.livechat.no_operator_channel",
                         "message": s.no_operator_channel_text, "args": {"inboundChannel": self.inbound_channel}}
        replies += extra
        self._log(st, qid, question=text, replies=replies, request_livechat=False, at=asked_at)
        return 200, self._envelope(st, qid, replies, new_session, "/Operator")

    async def _act_on_switch(self, st: ClientState, switch: dict) -> tuple[int, list[dict]]:
        """What the platform does with a `switch` reply: (status, replies to add to this turn)."""
        s = self.settings()
        if not self.linked:
            reason = (f"no operator channel is linked to the inbound channel {self.inbound_channel!r} "
                      f"(its «Оператор» field is {'empty' if not self.inbound_operator else repr(self.inbound_operator)})")
            self.history.add(self.side, "dropped", client_id=st.client_id, author="BOT",
                             text=switch.get("firstMessage"), status=400, reason=reason)
            if s.no_operator_channel_status == 400:
                return 400, []
            return 200, self._bot_says(st, [s.no_operator_channel_text], "/Operator")
        if switch.get("oneTimeMessage"):
            self.spawn(self._forward(st, switch.get("firstMessage") or st.last_question or "", "firstMessage"))
            return 200, []
        if not switch.get("ignoreOffline") and s.status_check and self.external_api_endpoint.strip():
            online, why = await self._operators_online()
            if online is None:
                self.history.add(self.side, "status_check_failed", client_id=st.client_id, author="SYSTEM",
                                 text="Jivo /status check failed", reason=why)
                online = not s.offline_when_status_fails
            if not online:
                self.history.add(self.side, "no_operators", client_id=st.client_id, author="SYSTEM",
                                 text=EVENT_NO_OPERATORS, reason=why)
                qid = uuid_text()
                answer = self._bot_says(st, [s.no_operators_text], "/NoOperatorsOnline")
                self._log(st, qid, event=EVENT_NO_OPERATORS, replies=answer, request_livechat=False)
                if s.no_operators_delivery == "events":
                    self._push_event(st, "botResponse", {"replies": answer, "event": EVENT_NO_OPERATORS}, qid)
                    return 200, []
                return 200, answer
        st.livechat, st.was_livechat = True, True
        st.switch, st.switched_at, st.operator = switch, now(), None
        self.history.add(self.side, "livechat_opened", client_id=st.client_id, author="SYSTEM",
                         text="live chat opened", operator_channel=self.operator_channel)
        first = switch.get("firstMessage") or st.last_question or ""
        history_amount = switch.get("sendMessageHistoryAmount") if switch.get("sendMessagesToOperator") else None
        earlier = [t for who, t in st.transcript if who == "CLIENT"][:-1]
        backlog = earlier[-int(history_amount):] if isinstance(history_amount, int) and history_amount > 0 else []
        self.spawn(self._forward_many(st, [(first, "firstMessage")] + [(t, "history") for t in backlog]))
        return 200, []

    async def _operators_online(self) -> tuple[bool | None, str]:
        """Jivo's «Уникальный URL»/status: True/False, or None when it cannot tell (with the reason)."""
        url = self.external_api_endpoint.strip().rstrip("/") + "/status"
        try:
            client = await self.http()
            response = await client.send(client.build_request("GET", url, timeout=self.settings().forward_timeout))
        except Exception as exc:  # noqa: BLE001 - any transport failure means "cannot tell"
            return None, f"GET {mask_url(url)} failed: {type(exc).__name__}"
        body = response.text.strip()
        if response.status_code != 200 or body not in ("0", "1"):
            return None, f"GET {mask_url(url)} answered HTTP {response.status_code} {body[:40]!r}"
        return body == "1", f"status {body!r}"

    def _finish_livechat(self, st: ClientState, *, closed_by: str, phrase: str | None = None) -> list[dict]:
        """End the live chat; the bot gets livechatFinished. Returns the replies for the client."""
        s = self.settings()
        switch = st.switch or {}
        st.livechat, st.switch = False, None
        self.history.add(self.side, "livechat_finished", client_id=st.client_id, author="SYSTEM",
                         text=EVENT_FINISHED, closed_by=closed_by, phrase=phrase)
        replies: list[dict] = []
        last = switch.get("lastMessage")
        if last and closed_by == "client":
            if s.last_message_to == "client":
                replies += self._bot_says(st, [last], "/Livechat")
            else:
                self.spawn(self._forward(st, last, "lastMessage"))
        replies += self._bot_says(st, [s.livechat_finished_text], "/LivechatFinished")
        return replies

    # -- the operator channel: JAICP → Jivo ------------------------------------------------------
    async def _forward_many(self, st: ClientState, items: list[tuple[str, str]]) -> None:
        for text, what in items:
            await self._forward(st, text, what)

    async def _forward(self, st: ClientState, text: str, what: str) -> bool:
        """POST one client message to the External API Endpoint as a Jivo Chat API client message."""
        s = self.settings()
        async with st.forward_lock:
            url = self.external_api_endpoint.strip()
            if not url:
                self.history.add(self.side, "dropped", client_id=st.client_id, author="CLIENT", text=text,
                                 reason=f"{what} not sent: the operator channel's «External API Endpoint» is empty")
                return False
            sender_id = st.jivo_id if s.jivo_sender_id == "own" else st.client_id
            body = {"sender": {"id": sender_id, "name": f"Клиент {sender_id}"},
                    "message": {"type": "text", "id": uuid_hex(), "text": text}}
            raw = json_bytes(body)

            def on_attempt(attempt: int, status: int | None, reason: str) -> None:
                self.history.add(self.side, "forward", client_id=st.client_id, author="CLIENT", text=text,
                                 what=what, attempt=attempt, status=status, url=masked(url),
                                 **({"reason": reason} if status is None or status >= 300 else {}))

            result = await deliver(await self.http(), url, raw, chunked=False, retries=s.forward_retries,
                                   wait=s.forward_retry_wait, timeout=s.forward_timeout, on_attempt=on_attempt)
            if not result.ok:
                self.history.add(self.side, "dropped", client_id=st.client_id, author="CLIENT", text=text,
                                 status=result.status, attempts=result.attempts,
                                 reason=f"{what} not accepted by {masked(url)} after {result.attempts} "
                                        f"attempt(s): {result.reason or result.status}")
            return result.ok

    # -- the operator channel: Jivo → JAICP -------------------------------------------------------
    async def agent_message(self, body: dict, headers: dict) -> tuple[int, str]:
        """Handle a parsed Jivo agent message from the Internal Webhook Url."""
        s = self.settings()
        recipient = body.get("recipient")
        if not isinstance(recipient, dict) or not isinstance(recipient.get("id"), (str, int)) \
                or isinstance(recipient.get("id"), bool) or str(recipient.get("id")) == "":
            return 400, "recipient.id is required"
        message = body.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("type"), str) or not message["type"]:
            return 400, "message.type is required"
        sender = body.get("sender") if isinstance(body.get("sender"), dict) else {}
        client_id = self.jivo_ids.get(str(recipient["id"]), str(recipient["id"]))
        kind = message["type"]
        name = str(sender.get("name") or "Оператор")
        first, _, last = name.partition(" ")
        operator = {"id": str(sender.get("id") or "jivo-agent"), "firstName": first, "lastName": last or None,
                    "photoUrl": sender.get("photo"), "channelType": "jivosite"}
        st = self.clients.get(client_id)
        if kind == s.closed_message_type:
            if st is None or not st.livechat:
                self.history.add(self.side, "ignored", client_id=client_id, author="OPERATOR",
                                 text="agent closed a chat that is not live", reason="no live chat")
                return 200, "ok"
            replies = self._finish_livechat(st, closed_by="operator")
            qid = uuid_text()
            self._log(st, qid, event=EVENT_FINISHED, replies=replies, request_livechat=True)
            self._push_event(st, "botResponse", {"replies": replies, "event": EVENT_FINISHED}, qid)
            return 200, "ok"
        if kind == s.joined_message_type:
            self.history.add(self.side, "agent_joined", client_id=client_id, author="OPERATOR",
                             text=f"{name} joined", operator=name)
            return 200, "ok"
        if kind not in ("text", *FILE_REPLY):
            self.history.add(self.side, "dropped", client_id=client_id, author="OPERATOR", text=str(kind),
                             reason=f"unknown message.type {kind[:40]!r} from Jivo: not relayed")
            return 200, "ok"
        if kind == "text":
            text = message.get("text")
            if not isinstance(text, str):
                return 400, "message.text is required for message.type \"text\""
            reply = {"type": "text", "text": text}
        else:
            file = message.get("file")
            if not isinstance(file, str) or not file:
                return 400, f"message.file is required for message.type \"{kind}\""
            reply = ({"type": "image", "imageUrl": file, "text": message.get("text") or ""} if kind == "photo"
                     else {"type": "file", "fileUrl": file, "fileName": message.get("file_name") or ""})
            text = file
        if st is None or not st.livechat:
            if not s.relay_outside_livechat:
                self.history.add(self.side, "dropped", client_id=client_id, author="OPERATOR", text=text,
                                 reason="the client is not in a live chat")
                return 200, "ok"
            if st is None:
                st, _ = self._state(client_id)
        st.operator = operator
        qid = uuid_text()
        self._push_event(st, s.operator_event_type, {"replies": [reply], "livechat": True, "operatorInfo": operator},
                         qid)
        st.transcript.append(("OPERATOR", text))
        self.history.add(self.side, "operator_relayed", client_id=client_id, author="OPERATOR", text=text,
                         operator=name, type=kind, livechat=st.livechat)
        self._log(st, qid, replies=[reply], livechat=True, operator=operator, request_livechat=st.livechat)
        return 200, "ok"

    # -- HTTP: Chat API -------------------------------------------------------------------------------
    def _token_ok(self, request) -> bool:
        return request.path_params.get("token") == self.chat_token

    @staticmethod
    def _no_token():
        return error_dto(404, "chatapi.channel.not_found",
                         "no Chat API channel with this token; copy the channel URL from JAICP again")

    async def _read_request(self, request) -> tuple[dict | None, Any]:
        """A Chat API request from a POST body or GET query: (fields, None) or (None, error response);
        the channel token is checked first."""
        if not self._token_ok(request):
            return None, self._no_token()
        s = self.settings()
        if request.method == "GET":
            data: Any = dict(request.query_params)
        else:
            try:
                raw = await read_body(request, s.max_body_bytes)
            except BodyTooLarge:
                return None, error_dto(413, "chatapi.request.too_large", f"body over {s.max_body_bytes} bytes")
            data, problem = parse_json(raw)
            if problem:
                return None, error_dto(400, "chatapi.request.invalid_json", problem)
        if not isinstance(data, dict):
            return None, error_dto(400, "chatapi.request.invalid", "body must be a JSON object")
        client_id = data.get("clientId")
        if isinstance(client_id, int) and not isinstance(client_id, bool):
            client_id = str(client_id)
        if not isinstance(client_id, str) or not client_id.strip():
            return None, error_dto(400, "chatapi.request.client_id", "clientId is required (a non-empty string)")
        query, event = data.get("query"), data.get("event")
        if event is not None and (not isinstance(event, str) or not event.strip()):
            return None, error_dto(400, "chatapi.request.event", "event must be a non-empty string")
        if event is None and not isinstance(query, str):
            return None, error_dto(400, "chatapi.request.query", "either query (text) or event (name) is required")
        extra = data.get("data")
        if extra is not None and not isinstance(extra, dict):
            return None, error_dto(400, "chatapi.request.data", "data must be a JSON object")
        return {"client_id": client_id, "query": None if event is not None else query, "event": event,
                "data": extra}, None

    async def _chat_api(self, request):
        fields, error = await self._read_request(request)
        if error is not None:
            return error
        status, body = await self.turn(fields["client_id"], query=fields["query"], event=fields["event"],
                                       data=fields["data"])
        return json_response(body, status)

    async def _chat_api_async(self, request):
        fields, error = await self._read_request(request)
        if error is not None:
            return error
        qid = uuid_text()
        self.spawn(self._async_turn(fields, qid))
        return json_response({"clientId": fields["client_id"], "questionId": qid, "timestamp": iso(now())})

    async def _async_turn(self, fields: dict, qid: str) -> None:
        status, body = await self.turn(fields["client_id"], query=fields["query"], event=fields["event"],
                                       data=fields["data"], question_id=qid)
        url = self.settings().async_webhook_url.strip()
        st = self.clients[fields["client_id"]]
        if url:
            raw = json_bytes([body])
            await deliver(await self.http(), url, raw, chunked=False, retries=0, wait=0, timeout=10,
                          on_attempt=lambda a, code, why: self.history.add(
                              self.side, "async_webhook", client_id=st.client_id, status=code, url=masked(url)))
        elif status == 200:
            self._push_event(st, "botResponse", {"replies": body["data"]["replies"]}, qid)

    async def _events(self, request):
        if not self._token_ok(request):
            return self._no_token()
        s = self.settings()
        client_id = request.query_params.get("clientId", "")
        if not client_id.strip():
            return error_dto(400, "chatapi.events.client_id", "clientId is required")
        ts_text = request.query_params.get("ts")
        try:
            since = int(ts_text) if ts_text not in (None, "") else None
            wait = float(request.query_params.get("timeout", s.events_timeout))
        except ValueError:
            return error_dto(400, "chatapi.events.ts", "ts must be an integer timestamp (ms) and timeout a number")
        wait = max(0.0, min(wait, s.events_timeout))
        st, _ = self._state(client_id)
        deadline = time.monotonic() + wait
        gone = None
        try:
            while True:
                fresh = [e for e in st.events if since is None or e["event"]["timestamp"] > since]
                left = deadline - time.monotonic()
                if fresh or left <= 0 or self.closing or (gone is not None and gone.done()):
                    return json_response({"events": fresh})
                if gone is None:  # only a poll that waits needs to hear of a hang-up
                    gone = asyncio.ensure_future(_disconnected(request.receive))
                if st.changed is None:
                    st.changed = asyncio.get_running_loop().create_future()
                # a future, not a task per wait: every poll of this client shares it, nobody cancels it
                await asyncio.wait({st.changed, gone}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if gone is not None:
                gone.cancel()

    # -- HTTP: the Internal Webhook Url -------------------------------------------------------------
    async def _webhook(self, request):
        s = self.settings()
        if request.path_params["token"] != self.webhook_token:
            self.history.add(self.side, "rejected", status=404, reason="unknown Internal Webhook Url token")
            return error_dto(404, "chatadapter.channel.not_found",
                             "no operator channel with this webhook token; copy «Internal Webhook Url» again")
        headers = [(k, v) for k, v in request.headers.items()]
        chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
        try:
            raw = await read_body(request, s.max_body_bytes)
        except BodyTooLarge:
            self.history.add(self.side, "rejected", status=413, reason="webhook body too large", chunked=chunked)
            return error_dto(413, "chatadapter.request.too_large", f"body over {s.max_body_bytes} bytes")
        data, problem = parse_json(raw)
        if problem is None and not isinstance(data, dict):
            problem = "body must be a JSON object"
        recipient = (data.get("recipient") or {}) if isinstance(data, dict) else {}
        client_id = str(recipient.get("id")) if isinstance(recipient, dict) and recipient.get("id") else None
        self.history.add(self.side, "webhook_received", client_id=client_id, chunked=chunked, headers=headers,
                         text=f"{'chunked' if chunked else 'Content-Length'} body, {len(raw)} bytes",
                         content_length=request.headers.get("content-length"), body_bytes=len(raw),
                         body=raw.decode("utf-8", "replace"))
        if problem is not None:
            self.history.add(self.side, "rejected", client_id=client_id, status=400, reason=problem)
            return error_dto(400, "chatadapter.request.invalid", problem)
        status, reason = await self.agent_message(data, dict(request.headers))
        if status != 200:
            self.history.add(self.side, "rejected", client_id=client_id, status=status, reason=reason)
            return error_dto(status, "chatadapter.request.invalid", reason)
        return json_response({"status": "ok"})

    # -- HTTP: Reporter API -------------------------------------------------------------------------
    def _reporter_auth(self, request):
        """Every Reporter endpoint's one auth rule: the token in the path (``/api/reporter/p/{token}/…``,
        the older form) or a Bearer header (``/api/v1/reporter/…``)."""
        if "token" in request.path_params:
            if request.path_params["token"] != self.reporter_token:
                return error_dto(401, "reporter.auth.invalid", "the token in the path is not valid for this project")
            return None
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return error_dto(401, "reporter.auth.missing", "Authorization: Bearer <token> is required")
        if token.strip() != self.reporter_token:
            return error_dto(401, "reporter.auth.invalid", "the Bearer token is not valid for this project")
        return None

    def _paged_response(self, request, rows: list, body: Callable[[list], dict]):
        """The page of `rows` that ?page=&size= ask for, answered as ``{"paging": …, **body(page_rows)}``;
        a bad page or size is a 400."""
        try:
            page = int(request.query_params.get("page", 0))
            size = int(request.query_params.get("size", 20))
        except ValueError:
            return error_dto(400, "reporter.paging.invalid", "page and size must be integers")
        if page < 0 or size < 1 or size > self.settings().reporter_page_max:
            return error_dto(400, "reporter.paging.invalid",
                             f"page ≥ 0 and 1 ≤ size ≤ {self.settings().reporter_page_max}")
        chunk = rows[page * size:(page + 1) * size]
        return json_response({"paging": {"pageNum": page, "pageSize": size, "totalCount": len(rows)}, **body(chunk)})

    @staticmethod
    def _parse_time(value: str | None, name: str) -> datetime | None:
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            raise ValueError(f"{name} must be an ISO 8601 date-time string")
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{name} must be an ISO 8601 date-time, e.g. 2026-11-25T10:00:00Z") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed

    @staticmethod
    def _row_time(row: dict) -> datetime:
        return datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00"))

    def _sessions(self) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for st in self.clients.values():
            out[st.session_id] = {
                "sessionId": st.session_id, "projectShortName": self.project, "channelType": "CHAT_API",
                "botId": self.bot_id, "client": {"id": st.client_id, "firstName": None, "lastName": None,
                                                 "username": None},
                "startTime": reporter_time(st.session_started), "isLivechat": st.was_livechat,
                "firstQuestion": st.first_question, "lastQuestion": st.last_question,
                "questionCount": st.questions,
                "duration": int((now() - st.session_started).total_seconds() * 1000)}
        return out

    def _extended(self, row: dict, sessions: dict[str, dict]) -> dict:
        session = sessions.get(row["sessionId"], {})
        return {**row, "projectShortName": self.project, "client": session.get("client"),
                "sessionStartTime": session.get("startTime")}

    async def _by_client(self, request):
        if (denied := self._reporter_auth(request)) is not None:
            return denied
        q = request.query_params
        client_id = q.get("clientId", "")
        if not client_id:
            return error_dto(400, "reporter.request.client_id", "clientId is required")
        bot_id = q.get("botId")
        if not bot_id:  # required by reporter-api.yml
            return error_dto(400, "reporter.request.bot_id", "botId is required")
        if bot_id != self.bot_id:
            return error_dto(404, "reporter.bot.not_found", f"no bot {bot_id!r} in this project")
        try:
            start, end = self._parse_time(q.get("startTime"), "startTime"), self._parse_time(q.get("endTime"), "endTime")
        except ValueError as exc:
            return error_dto(400, "reporter.request.time", str(exc))
        sort = q.get("sort", "asc")
        if sort not in ("asc", "desc"):
            return error_dto(400, "reporter.request.sort", "sort must be asc or desc")
        rows = [r for r in self.history.messages if r["clientId"] == client_id
                and (start is None or self._row_time(r) >= start) and (end is None or self._row_time(r) <= end)]
        if sort == "desc":
            rows.reverse()
        return self._paged_response(request, rows, lambda chunk: {"client": {"id": client_id}, "messages": chunk})

    async def _by_session(self, request):
        if (denied := self._reporter_auth(request)) is not None:
            return denied
        session_id = request.query_params.get("sessionId", "")
        if not session_id:
            return error_dto(400, "reporter.request.session_id", "sessionId is required")
        sessions = self._sessions()
        if session_id not in sessions:
            return error_dto(404, "reporter.session.not_found", "no session with this id")
        rows = [r for r in self.history.messages if r["sessionId"] == session_id]
        return self._paged_response(request, rows, lambda chunk: {"session": sessions[session_id], "messages": chunk})

    async def _filters(self, request) -> tuple[list[dict] | None, Any]:
        """The `filters` of an authorised filter request, or the refusal to answer with."""
        if (denied := self._reporter_auth(request)) is not None:
            return None, denied
        try:
            raw = await read_body(request, self.settings().max_body_bytes)
        except BodyTooLarge:
            return None, error_dto(413, "reporter.request.too_large", "body too large")
        if not raw.strip():
            return [], None
        data, problem = parse_json(raw)
        if problem:
            return None, error_dto(400, "reporter.request.invalid_json", problem)
        if not isinstance(data, dict) or not isinstance(data.get("filters", []), list):
            return None, error_dto(400, "reporter.request.filters", 'body must be {"filters": [...]}')
        filters = data.get("filters", [])
        for f in filters:
            if not isinstance(f, dict) or not isinstance(f.get("key"), str):
                return None, error_dto(400, "reporter.request.filters", "each filter needs a string key")
            if f["key"] not in SUPPORTED_FILTERS:
                return None, error_dto(400, "reporter.filter.unsupported",
                                       f"unsupported filter key {f['key'][:40]!r}; the sandbox knows: "
                                       + ", ".join(sorted(SUPPORTED_FILTERS)), key=f["key"][:40])
        return filters, None

    def _match(self, filters: list[dict], *, when: datetime, session: dict, row: dict | None) -> bool:
        try:
            return self._match_all(filters, when=when, session=session, row=row)
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"malformed filter: {exc}") from None

    def _match_all(self, filters: list[dict], *, when: datetime, session: dict, row: dict | None) -> bool:
        for f in filters:
            key = f["key"]
            if key in ("MESSAGE_TIME", "SESSION_START_TIME", "DATE_TIME_RANGE"):
                start = self._parse_time(f.get("from"), "from")
                end = self._parse_time(f.get("to"), "to")
                moment = when if key != "SESSION_START_TIME" else self._row_time({"timestamp": session["startTime"]})
                if (start and moment < start) or (end and moment > end):
                    return False
            elif key in ("TRANSFER_TO_OPERATOR", "IS_LIVECHAT"):
                wanted = _yes(f)
                flag = session.get("isLivechat", False) if row is None or key == "TRANSFER_TO_OPERATOR" \
                    else row.get("isLivechat", False)
                if wanted is not None and flag != wanted:
                    return False
            elif key == "CLIENT_ID":
                values = f.get("values") or ([f["value"]] if "value" in f else [])
                if session.get("client", {}).get("id") not in values:
                    return False
        return True

    async def _messages_filter(self, request):
        filters, refusal = await self._filters(request)
        if refusal is not None:
            return refusal
        sessions = self._sessions()
        try:
            rows = [self._extended(r, sessions) for r in self.history.messages
                    if self._match(filters, when=self._row_time(r), session=sessions.get(r["sessionId"], {}), row=r)]
        except ValueError as exc:
            return error_dto(400, "reporter.filter.invalid", str(exc))
        return self._paged_response(request, rows, lambda chunk: {"messages": chunk})

    async def _sessions_filter(self, request):
        filters, refusal = await self._filters(request)
        if refusal is not None:
            return refusal
        try:
            rows = [s for s in self._sessions().values()
                    if self._match(filters, when=self._row_time({"timestamp": s["startTime"]}), session=s, row=None)]
        except ValueError as exc:
            return error_dto(400, "reporter.filter.invalid", str(exc))
        return self._paged_response(request, rows, lambda chunk: {"sessions": chunk, "filterSetId": None})

    async def _switched_sessions(self, request):
        """Sessions whose bot emitted a switch, per day (``transferToOperatorMethod=SWITCH``)."""
        if (denied := self._reporter_auth(request)) is not None:
            return denied
        q = request.query_params
        method = q.get("transferToOperatorMethod", "")
        if method not in ("SWITCH", "TEXT"):
            return error_dto(400, "reporter.request.method", "transferToOperatorMethod is required: SWITCH or TEXT")
        try:
            first = date.fromisoformat(q["dateFrom"]) if q.get("dateFrom") else None
            last = date.fromisoformat(q["dateTo"]) if q.get("dateTo") else None
        except ValueError:
            return error_dto(400, "reporter.request.date", "dateFrom and dateTo must be dates like 2026-11-25")
        per_day: dict[date, int] = {}
        if method == "SWITCH":
            for st in list(self.clients.values()):
                if st.switches:
                    day = st.switches[0].date()
                    if (first is None or day >= first) and (last is None or day <= last):
                        per_day[day] = per_day.get(day, 0) + 1
        # TimestampToValue: `ts` is an int64, the day's start in epoch milliseconds (UTC)
        stats = [{"ts": int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000),
                  "value": n} for day, n in sorted(per_day.items())]
        return json_response({"stats": stats, "totalCount": sum(per_day.values())})

    # -- admin (the JAICP console's forms) ---------------------------------------------------------
    def _admin_error(self, status: int, code: str, message: str):
        return error_dto(status, code, message)

    async def _admin_state(self, request):
        return json_response({"operatorChannel": self.operator_channel_state(), "inboundChannel": self.inbound_state(),
                              "reporter": {"url": self.reporter_url, "token": self.reporter_token,
                                           "botId": self.bot_id},
                              "switch": dict(self.settings().switch_fields),
                              "clients": {cid: {"livechat": st.livechat, "sessionId": st.session_id,
                                                "events": len(st.events)} for cid, st in self.clients.items()}})

    async def _admin_operator_channel(self, request):
        data, error = await self._admin_body(request)
        if error:
            return error
        try:
            if "name" in data:
                self.create_operator_channel(data["name"])
            if "externalApiEndpoint" in data:
                if not isinstance(data["externalApiEndpoint"], str):
                    raise ValueError("externalApiEndpoint must be a string")
                self.set_external_api_endpoint(data["externalApiEndpoint"])
        except ValueError as exc:
            return error_dto(400, "admin.operator_channel.invalid", str(exc))
        return json_response(self.operator_channel_state())

    async def _admin_inbound(self, request):
        data, error = await self._admin_body(request)
        if error:
            return error
        operator = data.get("operator", "")
        if operator is not None and not isinstance(operator, str):
            return error_dto(400, "admin.inbound.invalid", "operator must be the operator channel's name or empty")
        return json_response(self.link_inbound(operator))

    async def _admin_scenario(self, request):
        data, error = await self._admin_body(request)
        if error:
            return error
        switch = data.get("switch")
        if not isinstance(switch, dict):
            return error_dto(400, "admin.scenario.invalid", 'expected {"switch": {...fields}}')
        if self.apply_settings is None:
            return error_dto(405, "admin.scenario.read_only", "settings are read-only here")
        self.apply_settings({"switch_fields": switch})
        return json_response({"switch": dict(self.settings().switch_fields)})

    def fast_routes(self) -> dict:
        """The paths every transfer takes (`FastRoutes`): the Chat API, its /events, the Internal Webhook Url."""
        token = {"token": self.chat_token}
        return {("POST", f"/chatapi/{self.chat_token}"): (self._chat_api, token),
                ("GET", f"/chatapi/{self.chat_token}/events"): (self._events, token),
                ("POST", WEBHOOK_PREFIX + self.webhook_token): (self._webhook, {"token": self.webhook_token})}

    def app(self):
        from starlette.routing import Route

        routes = [
            Route("/chatapi/{token}", self._chat_api, methods=["GET", "POST"]),
            Route("/chatadapter/chatapi/{token}", self._chat_api, methods=["POST"]),
            Route("/chatapi/{token}/async", self._chat_api_async, methods=["POST"]),
            Route("/chatapi/{token}/events", self._events, methods=["GET"]),
            Route(WEBHOOK_PREFIX + "{token}", self._webhook, methods=["POST"]),
            # the Reporter at both roots: Bearer (/api/v1/reporter) and the older token in the path
            *[Route(root + path, handler, methods=[method])
              for root in ("/api/v1/reporter", "/api/reporter/p/{token}")
              for path, handler, method in (("/messages/by-client", self._by_client, "GET"),
                                            ("/messages/by-session", self._by_session, "GET"),
                                            ("/messages/filter", self._messages_filter, "POST"),
                                            ("/sessions/filter", self._sessions_filter, "POST"),
                                            ("/stats/switched-sessions", self._switched_sessions, "GET"))],
            Route("/admin/state", self._admin_state, methods=["GET"]),
            Route("/admin/operator-channel", self._admin_operator_channel, methods=["POST"]),
            Route("/admin/inbound-channel", self._admin_inbound, methods=["POST"]),
            Route("/admin/scenario", self._admin_scenario, methods=["POST"]),
            Route("/admin/settings", self._admin_settings, methods=["POST"]),
        ]

        def rates(path: str) -> tuple[float, float, float]:
            s = self.settings()
            if path.startswith(WEBHOOK_PREFIX):
                return (s.jaicp_latency, min(1.0, s.jaicp_error_rate + s.webhook_error_rate),
                        min(1.0, s.jaicp_drop_rate + s.webhook_drop_rate))
            return s.jaicp_latency, s.jaicp_error_rate, s.jaicp_drop_rate

        return self._asgi(routes, rates, self.fast_routes, lambda: (self.chat_token, self.webhook_token))


def _wake(st: ClientState) -> None:
    """Wake the long polls waiting on `st` (its next wait gets a new future)."""
    changed, st.changed = st.changed, None
    if changed is not None and not changed.done():
        changed.set_result(None)


async def _disconnected(receive) -> None:
    """Return once the client has hung up (a long poll it gave up on need not be kept)."""
    while (await receive())["type"] != "http.disconnect":
        pass


SUPPORTED_FILTERS = frozenset({"MESSAGE_TIME", "SESSION_START_TIME", "DATE_TIME_RANGE", "TRANSFER_TO_OPERATOR",
                               "IS_LIVECHAT", "CLIENT_ID"})


def _yes(f: dict) -> bool | None:
    option = f.get("option", f.get("value"))
    if isinstance(option, bool):
        return option
    if isinstance(option, str):
        return {"YES": True, "TRUE": True, "NO": False, "FALSE": False}.get(option.upper())
    return None
