"""The servers' HTTP parser: httptools by default (a dependency: what `uvicorn[standard]` users run),
h11 when httptools is missing, h11 on request. Checked on a real server answering real requests."""

import json
import subprocess
import sys

import pytest

CHECK = """
import json, sys
{block}
import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from jivo_ops.channel.serving import ServerThread, ServingLimits, make_server

app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("ok"))])
limits = ServingLimits() if {http!r} is None else ServingLimits(http={http!r})
with ServerThread(app, limits=limits) as server:
    answer = httpx.get(server.url + "/").text
parser = [base.__name__ for base in make_server(app, limits=limits).config.http.__mro__]
print(json.dumps({{"answer": answer, "h11": "H11Protocol" in parser, "httptools": "HttpToolsProtocol" in parser}}))
"""
HIDE_HTTPTOOLS = "sys.modules['httptools'] = None  # as if it were not installed"


def serve(http, *, hide_httptools=False):
    code = CHECK.format(block=HIDE_HTTPTOOLS if hide_httptools else "", http=http)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_the_default_parser_is_httptools():
    pytest.importorskip("httptools")
    shown, _ = serve(None)
    assert shown == {"answer": "ok", "h11": False, "httptools": True}


def test_without_httptools_the_default_serves_on_h11_and_says_so():
    shown, stderr = serve(None, hide_httptools=True)
    assert shown == {"answer": "ok", "h11": True, "httptools": False}
    assert "httptools is not installed: serving with h11" in stderr


@pytest.mark.parametrize("http", ["h11", "auto"])
def test_h11_and_auto_still_serve(http):
    shown, stderr = serve(http, hide_httptools=http == "auto")
    assert shown == {"answer": "ok", "h11": True, "httptools": False}
    assert "httptools is not installed" not in stderr
