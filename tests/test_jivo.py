"""JivoClient / AsyncJivoClient and the Jivo message values: the wire format, Jivo's retry rule,
4xx reasons, status, and parsing what Jivo posts back — with MockTransport and a real uvicorn server."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from _helpers import closed_port_url
from _servers import ScriptedServer, scripted_server, srv  # noqa: F401 - fixtures
from jivo_ops.channel.http import RetryPolicy
from jivo_ops.errors import JivoOpsError, ProtocolError, RejectedError, UnavailableError
from jivo_ops.channel.jivo import AgentMessage, AsyncJivoClient, ClientMessage, JivoClient, Message, Sender

KEY, CHANNEL = "Qw3rTy7UiOp9AsDf", "Zx8Cv5Bn2M"
PATH = f"/{KEY}/{CHANNEL}"
UNIQUE_URL = f"https://wh.jivosite.com{PATH}"
FAST = RetryPolicy(retries=3, wait=0.01)
DOCS_AGENT = {"sender": {"id": "agent-7", "name": "Анна"}, "recipient": {"id": "1987654321324234"},
              "message": {"type": "text", "id": "m1", "text": "Здравствуйте, чем помочь?"}}


def _no_token(text: str) -> None:
    assert KEY not in text and CHANNEL not in text, text


class Script:
    """A MockTransport handler answering from a list, counting attempts and keeping the raw requests."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def _next(self, request: httpx.Request):
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        status, text = answer
        return httpx.Response(status, text=text, headers={"Content-Type": "text/plain; charset=utf-8"})

    def __call__(self, request: httpx.Request):
        return self._next(request)

    def client(self) -> JivoClient:
        return JivoClient(UNIQUE_URL, transport=httpx.MockTransport(self), retry=FAST)

    def async_client(self) -> AsyncJivoClient:
        async def handler(request):
            return self._next(request)
        return AsyncJivoClient(UNIQUE_URL, transport=httpx.MockTransport(handler),
                               retry=FAST)


# --- the wire format ------------------------------------------------------------------------------

def test_text_message_is_raw_utf8_json_with_the_exact_content_type_and_a_fresh_id():
    script = Script((200, ""))
    with script.client() as jivo:
        first = jivo.send_text("1987654321324234", "Добрый день!", name="Тест тестерович", phone="+7(958)100-32-91")
        second = jivo.send_text("1987654321324234", "Добрый день!")
    request = script.requests[0]
    assert request.method == "POST" and str(request.url) == UNIQUE_URL
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "Добрый день!".encode("utf-8") in request.content and b"\\u" not in request.content
    assert request.headers["Content-Length"] == str(len(request.content))
    body = json.loads(request.content.decode("utf-8"))
    assert body == {"sender": {"id": "1987654321324234", "name": "Тест тестерович", "phone": "+7(958)100-32-91"},
                    "message": {"type": "text", "id": first, "text": "Добрый день!"}}
    assert first and second and first != second
    assert json.loads(script.requests[1].content)["message"]["id"] == second


def test_file_messages_carry_type_file_and_name():
    script = Script((200, ""))
    with script.client() as jivo:
        jivo.send_file("c1", "photo", "https://example.com/cat.jpg", "cat.jpg")
    assert json.loads(script.requests[0].content)["message"] == {
        "type": "photo", "id": json.loads(script.requests[0].content)["message"]["id"],
        "file": "https://example.com/cat.jpg", "file_name": "cat.jpg"}
    with pytest.raises(ProtocolError, match="message.type"):
        ClientMessage.file("c1", "sticker", "https://example.com/x")
    with pytest.raises(ProtocolError, match="message.file"):
        ClientMessage.file("c1", "video", "")


def test_client_message_needs_a_sender_id_and_round_trips():
    with pytest.raises(ProtocolError) as info:
        ClientMessage.text("", "hi")
    assert info.value.field == "sender.id"
    message = ClientMessage.text("c1", "Привет", name="Иван", invite="Здравствуйте! Это тест", vip=True)
    assert message.to_json()["sender"]["vip"] is True  # unknown sender keys are kept, not dropped
    assert ClientMessage.from_json(message.to_bytes()) == message
    bare = ClientMessage(Sender(id="c1"), Message(type="text", text="x"))
    assert bare.id is None and ClientMessage.from_json(bare.to_json()).id is None  # parsing adds nothing
    script = Script((200, ""))
    with script.client() as jivo:
        sent_id = jivo.send_message(bare)  # sending always gives it an id
    assert sent_id and json.loads(script.requests[0].content)["message"]["id"] == sent_id


