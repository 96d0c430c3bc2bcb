"""The Batches dock's models and refresh: rows read back from a batch folder (pending rows included),
in-place updates that keep the selection, check columns, sorting, and a batch run by another
process (the CLI) showing up and filling in without anyone asking."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from PySide6 import QtCore

from dad_studio.batch import batch_table
from dad_studio.batch.job import RowResult
from dad_studio.ui.batch.models import SORT_ROLE
from dad_studio.ui.batch.panel import BatchPanel
from dad_studio.ui.main_window import MainWindow

DAD_STUDIO = str(Path(sys.executable).parent / "dad-studio")


def check(name: str, passed: bool, message: str | None = None) -> dict[str, Any]:
    return {"name": name, "passed": passed, "message": message}


def write_batch(run_root: Path, batch_id: str, total: int, results: list[RowResult], **record: Any) -> Path:
    """A batch folder as run_batch leaves it (batch.json + rows.jsonl), written by hand."""
    folder = run_root / "batches" / batch_id
    folder.mkdir(parents=True, exist_ok=True)
    data = {"batch_id": batch_id, "run_root": str(run_root), "flow_file": "/x/flows/demo.dad.json",
            "status": "completed", "created_at": "2026-01-02T03:04:05Z", "counts": {"rows": total}, **record}  # fmt: skip
    (folder / "batch.json").write_text(json.dumps(data))
    (folder / "rows.jsonl").write_text("".join(json.dumps(r.to_json()) + "\n" for r in results))
    return folder


def result(i: int, passed: bool, latency: float, word: str, status: str = "completed") -> RowResult:
    checks = [check("run status completed", status == "completed", None if status == "completed" else f"run {status}"),
              check(f"b equals {word!r}", passed, None if passed else "got 'other'")]  # fmt: skip
    return RowResult(i, status, passed, f"batch_b_{i}", latency, 0.5 * i, 10, None, checks, f"r{i}")


def test_rows_model_pending_rows_checks_sort_and_in_place_updates(qtbot: Any, tmp_path: Path) -> None:
    run_root = tmp_path / "runs"
    folder = write_batch(run_root, "b1", 4, [result(0, True, 30.0, "a"), result(2, False, 10.0, "c", "failed")])
    panel = BatchPanel()
    qtbot.addWidget(panel)
    panel.set_run_root(run_root)
    assert panel.batch_id == "b1"  # the newest batch is shown until the user picks one
    table = batch_table(folder)
    assert [r["status"] for r in panel.visible_rows()] == [r["status"] for r in table]
    assert [r["status"] for r in table] == ["completed", "pending", "failed", "pending"]
    # check names differ per row (the expected word): a numbered header, names in its tooltip
    columns = panel.rows.columns
    assert columns[4:6] == ("run status co…", "check 2")
    assert "b equals 'a'" in panel.rows.headerData(
        5, QtCore.Qt.Orientation.Horizontal, QtCore.Qt.ItemDataRole.ToolTipRole
    )
    assert [panel.rows_proxy.index(r, 5).data() for r in range(4)] == ["✓", "", "✗", ""]
    tip = panel.rows_proxy.index(2, 4).data(QtCore.Qt.ItemDataRole.ToolTipRole)
    assert tip == "run status completed\nfailed: run failed"

    # latency sorts as a number, pending rows (no latency) last in both orders of the done ones
    latency = columns.index("Latency")
    panel.rows_table.sortByColumn(latency, QtCore.Qt.SortOrder.AscendingOrder)
    assert [r["index"] for r in panel.visible_rows()] == [2, 0, 1, 3]
    assert panel.rows_proxy.index(0, latency).data(SORT_ROLE) == 10.0

    # more rows finish: the table updates in place and the selected row stays selected
    panel.select_row(0)
    selected_before = panel.selected_row()
    assert selected_before is not None and selected_before["index"] == 0
    write_batch(run_root, "b1", 4, [result(0, True, 30.0, "a"), result(2, False, 10.0, "c", "failed"),
                                     result(1, True, 20.0, "b"), result(3, True, 5.0, "d")])  # fmt: skip
    resets: list[int] = []
    panel.rows.modelReset.connect(lambda: resets.append(1))
    panel.refresh()
    assert resets == []
    assert [r["status"] for r in sorted(panel.visible_rows(), key=lambda r: r["index"])] == ["completed"] * 2 + [
        "failed",
        "completed",
    ]
    row = panel.selected_row()
    assert row is not None and row["index"] == 0
    panel.rows_table.sortByColumn(latency, QtCore.Qt.SortOrder.AscendingOrder)
    assert [r["index"] for r in panel.visible_rows()] == [3, 2, 1, 0]

    # an unchanged folder is not read again
    reads = panel.last_read_ms
    panel.last_read_ms = -1.0
    panel.refresh()
    assert panel.last_read_ms == -1.0
    panel.last_read_ms = reads
    panel.shutdown()


def test_batch_list_columns_and_selection(qtbot: Any, tmp_path: Path) -> None:
    run_root = tmp_path / "runs"
    summary = {"done": 2, "rows": 2, "passed": 1, "pass_rate": 0.5, "cost": {"sum": 1.25},
               "latency_ms": {"p50": 20.0, "p90": 1500.0, "p99": 1900.0}}  # fmt: skip
    counts = {"rows": 2, "done": 2, "passed": 1, "not_passed": 1}
    write_batch(run_root, "old", 2, [result(0, True, 20.0, "a"), result(1, False, 1500.0, "b")],
                summary=summary, counts=counts)  # fmt: skip
    write_batch(run_root, "new", 3, [], status="running", created_at="2026-02-01T00:00:00Z",
                counts={"rows": 3, "done": 0, "passed": 0, "not_passed": 0})  # fmt: skip
    panel = BatchPanel()
    qtbot.addWidget(panel)
    panel.set_run_root(run_root)
    ids = [panel.batches_proxy.index(r, 0).data() for r in range(2)]
    assert ids == ["new", "old"] and panel.batch_id == "new"
    assert [r["status"] for r in panel.visible_rows()] == ["pending"] * 3
    # "running" with no live process behind it reads back as interrupted (read_batch)
    assert panel.batches_proxy.index(0, panel.batches.columns.index("Status")).data() == "interrupted"
    panel.batch_table.selectRow(1)
    assert panel.batch_id == "old"
    values = {c: panel.batches_proxy.index(1, i).data() for i, c in enumerate(panel.batches.columns)}
    assert values["Flow"] == "demo" and values["Rows"] == "2" and values["Failed"] == "1"
    assert (values["Pass rate"], values["Cost"], values["p50"], values["p90"]) == ("50.0%", "$1.2500", "20 ms", "1.5 s")
    assert "passed 1/2 (50.0%)" in panel.summary.text() and "p90 1.5 s" in panel.summary.text()
    panel.shutdown()


def test_a_cli_batch_appears_and_fills_in_by_itself(window: MainWindow, qtbot: Any, tmp_path: Path) -> None:
    flows = tmp_path / "proj" / "flows"
    flows.mkdir(parents=True)
    flow = flows / "echo.dad.json"
    root = {"id": "echo", "kind": "flow", "variables": {"word": "w"},
            "nodes": {"a": {"type": "noop", "settings": {"value": "$var{word}"}}}, "edges": []}  # fmt: skip
    flow.write_text(json.dumps({"format": "dad-flow", "schema_version": 1, "root": root}))
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        "".join(
            json.dumps({"variables": {"word": f"w{i}"}, "expect": [{"path": "a.outcome.value", "equals": "w0"}]}) + "\n"
            for i in range(3)
        )
    )
    assert window.open_file(flow)
    panel = window.batches.panel
    assert panel.run_root == (tmp_path / "proj" / "runs").resolve()  # the studio's project run root
    assert panel.batches.rowCount() == 0
    done = subprocess.run(
        [DAD_STUDIO, "batch", str(flow), "--inputs", str(rows), "--no-traces", "--run-root", str(panel.run_root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr  # rows 1 and 2 do not pass
    qtbot.waitUntil(lambda: panel.batches.rowCount() == 1 and len(panel.visible_rows()) == 3, timeout=10_000)
    assert [r["passed"] for r in panel.visible_rows()] == [True, False, False]
    assert "passed 1/3" in panel.summary.text()
