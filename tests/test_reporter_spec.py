"""The Reporter API as reporter-api.yml specifies it, end to end against a running sandbox: `botId` on
messages/by-client (from the profile's `[jaicp] bot_id`), the older token-in-path form
(`…/api/reporter/p/<token>`, no Bearer header) in the client, the profile, the checks and the
sandbox, and int64 `ts` on stats/switched-sessions."""

from __future__ import annotations

import json

import httpx
import pytest

from _helpers import random_token
from _servers import scripted_server, srv  # noqa: F401 - fixtures
from jivo_ops import check_profile
from jivo_ops.channel.jaicp import AsyncReporterClient, ReporterClient
from jivo_ops.errors import ProfileError, RejectedError
from jivo_ops.logs import from_reporter, load
from jivo_ops.profile import Profile, load_profile, reporter_path_token
from jivo_ops.redaction import redact
from jivo_ops.sandbox import Sandbox
from jivo_ops.transfer import run_transfers


@pytest.fixture(scope="module")
def sb():
    with Sandbox(operators=2) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def chats(sb):
    batch = run_transfers(sb, clients=2, concurrency=2, step_timeout=5.0, progress=False)
    assert [r.outcome for r in batch] == ["answered"] * 2
    return [r.chat for r in batch]


def path_profile(sb, **jaicp) -> Profile:
    """The sandbox's profile with the Reporter in the older form: the token in the URL, none apart."""
    return sb.profile.replace(jaicp={"reporter_url": sb.jaicp.reporter_path_url, "reporter_token": "", **jaicp})


def test_the_sandbox_profile_carries_its_bot_id(sb):
    assert sb.profile.jaicp.bot_id == sb.jaicp.bot_id != ""
    assert check_profile(sb.profile).codes == []


def test_by_client_without_bot_id_is_refused_and_the_client_quotes_it(sb, chats):
    with ReporterClient(sb.profile.jaicp.reporter_url, sb.profile.jaicp.reporter_token) as reporter:
        assert reporter.bot_id is None
        with pytest.raises(RejectedError) as info:
            reporter.messages_by_client(chats[0])
    message = str(info.value)
    assert "HTTP 400" in message and "reporter.request.bot_id: botId is required" in message
    assert sb.profile.jaicp.reporter_token not in message


@pytest.mark.parametrize("form", ["bearer", "path"])
def test_from_profile_reads_a_clients_messages_in_both_url_forms(sb, chats, form):
    profile = sb.profile if form == "bearer" else path_profile(sb)
    with ReporterClient.from_profile(profile) as reporter:
        assert reporter.bot_id == sb.jaicp.bot_id
        assert ("Authorization" in reporter.headers) is (form == "bearer")
        pages = from_reporter(reporter, client_id=chats[0], size=2)
        session = pages[0]["messages"][0]["sessionId"]
        assert reporter.messages_by_session(session)["session"]["client"]["id"] == chats[0]
        assert reporter.sessions_filter([{"key": "TRANSFER_TO_OPERATOR", "type": "RADIO", "option": "YES"}])[
            "paging"]["totalCount"] >= 2
        assert reporter.messages_filter([])["messages"]
        shown = repr(reporter)
    assert len(pages) > 1 and all(page["client"]["id"] == chats[0] for page in pages)
    logs = load(pages)
    assert len(logs.rejected) == 0 and list(logs.transfers()["outcome"]) == ["answered"]
    assert sb.profile.jaicp.reporter_token not in shown and sb.jaicp.bot_id in shown


def test_a_call_may_name_another_bot(sb, chats):
    with ReporterClient.from_profile(sb) as reporter, pytest.raises(RejectedError, match="reporter.bot.not_found"):
        reporter.messages_by_client(chats[0], bot_id="other-bot")


