"""Profiles: load/save, environment overrides, masking, and every kind of bad input."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jivo_ops.errors import ProfileError
from jivo_ops.profile import (JaicpSettings, JivoSettings, Profile, example_profile, load_profile,
                              save_profile)

from _helpers import assert_no_secret, clear_jivo_ops_env, random_token, wired_profile


def write(tmp_path: Path, text: str | bytes, name: str = "profile.toml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    clear_jivo_ops_env(monkeypatch)


# -- load / save -------------------------------------------------------------------------------

def test_save_then_load_round_trips_every_value_and_writes_0600(tmp_path):
    profile, _ = wired_profile(name="leak-test")
    profile = profile.replace(jivo={"chunked": False, "channel": "Бот «JAICP» \"quoted\" \\ back"})
    path = save_profile(profile, tmp_path / "sub" / "mine.toml")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_profile(path)
    assert loaded == profile
    assert loaded.jivo.channel == "Бот «JAICP» \"quoted\" \\ back"
    assert loaded.source == str(path)
    assert not list(path.parent.glob("*.tmp")), "the temporary file must be renamed away"


def test_save_over_a_world_readable_file_makes_it_0600(tmp_path):
    path = write(tmp_path, "")
    path.chmod(0o644)
    save_profile(example_profile(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.text(max_size=40), min_size=4, max_size=4), chunked=st.booleans())
def test_any_string_survives_save_and_load(tmp_path, values, chunked):
    profile = Profile(jaicp=JaicpSettings(operator_channel=values[0], internal_webhook_url=values[1]),
                      jivo=JivoSettings(channel=values[2], webhook_url=values[3], chunked=chunked))
    path = save_profile(profile, tmp_path / "fuzz.toml")
    assert load_profile(path) == profile


def test_a_partial_profile_fills_the_defaults(tmp_path):
    path = write(tmp_path, '[jivo]\nunique_url = "https://wh.jivosite.com/abcdefghijklmnop/abcdefghij"\n')
    profile = load_profile(path)
    assert profile.jivo.chunked is True
    assert profile.jaicp == JaicpSettings()
    assert profile.jivo.unique_url.endswith("/abcdefghij")


def test_bundled_example_loads_and_is_wired():
    profile = example_profile()
    assert profile.name == "example"
    assert profile.jaicp.internal_webhook_url == profile.jivo.webhook_url
    assert profile.jaicp.external_api_endpoint == profile.jivo.unique_url
    assert profile.jaicp.inbound_operator == profile.jaicp.operator_channel
    assert profile.jivo.chunked is True


def test_bundled_example_file_loads_through_load_profile():
    path = Path(__file__).resolve().parents[1] / "jivo_ops" / "data" / "example-profile.toml"
    assert load_profile(path) == example_profile()


@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_replace_validates_like_a_file():
    profile = example_profile()
    assert profile.replace(jivo={"chunked": False}).jivo.chunked is False
    with pytest.raises(ProfileError, match=r"\[jivo.chunked\] must be true or false"):
        profile.replace(jivo={"chunked": "no"})


# -- environment ------------------------------------------------------------------------------

def test_env_overrides_any_key_and_wins_over_the_file(tmp_path, monkeypatch):
    path = save_profile(example_profile(), tmp_path / "p.toml")
    monkeypatch.setenv("JIVO_OPS_JIVO_UNIQUE_URL", "https://wh.jivosite.com/EnvKey0123456789/EnvId01234")
    monkeypatch.setenv("JIVO_OPS_JIVO_CHUNKED", "off")
    monkeypatch.setenv("JIVO_OPS_JAICP_INBOUND_OPERATOR", "Other")
    profile = load_profile(path)
    assert profile.jivo.unique_url == "https://wh.jivosite.com/EnvKey0123456789/EnvId01234"
    assert profile.jivo.chunked is False
    assert profile.jaicp.inbound_operator == "Other"
    assert profile.jaicp.operator_channel == "Jivo", "keys without a variable keep the file's value"
    assert load_profile(path, env=False) == example_profile().replace(), "env=False reads the file alone"


def test_reporter_token_short_variable(tmp_path, monkeypatch):
    path = save_profile(example_profile(), tmp_path / "p.toml")
    monkeypatch.setenv("JIVO_OPS_REPORTER_TOKEN", "tok-from-env-123456")
    assert load_profile(path).jaicp.reporter_token == "tok-from-env-123456"
    # The long form names the key exactly and wins over the short one.
    monkeypatch.setenv("JIVO_OPS_JAICP_REPORTER_TOKEN", "tok-long-form-654321")
    assert load_profile(path).jaicp.reporter_token == "tok-long-form-654321"


def test_bot_id_is_a_plain_setting_from_file_or_env(tmp_path, monkeypatch):
    """`[jaicp] bot_id` (the Reporter's botId): in the form's fields, from JIVO_OPS_JAICP_BOT_ID, not a secret."""
    from jivo_ops.profile import FIELD_LABELS, PROFILE_FIELDS
    from jivo_ops.widgets.setup_panel import SetupModel
    (field,) = [f for f in PROFILE_FIELDS if f.key == "jaicp.bot_id"]
    assert (field.kind, field.default, field.secret) == (str, "", False)
    assert "JIVO_OPS_JAICP_BOT_ID" in FIELD_LABELS["jaicp.bot_id"]
    from jivo_ops.widgets.setup_panel import SetupPanel

    shown = Profile(jaicp=JaicpSettings(bot_id="my_bot-263-XQt"))
    assert SetupModel(shown).jaicp_bot_id == "my_bot-263-XQt"
    assert SetupPanel(shown).inputs["jaicp.bot_id"].value == "my_bot-263-XQt"
    path = save_profile(example_profile(), tmp_path / "p.toml")
    assert load_profile(path).jaicp.bot_id == ""
    monkeypatch.setenv("JIVO_OPS_JAICP_BOT_ID", "env_bot-1-AbC")
    profile = load_profile(path)
    assert profile.jaicp.bot_id == "env_bot-1-AbC"
    assert "env_bot-1-AbC" in repr(profile) and profile.masked()["jaicp"]["bot_id"] == "env_bot-1-AbC"


@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_env_boolean_that_is_not_one_is_a_clear_error(tmp_path, monkeypatch):
    path = save_profile(example_profile(), tmp_path / "p.toml")
    monkeypatch.setenv("JIVO_OPS_JIVO_CHUNKED", "maybe")
    with pytest.raises(ProfileError, match=r"JIVO_OPS_JIVO_CHUNKED='maybe' is not a boolean"):
        load_profile(path)


def test_profile_env_names_the_default_file(tmp_path, monkeypatch):
    path = save_profile(example_profile().replace(name="from-env"), tmp_path / "default.toml")
    monkeypatch.setenv("JIVO_OPS_PROFILE", str(path))
    assert load_profile().name == "from-env"


@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_no_profile_at_all_says_what_to_do():
    with pytest.raises(ProfileError, match=r"--profile PATH or set JIVO_OPS_PROFILE"):
        load_profile()


@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_missing_file_names_it(tmp_path):
    with pytest.raises(ProfileError, match=r"nowhere\.toml: file not found"):
        load_profile(tmp_path / "nowhere.toml")


# -- masking ----------------------------------------------------------------------------------

def test_repr_and_html_never_show_a_token():
    profile, tokens = wired_profile(name="leak-test")
    for text in (repr(profile), str(profile), profile._repr_html_(), repr(profile.jaicp), repr(profile.jivo),
                 str(profile.masked())):
        assert_no_secret(text, tokens)
    # Hosts and the last 4 characters stay, so the user can tell profiles apart.
    assert f"https://wh.jivosite.com/…{tokens[2][-4:]}" in repr(profile)
    assert f"…{tokens[4][-4:]}" in repr(profile)
    assert "app.jaicp.com" in profile._repr_html_()


def test_html_escapes_values():
    profile = example_profile().replace(name="<b>x</b>", jivo={"channel": "<script>"})
    page = profile._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_short_or_schemeless_secrets_are_masked_too():
    profile = Profile(jaicp=JaicpSettings(reporter_token="short", external_api_endpoint="wh.jivosite.com/AbCdEfGh/XyZ"))
    text = repr(profile)
    assert "short" not in text
    assert "AbCdEfGh" not in text and "wh.jivosite.com/AbC" not in text


# -- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, pattern", [
    ('[jaicp]\nchat_api_ur = "x"\n',
     r"p\.toml:2: \[jaicp\.chat_api_ur\] unknown key \(did you mean 'chat_api_url'\?\)"),
    ('[jivo]\nchunked = true\nwebhok_url = "x"\n',
     r"p\.toml:3: \[jivo\.webhok_url\] unknown key \(did you mean 'webhook_url'\?\)"),
    ('[jaicpp]\n', r"p\.toml:1: \[jaicpp\] unknown table \(did you mean 'jaicp'\?\); expected one of: jaicp, jivo, stand_in"),
    ('name = "x"\n\n[jivo]\nchunked = "yes"\n', r"p\.toml:4: \[jivo\.chunked\] must be true or false, got str"),
    ('[jaicp]\n\ninternal_webhook_url = 42\n', r"p\.toml:3: \[jaicp\.internal_webhook_url\] must be a string, got int"),
    ('name = 5\n', r"p\.toml:1: \[name\] must be a string"),
    ('jaicp = "x"\n', r"p\.toml:1: \[jaicp\] must be a table"),
    ('[jaicp.extra]\nx = 1\n', r"p\.toml:1: \[jaicp\.extra\] unknown key"),
    ('jivo.chunked = 1\n', r"p\.toml:1: \[jivo\.chunked\] must be true or false, got int"),
    ('[jaicp]\nchat_api_url = "https://app.jaicp.com/chatapi/abc\n',
     r"p\.toml:2: \[jaicp\.chat_api_url\] broken TOML"),
    ('[jivo]\nchunked = true\nchunked = false\n', r"p\.toml:3: \[jivo\.chunked\] broken TOML"),
    ('[jivo\nchunked = true\n', r"p\.toml:1: broken TOML"),
])
@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_bad_profiles_name_file_key_and_line(tmp_path, text, pattern):
    path = write(tmp_path, text, "p.toml")
    with pytest.raises(ProfileError, match=pattern) as caught:
        load_profile(path)
    assert str(path) in str(caught.value)
    assert caught.value.path == str(path)


@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_non_utf8_file_names_file_key_and_line(tmp_path):
    path = write(tmp_path, '# cp1251 comment\n[jivo]\nchannel = "'.encode() + "Бот".encode("cp1251") + b'"\n', "p.toml")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:3: [jivo.channel] not UTF-8 text")
    assert "save the file as UTF-8" in message
    assert (caught.value.key, caught.value.line) == ("jivo.channel", 3)


@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_errors_never_echo_a_secret_value(tmp_path):
    token = random_token(24)
    path = write(tmp_path, f'[jaicp]\nchat_api_url = "https://app.jaicp.com/chatapi/{token}\n', "p.toml")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert token not in str(caught.value)
    path = write(tmp_path, f'[jaicp]\nwebhook_url = "https://x/{token}"\n', "p.toml")
    with pytest.raises(ProfileError, match=r"did you mean 'internal_webhook_url'") as caught:
        load_profile(path)
    assert token not in str(caught.value)


def test_a_directory_is_not_a_profile(tmp_path):
    with pytest.raises(ProfileError, match=r"cannot read"):
        load_profile(tmp_path)


# -- settings by key (what a form holds) -------------------------------------------------------

@pytest.mark.usefixtures("english")  # asserts English sentences (issue 15 §3)
def test_from_values_validates_like_a_file_and_keeps_defaults():
    profile = Profile.from_values({"jivo.chunked": False, "jaicp.inbound_operator": "Jivo"}, name="form")
    assert profile == Profile(jivo=JivoSettings(chunked=False), jaicp=JaicpSettings(inbound_operator="Jivo"),
                              name="form")
    assert Profile.from_values(profile.to_values(), name="form") == profile
    with pytest.raises(ProfileError, match=r"\[jivo.chunked\] must be true or false, got str"):
        Profile.from_values({"jivo.chunked": "yes"})
    with pytest.raises(ProfileError, match=r"\[jivo.chunky\] unknown key \(did you mean 'chunked'\?\)"):
        Profile.from_values({"jivo.chunky": True})
