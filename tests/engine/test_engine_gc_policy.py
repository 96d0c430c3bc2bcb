"""The engine keeps full garbage collections out of runs (engine.gc_policy) and restores the collector.

The collector is process-wide: these tests check what a run leaves behind (thresholds and the frozen
set exactly as before), that concurrent runs count together, and that `tune_gc=False` leaves it alone.
"""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

import pytest

from dad_studio.engine import FlowRunner, RunContext
from dad_studio.engine.gc_policy import RUN_GEN2_THRESHOLD, RunGcPolicy, process_policy
from dad_studio.model import FlowDefinition


def _runner(tmp_path: Path, seen: list[tuple[int, tuple[int, int, int]]], **kw: Any) -> FlowRunner:
    flow = FlowDefinition(id="g")
    flow.node("a", type="noop")
    flow.node("b", type="sleep", settings={"seconds": 0.02})
    rc = RunContext(root_component_id="g", project_root=tmp_path, records=False, **kw)
    rc.register_event_handler("node_completed", lambda _e: seen.append((gc.get_freeze_count(), gc.get_threshold())))
    return FlowRunner(flow, rc)


async def test_a_run_freezes_and_raises_gen2_then_restores(tmp_path: Path) -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    seen: list[tuple[int, tuple[int, int, int]]] = []
    result = await _runner(tmp_path, seen).run()
    assert result.status.value == "completed"
    assert seen and all(frozen > 0 and thresholds[2] >= RUN_GEN2_THRESHOLD for frozen, thresholds in seen)
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
    assert process_policy().active == 0


async def test_concurrent_runs_count_together(tmp_path: Path) -> None:
    before = gc.get_threshold()
    seen: list[tuple[int, tuple[int, int, int]]] = []
    fast = _runner(tmp_path / "a", seen)
    slow_flow = FlowDefinition(id="s")
    slow_flow.node("wait", type="sleep", settings={"seconds": 0.2})
    slow = FlowRunner(slow_flow, RunContext(root_component_id="s", project_root=tmp_path / "b", records=False))
    slow_task = asyncio.create_task(slow.run())
    await asyncio.sleep(0.01)
    await fast.run()
    assert gc.get_freeze_count() > 0, "the slow run still goes on: the collector stays tuned"
    assert process_policy().active == 1
    await slow_task
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


async def test_tune_gc_false_leaves_the_collector_alone(tmp_path: Path) -> None:
    before = gc.get_threshold()
    seen: list[tuple[int, tuple[int, int, int]]] = []
    await _runner(tmp_path, seen, tune_gc=False).run()
    assert seen and all(frozen == 0 and thresholds == before for frozen, thresholds in seen)


async def test_a_failing_or_cancelled_run_restores_too(tmp_path: Path) -> None:
    before = gc.get_threshold()
    flow = FlowDefinition(id="c")
    flow.node("wait", type="sleep", settings={"seconds": 5})
    task = asyncio.create_task(
        FlowRunner(flow, RunContext(root_component_id="c", project_root=tmp_path, records=False)).run()
    )
    await asyncio.sleep(0.05)
    assert gc.get_freeze_count() > 0
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_policy_restore_and_extra_ends() -> None:
    before = gc.get_threshold()
    policy = RunGcPolicy()
    policy.run_started()
    policy.run_started()
    policy.restore()
    assert policy.active == 0 and gc.get_freeze_count() == 0 and gc.get_threshold() == before
    policy.run_ended()  # more ends than starts change nothing
    assert gc.get_threshold() == before
