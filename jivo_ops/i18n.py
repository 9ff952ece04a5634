"""The one message catalog: every sentence a user reads, in Russian or English (GNU gettext).

Messages are written in code in English and marked with `_()` (or `N_()` where they are defined before the
language is known, e.g. in a module-level table, and `_()`-ed where shown); `make catalogs` extracts them with
Babel into `locale/jivo_ops.pot` and updates `locale/{ru,en}/LC_MESSAGES/jivo_ops.po`, whose compiled `.mo`
files are what the package reads at run time with the standard library's `gettext`.

The language is `JIVO_OPS_LANG` (`ru` | `en`), else the locale's (`LANGUAGE`, `LC_ALL`, `LC_MESSAGES`, `LANG`,
in gettext's order), else Russian. `set_language()` overrides it for this process (a notebook's first cell).
What is *not* translated: the consoles' field names as the consoles label them («Уникальный URL»,
«Internal Webhook Url»), and wire names (JSON keys, DataFrame columns, CLI flags) — they are contracts.
"""

from __future__ import annotations

import gettext as _gettext
import os
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

__all__ = ["LANGUAGES", "DEFAULT_LANGUAGE", "current_language", "set_language", "_", "N_", "ngettext",
           "TranslatedMapping"]

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
DOMAIN = "jivo_ops"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGE_VARIABLE = "JIVO_OPS_LANG"
# gettext's own order of the locale variables.
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_chosen: str | None = None
_warned: set[str] = set()


def set_language(language: str | None) -> str:
    """Use `language` (`ru` | `en`) for this process; None goes back to `JIVO_OPS_LANG` / the locale."""
    global _chosen
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    _chosen = language
    return current_language()


def current_language() -> str:
    """The language messages are shown in now."""
    if _chosen:
        return _chosen
    asked = os.environ.get(LANGUAGE_VARIABLE, "").strip().lower()
    if asked:
        code = asked.split("_")[0].split(".")[0]
        if code in LANGUAGES:
            return code
        if asked not in _warned:  # once per value: a typo must not flood a log
            _warned.add(asked)
            print(_("jivo-ops: {variable}={value!r} is not one of {languages}; using {default}").format(
                variable=LANGUAGE_VARIABLE, value=asked, languages=", ".join(LANGUAGES), default=DEFAULT_LANGUAGE),
                file=sys.stderr)
        return DEFAULT_LANGUAGE
    for variable in LOCALE_VARIABLES:
        value = os.environ.get(variable, "")
        for part in value.split(":"):  # LANGUAGE may list several
            code = part.strip().lower().split("_")[0].split(".")[0]
            if code in LANGUAGES:
                return code
        if value:  # the first variable set decides, as in gettext
            break
    return DEFAULT_LANGUAGE


@lru_cache(maxsize=None)
def _translations(language: str) -> _gettext.NullTranslations:
    # fallback=True: a package built without its .mo files still speaks (in the English of the code).
    return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def _(message: str) -> str:
    """`message` in the current language."""
    return _translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message for the count `n` (Russian has three)."""
    return _translations(current_language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark `message` for the catalog without translating it yet (translate it with `_()` where shown)."""
    return message


class TranslatedMapping(Mapping):
    """A read-only table of `N_()`-marked messages whose values come out `_()`-ed on every read, so a module-level
    table (step titles, halves' names) speaks the language of the moment to every caller, old or new."""

    def __init__(self, messages: Mapping) -> None:
        self._messages = dict(messages)

    def __getitem__(self, key):
        return _(self._messages[key])

    def __iter__(self):
        return iter(self._messages)

    def __len__(self) -> int:
        return len(self._messages)

    def __repr__(self) -> str:
        return f"TranslatedMapping({dict(self)!r})"
