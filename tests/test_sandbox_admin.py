"""The admin API (standing in for the two consoles), the agent console, and Jivo's resends of a chunked body."""

from __future__ import annotations

import json

import httpx
import pytest

from jivo_ops.errors import JivoOpsError
from jivo_ops.sandbox import Sandbox, SandboxSettings
from jivo_ops.channel.serving import ServerThread


def test_agent_console_over_http():
    with Sandbox() as sb, httpx.Client(timeout=10) as http:
        url = sb.profile.jaicp.chat_api_url
        http.post(url, json={"clientId": "adm", "query": "оператор"})
        sb.history.wait_for(lambda e: e.kind == "operator_relayed" and e.client_id == "adm")
        r = http.post(sb.jivo_url + "/admin/say", json={"clientId": "adm", "text": "Минутку", "operator": "Борис Иванов"})
        assert r.json() == {"delivered": True}
        relayed = sb.history.entries("operator_relayed", client_id="adm")[-1]
        assert relayed.text == "Минутку" and relayed.detail["operator"] == "Борис Иванов"
        r = http.post(sb.jivo_url + "/admin/say", json={"clientId": "adm", "type": "document",
                                                         "file": "https://example.com/a.pdf"})
        assert r.json() == {"delivered": True}
        assert http.post(sb.jivo_url + "/admin/close", json={"clientId": "adm"}).status_code == 200
        assert sb.jaicp.clients["adm"].livechat is False
        assert http.post(sb.jivo_url + "/admin/close", json={"clientId": "adm"}).status_code == 404
        r = http.post(sb.jivo_url + "/admin/operators", json={"online": False, "name": "Анна Смирнова"})
        assert [op["online"] for op in r.json()["operators"]] == [False, True]
        assert http.post(sb.jivo_url + "/admin/operators", json={"online": False, "name": "Никто"}).status_code == 404
        assert http.post(sb.jivo_url + "/admin/operators", json={}).status_code == 400
        state = http.get(sb.jaicp_url + "/admin/state").json()
        assert state["operatorChannel"]["externalApiEndpoint"] == sb.profile.jivo.unique_url
        assert state["clients"]["adm"]["livechat"] is False
        assert http.get(sb.jivo_url + "/admin/state").json()["channel"]["chunked"] is True


def test_python_admin_methods_and_their_errors():
    with Sandbox(operators=1) as sb:
        with pytest.raises(JivoOpsError, match="no step 5"):
            sb.configure_step(5)
        with pytest.raises(JivoOpsError, match="step 2 takes"):
            sb.configure_step(2, unique_url="x")
        with pytest.raises(JivoOpsError, match="no open Jivo chat"):
            sb.operator_close("nobody")
        with pytest.raises(JivoOpsError, match="no sandbox operator named"):
            sb.set_operator_online("Никто", False)
        with pytest.raises(JivoOpsError, match="unknown sandbox setting"):
            sb.set(onlien=False)
        sb.set_operator_online("Анна Смирнова", False)
        assert httpx.get(sb.profile.jivo.unique_url + "/status", timeout=5).text == "0"
        assert sb.configure_step(1, name="Jivo поддержка")["operator_channel"] == "Jivo поддержка"
        assert sb.profile.jaicp.inbound_operator == "Jivo поддержка"  # the link follows the rename
        shown = sb._repr_html_() + repr(sb) + sb.timeline()
        for secret in (sb.profile.jivo.unique_url, sb.profile.jaicp.reporter_token, sb.jaicp.chat_token,
                       sb.jaicp.webhook_token, sb.jivo.channel_key):
            assert secret not in shown
        assert "0/1 operators online" in shown
    with pytest.raises(JivoOpsError, match="not running"):
        sb.profile
    with pytest.raises(JivoOpsError, match="jaicp_error_rate"):
        SandboxSettings(jaicp_error_rate=1.5)


class FlakyReceiver:
    """Answers 503 to the first `failures` requests, then 200; records each body as it arrived."""

    def __init__(self, failures: int):
        from starlette.applications import Starlette
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route

        self.bodies: list[tuple[dict, bytes]] = []

        async def hook(request):
            body = await request.body()
            self.bodies.append((dict(request.headers), body))
            return PlainTextResponse("busy" if len(self.bodies) <= failures else "ok",
                                     status_code=503 if len(self.bodies) <= failures else 200)

        self.server = ServerThread(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))


def test_jivo_resends_a_chunked_body_whole_each_time():
    rx = FlakyReceiver(failures=2)
    with rx.server, Sandbox(webhook_retries=3, webhook_retry_wait=0.0) as sb:
        sb.configure_step(2, webhook_url=rx.server.url + "/hook", chunked=True)
        assert sb.operator_say("retry-me", "Повторите, пожалуйста " * 50) is True
    assert len(rx.bodies) == 3
    first = rx.bodies[0][1]
    assert first and all(body == first for _, body in rx.bodies)
    assert all(headers.get("transfer-encoding") == "chunked" for headers, _ in rx.bodies)
    assert json.loads(first)["message"]["text"].startswith("Повторите")


def test_no_resend_after_a_4xx():
    rx = FlakyReceiver(failures=0)
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def refuse(request):
        rx.bodies.append((dict(request.headers), await request.body()))
        return PlainTextResponse("bad", status_code=400)

    rx.server = ServerThread(Starlette(routes=[Route("/hook", refuse, methods=["POST"])]))
    with rx.server, Sandbox(webhook_retries=3, webhook_retry_wait=0.0) as sb:
        sb.configure_step(2, webhook_url=rx.server.url + "/hook")
        assert sb.operator_say("refused", "x") is False
        (dropped,) = sb.history.entries("dropped", client_id="refused")
        assert dropped.detail["status"] == 400 and dropped.detail["attempts"] == 1
    assert len(rx.bodies) == 1
