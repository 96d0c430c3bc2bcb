"""The Batches dock driven like a user: Run Batch… (the real action and file dialog), the progress
bar, the rows table checked against the batch's rows.jsonl, the filters, opening a row's run.

The qasync loop runs while the batch does (`qloop.run_until_complete(until(...))`), as in
test_run_studio.py; the file dialog is answered the way a user does, by choosing the file and
accepting, which emits the `fileSelected` signal the controller listens to.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import qasync
from PySide6 import QtCore, QtWidgets

from dad_studio.batch import batch_table, list_batches, read_row_results
from dad_studio.ui.batch.models import ROW_COLUMNS, SORT_ROLE
from dad_studio.ui.main_window import MainWindow

FLOW: dict[str, Any] = {
    "id": "demo",
    "kind": "flow",
    "variables": {"n": 1, "word": "w"},
    "nodes": {
        "a": {"type": "noop", "settings": {"value": "$expr{100 / n}"}},
        "s": {"type": "sleep", "settings": {"seconds": 0.02}},
        "b": {"type": "noop", "settings": {"value": "$var{word}"}},
    },
    "edges": [{"from": "a", "to": "s"}, {"from": "s", "to": "b"}],
}
FAILS = {3: "node_fails", 5: "wrong_expectation", 8: "unknown_variable"}
"""Rows meant not to pass, and how (the others pass)."""


def rows_data(count: int = 10) -> list[dict[str, Any]]:
    rows = []
    for i in range(count):
        kind = FAILS.get(i, "ok")
        variables: dict[str, Any] = {"n": 0 if kind == "node_fails" else 1 + i % 3, "word": f"w{i}"}
        if kind == "unknown_variable":
            variables["bogus"] = True
        expected = "nope" if kind == "wrong_expectation" else f"w{i}"
        checks = [{"path": "demo.b.outcome.value", "equals": expected, "name": "word"},
                  {"path": "demo.s", "status": "completed", "name": "s ran"}]  # fmt: skip
        rows.append({"id": f"row{i}", "variables": variables, "expect": {"checks": checks}})
    return rows


def project(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(flow file, rows file, run root) of a project folder."""
    flows = tmp_path / "proj" / "flows"
    flows.mkdir(parents=True)
    flow = flows / "demo.dad.json"
    flow.write_text(json.dumps({"format": "dad-flow", "schema_version": 1, "root": FLOW}), encoding="utf-8")
    rows = tmp_path / "proj" / "rows.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in rows_data()), encoding="utf-8")
    return flow, rows, tmp_path / "proj" / "runs"


