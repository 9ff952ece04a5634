"""The browser run: a real JupyterLab on a free port, driven by headless Debian Chromium via Playwright.

Run it on its own (sync Playwright and anyio clash in one process)::

    .venv/bin/python -m pytest -q -o addopts="" -p no:cacheprovider tests_ui

What a session does (the traps are written up in ../shared/TOOLCHAIN.md §4–5):
- copies notebooks/ to a temp root with every output stripped, so whatever renders came from this run;
- starts ``jupyter lab`` with ``subprocess.Popen`` (its own PID, stopped by that PID), port_retries=0,
  no token, temp JUPYTER_CONFIG_DIR / RUNTIME_DIR and an ``overrides.json`` that silences the news toast;
- launches /usr/bin/chromium (``playwright install`` cannot download here) with the flags below.
Screenshots land in test-artifacts/ui/. Without chromium or playwright the run skips, saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "test-artifacts" / "ui"
CHROMIUM = os.environ.get("JIVO_OPS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]
LAB_START_TIMEOUT = 90.0

# The "Jupyter news?" toast covers the page; this is JupyterLab's documented way to switch it off.
# Every cell stays attached to the DOM ("none" windowing), so selectors see cells below the fold too.
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}


def _missing_browser_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return (f"chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` "
                "(.ci/run does) or set JIVO_OPS_CHROMIUM")
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed: `make install` (extra [ui])"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _copy_notebooks(dest: Path) -> None:
    """notebooks/ → dest, outputs and execution counts stripped (nothing stale can pass for a result)."""
    import nbformat

    shutil.copytree(NOTEBOOKS, dest, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__",
                                                                   "*.sqlite*", "out"))
    for path in dest.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nb.metadata.pop("widgets", None)
        nbformat.write(nb, path)


class LabServer:
    """One JupyterLab process: its URL, root folder and log; `shutdown_kernels()` between tests."""

    def __init__(self, base: Path):
        self.base = base
        self.root = base / "root"
        self.log_path = base / "lab.log"
        self.process: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "LabServer":
        _copy_notebooks(self.root)
        config, runtime, settings = self.base / "config", self.base / "runtime", self.base / "app-settings"
        for folder in (config, runtime, settings):
            folder.mkdir(parents=True, exist_ok=True)
        (settings / "overrides.json").write_text(json.dumps(LAB_OVERRIDES))
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config), JUPYTER_RUNTIME_DIR=str(runtime),
                   JIVO_OPS_UI_TEST="1", PYTHONUNBUFFERED="1")
        env.pop("JIVO_OPS_PROFILE", None)  # the notebooks run against their own sandbox here
        last_error = ""
        for _attempt in range(3):  # a free port can be taken between probe and bind: try another
            self.port = _free_port()
            cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
                   f"--port={self.port}", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
                   "--ServerApp.password=", f"--ServerApp.root_dir={self.root}",
                   f"--LabApp.app_settings_dir={settings}", "--LabApp.extension_manager=readonly",
                   "--LabApp.news_url=None", "--MappingKernelManager.cull_idle_timeout=0"]
            log = open(self.log_path, "ab")
            self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.root)
            log.close()
            if self._wait_ready():
                return self
            last_error = self.log_tail()
            self.stop()
        raise RuntimeError(f"JupyterLab did not start; last log lines:\n{last_error}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + LAB_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.url}/api/status", timeout=2.0).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        return False

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def shutdown_kernels(self) -> None:
        """Stop every kernel the last test started: each notebook runs its own sandbox."""
        try:
            for kernel in httpx.get(f"{self.url}/api/kernels", timeout=5.0).json():
                httpx.delete(f"{self.url}/api/kernels/{kernel['id']}", timeout=15.0)
        except httpx.HTTPError:
            pass

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """pytest-playwright's launch options: Debian chromium, headless flags; skip when it is absent."""
    reason = _missing_browser_reason()
    if reason:
        pytest.skip(reason)
    return {"executable_path": CHROMIUM, "args": CHROMIUM_FLAGS, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args():
    # tall enough for a whole widget in one element screenshot (the notebook scrolls inside the page)
    return {"viewport": {"width": 1400, "height": 1900}, "locale": "en-US"}


@pytest.fixture(scope="session")
def lab(browser_type_launch_args, tmp_path_factory) -> LabServer:
    server = LabServer(tmp_path_factory.mktemp("lab")).start()
    yield server
    server.stop()


@pytest.fixture
def fresh_lab(lab):
    """The lab server, with no kernel left running by the previous test."""
    yield lab
    lab.shutdown_kernels()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
