"""The history panel driven through its widgets: listing, filters, sorting, runs written by another
process, opening a run and stepping through it, re-run from a node, compare, delete, retention."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from history_helpers import chain_flow, executed_and_loaded, make_run, write_flow
from PySide6 import QtCore, QtWidgets

from dad_studio.runs import RunIndex
from dad_studio.ui.history.table import COLUMNS
from dad_studio.ui.main_window import MainWindow

DAD_STUDIO = str(Path(sys.executable).parent / "dad-studio")


def project(tmp_path: Path, flow_name: str = "chain", **kw: object) -> tuple[Path, Path]:
    flows = tmp_path / "proj" / "flows"
    flows.mkdir(parents=True, exist_ok=True)
    flow = chain_flow(**kw)  # type: ignore[arg-type]
    return write_flow(flows / f"{flow_name}.dad.json", flow), tmp_path / "proj" / "runs"


def test_history_lists_filters_sorts_and_sees_a_cli_run(window: MainWindow, qloop, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    flow_path, run_root = project(tmp_path)
    flow = chain_flow()
    failing = chain_flow(fail=True)
    failing.edges = [e for e in failing.edges or [] if e.target != "d"]  # c fails and nothing handles it
    first = make_run(qloop, flow, flow_path, run_root)
    second = make_run(qloop, failing, flow_path, run_root)
    window.open_file(flow_path)
    panel = window.history.panel
    assert panel.run_root == run_root.resolve()
    panel.refresh(background=False)
    assert sorted(panel.visible_run_ids()) == sorted([first.name, second.name])
    statuses = {panel.proxy.index(r, 0).data(): panel.proxy.index(r, 2).data() for r in range(2)}
    assert statuses == {first.name: "completed", second.name: "failed"}

    panel.status_filter.setCurrentIndex(panel.status_filter.findData("failed"))
    assert panel.visible_run_ids() == [second.name]
    panel.status_filter.setCurrentIndex(0)
    panel.flow_filter.setText("no-such-flow")
    assert panel.visible_run_ids() == []
    panel.flow_filter.setText("chain")
    assert len(panel.visible_run_ids()) == 2
    panel.table.sortByColumn(COLUMNS.index("Started"), QtCore.Qt.SortOrder.AscendingOrder)
    assert panel.visible_run_ids() == [first.name, second.name]
    panel.table.sortByColumn(COLUMNS.index("Started"), QtCore.Qt.SortOrder.DescendingOrder)
    assert panel.visible_run_ids() == [second.name, first.name]

    # another process writes a run into the same root: the panel notices without being asked
    done = subprocess.run(
        [DAD_STUDIO, "run", str(flow_path), "--run-root", str(run_root), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    qtbot.waitUntil(lambda: len(panel.visible_run_ids()) == 3, timeout=10_000)


def test_history_open_step_rerun_compare(window: MainWindow, qloop, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    flow_path, run_root = project(tmp_path, fail=True)
    flow = chain_flow(fail=True)
    run_dir = make_run(qloop, flow, flow_path, run_root)
    window.open_file(flow_path)
    panel = window.history.panel
    panel.refresh(background=False)
    panel.select_runs([run_dir.name])
    qtbot.mouseClick(panel.open_button, QtCore.Qt.MouseButton.LeftButton)
    viewer = window.history.viewer
    assert viewer is not None and viewer.isVisible()
    session = viewer.session
    assert session is not None and session.run_id == run_dir.name
    # opened at the end: final statuses on the canvas
    items = viewer.canvas.scene.nodes
    assert {k: i.run_status for k, i in items.items()} == {
        "a": "completed",
        "b": "completed",
        "c": "failed",
        "d": "completed",
    }
    assert "unchanged" in viewer.notes.text()

    # step to the event where b starts, with the slider
    events = session.replay.events
    b_started = next(i for i, e in enumerate(events, 1) if e["type"] == "node_started" and e["path"] == "chain.b")
    viewer.timeline.slider.setValue(b_started)
    assert viewer.step == b_started
    assert {k: i.run_status for k, i in items.items()} == {
        "a": "completed",
        "b": "running",
        "c": "pending",
        "d": "pending",
    }
    assert viewer.context.rows()[("node", "chain.b")] == "running"
    assert viewer.context.rows()[("node", "chain.c")] == "pending"
    viewer.canvas.scene.select_ids(["a"])
    record = viewer.outcomes.current_record()
    assert record["status"] == "completed" and record["outcome"] == {"value": "alpha"}

    # one step forward with the button: b completes; one back: running again
    qtbot.mouseClick(viewer.timeline.forward, QtCore.Qt.MouseButton.LeftButton)
    assert viewer.step == b_started + 1 and items["b"].run_status == "completed"
    viewer.canvas.scene.select_ids(["b"])
    assert viewer.outcomes.current_record()["outcome"] == {"value": "beta"}
    qtbot.mouseClick(viewer.timeline.back, QtCore.Qt.MouseButton.LeftButton)
    assert items["b"].run_status == "running"
    assert "outcome" not in viewer.outcomes.current_record()

    # jump to the failure, then to the next node event
    qtbot.mouseClick(viewer.timeline.next_failure, QtCore.Qt.MouseButton.LeftButton)
    assert events[viewer.step - 1]["type"] == "node_completed" and events[viewer.step - 1]["path"] == "chain.c"
    assert items["c"].run_status == "failed" and viewer.context.rows()[("node", "chain.c")] == "failed"
    qtbot.mouseClick(viewer.timeline.next_node, QtCore.Qt.MouseButton.LeftButton)
    assert events[viewer.step - 1]["path"] == "chain.d"

    # play runs the timeline forward on a QTimer and stops at the end
    viewer.go_to(0)
    viewer.timeline.speed.setCurrentIndex(viewer.timeline.speed.count() - 1)
    viewer.timeline.play.setChecked(True)
    qtbot.waitUntil(lambda: viewer.step == len(events), timeout=5000)
    qtbot.waitUntil(lambda: not viewer.timeline.timer.isActive(), timeout=2000)

    # re-run from b: the plan is shown before anything runs, then the new run executes b, c, d
    viewer.canvas.scene.select_ids(["b"])
    viewer.rerun_action.trigger()
    assert viewer.plan_bar.isVisibleTo(viewer)
    assert viewer.plan_marks() == {"a": "plan_load", "b": "plan_execute", "c": "plan_execute", "d": "plan_execute"}
    # the one run folder: nothing started yet (index.sqlite's -wal/-shm come and go with its readers)
    assert [p.name for p in run_root.iterdir() if p.is_dir()] == [run_dir.name]
    with qtbot.waitSignal(viewer.continuation_started, timeout=5000):
        qtbot.mouseClick(viewer.plan_start, QtCore.Qt.MouseButton.LeftButton)
    assert viewer.task is not None
    qloop.run_until_complete(viewer.task)
    new_dir = run_root / str(viewer.new_run_id)
    executed, loaded = executed_and_loaded(new_dir)
    assert executed == {"chain.b", "chain.c", "chain.d"} and loaded == {"chain.a"}
    assert viewer.session is not None and viewer.session.run_id == new_dir.name  # the viewer follows it
    assert viewer.step == len(viewer.session)
    assert items["a"].run_status == "completed" and items["a"].run_text == "loaded"

    # compare the two runs of the flow from the panel
    panel.refresh(background=False)
    panel.select_runs([run_dir.name, new_dir.name])
    qtbot.mouseClick(panel.compare_button, QtCore.Qt.MouseButton.LeftButton)
    view = window.history.compare_view
    assert view is not None and view.isVisible()
    by_path = {r.path: r for r in view.rows}
    assert set(by_path) == {"chain.a", "chain.b", "chain.c", "chain.d"}
    assert by_path["chain.c"].status_a == by_path["chain.c"].status_b == "failed"
    assert view.table.rowCount() == 4 and view.table.item(0, 0).text() == "chain.a"


def test_history_compare_shows_outcome_diff(window: MainWindow, qloop, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    flow_path, run_root = project(tmp_path)
    run_a = make_run(qloop, chain_flow(), flow_path, run_root)
    changed = chain_flow()
    changed.nodes["b"].settings["value"] = "beta-2"
    write_flow(flow_path, changed)
    run_b = make_run(qloop, changed, flow_path, run_root)
    window.open_file(flow_path)
    view = window.history.compare(run_a, run_b)
    differing = [r.path for r in view.rows if not r.same]
    assert differing == ["chain.b"]
    row = [r.path for r in view.rows].index("chain.b")
    view.table.selectRow(row)
    text = view.diff.toPlainText()
    assert '-  "value": "beta"' in text and '+  "value": "beta-2"' in text
    assert "#ff5c5c" in view.diff.toHtml().lower() or "255, 92, 92" in view.diff.toHtml()

    # the older run opened in the viewer: b is marked as changed in the file since
    viewer = window.history.open_run(run_a)
    assert "changed" in viewer.notes.text() and "b" in viewer.notes.text()
    assert viewer.canvas.scene.nodes["b"].problem_severity == "warning"
    assert viewer.canvas.scene.nodes["a"].problem_severity is None


def test_history_delete_and_retention(window: MainWindow, qloop, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    flow_path, run_root = project(tmp_path)
    runs = [make_run(qloop, chain_flow(), flow_path, run_root) for _ in range(4)]
    window.open_file(flow_path)
    panel = window.history.panel
    panel.refresh(background=False)
    panel.select_runs([runs[0].name])
    box = panel.delete_selected()
    assert isinstance(box, QtWidgets.QMessageBox) and box.isVisible()
    assert runs[0].exists()  # nothing happens before the answer
    qtbot.mouseClick(box.button(QtWidgets.QMessageBox.StandardButton.Yes), QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not runs[0].exists(), timeout=3000)
    assert runs[0].name not in panel.visible_run_ids()
    with RunIndex(run_root) as index:
        listed = {m["run_id"] for m in index.list(refresh=False)}
        assert runs[0].name not in listed and index.node_results(runs[0].name) == []

    panel.keep_last.setValue(1)
    assert int(window.settings.value("history/keep_last")) == 1
    deleted = panel.apply_retention_now()
    assert sorted(deleted) == sorted(r.name for r in runs[1:3])
    assert panel.visible_run_ids() == [runs[3].name]
    assert sorted(p.name for p in run_root.iterdir() if p.is_dir()) == [runs[3].name]


def test_retention_settings_a_box_cannot_hold_open_as_its_nearest(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A hand-edited settings file must not break the panel (or the studio's start with it)."""
    from dad_studio.ui.history.panel import HistoryPanel

    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    settings.setValue("history/keep_last", "99999999999999")  # past a 32-bit int: Qt would warn and wrap
    settings.setValue("history/newer_than_days", "soon")
    panel = HistoryPanel(settings)
    qtbot.addWidget(panel)
    assert panel.keep_last.value() == panel.keep_last.maximum()
    assert panel.newer_than.value() == 0