async def until(predicate: Callable[[], bool], limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the studio")
        await asyncio.sleep(0.02)


def cell(panel: Any, proxy_row: int, column: str) -> str:
    columns = panel.rows.columns
    return str(panel.rows_proxy.index(proxy_row, columns.index(column)).data())


def run_batch_from_ui(window: MainWindow, qloop: qasync.QEventLoop, rows: Path) -> list[int]:
    """Trigger Run Batch…, answer the file dialog, run until the batch ends; the progress values seen."""
    batches = window.batches
    batches.observability_settings = {"enabled": False}
    batches.panel.concurrency.setValue(3)
    seen: list[int] = []
    batches.panel.progress.valueChanged.connect(seen.append)
    window.actions_by_name["run_batch"].trigger()
    dialog = batches.file_dialog
    assert isinstance(dialog, QtWidgets.QFileDialog) and dialog.isVisible()
    assert dialog.isModal() and dialog.fileMode() == QtWidgets.QFileDialog.FileMode.ExistingFile

    async def scenario() -> None:
        dialog.selectFile(str(rows))
        dialog.accept()  # emits fileSelected(rows): the controller starts the batch
        assert batches.running
        assert batches.panel.stop_button.isEnabled() and not batches.panel.run_button.isEnabled()
        await until(lambda: not batches.running)

    qloop.run_until_complete(scenario())
    assert batches.file_dialog is None
    return seen


def test_batch_runs_from_the_dock_and_the_table_matches_the_record(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any, tmp_path: Path
) -> None:
    flow, rows, run_root = project(tmp_path)
    assert window.open_file(flow)
    panel = window.batches.panel
    assert panel.run_root == run_root.resolve()
    assert window.docks["batches"].widget() is panel

    seen = run_batch_from_ui(window, qloop, rows)
    report = window.batches.report
    assert report is not None, window.batches.last_message
    assert report.complete and report.ran == 10
    # the progress bar moved as rows finished, up to all of them
    assert seen[-1] == 10 and len(set(seen)) >= 4, seen
    assert panel.progress.maximum() == 10 and "10/10 rows" in panel.progress.format()
    assert panel.stop_button.isEnabled() is False and panel.run_button.isEnabled()

    # the batch list: one batch, its counts from batch.json
    records = list_batches(run_root)
    assert [r["batch_id"] for r in records] == [report.batch_id]
    assert panel.batch_id == report.batch_id
    assert panel.batches.rowCount() == 1
    list_row = {c: panel.batches_proxy.index(0, i).data() for i, c in enumerate(panel.batches.columns)}
    assert list_row["Batch"] == report.batch_id and list_row["Flow"] == "demo"
    assert (list_row["Rows"], list_row["Passed"], list_row["Failed"]) == ("10", "7", "3")
    assert list_row["Pass rate"] == "70.0%" and list_row["Status"] == "completed"
    assert list_row["p50"] and list_row["p90"]

    # the rows table against rows.jsonl (written by the engine, read independently here)
    recorded = read_row_results(report.batch_dir)
    assert sorted(recorded) == list(range(10))
    panel.rows_table.sortByColumn(0, QtCore.Qt.SortOrder.AscendingOrder)
    assert [cell(panel, r, "#") for r in range(10)] == [str(i) for i in range(10)]
    assert [cell(panel, r, "Id") for r in range(10)] == [f"row{i}" for i in range(10)]
    assert [cell(panel, r, "Status") for r in range(10)] == [recorded[i].status for i in range(10)]
    assert [cell(panel, r, "Passed") for r in range(10)] == ["yes" if recorded[i].passed else "no" for i in range(10)]
    statuses = {i: recorded[i].status for i in range(10)}
    assert statuses[3] == "failed" and statuses[8] == "error" and statuses[5] == "completed"
    assert {i for i in range(10) if not recorded[i].passed} == set(FAILS)
    assert panel.rows.columns == (*ROW_COLUMNS, "run status co…", "word", "s ran", "Latency", "Cost", "Error")
    header_tip = panel.rows.headerData(
        len(ROW_COLUMNS), QtCore.Qt.Orientation.Horizontal, QtCore.Qt.ItemDataRole.ToolTipRole
    )
    assert header_tip == "run status completed"  # the full check name behind the short header
    # row 5: run completed, the word check failed, with the reason in the tooltip
    word = panel.rows.columns.index("word")
    assert cell(panel, 5, "word") == "✗" and cell(panel, 4, "word") == "✓"
    tip = panel.rows_proxy.index(5, word).data(QtCore.Qt.ItemDataRole.ToolTipRole)
    reason = next(c["message"] for c in recorded[5].checks if c["name"] == "word")
    assert reason and reason in tip and "failed" in tip
    assert cell(panel, 3, "Error").startswith("demo.a")  # division by zero in node a
    assert "bogus" in cell(panel, 8, "Error") and cell(panel, 8, "Latency") == ""
    assert cell(panel, 8, "run status co…") == ""  # refused before running: no checks
    table = batch_table(report.batch_dir)
    assert [r["run_dir"] for r in table] == [panel.rows.item(panel.rows.row_of(i))["run_dir"] for i in range(10)]
    assert "70.0%" in panel.summary.text() and "p90" in panel.summary.text() and "cost" in panel.summary.text()

    # filters: failed = the run did not complete; not passed adds the failed check
    panel.filter.setCurrentIndex(panel.filter.findData("failed"))
    assert [r["index"] for r in panel.visible_rows()] == [3, 8]
    assert panel.count_label.text() == "2 of 10 rows"
    panel.set_filter("not_passed")
    assert panel.filter.currentData() == "not_passed"
    assert sorted(r["index"] for r in panel.visible_rows()) == [3, 5, 8]
    # sorting by latency puts the refused row (no run, no latency) last
    latency = panel.rows.columns.index("Latency")
    panel.rows_table.sortByColumn(latency, QtCore.Qt.SortOrder.AscendingOrder)
    values = [panel.rows_proxy.index(r, latency).data(SORT_ROLE) for r in range(panel.rows_proxy.rowCount())]
    assert values == sorted(values) and panel.visible_rows()[-1]["index"] == 8
    panel.set_filter("all")
    assert panel.rows_proxy.rowCount() == 10

    # double-click a row: its run opens in the history's run viewer
    index = panel.select_row(5)
    rect = panel.rows_table.visualRect(index)
    left = QtCore.Qt.MouseButton.LeftButton
    qtbot.mouseClick(panel.rows_table.viewport(), left, pos=rect.center())  # a double-click's first press
    qtbot.mouseDClick(panel.rows_table.viewport(), left, pos=rect.center())
    viewer = window.history.viewer
    assert viewer is not None and viewer.isVisible()
    assert viewer.session is not None and viewer.session.run_id == recorded[5].run_id
    assert Path(viewer.session.run_dir) == run_root.resolve() / str(recorded[5].run_id)
    # the Open run button does the same for the failed row 3
    panel.select_row(3)
    assert panel.open_button.isEnabled()
    qtbot.mouseClick(panel.open_button, QtCore.Qt.MouseButton.LeftButton)
    assert viewer.session.run_id == recorded[3].run_id
    # the refused row has no run to open: the button is off and the action says why
    panel.select_row(8)
    assert not panel.open_button.isEnabled()
    panel.open_selected()
    assert "no run folder" in window.statusBar().currentMessage()
    assert viewer.session.run_id == recorded[3].run_id


def test_batch_refuses_an_unsaved_flow_and_a_bad_rows_file(
    window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path
) -> None:
    panel = window.batches.panel
    window.actions_by_name["run_batch"].trigger()  # untitled flow
    assert window.batches.file_dialog is None and panel.message.isVisible()
    assert "save this flow first" in panel.message.text()

    flow, _rows, run_root = project(tmp_path)
    assert window.open_file(flow)
    assert window.doc is not None
    window.doc.set_setting((), "b", ("value",), "changed")  # now modified and not saved
    window.actions_by_name["run_batch"].trigger()
    assert window.batches.file_dialog is None
    assert "unsaved changes" in panel.message.text()
    assert window.save()

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"variables": {"n": 1}}\nnot json\n{"nope": 1}\n', encoding="utf-8")
    window.batches.start_batch(bad)
    qloop.run_until_complete(until(lambda: not window.batches.running))
    assert window.batches.report is None
    text = panel.message.text()
    assert "Bad rows file bad.jsonl" in text and "line 2" in text and "line 3" in text
    assert not (run_root / "batches").exists()  # nothing ran
    assert panel.run_button.isEnabled() and not panel.stop_button.isEnabled()


