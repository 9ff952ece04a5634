"""Client messages to Jivo as real bridges send them (PROTOCOL.md §5): no charset, fetch's
text/plain, no or a constant message.id, a numeric sender.id, hand-built JSON, \\u escapes. The
sandbox's Jivo service accepts each over real HTTP, and ClientMessage reads the same bytes."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from jivo_ops.channel.jivo import ClientMessage
from jivo_ops.sandbox import Sandbox

TEXT = "Здравствуйте, нужен оператор"


def hand_built(client_id: str, text: str) -> bytes:
    # the way a PHP or shell bridge glues its body together: no spaces, Cyrillic raw
    return ('{"sender":{"id":"' + client_id + '","name":"Иван"},"message":{"type":"text","text":"' + text
            + '"}}').encode("utf-8")


# (case, Content-Type as sent, the body for client `cid`, the client id Jivo files the chat under)
CASES = [
    ("json-without-charset", "application/json",
     lambda cid: json.dumps({"sender": {"id": cid}, "message": {"type": "text", "id": "m-1", "text": TEXT}},
                            ensure_ascii=False).encode("utf-8"), None),
    ("fetch-default-text-plain", "text/plain;charset=UTF-8",
     lambda cid: json.dumps({"sender": {"id": cid}, "message": {"type": "text", "text": TEXT}},
                            ensure_ascii=False).encode("utf-8"), None),
    ("no-message-id", "application/json",
     lambda cid: json.dumps({"sender": {"id": cid, "name": "Иван"},
                             "message": {"type": "text", "text": TEXT}}).encode(), None),
    ("constant-message-id", "application/json",
     lambda cid: json.dumps({"sender": {"id": cid},
                             "message": {"type": "text", "id": "customer_message_id", "text": TEXT}}).encode(), None),
    ("numeric-sender-id", "application/json",
     lambda cid: json.dumps({"sender": {"id": 4815162342}, "message": {"type": "text", "text": TEXT}}).encode(),
     "4815162342"),
    ("hand-built-json", "application/json", lambda cid: hand_built(cid, TEXT), None),
    ("u-escaped", "application/json; charset=utf-8",
     lambda cid: json.dumps({"sender": {"id": cid}, "message": {"type": "text", "text": TEXT}},
                            ensure_ascii=True).encode("ascii"), None),
]


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as sb:
        yield sb


@pytest.mark.parametrize("case, content_type, body, filed_as", CASES, ids=[c[0] for c in CASES])
def test_jivo_accepts_a_client_message_as_real_bridges_send_it(sandbox, case, content_type, body, filed_as):
    client_id = f"bridge-{case}"
    raw = body(client_id)
    if case == "u-escaped":
        assert b"\\u0417" in raw and not any(byte > 127 for byte in raw)
    response = httpx.post(sandbox.profile.jivo.unique_url, content=raw, headers={"Content-Type": content_type},
                          timeout=10)
    assert response.status_code == 200, response.text
    received = sandbox.history.entries("jivo_received", client_id=filed_as or client_id)
    assert [e.text for e in received] == [TEXT]

    parsed = ClientMessage.from_json(raw)  # the package reads the same bytes the same way
    assert parsed.sender.id == (filed_as or client_id) and parsed.message.text == TEXT
    assert parsed.with_id().id, "sending always sets an id, whatever came"


def test_a_header_written_without_a_space_as_php_clients_do(sandbox):
    """`Content-Type:application/json` byte for byte, which httpx would never send: a raw socket."""
    client_id = "bridge-php-header"
    body = json.dumps({"sender": {"id": client_id}, "message": {"type": "text", "text": TEXT}}).encode()
    url = urlsplit(sandbox.profile.jivo.unique_url)
    request = (f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type:application/json\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert [e.text for e in sandbox.history.entries("jivo_received", client_id=client_id)] == [TEXT]
