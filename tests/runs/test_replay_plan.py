"""plan_rerun / plan_resume: what a continuation executes and loads, and that the engine agrees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dad_studio.engine import ContinuationError, FlowRunner, RunContext
from dad_studio.model import FlowDefinition
from dad_studio.runs.plan import RerunPlanError, plan_rerun, plan_resume
from dad_studio.runs.replay import Replay


def chain(ids: str, root: str = "f") -> FlowDefinition:
    flow = FlowDefinition(id=root)
    for nid in ids:
        flow.node(nid, type="noop")
    return flow  # never connected: runs in order (a -> b -> c ...)


def done(*paths: str, status: str = "completed") -> dict[str, str]:
    return dict.fromkeys(paths, status)


def test_chain() -> None:
    flow = chain("abcd")
    plan = plan_rerun(flow, "f.b", done("f.a", "f.b", "f.c", "f.d"))
    assert plan.execute == {"f.b", "f.c", "f.d"} and plan.load == {"f.a"}
    assert plan_rerun(flow, "c", done("f.a", "f.b", "f.c", "f.d")).start_path == "f.c"  # relative path
    assert plan.action("f.a") == "load" and plan.action("f.c") == "execute" and plan.action("f.zz") is None


def test_diamond_and_side_branch() -> None:
    flow = FlowDefinition(id="f")
    for nid in "abcdex":
        flow.node(nid, type="noop")
    for src, dst in ("ab", "ac", "bd", "cd", "de"):
        flow.connect(src, dst)
    previous = done(*(f"f.{n}" for n in "abcdex"))
    plan = plan_rerun(flow, "f.b", previous)
    assert plan.execute == {"f.b", "f.d", "f.e"}
    assert plan.load == {"f.a", "f.c", "f.x"}


def test_error_edges_and_unloadable_elements() -> None:
    flow = FlowDefinition(id="f")
    for nid in ("a", "ok", "handler", "other"):
        flow.node(nid, type="noop")
    flow.connect("a", "ok")
    flow.connect("a", "handler", on_error=True)
    previous = {"f.a": "failed", "f.ok": "skipped", "f.handler": "completed", "f.other": "completed"}
    plan = plan_rerun(flow, "f.a", previous)
    assert plan.execute == {"f.a", "f.ok", "f.handler"}  # downstream by any edge, error edges included
    assert plan.load == {"f.other"}
    # From an unrelated element, a failed or skipped one cannot be loaded: it is decided anew.
    plan = plan_rerun(flow, "f.other", previous)
    assert plan.execute == {"f.other", "f.a", "f.ok"} and plan.load == {"f.handler"}
    assert plan_resume(flow, previous).load == {"f.handler", "f.other"}


def nested_flow() -> FlowDefinition:
    inner = FlowDefinition()
    for nid in ("x", "y", "z"):
        inner.node(nid, type="noop")
    body = FlowDefinition()
    body.node("s1", type="noop")
    body.node("s2", type="noop")
    flow = FlowDefinition(id="f", variables={"items": [1, 2, 3]})
    flow.node("pre", type="noop")
    flow.subflow("sub", inner)
    flow.for_each("loop", "$expr{items}", body, max_iterations=5)
    flow.node("post", type="noop")
    flow.node("side", type="noop")
    flow.connect("pre", "sub")
    flow.connect("sub", "loop")
    flow.connect("loop", "post")
    return flow


NESTED_DONE = done(
    "f.pre", "f.sub", "f.sub.x", "f.sub.y", "f.sub.z", "f.loop", "f.post", "f.side",
    *(f"f.loop.iter_{i}.{s}" for i in range(3) for s in ("s1", "s2")),
)  # fmt: skip


def test_nested_subflow_path() -> None:
    plan = plan_rerun(nested_flow(), "f.sub.y", NESTED_DONE)
    loop = {f"f.loop.iter_{i}.{s}" for i in range(3) for s in ("s1", "s2")}
    assert plan.execute == {"f.sub", "f.sub.y", "f.sub.z", "f.loop", "f.post"} | loop
    assert plan.load == {"f.pre", "f.sub.x", "f.side"}


def test_loop_iteration_path() -> None:
    plan = plan_rerun(nested_flow(), "f.loop.iter_1.s2", NESTED_DONE)
    assert plan.execute == {"f.loop", "f.loop.iter_1.s2", "f.post"}
    assert "f.loop.iter_1.s1" in plan.load and "f.loop.iter_0.s2" in plan.load and "f.sub.y" in plan.load


def test_loop_body_path_means_every_iteration() -> None:
    plan = plan_rerun(nested_flow(), "f.loop.s2", NESTED_DONE)
    assert plan.execute == {"f.loop", "f.post"} | {f"f.loop.iter_{i}.s2" for i in range(3)}


def test_loaded_container_brings_its_inside() -> None:
    previous = {**NESTED_DONE, "f.sub.z": "skipped"}
    plan = plan_rerun(nested_flow(), "f.post", previous)
    assert plan.execute == {"f.post"}
    assert {"f.sub", "f.sub.x", "f.sub.y", "f.loop.iter_2.s1"} <= plan.load
    assert plan.action("f.sub.z") is None  # inside a loaded subflow and not completed: not in the new run


def test_loop_without_known_iterations_marks_the_body() -> None:
    plan = plan_rerun(nested_flow(), "f.sub", done("f.pre"))
    assert {"f.loop.s1", "f.loop.s2", "f.loop"} <= plan.execute


@pytest.mark.parametrize(
    "path", ["f.nope", "nope", "f.sub.nope", "f.loop.iter_1", "f", "", "f.pre.deeper", "other.pre"]
)
def test_invalid_start_path(path: str) -> None:
    with pytest.raises(RerunPlanError, match="elements of f: pre, sub, loop, post, side"):
        plan_rerun(nested_flow(), path, NESTED_DONE)


# -- against the engine ------------------------------------------------------------------------


async def _run(flow: FlowDefinition, root: Path, **kwargs: Any) -> Path:
    rc = RunContext(root_component_id="f", project_root=root, run_root=root / "runs", **kwargs)
    rc.setup_run()
    result = await FlowRunner(flow, rc).run()
    assert result.status.value == "completed"
    assert rc.run_dir is not None
    return rc.run_dir


async def _check_against_engine(tmp_path: Path, start: str) -> None:
    flow = nested_flow()
    first = await _run(flow, tmp_path)
    replay = Replay(first)
    previous = {p: v.status for p, v in replay.state_at(len(replay)).nodes.items()}
    plan = plan_rerun(flow, start, previous)
    second = await _run(flow, tmp_path, previous_run_id=first.name, start_hierarchy_path=start)
    events = Replay(second).events
    started = {e["path"] for e in events if e["type"] == "node_started"}
    loaded = {e["path"] for e in events if e["type"] == "node_loaded"}
    assert started == plan.execute
    assert loaded == plan.load


@pytest.mark.parametrize("start", ["f.pre", "f.sub.y", "f.loop.iter_1.s2", "f.post", "f.side"])
async def test_plan_matches_engine(tmp_path: Path, start: str) -> None:
    await _check_against_engine(tmp_path, start)


async def test_plan_matches_engine_for_loop_body_path(tmp_path: Path) -> None:
    await _check_against_engine(tmp_path, "f.loop.s2")


async def test_engine_refuses_what_plan_refuses(tmp_path: Path) -> None:
    flow = nested_flow()
    first = await _run(flow, tmp_path)
    with pytest.raises(RerunPlanError):
        plan_rerun(flow, "f.nope", {})
    with pytest.raises(ContinuationError):
        await _run(flow, tmp_path, previous_run_id=first.name, start_hierarchy_path="f.nope")
