"""`SwitchBuilder`: every field of the JAICP ``switch`` reply as a control, warnings live,
the JSON and the scenario's JS snippet side by side, ready to copy.

A thin view over `jivo_ops.channel.switch.SwitchReply`: the model hands the controls' text to
`SwitchReply.from_form` (the reading `jivo-ops switch` uses too) and shows `SwitchReply.to_form()` for
a loaded reply; the reply does the validation, JSON and JS. Nothing here knows the wire format.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import traitlets as t

from ..errors import JivoOpsError
from ..channel.switch import FIELD_HELP, SWITCH_FIELDS, SwitchReply
from ..i18n import N_, _
from ._common import OK_MARK, WARN_MARK, copyable, esc, form_traits

__all__ = ["SwitchModel", "SwitchBuilder"]


# Each control's hint (a placeholder, or a flag's explanation), in the form's order top to bottom.
HINTS = {
    "first_message": N_("default: the client's last phrase"),
    "last_message": N_("sent when the chat is closed with a closing phrase"),
    "close_chat_phrases": N_("one phrase per line, e.g. /closeChat"),
    "append_close_chat_button": N_("a button with the first closing phrase"),
    "ignore_offline": N_("transfer even when no operator is online"),
    "one_time_message": N_("only send firstMessage, no transfer"),
    "send_messages_to_operator": N_("send the history to the operator"),
    "send_message_history_amount": N_("how many messages (empty: not set)"),
    "destination": N_("operator group (Jivo does not use it)"),
    "theme": N_("subject of the request (Aimychat only)"),
    "attributes": N_("name=value, one per line"),
    "hidden_attributes": N_("name=value, one per line"),
    "custom_data": N_("JSON"),
}
FLAGS = ("append_close_chat_button", "ignore_offline", "one_time_message", "send_messages_to_operator")
AREAS = ("first_message", "close_chat_phrases", "attributes", "hidden_attributes", "custom_data")

# One trait per reply field, as a form holds it (text or a flag), starting from the suggested reply.
_SwitchFormTraits = form_traits("_SwitchFormTraits", SwitchReply.suggested().to_form())


class SwitchModel(_SwitchFormTraits):
    """The form's state as text and flags (one trait per `SWITCH_FIELDS` name); `reply` is the
    `SwitchReply` it means, or None with `error` set."""

    reply = t.Any(None, allow_none=True)
    error = t.Unicode("")
    warnings = t.List(t.Unicode())

    INPUTS = tuple(SWITCH_FIELDS)

    def __init__(self, reply: SwitchReply | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if reply is not None:
            self.load(reply)
        self.observe(lambda _change: self.rebuild(), list(self.INPUTS))
        self.rebuild()

    def load(self, reply: SwitchReply) -> None:
        """Fill the form from a reply (e.g. one found in a bot response)."""
        with self.hold_trait_notifications():
            for name, value in reply.to_form().items():
                setattr(self, name, value)
        self.rebuild()

    def form(self) -> dict[str, str | bool]:
        """The controls' values as typed, by field name."""
        return {name: getattr(self, name) for name in self.INPUTS}

    def build(self) -> tuple[SwitchReply, list[str]]:
        """The reply the form describes and its warnings (`SwitchReply.from_form`); a JivoOpsError
        naming the wire field when a control holds nonsense."""
        return SwitchReply.from_form(**self.form())

    def rebuild(self) -> None:
        try:
            reply, warnings = self.build()
        except JivoOpsError as exc:
            self.reply, self.error, self.warnings = None, str(exc), []
            return
        self.reply, self.error, self.warnings = reply, "", warnings

    def summary(self) -> str:
        """A stable one-paragraph text: the JSON keys and the warnings (what a notebook checks)."""
        if self.reply is None:
            return f"invalid: {self.error}"
        keys = ", ".join(k for k in self.reply.to_json() if k != "type") or "(defaults only)"
        lines = [f"switch fields set: {keys}", f"warnings: {len(self.warnings)}"]
        lines += [f"  - {text}" for text in self.warnings]
        return "\n".join(lines)


