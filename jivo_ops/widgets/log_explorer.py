"""`LogExplorer`: load message logs from every source, filter them, read the per-transfer table,
look at a chat's timeline and the wait histogram, read the hand-over KPIs, export what you see.

A thin view over `jivo_ops.logs`: `load` builds the one schema, `LogSet.transfers` / `LogSet.filter`
/ `LogSet.kpis` tabulate and filter (the calls `jivo-ops logs` makes), `chat_timeline` / `wait_histogram` draw,
`export` writes.
Loading runs in a worker thread (a million rows take a few seconds); plots are shown as PNG images.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import ipywidgets as w
import traitlets as t

from ..errors import JivoOpsError
from ..i18n import N_, _
from ._common import FAIL_MARK, OK_MARK, WARN_MARK, BackgroundJob, StatusLine, error_text, esc, guarded, table_html

__all__ = ["LogModel", "LogExplorer"]

ALL = N_("(all)")  # the dropdowns' "no filter" entry, in the language the widget was built in
TABLE_ROWS = 20
TABLE_COLUMNS = ("chat", "switched_at", "wait_s", "operator", "outcome", "closed_by", "n_client", "n_operator",
                 "source")
EXPORT_FORMATS = ("csv", "parquet", "xlsx", "jsonl")
# Every sentence of the status line and the rejected rows' view (catalog entries, `_()`-ed where shown).
MESSAGES = {
    "loaded": N_("{mark} read {messages} messages in {chats} chats ({transfers} transfers); {rejected} rows "
                 "rejected; {duplicates} duplicates removed"),
    "nothing_read": N_("{mark} read no messages: {rejected} rows rejected (see «Rejected rows» for why)"),
    "stale": N_("{mark} the last load failed: the table below is from the load before it"),
    "rejected_title": N_("Rejected rows ({n})"),
}
# The tables' headers as shown (the DataFrames keep their column names: they are contracts).
HEADERS = {
    "chat": N_("chat"), "switched_at": N_("switched (UTC)"), "wait_s": N_("wait, s"), "operator": N_("operator"),
    "outcome": N_("outcome"), "closed_by": N_("closed by"), "n_client": N_("client msgs"),
    "n_operator": N_("operator msgs"), "source": N_("source"), "file": N_("file"), "row": N_("row"),
    "reason": N_("reason"),
}
TABLE_FORMATS = {"wait_s": "{:.3f}"}
REJECTED_ROWS = 50
KPI_GROUPINGS = ((N_("total"), ""), (N_("per day"), "day"), (N_("per hour"), "hour"),
                 (N_("per operator"), "operator"))
TAB_TITLES = (N_("Chat timeline"), N_("Operator wait"), N_("KPI"))
_PLOT_LOCK = threading.Lock()


def _figure_png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def _headers(frame) -> dict[str, str]:
    return {column: _(HEADERS[column]) for column in frame.columns if column in HEADERS}


class LogModel(t.HasTraits):
    """Sources, the loaded `LogSet`, filters; tables, figures and exports derived from them."""

    paths = t.Unicode("")        # one file or folder per line
    since = t.Unicode("")        # jivo_ops.times grammar: ISO 8601 (naive = UTC), 24h / 1w ago, now
    until = t.Unicode("")
    chat = t.Unicode("")         # "" = every chat
    operator = t.Unicode("")
    outcome = t.Unicode("")
    kpi_by = t.Unicode("")       # "" | day | hour | operator: the KPI tab's grouping

    state = t.Unicode("idle")    # idle | loading | ready | failed
    error = t.Unicode("")
    revision = t.Int(0)

    def __init__(self, *sources: Any, export_dir: str | Path = "exports", load_options: dict | None = None,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.load_options = dict(load_options or {})  # for `jivo_ops.logs.load`: tz, delimiter, encoding, …
        self.objects: list[Any] = []  # in-memory sources: TransferBatch, TransferResult lists, DataFrames, LogSets
        paths = []
        for source in sources:
            if isinstance(source, (str, Path)):
                paths.append(str(source))
            else:  # `load` reads each kind of object itself (a TransferBatch is a sequence of results)
                self.objects.append(source)
        self.paths = "\n".join(paths)
        self.export_dir = Path(export_dir)
        self.logs = None
        self.job: BackgroundJob | None = None

    # -- loading --------------------------------------------------------------------------------
    def sources(self) -> list[Any]:
        return [line.strip() for line in self.paths.splitlines() if line.strip()] + list(self.objects)

    def add(self, source: Any) -> None:
        """Add a source (a path, or an in-memory object) for the next `load()`."""
        if isinstance(source, (str, Path)):
            self.paths = "\n".join(filter(None, [self.paths.strip(), str(source)]))
        else:
            self.objects.append(source)

    def load(self) -> BackgroundJob:
        from ..logs import load

        sources = self.sources()
        if not sources:
            raise JivoOpsError(_("no sources: add files or folders (one per line) or pass objects to "
                                 "LogExplorer(...)"))
        if self.job is not None and self.job.running:
            raise JivoOpsError(_("still loading the previous sources"))
        self.state, self.error = "loading", ""
        self.job = BackgroundJob(load, *sources, on_done=self._loaded, on_error=self._failed, name="jivo-ops-logs",
                                 **self.load_options)
        return self.job.start()

    def _loaded(self, logs) -> None:
        self.logs = logs
        self.state = "ready"
        self.revision += 1

    def _failed(self, exc: BaseException) -> None:
        self.error = error_text(exc)
        self.state = "failed"
        self.revision += 1

    def load_sentence(self) -> tuple[str, str]:
        """(the status sentence of what the last load read, its kind): nothing read is a warning, not a ✓."""
        s = self.logs.summary()
        if not s["messages"]:
            return _(MESSAGES["nothing_read"]).format(mark=WARN_MARK, rejected=s["rejected"]), "warning"
        loaded = _(MESSAGES["loaded"]).format(mark=OK_MARK, messages=s["messages"], chats=s["chats"],
                                           transfers=s["transfers"], rejected=s["rejected"],
                                           duplicates=s["duplicates_removed"])
        if self.logs.warnings:  # times without a zone, sources hours apart: the LogSet says which
            return f"{loaded} {WARN_MARK} " + " · ".join(self.logs.warnings), "warning"
        return loaded, "ok"

    def wait(self, timeout: float = 120.0):
        """Block until loading ends (scripts, tests, the next notebook cell); returns the LogSet."""
        if self.job is not None and not self.job.join(timeout):
            raise TimeoutError(f"loading did not finish within {timeout:.0f} s")
        if self.state == "failed":
            raise JivoOpsError(self.error)
        return self.logs

    # -- views of the data ------------------------------------------------------------------------
    # The fields go to `LogSet.filter` / `LogSet.transfers` as typed: blank means "no filter" and
    # the time grammar is `jivo_ops.times`, both decided there, as for `jivo-ops logs`.
    def _filters(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until, "chat": self.chat, "operator": self.operator}

    def _require(self):
        if self.logs is None:
            raise JivoOpsError(_("nothing loaded yet: press «Load»"))
        return self.logs

    def messages(self):
        """The messages (schema frame) that pass the time/chat/operator filters (operator: the
        chats that operator took part in)."""
        return self._require().filter(**self._filters()).messages

    def transfers(self):
        """The per-transfer table (one row per switch) with every filter applied."""
        return self._require().transfers(**self._filters(), outcome=self.outcome)

    def kpis(self):
        """The hand-over KPIs (`LogSet.kpis`) of the messages the time/chat/operator filters keep."""
        return self._require().filter(**self._filters()).kpis(by=self.kpi_by or None)

    def chats(self) -> list[str]:
        return [] if self.logs is None else self.logs.chat_ids()

    def operators(self) -> list[str]:
        return [] if self.logs is None else self.logs.operator_names()

    def timeline_figure(self, chat: str | None = None):
        from ..logs import chat_timeline

        chat = chat or self.chat or next(iter(self.transfers()["chat"]), None)
        if not chat:
            raise JivoOpsError(_("no chat to draw: pick one"))
        return chat_timeline(self._require().messages, chat)

    def wait_figure(self):
        from ..logs import wait_histogram

        return wait_histogram(self.transfers())

    def export(self, what: str = "transfers", fmt: str = "csv", folder: str | Path | None = None) -> Path:
        """Write the filtered `transfers` or `messages` table; returns the file's path."""
        from ..logs import export

        if what not in ("transfers", "messages"):
            raise JivoOpsError(f"export what={what!r}: 'transfers' or 'messages'")
        if fmt not in EXPORT_FORMATS:
            raise JivoOpsError(f"export format {fmt!r}: one of {', '.join(EXPORT_FORMATS)}")
        frame = self.transfers() if what == "transfers" else self.messages()
        target = Path(folder) if folder is not None else self.export_dir
        target.mkdir(parents=True, exist_ok=True)
        return export(frame, target / f"{what}.{fmt}")

    def summary_text(self) -> str:
        """Stable text: counts of what is loaded and what the filters keep (what a notebook checks)."""
        if self.logs is None:
            return f"{self.state}: {self.error}" if self.error else "nothing loaded"
        s = self.logs.summary()
        head = (f"{s['messages']} messages in {s['chats']} chats; {s['transfers']} transfers; "
                f"{s['rejected']} rejected; {s['duplicates_removed']} duplicates removed")
        try:
            table = self.transfers()
        except JivoOpsError as exc:
            return f"{head}\nfilter error: {error_text(exc)}"
        outcomes = table["outcome"].value_counts(sort=False)
        shown = ", ".join(f"{o}={int(n)}" for o, n in outcomes.items() if n) or "none"
        return f"{head}\nfiltered transfers: {len(table)} ({shown})"


