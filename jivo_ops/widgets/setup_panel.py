"""`SetupPanel`: the seed's four setup steps as a guided form, with the field names users see in
JAICP and Jivo, live check findings per step (✓ / ✗ with the fix), optional probes, and
save/load of the profile.

A thin view over `jivo_ops.setup.checks` (findings, service probes), `jivo_ops.setup.probes` (leg probes),
`jivo_ops.profile` (save/load) and, when the target is a running `Sandbox`, its admin API
(`configure_step`): each step's button does what the user would do in that console's form, and
the panel then shows what the console now holds. With a real profile the buttons are hidden and
the panel is a checked editor of the profile.

Secrets: every URL field is a password-style input with «Показать»; beside it a one-click-select
copy of the URL, masked until revealed. The view's text repr never holds a URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as w
import traitlets as t

from ..setup.checks import FIELDS, STEPS, CheckReport, FieldInfo, check_profile
from ..errors import JivoOpsError
from ..profile import PROFILE_FIELDS, Profile, load_profile, resolve_profile, save_profile
from ..redaction import mask_secret, mask_url
from ..channel.switch import SwitchReply
from ..i18n import N_, _
from ._common import (FAIL_MARK, OK_MARK, WARN_MARK, BackgroundJob, StatusLine, copyable, esc, form_traits,
                      guarded, reveal_button)

__all__ = ["SetupModel", "SetupPanel", "SecretInput"]

# Every profile setting by key (`jivo_ops.profile.PROFILE_FIELDS`); each is a model trait named `_trait(key)`.
SETTINGS = {f.key: f for f in PROFILE_FIELDS}
KEYS = tuple(SETTINGS)
# Each setting's step and console label (`setup.checks.FIELDS`); one the checks do not know yet goes to the
# last step, labelled with its key.
PLACES = {key: FIELDS.get(key, FieldInfo(key, max(STEPS), key)) for key in KEYS}
# The inputs top to bottom: by step, within a step in the checks' order (the order of the consoles' forms).
PANEL_ORDER = sorted([k for k in FIELDS if k in SETTINGS] + [k for k in KEYS if k not in FIELDS],
                     key=lambda k: PLACES[k].step)
# What an empty input's value looks like.
PLACEHOLDERS = {
    "jaicp.internal_webhook_url": "https://app.jaicp.com/chatadapter/chatapi/webhook/jivosite/…",
    "jivo.webhook_url": N_("paste the Internal Webhook Url"),
    "jivo.unique_url": "https://wh.jivosite.com/…/…",
    "jaicp.external_api_endpoint": N_("paste the «Уникальный URL»"),
    "jaicp.inbound_operator": N_("the operator channel's name, e.g. Jivo"),
    "jaicp.chat_api_url": "https://app.jaicp.com/chatapi/<token>",
    "jaicp.reporter_token": N_("Reporter API token (or JIVO_OPS_REPORTER_TOKEN)"),
}


def _trait(key: str) -> str:
    return key.replace(".", "_")


# Where the user clicks, per step (the seed's own words; the consoles' labels verbatim in «…»).
WHERE = {
    1: N_("JAICP: «Каналы» → «Операторы» → «Подключить канал» → Jivo. Leave «External API Endpoint» empty, "
          "press «Создать», then «Редактировать», and copy the «Internal Webhook Url»."),
    2: N_("Jivo: «Управление» → «Каналы связи» → «Добавьте чат в свое приложение». Paste the Internal Webhook Url "
          "into «URL вашего сервера для Webhooks», turn on «Chunked кодировка в запросах», press «Добавить канал» "
          "and copy the «Уникальный URL»."),
    3: N_("JAICP: «Редактировать» the operator channel, paste the «Уникальный URL» into «External API Endpoint», "
          "«Сохранить»; then in the inbound channel choose this channel in the «Оператор» field and «Сохранить»."),
    4: N_("Scenario: $response.replies.push({type: \"switch\", …}). Tests need the Chat API channel's URL "
          "(and the Reporter API token for the logs)."),
}
# Each step's button does what that console's button does (named in WHERE as the console labels it).
APPLY_LABEL = {1: N_("Create"), 2: N_("Add channel"), 3: N_("Save"), 4: N_("Apply switch")}
DEFAULT_PROFILE_FILE = "jivo-ops-profile.toml"
STATE_MARKS = {"error": FAIL_MARK, "warning": WARN_MARK, "ok": OK_MARK}
STATE_COLORS = {"error": "#c62828", "warning": "#9a6700", "ok": "#1a7f37"}
# Every sentence the panel's own status lines say (catalog entries: `_()`-ed where shown).
MESSAGES = {
    "applied": N_("✓ step {step} «{title}» done in the sandbox"),
    "applied_but_red": N_("✓ step {step} «{title}» done in the sandbox; still red: step {red}"),
    "path_empty": N_("«Profile file» is empty: type a file path, e.g. my-integration.toml"),
    "folder_missing": N_("there is no folder {folder}: create it or type another path"),
    "overwrite_ask": N_("⚠ {path} already exists: press «Save profile» again to overwrite it"),
    "saved": N_("✓ saved: {path} (owner-only access, 0600)"),
    "overwrote": N_("✓ overwritten: {path} (owner-only access, 0600)"),
    "loaded": N_("✓ loaded: {path}"),
    "switch_invalid": N_("switch (JSON): {error}"),
}
PROBE_LABELS = {"services": N_("service probes"), "jivo": N_("Jivo leg"), "jaicp": N_("JAICP leg"),
                "diagnose": N_("what broke")}
PROBE_COLUMNS = (N_("probe"), N_("time"), N_("result"), N_("next step"))


# One trait per profile setting, with the profile's own default.
_ProfileTraits = form_traits("_ProfileTraits", {_trait(key): value for key, value in Profile().to_values().items()})


class SetupModel(_ProfileTraits):
    """Every profile setting as a trait (from `PROFILE_FIELDS`); `report` (the live `CheckReport`)
    follows every change. The target is anything `resolve_profile` takes: a Profile, a Sandbox
    (kept, for its `configure_step`), or a profile path."""

    name = t.Unicode("")
    switch_json = t.Unicode(SwitchReply.suggested().to_json_text(indent=None, with_type=False))

    report = t.Instance(CheckReport, allow_none=True)
    switch_error = t.Unicode("")  # why «switch (JSON)» is not a valid switch reply now ("": it is)

    def __init__(self, target: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.sandbox = target if hasattr(target, "configure_step") else None
        self.source: str | None = None
        if target is not None:
            self.set_profile(resolve_profile(target))
        self.observe(lambda _change: self.recheck(), [_trait(k) for k in KEYS])
        self.observe(lambda _change: self._check_switch(), "switch_json")
        self.recheck()
        self._check_switch()

    def _check_switch(self) -> None:
        try:
            self.switch_fields()
        except JivoOpsError as exc:
            self.switch_error = _(MESSAGES["switch_invalid"]).format(error=exc)
        else:
            self.switch_error = ""

    # -- profile <-> form -------------------------------------------------------------------------
    @property
    def profile(self) -> Profile:
        return Profile.from_values({key: getattr(self, _trait(key)) for key in KEYS}, name=self.name,
                                   source=self.source)

    def set_profile(self, profile: Profile) -> None:
        with self.hold_trait_notifications():
            self.name = profile.name
            for key, value in profile.to_values().items():
                setattr(self, _trait(key), value)
        self.source = profile.source

    def recheck(self) -> CheckReport:
        self.report = check_profile(self.profile)
        return self.report

    # -- doing the steps (sandbox only) -------------------------------------------------------------
    def apply_step(self, step: int) -> dict:
        """Do step `step` in the sandbox's «UI» with the form's values; the form then shows what it holds."""
        if self.sandbox is None:
            raise JivoOpsError(_("applying a step needs a sandbox; with real accounts do it in the JAICP/Jivo UI "
                                 "and paste the values here"))
        shown = self.sandbox.configure_step(step, **self._step_values(step))  # it knows which steps exist
        self.set_profile(self.sandbox.profile)
        self.recheck()
        return shown

    def _step_values(self, step: int) -> dict:
        """The form's values of step `step`, as `Sandbox.configure_step` takes them."""
        if step == 1:
            return {"name": self.jaicp_operator_channel}
        if step == 2:
            return {"name": self.jivo_channel, "webhook_url": self.jivo_webhook_url, "chunked": self.jivo_chunked}
        if step == 3:
            return {"external_api_endpoint": self.jaicp_external_api_endpoint,
                    "inbound_operator": self.jaicp_inbound_operator}
        if step == 4:
            return {"switch": self.switch_fields()}
        return {}

    def switch_fields(self) -> dict:
        """The step-4 switch reply fields (validated by `SwitchReply`), without "type"."""
        return SwitchReply.from_json_text(self.switch_json).to_json(with_type=False)

    def copy_value(self, source_key: str, target_key: str) -> None:
        """What the user does with Ctrl+C / Ctrl+V between the consoles."""
        setattr(self, _trait(target_key), getattr(self, _trait(source_key)))

    # -- saving ---------------------------------------------------------------------------------
    @staticmethod
    def profile_file(path: str | Path) -> Path:
        """The file a path names; an empty path or a folder that does not exist is refused (never created)."""
        text = str(path).strip()
        if not text:
            raise JivoOpsError(_(MESSAGES["path_empty"]))
        target = Path(text).expanduser()
        if not target.parent.is_dir():
            raise JivoOpsError(_(MESSAGES["folder_missing"]).format(folder=target.parent))
        return target

    def save(self, path: str | Path) -> Path:
        return save_profile(self.profile, self.profile_file(path))

    def load(self, path: str | Path) -> Profile:
        if not str(path).strip():
            raise JivoOpsError(_(MESSAGES["path_empty"]))
        profile = load_profile(path)
        self.set_profile(profile)
        self.recheck()
        return profile

    def summary_text(self) -> str:
        """Stable text: the verdict per step (what a notebook checks)."""
        report = self.report or self.recheck()
        lines = [report.summary()]
        for step, title in STEPS.items():
            codes = " ".join(f.code for f in report.for_step(step))
            if step == max(STEPS) and self.switch_error:
                codes = (codes + " switch").strip()
            lines.append(f"{STATE_MARKS[self.step_state(step)]} {step}. {title}" + (f": {codes}" if codes else ""))
        return "\n".join(lines)

    def step_state(self, step: int) -> str:
        """"error", "warning" or "ok": the step as the form holds it now (the switch JSON is step 4's)."""
        found = (self.report or self.recheck()).for_step(step)
        if any(f.is_error for f in found) or (step == max(STEPS) and self.switch_error):
            return "error"
        return "warning" if found else "ok"


