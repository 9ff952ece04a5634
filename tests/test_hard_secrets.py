"""Hard tests, secrets: a profile whose tokens are distinctive random strings goes through every CLI
command (success and error paths, `-vv` HTTP logging on), the reprs, the exceptions, the exported
files and the widgets; no token shows up anywhere (masks may keep the last 4 characters). The
committed notebooks carry no token-shaped string; profile and export files are 0600; the recorder
and the sandbox bind 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import socket
import stat
import string
from pathlib import Path

import pytest

from jivo_ops.cli import build_parser, main
from jivo_ops.errors import JivoOpsError
from jivo_ops.profile import JaicpSettings, JivoSettings, Profile, load_profile, save_profile
from jivo_ops.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: connections are refused


class Secrets:
    """Distinctive tokens and a profile that holds them, pointing at a port nobody listens on."""

    def __init__(self):
        port = closed_port()
        self.chat_key, self.chat_hex = rand(8), rand(40, "0123456789abcdef")
        self.webhook = rand(32)
        self.jivo_key, self.jivo_id = rand(16), rand(10)
        self.reporter = rand(40)
        base = f"http://127.0.0.1:{port}"
        self.unique_url = f"{base}/{self.jivo_key}/{self.jivo_id}"
        self.webhook_url = f"{base}/chatadapter/chatapi/webhook/jivosite/{self.webhook}"
        self.profile = Profile(
            jaicp=JaicpSettings(chat_api_url=f"{base}/chatapi/{self.chat_key}:{self.chat_hex}",
                                internal_webhook_url=self.webhook_url, external_api_endpoint=self.unique_url,
                                reporter_url=f"{base}/api/v1/reporter", reporter_token=self.reporter),
            jivo=JivoSettings(webhook_url=self.webhook_url, unique_url=self.unique_url, chunked=True),
            name="secret-test")

    @property
    def tokens(self) -> list[str]:
        return [f"{self.chat_key}:{self.chat_hex}", self.chat_hex, self.webhook, self.jivo_key, self.jivo_id,
                self.reporter]


def leaks(text: str, tokens: list[str]) -> list[str]:
    """Token pieces present in `text`: any run of the token longer than the 4-character tail a mask may show."""
    found = []
    for token in tokens:
        window = min(10, len(token) - 4)
        if any(token[i:i + window] in text for i in range(len(token) - 4 - window + 1)):
            found.append(token[:3] + "…")
    return found


def sandbox_tokens(sb: Sandbox) -> list[str]:
    p = sb.profile
    chat = p.jaicp.chat_api_url.rsplit("/", 1)[1]
    key, ident = p.jivo.unique_url.rstrip("/").rsplit("/", 2)[1:]
    return [chat, chat.split(":")[1], p.jaicp.internal_webhook_url.rsplit("/", 1)[1], key, ident,
            p.jaicp.reporter_token]


@pytest.fixture
def fake(tmp_path) -> tuple[Secrets, Path]:
    s = Secrets()
    path = save_profile(s.profile, tmp_path / "profile.toml")
    return s, path


def run_cli(argv: list[str], capsys, caplog) -> str:
    """Run one command in-process; everything it showed (stdout, stderr, log records at DEBUG)."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
    out, err = capsys.readouterr()
    records = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    return f"[exit {code}]\n{out}\n{err}\n{records}"


def test_profile_files_are_0600_and_reprs_mask_every_token(fake):
    s, path = fake
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_profile(path, env=False)
    shown = repr(again) + again._repr_html_() + str(again)
    assert not leaks(shown, s.tokens), shown