def test_agent_message_builder_matches_the_parser():
    built = AgentMessage.text_message("1987654321324234", "Здравствуйте, чем помочь?", agent_id="agent-7",
                                      agent_name="Анна", message_id="m1")
    assert built.to_json() == DOCS_AGENT
    assert AgentMessage.from_json(built.to_bytes()) == built
    assert AgentMessage.text_message("c", "x").to_json()["recipient"] == {"id": "c"}


# --- Jivo's retry rule ------------------------------------------------------------------------------

@pytest.mark.parametrize("answers, attempts", [
    ([(503, "busy"), (200, "")], 2),
    ([(500, "x"), (502, "x"), (200, "")], 3),
    ([(302, ""), (200, "")], 2),          # other non-2xx non-4xx codes are resent too
    ([httpx.ConnectError("refused"), (200, "")], 2),
    ([httpx.ReadTimeout("slow"), (200, "")], 2),
])
def test_retried_failures_then_success(answers, attempts):
    script = Script(*answers)
    with script.client() as jivo:
        message_id = jivo.send_text("c1", "раз")
    assert len(script.requests) == attempts
    assert len({r.content for r in script.requests}) == 1  # the very same bytes each time
    assert json.loads(script.requests[-1].content)["message"]["id"] == message_id


def test_always_failing_is_tried_four_times_then_unavailable():
    script = Script((500, "internal"))
    with script.client() as jivo, pytest.raises(UnavailableError) as info:
        jivo.send_text("c1", "x")
    assert len(script.requests) == 4
    assert info.value.status == 500
    _no_token(str(info.value))


def test_4xx_is_never_resent_and_carries_jivos_reason():
    script = Script((400, "Неизвестный тип сообщения"))
    with script.client() as jivo, pytest.raises(RejectedError) as info:
        jivo.send_text("c1", "x")
    assert len(script.requests) == 1
    assert info.value.status == 400 and info.value.reason == "Неизвестный тип сообщения"
    assert "Неизвестный тип сообщения" in str(info.value)
    _no_token(str(info.value))


def test_retry_wait_is_honoured():
    script = Script((503, ""), (503, ""), (200, ""))
    with JivoClient(UNIQUE_URL, transport=httpx.MockTransport(script),
                    retry=RetryPolicy(retries=3, wait=0.1)) as jivo:
        started = time.monotonic()
        jivo.send_text("c1", "x")
    assert time.monotonic() - started >= 0.2


def test_default_retry_policy_is_the_docs():
    with JivoClient(UNIQUE_URL) as jivo:
        assert jivo.retry == RetryPolicy(retries=3, wait=3.0)


# --- status ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, online", [("1", True), ("0", False), ("1\n", True), (" 0 ", False)])
def test_status_reads_the_bare_integer(body, online):
    script = Script((200, body))
    with script.client() as jivo:
        assert jivo.status() is online
    assert script.requests[0].method == "GET" and str(script.requests[0].url) == UNIQUE_URL + "/status"


@pytest.mark.parametrize("body", ["", "2", "online", "<html>"])
def test_status_with_another_body_is_a_protocol_error(body):
    with Script((200, body)).client() as jivo, pytest.raises(ProtocolError) as info:
        jivo.status()
    _no_token(str(info.value))


def test_status_of_an_unknown_channel_is_rejected():
    script = Script((404, "channel not found"))
    with script.client() as jivo, pytest.raises(RejectedError, match="channel not found"):
        jivo.status()
    assert len(script.requests) == 1


@pytest.mark.parametrize("url", ["", "wh.jivosite.com/abc", "ftp://wh.jivosite.com/a/b", "https:///x"])
def test_bad_unique_urls_are_refused_up_front(url):
    with pytest.raises(JivoOpsError, match="not an http"):
        JivoClient(url)


def test_repr_masks_the_unique_url():
    with JivoClient(UNIQUE_URL) as jivo:
        text = repr(jivo)
    _no_token(text)
    assert "wh.jivosite.com" in text


# --- agent messages (Jivo -> webhook) --------------------------------------------------------------

def test_agent_message_from_the_documented_body():
    message = AgentMessage.from_json(DOCS_AGENT)
    assert message.recipient_id == "1987654321324234"
    assert message.type == "text" and message.text == "Здравствуйте, чем помочь?"
    assert message.agent_name == "Анна"
    assert message.to_json() == DOCS_AGENT