def probe_table(probes) -> str:
    """The service probes as a table with a header; a time never wraps ("14 ms" stays on one line)."""
    head = "".join(f"<th style='text-align:left'>{esc(_(name))}</th>" for name in PROBE_COLUMNS)
    def took(p) -> str:
        return "—" if p.latency_s is None else _("{ms} ms").format(ms=f"{p.latency_s * 1000:.0f}")

    rows = "".join(
        f"<tr><td>{OK_MARK if p.ok else ('—' if p.ok is None else FAIL_MARK)}</td><td>{esc(p.name)}</td>"
        f"<td style='white-space:nowrap;text-align:right'>{esc(took(p))}</td>"
        f"<td>{esc(p.detail)}</td><td>{esc(p.next_step)}</td></tr>" for p in probes)
    return f"<table class='jivo-ops-probes'><thead><tr><th></th>{head}</tr></thead><tbody>{rows}</tbody></table>"


class SecretInput(w.HBox):
    """A URL or token input: dots until «Показать», and a one-click copy of it, masked until then."""

    def __init__(self, label: str, placeholder: str = "", **kwargs: Any):
        layout = w.Layout(width="26em")
        self.label = w.HTML(f"<b>{esc(label)}</b>", layout=w.Layout(width="17em"))
        # values commit on Enter / leaving the field: a half-typed URL is not worth checking
        self.hidden = w.Password(placeholder=placeholder, layout=layout, continuous_update=False)
        self.shown = w.Text(placeholder=placeholder, layout=w.Layout(width="26em", display="none"),
                            continuous_update=False)
        w.link((self.hidden, "value"), (self.shown, "value"))
        self.copy = w.HTML(layout=w.Layout(max_width="34em", min_width="0"))  # a revealed URL wraps in it
        self.reveal = reveal_button(_("show the whole value to copy it"))
        self.reveal.observe(lambda _change: self._render(), "value")
        self.hidden.observe(lambda _change: self._render(), "value")
        kwargs.setdefault("layout", w.Layout(flex_flow="row wrap", align_items="center"))
        super().__init__([self.label, self.hidden, self.shown, self.reveal, self.copy], **kwargs)
        self.add_class("jivo-ops-secret")
        self._render()

    @property
    def value(self) -> str:
        return self.hidden.value

    @value.setter
    def value(self, text: str) -> None:
        self.hidden.value = text

    @property
    def text(self) -> str:
        """What the copy display shows right now."""
        if not self.value:
            return ""
        if self.reveal.value:
            return self.value
        return mask_url(self.value) if "://" in self.value else (mask_secret(self.value) or "…")

    def _render(self) -> None:
        revealed = self.reveal.value
        self.hidden.layout.display = "none" if revealed else None
        self.shown.layout.display = None if revealed else "none"
        self.copy.value = copyable(self.text) if self.value else ""

    def __repr__(self) -> str:
        return f"SecretInput({self.text!r})" if not self.reveal.value else "SecretInput(<revealed>)"


