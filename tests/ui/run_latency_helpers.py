"""Helpers of the run latency tests (test_run_latency_slicing, _round2, _round3): an 80-node chain
flow with a loop in the middle, a headless run of it, sessions fed with its events, the canvas state,
and an event-loop pump. Importable because tests/ui/conftest.py puts this folder on sys.path."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import qasync

from dad_studio.engine import FlowRunner, RunContext
from dad_studio.fileformat import load_flow
from dad_studio.ui.main_window import MainWindow
from dad_studio.ui.run.session import RunSession

N = 80


def chain_flow(folder: Path) -> Path:
    """N noop nodes in a line with a for_each in the middle (loop contexts in the tree)."""
    nodes: dict[str, Any] = {f"n{i:03d}": {"type": "noop"} for i in range(N)}
    nodes["n040"] = {
        "type": "for_each",
        "settings": {
            "statement": "$expr{[1, 2, 3]}",
            "item_var": "item",
            "max_iterations": 5,
            "body": {"kind": "flow", "nodes": {"each": {"type": "noop", "settings": {"value": "$var{item}"}}}},
        },
    }
    layout = {node_id: [(i % 10) * 240, (i // 10) * 140] for i, node_id in enumerate(nodes)}
    edges = [{"from": f"n{i:03d}", "to": f"n{i + 1:03d}"} for i in range(N - 1)]
    root = {"id": "chain", "kind": "flow", "nodes": nodes, "edges": edges, "layout": layout}
    path = folder / "proj" / "flows" / "chain.dad.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"format": "dad-flow", "schema_version": 1, "root": root}), encoding="utf-8")
    return path


def run_events(loop: qasync.QEventLoop, flow_path: Path) -> tuple[Any, list[dict[str, Any]], Path]:
    """(component, every event of a headless run, run folder)."""
    component = load_flow(flow_path).component
    assert component is not None
    rc = RunContext(
        root_component_id="chain",
        project_root=flow_path.parent.parent,
        run_root=flow_path.parent.parent / "runs",
        flow_path=flow_path,
    )
    rc.setup_run()
    runner = FlowRunner(component, rc)
    events: list[dict[str, Any]] = []

    async def collect() -> None:
        async with runner.iter() as run:
            async for event in run:
                events.append(event if isinstance(event, dict) else event.model_dump(mode="json"))

    loop.run_until_complete(collect())
    loop.run_until_complete(runner.aclosed())  # its index rows follow the return: not into the test
    assert rc.run_dir is not None and rc.run_id is not None
    return component, events, rc.run_dir


def new_session(win: MainWindow, component: Any, run_dir: Path, events: list[dict[str, Any]]) -> RunSession:
    session = RunSession(1, component, "chain", run_dir.name, run_dir, document=win.doc)
    session.pending = list(events)
    session.apply_pending()
    return session


def canvas_state(win: MainWindow) -> tuple[dict[str, tuple[Any, ...]], dict[tuple[str, str], Any]]:
    scene = win.canvas.scene
    nodes = {k: (i.run_status, i.run_text, i.run_tail) for k, i in scene.nodes.items()}
    edges = {(e.edge.source, e.edge.target): e.run_state for e in scene.edges.values()}
    return nodes, edges


def pump(loop: qasync.QEventLoop, done: Any, limit_s: float = 10.0) -> None:
    """Let the event loop run (timers included) until `done()`."""

    async def wait() -> None:
        deadline = time.monotonic() + limit_s
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError("the sliced work never ended")
            await asyncio.sleep(0.005)

    loop.run_until_complete(wait())
