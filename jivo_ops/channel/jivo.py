"""Jivo's Chat API channel («Добавьте чат в свое приложение»): act as the integrator (JAICP's side).

    with JivoClient(profile.jivo.unique_url) as jivo:
        jivo.status()                                      # True: an agent is online
        jivo.send_text("client-1", "Добрый день!", name="Тест тестерович")   # -> the message id

Every message goes out as UTF-8 JSON with raw Cyrillic (no `\\u` escapes) and the header
`Content-Type: application/json; charset=utf-8`, as bytes (a retry resends the same bytes), with
a fresh unique `message.id`. Retries follow Jivo's docs: 5xx, other non-2xx non-4xx codes and
connection errors are resent up to 3 times, `RetryPolicy.wait` seconds apart (3 s by default);
a 4xx is never resent and raises RejectedError carrying Jivo's text/plain reason.

`AgentMessage.from_json` parses what Jivo posts back to the webhook (`recipient.id`,
`message.type/text/file`, `sender` optional), tolerant of unknown keys, strict about the fields
the protocol needs: a missing one raises ProtocolError naming it (e.g. `recipient.id`).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, ClassVar, Mapping

import httpx

from .http import JSON_CONTENT_TYPE, RetryPolicy, asend, check_url, make_async_client, make_client, send
from ..errors import ProtocolError
from ..profile import resolve_profile
from ..redaction import mask_url, register_secret

__all__ = [
    "JivoClient",
    "AsyncJivoClient",
    "ClientMessage",
    "AgentMessage",
    "Sender",
    "Message",
    "MESSAGE_TYPES",
    "FILE_TYPES",
    "new_message_id",
    "encode_json",
]

MESSAGE_TYPES = ("text", "photo", "video", "document")
FILE_TYPES = ("photo", "video", "document")
_SENDER_KEYS = ("id", "name", "photo", "url", "phone", "email", "invite")
_MESSAGE_KEYS = ("type", "id", "text", "file", "file_name")


def new_message_id() -> str:
    """A fresh `message.id`: Jivo does not require uniqueness, but a good client sends it."""
    return uuid.uuid4().hex


def encode_json(value: Any) -> bytes:
    """UTF-8 JSON bytes with Cyrillic as is (Jivo's docs: UTF-8, no need for `\\u` escapes)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _text_or_none(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # ids are sometimes numbers on the wire
    if not isinstance(value, str):
        raise ProtocolError(f"expected a string, got {type(value).__name__}", field=where)
    return value


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProtocolError("missing" if value is None else f"expected an object, got {type(value).__name__}",
                            field=where)
    return value


class _KnownAndExtra:
    """For the wire objects below: the known keys (`_keys`) are fields, anything else stays in a
    read-only `extra` and goes back out after them, so a body round-trips without loss."""

    _keys: ClassVar[tuple[str, ...]]
    extra: Mapping[str, Any]

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self._keys if getattr(self, k) is not None}
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class Sender(_KnownAndExtra):
    """`sender`: the client (in a ClientMessage: `id` required) or the agent (in an AgentMessage:
    everything optional, the agent's fields are a guess). Unknown keys are kept in `extra`."""

    id: str | None = None
    name: str | None = None
    photo: str | None = None
    url: str | None = None
    phone: str | None = None
    email: str | None = None
    invite: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    _keys = _SENDER_KEYS

    @classmethod
    def from_json(cls, data: Any, *, where: str = "sender") -> "Sender":
        data = _object(data, where)
        known = {k: _text_or_none(data.get(k), f"{where}.{k}") for k in _SENDER_KEYS}
        return cls(**known, extra={k: v for k, v in data.items() if k not in _SENDER_KEYS})


@dataclass(frozen=True)
class Message(_KnownAndExtra):
    """`message`: `type` (text/photo/video/document), `id`, and `text` or `file` + `file_name`."""

    type: str
    id: str | None = None
    text: str | None = None
    file: str | None = None
    file_name: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    _keys = _MESSAGE_KEYS

    @classmethod
    def from_json(cls, data: Any, *, where: str = "message", strict_type: bool = False) -> "Message":
        data = _object(data, where)
        kind = data.get("type")
        if not isinstance(kind, str) or not kind:
            raise ProtocolError("missing" if kind is None else f"expected a string, got {kind!r}",
                                field=f"{where}.type")
        known = {k: _text_or_none(data.get(k), f"{where}.{k}") for k in _MESSAGE_KEYS if k != "type"}
        message = cls(type=kind, **known, extra={k: v for k, v in data.items() if k not in _MESSAGE_KEYS})
        message.check(where=where, strict_type=strict_type)
        return message

    def check(self, *, where: str = "message", strict_type: bool = True) -> None:
        """Raise ProtocolError if a text has no text or a file message has no file URL.
        Unknown types pass unless `strict_type` (Jivo may post types nobody documented)."""
        if self.type == "text":
            if self.text is None:
                raise ProtocolError("missing (a text message needs its text)", field=f"{where}.text")
        elif self.type in FILE_TYPES:
            if not self.file:
                raise ProtocolError(f"missing (a {self.type} message needs the file's public URL)",
                                    field=f"{where}.file")
        elif strict_type:
            raise ProtocolError(f"unknown type {self.type!r}; Jivo takes {', '.join(MESSAGE_TYPES)}",
                                field=f"{where}.type")


