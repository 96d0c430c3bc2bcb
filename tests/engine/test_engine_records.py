"""Run folders written through dad_studio.runs, continuation, resume and IsolatedExecution."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from engine_testnodes import make_registry

from dad_studio.engine import ContinuationError, FlowRunner, IsolatedExecution, RunContext, Status
from dad_studio.fileformat import loads_flow
from dad_studio.model import FlowDefinition
from dad_studio.runs import RunIndex, read_run


def _rc(tmp_path: Path, **kw: Any) -> RunContext:
    rc = RunContext(root_component_id="f", project_root=tmp_path, observability_settings={"enabled": False}, **kw)
    rc.setup_run(run_id_prefix="t")
    return rc


async def _run(flow: FlowDefinition, rc: RunContext):
    runner = FlowRunner(flow, rc, node_types=make_registry())
    async with IsolatedExecution(rc) as execution:
        return await execution.run(runner)


def _chain(*names: str, fail: str | None = None) -> FlowDefinition:
    flow = FlowDefinition(id="f")
    for n in names:
        flow.node(n, type="sleep", settings={"seconds": 0, "fail": n == fail})
    return flow


def _started(run_dir: Path) -> list[str]:
    return [e["path"] for e in read_run(run_dir).events if e["type"] == "node_started"]


async def test_records_read_back_and_are_indexed(tmp_path: Path) -> None:
    flow = FlowDefinition(id="f", variables={"who": "x"})
    flow.node("a", type="artifact", settings={"text": "made by $var{element_hier_path}"})
    flow.node("b", type="noop")
    cwd = os.getcwd()
    rc = _rc(tmp_path)
    result = await _run(flow, rc)
    assert os.getcwd() == cwd and "DAD_TEST_LEAK" not in os.environ  # IsolatedExecution put them back
    assert result.run_dir == tmp_path / "runs" / result.run_id
    assert result.run_id.startswith("t_run_")
    record = read_run(result.run_dir)
    assert record.status == "completed"
    assert record.manifest["root_component_id"] == "f" and record.manifest["variables"] == {"who": "x"}
    assert [e["seq"] for e in record.events] == list(range(1, len(record.events) + 1))
    assert set(record.results) == {"f.a", "f.b"}
    art = next(e for e in record.events if e["type"] == "artifact_written")
    assert art["artifact"] == "f/a/out/result.txt" and art["media_type"] == "text/plain"
    assert (result.run_dir / "artifacts/f/a/out/result.txt").read_text() == "made by f.a"
    snapshot = loads_flow((result.run_dir / "flow.dad.json").read_bytes(), registry=make_registry())
    assert not snapshot.errors and snapshot.component == flow  # the exact definition that ran
    with RunIndex(tmp_path / "runs") as index:
        assert [m["run_id"] for m in index.list()] == [result.run_id]


async def test_continuation_reruns_start_and_downstream_only(tmp_path: Path) -> None:
    flow = FlowDefinition(id="f")
    flow.node("a", type="artifact")
    flow.node("b", type="noop")
    flow.node("c", type="noop")
    flow.node("side", type="noop")
    flow.connect("a", "b")
    flow.connect("b", "c")
    flow.connect("a", "side")
    first = await _run(flow, _rc(tmp_path))
    rc = _rc(tmp_path, previous_run_id=first.run_id, start_hierarchy_path="f.b")
    second = await _run(flow, rc)
    assert second.run_id.startswith("t_rerun_")
    assert sorted(_started(second.run_dir)) == ["f.b", "f.c"]
    record = read_run(second.run_dir)
    loaded = {e["path"]: e for e in record.events if e["type"] == "node_loaded"}
    assert set(loaded) == {"f.a", "f.side"}
    assert loaded["f.a"]["outcome"] == read_run(first.run_dir).results["f.a"]["outcome"]
    assert (second.run_dir / "artifacts/f/a/out/result.txt").is_file()
    assert record.manifest["previous_run_id"] == first.run_id
    assert second.status is Status.COMPLETED and len(second.nodes) == 4


async def test_continuation_inside_subflow(tmp_path: Path) -> None:
    inner = FlowDefinition()
    for n in ("x", "y", "z"):
        inner.node(n, type="noop")
    flow = FlowDefinition(id="f")
    flow.node("before", type="noop")
    flow.subflow("sub", inner)
    flow.node("after", type="noop")
    first = await _run(flow, _rc(tmp_path))
    second = await _run(flow, _rc(tmp_path, previous_run_id=first.run_id, start_hierarchy_path="sub.y"))
    assert _started(second.run_dir) == ["f.sub", "f.sub.y", "f.sub.z", "f.after"]
    assert second.nodes["f.sub.x"] == "completed" and second.nodes["f.before"] == "completed"


async def test_bad_continuation_is_refused_before_anything_runs(tmp_path: Path) -> None:
    flow = _chain("a", "b")
    first = await _run(flow, _rc(tmp_path))
    with pytest.raises(ContinuationError, match="not found"):
        await _run(flow, _rc(tmp_path, previous_run_id="run_nope", start_hierarchy_path="f.a"))
    rc = _rc(tmp_path, previous_run_id=first.run_id, start_hierarchy_path="f.zzz")
    with pytest.raises(ContinuationError, match="names no element"):
        await _run(flow, rc)
    assert rc.run_dir is not None and not rc.run_dir.exists()


async def test_resume_loads_completed_and_runs_the_rest(tmp_path: Path) -> None:
    first = await _run(_chain("a", "b", "c", fail="b"), _rc(tmp_path))
    assert first.status is Status.FAILED
    second = await _run(_chain("a", "b", "c"), _rc(tmp_path, resume=first.run_id))
    assert _started(second.run_dir) == ["f.b", "f.c"]
    assert second.status is Status.COMPLETED
    assert read_run(second.run_dir).manifest["previous_run_id"] == first.run_id


async def test_cancelled_run_records_cancelled(tmp_path: Path) -> None:
    flow = FlowDefinition(id="f")
    flow.node("z", type="sleep", settings={"seconds": 10})
    rc = _rc(tmp_path)
    task = asyncio.create_task(_run(flow, rc))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert rc.run_dir is not None
    record = read_run(rc.run_dir)
    assert record.status == "cancelled"
    assert record.events[-1]["type"] == "run_completed"


async def test_overlapping_isolated_blocks_do_not_undo_each_other(tmp_path: Path) -> None:
    """Run A's block ends while run B's is open: B's change (an env var, the cwd) stays until B ends,
    then the process is as it was before A started."""
    cwd = os.getcwd()
    assert "DAD_TEST_LEAK" not in os.environ
    flow_a = _chain("a")
    flow_a.nodes["a"].settings["seconds"] = 0.15
    flow_b = FlowDefinition(id="f")
    flow_b.node("change", type="artifact")  # sets DAD_TEST_LEAK and chdirs into its run folder
    flow_b.node("wait", type="sleep", settings={"seconds": 0.6})

    async def run_a() -> None:
        await _run(flow_a, _rc(tmp_path / "a"))

    async def run_b() -> Any:
        await asyncio.sleep(0.02)  # A's block is open first: its snapshot is the one restored
        return await _run(flow_b, _rc(tmp_path / "b"))

    task_b = asyncio.create_task(run_b())
    await run_a()
    assert not task_b.done()
    assert os.environ.get("DAD_TEST_LEAK") == "1", "A's end undid the change of B, still running"
    assert os.getcwd() != cwd
    result_b = await task_b
    assert result_b.status is Status.COMPLETED
    assert "DAD_TEST_LEAK" not in os.environ and os.getcwd() == cwd
