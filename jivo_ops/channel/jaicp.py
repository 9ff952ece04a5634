"""JAICP clients: the Chat API (drive a bot like a client would) and the Reporter API (read its logs).

Chat API (an inbound channel for programs, `https://app.jaicp.com/chatapi/<token>`)::

    with ChatApiClient(profile.jaicp.chat_api_url) as chat:
        answer = chat.send_query("client-1", "позовите оператора")
        answer.texts, answer.switch          # replies are read at body["data"]["replies"]
        batch = chat.poll_events("client-1", timeout=20)   # long poll: the operator's messages
        batch.texts, batch.last_ts

Reporter API (`…/api/v1/reporter` with a Bearer token, or the older `…/api/reporter/p/<token>` with
the token in the path and no header): paged message and session queries returned as the parsed JSON
pages, plus `iter_*` helpers that follow the pages. `messages/by-client` takes the bot's `botId`
(required by the API): the client's `bot_id` (the profile's `[jaicp] bot_id`) unless a call names one.

Both exist sync and async (`AsyncChatApiClient`, `AsyncReporterClient`) with the same methods,
all through the one httpx seam (`jivo_ops.channel.http`). Error bodies of JAICP's shape
`{"error", "message"}` become a RejectedError (4xx) or UnavailableError (5xx) quoting them; a body
that is not the documented JSON is a ProtocolError naming the missing field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping  # isinstance() against typing.Mapping costs three times as much
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Iterator, Sequence

import httpx

from .http import (JSON_CONTENT_TYPE, NO_RETRY, RetryPolicy, asend, check_url, client_timeout, json_bytes,
                   make_async_client, make_client, raise_for_status, send)
from ..errors import ProtocolError, UnavailableError
from ..profile import reporter_path_token, resolve_profile
from ..redaction import mask_secret, mask_url, redact, register_secret
from .switch import SwitchReply, find_switch

__all__ = [
    "ChatApiClient",
    "AsyncChatApiClient",
    "ChatApiRequests",
    "BotResponse",
    "ChatEvent",
    "EventBatch",
    "ReporterClient",
    "AsyncReporterClient",
    "SwitchReply",
    "POLL_GRACE",
    "page_items",
]

# The read timeout of a long poll is the poll's own length plus this margin, so an empty poll
# that the server closes on time is never mistaken for a dead line.
POLL_GRACE = 1.0


# --- wire values ------------------------------------------------------------------------------

def _to_millis(value: Any) -> int | None:
    """Epoch milliseconds from an int, a digit string or an ISO 8601 string (naive = UTC)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return int(moment.timestamp() * 1000)
    return None


def _replies_at(container: Any, where: str) -> tuple[dict, ...]:
    """`container["data"]["replies"]`, checked: a list of JSON objects."""
    if not isinstance(container, Mapping):
        raise ProtocolError("expected a JSON object", field=where or None)
    data = container.get("data")
    prefix = f"{where}." if where else ""
    if not isinstance(data, Mapping):
        raise ProtocolError("missing (the replies live at data.replies)" if data is None
                            else f"expected an object, got {type(data).__name__}", field=f"{prefix}data")
    replies = data.get("replies")
    if replies is None:
        raise ProtocolError("missing", field=f"{prefix}data.replies")
    if not isinstance(replies, list):
        raise ProtocolError(f"expected a list, got {type(replies).__name__}", field=f"{prefix}data.replies")
    for i, reply in enumerate(replies):
        if not isinstance(reply, Mapping):
            raise ProtocolError(f"expected an object, got {type(reply).__name__}",
                                field=f"{prefix}data.replies[{i}]")
    return tuple(dict(r) for r in replies)


class _Replies:
    """What a list of bot replies says: its texts and its switch."""

    replies: tuple[dict, ...]

    @property
    def texts(self) -> list[str]:
        return [r["text"] for r in self.replies if r.get("type") == "text" and isinstance(r.get("text"), str)]

    @property
    def switch(self) -> SwitchReply | None:
        return find_switch(self.replies)

    @property
    def reply_types(self) -> list[str]:
        return [str(r.get("type")) for r in self.replies]