def test_the_token_in_path_form_sends_no_bearer_header(srv):
    token = random_token(40)
    srv.script((200, json.dumps({"paging": {"totalCount": 0}, "messages": []}), "application/json"))
    with ReporterClient(f"{srv.url}/api/reporter/p/{token}", bot_id="b-1") as reporter:
        reporter.messages_by_client("c-1")
        assert token not in repr(reporter)
    (request,) = srv.requests
    assert request.path == f"/api/reporter/p/{token}/messages/by-client"
    assert request.header("authorization") is None
    assert dict(httpx.QueryParams(request.query)) == {"botId": "b-1", "clientId": "c-1", "page": "0", "size": "100"}


@pytest.mark.anyio
async def test_async_client_in_the_token_in_path_form(sb, chats):
    async with AsyncReporterClient.from_profile(path_profile(sb)) as reporter:
        pages = [page async for page in reporter.iter_messages_by_client(chats[1], size=3)]
    assert sum(len(page["messages"]) for page in pages) == pages[0]["paging"]["totalCount"] > 3


def test_a_wrong_token_in_the_path_is_refused(sb):
    url = f"{sb.jaicp_url}/api/reporter/p/{random_token(40)}"
    with ReporterClient(url, bot_id=sb.jaicp.bot_id) as reporter, \
            pytest.raises(RejectedError, match="HTTP 401: reporter.auth.invalid") as info:
        reporter.messages_by_client("anyone")
    assert url.rsplit("/", 1)[1] not in str(info.value)


def test_profile_and_checks_take_the_token_in_path_form(sb, tmp_path, monkeypatch):
    for var in ("JIVO_OPS_REPORTER_TOKEN", "JIVO_OPS_JAICP_REPORTER_TOKEN", "JIVO_OPS_JAICP_BOT_ID"):
        monkeypatch.delenv(var, raising=False)
    profile = path_profile(sb)
    token = sb.profile.jaicp.reporter_token
    assert reporter_path_token(profile.jaicp.reporter_url) == token
    assert reporter_path_token(sb.profile.jaicp.reporter_url) is None
    assert profile.require_reporter() == (sb.jaicp.reporter_path_url, None)
    assert check_profile(profile).codes == []  # no J404: the URL carries the token
    for shown in (repr(profile), profile._repr_html_(), json.dumps(profile.masked()), redact(profile.jaicp.reporter_url)):
        assert token not in shown
    # A file of that shape, and the bot id from the environment
    path = tmp_path / "p.toml"
    path.write_text(f'[jaicp]\nreporter_url = "{sb.jaicp.reporter_path_url}"\n', encoding="utf-8")
    monkeypatch.setenv("JIVO_OPS_JAICP_BOT_ID", sb.jaicp.bot_id)
    loaded = load_profile(path)
    assert loaded.jaicp.bot_id == sb.jaicp.bot_id and loaded.jaicp.reporter_token == ""
    with ReporterClient.from_profile(loaded) as reporter:
        assert reporter.messages_by_client("nobody-yet")["paging"]["totalCount"] == 0


def test_the_bearer_form_still_needs_its_token():
    profile = Profile()
    with pytest.raises(ProfileError, match=r"jaicp\.reporter_token"):
        profile.require_reporter()
    with pytest.raises(ProfileError, match=r"jaicp\.reporter_token"):
        ReporterClient.from_profile(profile)


def test_switched_sessions_answers_int64_epoch_millisecond_ts(sb, chats):
    with httpx.Client(timeout=10) as http:
        for url, headers in ((sb.profile.jaicp.reporter_url, {"Authorization": f"Bearer {sb.profile.jaicp.reporter_token}"}),
                             (sb.jaicp.reporter_path_url, {})):
            stats = http.get(url + "/stats/switched-sessions", params={"transferToOperatorMethod": "SWITCH"},
                             headers=headers).json()
            assert stats["totalCount"] >= 2
            for item in stats["stats"]:
                assert type(item["ts"]) is int and item["ts"] % 86_400_000 == 0  # a UTC day's start, in ms
                assert type(item["value"]) is int
