"""Pieces every widget shares: background jobs, a status line, masked copy-friendly URLs.

Why these exist (DESIGN.md, notebook notes):
- ``Button.click()`` and the comm handler swallow a handler's exception: `guarded` catches it and
  shows it in the widget's `StatusLine` instead, one line, secrets redacted.
- An ``async`` click handler is never awaited, and a long call inside a handler freezes the
  kernel: `BackgroundJob` runs the operation in a worker thread (a coroutine in that thread's own
  event loop, so `cancel()` can reach it) and reports back through callbacks.
- Widget state can end up in a saved notebook: secrets stay out of every widget *value* unless
  the user presses «Показать» (reveal), and each view's ``__repr__`` (the text/plain output)
  is a short summary that never holds a URL.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import html
import inspect
import threading
import time
import traceback
import weakref
from typing import Any, Callable, Mapping

import ipywidgets as w
import traitlets as t

from ..errors import JivoOpsError
from ..i18n import _
from ..redaction import mask_url, redact

__all__ = ["BackgroundJob", "StatusLine", "SecretUrl", "guarded", "error_text", "esc", "copyable", "reveal_button", "table_html",
           "form_traits", "OK_MARK", "FAIL_MARK", "WARN_MARK"]

OK_MARK, FAIL_MARK, WARN_MARK = "✓", "✗", "⚠"
_COLORS = {"info": "#444", "ok": "#1a7f37", "error": "#c62828", "busy": "#8a6d00", "warning": "#9a6700"}


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def copyable(text: str, *, block: bool = False) -> str:
    """HTML that selects itself whole on one click, ready for Ctrl+C (the value is escaped here)."""
    style = "user-select:all;-webkit-user-select:all;cursor:text;background:#f6f8fa;padding:2px 4px;"
    if block:
        return (f"<pre style='{style}white-space:pre-wrap;margin:0;max-height:24em;overflow:auto'>"
                f"{esc(text)}</pre>")
    # a long URL breaks anywhere rather than running off the panel
    return f"<code style='{style}overflow-wrap:anywhere;word-break:break-all'>{esc(text)}</code>"


TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # no microseconds, no "+00:00": the zone is said once, in the header


def utc_time_text(moment) -> str:
    """A timestamp on the UTC clock, to the second (naive ones are UTC already, as everywhere in jivo_ops)."""
    return (moment.tz_convert("UTC") if moment.tzinfo else moment).strftime(TIME_FORMAT)


def table_html(frame, headers: Mapping[str, str], *, caption: str = "", formats: Mapping[str, Any] | None = None,
               css_class: str = "", wrap_cells: bool = False) -> str:
    """A DataFrame as a widget's HTML table (pandas Styler): `headers` relabel the columns for display (the
    frame keeps its column names), NA reads "—", times are UTC without microseconds, `formats` give a column
    its one number format; no index. Headers (and cells, unless `wrap_cells`) stay on one line; a table
    wider than the panel scrolls sideways instead of being cut."""
    from pandas.api.types import is_datetime64_any_dtype

    shown_formats: dict[str, Any] = {c: utc_time_text for c in frame.columns if is_datetime64_any_dtype(frame[c])}
    shown_formats.update(formats or {})
    styler = (frame.style.hide(axis="index").format(shown_formats, na_rep="—")
              .relabel_index([headers.get(c, c) for c in frame.columns], axis="columns")
              .set_table_attributes(f'class="{esc(css_class)}"')
              .set_table_styles([{"selector": "td, th", "props": "padding:1px 8px;text-align:left"},
                                 {"selector": "th" if wrap_cells else "td, th", "props": "white-space:nowrap"}]))
    if caption:
        styler = styler.set_caption(esc(caption))
    return f"<div style='overflow-x:auto;max-width:100%'>{styler.to_html()}</div>"


def reveal_button(tooltip: str) -> w.ToggleButton:
    """«Показать»: sized to its label (never cut to «Пок…» beside other buttons)."""
    return w.ToggleButton(value=False, description=_("Show"), tooltip=tooltip, icon="eye",
                          layout=w.Layout(width="auto", min_width="fit-content", flex="0 0 auto"))


def form_traits(class_name: str, defaults: Mapping[str, str | bool | int | float]) -> type[t.HasTraits]:
    """A HasTraits base class with one trait per form value (Bool for a flag, Int/Float for a number,
    Unicode for text),
    defaulting to it: a form model built from its operation's own field list, not a copy of it."""
    kinds = {bool: t.Bool, int: t.Int, float: t.Float}
    traits = {name: kinds.get(type(value), t.Unicode)(value) for name, value in defaults.items()}
    return type(class_name, (t.HasTraits,), traits)


def error_text(exc: BaseException) -> str:
    """One line for the user: our own errors as they are, others with their type; secrets redacted."""
    if isinstance(exc, JivoOpsError):
        return redact(str(exc))
    return redact(f"{type(exc).__name__}: {exc}")


