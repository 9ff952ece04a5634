"""The sandbox's internal client (sandbox/_outgoing.py) under `asend`: keep-alive reuse, chunked framing,
and httpx's own errors for each way a call can fail, so the retry rule and the recorded reasons hold."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from jivo_ops.channel.http import AiohttpTransport, RetryPolicy, asend
from jivo_ops.errors import RejectedError, UnavailableError
from jivo_ops.sandbox._outgoing import OutgoingClient


async def _server(behaviour):
    """A raw HTTP/1.1 server on 127.0.0.1; `behaviour(request_bytes, writer)` answers (or not)."""
    seen: list[bytes] = []
    connections = []

    async def handle(reader, writer):
        connections.append(writer)
        while True:
            head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
            if not head:
                return
            if b"transfer-encoding: chunked" in head.lower():
                body = await reader.readuntil(b"0\r\n\r\n")
            else:
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                body = await reader.readexactly(length)
            seen.append(head + body)
            if not await behaviour(head + body, writer):
                writer.close()
                return

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", seen, connections


async def _ok(request, writer) -> bool:
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: 16\r\n\r\n"
                 b'{"status": "ok"}')
    return True


def _client() -> OutgoingClient:
    return OutgoingClient(AiohttpTransport(), limit=4, expiry=2.0)


def test_keep_alive_chunked_and_refusals():
    async def scenario():
        server, url, seen, connections = await _server(_ok)
        client = _client()
        try:
            first = await asend(client, "POST", url + "/a", content=b'{"x": 1}', chunked=True)
            second = await asend(client, "GET", url + "/b?c=1")
            assert first.status_code == 200 and first.text == '{"status": "ok"}' and second.json() == {"status": "ok"}
            assert len(connections) == 1  # the second request reused the first one's connection
            assert b"transfer-encoding: chunked" in seen[0].lower() and seen[0].endswith(b'{"x": 1}\r\n0\r\n\r\n')
            assert seen[1].startswith(b"GET /b?c=1 HTTP/1.1\r\n") and b"User-Agent: jivo-ops/" in seen[1]
        finally:
            await client.aclose()
            server.close()

        async def refuse(request, writer) -> bool:
            writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 7\r\n\r\n"
                         b"no such")
            return True

        server, url, _, _ = await _server(refuse)
        client = _client()
        try:
            with pytest.raises(RejectedError, match="HTTP 404: no such"):
                await asend(client, "POST", url + "/x", content=b"{}", retry=RetryPolicy(retries=2, wait=0))
        finally:
            await client.aclose()
            server.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("failure, error", [("hang up", "RemoteProtocolError"), ("silence", "ReadTimeout"),
                                            ("nobody", "ConnectError")])
def test_failures_are_httpx_errors_and_retried(failure, error):
    async def hang_up(request, writer) -> bool:
        return False

    async def silence(request, writer) -> bool:
        await asyncio.sleep(5)
        return False

    async def scenario():
        server, url, seen, _ = await _server(hang_up if failure == "hang up" else silence)
        if failure == "nobody":
            server.close()
            await server.wait_closed()
        client = _client()
        heard = []
        try:
            with pytest.raises(UnavailableError, match=f"after 2 attempt\\(s\\): {error}"):
                await asend(client, "POST", url + "/x", content=b"{}", retry=RetryPolicy(retries=1, wait=0),
                            timeout=0.3, on_attempt=lambda n, status, reason: heard.append((n, status, reason)))
        finally:
            await client.aclose()
            server.close()
        assert [(n, status) for n, status, _ in heard] == [(1, None), (2, None)]
        assert all(reason.startswith(error) for _, _, reason in heard)

    asyncio.run(scenario())


def test_https_goes_through_the_aiohttp_transport():
    client = _client()
    assert isinstance(client.tls_transport, AiohttpTransport)
    assert client.build_request("GET", "https://example.invalid/x").url.scheme == "https"


@pytest.mark.parametrize("head, body", [
    (b"HTTP/1.1 404 Not Found\r\ncontent-type: text/plain; charset=utf-8\r\n", "нет такого канала".encode()),
    (b"HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\n", b'{"status": "ok"}'),
    (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n", b"\xff broken"),
    (b"HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=latin-1\r\n", b"caf\xe9"),  # httpx's own decoding
])
def test_an_answer_reads_as_the_httpx_response_of_the_same_bytes(head, body):
    """What `send` hands back (a light answer for plain UTF-8, an httpx.Response otherwise) reads as
    httpx.Response reads the same bytes: status, body, text, reason, headers and the request's URL."""
    async def answer(request, writer) -> bool:
        writer.write(head + b"content-length: %d\r\n\r\n" % len(body) + body)
        return True

    async def scenario():
        server, url, _, _ = await _server(answer)
        client = _client()
        try:
            return url, await client.send(client.build_request("GET", url + "/x"))
        finally:
            await client.aclose()
            server.close()

    url, ours = asyncio.run(scenario())
    raw = [tuple(line.split(b": ", 1)) for line in head.split(b"\r\n")[1:-1]] + [(b"content-length", b"%d" % len(body))]
    theirs = httpx.Response(int(head.split()[1]), headers=raw, content=body)
    assert (ours.status_code, ours.content, ours.text, ours.reason_phrase, ours.headers) == \
        (theirs.status_code, theirs.content, theirs.text, theirs.reason_phrase, theirs.headers)
    assert str(ours.request.url) == url + "/x"
