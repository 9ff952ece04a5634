"""Driving one notebook in JupyterLab as a user would: open, wait for the kernel, Run All Cells.

The kernel is "ready" when its channel websocket has delivered a ``kernel_info_reply``; the
execution indicator says "idle" before that socket even opens, and a Run All sent then is lost
(TOOLCHAIN §4). Frames are collected from the moment a socket opens, so none is missed.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, WebSocket

__all__ = ["NotebookSession"]

CELL_ERROR = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"


class NotebookSession:
    def __init__(self, page: Page, base_url: str, name: str, artifacts: Path):
        self.page, self.base_url, self.name, self.artifacts = page, base_url, name, artifacts
        self._ready_sockets: set[str] = set()
        self._shots = 0
        page.on("websocket", self._watch)

    # -- kernel ---------------------------------------------------------------------------------
    def _watch(self, ws: WebSocket) -> None:
        if "/api/kernels/" not in ws.url:
            return

        def keep(frame) -> None:
            text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
            if "kernel_info_reply" in text:
                self._ready_sockets.add(ws.url)

        ws.on("framereceived", keep)

    def _kernel_id(self) -> str | None:
        """The id of the kernel of this notebook's session (other tabs may have kernels too)."""
        try:
            sessions = httpx.get(f"{self.base_url}/api/sessions", timeout=5.0).json()
        except (httpx.HTTPError, ValueError):
            return None
        for session in sessions:
            if session.get("path") == self.name and session.get("kernel"):
                return session["kernel"]["id"]
        return None

    def open(self, timeout: float = 90.0) -> "NotebookSession":
        """Open the notebook in a workspace of its own (no tabs restored from other tests) and wait
        until *its* kernel's channel websocket has answered kernel_info."""
        stem = Path(self.name).stem.strip("_") or "nb"
        self.page.goto(f"{self.base_url}/lab/workspaces/{stem}/tree/{self.name}?reset", timeout=timeout * 1000)
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=timeout * 1000)
        deadline = time.monotonic() + timeout
        while True:
            kernel = self._kernel_id()
            if kernel and any(kernel in url for url in self._ready_sockets):
                break
            if time.monotonic() > deadline:
                self.screenshot("kernel-timeout")
                raise AssertionError(f"{self.name}: no kernel_info_reply on its kernel websocket in {timeout:.0f} s")
            self.page.wait_for_timeout(200)
        return self

    # -- running --------------------------------------------------------------------------------
    def run_all(self, timeout: float = 240.0) -> None:
        """Run → Run All Cells, then wait until every code cell has an execution count."""
        page = self.page
        page.click(".jp-NotebookPanel .jp-Notebook .jp-Cell >> nth=0")
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_text("Run All Cells", exact=True).click()
        self.wait_all_executed(timeout)

    def prompts(self) -> list[str]:
        return self.page.eval_on_selector_all(
            ".jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt", "els => els.map(e => e.textContent.trim())")

    def errors(self) -> list[str]:
        texts = self.page.eval_on_selector_all(CELL_ERROR, "els => els.map(e => e.innerText)")
        return [t for t in texts if "Error" in t or "Traceback" in t]

    def wait_all_executed(self, timeout: float) -> None:
        started = time.monotonic()
        deadline = started + timeout
        while True:
            prompts = self.prompts()
            done = prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts)
            idle = self.page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() > 0
            if done and idle:
                break
            errors = self.errors()
            if errors:
                self.screenshot("error")
                raise AssertionError(f"{self.name}: a cell failed:\n{errors[0][-2000:]}")
            if time.monotonic() > deadline:
                self.screenshot("timeout")
                raise AssertionError(f"{self.name}: cells not all executed in {timeout:.0f} s; prompts: {prompts}")
            if time.monotonic() > started + 60 and all(p == "[ ]:" for p in prompts):
                self.screenshot("not-started")
                raise AssertionError(f"{self.name}: Run All Cells reached no cell in 60 s (kernel not connected?)")
            self.page.wait_for_timeout(500)
        errors = self.errors()
        assert not errors, f"{self.name}: a cell failed:\n{errors[0][-2000:]}"

    def execute(self, code: str, timeout: float = 60.0) -> None:
        """Add a cell at the end, type `code` and run it, the way a user would (Esc, b, Enter, type, Shift+Enter)."""
        page = self.page
        count = len(self.prompts())
        page.click(".jp-NotebookPanel .jp-Notebook .jp-Cell >> nth=-1")
        page.keyboard.press("Escape")
        page.keyboard.press("b")
        page.keyboard.press("Enter")
        page.keyboard.type(code)
        page.keyboard.press("Shift+Enter")
        deadline = time.monotonic() + timeout
        while True:
            prompts = self.prompts()
            if len(prompts) > count and re.fullmatch(r"\[\d+\]:", prompts[count]):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: typed cell did not run in {timeout:.0f} s; prompts: {prompts}")
            page.wait_for_timeout(250)

    # -- looking --------------------------------------------------------------------------------
    def widget(self, css: str, *, nth: int = 0, timeout: float = 60.0):
        """The `nth` rendered widget element matching `css` inside an output area, scrolled into view."""
        locator = self.page.locator(f".jp-OutputArea-output {css}").nth(nth)
        locator.wait_for(state="visible", timeout=timeout * 1000)
        locator.scroll_into_view_if_needed()
        return locator

    def wait_text(self, locator, pattern: str, timeout: float = 60.0) -> str:
        """Wait until `locator`'s text matches the regex `pattern`; returns the text."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = locator.inner_text()
            if re.search(pattern, text):
                return text
            self.page.wait_for_timeout(250)
        self.screenshot("text-timeout")
        raise AssertionError(f"{self.name}: {pattern!r} did not appear in {timeout:.0f} s; text was:\n{text[-1500:]}")

    def screenshot(self, label: str, locator=None) -> Path:
        self._shots += 1
        stem = Path(self.name).stem
        path = self.artifacts / f"{stem}-{self._shots:02d}-{label}.png"
        if locator is not None:
            locator.screenshot(path=str(path))
        else:
            self.page.screenshot(path=str(path), full_page=False)
        return path
