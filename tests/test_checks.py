"""Setup checks: every finding code is produced by a broken profile, a wired one has no errors,
differences are named exactly, no finding quotes a token; live probes against a real uvicorn app."""

from __future__ import annotations

import threading
import time

import pytest

from jivo_ops.setup.checks import (CODES, FIELDS, STEPS, CheckReport, Finding, arun_probes, check_profile,
                             describe_difference, run_probes)
from jivo_ops.profile import JaicpSettings, JivoSettings, Profile, example_profile

from _helpers import assert_no_secret, closed_port_url, other_ending, random_token, wired_profile

# The assertions are the English sentences of the code (issue 15 §3).
pytestmark = pytest.mark.usefixtures("english")


def finding(report: CheckReport, code: str) -> Finding:
    matches = [f for f in report if f.code == code]
    assert matches, f"expected {code}, got {report.codes}"
    return matches[0]


# -- a wired profile is clean ----------------------------------------------------------------------

def test_bundled_example_has_no_errors():
    report = check_profile(example_profile())
    assert report.errors == []
    assert report.ok
    assert report.codes == ["J404"], "the example ships without a Reporter token: one warning, nothing else"


def test_wired_profile_with_a_reporter_token_has_no_findings_at_all():
    profile, _ = wired_profile()
    report = check_profile(profile)
    assert list(report) == []
    assert report.summary() == "profile 'wired': 0 errors, 0 warnings — all four steps look right"


def test_the_sandbox_shapes_on_loopback_are_fine():
    """The sandbox serves real shapes over plain http on 127.0.0.1: no J006 (http), no J208 (foreign host)."""
    profile, _ = wired_profile(jaicp_host="http://127.0.0.1:40001", jivo_host="http://127.0.0.1:40002")
    assert list(check_profile(profile)) == []
    profile, _ = wired_profile(jaicp_host="http://localhost:40001", jivo_host="http://[::1]:40002")
    assert list(check_profile(profile)) == []


def test_case_of_scheme_and_host_is_not_a_difference():
    profile, _ = wired_profile()
    loud = profile.jivo.webhook_url.replace("https://app.jaicp.com", "HTTPS://App.JAICP.com")
    assert list(check_profile(profile.replace(jivo={"webhook_url": loud}))) == []


def test_operator_link_ignores_case():
    profile, _ = wired_profile()
    assert list(check_profile(profile.replace(jaicp={"inbound_operator": "jivo"}))) == []


# -- every code from a broken profile --------------------------------------------------------------

