"""The runner's HTTP transport (`jivo_ops.channel.http.AiohttpTransport`, issue 17 §3) keeps httpx's
behaviour: the same answers, framing, cookies and typed errors, over real sockets on loopback."""

from __future__ import annotations

import asyncio
import gc
import gzip
import socket

import httpx
import pytest

from jivo_ops.channel.http import NO_RETRY, AiohttpTransport, RetryPolicy, asend, make_async_client
from jivo_ops.channel.httptools_transport import HttptoolsTransport
from jivo_ops.channel.jaicp import AsyncChatApiClient
from jivo_ops.errors import RejectedError, UnavailableError
from jivo_ops.transfer.settings import TransferSettings

pytestmark = pytest.mark.anyio
TOKEN = "tok12345:" + "a" * 40


class Scripted:
    """A raw server whose `handle(reader, writer, number)` is the test's own: `number` counts connections."""

    def __init__(self, handle):
        self.handle, self.connections = handle, 0

    async def __aenter__(self) -> str:
        async def serve(reader, writer):
            self.connections += 1
            try:
                await self.handle(reader, writer, self.connections)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc) -> None:
        self.server.close()


class Canned(Scripted):
    """A raw HTTP/1.1 server on loopback: answers each request with the next of `answers` (forever the
    last), or never (`None`); keeps what it received."""

    def __init__(self, *answers: bytes | None):
        super().__init__(self.exchange)
        self.answers, self.received = list(answers), []

    async def exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        while head := await reader.readuntil(b"\r\n\r\n"):
            headers = {k.strip().lower(): v.strip() for k, v in
                       (line.split(":", 1) for line in head.decode("latin-1").split("\r\n")[1:] if ":" in line)}
            if headers.get("transfer-encoding") == "chunked":
                body = b""
                while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                    body += (await reader.readexactly(size + 2))[:-2]
                await reader.readuntil(b"\r\n")
            else:
                body = await reader.readexactly(int(headers.get("content-length", 0)))
            self.received.append((head.split(b"\r\n", 1)[0].decode(), headers, body))
            answer = self.answers[min(len(self.received), len(self.answers)) - 1]
            if answer is None:
                await asyncio.sleep(30)
            writer.write(answer)
            await writer.drain()


