"""`TransferConsole`: run test switch transfers from a notebook and watch them land.

A thin view over `jivo_ops.transfer.arun_transfers`: pick a script (or edit its JSON), the number
of clients, concurrency and the step timeout; «Запустить» runs the batch in a worker thread (the
kernel stays free), a progress bar and a live table fill as each transfer finishes, «Стоп» stops
the batch cleanly (finished transfers are kept), and the summary and the per-transfer DataFrame
(`console.result`) are there at the end. Pick a row's chat to read its timeline.

The scripts offered are the built-in default, the shipped `handover-examples/` and those of a folder
the user names. When the target is a sandbox or a stand-in, «Песочница» changes its operators, think
time and injected faults while it runs, through its live settings (`LiveSettings.set`, the operation
its ``POST /admin/settings`` calls too); a script's own ``sandbox`` settings apply on a sandbox.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any, Mapping, Sequence

import ipywidgets as w
import traitlets as t

from ..errors import JivoOpsError, ScriptError
from ..files import shown_name
from ..i18n import N_, _
from ..redaction import redact
from ..sandbox.settings import FAULT_RATES, LiveSettings, SandboxSettings
from ..transfer import DEFAULT_SCRIPT, OUTCOMES, Script, TransferBatch, TransferResult, TransferSettings, \
    arun_transfers, format_stopped, format_summary, format_timeline, summarize
from ..transfer.regression import apply_script_sandbox, find_scripts
from ..transfer.render import format_check
from ..transfer.script import load_scripts
from ._common import FAIL_MARK, OK_MARK, BackgroundJob, StatusLine, copyable, error_text, esc, guarded

__all__ = ["TransferModel", "TransferConsole", "SHIPPED_SCRIPTS", "NO_FAULT"]

OUTCOME_COLORS = {"answered": "#1a7f37", "no_operators": "#9a6700", "no_switch": "#c62828",
                  "unanswered": "#c62828", "error": "#c62828"}
LIVE_ROWS = 12  # the live table shows the latest rows; the DataFrame has them all
# The examples shipped beside the package in a checkout (absent from an installed wheel: then only the default).
SHIPPED_SCRIPTS = Path(__file__).resolve().parents[2] / "handover-examples"
NO_FAULT = ""
FAULT_LABELS = {NO_FAULT: N_("no fault"),
                "jaicp_error_rate": N_("JAICP answers 503"), "jaicp_drop_rate": N_("JAICP drops the connection"),
                "webhook_error_rate": N_("Internal Webhook Url answers 503"),
                "webhook_drop_rate": N_("Internal Webhook Url drops the connection"),
                "jivo_error_rate": N_("Jivo answers 503"), "jivo_drop_rate": N_("Jivo drops the connection")}
LIVE_COLUMNS = {"chat": N_("chat"), "started": N_("started"), "outcome": N_("outcome"), "checks": N_("checks"),
                "switch": N_("switch, s"), "wait": N_("wait, s"), "operator": N_("operator"), "error": N_("error")}


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
        if SHIPPED_SCRIPTS.is_dir():
            self.scripts.update({s.name: s for s in self._read_folder(SHIPPED_SCRIPTS)[0]})
        self.scripts.update({s.name: s for s in given})
        self.builtin = dict(self.scripts)  # what a reload of the user's folder starts from
        self.results: list[TransferResult] = []
        self.batch: TransferBatch | None = None
        self.job: BackgroundJob | None = None
        self._lock = threading.Lock()
        self.observe(self._script_chosen, "script_name")
        self._script_chosen()

    # -- script ---------------------------------------------------------------------------------
    @staticmethod
    def _read_folder(folder: Path) -> tuple[list[Script], list[str]]:
        """The scripts of a folder, and one line per file that is not a valid script."""
        found, problems = [], []
        for path in find_scripts(folder):
            try:
                found += load_scripts(path)
            except ScriptError as exc:
                problems.append(str(exc))
        return found, problems

    def load_folder(self, folder: str) -> str:
        """Offer the scripts of `folder` besides the built-in and shipped ones; says what it found.
        A folder that is not one, or holds no script, raises a one-line JivoOpsError."""
        if not folder.strip():
            raise JivoOpsError(_("scripts folder: type a folder path first"))
        path = Path(folder.strip()).expanduser()
        if not path.is_dir():
            raise JivoOpsError(_("scripts folder {folder}: not a folder").format(folder=shown_name(path)))
        found, problems = self._read_folder(path)
        if not found and not problems:
            raise JivoOpsError(_("scripts folder {folder}: no *.transfer.toml or *.transfer.json files").format(
                folder=shown_name(path)))
        self.scripts = {**self.builtin, **{s.name: s for s in found}}
        message = _("{count} scripts from {folder}").format(count=len(found), folder=shown_name(path))
        if problems:
            message += "; " + _("skipped: {problems}").format(problems="; ".join(problems))
        if self.script_name not in self.scripts:
            self.script_name = found[0].name if found else DEFAULT_SCRIPT.name
        return message

    def _script_chosen(self, _change: Any = None) -> None:
        script = self.scripts.get(self.script_name)
        if script is not None:
            self.script_text = json.dumps(script.to_json(), ensure_ascii=False, indent=1)

    def script(self) -> Script:
        """The script to run: the chosen one, or the edited JSON (a ScriptError names the bad step)."""
        try:
            data = json.loads(self.script_text)
        except json.JSONDecodeError as exc:
            raise JivoOpsError(_("script JSON: {problem} at line {line}, column {column}").format(
                problem=exc.msg, line=exc.lineno, column=exc.colno)) from None
        return Script.from_json(data, source="script JSON", default_name=self.script_name or "custom")

    # -- the sandbox ----------------------------------------------------------------------------
    @property
    def live(self) -> LiveSettings | None:
        """The sandbox or stand-in whose settings the console may change (None: a real bot)."""
        return self.target if isinstance(self.target, LiveSettings) else None

    def faults(self) -> tuple[str, ...]:
        """The fault rates that reach this target: JAICP's where it serves JAICP, Jivo's where it serves Jivo."""
        live = self.live
        if live is None:
            return ()
        sides = [side for side, serves in (("jaicp", hasattr(live, "jaicp")),
                                           ("jivo", getattr(live, "serves_jivo", True))) if serves]
        return tuple(name for side in sides for name in FAULT_RATES[side])

    def set_sandbox(self, *, online: bool, think_time: float, fault: str = NO_FAULT, share: float = 0.0) -> SandboxSettings:
        """Operators online or not, their think time, and at most one injected fault (the others off)."""
        if self.live is None:
            raise JivoOpsError(_("the target is not a sandbox or stand-in: its settings are the real services'"))
        if fault and fault not in self.faults():
            raise JivoOpsError(_("fault {fault}: this target has no such fault").format(fault=fault))
        changes: dict[str, Any] = {"online": online, "think_time": think_time}
        changes.update({name: (share if name == fault else 0.0) for name in self.faults()})
        return self.live.set(**changes)

    # -- running --------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.job is not None and self.job.running

    def start(self) -> BackgroundJob:
        """Start a batch; bad settings raise the operation's SettingsError (the view shows its message)."""
        if self.running:
            raise JivoOpsError(_("a batch is already running; press «{stop}» first").format(stop=_("Stop")))
        settings = TransferSettings(clients=self.clients, concurrency=self.concurrency, step_timeout=self.step_timeout)
        script = self.script()
        if script.sandbox and self.live is not None:  # as a regression run does on a sandbox (and kept)
            apply_script_sandbox(script, self.live)
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
            self.error = _("stopped before the batch started")
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
            raise TimeoutError(_("the batch did not finish within {seconds:.0f} s").format(seconds=timeout))
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
        counts = ", ".join(f"{o}={n}" for o, n in self.counts.items() if n) or _("none yet")
        if self.stopped:
            return f"{format_stopped(self.batch.summary())}: {counts}"
        return _("{finished}/{total} transfers: {counts}").format(finished=self.finished, total=self.total,
                                                                   counts=counts)