def _cases(p: Profile):
    """(id, how to break the wired profile `p`, expected code, expected profile key, words the message holds)."""
    internal, unique, chat = p.jaicp.internal_webhook_url, p.jivo.unique_url, p.jaicp.chat_api_url
    host_jaicp = "https://app.jaicp.com"
    return [
        ("no-scheme", {"jivo": {"webhook_url": internal.removeprefix("https://")}}, "J001", "jivo.webhook_url",
         "no scheme"),
        ("trailing-space", {"jivo": {"webhook_url": internal + " "}}, "J002", "jivo.webhook_url",
         "ends with a space; apart from that it matches «Internal Webhook Url»"),
        ("leading-newline", {"jaicp": {"external_api_endpoint": "\n" + unique}}, "J002",
         "jaicp.external_api_endpoint", "starts with a line break"),
        ("space-inside", {"jivo": {"unique_url": unique[:30] + " " + unique[30:]}}, "J003", "jivo.unique_url",
         "inside"),
        ("bad-scheme", {"jaicp": {"chat_api_url": chat.replace("https", "htps", 1)}}, "J004",
         "jaicp.chat_api_url", "htps://"),
        ("no-host", {"jaicp": {"reporter_url": "https:///api/v1/reporter"}}, "J005", "jaicp.reporter_url",
         "no host"),
        ("plain-http-public", {"jaicp": {"chat_api_url": chat.replace("https", "http", 1)}}, "J006",
         "jaicp.chat_api_url", "plain http:// to app.jaicp.com"),
        ("internal-empty", {"jaicp": {"internal_webhook_url": ""}}, "J101", "jaicp.internal_webhook_url", "empty"),
        ("internal-holds-unique", {"jaicp": {"internal_webhook_url": unique}}, "J102",
         "jaicp.internal_webhook_url", "holds a Jivo «Уникальный URL»"),
        ("internal-odd-shape", {"jaicp": {"internal_webhook_url": f"{host_jaicp}/hooks/{random_token(20)}"},
                                "jivo": {"webhook_url": f"{host_jaicp}/hooks/x"}},
         "J103", "jaicp.internal_webhook_url", "/chatadapter/chatapi/webhook/<adapter>/<token>"),
        ("operator-channel-unnamed", {"jaicp": {"operator_channel": " "}}, "J104", "jaicp.operator_channel",
         "no name"),
        ("webhook-empty", {"jivo": {"webhook_url": ""}}, "J201", "jivo.webhook_url", "operator answers never"),
        ("webhook-holds-unique", {"jivo": {"webhook_url": unique}}, "J202", "jivo.webhook_url",
         "holds a Jivo «Уникальный URL»"),
        ("webhook-truncated", {"jivo": {"webhook_url": internal[:-5]}}, "J203", "jivo.webhook_url",
         "cut short: 5 characters missing at the end"),
        ("chunked-off", {"jivo": {"chunked": False}}, "J204", "jivo.chunked", "is off"),
        ("unique-empty", {"jivo": {"unique_url": ""}}, "J205", "jivo.unique_url", "empty"),
        ("unique-holds-webhook", {"jivo": {"unique_url": internal}}, "J206", "jivo.unique_url",
         "holds JAICP's «Internal Webhook Url»"),
        ("unique-short-key", {"jivo": {"unique_url": unique[:-1]}, "jaicp": {"external_api_endpoint": unique[:-1]}},
         "J207", "jivo.unique_url", "parts are 16 and 9 characters long («External API Endpoint» holds the same)"),
        ("unique-foreign-host", {"jivo": {"unique_url": unique.replace("wh.jivosite.com", "jivo.example.org")},
                                 "jaicp": {"external_api_endpoint": unique.replace("wh.jivosite.com",
                                                                                   "jivo.example.org")}},
         "J208", "jivo.unique_url", "on jivo.example.org"),
        ("jivo-channel-unnamed", {"jivo": {"channel": ""}}, "J209", "jivo.channel", "no name"),
        ("webhook-recorder-tap", {"jivo": {"webhook_url": f"https://tap.example.org/hook/{random_token(24)}"}}, "J210",
         "jivo.webhook_url", "recorder tap"),
        ("endpoint-empty", {"jaicp": {"external_api_endpoint": ""}}, "J301", "jaicp.external_api_endpoint",
         "empty"),
        ("endpoint-holds-webhook", {"jaicp": {"external_api_endpoint": internal}}, "J302",
         "jaicp.external_api_endpoint", "holds JAICP's «Internal Webhook Url»"),
        ("swapped", {"jaicp": {"external_api_endpoint": internal}, "jivo": {"webhook_url": unique}}, "J303",
         "jaicp.external_api_endpoint", "swapped"),
        ("endpoint-other-token", {"jaicp": {"external_api_endpoint": unique[:-10] + random_token(10)}}, "J304",
         "jaicp.external_api_endpoint", "another token"),
        ("inbound-not-linked", {"jaicp": {"inbound_operator": ""}}, "J305", "jaicp.inbound_operator",
         "not linked"),
        ("inbound-linked-elsewhere", {"jaicp": {"inbound_operator": "LiveTex"}}, "J306", "jaicp.inbound_operator",
         "«LiveTex», not the Jivo operator channel «Jivo»"),
        ("inbound-unnamed", {"jaicp": {"inbound_channel": ""}}, "J307", "jaicp.inbound_channel", "not named"),
        ("chat-api-empty", {"jaicp": {"chat_api_url": ""}}, "J401", "jaicp.chat_api_url", "test transfers"),
        ("chat-api-holds-webhook", {"jaicp": {"chat_api_url": internal}}, "J402", "jaicp.chat_api_url",
         "holds JAICP's «Internal Webhook Url»"),
        ("chat-api-short-token", {"jaicp": {"chat_api_url": chat[:-3]}}, "J403", "jaicp.chat_api_url",
         "token is 46 characters long"),
        ("reporter-token-empty", {"jaicp": {"reporter_token": ""}}, "J404", "jaicp.reporter_token", "empty"),
        ("reporter-url-empty", {"jaicp": {"reporter_url": ""}}, "J405", "jaicp.reporter_url", "empty"),
        ("reporter-bot-id-empty", {"jaicp": {"bot_id": ""}}, "J406", "jaicp.bot_id", "requires botId"),
        ("stand-in-webhook-stale", {"stand_in": {"unique_url": unique, "webhook_url": other_ending(internal, "x")}}, "J501",
         "stand_in.webhook_url", "differs from the test channel's «Internal Webhook Url»"),
        ("stand-in-not-the-jivo-channel", {"stand_in": {"unique_url": other_ending(unique)}}, "J502",
         "stand_in.unique_url", "is not what [jivo] unique_url holds"),
        ("stand-in-local-only", {"stand_in": {"unique_url": "http://127.0.0.1:8765/AAAAAAAAAAAAAAAA/BBBBBBBBBB"}, "jivo": {"unique_url": "http://127.0.0.1:8765/AAAAAAAAAAAAAAAA/BBBBBBBBBB"},
                                 "jaicp": {"external_api_endpoint": "http://127.0.0.1:8765/AAAAAAAAAAAAAAAA/BBBBBBBBBB"}}, "J503", "stand_in.unique_url",
         "JAICP's cloud cannot reach"),
    ]


