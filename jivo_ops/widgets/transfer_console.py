"""`TransferConsole`: run test switch transfers from a notebook and watch them land.

A thin view over `jivo_ops.transfer.arun_transfers`: pick a script (or edit its JSON), the number
of clients, concurrency and the step timeout; «Запустить» runs the batch in a worker thread (the
kernel stays free), a progress bar and a live table fill as each transfer finishes, «Стоп» stops
the batch cleanly (finished transfers are kept), and the summary and the per-transfer DataFrame
(`console.result`) are there at the end. Pick a row's chat to read its timeline.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, Mapping, Sequence

import ipywidgets as w
import traitlets as t

from ..errors import JivoOpsError
from ..redaction import redact
from ..transfer import DEFAULT_SCRIPT, OUTCOMES, Script, TransferBatch, TransferResult, TransferSettings, \
    arun_transfers, format_stopped, format_summary, format_timeline, summarize
from ..transfer.render import format_check
from ._common import FAIL_MARK, OK_MARK, BackgroundJob, StatusLine, copyable, error_text, esc, guarded

__all__ = ["TransferModel", "TransferConsole"]

OUTCOME_COLORS = {"answered": "#1a7f37", "no_operators": "#9a6700", "no_switch": "#c62828",
                  "unanswered": "#c62828", "error": "#c62828"}
LIVE_ROWS = 12  # the live table shows the latest rows; the DataFrame has them all


class TransferModel(t.HasTraits):
    """The batch's settings and live state; `start()` runs it off the kernel thread."""

    clients = t.Int(1)
    concurrency = t.Int(5)
    step_timeout = t.Float(10.0)
    script_name = t.Unicode(DEFAULT_SCRIPT.name)
    script_text = t.Unicode("")  # the chosen script as JSON; edits make a custom script

    state = t.Unicode("idle")  # idle | running | stopping | done | failed
    finished = t.Int(0)
    total = t.Int(0)
    counts = t.Dict()
    error = t.Unicode("")
    revision = t.Int(0)  # bumped on every new result, for views to redraw

    def __init__(self, target: Any, scripts: Mapping[str, Script] | Sequence[Script] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.target = target  # a Profile, a Sandbox, or a profile path: whatever arun_transfers accepts
        given = list(scripts.values()) if isinstance(scripts, Mapping) else list(scripts or ())
        self.scripts: dict[str, Script] = {DEFAULT_SCRIPT.name: DEFAULT_SCRIPT}
        self.scripts.update({s.name: s for s in given})
        self.results: list[TransferResult] = []
        self.batch: TransferBatch | None = None
        self.job: BackgroundJob | None = None
        self._lock = threading.Lock()
        self.observe(self._script_chosen, "script_name")
        self._script_chosen()

    # -- script ---------------------------------------------------------------------------------
    def _script_chosen(self, _change: Any = None) -> None:
        script = self.scripts.get(self.script_name)
        if script is not None:
            self.script_text = json.dumps(script.to_json(), ensure_ascii=False, indent=1)

    def script(self) -> Script:
        """The script to run: the chosen one, or the edited JSON (a ScriptError names the bad step)."""
        try:
            data = json.loads(self.script_text)
        except json.JSONDecodeError as exc:
            raise JivoOpsError(f"script JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
        return Script.from_json(data, source="script JSON", default_name=self.script_name or "custom")

    # -- running --------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.job is not None and self.job.running

    def start(self) -> BackgroundJob:
        """Start a batch; bad settings raise the operation's SettingsError (the view shows its message)."""
        if self.running:
            raise JivoOpsError("a batch is already running; press «Стоп» first")
        settings = TransferSettings(clients=self.clients, concurrency=self.concurrency, step_timeout=self.step_timeout)
        script = self.script()
        with self.hold_trait_notifications():
            self.results, self.batch = [], None
            self.finished, self.total, self.error = 0, self.clients, ""
            self.counts = {o: 0 for o in OUTCOMES}
            self.state = "running"
        job = BackgroundJob(self._run, script, settings, on_done=self._done, on_error=self._failed, name="jivo-ops-console")
        self.job = job
        return job.start()

    async def _run(self, script: Script, settings: TransferSettings) -> TransferBatch:
        stop = self.job.stop_event if self.job is not None else None
        return await arun_transfers(self.target, clients=settings.clients, concurrency=settings.concurrency,
                                    script=script, step_timeout=settings.step_timeout, progress=False, stop=stop,
                                    on_result=self._arrived)

    def _arrived(self, result: TransferResult) -> None:
        with self._lock:
            self.results.append(result)
            counts = dict(self.counts)
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
        self.counts = counts
        self.finished = len(self.results)
        self.revision += 1

    def _done(self, batch: TransferBatch) -> None:
        self.batch = batch
        with self._lock:
            self.results = list(batch.results)
        self.counts = batch.summary()["outcomes"]
        self.finished = len(batch)
        self.state = "done"
        self.revision += 1

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, asyncio.CancelledError):
            self.error = "stopped before the batch started"
        else:
            self.error = error_text(exc)
        self.state = "failed"
        self.revision += 1

    def stop(self) -> None:
        """Stop the batch: running transfers end as interrupted, finished ones are kept."""
        if self.running:
            self.state = "stopping"
            self.job.cancel()

    def wait(self, timeout: float = 120.0) -> TransferBatch | None:
        """Block until the batch ends (for scripts and tests; the view never calls this)."""
        if self.job is not None and not self.job.join(timeout):
            raise TimeoutError(f"the batch did not finish within {timeout:.0f} s")
        return self.batch

    # -- results --------------------------------------------------------------------------------
    def frame(self):
        """One row per transfer as a DataFrame (the batch's, or the live results so far)."""
        if self.batch is not None:
            return self.batch.to_frame()
        with self._lock:
            return TransferBatch(results=list(self.results)).to_frame()

    @property
    def stopped(self) -> bool:
        return self.batch is not None and self.batch.interrupted

    def summary_text(self) -> str:
        """Stable text: counts per outcome (what a notebook checks); when stopped, what ran of what was asked."""
        counts = ", ".join(f"{o}={n}" for o, n in self.counts.items() if n) or "none yet"
        if self.stopped:
            return f"{format_stopped(self.batch.summary())}: {counts}"
        return f"{self.finished}/{self.total} transfers: {counts}"


class TransferConsole(w.VBox):
    """Script, clients, concurrency; run with progress and a live table; stop; summary; DataFrame."""

    def __init__(self, target: Any, scripts: Mapping[str, Script] | Sequence[Script] | None = None, *,
                 clients: int = 1, concurrency: int = 5, step_timeout: float = 10.0, **kwargs: Any):
        self.model = TransferModel(target, scripts, clients=clients, concurrency=concurrency,
                                   step_timeout=step_timeout)
        self.last_error: BaseException | None = None
        m = self.model
        style = {"description_width": "10em"}
        self.script_choice = w.Dropdown(options=list(m.scripts), value=m.script_name, description="Сценарий",
                                        style=style)
        self.script_editor = w.Textarea(value=m.script_text, rows=8, layout=w.Layout(width="98%"))
        editor = w.Accordion([self.script_editor], titles=("Шаги сценария (JSON, можно править)",),
                             selected_index=None)
        self.clients_input = w.BoundedIntText(value=m.clients, min=1, max=10_000, description="Клиентов", style=style)
        self.concurrency_input = w.BoundedIntText(value=m.concurrency, min=1, max=1_000, description="Одновременно",
                                                  style=style)
        self.timeout_input = w.BoundedFloatText(value=m.step_timeout, min=0.1, max=600, step=0.5,
                                                description="Таймаут шага, с", style=style)
        for a, b in ((self.script_choice, "script_name"), (self.script_editor, "script_text"),
                     (self.clients_input, "clients"), (self.concurrency_input, "concurrency"),
                     (self.timeout_input, "step_timeout")):
            w.link((a, "value"), (m, b))
        self.run_button = w.Button(description="Запустить", button_style="primary", icon="play", layout=w.Layout(width="auto"))
        self.stop_button = w.Button(description="Стоп", button_style="danger", icon="stop", disabled=True, layout=w.Layout(width="auto"))
        self.run_button.on_click(self.on_run)
        self.stop_button.on_click(self.on_stop)
        self.progress = w.IntProgress(value=0, min=0, max=1, description="0/0", style={"description_width": "6em"},
                                      layout=w.Layout(width="50%"))
        self.status = StatusLine()
        self.table = w.HTML()
        self.chat_choice = w.Dropdown(options=[], description="Хронология", style=style,
                                      layout=w.Layout(width="60%"))
        self.timeline = w.HTML()
        self.chat_choice.observe(lambda _change: self._render_timeline(), "value")
        self.summary = w.HTML()
        controls = w.HBox([self.clients_input, self.concurrency_input, self.timeout_input])
        buttons = w.HBox([self.run_button, self.stop_button, self.progress])
        title = w.HTML("<b>Тестовые переводы на оператора</b> — через Chat API бота, как живой клиент")
        super().__init__([title, self.script_choice, editor, controls, buttons, self.status, self.table,
                          self.chat_choice, self.timeline, self.summary], **kwargs)
        self.add_class("jivo-ops-transfer-console")
        m.observe(lambda _change: self._render(), ["state", "revision", "finished"])
        self._render()

    # -- handlers -------------------------------------------------------------------------------
    @guarded(lambda self: self.status)
    def on_run(self, _button: Any = None) -> None:
        self.model.start()
        self._render()

    @guarded(lambda self: self.status)
    def on_stop(self, _button: Any = None) -> None:
        self.model.stop()

    # -- results --------------------------------------------------------------------------------
    @property
    def result(self):
        """The per-transfer DataFrame (hand it to `logs` or plot it)."""
        return self.model.frame()

    @property
    def batch(self) -> TransferBatch | None:
        return self.model.batch

    def wait(self, timeout: float = 120.0) -> TransferBatch | None:
        return self.model.wait(timeout)

    # -- drawing --------------------------------------------------------------------------------
    def _render(self) -> None:
        m = self.model
        running = m.state in ("running", "stopping")
        self.run_button.disabled = running
        self.stop_button.disabled = m.state != "running"
        self.progress.max = max(m.total, 1)
        self.progress.value = m.finished
        self.progress.description = f"{m.finished}/{m.total}"
        self.progress.bar_style = "" if m.stopped else {"done": "success", "failed": "danger"}.get(m.state, "info")
        if m.state == "running":
            self.status.show(f"выполняется… {m.summary_text()}", "busy")
        elif m.state == "stopping":
            self.status.show("останавливаю… (завершённые переводы сохраняются)", "busy")
        elif m.state == "failed":
            self.status.error(m.error)
        elif m.state == "done":
            ok = m.batch is not None and m.batch.passed
            if m.stopped:  # a stop is the user's, not the bot's failure: neutral
                self.status.show(m.summary_text(), "info")
            else:
                self.status.show(f"{OK_MARK if ok else FAIL_MARK} {m.summary_text()}", "ok" if ok else "error")
        self._render_table()
        chats = [r.chat for r in list(m.results)]
        if list(self.chat_choice.options) != chats:
            current = self.chat_choice.value
            self.chat_choice.options = chats
            if current in chats:
                self.chat_choice.value = current
            elif chats:
                self.chat_choice.value = chats[0]
        self._render_summary()

    def _render_table(self) -> None:
        results = list(self.model.results)[-LIVE_ROWS:]
        if not results:
            self.table.value = ""
            return
        rows = []
        for r in reversed(results):
            color = OUTCOME_COLORS.get(r.outcome, "#444")
            wait = f"{r.wait_s:.2f}" if r.wait_s is not None else "–"
            switch = f"{r.time_to_switch_s:.2f}" if r.time_to_switch_s is not None else "–"
            rows.append(f"<tr><td><code>{esc(r.chat)}</code></td><td style='color:{color}'><b>{esc(r.outcome)}</b></td>"
                        f"<td>{self._checks_cell(r)}</td>"
                        f"<td>{switch}</td><td>{wait}</td><td>{esc(r.operator or '')}</td>"
                        f"<td>{esc(redact(r.error or ''))}</td></tr>")
        more = len(self.model.results) - len(results)
        caption = f"последние {len(results)} из {len(self.model.results)}" if more > 0 else "готовые переводы"
        self.table.value = ("<table class='jivo-ops-live'><caption style='text-align:left'>" + esc(caption)
                            + "</caption><tr><th>chat</th><th>outcome</th><th>checks</th><th>switch, s</th><th>wait, s</th>"
                            "<th>operator</th><th>error</th></tr>" + "".join(rows) + "</table>")

    @staticmethod
    def _checks_cell(result: TransferResult) -> str:
        """passed/failed/skipped counts of one transfer's checks; red with a mark when any failed."""
        counts = summarize([result])["checks"]
        if not any(counts.values()):
            return "–"
        text = f"{counts['passed']} ok, {counts['failed']} failed, {counts['skipped']} skipped"
        if counts["failed"]:
            return f"<span style='color:#c62828'><b>{FAIL_MARK} {esc(text)}</b></span>"
        return f"{OK_MARK} {esc(text)}"

    def _render_timeline(self) -> None:
        chosen = self.chat_choice.value
        result = next((r for r in list(self.model.results) if r.chat == chosen), None)
        if result is None:
            self.timeline.value = ""
            return
        marked = [f"{FAIL_MARK} " + format_check(c, indent="").replace("\n", "\n  ") for c in result.failed_checks]
        self.timeline.value = copyable("\n".join([format_timeline(result, width=140)] + marked), block=True)

    def _render_summary(self) -> None:
        batch = self.model.batch
        if batch is None:
            self.summary.value = ""
            return
        rows, columns = format_summary(batch.summary())
        body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
        head = "".join(f"<th>{esc(c)}</th>" for c in columns)
        self.summary.value = f"<b>Итог</b><table><tr>{head}</tr>{body}</table>"

    def __repr__(self) -> str:
        return f"TransferConsole({self.model.summary_text()}, state={self.model.state})"