def test_every_cli_command_on_error_paths_shows_no_token(fake, tmp_path, capsys, caplog):
    s, path = fake
    out = tmp_path / "out"
    out.mkdir()
    commands = [
        ["-vv", "check", "--profile", str(path)],
        ["-vv", "check", "--profile", str(path), "--probe", "--timeout", "1"],
        ["check", "--profile", str(path), "--format", "json"],
        ["-vv", "jivo", "status", "--profile", str(path), "--retries", "0"],
        ["-vv", "jivo", "status", s.unique_url, "--retries", "1", "--retry-wait", "0"],
        ["-vv", "jivo", "send", s.unique_url, "--client-id", "c1", "--text", "привет", "--retries", "1",
         "--retry-wait", "0", "--timeout", "1"],
        ["-vv", "transfer", "--profile", str(path), "--clients", "2", "--step-timeout", "1", "--no-progress",
         "--out", str(out / "t.jsonl"), "--timeline"],
        ["-vv", "probe", "jivo", "--profile", str(path), "--timeout", "1"],
        ["-vv", "probe", "jaicp", "--profile", str(path), "--timeout", "1", "--json"],
        ["logs", str(out / "t.jsonl"), "--transfers", "--out", str(out / "t.csv")],
        ["logs", str(out / "t.jsonl"), "--format", "json"],
        ["switch", "--attr", f"token={s.reporter[:4]}"],  # nothing secret to show; must still run
        ["-vv", "replay", str(out / "none.sqlite"), "--to", s.webhook_url],
        ["jivo", "send", s.unique_url + "/extra/../", "--client-id", "", "--text", ""],  # a usage error
        ["check", "--profile", str(tmp_path / "missing.toml")],
    ]
    for argv in commands:
        shown = run_cli(argv, capsys, caplog)
        assert not leaks(shown, s.tokens), f"{argv[:3]} leaked {leaks(shown, s.tokens)}:\n{shown[:2000]}"
    # exported files
    for file in out.iterdir():
        assert not leaks(file.read_text(encoding="utf-8", errors="replace"), s.tokens), file.name


def test_recorder_cli_shows_its_token_only_on_the_paste_line_and_exports_mask_it(fake, tmp_path, capsys, caplog):
    s, _ = fake
    store = tmp_path / "hooks.sqlite"
    token = rand(24)
    # tap mode toward the (unreachable) secret Internal Webhook Url: the 502 and the target are recorded
    from jivo_ops.recorder.server import Recorder

    import httpx

    with Recorder(store, token=token, forward=s.webhook_url, forward_timeout=1) as rec:
        r = httpx.post(rec.url, json={"recipient": {"id": "c1"}, "message": {"type": "text", "text": "ok"}},
                       headers={"Authorization": "Bearer " + s.reporter}, timeout=10)
        assert r.status_code in (502, 504)
        shown_repr = repr(rec) + rec.masked_url
    assert not leaks(shown_repr, s.tokens + [token])
    shown = run_cli(["record", "--listen", "127.0.0.1:0", "--store", str(store), "--token", token,
                     "--duration", "0.5"], capsys, caplog)
    paste = [line for line in shown.splitlines() if "Paste into Jivo" in line]
    assert len(paste) == 1 and token in paste[0]
    rest = "\n".join(line for line in shown.splitlines() if "Paste into Jivo" not in line)
    assert not leaks(rest, s.tokens + [token]), rest
    for fmt in ("curl", "har", "jsonl"):
        target = tmp_path / f"export.{fmt}"
        shown = run_cli(["export", str(store), "--format", fmt, "--out", str(target)], capsys, caplog)
        text = target.read_text(encoding="utf-8")
        # JSONL keeps every recorded byte by contract (the caller's own Authorization header included);
        # curl and HAR mask credentials unless --reveal.
        watched = s.tokens + [token] if fmt != "jsonl" else [t for t in s.tokens if t != s.reporter] + [token]
        assert not leaks(shown + text, watched), (fmt, leaks(shown + text, watched))
        assert stat.S_IMODE(target.stat().st_mode) == 0o600, fmt
        shown = run_cli(["export", str(store), "--format", fmt], capsys, caplog)
        assert not leaks(shown, watched), fmt


def test_success_paths_on_the_sandbox_show_no_token(tmp_path, capsys, caplog):
    with Sandbox() as sb:
        tokens = sandbox_tokens(sb)
        path = save_profile(sb.profile, tmp_path / "sb.toml")
        p = sb.profile
        for argv in (
            ["-vv", "check", "--profile", str(path), "--probe"],
            ["-vv", "jivo", "status", "--profile", str(path)],
            ["-vv", "jivo", "send", "--profile", str(path), "--client-id", "c9", "--text", "оператор"],
            ["-vv", "transfer", "--profile", str(path), "--clients", "3", "--no-progress", "--timeline",
             "--out", str(tmp_path / "ok.jsonl")],
            ["-vv", "probe", "jivo", "--profile", str(path)],
            ["-vv", "probe", "jaicp", "--profile", str(path), "--json"],
            ["logs", str(tmp_path / "ok.jsonl"), "--transfers"],
        ):
            shown = run_cli(argv, capsys, caplog)
            assert not leaks(shown, tokens), f"{argv[:3]} leaked:\n{shown[:2000]}"
        assert not leaks((tmp_path / "ok.jsonl").read_text(encoding="utf-8"), tokens)
        assert not leaks(repr(sb) + repr(p), tokens)


