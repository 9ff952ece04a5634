"""Extract the messages marked in jivo_ops/ into the catalog and compile it (`make catalogs`).

Babel does the work (extract, update, compile); this only fixes the options every run must use, so that
the .po files stay mergeable (sorted, no source locations, no fuzzy guesses) and English — the language
the code is written in — has each message as its own translation unless a translator changed it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "jivo_ops" / "locale"
TEMPLATE = LOCALE / "jivo_ops.pot"
KEYWORDS = ["-k", "_", "-k", "N_", "-k", "ngettext:1,2"]


def pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def po_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / "jivo_ops.po"


def main() -> int:
    pybabel("extract", "-F", str(ROOT / "babel.cfg"), "--no-default-keywords", *KEYWORDS, "--no-location",
            "--sort-output", "--omit-header", "--project", "jivo-ops", "-o", str(TEMPLATE), str(ROOT / "jivo_ops"))
    for language in ("ru", "en"):
        action = "update" if po_path(language).exists() else "init"
        extra = ["--no-fuzzy-matching", "--ignore-obsolete"] if action == "update" else []
        pybabel(action, "-i", str(TEMPLATE), "-d", str(LOCALE), "-D", "jivo_ops", "-l", language, *extra)
    fill_english()
    pybabel("compile", "-d", str(LOCALE), "-D", "jivo_ops", "--use-fuzzy")
    missing = [m.id for m in read_po(po_path("ru").open("rb")) if m.id and untranslated(m)]
    for message in missing:
        print(f"ru: no translation yet: {message if isinstance(message, str) else message[0]!r}", file=sys.stderr)
    return 1 if missing else 0


def untranslated(message) -> bool:
    """No msgstr yet (a plural message has one per form: any empty one counts)."""
    strings = [message.string] if isinstance(message.string, str) else list(message.string)
    return not all(strings)


def fill_english() -> None:
    path = po_path("en")
    with path.open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if message.id and untranslated(message):
            message.string = message.id if isinstance(message.id, str) else tuple(message.id)
    with path.open("wb") as handle:
        write_po(handle, catalog, no_location=True, sort_output=True, ignore_obsolete=True)


if __name__ == "__main__":
    sys.exit(main())