def test_batch_stop_keeps_finished_rows_and_a_second_start_resumes(
    window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path
) -> None:
    flow, rows, run_root = project(tmp_path)
    slow = json.loads(flow.read_text())
    slow["root"]["nodes"]["s"]["settings"]["seconds"] = 0.15
    flow.write_text(json.dumps(slow), encoding="utf-8")
    assert window.open_file(flow)
    batches = window.batches
    batches.observability_settings = {"enabled": False}
    batches.panel.concurrency.setValue(2)

    async def stop_after(n: int) -> None:
        task = batches.start_batch(rows)
        assert task is not None
        await until(lambda: batches.progress is not None and batches.progress.done >= n)
        batches.panel.stop_button.click()
        await until(lambda: not batches.running)

    qloop.run_until_complete(stop_after(2))
    assert batches.report is None and "Batch stopped" in batches.last_message
    (record,) = list_batches(run_root)
    assert record["status"] == "interrupted"
    done = read_row_results(Path(record["batch_dir"]))
    assert 2 <= len(done) < 10
    panel = batches.panel
    assert [r["status"] for r in panel.visible_rows()].count("pending") == 10 - len(done)

    task = batches.start_batch(rows)
    assert task is not None
    report = qloop.run_until_complete(task)
    assert report is not None and report.complete
    assert report.skipped == len(done) and report.ran == 10 - len(done)
    assert [r["status"] for r in panel.visible_rows()].count("pending") == 0
    assert list_batches(run_root)[0]["status"] == "completed"
    assert [t for t in asyncio.all_tasks(qloop) if not t.done()] == []


def test_closing_the_window_stops_a_running_batch(window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path) -> None:
    flow, rows, run_root = project(tmp_path)
    slow = json.loads(flow.read_text())
    slow["root"]["nodes"]["s"]["settings"]["seconds"] = 0.3
    flow.write_text(json.dumps(slow), encoding="utf-8")
    assert window.open_file(flow)
    batches = window.batches
    batches.observability_settings = {"enabled": False}
    batches.panel.concurrency.setValue(2)
    task = batches.start_batch(rows)
    assert task is not None
    qloop.run_until_complete(until(lambda: batches.progress is not None and batches.progress.total == 10))
    window.close()
    qloop.run_until_complete(until(task.done, limit=10))
    assert task.result() is None  # stopped: no report, and nothing raised into the closed window
    (record,) = list_batches(run_root)
    assert record["status"] == "interrupted"
    assert len(read_row_results(Path(record["batch_dir"]))) < 10
    assert [t for t in asyncio.all_tasks(qloop) if not t.done()] == []