def test_sandbox_command_writes_a_0600_profile_and_prints_it_masked(tmp_path, capsys, caplog):
    path = tmp_path / "sandbox-profile.toml"
    shown = run_cli(["sandbox", "--duration", "0.5", "--profile-out", str(path)], capsys, caplog)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    prof = load_profile(path, env=False)
    chat = prof.jaicp.chat_api_url.rsplit("/", 1)[1]
    tokens = [chat, prof.jaicp.internal_webhook_url.rsplit("/", 1)[1], prof.jaicp.reporter_token,
              *prof.jivo.unique_url.rsplit("/", 2)[1:]]
    assert not leaks(shown, tokens), shown[:2000]


def test_api_errors_and_reprs_mask_every_token(fake):
    from jivo_ops.channel.http import RetryPolicy
    from jivo_ops.channel.jaicp import ChatApiClient, ReporterClient
    from jivo_ops.channel.jivo import JivoClient

    s, _ = fake
    p = s.profile
    texts = []
    with JivoClient(p.jivo.unique_url, retry=RetryPolicy(retries=1, wait=0), timeout=1) as jivo, \
            ChatApiClient(p.jaicp.chat_api_url, timeout=1) as api, \
            ReporterClient(p.jaicp.reporter_url, p.jaicp.reporter_token, timeout=1) as reporter:
        texts += [repr(jivo), repr(api), repr(reporter)]
        for call in (jivo.status, lambda: jivo.send_text("c", "t"), lambda: api.send_query("c", "hi"),
                     lambda: api.poll_events("c", timeout=1), lambda: reporter.messages_by_client(client_id="c")):
            with pytest.raises(JivoOpsError) as info:
                call()
            texts += [str(info.value), repr(info.value), *map(str, info.value.args)]
    for bad in (s.unique_url.replace("http://", "htp://"), s.unique_url.replace("127.0.0.1", "")):
        with pytest.raises(JivoOpsError) as info:
            JivoClient(bad)
        texts.append(str(info.value))
    joined = "\n".join(texts)
    assert not leaks(joined, s.tokens), joined


def test_a_broken_profile_names_the_line_without_showing_the_token(tmp_path):
    s = Secrets()
    path = tmp_path / "broken.toml"
    path.write_text(f'[jaicp]\nreporter_token = "{s.reporter}\nchat_api_url = "{s.profile.jaicp.chat_api_url}"\n'
                    f'[jivo]\nunique_url = {s.unique_url}\n', encoding="utf-8")
    with pytest.raises(JivoOpsError) as info:
        load_profile(path, env=False)
    assert not leaks(str(info.value), s.tokens), str(info.value)
    path.write_text(f'[jivo]\nunique_url = "{s.unique_url}"\nchunked = "{s.reporter}"\n', encoding="utf-8")
    with pytest.raises(JivoOpsError) as info:
        load_profile(path, env=False)
    assert not leaks(str(info.value), s.tokens), str(info.value)


def widget_texts(widget) -> list[str]:
    """Every string a widget tree shows (values, labels, options, HTML). Input fields are where a user
    pastes a token, so a Password's value and a hidden (display: none) Text's value are left out —
    `hidden_inputs` checks those are really hidden."""
    import ipywidgets as w

    out, seen, stack = [], set(), [widget]
    while stack:
        item = stack.pop()
        if id(item) in seen or not isinstance(item, w.Widget):
            continue
        seen.add(id(item))
        for key, value in item.get_state().items():
            if key == "value" and (isinstance(item, w.Password) or
                                   (isinstance(item, w.Text) and item.layout.display == "none")):
                continue
            if isinstance(value, str):
                out.append(value)
            elif isinstance(value, (list, tuple)):
                out.extend(str(v) for v in value if not isinstance(v, w.Widget))
        stack.extend(getattr(item, "children", ()) or ())
    return out