def test_agent_message_raw_utf8_and_escaped_bodies_parse_the_same():
    raw = json.dumps(DOCS_AGENT, ensure_ascii=False).encode("utf-8")
    escaped = json.dumps(DOCS_AGENT, ensure_ascii=True).encode("ascii")
    assert b"\\u" in escaped
    assert AgentMessage.from_json(raw) == AgentMessage.from_json(escaped) == AgentMessage.from_json(DOCS_AGENT)


def test_agent_message_tolerates_unknown_keys_and_no_sender():
    body = {"recipient": {"id": 12345, "extra": 1}, "message": {"type": "photo", "file": "https://x/y.jpg",
                                                               "file_name": "y.jpg", "size": 10},
            "chat_id": "abc", "event": "whatever"}
    message = AgentMessage.from_json(body)
    assert message.recipient_id == "12345" and message.sender is None and message.agent_name is None
    assert message.message.file == "https://x/y.jpg" and dict(message.message.extra) == {"size": 10}
    assert message.to_json()["chat_id"] == "abc"
    # lifecycle events nobody documented are accepted as they are
    assert AgentMessage.from_json({"recipient": {"id": "c"}, "message": {"type": "typing"}}).type == "typing"


@pytest.mark.parametrize("body, field", [
    ({"message": {"type": "text", "text": "x"}}, "recipient"),
    ({"recipient": {}, "message": {"type": "text", "text": "x"}}, "recipient.id"),
    ({"recipient": {"id": ""}, "message": {"type": "text", "text": "x"}}, "recipient.id"),
    ({"recipient": {"id": "c"}}, "message"),
    ({"recipient": {"id": "c"}, "message": {"text": "x"}}, "message.type"),
    ({"recipient": {"id": "c"}, "message": {"type": "text"}}, "message.text"),
    ({"recipient": {"id": "c"}, "message": {"type": "document"}}, "message.file"),
    ({"recipient": {"id": "c"}, "message": {"type": "text", "text": ["x"]}}, "message.text"),
    ({"recipient": "c", "message": {"type": "text", "text": "x"}}, "recipient"),
    ({"recipient": {"id": "c"}, "message": {"type": "text", "text": "x"}, "sender": "agent"}, "sender"),
])
def test_agent_message_missing_fields_are_named(body, field):
    with pytest.raises(ProtocolError) as info:
        AgentMessage.from_json(body)
    assert info.value.field == field
    assert str(info.value).startswith(field + ":")


@pytest.mark.parametrize("raw", [b"", b"not json", b"\xff\xfe{}", b"[1, 2]", b'"text"'])
def test_agent_message_from_unusable_bytes_is_a_protocol_error(raw):
    with pytest.raises(ProtocolError):
        AgentMessage.from_json(raw)


# --- async twin -----------------------------------------------------------------------------------------

@pytest.mark.anyio
async def test_async_client_follows_the_same_rule():
    script = Script((503, ""), (200, "1"))
    async with script.async_client() as jivo:
        assert await jivo.status() is True
    assert len(script.requests) == 2

    script = Script((500, ""))
    async with script.async_client() as jivo:
        with pytest.raises(UnavailableError):
            await jivo.send_text("c1", "x")
    assert len(script.requests) == 4

    script = Script((422, "bad sender"))
    async with script.async_client() as jivo:
        with pytest.raises(RejectedError) as info:
            await jivo.send_file("c1", "document", "https://x/a.pdf", "a.pdf", name="Иван")
    assert len(script.requests) == 1 and info.value.reason == "bad sender"


# --- against a real uvicorn server on 127.0.0.1 ---------------------------------------------------------

def _real(srv: ScriptedServer, cls=JivoClient, **kwargs):
    return cls(srv.url + PATH, retry=kwargs.pop("retry", FAST), **kwargs)


