"""The one message catalog: every marked message is in Russian and English, compiled, and chosen as documented."""

from __future__ import annotations

import gettext
import string
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from jivo_ops import i18n

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def marked_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / "jivo_ops", method_map=[("**.py", "python")], keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(language: str):
    with (i18n.LOCALE_DIR / language / "LC_MESSAGES" / "jivo_ops.po").open("rb") as handle:
        return read_po(handle)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_there_are_marked_messages():
    assert len(marked_messages()) >= 1


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_marked_message_is_translated_with_the_same_placeholders(language):
    translated = {}
    for message in catalog(language):
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        assert all(strings), f"{language}: no translation of {ids[0]!r} (edit the .po, then `make catalogs`)"
        allowed = set().union(*map(fields, ids))
        for text in strings:  # a plural form may leave out {n} ("one message"), never bring a new name
            assert fields(text) <= allowed and (len(ids) > 1 or fields(text) == allowed), (
                f"{language}: the translation of {ids[0]!r} has other placeholders: {text!r}")
        translated[ids[0]] = strings
    missing = marked_messages() - set(translated)
    assert not missing, f"{language}: not in the catalog (run `make catalogs`): {sorted(missing)[:5]}"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_compiled_catalog_is_the_po_file(language):
    compiled = gettext.GNUTranslations((i18n.LOCALE_DIR / language / "LC_MESSAGES" / "jivo_ops.mo").open("rb"))
    for message in catalog(language):
        if message.id and isinstance(message.id, str):
            assert compiled.gettext(message.id) == message.string, (
                f"{language}: jivo_ops.mo is older than jivo_ops.po — run `make catalogs`")


def test_language_comes_from_jivo_ops_lang_then_the_locale_then_russian(monkeypatch):
    for variable in (i18n.LANGUAGE_VARIABLE, *i18n.LOCALE_VARIABLES):
        monkeypatch.delenv(variable, raising=False)
    assert i18n.current_language() == "ru"
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert i18n.current_language() == "en"
    monkeypatch.setenv("LC_ALL", "ru_RU.UTF-8")
    assert i18n.current_language() == "ru"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")  # set but no language: gettext stops at it, so the default
    assert i18n.current_language() == "ru"
    monkeypatch.setenv("LANGUAGE", "de:en")
    assert i18n.current_language() == "en"
    monkeypatch.setenv(i18n.LANGUAGE_VARIABLE, "ru")
    assert i18n.current_language() == "ru"
    monkeypatch.setenv(i18n.LANGUAGE_VARIABLE, "EN")
    assert i18n.current_language() == "en"


def test_set_language_overrides_the_environment_and_refuses_unknown_languages(monkeypatch):
    monkeypatch.setenv(i18n.LANGUAGE_VARIABLE, "ru")
    try:
        assert i18n.set_language("en") == "en"
        assert i18n.current_language() == "en"
    finally:
        i18n.set_language(None)
    assert i18n.current_language() == "ru"
    with pytest.raises(ValueError, match="ru, en"):
        i18n.set_language("de")


def test_an_unknown_jivo_ops_lang_is_one_line_then_russian():
    run = subprocess.run([sys.executable, "-c", "from jivo_ops import i18n; i18n.current_language(); "
                          "print(i18n.current_language())"], capture_output=True, text=True,
                         env={"JIVO_OPS_LANG": "de", "PATH": "/usr/bin:/bin"})
    assert run.stdout.strip() == "ru"
    assert run.stderr.strip().splitlines() == ["jivo-ops: JIVO_OPS_LANG='de' — не из ru, en; язык: ru"]


def test_russian_plural_forms_are_compiled():
    ru = gettext.GNUTranslations((i18n.LOCALE_DIR / "ru" / "LC_MESSAGES" / "jivo_ops.mo").open("rb"))
    assert [ru.plural(n) for n in (1, 2, 5, 11, 21, 22)] == [0, 1, 2, 2, 0, 1]