@dataclass(frozen=True)
class ClientMessage:
    """What the integrator (JAICP) posts to Jivo's unique URL: `{"sender": {...}, "message": {...}}`."""

    sender: Sender
    message: Message

    def __post_init__(self) -> None:
        if not self.sender.id:
            raise ProtocolError("missing (the client's id in your system)", field="sender.id")
        self.message.check(strict_type=True)

    def with_id(self) -> "ClientMessage":
        """This message, or a copy with a fresh `message.id` when it has none (sending always sets one)."""
        if self.message.id:
            return self
        return ClientMessage(self.sender, _replace(self.message, id=new_message_id()))

    @classmethod
    def text(cls, client_id: str, text: str, *, name: str | None = None, message_id: str | None = None,
             **sender: Any) -> "ClientMessage":
        """A text message from client `client_id`; extra keywords (phone, email, invite…) go to `sender`."""
        return cls(_sender(client_id, name, sender), Message(type="text", id=message_id or new_message_id(),
                                                               text=text))

    @classmethod
    def file(cls, client_id: str, kind: str, url: str, file_name: str | None = None, *, name: str | None = None,
             message_id: str | None = None, **sender: Any) -> "ClientMessage":
        """A photo / video / document message: `url` must be public, Jivo fetches it."""
        if kind not in FILE_TYPES:
            raise ProtocolError(f"unknown file kind {kind!r}; use one of {', '.join(FILE_TYPES)}", field="message.type")
        return cls(_sender(client_id, name, sender), Message(type=kind, id=message_id or new_message_id(),
                                                               file=url, file_name=file_name))

    @property
    def id(self) -> str | None:
        return self.message.id

    def to_json(self) -> dict[str, Any]:
        return {"sender": self.sender.to_json(), "message": self.message.to_json()}

    def to_bytes(self) -> bytes:
        return encode_json(self.to_json())

    @classmethod
    def from_json(cls, data: Any) -> "ClientMessage":
        data = _object(_loads(data), "body")
        return cls(Sender.from_json(data.get("sender"), where="sender"),
                   Message.from_json(data.get("message"), where="message", strict_type=True))


@dataclass(frozen=True)
class AgentMessage:
    """What Jivo posts to the webhook (JAICP's Internal Webhook Url) when an agent writes."""

    recipient_id: str
    message: Message
    sender: Sender | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> "AgentMessage":
        """Parse a webhook body (a dict, or the raw bytes/str as received)."""
        data = _object(_loads(data), "body")
        recipient = _object(data.get("recipient"), "recipient")
        recipient_id = _text_or_none(recipient.get("id"), "recipient.id")
        if not recipient_id:
            raise ProtocolError("missing (the client's sender.id this answer is for)", field="recipient.id")
        message = Message.from_json(data.get("message"), where="message")
        sender = None if data.get("sender") is None else Sender.from_json(data["sender"], where="sender")
        return cls(recipient_id=recipient_id, message=message, sender=sender, raw=dict(data))

    @classmethod
    def text_message(cls, recipient_id: str, text: str, *, agent_id: str | None = None,
                     agent_name: str | None = None, message_id: str | None = None) -> "AgentMessage":
        """An agent's text answer to client `recipient_id`, shaped as Jivo posts it."""
        sender = Sender(id=agent_id, name=agent_name) if (agent_id or agent_name) else None
        return cls(recipient_id=recipient_id, sender=sender,
                   message=Message(type="text", id=message_id or new_message_id(), text=text))

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.raw.items() if k not in ("sender", "recipient", "message")}
        if self.sender is not None:
            out["sender"] = self.sender.to_json()
        out["recipient"] = {**(self.raw.get("recipient") or {}), "id": self.recipient_id}
        out["message"] = self.message.to_json()
        return out

    def to_bytes(self) -> bytes:
        return encode_json(self.to_json())

    @property
    def type(self) -> str:
        return self.message.type

    @property
    def text(self) -> str | None:
        return self.message.text

    @property
    def agent_name(self) -> str | None:
        return self.sender.name if self.sender else None


def _loads(data: Any) -> Any:
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"body is not UTF-8 (byte {exc.start})") from None
    if isinstance(data, str):
        if not data.strip():
            raise ProtocolError("body is empty")
        try:
            return json.loads(data)
        except ValueError as exc:
            raise ProtocolError(f"body is not JSON: {exc}") from None
    return data