def test_real_server_gets_the_header_and_the_raw_bytes(srv):
    with _real(srv) as jivo:
        message_id = jivo.send_text("1987654321324234", "Добрый день! ёЁ", name="Тест тестерович")
    (request,) = srv.requests
    assert request.path == PATH and not request.chunked
    assert request.header("content-type") == "application/json; charset=utf-8"
    assert request.header("content-length") == str(len(request.body))
    expected = {"sender": {"id": "1987654321324234", "name": "Тест тестерович"},
                "message": {"type": "text", "id": message_id, "text": "Добрый день! ёЁ"}}
    assert request.body == json.dumps(expected, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def test_real_server_retries_5xx_then_succeeds(srv):
    srv.script((503, "busy"), (200, ""))
    with _real(srv) as jivo:
        jivo.send_text("c1", "x")
    assert len(srv.requests) == 2
    assert srv.requests[0].body == srv.requests[1].body


def test_real_server_always_5xx_is_four_attempts(srv):
    srv.reset(default=(500, "boom"))
    with _real(srv) as jivo, pytest.raises(UnavailableError) as info:
        jivo.send_text("c1", "x")
    assert len(srv.requests) == 4
    _no_token(str(info.value))


def test_real_server_4xx_is_one_attempt_with_the_reason(srv):
    srv.script((400, "Не указан sender.id"))
    with _real(srv) as jivo, pytest.raises(RejectedError) as info:
        jivo.send_text("c1", "x")
    assert len(srv.requests) == 1
    assert info.value.reason == "Не указан sender.id"
    _no_token(str(info.value))


def test_real_server_status(srv):
    srv.script((200, "1"), (200, "0"))
    with _real(srv) as jivo:
        assert jivo.status() is True
        assert jivo.status() is False
    assert [r.path for r in srv.requests] == [PATH + "/status"] * 2


def test_connection_refused_is_retried_then_unavailable():
    started = time.monotonic()
    with JivoClient(closed_port_url(PATH), retry=RetryPolicy(retries=3, wait=0.05)) as jivo, \
            pytest.raises(UnavailableError) as info:
        jivo.send_text("c1", "x")
    assert time.monotonic() - started >= 0.15  # three waits: it did resend
    assert "4 attempt(s)" in str(info.value) and "ConnectError" in str(info.value)
    _no_token(str(info.value))


@pytest.mark.anyio
async def test_async_client_against_the_real_server(srv):
    srv.script((502, ""), (200, ""))
    async with _real(srv, AsyncJivoClient) as jivo:
        await jivo.send_text("c1", "Привет")
    assert len(srv.requests) == 2
    assert json.loads(srv.requests[1].body)["message"]["text"] == "Привет"


@pytest.mark.anyio
async def test_async_connection_refused():
    async with AsyncJivoClient(closed_port_url(PATH), retry=FAST) as jivo:
        with pytest.raises(UnavailableError, match="4 attempt"):
            await jivo.status()


def _agent_receiver(recorded, request):
    """The parser side: a webhook that parses what it got with AgentMessage.from_json."""
    from starlette.responses import JSONResponse, PlainTextResponse

    try:
        message = AgentMessage.from_json(recorded.body)
    except ProtocolError as exc:
        return PlainTextResponse(str(exc), status_code=400)
    return JSONResponse({"recipient": message.recipient_id, "text": message.text, "chunked": recorded.chunked})


@pytest.mark.parametrize("chunked", [True, False])
def test_agent_messages_are_read_whole_chunked_or_with_content_length(srv, chunked):
    srv.reset(default=_agent_receiver)
    body = json.dumps({**DOCS_AGENT, "message": {**DOCS_AGENT["message"], "text": "Ответ " * 3000}},
                      ensure_ascii=False).encode("utf-8")
    pieces = [body[i:i + 1000] for i in range(0, len(body), 1000)]  # splits multi-byte letters too
    content = iter(pieces) if chunked else body
    response = httpx.post(srv.url + "/webhook", content=content,
                          headers={"Content-Type": "application/json; charset=utf-8"}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json() == {"recipient": "1987654321324234", "text": "Ответ " * 3000, "chunked": chunked}
    (request,) = srv.requests
    assert request.chunked is chunked
    assert (request.header("content-length") is None) is chunked
    assert request.body == body


def test_receiver_names_the_missing_field(srv):
    srv.reset(default=_agent_receiver)
    response = httpx.post(srv.url + "/webhook", content=iter([b'{"message": {"type": "text", ', b'"text": "x"}}']),
                          timeout=10)
    assert response.status_code == 400 and response.text.startswith("recipient:")


def test_a_wrong_scheme_is_not_resent():
    from jivo_ops.channel.http import send

    waits: list[float] = []
    with httpx.Client() as client, pytest.raises(UnavailableError, match="1 attempt"):
        send(client, "GET", "ftp://wh.jivosite.com" + PATH, retry=FAST, sleep=waits.append)
    assert waits == []


def test_from_profile_uses_the_unique_url_and_names_an_empty_key():
    from jivo_ops.errors import ProfileError
    from jivo_ops.profile import Profile

    profile = Profile().replace(jivo={"unique_url": UNIQUE_URL})
    with JivoClient.from_profile(profile, retry=FAST) as jivo:
        assert jivo.unique_url == UNIQUE_URL and jivo.retry == FAST
    with pytest.raises(ProfileError, match=r"jivo\.unique_url"):
        JivoClient.from_profile(Profile())
