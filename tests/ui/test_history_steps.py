"""Run viewer: a step updates only what changed, and that equals rebuilding every view at that step.

The viewer moves step by step through `ReplaySession.go_to`, which returns the paths the crossed
events touched (or None: rebuild); the canvas overlay and the panels then touch only those. Any
sequence of steps and jumps must leave the canvas, the context tree (and its "in scope" list) and
the outcome panel exactly as a full rebuild at the same step would draw them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6 import QtWidgets

from dad_studio.fileformat import dumps_flow
from dad_studio.model import FlowDefinition
from dad_studio.runs import RunWriter
from dad_studio.runs.testing import EventLog
from dad_studio.ui.history.viewer import RunViewer

GROUPS = 3
PER_GROUP = 4


def grouped_flow() -> FlowDefinition:
    flow = FlowDefinition(id="big")
    for g in range(GROUPS):
        body = FlowDefinition()
        for n in range(PER_GROUP):
            body.node(f"n{n}", type="noop")
        flow.subflow(f"g{g}", body)
    return flow


def write_grouped_run(run_dir: Path) -> int:
    """Subflows run one after another; streamed output, a retry and a failure on the way."""
    writer = RunWriter(run_dir)
    writer.open({"root_component_id": "big"}, dumps_flow(grouped_flow()))
    log = EventLog(writer)
    log.emit("run_started", "big", run_id=run_dir.name, root_component_id="big", previous_run_id=None,
             start_hierarchy_path=None, variables={})  # fmt: skip
    log.emit("component_started", "big", kind="flow", status="running")
    for g in range(GROUPS):
        sub = f"big.g{g}"
        log.emit("node_started", sub, node_type="subflow", attempt=1)
        log.emit("component_started", sub, kind="flow", status="running")
        for n in range(PER_GROUP):
            path = f"{sub}.n{n}"
            log.emit("node_started", path, node_type="noop", attempt=1)
            log.emit("node_output_delta", path, text=f"tok{n} ")
            if n == 1:
                log.emit("node_started", path, node_type="noop", attempt=2)
            status = "failed" if (g, n) == (1, 2) else "completed"
            log.emit("node_completed", path, node_type="noop", status=status, input={"n": n}, output=None,
                     outcome={"value": f"v{g}{n}"}, error={"message": "x"} if status == "failed" else None,
                     usage={"total_tokens": 3, "cost": 0.001}, started_at=None, ended_at=None,
                     duration_ms=0.5 + n)  # fmt: skip
        log.emit("component_completed", sub, kind="flow", status="completed")
        log.emit("node_completed", sub, node_type="subflow", status="completed", input=None, output=None,
                 outcome={}, error=None, usage=None, started_at=None, ended_at=None, duration_ms=1.0)  # fmt: skip
    log.emit("run_completed", "big", status="failed", counts={}, usage={}, duration_ms=9.0)
    writer.close(status="failed")
    return log.seq


def picture(viewer: RunViewer) -> dict[str, Any]:
    """Everything a step changes: canvas items and edges, context rows, the outcome shown."""
    scene = viewer.canvas.scene
    return {
        "nodes": {k: (i.run_status, i.run_text, i.run_tail) for k, i in scene.nodes.items()},
        "edges": sorted((e.edge.source, e.edge.target, e.run_state) for e in scene.edges.values()),
        "context": viewer.context.rows(),
        "scope": scope_rows(viewer),
        "outcome": viewer.outcomes.current_record(),
    }


def scope_rows(viewer: RunViewer) -> list[tuple[str, str]]:
    """The context panel's "in scope" list (variables, then the results of the component's elements)."""
    rows = []
    iterator = QtWidgets.QTreeWidgetItemIterator(viewer.context.scope)
    while (item := iterator.value()) is not None:
        rows.append((item.text(0), item.text(1)))
        iterator += 1
    return rows


def rebuilt(viewer: RunViewer) -> dict[str, Any]:
    """The same after rebuilding every view from the session's state at this step."""
    session = viewer.session
    assert session is not None
    viewer.overlay.refresh_all()
    viewer.context.rebuild()
    viewer.outcomes.rebuild()
    return picture(viewer)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("history_steps") / "run_grouped"
    return path, write_grouped_run(path)


@pytest.fixture
def viewer(qtbot, qloop, run_dir: tuple[Path, int]):  # type: ignore[no-untyped-def]
    v = RunViewer()
    qtbot.addWidget(v)
    v.show()
    v.open_run(run_dir[0])
    yield v
    v.shutdown()
    v.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(st.one_of(st.sampled_from([1, 1, 1, -1, -1]), st.integers(-80, 80)), min_size=1, max_size=30),
       inside=st.sampled_from([None, "g0.n1", "g1.n2", "g2.n3"]))  # fmt: skip
def test_incremental_steps_equal_a_full_rebuild(viewer: RunViewer, run_dir: tuple[Path, int], moves: list[int],
                                                inside: str | None) -> None:  # fmt: skip
    n = run_dir[1]
    viewer.go_to(n)
    if inside is None:
        viewer.canvas.open_path(())
    else:
        viewer.select_node(inside)
        viewer.outcomes.show_path(f"big.{inside}")
    for move in moves:
        viewer.go_to(max(0, min(n, viewer.step + move)))
        step = picture(viewer)
        full = rebuilt(viewer)
        # The context tree is lazy: a rebuild makes the rows of a subflow body only once it is opened,
        # while steps have made the rows they touched. Every row of the rebuilt tree must be there,
        # with the same text; rows made by steps that a rebuild leaves for later are not compared.
        assert set(full["context"]) <= set(step["context"]), f"at step {viewer.step} after moves {moves}"
        step["context"] = {key: text for key, text in step["context"].items() if key in full["context"]}
        diff = {key: (step[key], full[key]) for key in step if step[key] != full[key]}
        assert not diff, f"at step {viewer.step} after moves {moves}: {diff}"


def test_a_step_touches_only_the_changed_items(viewer: RunViewer, run_dir: tuple[Path, int]) -> None:
    """Stepping over one node event repaints that node's item and its outgoing edges, nothing else."""
    viewer.select_node("g1.n0")
    session = viewer.session
    assert session is not None
    k = next(i for i, e in enumerate(session.replay.events, 1) if e["path"] == "big.g1.n2")
    viewer.go_to(k - 1)
    touched: list[str] = []
    for node_id, item in viewer.canvas.scene.nodes.items():
        original = item.set_run_state

        def spy(*args: Any, _id: str = node_id, _orig: Any = original, **kw: Any) -> None:
            touched.append(_id)
            _orig(*args, **kw)

        item.set_run_state = spy  # type: ignore[method-assign]
    viewer.go_to(k)
    assert touched == ["n2"]
    assert viewer.canvas.scene.nodes["n2"].run_status == "running"