def answer(status: str, body: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return f"HTTP/1.1 {status}\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


@pytest.fixture(params=[(False, AiohttpTransport), (True, AiohttpTransport), (False, HttptoolsTransport),
                        (True, HttptoolsTransport)],
                ids=["httpx-client", "plain-client", "httpx-client-httptools", "plain-client-httptools"])
def client(request):
    """A client on a transport: httpx's own per-request pipeline, or the runner's plain one (issue 17 §3)."""
    plain, transport = request.param
    return lambda timeout=5.0: make_async_client(timeout=timeout, transport=transport(), plain=plain)


async def test_answers_gzip_cookies_and_a_chunked_body_go_through_as_with_httpx(client):
    zipped = gzip.compress("привет".encode())
    server = Canned(answer("200 OK", zipped, "Content-Encoding: gzip", "Set-Cookie: lb=one; Path=/"),
                    answer("200 OK", b"{}"))
    async with server as origin:
        async with client() as http:
            response = await asend(http, "POST", origin + "/chatapi/x", content=b"a" * 1000, chunked=True)
            await asend(http, "GET", origin + "/chatapi/x/events", params={"clientId": "c 1"})
    assert response.status_code == 200 and response.text == "привет" and response.reason_phrase == "OK"
    (line, headers, body), (second_line, second_headers, _) = server.received
    assert line == "POST /chatapi/x HTTP/1.1" and body == b"a" * 1000  # reassembled from chunks
    assert headers["transfer-encoding"] == "chunked" and headers["user-agent"].startswith("jivo-ops/")
    assert second_line == "GET /chatapi/x/events?clientId=c+1 HTTP/1.1"
    assert second_headers["cookie"] == "lb=one"  # httpx's cookie jar still keeps what a server sets


async def test_5xx_is_retried_and_4xx_is_a_rejected_error_quoting_the_service(client):
    server = Canned(answer("503 Service Unavailable", b"busy"), answer("200 OK", b"{}"))
    async with server as origin:
        async with client() as http:
            response = await asend(http, "GET", origin + "/a", retry=RetryPolicy(retries=2, wait=0.0))
    assert response.status_code == 200 and len(server.received) == 2
    async with Canned(answer("401 Unauthorized", b'{"error": "bad token", "message": "no"}')) as origin:
        async with client() as http:
            with pytest.raises(RejectedError, match="HTTP 401: bad token: no"):
                await asend(http, "GET", origin + "/a", what="Chat API query")


async def test_a_refused_connection_is_a_connect_error_after_every_attempt(client):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    async with client() as http:
        with pytest.raises(UnavailableError, match=r"after 2 attempt\(s\): ConnectError") as caught:
            await asend(http, "GET", f"http://127.0.0.1:{port}/chatapi/{TOKEN}", retry=RetryPolicy(1, 0.0))
    assert caught.value.reason == "ConnectError" and TOKEN not in str(caught.value)


async def test_a_silent_server_is_a_read_timeout_and_an_unanswered_poll_is_an_empty_batch():
    async with Canned(None) as origin:
        async with make_async_client(timeout=0.3, transport=AiohttpTransport()) as http:
            with pytest.raises(UnavailableError) as caught:
                await asend(http, "GET", origin + "/a", retry=NO_RETRY)
            assert caught.value.reason == "ReadTimeout"
            chat = AsyncChatApiClient(f"{origin}/chatapi/{TOKEN}", client=http, timeout=0.3)
            batch = await chat.poll_events("client-1", ts=5, timeout=0.1)
    assert batch.events == () and batch.last_ts == 5


async def test_the_plain_client_keeps_a_requests_own_timeout_and_refuses_to_go_without_a_transport():
    async with Canned(None) as origin:
        async with make_async_client(timeout=30.0, transport=AiohttpTransport(), plain=True) as http:
            with pytest.raises(UnavailableError) as caught:
                await asend(http, "GET", origin + "/a", timeout=0.2)  # a long poll's own, over the client's
    assert caught.value.reason == "ReadTimeout"
    with pytest.raises(ValueError, match="transport="):
        make_async_client(plain=True)


@pytest.mark.parametrize("transport", [AiohttpTransport, HttptoolsTransport])
async def test_the_plain_client_takes_httpxs_path_for_a_redirect_or_a_hook_it_is_asked_for(transport):
    server = Canned(answer("302 Found", b"", "Location: /b"), answer("200 OK", b"one"), answer("200 OK", b"two"))
    heard = []

    async def hear(response):
        heard.append(response.status_code)

    async with server as origin:
        async with make_async_client(transport=transport(), plain=True) as http:
            followed = await http.get(origin + "/a", follow_redirects=True)
            http.event_hooks["response"].append(hear)
            hooked = await http.get(origin + "/c")
    assert (followed.text, followed.history[0].status_code, hooked.text, heard) == ("one", 302, "two", [200])


def test_a_transfer_may_take_its_whole_step_to_connect():
    assert TransferSettings(step_timeout=12.0).connect_timeout == 12.0


def test_only_aiohttps_body_writer_meeting_a_closed_connection_is_kept_quiet(caplog):
    """A Ctrl-C'd sandbox closes connections just after a streamed body: aiohttp's writer task then fails
    with nobody to read it. That one is not printed; any other unread task error still is."""
    import aiohttp

    async def main() -> None:
        async def write_bytes():
            raise aiohttp.ClientConnectionResetError("Cannot write to closing transport")

        async def other():
            raise ValueError("kept")

        write_bytes.__qualname__ = "ClientRequest.write_bytes"  # the name aiohttp's writer task runs
        async with Canned(answer("200 OK", b"{}")) as origin:
            async with make_async_client(transport=AiohttpTransport()) as http:
                await http.get(origin + "/a")  # the transport's first request readies the loop
        for coro in (write_bytes, other):
            task = asyncio.ensure_future(coro())
            await asyncio.sleep(0)
            del task
            gc.collect()

    with caplog.at_level("ERROR", logger="asyncio"):
        asyncio.run(main())
    assert [r.exc_info[1].args[0] for r in caplog.records if r.exc_info] == ["kept"]


async def test_httptools_reads_interim_gzip_chunked_and_close_delimited_answers_keeping_the_connection_alive():
    async def handle(reader, writer, number):
        await reader.readuntil(b"\r\n\r\n")
        if number == 2:  # no length, no chunks: the body ends with the connection
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil eof")
            return
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # an interim answer first: not the one returned
        writer.write(answer("201 Made Here", gzip.compress("привет".encode()), "Content-Encoding: gzip"))
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")

    async with Scripted(handle) as origin:
        async with make_async_client(transport=HttptoolsTransport(), plain=True) as http:
            zipped = await asend(http, "POST", origin + "/a", content=b"{}")
            chunked = await asend(http, "GET", origin + "/b")
            closed = await asend(http, "GET", origin + "/c")
    assert (zipped.status_code, zipped.reason_phrase, zipped.text) == (201, "Made Here", "привет")
    assert (chunked.text, closed.text) == ("wikipedia", "until eof")


async def test_httptools_resends_only_an_idempotent_request_a_stale_keep_alive_connection_dropped():
    async def handle(reader, writer, number):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer("200 OK", b"first"))
        await reader.readuntil(b"\r\n\r\n")  # the next request on this connection: closed unanswered

    async with Scripted(handle) as origin:
        async with make_async_client(transport=HttptoolsTransport(), plain=True) as http:
            await asend(http, "GET", origin + "/a")
            again = await asend(http, "GET", origin + "/a")
            with pytest.raises(UnavailableError, match="RemoteProtocolError"):
                await asend(http, "POST", origin + "/a", content=b"{}")
    assert again.text == "first"


