"""The time-sliced paths of a live run (canvas overlay, context tree) end in the state the direct
paths give, also when batches of events arrive while a slice is still going on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6 import QtWidgets
from run_latency_helpers import canvas_state, new_session, pump

from dad_studio.ui.main_window import MainWindow
from dad_studio.ui.run import canvas_status, context_panel
from dad_studio.ui.run.context_panel import ContextPanel
from dad_studio.ui.run.gc_policy import RunGcPolicy


def test_sliced_canvas_update_ends_like_the_direct_one(
    opened: tuple[MainWindow, Any, Any, Path], qloop: qasync.QEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    win, component, events, run_dir = opened
    overlay = win.runs.overlay
    third = len(events) // 3

    # direct: the whole run at once
    session = new_session(win, component, run_dir, events)
    overlay.show_session(session)
    direct = canvas_state(win)
    assert direct[0]["n079"][0] == "completed" and direct[1][("n000", "n001")] == "taken"

    # sliced: a zero budget stops after every SLICE_CHECK items. A third of the run is shown, the
    # next third arrives while the first slices are still going on, the rest after they ended
    monkeypatch.setattr(canvas_status, "SLICE_MS", 0.0)
    overlay.show_session(None)
    assert canvas_state(win)[0]["n079"][0] is None
    live = new_session(win, component, run_dir, events[:third])
    overlay.set_live(True)
    overlay.show_session(live, sliced=True)
    assert overlay.pending > 0, "a zero budget must leave work for the next pass"
    for chunk in (events[third : 2 * third], events[2 * third :]):
        live.pending = list(chunk)
        changed, _ = live.apply_pending()
        overlay.update_paths(changed)
        assert overlay.pending > 0
        pump(qloop, lambda: overlay.pending == 0)
    assert canvas_state(win) == direct
    overlay.set_live(False)


def test_far_zoom_run_batch_leaves_item_caches_alone(opened: tuple[MainWindow, Any, Any, Path]) -> None:
    win, component, events, run_dir = opened
    overlay = win.runs.overlay
    view = win.canvas.view
    view.scale(0.1 / view.transform().m11(), 0.1 / view.transform().m11())
    view.zoom_changed.emit()
    assert win.canvas.scene.overview.active
    overlay.set_live(True)
    overlay.show_session(new_session(win, component, run_dir, events), sliced=True)
    overlay.finish()
    cached = QtWidgets.QGraphicsItem.CacheMode.NoCache
    items = [*win.canvas.scene.nodes.values(), *win.canvas.scene.edges.values()]
    assert all(item.cacheMode() == cached for item in items)
    assert win.canvas.scene.nodes["n079"].run_status == "completed"
    overlay.set_live(False)


def test_sliced_context_build_ends_like_the_direct_one(
    opened: tuple[MainWindow, Any, Any, Path], qloop: qasync.QEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    win, component, events, run_dir = opened
    half = next(i for i, e in enumerate(events) if e.get("path") == "chain.n030")

    direct_panel = ContextPanel()
    direct_panel.clock = lambda: 0.0  # a clock that never moves: the slice budget never runs out
    direct_panel.set_session(new_session(win, component, run_dir, events))
    assert not direct_panel.building  # a small tree is made in the first slice
    direct = direct_panel.rows()
    assert direct[("node", "chain.n079")] == "completed"
    assert direct[("component", "chain.n040.iter_2")] == "completed"

    monkeypatch.setattr(context_panel, "BUILD_SLICE_MS", 0.0)
    panel = ContextPanel()
    panel.show()
    live = new_session(win, component, run_dir, events[:half])
    panel.set_session(live)
    assert panel.building, "a zero budget must leave rows for the next pass"
    live.pending = list(events[half:])
    changed, batch = live.apply_pending()
    panel.on_events(live, changed, batch)  # arrives while the build goes on: applied at its end
    pump(qloop, lambda: not panel.building)
    assert panel.rows() == direct

    def parents(p: ContextPanel) -> dict[tuple[str, str], str | None]:
        out: dict[tuple[str, str], str | None] = {}
        for key, item in p.items.items():
            parent = item.parent()
            out[key] = None if parent is None else str(parent.data(0, context_panel.PATH_ROLE))
        return out

    assert parents(panel) == parents(direct_panel)
    panel.close()
    for p in (panel, direct_panel):
        assert not p.build_timer.isActive()
        p.deleteLater()


def test_gc_policy_freezes_during_runs_and_restores_after() -> None:
    import gc

    before = gc.get_threshold()
    policy = RunGcPolicy()
    policy.run_started()
    policy.run_started()  # a second run at once
    try:
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[2] >= 100
        policy.run_ended()
        assert gc.get_freeze_count() > 0, "one run still goes on"
    finally:
        policy.run_ended()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
    policy.run_ended()  # more ends than starts change nothing
    assert gc.get_threshold() == before