def test_widgets_headless_show_no_token(fake, tmp_path):
    from jivo_ops.widgets import LogExplorer, SetupPanel, SwitchBuilder, TransferConsole

    s, path = fake
    texts = []
    panel = SetupPanel(s.profile, profile_path=tmp_path / "saved.toml")
    texts += widget_texts(panel) + [repr(panel)]
    panel.save_button.click()
    saved = tmp_path / "saved.toml"
    if saved.exists():
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    texts += widget_texts(panel)
    builder = SwitchBuilder()
    texts += widget_texts(builder)
    console = TransferConsole(s.profile, clients=2, concurrency=2, step_timeout=1)
    texts += widget_texts(console)
    console.run_button.click()  # error path: nothing listens at the profile's URLs
    batch = console.wait(60)
    assert batch is not None and {r.outcome for r in batch} == {"error"}
    texts += widget_texts(console) + [repr(console), console.status.text]
    jsonl = tmp_path / "t.jsonl"
    from jivo_ops.transfer import run_transfers

    batch = run_transfers(s.profile, clients=1, step_timeout=1, progress=False)
    batch.to_jsonl(jsonl)
    explorer = LogExplorer(jsonl, export_dir=tmp_path / "exports")
    explorer.wait(60)
    texts += widget_texts(explorer) + [repr(explorer)]
    from jivo_ops.recorder.server import Recorder
    from jivo_ops.widgets import RecorderPanel

    import httpx

    with Recorder(tmp_path / "hooks.sqlite", forward=s.webhook_url, forward_timeout=1) as rec:
        httpx.post(rec.url, json={"recipient": {"id": "c1"}, "message": {"type": "text", "text": "ok"}}, timeout=10)
        recorder_panel = RecorderPanel(tmp_path / "hooks.sqlite")
        recorder_panel.refresh()
        texts += widget_texts(recorder_panel) + [repr(recorder_panel)]
        recorder_panel.close()
        tokens = s.tokens + [rec.token]
    for file in (tmp_path / "exports").glob("*"):
        texts.append(file.read_text(encoding="utf-8", errors="replace"))
    joined = "\n".join(texts)
    assert not leaks(joined, tokens), leaks(joined, tokens)


TOKEN_SHAPES = [re.compile(r"\b[A-Za-z0-9]{8}:[0-9a-f]{40}\b"),                  # JAICP Chat API token
                re.compile(r"/[A-Za-z0-9]{16}/[A-Za-z0-9]{10}(?![A-Za-z0-9])"),   # Jivo unique URL
                re.compile(r"webhook/jivosite/[A-Za-z0-9_-]{8,}"),                # Internal Webhook Url token
                re.compile(r"/hook/[A-Za-z0-9._~-]{8,}"),                         # recorder token
                re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]{8,}")]


def token_shaped(text: str) -> list[str]:
    """Unmasked strings shaped like the tokens of this integration (for output whose tokens we do not know)."""
    return [m.group(0)[:12] + "…" for shape in TOKEN_SHAPES for m in shape.finditer(text)]


def test_demo_shows_nothing_token_shaped(capsys, caplog):
    shown = run_cli(["-vv", "demo", "--clients", "2"], capsys, caplog)
    assert "[exit 0]" in shown, shown[-2000:]
    assert not token_shaped(shown), token_shaped(shown)


def test_committed_notebooks_carry_no_token():
    shapes = TOKEN_SHAPES
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not notebooks:
        pytest.skip("no notebooks committed yet")
    found = []
    for nb in notebooks:
        data = json.loads(nb.read_text(encoding="utf-8"))
        for number, cell in enumerate(data.get("cells", [])):
            texts = []
            for output in cell.get("outputs", []):
                texts.append(json.dumps(output, ensure_ascii=False))
            for text in texts:
                for shape in shapes:
                    for match in shape.finditer(text):
                        found.append(f"{nb.name} cell {number}: {match.group(0)[:12]}…")
        metadata = json.dumps(data.get("metadata", {}), ensure_ascii=False)
        for shape in shapes:
            if shape.search(metadata):
                found.append(f"{nb.name} metadata (saved widget state?)")
    assert not found, found[:10]


