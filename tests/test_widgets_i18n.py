"""One language per screen (issue 15 §3): each widget speaks the language chosen when it is built.

An English screen has no Cyrillic outside «…» (the consoles' own field names stay verbatim) and outside
the data it shows (chat texts, operator names in table cells); the setup checks' step titles and
findings are their own module's text (setup/checks.py) and are left out here.
"""

from __future__ import annotations

import re

import httpx
import ipywidgets as w
import pytest

from jivo_ops import i18n, set_language
from jivo_ops.recorder.server import Recorder
from jivo_ops.sandbox import Sandbox
from jivo_ops.setup.checks import FIELDS, STEPS
from jivo_ops.transfer import run_transfers
from jivo_ops.widgets import LogExplorer, RecorderPanel, SetupPanel, SwitchBuilder

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
DATA = re.compile(r"<(td|pre|style)\b.*?</\1>", re.S)  # table cells, copyable bodies, CSS: data, not labels
CHECKS_TEXT = [*STEPS.values(), *(f.label for f in FIELDS.values())]


def screen_texts(widget) -> list[str]:
    """Every label-like string of a widget tree: descriptions, placeholders, tooltips, HTML, tab titles."""
    out, stack = [], [widget]
    while stack:
        node = stack.pop()
        for name in ("description", "placeholder", "tooltip"):
            value = getattr(node, name, None)
            if isinstance(value, str):
                out.append(value)
        if isinstance(node, (w.HTML, w.Label)):
            out.append(DATA.sub(" ", node.value))
        if isinstance(node, (w.Tab, w.Accordion)):
            out.extend(node.titles)
        stack.extend(getattr(node, "children", ()) or ())
    return out


def cyrillic_outside_console_names(widget) -> list[str]:
    found = []
    for text in screen_texts(widget):
        text = re.sub(r"<[^>]+>", " ", text)
        for allowed in CHECKS_TEXT:
            text = text.replace(allowed, "")
        text = re.sub(r"«[^»]*»", "", text)
        if CYRILLIC.search(text):
            found.append(text.strip())
    return found


@pytest.fixture
def english():
    set_language("en")
    yield
    set_language(None)


@pytest.fixture(scope="module")
def transfers_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("i18n") / "answered.jsonl"
    with Sandbox() as sb:
        run_transfers(sb, clients=2, concurrency=2, progress=False, out=path)
    return path


def test_every_widget_built_in_english_shows_no_russian_outside_console_names(english, transfers_file, tmp_path):
    with Sandbox() as sb:
        panel = SetupPanel(sb)
        assert panel.diagnose_button.description == "What broke?"
        assert cyrillic_outside_console_names(panel) == []
    builder = SwitchBuilder()
    assert "no warnings" in builder.warnings_html.value and cyrillic_outside_console_names(builder) == []
    explorer = LogExplorer(transfers_file, export_dir=tmp_path)
    explorer.wait(60)
    assert explorer.status.text.startswith("✓ read 16 messages in 2 chats"), explorer.status.text
    assert explorer.plots.titles == ("Chat timeline", "Operator wait", "KPI")
    assert cyrillic_outside_console_names(explorer) == []
    with Recorder(tmp_path / "hooks.sqlite") as rec:
        httpx.post(rec.url, json={"message": {"type": "text", "text": "hi"}})
        recorder = RecorderPanel(rec, poll_interval=0)
        try:
            recorder.refresh()
            assert "1 request, the last #1" in recorder.count.value
            assert cyrillic_outside_console_names(recorder) == []
        finally:
            recorder.close()


def test_the_language_is_the_one_chosen_when_the_widget_is_built(english):
    english_builder = SwitchBuilder()
    set_language("ru")
    russian_builder = SwitchBuilder()
    assert "предупреждений нет" in russian_builder.warnings_html.value
    assert "no warnings" in english_builder.warnings_html.value  # built before the switch: stays English
    assert i18n.current_language() == "ru"


def test_russian_screens_read_as_before(transfers_file, tmp_path):
    with Sandbox() as sb:
        panel = SetupPanel(sb)
    assert panel.inputs["jivo.unique_url"].reveal.description == "Показать"
    assert panel.paste_unique.description == "Вставить «Уникальный URL»"
    explorer = LogExplorer(transfers_file, export_dir=tmp_path)
    explorer.wait(60)
    assert explorer.plots.titles == ("Хронология чата", "Ожидание оператора", "KPI")


# -- §4: tables a reader can read --------------------------------------------------------------------

def test_tables_show_times_to_the_second_in_utc_na_as_a_dash_and_translated_headers(transfers_file, tmp_path):
    explorer = LogExplorer(transfers_file, export_dir=tmp_path)
    explorer.wait(60)
    table = explorer.table.value
    assert ">перевод (UTC)</th>" in table and ">switched_at<" not in table
    assert "+00:00" not in table and not re.search(r"\d\d:\d\d:\d\d\.\d", table), "no microseconds, no offset"
    assert re.search(r">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d<", table)
    assert "<NA>" not in table and "NaN" not in table
    assert re.findall(r">(\d+\.\d+)<", table) and all(len(v.split(".")[1]) == 3 for v in re.findall(
        r">(\d+\.\d+)<", table)), "one decimal rule for the wait column"
    assert list(explorer.result.columns[:2]) == ["chat", "session"], "the DataFrame keeps its column names"


def test_probe_table_has_a_header_and_times_do_not_wrap():
    with Sandbox() as sb:
        panel = SetupPanel(sb)
        panel.probe_button.click()
        panel.wait_probe(30)
    table = panel.probe_output.value
    assert "<thead>" in table and ">проба</th>" in table and ">время</th>" in table
    assert re.search(r"white-space:nowrap[^>]*>\d+ мс<", table), table[:600]


def test_an_empty_selection_shows_a_sentence_not_a_broken_image(transfers_file, tmp_path):
    explorer = LogExplorer(transfers_file, export_dir=tmp_path)
    explorer.wait(60)
    explorer.wait_plot(60)
    assert explorer.timeline_image.layout.display is None
    explorer.until_input.value = "2000-01-01"
    explorer.wait_plot(60)
    assert explorer.timeline_image.layout.display == "none"
    assert "Нет чата для хронологии" in explorer.plot_caption.value