@dataclass(frozen=True, eq=False)
class BotResponse(_Replies):
    """The answer to one Chat API query or event."""

    client_id: str
    question_id: str | None
    timestamp: Any
    replies: tuple[dict, ...]
    raw: dict = field(repr=False)

    @classmethod
    def from_json(cls, body: Any) -> "BotResponse":
        if not isinstance(body, Mapping):
            raise ProtocolError(f"a Chat API response must be a JSON object, got {type(body).__name__}")
        replies = _replies_at(body, "")
        client_id = body.get("clientId")
        if client_id is None:
            raise ProtocolError("missing", field="clientId")
        question_id = body.get("questionId")
        return cls(client_id=str(client_id), question_id=None if question_id is None else str(question_id),
                   timestamp=body.get("timestamp"), replies=replies, raw=dict(body))

    @property
    def data(self) -> dict:
        return self.raw.get("data") or {}

    @property
    def answer(self) -> str | None:
        return self.data.get("answer")

    @property
    def new_session_started(self) -> bool:
        return bool(self.data.get("newSessionStarted"))

    @property
    def end_session(self) -> bool:
        return bool(self.data.get("endSession"))


@dataclass(frozen=True, eq=False)
class ChatEvent(_Replies):
    """One item of `/events`: `{"type": "botResponse", "event": {questionId, timestamp, data: {replies}}}`.
    Events without replies (state changes) have an empty `replies`."""

    type: str
    timestamp: int | None
    replies: tuple[dict, ...]
    raw: dict = field(repr=False)

    @classmethod
    def from_json(cls, item: Any, *, where: str = "events[0]") -> "ChatEvent":
        if not isinstance(item, Mapping):
            raise ProtocolError(f"expected an object, got {type(item).__name__}", field=where)
        kind = item.get("type")
        if not isinstance(kind, str) or not kind:
            raise ProtocolError("missing", field=f"{where}.type")
        event = item.get("event")
        if event is None:
            event = {}
        if not isinstance(event, Mapping):
            raise ProtocolError(f"expected an object, got {type(event).__name__}", field=f"{where}.event")
        replies = _replies_at(event, f"{where}.event") if isinstance(event.get("data"), Mapping) \
            and "replies" in event["data"] else ()
        stamp = event.get("timestamp", item.get("timestamp"))
        return cls(type=kind, timestamp=_to_millis(stamp), replies=replies, raw=dict(item))

    @property
    def question_id(self) -> str | None:
        event = self.raw.get("event")
        return event.get("questionId") if isinstance(event, Mapping) else None


@dataclass(frozen=True, eq=False)
class EventBatch:
    """What one long poll returned. `last_ts` is the newest event's timestamp (epoch ms), or the `ts`
    the poll was made with when nothing newer came: pass it as `ts` to the next poll."""

    events: tuple[ChatEvent, ...]
    last_ts: int | None

    @classmethod
    def from_json(cls, body: Any, *, ts: int | None = None) -> "EventBatch":
        if not isinstance(body, Mapping):
            raise ProtocolError(f"an /events response must be a JSON object, got {type(body).__name__}")
        items = body.get("events")
        if items is None:
            raise ProtocolError("missing", field="events")
        if not isinstance(items, list):
            raise ProtocolError(f"expected a list, got {type(items).__name__}", field="events")
        events = tuple(ChatEvent.from_json(item, where=f"events[{i}]") for i, item in enumerate(items))
        stamps = [e.timestamp for e in events if e.timestamp is not None]
        newest = max(stamps) if stamps else None
        last = max(x for x in (newest, ts) if x is not None) if (newest is not None or ts is not None) else None
        return cls(events=events, last_ts=last)

    @property
    def texts(self) -> list[str]:
        return [text for event in self.events for text in event.texts]

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[ChatEvent]:
        return iter(self.events)


# --- shared request building -----------------------------------------------------------------

# What every Chat API POST sends besides its body, built once.
_POST_HEADERS = {"Content-Type": JSON_CONTENT_TYPE, "Accept": "application/json"}


def _parse_json(response: httpx.Response, what: str) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        snippet = redact(response.text[:80].replace("\n", " ")) if response.content else "(empty body)"
        raise ProtocolError(f"{what}: {mask_url(str(response.request.url))} answered HTTP {response.status_code} "
                            f"with a body that is not JSON: {snippet!r}") from None