class LogExplorer(w.VBox):
    """Sources → «Загрузить»; filters; the per-transfer table; timeline + wait histogram; export buttons."""

    def __init__(self, *sources: Any, export_dir: str | Path = "exports", autoload: bool = True,
                 load_options: dict | None = None, **kwargs: Any):
        self.model = m = LogModel(*sources, export_dir=export_dir, load_options=load_options)
        self.last_error: BaseException | None = None
        self._suspended = False
        self._plot_generation = 0
        self._plot_job: BackgroundJob | None = None
        style = {"description_width": "8em"}
        self.all = everything = _(ALL)
        self.paths_input = w.Textarea(value=m.paths, rows=3, description=_("Sources"),
                                      placeholder=_("files or folders, one per line: Reporter exports (JSON/CSV/XLSX), "
                                                    "a recorder's store (.sqlite), transfers (.jsonl)"),
                                      layout=w.Layout(width="98%"), style=style)
        w.link((self.paths_input, "value"), (m, "paths"))
        self.load_button = w.Button(description=_("Load"), button_style="primary", icon="folder-open", layout=w.Layout(width="auto"))
        self.load_button.on_click(self.on_load)
        self.status = StatusLine()
        self.since_input = w.Text(description=_("From"), placeholder=_("2026-11-25T10:00 or 24h"), style=style)
        self.until_input = w.Text(description=_("To"), placeholder=_("not set"), style=style)
        self.chat_choice = w.Dropdown(options=[everything], value=everything, description=_("Chat"), style=style)
        self.operator_choice = w.Dropdown(options=[everything], value=everything, description=_("Operator"),
                                          style=style)
        self.outcome_choice = w.Dropdown(options=[everything, "answered", "no_operators", "unanswered", "error"],
                                         value=everything, description=_("Outcome"), style=style)
        for control, name in ((self.since_input, "since"), (self.until_input, "until")):
            w.link((control, "value"), (m, name))
        for control, name in ((self.chat_choice, "chat"), (self.operator_choice, "operator"),
                              (self.outcome_choice, "outcome")):
            w.dlink((control, "value"), (m, name), transform=lambda v: "" if v == everything else v)
        for control in (self.since_input, self.until_input):
            control.continuous_update = False
        for name in ("since", "until", "chat", "operator", "outcome"):
            m.observe(lambda _change: self.refresh(), name)
        self.table = w.HTML()
        self.plot_caption = w.HTML()
        self.timeline_image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.wait_image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.export_format = w.Dropdown(options=EXPORT_FORMATS, value="csv", description=_("Format"), style=style,
                                        layout=w.Layout(width="16em"))
        self.export_transfers_button = w.Button(description=_("Export transfers"), icon="download",
                                                layout=w.Layout(width="auto"))
        self.export_messages_button = w.Button(description=_("Export messages"), icon="download",
                                               layout=w.Layout(width="auto"))
        self.export_transfers_button.on_click(lambda _b: self.on_export("transfers"))
        self.export_messages_button.on_click(lambda _b: self.on_export("messages"))
        self.export_status = StatusLine()
        self.rejected_table = w.HTML()
        self.rejected_view = w.Accordion([self.rejected_table], selected_index=None,
                                         layout=w.Layout(display="none"))
        self.stale_note = w.HTML()
        filters = w.VBox([w.HBox([self.since_input, self.until_input]),
                          w.HBox([self.chat_choice, self.operator_choice, self.outcome_choice])])
        self.kpi_by_choice = w.Dropdown(options=[(_(label), by) for label, by in KPI_GROUPINGS], value="",
                                        description=_("KPI"), style=style)
        w.dlink((self.kpi_by_choice, "value"), (m, "kpi_by"))
        m.observe(lambda _change: self.refresh(), "kpi_by")
        self.kpi_table = w.HTML()
        self.plots = plots = w.Tab([self.timeline_image, self.wait_image,
                                    w.VBox([self.kpi_by_choice, self.kpi_table])],
                                   titles=[_(title) for title in TAB_TITLES])
        plots.add_class("jivo-ops-plot-tabs")  # CSS below: a tab as wide as its title («Ожидание оператора»)
        plots.observe(lambda _change: self._draw_plot(self._safe_transfers()), "selected_index")
        exports = w.HBox([self.export_format, self.export_transfers_button, self.export_messages_button])
        heading, subject = _("Message logs"), _("hand-overs to operators, waits, outcomes")
        title = w.HTML(f"<b>{esc(heading)}</b> — {esc(subject)}"
                       "<style>.jivo-ops-plot-tabs .lm-TabBar-tab{flex:0 0 auto!important;max-width:none!important;"
                       "min-width:fit-content!important}</style>")
        super().__init__([title, self.paths_input, w.HBox([self.load_button]), self.status, self.rejected_view,
                          self.stale_note, filters, self.table,
                          self.plot_caption, plots, exports, self.export_status], **kwargs)
        self.add_class("jivo-ops-log-explorer")
        m.observe(lambda _change: self._loaded_changed(), ["state", "revision"])
        self._loaded_changed()
        if autoload and m.sources():
            self.on_load()

    # -- handlers -------------------------------------------------------------------------------
    @guarded(lambda self: self.status)
    def on_load(self, _button: Any = None) -> None:
        self.model.load()
        self._loaded_changed()

    @guarded(lambda self: self.export_status)
    def on_export(self, what: str) -> Path:
        path = self.model.export(what, self.export_format.value)
        self.export_status.show(_("{mark} {what}: {path}").format(mark=OK_MARK, what=what, path=path), "ok")
        return path

    def wait(self, timeout: float = 120.0):
        return self.model.wait(timeout)

    @property
    def logs(self):
        return self.model.logs

    @property
    def result(self):
        """The filtered per-transfer DataFrame."""
        return self.model.transfers()

    # -- drawing --------------------------------------------------------------------------------
    def _loaded_changed(self) -> None:
        m = self.model
        self.load_button.disabled = m.state == "loading"
        if m.state == "loading":
            self.status.show(_("loading…"), "busy")
            return
        if m.state == "failed":
            self.status.error(m.error)
            if m.logs is not None:  # what is still shown came from an earlier load
                stale = _(MESSAGES["stale"]).format(mark=WARN_MARK)
                self.stale_note.value = f"<span style='color:#9a6700'>{esc(stale)}</span>"
            return
        self.stale_note.value = ""
        if m.state != "ready":
            self.status.show(_("name the sources and press «Load»"))
            return
        self.status.show(*m.load_sentence())
        self._render_rejected()
        self._suspended = True  # new options reset the dropdowns: redraw once, after
        try:
            self.chat_choice.options = [self.all] + m.chats()
            self.operator_choice.options = [self.all] + m.operators()
        finally:
            self._suspended = False
        self.refresh()

    def refresh(self) -> None:
        """Redraw the table now and the visible plot in the background (errors go to the status line)."""
        if self.model.logs is None or self._suspended:
            return
        try:
            table = self.model.transfers()
        except Exception as exc:  # noqa: BLE001 - a bad filter value is shown, not raised into the void
            self.last_error = exc
            self.status.error(exc)
            return
        self._render_table(table)
        if self.status.kind == "error" and self.model.state == "ready":
            self.status.show(*self.model.load_sentence())
        self._draw_plot(table)

    def _draw_plot(self, table=None) -> None:
        """Render the selected tab's figure off the kernel thread (matplotlib takes a while); a newer
        request makes an older one's picture obsolete."""
        if self.model.logs is None:
            return
        self._plot_generation += 1
        generation, which = self._plot_generation, self.plots.selected_index or 0
        if which == 2:
            self._render_kpis()
            return
        chat = self.model.chat or (str(table["chat"].iloc[0]) if table is not None and len(table) else None)

        def draw() -> bytes | None:
            with _PLOT_LOCK:  # pyplot (used inside a kernel) is not thread-safe
                if generation != self._plot_generation:
                    return None  # a newer request will draw
                if which == 0:
                    return _figure_png(self.model.timeline_figure(chat)) if chat else b""
                return _figure_png(self.model.wait_figure())

        def show(png: bytes | None) -> None:
            if png is not None and generation == self._plot_generation:
                image = self.timeline_image if which == 0 else self.wait_image
                image.value = png
                image.layout.display = None if png else "none"  # no picture: the caption's sentence, no broken icon
                shown = (esc(_("Plot: chat timeline {chat}")).format(chat=f"<code>{esc(chat)}</code>")
                         if which == 0 and chat else esc(_("Plot: operator wait over the selected transfers"))
                         if which == 1 else esc(_("No chat to draw a timeline of: the filters leave none")))
                self.plot_caption.value = f"<span class='jivo-ops-plot-caption'>{shown}</span>"

        def failed(exc: BaseException) -> None:
            if generation == self._plot_generation:
                self.last_error = exc
                self.status.error(exc)

        self._plot_job = BackgroundJob(draw, on_done=show, on_error=failed, name="jivo-ops-plot").start()

    def wait_plot(self, timeout: float = 60.0) -> None:
        """Block until the visible plot is drawn (tests and scripts)."""
        if self._plot_job is not None and not self._plot_job.join(timeout):
            raise TimeoutError(f"the plot was not drawn within {timeout:.0f} s")

    def _safe_transfers(self):
        try:
            return self.model.transfers()
        except Exception:  # noqa: BLE001 - refresh() reports filter errors
            return None

    def _render_table(self, table) -> None:
        if not len(table):
            nothing = _("no transfers match these filters")
            self.table.value = f"<i>{FAIL_MARK} {esc(nothing)}</i>"
            return
        shown = table[[c for c in TABLE_COLUMNS if c in table.columns]].head(TABLE_ROWS)
        caption = (_("transfers: {n} (the first {rows})").format(n=len(table), rows=TABLE_ROWS)
                   if len(table) > TABLE_ROWS else _("transfers: {n}").format(n=len(table)))
        self.table.value = f"<b>{esc(caption)}</b>" + table_html(shown, _headers(shown), formats=TABLE_FORMATS,
                                                                  css_class="jivo-ops-transfers")

    def _render_rejected(self) -> None:
        """The rows the load could not read (file, row, reason), under the status line that counts them."""
        rejected = self.model.logs.rejected
        self.rejected_view.layout.display = None if len(rejected) else "none"
        self.rejected_view.set_title(0, _(MESSAGES["rejected_title"]).format(n=len(rejected)))
        shown = rejected[["file", "row", "reason"]].head(REJECTED_ROWS)
        self.rejected_table.value = table_html(shown, _headers(shown), css_class="jivo-ops-rejected",
                                               wrap_cells=True)

    def _render_kpis(self) -> None:
        try:
            k = self.model.kpis()
        except Exception as exc:  # noqa: BLE001 - shown on the status line like a filter error
            self.last_error = exc
            self.status.error(exc)
            return
        key = next((c for c in ("period", "operator") if c in k.columns), None)
        if key == "period":  # a day or an hour on the UTC clock, as the caption says
            k = k.assign(period=k["period"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M"))
        shown = (k.set_index(key) if key else k).T.astype(object)
        caption = _("KPI (service level: answered within {seconds} s; times UTC)").format(
            seconds=f"{k.attrs['service_level_s']:g}")
        styler = shown.style.format(na_rep="—", formatter=None)
        for name in shown.index:  # one rule per KPI: counts whole, shares and durations (s) to 3 decimals
            rule = "{:.3f}" if name.endswith(("_rate", "_s")) else "{:.0f}"
            styler = styler.format(rule, subset=([name], shown.columns), na_rep="—")
        self.kpi_table.value = (f"<b>{esc(caption)}</b>"
                                + styler.set_table_attributes('class="jivo-ops-kpis"').to_html())
        shown_caption = _("KPI: numerator, denominator, share")
        self.plot_caption.value = f"<span class='jivo-ops-plot-caption'>{esc(shown_caption)}</span>"

    def __repr__(self) -> str:
        return f"LogExplorer({self.model.summary_text().splitlines()[0]})"