CASE_PROFILE, CASE_TOKENS = wired_profile()
CASES = _cases(CASE_PROFILE)


@pytest.mark.parametrize("changes, code, key, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_mistake_gives_its_finding(changes, code, key, words):
    profile, tokens = CASE_PROFILE, CASE_TOKENS
    report = check_profile(profile.replace(**changes))
    found = finding(report, code)
    severity, _ = CODES[code]
    assert found.severity == severity
    assert found.key == key
    assert found.step == FIELDS[key].step and found.step_title == STEPS[found.step]
    assert found.field == FIELDS[key].label
    assert words in found.message
    assert found.fix.endswith(".") and found.fix.count(". ") == 0, "the fix is one sentence"
    assert report.ok is (not report.errors)
    for f in report:
        assert_no_secret(str(f), tokens)


def test_the_bot_id_finding_follows_the_reporter_credentials():
    """J406 only when the Reporter can be reached (a token, or one in the URL's path) and the bot id is empty;
    a URL of the form …/api/reporter/p/<token> needs no separate token (no J404)."""
    profile, _ = wired_profile()
    no_bot = profile.replace(jaicp={"bot_id": ""})
    found = finding(check_profile(no_bot), "J406")
    assert "sessions/filter" in found.fix and "JIVO_OPS_JAICP_BOT_ID" in found.fix
    assert check_profile(no_bot.replace(jaicp={"reporter_token": ""})).codes == ["J404"]
    in_path = no_bot.replace(jaicp={"reporter_token": "",
                                    "reporter_url": f"https://app.jaicp.com/api/reporter/p/{random_token(40)}"})
    assert check_profile(in_path).codes == ["J406"]
    assert check_profile(in_path.replace(jaicp={"bot_id": "my_bot-263-XQt"})).codes == []


def test_every_code_is_covered_by_a_case():
    assert {c[2] for c in CASES} == set(CODES)


def test_a_wrong_field_hides_the_finer_checks_of_that_field():
    """One mistake, one finding: a webhook field holding the unique URL is not also 'different'."""
    profile, _ = wired_profile()
    report = check_profile(profile.replace(jivo={"webhook_url": profile.jivo.unique_url}))
    assert report.codes == ["J202"]


def test_swap_is_one_finding_not_three():
    profile, _ = wired_profile()
    swapped = profile.replace(jaicp={"external_api_endpoint": profile.jaicp.internal_webhook_url},
                              jivo={"webhook_url": profile.jivo.unique_url})
    report = check_profile(swapped)
    assert report.codes == ["J303"]
    assert report.summary() == "profile 'wired': 1 error, 0 warnings — fix step 3 first"


def test_wrong_field_on_custom_hosts_is_found_by_value():
    """On-premise hosts with unknown paths: equal values still show the URL went into the wrong field."""
    internal = "https://jaicp.corp.example/in/abcdef123456"
    unique = "https://jivo-proxy.corp.example/out/abcdef654321"
    profile = Profile(jaicp=JaicpSettings(internal_webhook_url=internal, external_api_endpoint=internal,
                                          inbound_operator="Jivo", reporter_token="x" * 20),
                      jivo=JivoSettings(webhook_url=internal, unique_url=unique))
    found = finding(check_profile(profile), "J302")
    assert "the same URL as «Internal Webhook Url»" in found.message


def test_endpoint_shape_is_checked_when_there_is_no_unique_url_to_compare():
    profile, _ = wired_profile()
    report = check_profile(profile.replace(jivo={"unique_url": ""},
                                           jaicp={"external_api_endpoint": "https://wh.jivosite.com/short/x"}))
    assert {"J205", "J207"} <= set(report.codes)
    assert finding(report, "J207").key == "jaicp.external_api_endpoint"


def test_findings_are_ordered_by_step_then_errors_first():
    profile, _ = wired_profile()
    report = check_profile(profile.replace(jaicp={"reporter_token": "", "inbound_operator": "", "operator_channel": ""},
                                           jivo={"chunked": False, "channel": ""}))
    assert [(f.step, f.severity) for f in report] == sorted(
        [(f.step, f.severity) for f in report], key=lambda x: (x[0], x[1] != "error"))
    assert [f.code for f in report] == ["J104", "J204", "J209", "J305", "J404"]


# -- the exact difference --------------------------------------------------------------------------

BASE = "https://app.jaicp.com/chatadapter/chatapi/webhook/jivosite/AbCdEfGhIjKlMnOpQrSt"


@pytest.mark.parametrize("actual, words", [
    (BASE.replace("https", "http", 1), "it uses http:// where «Internal Webhook Url» uses https://"),
    (BASE.replace("app.jaicp.com", "bot.jaicp.com"), "another host (bot.jaicp.com instead of app.jaicp.com)"),
    (BASE.replace("app.jaicp.com", "app.jaicp.com:8443"), "another port (8443 instead of default)"),
    (BASE[:-4], "cut short: 4 characters missing at the end (a truncated token)"),
    (BASE + "XY", "2 extra characters at the end"),
    (BASE + "/", "an extra trailing slash"),
    (BASE.lower().replace("https://app.jaicp.com", "https://app.jaicp.com"), "letter case differs in the path"),
    (BASE.rsplit("/", 1)[0] + "/ZZZZZZZZZZZZZZZZZZZZ", "another token"),
    (BASE.replace("/jivosite/", "/livetex/"), "one part of the path differs"),
    ("https://app.jaicp.com/other", "another path"),
    (BASE + "?x=1", "another query string"),
    (BASE.replace("https", "http", 1).replace("app.jaicp.com", "evil.example"), "http://"),
])
def test_describe_difference_names_the_kind(actual, words):
    text = describe_difference(actual, BASE, expected_label="«Internal Webhook Url»")
    assert text is not None and words in text
    assert "AbCdE" not in text and "ZZZZZ" not in text


def test_describe_difference_combines_kinds_and_ignores_spaces_and_host_case():
    both = describe_difference(BASE.replace("https", "http", 1).replace("app.", "bot."), BASE)
    assert "http://" in both and "another host" in both
    assert describe_difference(f"  {BASE}\n", BASE) is None
    assert describe_difference(BASE.replace("app.jaicp.com", "APP.jaicp.com"), BASE) is None


def test_j203_names_http_versus_https_in_the_finding():
    profile, _ = wired_profile()
    report = check_profile(profile.replace(jivo={"webhook_url": profile.jivo.webhook_url.replace("https", "http")}))
    assert "it uses http:// where «Internal Webhook Url» uses https://" in finding(report, "J203").message
    assert "J006" in report.codes


def test_j203_names_a_different_host():
    profile, _ = wired_profile()
    moved = profile.jivo.webhook_url.replace("app.jaicp.com", "bot.jaicp.com")
    assert "another host (bot.jaicp.com instead of app.jaicp.com)" in finding(
        check_profile(profile.replace(jivo={"webhook_url": moved})), "J203").message


# -- the report value ------------------------------------------------------------------------------

def _broken_report() -> tuple[CheckReport, list[str]]:
    profile, tokens = wired_profile()
    return check_profile(profile.replace(jivo={"chunked": False, "webhook_url": profile.jivo.webhook_url[:-3]},
                                         jaicp={"reporter_token": ""})), tokens


def test_report_errors_warnings_ok_and_lookup():
    report, _ = _broken_report()
    assert [f.code for f in report.errors] == ["J203", "J204"]
    assert [f.code for f in report.warnings] == ["J404"]
    assert not report.ok and len(report) == 3
    assert [f.code for f in report.for_step(2)] == ["J203", "J204"]
    assert [f.code for f in report.for_key("jivo.chunked")] == ["J204"]
    assert report.summary().endswith("2 errors, 1 warning — fix step 2 first")


def test_report_frame_has_one_row_per_finding_and_typed_columns():
    report, _ = _broken_report()
    frame = report.to_frame()
    assert list(frame.columns) == ["severity", "code", "step", "step_title", "field", "key", "message", "fix"]
    assert frame["code"].tolist() == ["J203", "J204", "J404"]
    assert frame["step"].tolist() == [2, 2, 4]
    assert str(frame["severity"].dtype) == "category" and str(frame["fix"].dtype) == "string"
    assert frame.loc[1, "field"] == "«Chunked кодировка в запросах»"
    empty = check_profile(wired_profile()[0]).to_frame()
    assert len(empty) == 0 and list(empty.columns) == list(frame.columns)


def test_report_html_and_json_name_steps_and_hide_tokens(monkeypatch):
    monkeypatch.setenv("JIVO_OPS_LANG", "ru")  # it asserts the Russian headings
    report, tokens = _broken_report()
    page = report._repr_html_()
    assert "✗ 2. Настройка Jivo" in page and "✓ 1. Создание канала" in page and "! 4. Перевод на оператора" in page
    assert "«Chunked кодировка в запросах»" in page
    assert_no_secret(page, tokens)
    data = report.to_json()
    assert data["ok"] is False and data["errors"] == 2 and data["warnings"] == 1
    assert data["findings"][0]["step_title"] == "Настройка Jivo"
    assert_no_secret(str(data) + repr(report), tokens)


# -- live probes against a real server -------------------------------------------------------------

class FakeServices:
    """A tiny Starlette app on 127.0.0.1 with the real URL shapes of both services, counting requests."""

    def __init__(self):
        self.online = True
        self.requests: list[tuple[str, str]] = []
        self.slow_s = 0.0
        self.lock = threading.Lock()

    def app(self):
        import asyncio

        from starlette.applications import Starlette
        from starlette.responses import JSONResponse, PlainTextResponse, Response
        from starlette.routing import Route

        async def remember(request):
            with self.lock:
                self.requests.append((request.method, request.url.path))
            if self.slow_s:
                await asyncio.sleep(self.slow_s)

        async def status(request):
            await remember(request)
            if request.path_params["key"] == "UnknownChannel00":
                return PlainTextResponse("channel not found", status_code=404)
            if request.path_params["key"] == "NotJivoAtAll0000":
                return PlainTextResponse("<html>hello</html>")
            return PlainTextResponse("1" if self.online else "0")

        async def anything(request):
            await remember(request)
            return Response(status_code=405 if request.method == "HEAD" else 200)

        async def chat_api(request):
            await remember(request)
            if request.method != "POST":
                return Response(status_code=405)
            body = await request.json()
            return JSONResponse({"clientId": body["clientId"], "questionId": "q1", "timestamp": "t",
                                 "data": {"replies": [{"type": "text", "text": "Здравствуйте!"}]}})

        return Starlette(routes=[
            Route("/{key}/{ident}/status", status),
            Route("/chatapi/{token}", chat_api, methods=["GET", "HEAD", "POST"]),
            Route("/{path:path}", anything, methods=["GET", "HEAD", "POST"]),
        ])


@pytest.fixture(scope="module")
def services():
    from jivo_ops.channel.serving import ServerThread

    fake = FakeServices()
    with ServerThread(fake.app()) as server:
        fake.url = server.url
        yield fake


@pytest.fixture
def fake(services):
    services.online, services.slow_s = True, 0.0
    services.requests.clear()
    return services


def probe(results, name_start: str):
    matches = [r for r in results if r.name.startswith(name_start)]
    assert len(matches) == 1, [r.name for r in results]
    return matches[0]


def test_probes_of_a_wired_profile_all_pass_and_send_nothing_harmful(fake):
    profile, tokens = wired_profile(jaicp_host=fake.url, jivo_host=fake.url)
    results = run_probes(profile, timeout=5, client_id="jivo-ops-probe-test")
    assert all(r.ok for r in results), [r.to_json() for r in results]
    status = probe(results, "Jivo status")
    assert status.detail.startswith("1: an operator is online") and status.latency_s > 0
    chat = probe(results, "Chat API round trip")
    assert chat.detail == "/start from jivo-ops-probe-test: 1 reply (text)"
    # Webhook and unique URL share an address with their counterparts: one HEAD each, labels joined.
    reach = [r for r in results if r.name.startswith("reach ")]
    assert len(reach) == 4
    assert probe(results, "reach «Internal Webhook Url» = «URL вашего сервера для Webhooks»").status == 405
    assert all(r.latency_s is not None and r.latency_s < 5 for r in results)
    # Only HEAD, the status GET and the one Chat API POST went out: nothing POSTed to the webhook.
    posts = [path for method, path in fake.requests if method == "POST"]
    assert posts == [profile.jaicp.chat_api_url.removeprefix(fake.url)]
    assert {m for m, _ in fake.requests} == {"HEAD", "GET", "POST"}
    for r in results:
        assert_no_secret(str(r.to_json()), tokens)


def test_offline_operators_fail_the_status_probe_with_a_next_step(fake):
    fake.online = False
    profile, _ = wired_profile(jaicp_host=fake.url, jivo_host=fake.url)
    status = probe(run_probes(profile, timeout=5), "Jivo status")
    assert status.ok is False and status.detail.startswith("0: no operator is online")
    assert "go online" in status.next_step


def test_unknown_channel_and_foreign_answer(fake):
    profile, _ = wired_profile(jaicp_host=fake.url, jivo_host=fake.url)
    gone = profile.replace(jivo={"unique_url": f"{fake.url}/UnknownChannel00/AbCdEfGhIj"})
    status = probe(run_probes(gone, timeout=5), "Jivo status")
    assert status.ok is False and status.status == 404 and "copy «Уникальный URL» again" in status.next_step
    odd = profile.replace(jivo={"unique_url": f"{fake.url}/NotJivoAtAll0000/AbCdEfGhIj"})
    status = probe(run_probes(odd, timeout=5), "Jivo status")
    assert status.ok is False and "expected 1" in status.detail and "not a Jivo channel" in status.next_step


def test_unreachable_and_slow_hosts_fail_within_the_timeout(fake):
    dead = closed_port_url()
    profile, _ = wired_profile(jaicp_host=dead, jivo_host=fake.url)
    results = run_probes(profile, timeout=3)
    reach = probe(results, "reach «Internal Webhook Url»")
    assert reach.ok is False and "ConnectError" in reach.detail and "network" in reach.next_step
    chat = probe(results, "Chat API round trip")
    assert chat.ok is False and "Chat API" in chat.next_step
    assert probe(results, "Jivo status").ok is True

    fake.slow_s = 5.0
    profile, _ = wired_profile(jaicp_host=fake.url, jivo_host=fake.url)
    started = time.monotonic()
    results = run_probes(profile, timeout=1.0)
    assert time.monotonic() - started < 4.5, "probes run in parallel (6 in a row would take 6 s), each bounded"
    assert all(r.ok is False for r in results)
    assert any("Timeout" in r.detail for r in results)


def test_missing_urls_skip_their_probes(fake):
    profile, _ = wired_profile(jaicp_host=fake.url, jivo_host=fake.url)
    bare = profile.replace(jaicp={"chat_api_url": "", "external_api_endpoint": "not a url"},
                           jivo={"unique_url": ""})
    results = run_probes(bare, timeout=5)
    assert probe(results, "Chat API round trip").ok is None
    assert probe(results, "Jivo status").outcome == "skipped"
    assert not any("External API Endpoint" in r.name for r in results)


def test_check_with_probes_fails_on_a_failed_probe(fake):
    fake.online = False
    profile, _ = wired_profile(jaicp_host=fake.url, jivo_host=fake.url)
    report = check_profile(profile, probe=True, timeout=5)
    assert report.errors == [] and not report.ok
    assert [p.name for p in report.failed_probes] == ["Jivo status"]
    assert "probes: 5 ok, 1 failed" in report.summary()
    assert report.probes_frame()["outcome"].tolist().count("failed") == 1
    assert "✗" in report._repr_html_().split("<caption>probes</caption>")[1]


@pytest.mark.anyio
async def test_async_probes_do_not_block_the_loop(fake):
    profile, _ = wired_profile(jaicp_host=fake.url, jivo_host=fake.url)
    results = await arun_probes(profile, timeout=5)
    assert all(r.ok for r in results)


def test_chat_api_url_of_another_path_shape():
    profile, _ = wired_profile()
    report = check_profile(profile.replace(jaicp={"chat_api_url": "https://app.jaicp.com/bots/AbCdEfGh12/chat"}))
    assert finding(report, "J403").message == "is not of the shape …/chatapi/<token>"


def test_unparsable_urls_still_differ():
    assert describe_difference("https://[broken/x", BASE) == "it is a different value"



def test_an_unusual_unique_url_shape_is_a_warning_that_does_not_fail_check(tmp_path, capsys):
    """Jivo's own docs show https://wh.jivosite.com/foo/bar: the shape rule is a hint of a cut paste, not an error."""
    from jivo_ops.cli import main
    from jivo_ops.profile import save_profile

    profile, tokens = wired_profile()
    docs_example = "https://wh.jivosite.com/foo/bar"
    report = check_profile(profile.replace(jivo={"unique_url": docs_example},
                                           jaicp={"external_api_endpoint": docs_example}))
    assert report.codes == ["J207"] and report.ok
    found = finding(report, "J207")
    assert found.severity == "warning"
    assert "parts are 3 and 3 characters long" in found.message
    assert "if the end was cut off, copy it again in full" in found.fix
    path = save_profile(profile.replace(jivo={"unique_url": docs_example},
                                        jaicp={"external_api_endpoint": docs_example}), tmp_path / "docs.toml")
    assert main(["check", "--profile", str(path)]) == 0
    out = capsys.readouterr().out
    assert "J207" in out and out.splitlines()[-1].endswith("no errors; read the warnings")
    assert_no_secret(out, tokens)