class SetupPanel(w.VBox):
    """The four steps; findings per step; probes; save/load. See the module docstring."""

    def __init__(self, target: Any = None, *, profile_path: str | Path | None = None, **kwargs: Any):
        self.model = m = SetupModel(target)
        self.last_error: BaseException | None = None
        self.inputs: dict[str, w.Widget] = {}
        self.step_status: dict[int, w.HTML] = {}
        self.apply_buttons: dict[int, w.Button] = {}
        self.status = StatusLine()
        self.probe_status = StatusLine()
        self.file_status = StatusLine()
        self.probe_job: BackgroundJob | None = None
        self.probe_result: Any = None  # the last probe's result: a CheckReport, a leg's ProbeResult, a Diagnosis

        def control(key: str) -> w.Widget:
            """The input of one setting: a checkbox for a flag, a masked input for a secret, else text."""
            label, setting = PLACES[key].label, SETTINGS[key]  # a console's own name keeps its «…» in any language
            if setting.kind is bool:
                widget = w.Checkbox(value=getattr(m, _trait(key)), description=label, indent=False)
                w.link((widget, "value"), (m, _trait(key)))
            elif setting.kind in (int, float):
                number = w.IntText if setting.kind is int else w.FloatText
                widget = number(value=getattr(m, _trait(key)), description=label, style={"description_width": "18em"})
                w.link((widget, "value"), (m, _trait(key)))
            elif setting.secret:
                widget = SecretInput(label, _(PLACEHOLDERS[key]) if key in PLACEHOLDERS else "")
                widget.value = getattr(m, _trait(key))
                w.link((widget.hidden, "value"), (m, _trait(key)))
            else:
                widget = w.Text(value=getattr(m, _trait(key)), description=label,
                                placeholder=_(PLACEHOLDERS[key]) if key in PLACEHOLDERS else "",
                                style={"description_width": "18em"},
                                continuous_update=False, layout=w.Layout(width="50em"))
                w.link((widget, "value"), (m, _trait(key)))
            self.inputs[key] = widget
            return widget

        def paste(source: str, target_key: str) -> w.Button:
            field = f"«{PLACES[source].label.strip('«»')}»"
            button = w.Button(description=_("Paste {field}").format(field=field), icon="paste",
                              layout=w.Layout(width="auto", min_width="fit-content", flex="0 0 auto"),
                              tooltip=_("copy {field} here").format(field=field))
            button.on_click(lambda _b: m.copy_value(source, target_key))
            return button

        self.switch_input = w.Textarea(value=m.switch_json, rows=2, description="switch (JSON)",
                                       style={"description_width": "18em"}, layout=w.Layout(width="50em"))
        w.link((self.switch_input, "value"), (m, "switch_json"))

        self.paste_webhook = paste("jaicp.internal_webhook_url", "jivo.webhook_url")
        self.paste_unique = paste("jivo.unique_url", "jaicp.external_api_endpoint")
        paste_beside = {"jivo.webhook_url": self.paste_webhook, "jaicp.external_api_endpoint": self.paste_unique}
        bodies: dict[int, list[w.Widget]] = {step: [] for step in STEPS}
        for key in PANEL_ORDER:
            row = control(key)
            bodies[PLACES[key].step].append(w.HBox([row, paste_beside[key]], layout=w.Layout(flex_flow="row wrap"))
                                            if key in paste_beside else row)
        bodies[max(STEPS)].append(self.switch_input)
        sections = []
        for step, title in STEPS.items():
            header = w.HTML()
            self.step_status[step] = header
            parts: list[w.Widget] = [header,
                                     w.HTML(f"<div style='color:#555;font-size:90%'>{esc(_(WHERE[step]))}</div>")]
            parts += bodies[step]
            if m.sandbox is not None:
                button = w.Button(description=_(APPLY_LABEL[step]), button_style="primary", icon="check",
                                  tooltip=_("do step {step} in the sandbox, as in the console").format(step=step),
                                  layout=w.Layout(width="auto", align_self="flex-start"))
                button.on_click(lambda _b, step=step: self.on_apply(step))
                self.apply_buttons[step] = button
                parts.append(button)
            box = w.VBox(parts, layout=w.Layout(border="1px solid #ddd", padding="4px 8px", margin="4px 0"))
            box.add_class(f"jivo-ops-step-{step}")
            sections.append(box)

        self.probe_button = w.Button(description=_("Check the connection"), icon="plug", layout=w.Layout(width="auto"),
                                     tooltip=_("live probes: Jivo /status, URL reachability, Chat API /start"))
        self.jivo_leg_button = w.Button(description=_("Probe: Jivo leg"), icon="arrow-right",
                                        layout=w.Layout(width="auto"))
        self.jaicp_leg_button = w.Button(description=_("Probe: JAICP leg"), icon="arrow-left",
                                         layout=w.Layout(width="auto"))
        self.diagnose_button = w.Button(description=_("What broke?"), icon="stethoscope", button_style="warning",
                                        layout=w.Layout(width="auto"),
                                        tooltip=_("checks, probes, both legs and one test transfer: one verdict"))
        self.diagnose_button.on_click(lambda _b: self.on_probe("diagnose"))
        self.probe_button.on_click(lambda _b: self.on_probe("services"))
        self.jivo_leg_button.on_click(lambda _b: self.on_probe("jivo"))
        self.jaicp_leg_button.on_click(lambda _b: self.on_probe("jaicp"))
        self.probe_output = w.HTML()
        probes = w.VBox([w.HBox([self.diagnose_button, self.probe_button, self.jivo_leg_button,
                                 self.jaicp_leg_button]),
                         self.probe_status, self.probe_output])

        # The loaded profile's own file, so «Сохранить профиль» writes the edits back where they came from.
        self.path_input = w.Text(value=str(profile_path or m.source or DEFAULT_PROFILE_FILE), description=_("Profile file"),
                                 style={"description_width": "8em"}, layout=w.Layout(width="36em"))
        self.save_button = w.Button(description=_("Save profile"), icon="save", layout=w.Layout(width="auto"))
        self.load_button = w.Button(description=_("Load profile"), icon="folder-open", layout=w.Layout(width="auto"))
        self.save_button.on_click(self.on_save)
        self.load_button.on_click(self.on_load)
        files = w.HBox([self.path_input, self.save_button, self.load_button])

        self.summary = w.HTML()
        # a StandIn as the target: its URL to paste and whether JAICP has reached it (refresh_stand_in())
        self.stand_in = target if hasattr(target, "reached_at") else None
        self.stand_in_status = w.HTML()
        self.refresh_stand_in()
        mode = _("sandbox: the step buttons do what the JAICP and Jivo forms do") if m.sandbox is not None \
            else _("profile: fill in the fields with the values from JAICP and Jivo")
        heading = _("Jivo as the operator channel: setup")
        title = w.HTML(f"<b>{esc(heading)}</b> <span style='color:#555'>({esc(mode)})</span>")
        super().__init__([title, self.summary, self.stand_in_status, *sections, self.status,
                          w.HTML("<b>" + esc(_("Probes")) + "</b>"), probes,
                          files, self.file_status], **kwargs)
        self.add_class("jivo-ops-setup-panel")
        self._overwrite_armed: Path | None = None  # the existing file a second «Сохранить профиль» overwrites
        m.observe(lambda _change: self._render(), ["report", "switch_error"])
        # A status line speaks of what was done to the form as it was: any edit makes it stale.
        m.observe(lambda _change: self.status.show(""), [_trait(k) for k in KEYS] + ["switch_json"])
        self.path_input.observe(lambda _change: self._disarm(), "value")
        self._render()

    def refresh_stand_in(self) -> str:
        """Show the stand-in's «Уникальный URL» (masked) and whether JAICP has reached it yet; the text shown."""
        if self.stand_in is None:
            return ""
        reached = self.stand_in.reached_at
        text = (_("Stand-in: paste the «Уникальный URL» {url} into the test channel's «External API Endpoint»; "
                  "JAICP reached it at {reached}") if reached else
                _("Stand-in: paste the «Уникальный URL» {url} into the test channel's «External API Endpoint»; "
                  "JAICP has not reached it yet")).format(url=mask_url(self.stand_in.unique_url), reached=reached)
        self.stand_in_status.value = f"<div class='jivo-ops-stand-in'>{esc(text)}</div>"
        return text

    # -- handlers -------------------------------------------------------------------------------
    @guarded(lambda self: self.status)
    def on_apply(self, step: int) -> dict:
        shown = self.model.apply_step(step)
        # The step is done; an earlier one still red is said beside it, not left for the user to spot.
        red = [str(s) for s in STEPS if s < step and self.model.step_state(s) == "error"]
        text = (_(MESSAGES["applied_but_red"]).format(step=step, title=STEPS[step], red=", ".join(red)) if red
                else _(MESSAGES["applied"]).format(step=step, title=STEPS[step]))
        self.status.show(text, "ok")
        return shown

    @guarded(lambda self: self.probe_status)
    def on_probe(self, which: str) -> BackgroundJob:
        if self.probe_job is not None and self.probe_job.running:
            raise JivoOpsError(_("a probe is still running"))
        profile = self.model.profile
        self.probe_status.show(_("{probe}: running…").format(probe=_(PROBE_LABELS[which])), "busy")
        for button in self._probe_buttons:
            button.disabled = True
        self.probe_job = BackgroundJob(self._probe, which, profile, on_done=self._probed, on_error=self._probe_failed,
                                       name="jivo-ops-probe")
        return self.probe_job.start()

    @staticmethod
    def _probe(which: str, profile: Profile) -> tuple[str, Any]:
        if which == "services":  # what `jivo-ops check --probe` runs, with the probes' own time limit
            return which, check_profile(profile, probe=True)
        if which == "diagnose":  # what `jivo-ops diagnose` runs
            from ..setup.diagnose import diagnose

            return which, diagnose(profile)
        from ..setup.probes import probe_jaicp_leg, probe_jivo_leg

        if which == "jivo":  # the legs' own time limits, as `jivo-ops probe` waits
            return which, probe_jivo_leg(profile)
        return which, probe_jaicp_leg(profile, switch_first=True)

    def _probed(self, outcome: tuple[str, Any]) -> None:
        which, value = outcome
        self.probe_result = value
        if which == "diagnose":
            self.probe_output.value = value._repr_html_()
            self.probe_status.show(f"{OK_MARK if value.ok else FAIL_MARK} {value.verdict}",
                                   "ok" if value.ok else "error")
        elif which == "services":
            self.probe_output.value = probe_table(value.probes)
            failed = len(value.failed_probes)
            self.probe_status.show(_("{mark} service probes: {ok} ok, {failed} failed").format(
                mark=FAIL_MARK if failed else OK_MARK, ok=len(value.probes) - failed, failed=failed),
                "error" if failed else "ok")
        else:
            self.probe_output.value = copyable(value.render(), block=True)
            self.probe_status.show(_("{mark} {leg}: {summary}").format(
                mark=OK_MARK if value.ok else FAIL_MARK, leg=_(PROBE_LABELS[which]), summary=value.summary),
                                   "ok" if value.ok else "error")
        self._enable_probes()

    def _probe_failed(self, exc: BaseException) -> None:
        self.last_error = exc
        self.probe_status.error(exc)
        self._enable_probes()

    def _enable_probes(self) -> None:
        for button in self._probe_buttons:
            button.disabled = False

    @property
    def _probe_buttons(self) -> tuple[w.Button, ...]:
        return self.diagnose_button, self.probe_button, self.jivo_leg_button, self.jaicp_leg_button

    @guarded(lambda self: self.file_status)
    def on_save(self, _button: Any = None) -> Path | None:
        target = self.model.profile_file(self.path_input.value)
        own = self.model.source is not None and Path(self.model.source).expanduser() == target
        existed = target.exists()
        if existed and not own and self._overwrite_armed != target:
            self._overwrite_armed = target
            self.file_status.show(_(MESSAGES["overwrite_ask"]).format(path=target), "warning")
            return None
        path = self.model.save(target)
        self._disarm()
        self.file_status.show(_(MESSAGES["overwrote" if existed else "saved"]).format(path=path), "ok")
        return path

    def _disarm(self) -> None:
        self._overwrite_armed = None

    @guarded(lambda self: self.file_status)
    def on_load(self, _button: Any = None) -> Profile:
        profile = self.model.load(self.path_input.value.strip())
        self.file_status.show(_(MESSAGES["loaded"]).format(path=profile.source), "ok")
        return profile

    # -- reading --------------------------------------------------------------------------------
    @property
    def profile(self) -> Profile:
        return self.model.profile

    @property
    def report(self) -> CheckReport:
        return self.model.report

    def wait_probe(self, timeout: float = 60.0) -> None:
        if self.probe_job is not None and not self.probe_job.join(timeout):
            raise TimeoutError(f"the probe did not finish within {timeout:.0f} s")

    # -- drawing --------------------------------------------------------------------------------
    def _render(self) -> None:
        report = self.model.report
        if report is None:
            return
        color = "#1a7f37" if report.ok else "#c62828"
        self.summary.value = f"<span style='color:{color}'>{esc(report.summary())}</span>"
        for step, title in STEPS.items():
            found = report.for_step(step)
            state = self.model.step_state(step)
            switch_bad = step == max(STEPS) and self.model.switch_error
            mark, color = STATE_MARKS[state], STATE_COLORS[state]
            items = "".join(
                f"<li style='color:{'#c62828' if f.is_error else '#9a6700'}'>"
                f"{FAIL_MARK if f.is_error else WARN_MARK} <code>{esc(f.code)}</code> {esc(f.field)}: {esc(f.message)}"
                f"<br><span style='color:#333'>→ {esc(f.fix)}</span></li>" for f in found)
            if switch_bad:
                items += f"<li style='color:#c62828'>{FAIL_MARK} {esc(self.model.switch_error)}</li>"
            head = _("Step {step}. {title}").format(step=step, title=title)
            self.step_status[step].value = (f"<div class='jivo-ops-step-head' data-ok='{int(state == 'ok' and not found)}'>"
                                            f"<b style='color:{color}'>{mark} {esc(head)}</b>"
                                            + (f"<ul style='margin:2px 0'>{items}</ul>" if items else "")
                                            + "</div>")

    def __repr__(self) -> str:
        report = self.model.report
        return f"SetupPanel({report.summary() if report else 'unchecked'})"