class StatusLine(w.HTML):
    """One line under a form: what is going on, what went wrong. `.text` is the plain message."""

    def __init__(self, text: str = "", **kwargs: Any):
        super().__init__(**kwargs)
        self.text = ""
        self.kind = "info"
        self.show(text)

    def show(self, text: str, kind: str = "info") -> None:
        self.text, self.kind = redact(text), kind
        color = _COLORS.get(kind, _COLORS["info"])
        self.value = f"<span style='color:{color}'>{esc(self.text)}</span>" if self.text else ""

    def error(self, exc_or_text: BaseException | str) -> None:
        text = error_text(exc_or_text) if isinstance(exc_or_text, BaseException) else exc_or_text
        self.show(f"{FAIL_MARK} {text}", "error")

    def __repr__(self) -> str:
        return f"StatusLine({self.text!r})"


def guarded(status_of: Callable[[Any], StatusLine]):
    """Decorate a view's handler so an exception lands in its status line, not in a lost traceback."""

    def wrap(method):
        @functools.wraps(method)
        def run(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - shown to the user, never swallowed silently
                status_of(self).error(exc)
                self.last_error = exc
                return None

        return run

    return wrap


class BackgroundJob:
    """Run an operation off the kernel's thread; `cancel()` stops a coroutine, `stop_event` asks a sync one.

    ``fn(*args, **kwargs)`` may be a plain function or a coroutine function. Callbacks
    ``on_done(result)`` and ``on_error(exc)`` run in the worker thread (ipywidgets sends from any
    thread). A cancelled coroutine reports ``on_error(asyncio.CancelledError())``.
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
                 on_error: Callable[[BaseException], None] | None = None, name: str = "jivo-ops-job",
                 **kwargs: Any):
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.on_done, self.on_error, self.name = on_done, on_error, name
        self.stop_event = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._finished = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._finished.is_set()

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    def start(self) -> "BackgroundJob":
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        _STARTED.add(self)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            if inspect.iscoroutinefunction(self.fn):
                self.result = asyncio.run(self._main())
            else:
                self.result = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to on_error, the job's one report channel
            self.error = exc
        finally:
            self._report()
            self._finished.set()

    async def _main(self) -> Any:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        if self.stop_event.is_set():
            raise asyncio.CancelledError()
        return await self.fn(*self.args, **self.kwargs)

    def _report(self) -> None:
        try:
            if self.error is None:
                if self.on_done:
                    self.on_done(self.result)
            elif self.on_error:
                self.on_error(self.error)
        except Exception:  # noqa: BLE001 - a broken callback must not kill the thread silently
            traceback.print_exc()

    def cancel(self) -> None:
        """Ask the job to stop: sets `stop_event`; a coroutine job is also cancelled."""
        self.stop_event.set()
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop closed in between: the job has ended anyway
                pass

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the end (callbacks included); True when it ended in time."""
        return self._finished.wait(timeout)


_STARTED: "weakref.WeakSet[BackgroundJob]" = weakref.WeakSet()
JOBS_AT_EXIT_S = 5.0  # how long a kernel's or script's exit waits for its jobs to end


@atexit.register
def _end_jobs_at_exit() -> None:
    """Stop the jobs still running and give them JOBS_AT_EXIT_S to end. Left to run, a daemon thread
    is cut off mid-call when the interpreter finalizes, and one inside matplotlib's text layout (a
    LogExplorer drawing its plots) then aborts the whole process: "terminate called without an
    active exception"."""
    running = [job for job in list(_STARTED) if job.running]
    for job in running:
        job.cancel()
    deadline = time.monotonic() + JOBS_AT_EXIT_S
    for job in running:
        job.join(max(0.0, deadline - time.monotonic()))


class SecretUrl(w.HBox):
    """A URL to copy into the other console: masked, «Показать» reveals it (one click selects it)."""

    def __init__(self, label: str, url: str = "", **kwargs: Any):
        self._url = url
        self.label = w.HTML(f"<b>{esc(label)}</b>", layout=w.Layout(min_width="16em"))
        # a revealed URL wraps inside the panel instead of running off it
        self.shown = w.HTML(layout=w.Layout(flex="1 1 auto", min_width="0"))
        self.reveal = reveal_button(_("show the full URL to copy it"))
        self.reveal.observe(lambda _change: self._render(), "value")
        super().__init__([self.label, self.shown, self.reveal], **kwargs)
        self._render()

    @property
    def url(self) -> str:
        return self._url

    @url.setter
    def url(self, value: str) -> None:
        self._url = value or ""
        self.reveal.value = False
        self._render()

    @property
    def text(self) -> str:
        """What is on screen right now."""
        if not self._url:
            return _("(empty)")
        return self._url if self.reveal.value else mask_url(self._url)

    def _render(self) -> None:
        self.shown.value = copyable(self.text) if self._url else f"<i>{esc(self.text)}</i>"
        self.reveal.disabled = not self._url

    def __repr__(self) -> str:
        return f"SecretUrl({mask_url(self._url)!r})"