async def test_httptools_times_out_a_silent_server_and_a_wait_for_a_busy_pool():
    limits = httpx.Limits(max_connections=1)
    async with Canned(None) as origin:
        async with make_async_client(timeout=httpx.Timeout(0.4, pool=0.1), plain=True,
                                     transport=HttptoolsTransport(limits=limits)) as http:
            results = await asyncio.gather(asend(http, "GET", origin + "/a"), asend(http, "GET", origin + "/b"),
                                           return_exceptions=True)
    assert sorted(r.reason for r in results) == ["PoolTimeout", "ReadTimeout"]


@pytest.mark.parametrize("method,content,headers", [("POST", b'{"a": 1}', {"Content-Type": "application/json"}),
                                                    ("POST", None, None), ("GET", None, {"Accept": "*/*"}),
                                                    ("PUT", b"x", {"Host": "other.example", "Content-Length": "1"})])
async def test_the_plain_client_builds_the_request_httpx_would(method, content, headers):
    async with make_async_client(transport=HttptoolsTransport(), plain=True) as plain, make_async_client() as http:
        ours = plain.build_request(method, "http://127.0.0.1:8080/chatapi/x", content=content, headers=headers)
        theirs = http.build_request(method, "http://127.0.0.1:8080/chatapi/x", content=content, headers=headers)
    assert (ours.method, ours.url, ours.headers.raw, ours.content) == \
        (theirs.method, theirs.url, theirs.headers.raw, theirs.content)


async def test_an_httptools_answer_is_read_as_httpx_reads_it():
    async with Canned(answer("200 OK", '{"a": "б"}'.encode(), "Content-Type: application/json")) as origin:
        async with make_async_client(transport=HttptoolsTransport(), plain=True) as plain, \
                make_async_client() as http:
            ours, theirs = await plain.get(origin + "/a"), await http.get(origin + "/a")
    assert (ours.content, ours.text, ours.json(), ours.is_closed, ours.is_stream_consumed) == \
        (theirs.content, theirs.text, theirs.json(), theirs.is_closed, theirs.is_stream_consumed)
    assert [chunk async for chunk in ours.aiter_bytes()] == [theirs.content]


async def test_httptools_refuses_a_header_with_a_line_break_sending_nothing():
    server = Canned(answer("200 OK", b"{}"))
    async with server as origin:
        async with make_async_client(transport=HttptoolsTransport(), plain=True) as http:
            with pytest.raises(UnavailableError, match="LocalProtocolError"):
                await asend(http, "GET", origin + "/a", headers={"X-Note": "a\r\nX-Injected: 1"})
            await asend(http, "GET", origin + "/b")
    assert [line for line, _, _ in server.received] == ["GET /b HTTP/1.1"]
