"""Run latency, round 3: the shared slice queue, sliced event folding, sliced context updates, the
end-of-run catch-up, the overview's repaint throttle and the RunState made while idle. Each sliced
path must end in the state its direct path gives; budgets are driven by fake clocks or zero."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import qasync
import run_latency_helpers as helpers
from PySide6 import QtGui

from dad_studio.runs.state import RunState
from dad_studio.ui.canvas import overview as overview_module
from dad_studio.ui.main_window import MainWindow
from dad_studio.ui.run import canvas_status, context_panel, controller, snapshot
from dad_studio.ui.run.context_panel import ContextPanel
from dad_studio.ui.run.session import RunSession
from dad_studio.ui.run.slices import MAX_REST_MS, SliceQueue
from dad_studio.ui.run.snapshot import SnapshotCache


class StepClock:
    """A clock that moves `step` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step
        self.reads = 0

    def __call__(self) -> float:
        self.now += self.step
        self.reads += 1
        return self.now


# -- the slice queue --------------------------------------------------------------------------------


def test_slice_queue_runs_one_callback_per_pass_round_robin(qloop: qasync.QEventLoop) -> None:
    queue = SliceQueue()
    ran: list[str] = []
    left = {"a": 3, "b": 1, "c": 2}
    timers: dict[str, Any] = {}

    def make(name: str) -> Any:
        def step() -> None:
            ran.append(name)
            left[name] -= 1
            if left[name]:
                timers[name].start()  # more to do: back of the queue

        return step

    for name in "abc":
        timers[name] = queue.timer(make(name))
    timers["a"].start()
    timers["b"].start()
    timers["c"].start()
    timers["a"].start()  # started twice: still one turn
    assert queue.pending == 3 and timers["b"].isActive()
    assert queue.run_next() and ran == ["a"]
    assert queue.run_next() and ran == ["a", "b"]
    assert not timers["b"].isActive()
    timers["c"].stop()
    assert not timers["c"].isActive()
    timers["c"].start()  # to the back again, after a
    helpers.pump(qloop, lambda: queue.pending == 0)
    assert ran == ["a", "b", "a", "c", "a", "c"]
    assert not queue.run_next()
    assert not queue._pass.isActive()
    queue.deleteLater()


def test_slice_queue_stop_drops_everything(qloop: qasync.QEventLoop) -> None:
    queue = SliceQueue()
    ran: list[int] = []
    queue.timer(lambda: ran.append(1)).start()
    queue.stop()
    assert queue.pending == 0 and not queue._pass.isActive()
    helpers.pump(qloop, lambda: True)
    assert ran == []
    queue.deleteLater()


def test_paced_slice_queue_rests_in_proportion_to_each_slice(qloop: qasync.QEventLoop) -> None:
    queue = SliceQueue()
    starts: list[float] = []
    left = [3]

    def slow() -> None:  # a slice of ~20 ms that wants two more turns
        starts.append(time.perf_counter())
        time.sleep(0.02)
        left[0] -= 1
        if left[0]:
            timer.start()

    timer = queue.timer(slow)
    with pytest.raises(ValueError, match="share"):
        queue.pace(0.0)
    queue.pace(0.5)  # the slices may take half the time: a 20 ms slice, then 20 ms for the rest
    assert queue.paced
    timer.start()
    helpers.pump(qloop, lambda: not left[0])
    assert len(starts) == 3
    for a, b in itertools.pairwise(starts):
        assert b - a >= 0.038, f"the next slice came {1000 * (b - a):.0f} ms after the last began"

    # no pacing: the next turn comes without a rest, even right after a long slice
    queue.pace(None)
    assert not queue.paced
    ran: list[float] = []
    queue.timer(lambda: ran.append(time.perf_counter())).start()
    assert queue._pass.interval() == 0
    helpers.pump(qloop, lambda: bool(ran))
    # a paced queue's rest never passes MAX_REST_MS, however long the slice
    queue.pace(0.01)
    queue.timer(lambda: time.sleep(0.01)).start()
    queue.run_next()
    queue.timer(lambda: None).start()
    assert 0 < queue._pass.interval() <= MAX_REST_MS
    queue.stop()
    assert not queue.paced, "stop (the window closing) ends the pacing too"
    queue.deleteLater()