def _replace(message: Message, **changes: Any) -> Message:
    values = {f.name: getattr(message, f.name) for f in fields(message)}
    values.update(changes)
    return Message(**values)


def _sender(client_id: str, name: str | None, more: Mapping[str, Any]) -> Sender:
    unknown = {k: v for k, v in more.items() if k not in _SENDER_KEYS}
    known = {k: v for k, v in more.items() if k in _SENDER_KEYS and k != "id"}
    return Sender(id=client_id, name=name, **known, extra=unknown)


def _status_value(response: httpx.Response, url: str) -> bool:
    body = response.text.strip()
    if body == "1":
        return True
    if body == "0":
        return False
    shown = body[:40] if body else "(empty body)"
    raise ProtocolError(f"Jivo status {mask_url(url)} answered {shown!r}; expected 1 (agents online) or 0 (none)")


class _JivoBase:
    def __init__(self, unique_url: str, *, retry: RetryPolicy):
        self.unique_url = check_url(unique_url, "Jivo unique URL («Уникальный URL»)").rstrip("/")
        register_secret(self.unique_url)
        self.status_url = f"{self.unique_url}/status"
        self.retry = retry

    def __repr__(self) -> str:
        return f"{type(self).__name__}({mask_url(self.unique_url)!r}, retry={self.retry!r})"

    @staticmethod
    def _headers() -> dict[str, str]:
        return {"Content-Type": JSON_CONTENT_TYPE}


class JivoClient(_JivoBase):
    """Synchronous client of one Jivo Chat API channel (its «Уникальный URL» is the only secret)."""

    def __init__(self, unique_url: str, *, client: httpx.Client | None = None,
                 transport: httpx.BaseTransport | None = None, retry: RetryPolicy = RetryPolicy(),
                 timeout: float = 10.0):
        super().__init__(unique_url, retry=retry)
        self._own = client is None
        self.client = client or make_client(timeout=timeout, transport=transport)

    @classmethod
    def from_profile(cls, profile: Any, **kwargs: Any) -> "JivoClient":
        """A client of the profile's `[jivo] unique_url` («Уникальный URL»)."""
        return cls(resolve_profile(profile).require("jivo.unique_url"), **kwargs)

    def status(self) -> bool:
        """`GET <unique URL>/status`: True when an agent is online."""
        response = send(self.client, "GET", self.status_url, retry=self.retry, what="Jivo status")
        return _status_value(response, self.status_url)

    def send_message(self, message: ClientMessage) -> str:
        """POST one client message (given a fresh `message.id` if it has none); returns the id."""
        message = message.with_id()
        send(self.client, "POST", self.unique_url, content=message.to_bytes(), headers=self._headers(),
             retry=self.retry, what="Jivo client message")
        return message.id or ""

    def send_text(self, client_id: str, text: str, *, name: str | None = None, **sender: Any) -> str:
        return self.send_message(ClientMessage.text(client_id, text, name=name, **sender))

    def send_file(self, client_id: str, kind: str, url: str, file_name: str | None = None, *,
                  name: str | None = None, **sender: Any) -> str:
        return self.send_message(ClientMessage.file(client_id, kind, url, file_name, name=name, **sender))

    def close(self) -> None:
        if self._own:
            self.client.close()

    def __enter__(self) -> "JivoClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AsyncJivoClient(_JivoBase):
    """The async twin of JivoClient."""

    def __init__(self, unique_url: str, *, client: httpx.AsyncClient | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 retry: RetryPolicy = RetryPolicy(), timeout: float = 10.0):
        super().__init__(unique_url, retry=retry)
        self._own = client is None
        self.client = client or make_async_client(timeout=timeout, transport=transport)

    @classmethod
    def from_profile(cls, profile: Any, **kwargs: Any) -> "AsyncJivoClient":
        """A client of the profile's `[jivo] unique_url` («Уникальный URL»)."""
        return cls(resolve_profile(profile).require("jivo.unique_url"), **kwargs)

    async def status(self) -> bool:
        response = await asend(self.client, "GET", self.status_url, retry=self.retry, what="Jivo status")
        return _status_value(response, self.status_url)

    async def send_message(self, message: ClientMessage) -> str:
        message = message.with_id()
        await asend(self.client, "POST", self.unique_url, content=message.to_bytes(), headers=self._headers(),
                    retry=self.retry, what="Jivo client message")
        return message.id or ""

    async def send_text(self, client_id: str, text: str, *, name: str | None = None, **sender: Any) -> str:
        return await self.send_message(ClientMessage.text(client_id, text, name=name, **sender))

    async def send_file(self, client_id: str, kind: str, url: str, file_name: str | None = None, *,
                        name: str | None = None, **sender: Any) -> str:
        return await self.send_message(ClientMessage.file(client_id, kind, url, file_name, name=name, **sender))

    async def aclose(self) -> None:
        if self._own:
            await self.client.aclose()

    close = aclose

    async def __aenter__(self) -> "AsyncJivoClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()
