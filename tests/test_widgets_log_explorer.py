"""LogExplorer, headless: real transfers on the sandbox → files → load, filter, plot, export."""

from __future__ import annotations

import pandas as pd
import pytest

from jivo_ops.sandbox import Sandbox
from jivo_ops.transfer import run_transfers
from jivo_ops.widgets import LogExplorer


@pytest.fixture(scope="module")
def transfer_files(tmp_path_factory):
    """Three answered and two no_operators transfers, as JSONL files the way users keep them."""
    folder = tmp_path_factory.mktemp("logs")
    with Sandbox() as sb:
        run_transfers(sb, clients=3, concurrency=3, progress=False, out=folder / "answered.jsonl")
        sb.set(online=False)
        run_transfers(sb, clients=2, concurrency=2, progress=False, out=folder / "offline.jsonl")
    return folder


def test_load_from_paths_shows_summary_table_and_plots(transfer_files, tmp_path):
    explorer = LogExplorer(transfer_files / "answered.jsonl", transfer_files / "offline.jsonl",
                           export_dir=tmp_path)
    logs = explorer.wait(60)
    assert logs is not None and explorer.status.kind == "ok" and "чатов: 5" in explorer.status.text
    assert explorer.model.summary_text().splitlines()[1] == "filtered transfers: 5 (answered=3, no_operators=2)"
    assert "переводы: 5" in explorer.table.value and explorer.table.value.count("<tr>") == 1 + 5  # head, body
    assert len(explorer.chat_choice.options) == 6  # «все» + five chats
    assert explorer.operator_choice.options[1:] and all(explorer.operator_choice.options[1:])
    explorer.wait_plot(60)
    assert bytes(explorer.timeline_image.value).startswith(b"\x89PNG")
    assert explorer.result["chat"].iloc[0] in explorer.plot_caption.value  # the caption names the chat drawn
    explorer.plots.selected_index = 1
    explorer.wait_plot(60)
    assert bytes(explorer.wait_image.value).startswith(b"\x89PNG")


def test_filters_narrow_the_table(transfer_files, tmp_path):
    explorer = LogExplorer(transfer_files, export_dir=tmp_path)  # a folder: every file in it
    explorer.wait(60)
    explorer.outcome_choice.value = "no_operators"
    assert len(explorer.result) == 2 and set(explorer.result["outcome"]) == {"no_operators"}
    assert "переводы: 2" in explorer.table.value
    explorer.outcome_choice.value = "(все)"
    operator = explorer.operator_choice.options[1]
    explorer.operator_choice.value = operator
    assert len(explorer.result) >= 1 and set(explorer.result["operator"]) == {operator}
    explorer.operator_choice.value = "(все)"
    chat = explorer.chat_choice.options[1]
    explorer.chat_choice.value = chat
    assert list(explorer.result["chat"]) == [chat]
    explorer.chat_choice.value = "(все)"
    explorer.since_input.value = "2000-01-01T00:00:00Z"
    assert len(explorer.result) == 5
    explorer.since_input.value = "1h"
    assert len(explorer.result) == 5
    explorer.until_input.value = "2000-01-01"
    assert len(explorer.result) == 0 and "нет переводов" in explorer.table.value


def test_bad_filter_and_bad_source_are_shown_in_the_widget(transfer_files, tmp_path):
    explorer = LogExplorer(transfer_files, export_dir=tmp_path)
    explorer.wait(60)
    explorer.since_input.value = "yesterday-ish"
    assert explorer.status.kind == "error" and "since: cannot read 'yesterday-ish'" in explorer.status.text
    assert "filter error" in explorer.model.summary_text() and repr(explorer).startswith("LogExplorer(")
    explorer.since_input.value = ""
    assert explorer.status.kind == "ok"

    missing = LogExplorer(tmp_path / "no-such-file.jsonl", export_dir=tmp_path)
    missing.model.job.join(30)
    assert missing.status.kind == "error" and "no-such-file.jsonl" in missing.status.text

    empty = LogExplorer(autoload=False)
    empty.load_button.click()
    assert empty.status.kind == "error" and "нет источников" in empty.status.text


def test_export_buttons_write_the_filtered_tables(transfer_files, tmp_path):
    explorer = LogExplorer(transfer_files, export_dir=tmp_path / "out")
    explorer.wait(60)
    explorer.outcome_choice.value = "answered"
    explorer.export_transfers_button.click()
    written = pd.read_csv(tmp_path / "out" / "transfers.csv")
    assert len(written) == 3 and set(written["outcome"]) == {"answered"}
    assert "transfers.csv" in explorer.export_status.text
    explorer.export_format.value = "xlsx"
    explorer.export_messages_button.click()
    sheet = pd.read_excel(tmp_path / "out" / "messages.xlsx")
    assert len(sheet) == len(explorer.model.messages()) > 0


def test_in_memory_batch_is_a_source(tmp_path):
    with Sandbox() as sb:
        batch = run_transfers(sb, clients=2, progress=False)
    explorer = LogExplorer(batch, export_dir=tmp_path)
    explorer.wait(60)
    assert explorer.model.summary_text().splitlines()[1] == "filtered transfers: 2 (answered=2)"


# -- issue 15: a load that read nothing, a failed load after a good one, a sentence not a repr ---------

def test_nothing_read_is_a_warning_with_the_rejected_rows_viewable(tmp_path):
    bad = tmp_path / "bad.csv"  # a headerless Reporter export whose times cannot be read
    bad.write_text("not a time,c-7,s7,q71,Когда доставка?,Завтра до 18:00,,false,,\n"
                   "also bad,c-7,s7,q72,Спасибо,,,false,,\n", encoding="utf-8")
    explorer = LogExplorer(bad, export_dir=tmp_path)
    logs = explorer.wait(60)
    n = len(logs.rejected)
    assert n >= 2 and len(logs.messages) == 0
    assert explorer.status.kind == "warning" and "✓" not in explorer.status.text
    assert explorer.status.text.startswith(f"⚠ не прочитано ни одного сообщения: отклонено строк: {n}"), \
        explorer.status.text
    assert explorer.rejected_view.layout.display is None
    assert explorer.rejected_view.get_title(0) == f"Отклонённые строки ({n})"
    table = explorer.rejected_table.value
    assert all(f">{header}</th>" in table for header in ("файл", "строка", "причина")) and "bad.csv" in table


def test_a_failed_load_marks_the_shown_table_stale_and_the_status_is_a_sentence(transfer_files, tmp_path):
    explorer = LogExplorer(transfer_files / "answered.jsonl", export_dir=tmp_path)
    explorer.wait(60)
    assert explorer.status.text.startswith("✓ прочитано ") and "<LogSet" not in explorer.status.text
    assert explorer.stale_note.value == "" and explorer.rejected_view.layout.display == "none"
    explorer.paths_input.value = str(tmp_path / "gone.jsonl")
    explorer.load_button.click()
    with pytest.raises(Exception):
        explorer.wait(60)
    assert explorer.status.kind == "error" and "gone.jsonl" in explorer.status.text
    assert "последняя загрузка не удалась" in explorer.stale_note.value
