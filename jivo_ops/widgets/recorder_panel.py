"""`RecorderPanel`: follow a webhook recorder live in a notebook, look at each request raw and parsed,
replay it, export it.

    rec = Recorder("hooks.sqlite").start()
    RecorderPanel(rec, replay_to=sandbox.profile.internal_webhook_url)

A model (`RecorderModel`, traitlets, no widgets) holds the list and the selection and calls the
operations of `jivo_ops.recorder.exchanges`; the view (`RecorderPanel`, a VBox) only shows them. New
requests are picked up by a polling thread (never the kernel's), newest first; with auto-follow on,
the newest one is selected as it arrives. Replay and export run as background jobs; their outcome
and any error land in the status line. Paths show the token as "{token}", URLs are masked, and the
bodies on screen pass through `redact` (via `exchanges.shown`).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import ipywidgets as w
import traitlets as t

from ..recorder.exchanges import EXPORT_FORMATS, Exchange, Exchanges, ReplayReport, export_exchanges, shown
from ..i18n import _, ngettext
from ..redaction import mask_url, register_secret
from ._common import BackgroundJob, StatusLine, copyable, error_text, esc

__all__ = ["RecorderModel", "RecorderPanel"]


class RecorderModel(t.HasTraits):
    """What the panel shows: request summaries newest first, the selection, follow mode, last outcome."""

    items = t.List()  # [(label, id)], newest first
    selected = t.Int(None, allow_none=True)
    auto_follow = t.Bool(True)
    last_id = t.Int(0)
    message = t.Unicode("")
    error = t.Unicode("")

    def __init__(self, source: Any, *, limit: int = 500, **kwargs: Any):
        super().__init__(**kwargs)
        self.owns_exchanges = not isinstance(source, Exchanges)  # then close() must close its reader
        self.exchanges = source if isinstance(source, Exchanges) else Exchanges(source)
        self.limit = limit
        try:
            self.where = source.masked_url
        except Exception:  # a path, Exchanges, or a recorder that is not running: show the store
            self.where = str(self.exchanges.path)
        self._lock = threading.Lock()
        self._cache: dict[int, Exchange] = {}

    def refresh(self) -> int:
        """Pick up requests stored since the last call; how many were new."""
        with self._lock:
            new = self.exchanges.query(after_id=self.last_id) if self.last_id else \
                list(reversed(self.exchanges.query(limit=self.limit, newest_first=True)))
            if not new:
                return 0
            for exchange in new:
                self._cache[exchange.id] = exchange
            labels = [(shown(ex.summary()), ex.id) for ex in reversed(new)]
            items = (labels + list(self.items))[: self.limit]
            for stale in set(self._cache) - {i for _, i in items}:
                del self._cache[stale]
            self.last_id = new[-1].id  # before items: the count line drawn on the items change names it
            self.items = items
        if self.auto_follow or self.selected is None:
            self.selected = self.items[0][1]
        return len(new)

    def exchange(self, request_id: int | None = None) -> Exchange | None:
        request_id = self.selected if request_id is None else request_id
        if request_id is None:
            return None
        with self._lock:
            found = self._cache.get(request_id)
            return found if found is not None else self.exchanges.get(request_id)

    def replay(self, to: str, *, yes: bool = False) -> ReplayReport:
        exchange = self.exchange()
        if exchange is None:
            raise ValueError(_("select a request to replay first"))
        with self._lock:
            return self.exchanges.replay(to, [exchange], yes=yes)

    def export(self, fmt: str, out: str, *, everything: bool = True) -> int:
        """Write the requests (all shown, or the selected one) to `out`; how many."""
        chosen = [self.exchange(i) for _, i in reversed(self.items)] if everything else [self.exchange()]
        chosen = [ex for ex in chosen if ex is not None]
        export_exchanges(chosen, fmt, out=out)
        return len(chosen)


def parsed_view(exchange: Exchange) -> str:
    """The body as indented JSON, or why it is not JSON (binary bodies: size and the first bytes)."""
    if exchange.is_json:
        return json.dumps(exchange.json, ensure_ascii=False, indent=2)
    if not exchange.body:
        return _("(empty body: {error})").format(error=exchange.error) if exchange.error else _("(empty body)")
    if exchange.is_text:
        return _("(not JSON: {error})").format(error=exchange.error or _("unparsable")) + f"\n{exchange.text}"
    return _("(binary body, {n} bytes)").format(n=len(exchange.body)) + f"\n{exchange.body[:64].hex(' ')}"


def raw_view(exchange: Exchange) -> str:
    if exchange.is_text:
        text = exchange.raw().decode("utf-8", "replace")
    else:
        text = exchange.raw()[: -len(exchange.body) or None].decode("latin-1") + \
               "<" + _("{n} bytes of binary data").format(n=len(exchange.body)) + ">"
    if exchange.forward is not None:
        f = exchange.forward
        text += ("\n\n--- " + _("forwarded to {url}").format(url=f.url) + ": "
                 + (_("{status} in {ms} ms").format(status=f.status, ms=f"{f.elapsed_ms:.0f}") + "\n"
                    if f.status is not None else f"{f.error}\n")
                 + "".join(f"{k}: {v}\n" for k, v in f.headers) + "\n" + f.body.decode("utf-8", "replace"))
    return text


class RecorderPanel(w.VBox):
    """Live view of a recorder (a `Recorder`, a store path or `Exchanges`): list, raw/parsed, replay, export.

    `poll_interval` seconds between looks at the store (a background thread); `follow=False` starts
    with auto-follow off. `replay_to` pre-fills the replay target (kept out of widget values; shown masked).
    """

    def __init__(self, source: Any, *, poll_interval: float = 1.0, replay_to: str | None = None,
                 export_path: str = "exchanges.har", follow: bool = True, **kwargs: Any):
        self.model = RecorderModel(source, auto_follow=follow)
        self._replay_to = replay_to or ""
        register_secret(self._replay_to)
        self.last_error: BaseException | None = None
        self._jobs: list[BackgroundJob] = []
        self._syncing = False

        heading = _("Webhook recorder")
        self.header = w.HTML(f"<b>{esc(heading)}</b> {copyable(self.model.where)}")
        self.add_class("jivo-ops-recorder-panel")
        auto = w.Layout(width="auto")
        self.follow = w.ToggleButton(value=follow, description=_("Follow new requests"), icon="arrow-down",
                                     tooltip=_("select each new request as it arrives"), layout=auto)
        self.refresh_button = w.Button(description=_("Refresh"), icon="refresh", layout=auto)
        self.count = w.HTML()
        self.list = w.Select(options=[], rows=10, layout=w.Layout(width="100%"))
        self.parsed = w.HTML()
        self.raw = w.HTML()
        self.views = w.Tab(children=[self.parsed, self.raw])
        self.views.set_title(0, _("Parsed"))
        self.views.set_title(1, _("Raw"))
        wide = {"description_width": "9em"}
        self.replay_to = w.Text(placeholder=(mask_url(self._replay_to) if self._replay_to
                                             else _("target URL, e.g. the sandbox's Internal Webhook Url")),
                                description=_("Replay to"), layout=w.Layout(width="60%"), style=wide)
        self.replay_yes = w.Checkbox(value=False, description=_("send to a non-loopback target"), indent=False,
                                     layout=auto)
        self.replay_button = w.Button(description=_("Replay"), icon="repeat", button_style="primary", layout=auto)
        self.export_format = w.Dropdown(options=list(EXPORT_FORMATS), value="har", description=_("Export as"),
                                        layout=w.Layout(width="18em"), style=wide)
        self.export_path = w.Text(value=export_path, description=_("to file"), layout=w.Layout(width="40%"))
        self.export_button = w.Button(description=_("Export"), icon="download", layout=auto)
        self.status = StatusLine()

        self.follow.observe(self._on_follow, "value")
        self.refresh_button.on_click(lambda _b: self._guard(self.refresh))
        self.list.observe(self._on_pick, "value")
        self.replay_button.on_click(lambda _b: self._guard(self._start_replay))
        self.export_button.on_click(lambda _b: self._guard(self._start_export))
        self.model.observe(self._on_items, "items")
        self.model.observe(self._on_selected, "selected")

        super().__init__([
            self.header,
            w.HBox([self.follow, self.refresh_button, self.count]),
            self.list,
            self.views,
            w.HBox([self.replay_to, self.replay_yes, self.replay_button]),
            w.HBox([self.export_format, self.export_path, self.export_button]),
            self.status,
        ], **kwargs)
        self._guard(self.refresh)
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        if poll_interval and poll_interval > 0:
            self._poller = threading.Thread(target=self._poll, args=(poll_interval,), daemon=True,
                                            name="recorder-panel-poll")
            self._poller.start()

    # -- model → view
    def _on_items(self, _change=None) -> None:
        current = self.model.selected
        self._syncing = True  # new options move the Select's value: not a user's pick
        try:
            self.list.options = list(self.model.items)
            if current is not None:
                self.list.value = current
        finally:
            self._syncing = False
        n = len(self.model.items)
        self.count.value = esc(ngettext("{n} request, the last #{last}", "{n} requests, the last #{last}", n).format(
            n=n, last=self.model.last_id))

    def _on_selected(self, change) -> None:
        if self.list.value != change["new"]:
            self.list.value = change["new"]
        self._show(change["new"])

    def _show(self, request_id: int | None) -> None:
        exchange = self.model.exchange(request_id) if request_id is not None else None
        if exchange is None:
            self.parsed.value = self.raw.value = ""
            return
        self.parsed.value = copyable(shown(parsed_view(exchange)), block=True)
        self.raw.value = copyable(shown(raw_view(exchange)), block=True)

    # -- view → model
    def _on_follow(self, change) -> None:
        self.model.auto_follow = change["new"]
        if change["new"] and self.model.items:
            self.model.selected = self.model.items[0][1]

    def _on_pick(self, change) -> None:
        if not self._syncing and change["new"] is not None and change["new"] != self.model.selected:
            self.model.selected = change["new"]

    # -- actions
    def refresh(self) -> int:
        return self.model.refresh()

    def _poll(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.model.refresh()
            except Exception as exc:  # noqa: BLE001 - shown in the widget, polling goes on
                self.last_error = exc
                self.status.error(exc)

    def _guard(self, action) -> Any:
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - Button.click swallows exceptions: show them
            self.last_error = exc
            self.model.error = error_text(exc)
            self.status.error(exc)
            return None

    def _run(self, what: str, busy: str, fn, *args, on_done, **kwargs) -> BackgroundJob:
        self.status.show(busy, "busy")

        def failed(exc: BaseException) -> None:
            self.last_error = exc
            self.model.error = error_text(exc)
            self.status.error(exc)

        job = BackgroundJob(fn, *args, on_done=on_done, on_error=failed, name=f"recorder-panel-{what}", **kwargs)
        self._jobs.append(job)
        return job.start()

    def _start_replay(self) -> BackgroundJob:
        to = self.replay_to.value.strip() or self._replay_to
        if not to:
            raise ValueError(_("type the replay target URL first"))
        register_secret(to)

        def done(report: ReplayReport) -> None:
            self.model.message = shown(str(report))
            if report.dry_run:
                self.status.show(_("dry run: {target} is not on this machine; tick «send to a non-loopback "
                                   "target» to really send").format(target=report.target), "warning")
                return
            result = report.results[0] if report.results else None
            if result is None:
                self.status.error("; ".join(reason for _request, reason in report.skipped) or _("nothing replayed"))
            elif result.error:
                self.status.error(_("replay of #{id} to {target} failed: {error}").format(
                    id=result.request_id, target=report.target, error=result.error))
            else:
                changes = "; ".join(result.changes) or _("same answer as the original")
                self.status.show(_("replayed #{id} to {target}: {status} ({changes})").format(
                    id=result.request_id, target=report.target, status=result.status, changes=changes),
                    "ok" if result.ok else "warning")

        return self._run("replaying", _("replaying…"), self.model.replay, to, yes=self.replay_yes.value,
                         on_done=done)

    def _start_export(self) -> BackgroundJob:
        fmt, out = self.export_format.value, self.export_path.value.strip()
        if not out:
            raise ValueError(_("type the file to export to first"))

        def done(count: int) -> None:
            self.model.message = ngettext("{n} request exported to {out} ({fmt})",
                                          "{n} requests exported to {out} ({fmt})", count).format(
                n=count, out=out, fmt=fmt)
            self.status.show(self.model.message, "ok")

        return self._run("exporting", _("exporting…"), self.model.export, fmt, out, on_done=done)

    def join(self, timeout: float = 10.0) -> bool:
        """Wait for the replay/export jobs started so far (for tests and scripted notebooks)."""
        return all(job.join(timeout) for job in list(self._jobs))

    def close(self) -> None:
        stop, poller = getattr(self, "_stop", None), getattr(self, "_poller", None)  # a failed __init__ has neither
        if stop is not None:
            stop.set()
        if poller is not None:
            poller.join(5)
        model = getattr(self, "model", None)
        if model is not None and model.owns_exchanges:  # an open reader keeps the store's WAL files alive
            model.exchanges.close()
        super().close()

    def __repr__(self) -> str:
        return f"RecorderPanel({len(self.model.items)} request(s))"