class TransferConsole(w.VBox):
    """Script, clients, concurrency; run with progress and a live table; stop; summary; DataFrame."""

    def __init__(self, target: Any, scripts: Mapping[str, Script] | Sequence[Script] | None = None, *,
                 clients: int = 1, concurrency: int = 5, step_timeout: float = 10.0, **kwargs: Any):
        self.model = TransferModel(target, scripts, clients=clients, concurrency=concurrency,
                                   step_timeout=step_timeout)
        self.last_error: BaseException | None = None
        m = self.model
        style = {"description_width": "10em"}
        self.script_choice = w.Dropdown(options=list(m.scripts), value=m.script_name, description=_("Script"),
                                        style=style, layout=w.Layout(width="60%"))
        self.folder_input = w.Text(placeholder=_("a folder of *.transfer.toml scripts"), description=_("Scripts folder"),
                                   style=style, layout=w.Layout(width="60%"))
        self.folder_button = w.Button(description=_("Refresh"), icon="refresh", layout=w.Layout(width="auto"))
        self.folder_button.on_click(self.on_folder)
        self.folder_status = StatusLine()
        self.script_editor = w.Textarea(value=m.script_text, rows=8, layout=w.Layout(width="98%"))
        editor = w.Accordion([self.script_editor], titles=(_("Script steps (JSON, editable)"),),
                             selected_index=None)
        self.clients_input = w.BoundedIntText(value=m.clients, min=1, max=10_000, description=_("Clients"),
                                              style=style)
        self.concurrency_input = w.BoundedIntText(value=m.concurrency, min=1, max=1_000, description=_("At once"),
                                                  style=style)
        self.timeout_input = w.BoundedFloatText(value=m.step_timeout, min=0.1, max=600, step=0.5,
                                                description=_("Step timeout, s"), style=style)
        for a, b in ((self.script_choice, "script_name"), (self.script_editor, "script_text"),
                     (self.clients_input, "clients"), (self.concurrency_input, "concurrency"),
                     (self.timeout_input, "step_timeout")):
            w.link((a, "value"), (m, b))
        self.run_button = w.Button(description=_("Run"), button_style="primary", icon="play", layout=w.Layout(width="auto"))
        self.stop_button = w.Button(description=_("Stop"), button_style="danger", icon="stop", disabled=True, layout=w.Layout(width="auto"))
        self.run_button.on_click(self.on_run)
        self.stop_button.on_click(self.on_stop)
        self.progress = w.IntProgress(value=0, min=0, max=1, description="0/0", style={"description_width": "6em"},
                                      layout=w.Layout(width="50%"))
        self.status = StatusLine()
        self.table = w.HTML(layout=w.Layout(overflow="auto", max_width="100%"))  # a wide table scrolls
        self.chat_choice = w.Dropdown(options=[], description=_("Timeline"), style=style,
                                      layout=w.Layout(width="60%"))
        self.timeline = w.HTML()
        self.chat_choice.observe(lambda _change: self._render_timeline(), "value")
        self.summary = w.HTML()
        controls = w.HBox([self.clients_input, self.concurrency_input, self.timeout_input])
        buttons = w.HBox([self.run_button, self.stop_button, self.progress])
        title = w.HTML(_("<b>Test transfers to an operator</b> — through the bot's Chat API, like a live client"))
        folder = w.HBox([self.folder_input, self.folder_button])
        parts = [title, self.script_choice, folder, self.folder_status, editor, controls]
        self.sandbox_panel = self._sandbox_controls(style) if m.live is not None else None
        if self.sandbox_panel is not None:
            parts.append(self.sandbox_panel)
        super().__init__(parts + [buttons, self.status, self.table, self.chat_choice, self.timeline, self.summary],
                         **kwargs)
        self.add_class("jivo-ops-transfer-console")
        m.observe(lambda _change: self._render(), ["state", "revision", "finished"])
        self._render()

    def _sandbox_controls(self, style: Mapping[str, str]) -> w.Widget:
        """Operators online/offline, think time and one fault, as the running sandbox has them."""
        faults = self.model.faults()
        self.online_choice = w.ToggleButtons(options=[(_("online"), True), (_("offline"), False)],
                                             description=_("Operators"), style={**style, "button_width": "8em"})
        self.think_input = w.BoundedFloatText(min=0, max=600, step=0.5, description=_("Think time, s"), style=style)
        self.fault_choice = w.Dropdown(options=[(_(FAULT_LABELS[name]), name) for name in (NO_FAULT,) + faults],
                                       description=_("Fault"), style=style, layout=w.Layout(width="60%"))
        self.share_input = w.FloatSlider(value=0.5, min=0, max=1, step=0.05, description=_("Share of requests"),
                                         style=style, readout_format=".0%")
        self.apply_button = w.Button(description=_("Apply"), icon="check", layout=w.Layout(width="auto"))
        self.apply_button.on_click(self.on_apply_sandbox)
        self.sandbox_status = StatusLine()
        self.fault_choice.observe(lambda _change: self._share_for_fault(), "value")
        self._read_sandbox()
        body = w.VBox([self.online_choice, self.think_input, w.HBox([self.fault_choice, self.share_input]),
                       w.HBox([self.apply_button, self.sandbox_status])])
        return w.Accordion([body], titles=(_("Sandbox: operators, think time, faults"),), selected_index=None)

    def _share_for_fault(self) -> None:
        self.share_input.disabled = self.fault_choice.value == NO_FAULT  # a share of no fault means nothing

    def _read_sandbox(self) -> None:
        """Show the sandbox's current settings (a script's own `sandbox` settings may have changed them)."""
        settings = self.model.live.settings
        fault = next((name for name in self.model.faults() if getattr(settings, name)), NO_FAULT)
        self.online_choice.value, self.think_input.value = settings.online, settings.think_time
        self.fault_choice.value = fault
        if fault:
            self.share_input.value = getattr(settings, fault)
        self._share_for_fault()

    # -- handlers -------------------------------------------------------------------------------
    @guarded(lambda self: self.folder_status)
    def on_folder(self, _button: Any = None) -> None:
        self.folder_status.show("")
        message = self.model.load_folder(self.folder_input.value)
        self.script_choice.options = list(self.model.scripts)
        self.script_choice.value = self.model.script_name
        self.folder_status.show(f"{OK_MARK} {message}", "ok")

    @guarded(lambda self: self.sandbox_status)
    def on_apply_sandbox(self, _button: Any = None) -> None:
        fault = self.fault_choice.value
        settings = self.model.set_sandbox(online=self.online_choice.value, think_time=self.think_input.value,
                                          fault=fault, share=self.share_input.value)
        shown = _(FAULT_LABELS[fault]) + (f" {getattr(settings, fault):.0%}" if fault else "")
        self.sandbox_status.show(_("{mark} applied: operators {online}, think time {think:g} s, {fault}").format(
            mark=OK_MARK, online=_("online") if settings.online else _("offline"), think=settings.think_time,
            fault=shown), "ok")

    @guarded(lambda self: self.status)
    def on_run(self, _button: Any = None) -> None:
        self.model.start()
        if self.sandbox_panel is not None:
            self._read_sandbox()
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
            self.status.show(_("running… {summary}").format(summary=m.summary_text()), "busy")
        elif m.state == "stopping":
            self.status.show(_("stopping… (finished transfers are kept)"), "busy")
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
        import pandas as pd

        results = list(self.model.results)[-LIVE_ROWS:]
        if not results:
            self.table.value = ""
            return
        rows = [{"chat": r.chat, "started": r.started_at, "outcome": r.outcome, "checks": self._checks_text(r),
                 "switch": r.time_to_switch_s, "wait": r.wait_s, "operator": r.operator or "",
                 "error": redact(r.error or "")} for r in reversed(results)]
        frame = pd.DataFrame(rows, columns=list(LIVE_COLUMNS))
        frame["started"] = pd.to_datetime(frame["started"], utc=True)
        more = len(self.model.results) - len(results)
        caption = (_("latest {shown} of {total}").format(shown=len(results), total=len(self.model.results))
                   if more > 0 else _("finished transfers"))
        failed = "color: #c62828; font-weight: bold"
        styled = (frame.style.hide(axis="index").set_caption(esc(caption))
                  .format({"switch": "{:.2f}", "wait": "{:.2f}", "started": lambda v: v.strftime("%H:%M:%S"),
                           "chat": "<code>{}</code>", "outcome": "<b>{}</b>"}, na_rep="–", escape="html")
                  .map(lambda v: f"color: {OUTCOME_COLORS.get(v, '#444')}", subset=["outcome"])
                  .map(lambda v: failed if v.startswith(FAIL_MARK) else "", subset=["checks"])
                  .relabel_index([_(LIVE_COLUMNS[c]) for c in LIVE_COLUMNS], axis="columns")
                  .set_table_attributes("class='jivo-ops-live'")
                  .set_properties(subset=["error"], **{"white-space": "normal", "min-width": "16em"})
                  .set_table_styles([{"selector": "caption", "props": "text-align: left"},
                                     {"selector": "td, th", "props": "padding: 0 0.6em; text-align: left; "
                                                                    "white-space: nowrap"}]))
        self.table.value = styled.to_html()

    @staticmethod
    def _checks_text(result: TransferResult) -> str:
        """passed/failed/skipped counts of one transfer's checks, with a mark when any failed."""
        counts = summarize([result])["checks"]
        if not any(counts.values()):
            return "–"
        text = _("{passed} ok, {failed} failed, {skipped} skipped").format(**counts)
        return f"{FAIL_MARK} {text}" if counts["failed"] else f"{OK_MARK} {text}"

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
        import pandas as pd

        rows, columns = format_summary(batch.summary())
        styled = (pd.DataFrame(rows, columns=columns).style.hide(axis="index").format(escape="html")
                  .set_table_styles([{"selector": "td, th", "props": "padding: 0 0.6em; text-align: left"}]))
        self.summary.value = "<b>" + esc(_("Summary")) + "</b>" + styled.to_html()

    def __repr__(self) -> str:
        return f"TransferConsole({self.model.summary_text()}, state={self.model.state})"