class SwitchBuilder(w.VBox):
    """The form, the warnings, and JSON | JS side by side. `builder.reply` is the current `SwitchReply`."""

    def __init__(self, reply: SwitchReply | None = None, **kwargs: Any):
        self.model = SwitchModel(reply)
        full = w.Layout(width="98%")
        style = {"description_width": "17em"}

        def text(name: str, placeholder: str = "", area: bool = False, rows: int = 2) -> w.Widget:
            cls = w.Textarea if area else w.Text
            extra = {"rows": rows} if area else {}
            control = cls(value=getattr(self.model, name), description=SWITCH_FIELDS[name],
                          placeholder=placeholder, layout=full, style=style,
                          tooltip=FIELD_HELP.get(SWITCH_FIELDS[name], ""), **extra)
            w.link((self.model, name), (control, "value"))
            return control

        def flag(name: str, hint: str) -> w.Checkbox:
            control = w.Checkbox(value=getattr(self.model, name), description=f"{SWITCH_FIELDS[name]} — {hint}",
                                 indent=False, layout=w.Layout(width="auto"),
                                 tooltip=FIELD_HELP.get(SWITCH_FIELDS[name], ""))
            w.link((self.model, name), (control, "value"))
            return control

        self.controls: dict[str, w.Widget] = {
            name: (flag(name, _(hint)) if name in FLAGS else text(name, _(hint), area=name in AREAS))
            for name, hint in HINTS.items()
        }
        flags = w.VBox([self.controls[n] for n in FLAGS])
        form = w.VBox([self.controls[n] for n in ("first_message", "last_message", "close_chat_phrases")] + [flags]
                      + [self.controls[n] for n in ("send_message_history_amount", "destination", "theme",
                                                    "attributes", "hidden_attributes", "custom_data")])
        self.warnings_html = w.HTML()
        self.json_html = w.HTML(layout=w.Layout(width="50%"))
        self.js_html = w.HTML(layout=w.Layout(width="50%"))
        outputs = w.HBox([self.json_html, self.js_html], layout=w.Layout(width="100%"))
        title = w.HTML("<b>switch</b> — " + esc(_("hand-over to an operator")) + " (<code>$response.replies.push</code>)")
        super().__init__([title, form, self.warnings_html, outputs], **kwargs)
        self.add_class("jivo-ops-switch-builder")
        self.model.observe(lambda _change: self._render(), ["reply", "error", "warnings"])
        self._render()

    # -- what the user reads and copies ---------------------------------------------------------
    @property
    def reply(self) -> SwitchReply | None:
        return self.model.reply

    @property
    def json_text(self) -> str:
        return self.model.reply.to_json_text() if self.model.reply is not None else ""

    @property
    def js_text(self) -> str:
        return self.model.reply.to_js() if self.model.reply is not None else ""

    @property
    def warnings(self) -> list[str]:
        return list(self.model.warnings)

    def _render(self) -> None:
        if self.model.error:
            self.warnings_html.value = f"<div style='color:#c62828'>✗ {esc(self.model.error)}</div>"
            self.json_html.value = self.js_html.value = ""
            return
        if self.model.warnings:
            items = "".join(f"<li>{esc(text)}</li>" for text in self.model.warnings)
            heading = _("{mark} warnings ({n}):").format(mark=WARN_MARK, n=len(self.model.warnings))
            self.warnings_html.value = f"<div style='color:#9a6700'>{esc(heading)}<ul>{items}</ul></div>"
        else:
            clean = _("{mark} no warnings").format(mark=OK_MARK)
            self.warnings_html.value = f"<div style='color:#1a7f37'>{esc(clean)}</div>"
        self.json_html.value = "<b>JSON</b>" + copyable(self.json_text, block=True)
        self.js_html.value = "<b>" + esc(_("JS (scenario)")) + "</b>" + copyable(self.js_text, block=True)

    def __repr__(self) -> str:
        if self.model.reply is None:
            return f"SwitchBuilder(invalid: {self.model.error})"
        return f"SwitchBuilder({self.model.reply!r}, warnings={len(self.model.warnings)})"