def _require_id(value: str, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ProtocolError("must be a non-empty string", field=name)
    return value


class ChatApiRequests:
    """What each Chat API call sends (URL, body, poll parameters) and how its answer is read: shared by
    the httpx clients below and by any driver with an HTTP client of its own (the Locust user)."""

    def __init__(self, url: str, *, timeout: float, retry: RetryPolicy):
        self.url = check_url(url, "Chat API URL").rstrip("/")
        register_secret(self.url)
        self.timeout = timeout
        self.retry = retry
        self.events_url = f"{self.url}/events"

    def query_body(self, client_id: str, text: str, data: Mapping | None) -> bytes:
        if not isinstance(text, str):
            raise ProtocolError(f"expected a string, got {type(text).__name__}", field="query")
        body: dict[str, Any] = {"clientId": _require_id(client_id, "clientId"), "query": text}
        if data is not None:
            body["data"] = dict(data)
        return json_bytes(body)

    def event_body(self, client_id: str, event: str, data: Mapping | None) -> bytes:
        body: dict[str, Any] = {"clientId": _require_id(client_id, "clientId"), "event": _require_id(event, "event")}
        if data is not None:
            body["data"] = dict(data)
        return json_bytes(body)

    def poll_params(self, client_id: str, ts: int | None, timeout: float) -> tuple[dict, httpx.Timeout]:
        params: dict[str, Any] = {"clientId": _require_id(client_id, "clientId")}
        if ts is not None:
            params["ts"] = int(ts)
        # Servers that know `timeout` (the sandbox) hold the poll no longer than we wait; others
        # ignore it, and the read timeout below still bounds the call.
        params["timeout"] = f"{timeout:g}"
        return params, client_timeout(timeout + POLL_GRACE)

    def read_answer(self, response: httpx.Response, what: str) -> Any:
        """The JSON body of an answer received some other way, or the typed error that its status (as
        `send` judges it, no retries) or a body that is not JSON means."""
        if not 200 <= response.status_code < 300:
            raise_for_status(response, what)
        return _parse_json(response, what)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({mask_url(self.url)!r})"


class ChatApiClient(ChatApiRequests):
    """Synchronous JAICP Chat API client. `client` lets tests pass an httpx.Client with a MockTransport."""

    def __init__(self, url: str, *, client: httpx.Client | None = None,
                 transport: httpx.BaseTransport | None = None, timeout: float = 10.0,
                 retry: RetryPolicy = NO_RETRY):
        super().__init__(url, timeout=timeout, retry=retry)
        self._own = client is None
        self.client = client or make_client(timeout=timeout, transport=transport)

    @classmethod
    def from_profile(cls, profile: Any, **kwargs: Any) -> "ChatApiClient":
        """A client of the profile's `[jaicp] chat_api_url`."""
        return cls(resolve_profile(profile).require("jaicp.chat_api_url"), **kwargs)

    def _post(self, body: bytes, what: str) -> BotResponse:
        response = send(self.client, "POST", self.url, content=body, headers=_POST_HEADERS,
                        retry=self.retry, what=what)
        return BotResponse.from_json(_parse_json(response, what))

    def send_query(self, client_id: str, text: str, *, data: Mapping | None = None) -> BotResponse:
        """Send what a client types; the bot's replies come back at once."""
        return self._post(self.query_body(client_id, text, data), "Chat API query")

    def send_event(self, client_id: str, event: str, data: Mapping | None = None) -> BotResponse:
        """Send a named event (e.g. "/start"-like custom events) with optional data."""
        return self._post(self.event_body(client_id, event, data), "Chat API event")

    def poll_events(self, client_id: str, *, ts: int | None = None, timeout: float = 30.0) -> EventBatch:
        """Long-poll `/events` for what reached the client asynchronously (operator messages).
        Waits at most `timeout` (+ a small grace); a poll the server keeps open longer is an empty batch."""
        params, http_timeout = self.poll_params(client_id, ts, timeout)
        try:
            response = send(self.client, "GET", self.events_url, params=params, retry=self.retry,
                            what="Chat API events poll", timeout=http_timeout)
        except UnavailableError as exc:
            if exc.reason != "ReadTimeout":
                raise
            return EventBatch(events=(), last_ts=ts)
        return EventBatch.from_json(_parse_json(response, "Chat API events poll"), ts=ts)

    def close(self) -> None:
        if self._own:
            self.client.close()

    def __enter__(self) -> "ChatApiClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AsyncChatApiClient(ChatApiRequests):
    """The async twin of ChatApiClient."""

    def __init__(self, url: str, *, client: httpx.AsyncClient | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, timeout: float = 10.0,
                 retry: RetryPolicy = NO_RETRY):
        super().__init__(url, timeout=timeout, retry=retry)
        self._own = client is None
        self.client = client or make_async_client(timeout=timeout, transport=transport)

    @classmethod
    def from_profile(cls, profile: Any, **kwargs: Any) -> "AsyncChatApiClient":
        """A client of the profile's `[jaicp] chat_api_url`."""
        return cls(resolve_profile(profile).require("jaicp.chat_api_url"), **kwargs)

    async def _post(self, body: bytes, what: str) -> BotResponse:
        response = await asend(self.client, "POST", self.url, content=body, headers=_POST_HEADERS,
                               retry=self.retry, what=what)
        return BotResponse.from_json(_parse_json(response, what))

    async def send_query(self, client_id: str, text: str, *, data: Mapping | None = None) -> BotResponse:
        return await self._post(self.query_body(client_id, text, data), "Chat API query")

    async def send_event(self, client_id: str, event: str, data: Mapping | None = None) -> BotResponse:
        return await self._post(self.event_body(client_id, event, data), "Chat API event")

    async def poll_events(self, client_id: str, *, ts: int | None = None, timeout: float = 30.0) -> EventBatch:
        params, http_timeout = self.poll_params(client_id, ts, timeout)
        try:
            response = await asend(self.client, "GET", self.events_url, params=params, retry=self.retry,
                                   what="Chat API events poll", timeout=http_timeout)
        except UnavailableError as exc:
            if exc.reason != "ReadTimeout":  # a poll the server held past our wait: nothing came
                raise
            return EventBatch(events=(), last_ts=ts)
        return EventBatch.from_json(_parse_json(response, "Chat API events poll"), ts=ts)

    async def aclose(self) -> None:
        if self._own:
            await self.client.aclose()

    close = aclose

    async def __aenter__(self) -> "AsyncChatApiClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()


# --- Reporter API -------------------------------------------------------------------------------

def _time_param(value: datetime | str | None) -> str | None:
    """ISO 8601 in UTC with "Z", as the Reporter API takes it."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _drop_none(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


_PAGE_ITEM_KEYS = ("messages", "sessions", "content", "items", "data")


def page_items(page: Mapping[str, Any]) -> list:
    """The rows of one Reporter page, whichever key holds them."""
    for key in _PAGE_ITEM_KEYS:
        value = page.get(key)
        if isinstance(value, list):
            return value
    return []


def _has_more(page: Any, page_num: int, size: int) -> bool:
    if not isinstance(page, Mapping):
        raise ProtocolError(f"a Reporter page must be a JSON object, got {type(page).__name__}")
    rows = page_items(page)
    paging = page.get("paging") if isinstance(page.get("paging"), Mapping) else page
    total = paging.get("totalCount")
    if isinstance(total, int) and not isinstance(total, bool):
        return (page_num + 1) * size < total and bool(rows)
    return len(rows) >= size and bool(rows)


def _reporter_settings(profile: Any) -> dict[str, Any]:
    """The constructor arguments of a Reporter client of `profile`: its URL, token and bot id."""
    settings = resolve_profile(profile)
    url, token = settings.require_reporter()
    return {"base_url": url, "token": token, "bot_id": settings.jaicp.bot_id.strip() or None}


class _ReporterBase:
    def __init__(self, base_url: str, token: str | None, *, bot_id: str | None, max_pages: int):
        self.base_url = check_url(base_url, "Reporter URL").rstrip("/")
        register_secret(self.base_url)
        self.headers = {"Accept": "application/json"}
        path_token = reporter_path_token(self.base_url)
        if path_token:  # the older form: the URL is the credential, no header
            self.token = path_token
        elif not isinstance(token, str) or not token.strip():
            raise ProtocolError("the Reporter API needs a token (profile [jaicp] reporter_token or "
                                "env JIVO_OPS_REPORTER_TOKEN), or a reporter_url of the form "
                                "…/api/reporter/p/<token>", field="reporter_token")
        else:
            self.token = token.strip()
            self.headers["Authorization"] = f"Bearer {self.token}"
        register_secret(self.token)
        self.bot_id = bot_id.strip() if isinstance(bot_id, str) and bot_id.strip() else None
        self.max_pages = max_pages

    def _by_client(self, client_id: str, bot_id: str | None, page: int, size: int,
                   start_time: datetime | str | None, end_time: datetime | str | None, sort: str | None):
        params = _drop_none({"botId": bot_id or self.bot_id, "clientId": _require_id(client_id, "clientId"),
                             "page": page, "size": size, "startTime": _time_param(start_time),
                             "endTime": _time_param(end_time), "sort": sort})
        return "GET", f"{self.base_url}/messages/by-client", params, None

    def _by_session(self, session_id: str, page: int, size: int):
        params = {"sessionId": _require_id(session_id, "sessionId"), "page": page, "size": size}
        return "GET", f"{self.base_url}/messages/by-session", params, None

    def _filter(self, what: str, filters: Sequence[Mapping[str, Any]], page: int, size: int):
        if isinstance(filters, Mapping):  # accept the whole {"filters": [...]} body too
            filters = filters.get("filters", [])
        body = json_bytes({"filters": [dict(f) for f in filters]})
        return "POST", f"{self.base_url}/{what}/filter", {"page": page, "size": size}, body

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({mask_url(self.base_url)!r}, token={mask_secret(self.token)!r}, "
                f"bot_id={self.bot_id!r})")


class ReporterClient(_ReporterBase):
    """JAICP Reporter API (message logs), synchronous. Every method returns the parsed JSON page."""

    def __init__(self, base_url: str, token: str | None = None, *, bot_id: str | None = None,
                 client: httpx.Client | None = None, transport: httpx.BaseTransport | None = None,
                 timeout: float = 30.0, max_pages: int = 10_000):
        super().__init__(base_url, token, bot_id=bot_id, max_pages=max_pages)
        self._own = client is None
        self.client = client or make_client(timeout=timeout, transport=transport)

    @classmethod
    def from_profile(cls, profile: Any, **kwargs: Any) -> "ReporterClient":
        """A client of the profile's `[jaicp] reporter_url` with its `reporter_token` (none for a URL
        that carries its token) and `bot_id`."""
        return cls(**{**_reporter_settings(profile), **kwargs})

    def _call(self, method: str, url: str, params: dict, body: bytes | None) -> dict:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = JSON_CONTENT_TYPE
        response = send(self.client, method, url, params=params, content=body, headers=headers,
                        what="Reporter API request")
        page = _parse_json(response, "Reporter API request")
        if not isinstance(page, dict):
            raise ProtocolError(f"Reporter API: expected a JSON object, got {type(page).__name__}")
        return page

    def messages_by_client(self, client_id: str, *, bot_id: str | None = None, page: int = 0, size: int = 100,
                           start_time: datetime | str | None = None, end_time: datetime | str | None = None,
                           sort: str | None = None) -> dict:
        return self._call(*self._by_client(client_id, bot_id, page, size, start_time, end_time, sort))

    def messages_by_session(self, session_id: str, *, page: int = 0, size: int = 100) -> dict:
        return self._call(*self._by_session(session_id, page, size))

    def messages_filter(self, filters: Sequence[Mapping[str, Any]], *, page: int = 0, size: int = 100) -> dict:
        return self._call(*self._filter("messages", filters, page, size))

    def sessions_filter(self, filters: Sequence[Mapping[str, Any]], *, page: int = 0, size: int = 100) -> dict:
        return self._call(*self._filter("sessions", filters, page, size))

    def _pages(self, fetch, size: int) -> Iterator[dict]:
        for number in range(self.max_pages):
            page = fetch(number)
            yield page
            if not _has_more(page, number, size):
                return

    def iter_messages_by_client(self, client_id: str, *, size: int = 100, **kwargs: Any) -> Iterator[dict]:
        return self._pages(lambda n: self.messages_by_client(client_id, page=n, size=size, **kwargs), size)

    def iter_messages_by_session(self, session_id: str, *, size: int = 100) -> Iterator[dict]:
        return self._pages(lambda n: self.messages_by_session(session_id, page=n, size=size), size)

    def iter_messages_filter(self, filters: Sequence[Mapping[str, Any]], *, size: int = 100) -> Iterator[dict]:
        return self._pages(lambda n: self.messages_filter(filters, page=n, size=size), size)

    def iter_sessions_filter(self, filters: Sequence[Mapping[str, Any]], *, size: int = 100) -> Iterator[dict]:
        return self._pages(lambda n: self.sessions_filter(filters, page=n, size=size), size)

    def close(self) -> None:
        if self._own:
            self.client.close()

    def __enter__(self) -> "ReporterClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AsyncReporterClient(_ReporterBase):
    """The async twin of ReporterClient."""

    def __init__(self, base_url: str, token: str | None = None, *, bot_id: str | None = None,
                 client: httpx.AsyncClient | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 timeout: float = 30.0, max_pages: int = 10_000):
        super().__init__(base_url, token, bot_id=bot_id, max_pages=max_pages)
        self._own = client is None
        self.client = client or make_async_client(timeout=timeout, transport=transport)

    @classmethod
    def from_profile(cls, profile: Any, **kwargs: Any) -> "AsyncReporterClient":
        """A client of the profile's `[jaicp] reporter_url`, `reporter_token` and `bot_id`, as ReporterClient's."""
        return cls(**{**_reporter_settings(profile), **kwargs})

    async def _call(self, method: str, url: str, params: dict, body: bytes | None) -> dict:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = JSON_CONTENT_TYPE
        response = await asend(self.client, method, url, params=params, content=body, headers=headers,
                               what="Reporter API request")
        page = _parse_json(response, "Reporter API request")
        if not isinstance(page, dict):
            raise ProtocolError(f"Reporter API: expected a JSON object, got {type(page).__name__}")
        return page

    async def messages_by_client(self, client_id: str, *, bot_id: str | None = None, page: int = 0,
                                 size: int = 100, start_time: datetime | str | None = None,
                                 end_time: datetime | str | None = None, sort: str | None = None) -> dict:
        return await self._call(*self._by_client(client_id, bot_id, page, size, start_time, end_time, sort))

    async def messages_by_session(self, session_id: str, *, page: int = 0, size: int = 100) -> dict:
        return await self._call(*self._by_session(session_id, page, size))

    async def messages_filter(self, filters: Sequence[Mapping[str, Any]], *, page: int = 0,
                              size: int = 100) -> dict:
        return await self._call(*self._filter("messages", filters, page, size))

    async def sessions_filter(self, filters: Sequence[Mapping[str, Any]], *, page: int = 0,
                              size: int = 100) -> dict:
        return await self._call(*self._filter("sessions", filters, page, size))

    async def _pages(self, fetch, size: int) -> AsyncIterator[dict]:
        for number in range(self.max_pages):
            page = await fetch(number)
            yield page
            if not _has_more(page, number, size):
                return

    def iter_messages_by_client(self, client_id: str, *, size: int = 100, **kwargs: Any) -> AsyncIterator[dict]:
        return self._pages(lambda n: self.messages_by_client(client_id, page=n, size=size, **kwargs), size)

    def iter_messages_by_session(self, session_id: str, *, size: int = 100) -> AsyncIterator[dict]:
        return self._pages(lambda n: self.messages_by_session(session_id, page=n, size=size), size)

    def iter_messages_filter(self, filters: Sequence[Mapping[str, Any]], *, size: int = 100) -> AsyncIterator[dict]:
        return self._pages(lambda n: self.messages_filter(filters, page=n, size=size), size)

    def iter_sessions_filter(self, filters: Sequence[Mapping[str, Any]], *, size: int = 100) -> AsyncIterator[dict]:
        return self._pages(lambda n: self.sessions_filter(filters, page=n, size=size), size)

    async def aclose(self) -> None:
        if self._own:
            await self.client.aclose()

    close = aclose

    async def __aenter__(self) -> "AsyncReporterClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()