# -- folding events in slices -----------------------------------------------------------------------


def test_sliced_fold_stops_at_the_deadline_and_ends_like_one_fold(opened: tuple[MainWindow, Any, Any, Path]) -> None:
    win, component, events, run_dir = opened
    direct = helpers.new_session(win, component, run_dir, events)

    sliced = RunSession(1, component, "chain", run_dir.name, run_dir, document=win.doc)
    sliced.pending = list(events)
    clock = StepClock(1.0)  # every read is past the deadline: `check` events a call
    folded: list[dict[str, Any]] = []
    calls = 0
    while sliced.pending:
        reads = clock.reads
        _changed, batch = sliced.apply_pending(deadline=clock() + 0.5, clock=clock, check=10)
        calls += 1
        assert len(batch) == 10 or not sliced.pending, "a slice folds `check` events when out of time"
        assert clock.reads - reads <= 2
        folded.extend(batch)
    assert calls == -(-len(events) // 10)
    assert folded == events, "every event folded once, in order"
    assert {p: (v.status, v.outcome) for p, v in sliced.state.nodes.items()} == {
        p: (v.status, v.outcome) for p, v in direct.state.nodes.items()
    }
    assert sliced.state.status == direct.state.status == "completed"
    assert sliced.log_rows == direct.log_rows


def test_fold_without_deadline_takes_everything(opened: tuple[MainWindow, Any, Any, Path]) -> None:
    win, component, events, run_dir = opened
    session = RunSession(1, component, "chain", run_dir.name, run_dir, document=win.doc)
    session.pending = list(events)
    changed, batch = session.apply_pending(clock=StepClock(1.0), check=1)
    assert batch == events and not session.pending and "chain.n079" in changed


# -- context rows of a big batch in slices ------------------------------------------------------------


def test_sliced_context_updates_end_like_direct_ones(
    opened: tuple[MainWindow, Any, Any, Path], qloop: qasync.QEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    win, component, events, run_dir = opened
    direct_panel = ContextPanel()
    direct_panel.set_session(helpers.new_session(win, component, run_dir, events))
    direct = direct_panel.rows()

    monkeypatch.setattr(context_panel, "DIRECT_UPDATE_MAX", 0)
    panel = ContextPanel()
    panel.clock = StepClock(1.0)  # every budget is spent after UPDATE_CHECK rows
    panel.show()
    live = RunSession(1, component, "chain", run_dir.name, run_dir, document=win.doc)
    panel.set_session(live)  # no events yet: the tree of a pending run
    helpers.pump(qloop, lambda: not panel.busy)
    live.pending = list(events)
    changed, batch = live.apply_pending()
    panel.on_events(live, changed, batch)
    assert panel.busy and panel.update_timer.isActive(), "a big batch waits for its turns"
    assert panel.items[("node", "chain.n079")].text(1) != direct[("node", "chain.n079")]
    assert panel.slices.run_next() and panel.busy, "one slice: UPDATE_CHECK rows"
    assert not panel.tree.updatesEnabled(), "no repaint of the tree between the slices of a batch"
    helpers.pump(qloop, lambda: not panel.busy)
    assert panel.tree.updatesEnabled(), "the batch is done: one repaint"
    assert {k: i.text(1) for k, i in panel.items.items()} == direct
    assert panel.items[("node", "chain.n079")].text(2) == direct_panel.items[("node", "chain.n079")].text(2)
    for p in (panel, direct_panel):
        p.close()
        p.stop_build()
        assert not p.update_timer.isActive() and not p.build_timer.isActive()
        p.deleteLater()


# -- a studio run with every budget at zero ends in the direct state ----------------------------------


def test_studio_run_with_zero_budgets_ends_like_the_direct_views(
    opened: tuple[MainWindow, Any, Any, Path], qloop: qasync.QEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    win, component, events, run_dir = opened
    for module, name in (
        (controller, "FOLD_SLICE_MS"),
        (canvas_status, "SLICE_MS"),
        (context_panel, "UPDATE_SLICE_MS"),
        (context_panel, "BUILD_SLICE_MS"),
    ):
        monkeypatch.setattr(module, name, 0.0)
    monkeypatch.setattr(context_panel, "DIRECT_UPDATE_MAX", 0)
    runs = win.runs
    runs.context.show()
    turns: list[int] = []
    run_next = runs.slices.run_next

    def counted() -> bool:
        turns.append(runs.slices.pending)
        return run_next()

    monkeypatch.setattr(runs.slices, "run_next", counted)
    runs.slices._pass.timeout.disconnect()
    runs.slices._pass.timeout.connect(counted)
    session = runs.start_run()
    assert session is not None
    # while the run goes on nothing may say finished before the views have caught up
    helpers.pump(qloop, lambda: session.finished)
    assert session.status == "completed"
    assert not session.pending and runs.overlay.pending == 0 and not runs.context.busy
    # zero budgets: the 80-node run's folds, canvas items and rows went through many turns, and
    # at times several views waited at once, each for its own pass
    assert len(turns) > 20 and max(turns) >= 2
    live_canvas = helpers.canvas_state(win)
    live_rows = {k: i.text(1) for k, i in runs.context.items.items()}  # as shown, nothing forced

    direct = helpers.new_session(win, component, run_dir, events)
    runs.overlay.show_session(direct)
    canvas = helpers.canvas_state(win)
    assert {k: v[0] for k, v in live_canvas[0].items()} == {k: v[0] for k, v in canvas[0].items()}
    assert live_canvas[1] == canvas[1]
    panel = ContextPanel()
    panel.set_session(direct)
    rows = panel.rows()
    assert live_rows == rows
    panel.deleteLater()


def test_views_are_paced_while_the_stream_is_open_and_catch_up_at_full_speed(
    opened: tuple[MainWindow, Any, Any, Path], qloop: qasync.QEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    win, *_ = opened
    runs = win.runs
    overview = win.canvas.scene.overview
    seen: list[tuple[str, bool, int]] = []
    real_pace = runs.slices.pace

    shares: list[float | None] = []

    def pace(share: float | None) -> None:
        real_pace(share)
        shares.append(share)
        seen.append(("pace", runs.slices.paced, overview.repaint_min_ms))

    monkeypatch.setattr(runs.slices, "pace", pace)
    real_catch_up = runs._catch_up

    async def catch_up(session: RunSession) -> None:
        seen.append(("catch up", runs.slices.paced, overview.repaint_min_ms))
        await real_catch_up(session)

    monkeypatch.setattr(runs, "_catch_up", catch_up)
    real_settled = runs._records_settled

    async def records_settled(runner: Any) -> None:
        await real_settled(runner)
        recorder = runner.state.recorder
        assert recorder._last_task is not None and recorder._last_task.done()  # the index rows are written
        seen.append(("records settled", runs.slices.paced, overview.repaint_min_ms))

    monkeypatch.setattr(runs, "_records_settled", records_settled)
    session = runs.start_run()
    assert session is not None
    helpers.pump(qloop, lambda: session.run_task is not None or session.finished)
    assert session.finished or (runs.slices.paced and overview.repaint_min_ms == canvas_status.LIVE_REPAINT_MS)
    helpers.pump(qloop, lambda: session.finished)
    assert session.status == "completed"
    assert seen[0] == ("pace", True, overview_module.REPAINT_MIN_MS)  # the overlay follows right after
    assert seen[1:] == [
        ("pace", True, canvas_status.LIVE_REPAINT_MS),  # SETTLE_VIEW_SHARE: the views all but wait
        ("records settled", True, canvas_status.LIVE_REPAINT_MS),
        ("pace", False, canvas_status.LIVE_REPAINT_MS),
        ("catch up", False, overview_module.REPAINT_MIN_MS),
    ], "the run's index rows are waited for (views all but paused), then the views are un-paced and catch up"
    assert shares == [controller.RUN_VIEW_SHARE, controller.SETTLE_VIEW_SHARE, None]
    assert not session.pending and runs.overlay.pending == 0 and not runs.context.busy


def test_a_locked_index_does_not_keep_a_studio_run_unfinished(
    opened: tuple[MainWindow, Any, Any, Path], qloop: qasync.QEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index rows are written after the run returns; if that takes long (another process holds
    the index), the run still finishes after RECORDS_WAIT_S and the rows follow when they can."""
    from dad_studio.runs import RunIndex

    win, *_ = opened
    gate = threading.Event()
    written: list[str] = []
    original = RunIndex.record_summary

    def held(self: RunIndex, manifest: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        assert gate.wait(30)
        original(self, manifest, *args, **kwargs)
        written.append(manifest["run_id"])

    monkeypatch.setattr(RunIndex, "record_summary", held)
    monkeypatch.setattr(controller, "RECORDS_WAIT_S", 0.2)
    session = win.runs.start_run()
    assert session is not None
    try:
        helpers.pump(qloop, lambda: session.finished)
        assert session.status == "completed" and session.run_id not in written  # finished while held
    finally:
        gate.set()
    helpers.pump(qloop, lambda: session.run_id in written)
    with RunIndex(session.run_dir.parent) as index:
        assert session.run_id in [m["run_id"] for m in index.list(refresh=False)]


# -- the far-zoom overview ------------------------------------------------------------------------------


def test_overview_repaints_at_most_every_repaint_min_ms(opened: tuple[MainWindow, Any, Any, Path]) -> None:
    win, *_ = opened
    view = win.canvas.view
    view.scale(0.1 / view.transform().m11(), 0.1 / view.transform().m11())
    view.zoom_changed.emit()
    overview = win.canvas.scene.overview
    assert overview.active
    image = QtGui.QImage(200, 200, QtGui.QImage.Format.Format_ARGB32)
    painter = QtGui.QPainter(image)
    overview.paint(painter)  # a paint just now
    painter.end()
    requests: list[int] = []
    win.canvas.scene.changed.connect(lambda _rects: requests.append(1))
    item = win.canvas.scene.nodes["n003"]
    item.set_run_state("running")
    assert overview._repaint_timer.isActive(), "too soon after the last paint: the repaint waits"
    assert 0 < overview._repaint_timer.interval() <= overview_module.REPAINT_MIN_MS
    item.set_run_state("completed")  # a second change while it waits: still one repaint
    assert overview._repaint_timer.isActive()
    overview._last_paint = 0.0
    overview._repaint_asked = False
    item.set_run_state("failed")  # long after the last paint: now
    assert overview._repaint_asked
    overview.stop()
    assert not overview._repaint_timer.isActive()


def test_far_out_run_states_do_not_update_items(
    opened: tuple[MainWindow, Any, Any, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    win, *_ = opened
    view = win.canvas.view
    scene = win.canvas.scene
    node, edge = scene.nodes["n004"], next(iter(scene.edges.values()))
    updates: list[str] = []
    monkeypatch.setattr(node, "update", lambda *a: updates.append("node"))
    monkeypatch.setattr(edge, "update", lambda *a: updates.append("edge"))
    node.set_run_state("running", "1 ms")
    edge.set_run_state("taken")
    assert updates == ["node", "edge"], "near: the items paint themselves"
    updates.clear()
    view.scale(0.1 / view.transform().m11(), 0.1 / view.transform().m11())
    view.zoom_changed.emit()
    assert scene.overview.active
    node.set_run_state("completed", "2 ms")
    edge.set_run_state("dead")
    assert updates == [], "far: the overview paints them"
    assert node in scene.overview._dirty_nodes and edge in scene.overview._dirty_edges


# -- the RunState made while idle ------------------------------------------------------------------------


def test_run_state_prepared_with_the_snapshot(window: MainWindow, tmp_path: Path) -> None:
    assert window.open_file(helpers.chain_flow(tmp_path))
    doc = window.doc
    cache = SnapshotCache()
    assert not cache.prepare_state(doc), "no snapshot yet"
    assert cache.prepare(doc)
    assert cache.prepare_state(doc)
    assert not cache.prepare_state(doc), "made once"
    component = cache.take(doc)
    state = cache.take_state(component)
    assert isinstance(state, RunState) and state.flow is component and state.root_id == "chain"
    assert set(state.nodes) == set(RunState(component, root_id="chain").nodes)
    again = cache.take_state(component)
    assert again is not state, "given out once"
    other = cache.take(doc)
    assert cache.take_state(other).flow is other


def test_prepare_next_makes_one_piece_at_a_time(
    window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = helpers.chain_flow(tmp_path)
    assert window.open_file(path)
    doc = window.doc
    cache = SnapshotCache()
    calls: list[int] = []
    real = snapshot.code_uses

    def counted(*args: Any) -> list[str]:
        calls.append(1)
        return list(real(*args))

    monkeypatch.setattr(snapshot, "code_uses", counted)
    steps = []
    while cache.prepare_next(doc, window.registry, path):
        steps.append((cache._component is not None, cache._state is not None, cache._uses is not None))
    assert steps == [(True, False, False), (True, True, False), (True, True, True)]
    assert not cache.prepare_next(doc, window.registry, path), "everything ready: nothing made"
    component = cache.take(doc)
    assert cache.code_uses(doc, component, window.registry, path) == []
    assert len(calls) == 1, "the scan at Run is the one made while idle"
    assert cache.take_state(component).flow is component


def test_gc_policy_ends_a_while_after_the_last_run(
    opened: tuple[MainWindow, Any, Any, Path], qloop: qasync.QEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    win, *_ = opened
    before = gc.get_threshold()
    monkeypatch.setattr(controller, "GC_RESTORE_MS", 300)
    session = win.runs.start_run()
    assert session is not None
    helpers.pump(qloop, lambda: session.finished)
    assert gc.get_freeze_count() > 0, "no full pass right at the end of the run"
    assert win.runs.gc_policy.active == 1
    helpers.pump(qloop, lambda: win.runs.gc_policy.active == 0)
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


def test_window_closing_while_a_run_catches_up_finishes_it_at_once(
    opened: tuple[MainWindow, Any, Any, Path], qloop: qasync.QEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    win, *_ = opened
    runs = win.runs
    monkeypatch.setattr(controller, "CATCH_UP_LIMIT_S", 600.0)  # a wait for dropped slices would hang
    monkeypatch.setattr(controller, "FOLD_SLICE_MS", 0.0)
    original = runs._catch_up
    seen: list[int] = []

    async def close_then_catch_up(session: RunSession) -> None:
        seen.append(len(session.pending) + len(runs._folded))
        runs.shutdown()  # the window closes just as the stream ended: the slice queue is dropped
        await original(session)

    monkeypatch.setattr(runs, "_catch_up", close_then_catch_up)
    session = runs.start_run()
    assert session is not None
    helpers.pump(qloop, lambda: session.finished)
    assert seen, "the catch-up was reached"
    assert not session.pending and not runs._folded, "_finished folded the rest at once"
    assert runs.slices.pending == 0
