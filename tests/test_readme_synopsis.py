"""The README's "Command line" synopsis: every command it names exists and takes every option it shows."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from jivo_ops.cli import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"


def synopsis() -> list[tuple[str, set[str]]]:
    """(command, its --options) for each entry of the block under "## Command line"; an entry runs on
    over its indented lines."""
    section = README.read_text(encoding="utf-8").split("## Command line", 1)[1]
    block = section.split("```text", 1)[1].split("```", 1)[0]
    entries: list[tuple[str, set[str]]] = []
    for line in block.splitlines():
        if line.startswith("jivo-ops "):
            words = line.split()[1:]
            grouped = words[0] == "jivo" and len(words) > 1  # `jivo status`, `jivo send`
            entries.append((" ".join(words[:2]) if grouped else words[0], set()))
        if entries:
            entries[-1][1].update(re.findall(r"(--[a-z][a-z-]*)", line))
    return entries


def leaf(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    for word in command.split():
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[word]
    return parser


ENTRIES = synopsis()


def test_the_synopsis_lists_every_command():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert {c.split()[0] for c, _ in ENTRIES} == set(sub.choices)


@pytest.mark.parametrize("command, options", ENTRIES, ids=[c for c, _ in ENTRIES])
def test_each_command_takes_the_options_the_synopsis_shows(command, options):
    parser = leaf(build_parser(), command)
    known = {o for a in parser._actions for o in a.option_strings}
    known |= {o for a in parser._actions if isinstance(a, argparse._SubParsersAction)
              for child in a.choices.values() for b in child._actions for o in b.option_strings}
    assert options <= known, f"jivo-ops {command}: the README shows {sorted(options - known)}"