def test_servers_bind_loopback_unless_told_otherwise(tmp_path):
    from jivo_ops.recorder.server import Recorder

    parser = build_parser()
    assert parser.parse_args(["record", "--store", "x.sqlite"]).listen.startswith("127.0.0.1:")
    assert parser.parse_args(["sandbox"]).host == "127.0.0.1"
    import psutil

    def listening(port: int) -> set[str]:
        return {c.laddr.ip for c in psutil.Process().net_connections(kind="tcp")
                if c.status == psutil.CONN_LISTEN and c.laddr.port == port}

    with Recorder(tmp_path / "r.sqlite") as rec:
        assert rec.base_url.startswith("http://127.0.0.1:")
        assert listening(rec.port) == {"127.0.0.1"}
    with Sandbox() as sb:
        assert sb.jaicp_url.startswith("http://127.0.0.1:") and sb.jivo_url.startswith("http://127.0.0.1:")
        for url in (sb.jaicp_url, sb.jivo_url):
            assert listening(int(url.rsplit(":", 1)[1])) == {"127.0.0.1"}


# ------------------------------------------------------------------ a target that echoes its own URL


class EchoServer:
    """A plain HTTP server whose every answer repeats the URL it was asked for, in a header and the body."""

    def __init__(self):
        import http.server
        import threading

        class Echo(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                url = f"http://127.0.0.1:{self.server.server_port}{self.path}"
                body = json.dumps({"you_called": url}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Location", url)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def echo():
    server = EchoServer()
    yield server
    server.close()


def test_vv_logging_masks_the_records_of_child_loggers(echo):
    """`-vv` logs httpcore.http11's answer headers and jivo_ops.http's lines: the handler masks them all."""
    import subprocess
    import sys

    key, ident = rand(16), rand(10)
    url = f"http://127.0.0.1:{echo.port}/{key}/{ident}"
    run = subprocess.run([sys.executable, "-c", "import sys; from jivo_ops.cli import main; sys.exit(main(sys.argv[1:]))", "-vv", "jivo", "status", url, "--retries", "0",
                          "--timeout", "5"], capture_output=True, text=True, timeout=60)
    shown = run.stdout + run.stderr
    assert "httpcore.http11" in shown, shown  # the child logger did log
    assert not leaks(shown, [key, ident]), shown


def test_exports_mask_a_target_answer_that_echoes_its_url_unless_reveal(echo, tmp_path, capsys, caplog):
    from jivo_ops.recorder.server import Recorder

    import httpx

    secret = rand(32)
    target = f"http://127.0.0.1:{echo.port}/chatadapter/chatapi/webhook/jivosite/{secret}"
    store = tmp_path / "tap.sqlite"
    with Recorder(store, token=rand(24), forward=target, forward_timeout=5) as rec:
        r = httpx.post(rec.url, json={"recipient": {"id": "c1"}, "message": {"type": "text", "text": "ok"}},
                       timeout=10)
        assert secret in r.text  # the caller got the target's answer as it was
    import subprocess
    import sys

    for fmt in ("har", "jsonl"):
        masked, revealed = tmp_path / f"masked.{fmt}", tmp_path / f"revealed.{fmt}"
        for argv in (["--out", str(masked)], ["--out", str(revealed), "--reveal"]):
            # a fresh process: this one has the target's URL registered as a secret, `export` would not
            subprocess.run([sys.executable, "-c", "import sys; from jivo_ops.cli import main; sys.exit(main(sys.argv[1:]))",
                            "export", str(store), "--format", fmt, *argv], check=True, timeout=60)
        assert not leaks(masked.read_text(encoding="utf-8"), [secret]), fmt
        assert secret in revealed.read_text(encoding="utf-8"), fmt


def test_the_log_handlers_uvicorn_adds_when_a_server_starts_mask_tokens():
    from starlette.applications import Starlette

    from jivo_ops.channel.serving import ServerThread
    from jivo_ops.redaction import RedactingFilter

    with ServerThread(Starlette()):
        handlers = [h for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
                    for h in logging.getLogger(name).handlers]
    assert handlers and all(any(isinstance(f, RedactingFilter) for f in h.filters) for h in handlers)
