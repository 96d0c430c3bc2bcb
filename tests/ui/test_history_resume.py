"""A run whose process was killed lists as interrupted and resumes from the history panel; a run
still being written is followed by the viewer as its log grows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from history_helpers import executed_and_loaded, write_flow
from PySide6 import QtCore

from dad_studio.model import FlowDefinition
from dad_studio.runs import read_run
from dad_studio.ui.main_window import MainWindow

DAD_STUDIO = str(Path(sys.executable).parent / "dad-studio")


def slow_flow(hold_s: float) -> FlowDefinition:
    flow = FlowDefinition(id="slow")
    flow.node("a", type="noop", settings={"value": "first"})
    flow.node("s1", type="sleep", settings={"seconds": 0.1})
    flow.node("s2", type="sleep", settings={"seconds": hold_s})
    flow.node("s3", type="noop", settings={"value": "last"})
    return flow  # never connected: one after another


def wait_for(predicate, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def events_text(run_root: Path) -> str:
    runs = [p for p in run_root.iterdir() if p.is_dir()] if run_root.is_dir() else []
    return (runs[0] / "events.jsonl").read_text() if runs and (runs[0] / "events.jsonl").exists() else ""


def test_killed_run_shows_interrupted_and_resumes_from_the_panel(
    window: MainWindow, qloop, qtbot, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    flows = tmp_path / "proj" / "flows"
    flows.mkdir(parents=True)
    run_root = tmp_path / "proj" / "runs"
    flow_path = write_flow(flows / "slow.dad.json", slow_flow(1.0))
    window.open_file(flow_path)
    panel = window.history.panel

    child = subprocess.Popen(
        [DAD_STUDIO, "run", str(flow_path), "--run-root", str(run_root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: '"path":"slow.s2"' in events_text(run_root).replace(" ", ""), 30)
        # while it runs, the viewer follows it
        run_dir = next(p for p in run_root.iterdir() if p.is_dir())
        qtbot.waitUntil(lambda: run_dir.name in panel.visible_run_ids(), timeout=10_000)
        viewer = window.history.open_run(run_dir)
        assert viewer.session is not None and viewer.session.status == "running"
        assert viewer.follow_timer.isActive()
        seen = len(viewer.session)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    assert read_run(run_dir).status == "interrupted"
    qtbot.waitUntil(lambda: not viewer.follow_timer.isActive(), timeout=5000)  # it noticed on its own
    assert viewer.session is not None and viewer.session.status == "interrupted"
    assert len(viewer.session) >= seen and "interrupted" in viewer.title.text()
    assert viewer.canvas.scene.nodes["s2"].run_status == "running"  # the log ends with s2 started

    panel.refresh(background=False)
    row = {panel.proxy.index(r, 0).data(): panel.proxy.index(r, 2).data() for r in range(panel.proxy.rowCount())}
    assert row == {run_dir.name: "interrupted"}
    panel.select_runs([run_dir.name])
    assert panel.resume_button.isEnabled()
    qtbot.mouseClick(panel.resume_button, QtCore.Qt.MouseButton.LeftButton)
    assert viewer.plan is not None
    assert viewer.plan_marks() == {"a": "plan_load", "s1": "plan_load", "s2": "plan_execute", "s3": "plan_execute"}
    qtbot.mouseClick(viewer.plan_start, QtCore.Qt.MouseButton.LeftButton)
    assert viewer.task is not None
    qloop.run_until_complete(viewer.task)
    new_dir = run_root / str(viewer.new_run_id)
    assert read_run(new_dir).status == "completed"
    executed, loaded = executed_and_loaded(new_dir)
    assert loaded == {"slow.a", "slow.s1"} and executed == {"slow.s2", "slow.s3"}
    assert viewer.session is not None and viewer.session.run_id == new_dir.name
    assert {k: i.run_status for k, i in viewer.canvas.scene.nodes.items()} == dict.fromkeys(
        ("a", "s1", "s2", "s3"), "completed"
    )
    panel.refresh(background=False)
    assert set(panel.visible_run_ids()) == {run_dir.name, new_dir.name}
