"""The setup form is built from the profile's own field list: every setting has a control with the
profile's default, Profile → form → Profile is the identity, and the panel and `jivo-ops check`
report the same findings on the same profile file."""

from __future__ import annotations

import dataclasses
import json

import pytest

from _helpers import clear_jivo_ops_env, wired_profile
from jivo_ops.errors import JivoOpsError, ProfileError, ProtocolError
from jivo_ops.cli import main
from jivo_ops.profile import (PROFILE_FIELDS, JaicpSettings, JivoSettings, Profile, StandInSettings, example_profile,
                              save_profile)
from jivo_ops.sandbox import Sandbox
from jivo_ops.setup.checks import FIELDS
from jivo_ops.widgets import SetupModel, SetupPanel


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    clear_jivo_ops_env(monkeypatch)


def _every_field_changed() -> Profile:
    """A profile where no setting holds its default."""
    profile, _ = wired_profile(name="все поля")
    return profile.replace(jaicp={"operator_channel": "Jivo 2", "inbound_channel": "виджет"},
                           jivo={"channel": "бот", "chunked": False})


def test_the_field_list_is_the_settings_dataclasses():
    listed = [(f.key, f.default) for f in PROFILE_FIELDS]
    declared = [(f"{table}.{f.name}", f.default) for table, cls in (("jaicp", JaicpSettings), ("jivo", JivoSettings),
                                                                             ("stand_in", StandInSettings))
                for f in dataclasses.fields(cls)]
    assert listed == declared
    assert {f.key for f in PROFILE_FIELDS if f.kind is bool} == {"jivo.chunked"}


def test_every_profile_field_has_a_control_holding_the_profile_default():
    panel = SetupPanel()
    defaults = Profile()
    for f in PROFILE_FIELDS:
        assert panel.inputs[f.key].value == getattr(getattr(defaults, f.table), f.name), f.key
    assert set(panel.inputs) == {f.key for f in PROFILE_FIELDS}
    assert set(FIELDS) <= set(panel.inputs)  # every setting the checks name is on the form


def test_a_blank_form_is_the_default_profile():
    assert SetupModel().profile == Profile()
    assert SetupModel().profile.jaicp.reporter_url == Profile().jaicp.reporter_url != ""


@pytest.mark.parametrize("profile", [Profile(), example_profile(), _every_field_changed()],
                         ids=["default", "example", "every-field-changed"])
def test_profile_to_form_to_profile_is_the_identity(profile):
    model = SetupModel(profile)
    assert model.profile == profile and model.profile.name == profile.name
    assert model.profile.source == profile.source
    assert Profile.from_values(profile.to_values(), name=profile.name) == profile
    panel = SetupPanel(profile)
    assert {key: control.value for key, control in panel.inputs.items()} == profile.to_values()


def test_the_target_is_resolved_like_any_operation_s(tmp_path):
    profile = _every_field_changed()
    path = save_profile(profile, tmp_path / "p.toml")
    assert SetupModel(path).profile == profile and SetupModel(str(path)).profile.source == str(path)
    with Sandbox(configured=False) as sb:
        model = SetupModel(sb)
        assert model.sandbox is sb and model.profile == sb.profile
    assert SetupModel(profile).sandbox is None
    with pytest.raises(ProfileError, match="expected a Profile, a Sandbox or a profile path, got int"):
        SetupModel(42)


def test_step_four_reads_the_switch_json_like_switch_reply_does():
    model = SetupModel()
    assert json.loads(model.switch_json) == {"closeChatPhrases": ["/closeChat"]}
    model.switch_json = '{"type": "switch", "ignoreOffline": true}'
    assert model.switch_fields() == {"ignoreOffline": True}
    model.switch_json = '{"closeChatPhrases": "/stop"}'
    with pytest.raises(ProtocolError, match="^closeChatPhrases: expected a list"):
        model.switch_fields()
    model.switch_json = '{"closeChatPhrases": ['
    with pytest.raises(ProtocolError, match="^switch JSON: Expecting value at line 1, column 23"):
        model.switch_fields()


def test_a_step_the_setup_does_not_have_is_refused_by_the_sandbox():
    with Sandbox(configured=False) as sb:
        with pytest.raises(JivoOpsError, match="there is no step 5: the setup has steps 1–4"):
            SetupModel(sb).apply_step(5)


def test_the_panel_and_jivo_ops_check_report_the_same_findings(capsys, tmp_path):
    profile, _ = wired_profile(name="half")
    profile = profile.replace(jivo={"chunked": False, "webhook_url": profile.jivo.webhook_url + " "},
                              jaicp={"inbound_operator": ""})
    path = save_profile(profile, tmp_path / "half.toml")
    code = main(["check", "--profile", str(path), "--format", "json"])
    from_cli = json.loads(capsys.readouterr().out)
    panel = SetupPanel(path)
    assert code == 1
    assert from_cli == panel.report.to_json()
    assert {f["code"] for f in from_cli["findings"]} >= {"J002", "J204", "J305"}


def test_the_panel_probes_what_jivo_ops_check_probe_probes(capsys, tmp_path):
    with Sandbox(online=False) as sb:
        path = save_profile(sb.profile, tmp_path / "offline.toml")
        code = main(["check", "--profile", str(path), "--probe", "--format", "json"])
        from_cli = json.loads(capsys.readouterr().out)
        panel = SetupPanel(path)
        panel.probe_button.click()
        panel.wait_probe(60)
    assert code == 1 and panel.probe_status.kind == "error"
    outcomes = [(p["name"], p["outcome"]) for p in from_cli["probes"]]
    assert outcomes == [(p.name, p.outcome) for p in panel.probe_result.probes]
    assert ("Jivo status", "failed") in outcomes
    failed = sum(outcome == "failed" for _, outcome in outcomes)
    assert f"{len(outcomes) - failed} успешно, {failed} с ошибкой" in panel.probe_status.text
