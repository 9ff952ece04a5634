"""The simulated Jivo Chat API channel, driven with the Jivo docs' own client message."""

from __future__ import annotations

import json

import httpx
import pytest

from jivo_ops.sandbox import Sandbox

# The docs' example, as several integrations copy it (PROTOCOL.md §2).
DOCS_MESSAGE = {"sender": {"id": "1987654321324234", "name": "Тест тестерович",
                           "photo": "https://example.com/me.jpg", "url": "https://example.com/",
                           "phone": "+7(958)100-32-91", "email": "me@example.com",
                           "invite": "Здравствуйте! Это тест"},
                "message": {"type": "text", "id": "0001", "text": "Добрый день!"}}
JSON_UTF8 = {"Content-Type": "application/json; charset=utf-8"}


@pytest.fixture(scope="module")
def sb():
    with Sandbox(max_body_bytes=1024 * 1024) as sandbox:
        yield sandbox


def unique(sb) -> str:
    return sb.profile.jivo.unique_url


def post_raw(url: str, content, headers=JSON_UTF8) -> httpx.Response:
    return httpx.post(url, content=content, headers=headers, timeout=10)


@pytest.mark.parametrize("ensure_ascii", [False, True], ids=["raw-utf8", "u-escaped"])
def test_docs_client_message_is_accepted_and_reaches_an_operator(sb, ensure_ascii):
    body = json.loads(json.dumps(DOCS_MESSAGE))
    body["sender"]["id"] = f"docs-{ensure_ascii}"
    raw = json.dumps(body, ensure_ascii=ensure_ascii).encode("utf-8")
    assert (b"\\u" in raw) is ensure_ascii
    r = post_raw(unique(sb), raw)
    assert r.status_code == 200, r.text
    got = sb.history.wait_for(lambda e: e.kind == "jivo_received" and e.client_id == f"docs-{ensure_ascii}")
    assert got.text == "Добрый день!" and got.detail["message_id"] == "0001"
    # the operator's answer went to JAICP's Internal Webhook Url and was relayed
    relayed = sb.history.wait_for(lambda e: e.kind == "operator_relayed" and e.client_id == f"docs-{ensure_ascii}")
    assert relayed.text.startswith("Здравствуйте! Меня зовут")


def test_status_is_1_with_operators_online_and_0_without(sb):
    url = unique(sb) + "/status"
    r = httpx.get(url, timeout=5)
    assert (r.status_code, r.text) == (200, "1")
    sb.set(online=False)
    try:
        assert httpx.get(url, timeout=5).text == "0"
    finally:
        sb.set(online=True)
    assert httpx.get(url, timeout=5).text == "1"


@pytest.mark.parametrize("body, reason", [
    (b"{not json", "invalid JSON"),
    (b"", "empty body"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[1, 2]", "JSON object"),
    (json.dumps({"message": {"type": "text", "text": "x"}}).encode(), "sender is required"),
    (json.dumps({"sender": {"name": "x"}, "message": {"type": "text", "text": "x"}}).encode(), "sender.id is required"),
    (json.dumps({"sender": {"id": ""}, "message": {"type": "text", "text": "x"}}).encode(), "sender.id is required"),
    (json.dumps({"sender": {"id": "1"}}).encode(), "message is required"),
    (json.dumps({"sender": {"id": "1"}, "message": {"text": "x"}}).encode(), "message.type is required"),
    (json.dumps({"sender": {"id": "1"}, "message": {"type": "TEXT", "text": "x"}}).encode(), "unknown message.type"),
    (json.dumps({"sender": {"id": "1"}, "message": {"type": "sticker"}}).encode(), "unknown message.type"),
    (json.dumps({"sender": {"id": "1"}, "message": {"type": "text"}}).encode(), "message.text is required"),
    (json.dumps({"sender": {"id": "1"}, "message": {"type": "photo"}}).encode(), "message.file"),
])
def test_bad_client_messages_get_400_with_a_plain_text_reason(sb, body, reason):
    r = post_raw(unique(sb), body)
    assert r.status_code == 400
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert reason in r.text


def test_file_messages_are_accepted(sb):
    for kind in ("photo", "video", "document"):
        body = {"sender": {"id": "files"}, "message": {"type": kind, "id": kind, "file": "https://example.com/f",
                                                       "file_name": "f.bin"}}
        assert httpx.post(unique(sb), json=body, timeout=5).status_code == 200


def test_unknown_channel_is_404_and_status_too(sb):
    base = sb.jivo_url
    r = httpx.post(f"{base}/AAAAAAAAAAAAAAAA/BBBBBBBBBB", json=DOCS_MESSAGE, timeout=5)
    assert r.status_code == 404 and "unknown channel" in r.text
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert httpx.get(f"{base}/AAAAAAAAAAAAAAAA/BBBBBBBBBB/status", timeout=5).status_code == 404
    assert httpx.get(f"{base}/nothing/here/at/all", timeout=5).status_code == 404
    assert httpx.get(unique(sb), timeout=5).status_code == 405


def test_wrong_content_type_refused_only_when_strict(sb):
    raw = json.dumps(DOCS_MESSAGE | {"sender": {"id": "ct"}}).encode()
    assert post_raw(unique(sb), raw, {"Content-Type": "text/plain"}).status_code == 200
    sb.set(strict_content_type=True)
    try:
        r = post_raw(unique(sb), raw, {"Content-Type": "text/plain"})
        assert r.status_code == 415 and "application/json" in r.text
        assert post_raw(unique(sb), raw).status_code == 200
    finally:
        sb.set(strict_content_type=False)


def test_bodies_over_one_mebibyte_get_413_with_content_length_and_chunked(sb):
    big = json.dumps({"sender": {"id": "big"}, "message": {"type": "text", "text": "я" * (600 * 1024)}}).encode()
    assert len(big) > 1024 * 1024
    r = post_raw(unique(sb), big)
    assert r.status_code == 413

    def chunks():
        for i in range(0, len(big), 64 * 1024):
            yield big[i:i + 64 * 1024]

    r = post_raw(unique(sb), chunks())
    assert r.status_code == 413
    # just under the cap passes, and the server still serves
    ok = json.dumps({"sender": {"id": "big"}, "message": {"type": "text", "text": "x" * 1000}}).encode()
    assert post_raw(unique(sb), ok).status_code == 200
