"""Shared by the history tests: write a flow file and run it through the real engine."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from dad_studio.engine import FlowRunner, RunContext
from dad_studio.fileformat import dumps_flow
from dad_studio.model import FlowDefinition
from dad_studio.runs import read_run


def chain_flow(fail: bool = False, seconds: float = 0.0) -> FlowDefinition:
    """a -> b -> c (-> d), noop nodes with values; with fail, c fails and d handles the error."""
    flow = FlowDefinition(id="chain")
    flow.node("a", type="noop", settings={"value": "alpha"})
    flow.node("b", type="noop", settings={"value": "beta"})
    if seconds or fail:
        flow.node("c", type="sleep", settings={"seconds": seconds, "fail": fail})
    else:
        flow.node("c", type="noop", settings={"value": "gamma"})
    flow.node("d", type="noop", settings={"value": "delta"})
    flow.connect("a", "b")
    flow.connect("b", "c")
    flow.connect("c", "d", always=True)
    flow.layout.update({"a": (0, 0), "b": (260, 0), "c": (520, 0), "d": (780, 0)})
    return flow


def write_flow(path: Path, flow: FlowDefinition) -> Path:
    path.write_bytes(dumps_flow(flow))
    return path


async def run_flow(flow: FlowDefinition, flow_path: Path, run_root: Path, **kw: Any) -> Path:
    rc = RunContext(
        root_component_id=flow.id or "root",
        project_root=flow_path.parent,
        run_root=run_root,
        trusted=True,
        flow_path=flow_path,
        **kw,
    )
    rc.setup_run()
    runner = FlowRunner(flow, rc)
    async with runner.iter() as run:
        async for _ in run:
            pass
    assert rc.run_dir is not None
    return rc.run_dir


def make_run(loop: asyncio.AbstractEventLoop, flow: FlowDefinition, flow_path: Path, run_root: Path) -> Path:
    return loop.run_until_complete(run_flow(flow, flow_path, run_root))


def executed_and_loaded(run_dir: Path) -> tuple[set[str], set[str]]:
    """(paths with node_completed, paths with node_loaded) from the run's events."""
    events = read_run(run_dir).events
    done = {e["path"] for e in events if e["type"] == "node_completed"}
    loaded = {e["path"] for e in events if e["type"] == "node_loaded"}
    return done, loaded
