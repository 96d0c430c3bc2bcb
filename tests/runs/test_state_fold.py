"""RunState: each event type changes the right fields; a real engine run folds into the right picture."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dad_studio.engine import FlowRunner, RunContext
from dad_studio.model import FlowDefinition
from dad_studio.runs.state import RunState


def ev(seq: int, type_: str, path: str, **fields: Any) -> dict[str, Any]:
    return {"seq": seq, "ts": f"2025-01-01T00:00:{seq:02d}.000000Z", "type": type_, "path": path, **fields}


def demo_flow() -> FlowDefinition:
    """Fan-out, a failure caught by an error edge, a dead success edge, an input wait, a conditional,
    a loop with two iterations and a subflow."""
    body = FlowDefinition()
    body.node("step", type="noop", settings={"value": "$var{item}"})
    sub = FlowDefinition(variables={"greeting": "hi"})
    sub.node("inner", type="noop")
    sub.node("inner2", type="noop")
    flow = FlowDefinition(id="demo", variables={"items": ["a", "b"], "lang": "en"})
    flow.node("start", type="noop")
    flow.node("left", type="noop")
    flow.node("right", type="sleep", settings={"seconds": 0, "fail": True})
    flow.node("handler", type="noop")
    flow.node("never", type="noop")
    flow.node("ask", type="noop", pre_events=["node_input_required"])
    flow.conditional("cond", "$expr{true}")
    flow.node("yes", type="noop")
    flow.node("no", type="noop")
    flow.for_each("loop", "$expr{items}", body, max_iterations=5)
    flow.subflow("sub", sub, variables={"greeting": "hello"})
    flow.connect("start", "left")
    flow.connect("start", "right")
    flow.connect("right", "handler", on_error=True)
    flow.connect("right", "never")
    flow.connect("left", "ask")
    flow.connect("ask", "cond")
    flow.connect("cond", "yes", port="true")
    flow.connect("cond", "no", port="false")
    flow.connect("yes", "loop")
    flow.connect("loop", "sub")
    return flow


async def run_demo(tmp_path: Path) -> tuple[FlowDefinition, list[dict[str, Any]]]:
    flow = demo_flow()
    rc = RunContext(root_component_id="demo", project_root=tmp_path, run_root=tmp_path / "runs")
    rc.add_input("ask", {"topic": "x"})
    rc.setup_run()
    result = await FlowRunner(flow, rc).run()
    assert result.status.value == "completed"
    assert rc.run_dir is not None
    lines = (rc.run_dir / "events.jsonl").read_text().splitlines()
    return flow, [json.loads(line) for line in lines]


async def test_engine_run_statuses_and_tree(tmp_path: Path) -> None:
    flow, events = await run_demo(tmp_path)
    state = RunState(flow).apply_all(events)
    status = {p: v.status for p, v in state.nodes.items()}
    assert status["demo.right"] == "failed"
    assert status["demo.handler"] == "completed"
    assert status["demo.never"] == "skipped"
    assert status["demo.no"] == "skipped"
    assert status["demo.loop.iter_0.step"] == "completed"
    assert status["demo.loop.iter_1.step"] == "completed"
    assert status["demo.sub.inner2"] == "completed"
    assert state.status == "completed"
    assert state.failures == ["demo.right"]
    assert state.counts == {"completed": 12, "failed": 1, "skipped": 2}
    assert state.nodes["demo.ask"].input == {"topic": "x"}
    assert state.nodes["demo.ask"].input_source == "static"
    assert "right failed" in (state.nodes["demo.never"].skip_reason or "")
    assert state.nodes["demo.right"].error["message"].startswith("sleep node right failed")

    tree = state.context_tree()
    assert tree.kind == "run" and tree.status == "completed"
    (root,) = tree.children
    assert [c.label for c in root.children] == list(flow.nodes)
    loop = next(c for c in root.children if c.label == "loop")
    assert [(c.kind, c.label, c.status) for c in loop.children] == [
        ("component", "iter_0", "completed"),
        ("component", "iter_1", "completed"),
    ]
    assert [n.path for n in loop.children[1].children] == ["demo.loop.iter_1.step"]
    sub = next(c for c in root.children if c.label == "sub")
    assert [n.label for n in sub.children[0].children] == ["inner", "inner2"]

    edges = {(e.source, e.target): e.state for e in state.edges("demo")}
    assert edges[("right", "handler")] == "taken"
    assert edges[("right", "never")] == "dead"
    assert edges[("cond", "yes")] == "taken"
    assert edges[("cond", "no")] == "dead"
    assert edges[("start", "left")] == "taken"
    assert {(e.component, e.source, e.target) for e in state.dead_edges()} == {
        ("demo", "right", "never"),
        ("demo", "cond", "no"),
    }
    taken = [(e.component, e.source, e.target) for e in state.taken_edges()]
    assert len(taken) == 9  # 10 edges of demo minus 2 dead, plus the implicit inner -> inner2 of sub
    assert ("demo.sub", "inner", "inner2") in taken


async def test_pending_before_start_and_midway(tmp_path: Path) -> None:
    flow, events = await run_demo(tmp_path)
    state = RunState(flow)
    assert set(state.nodes) == {f"demo.{n}" for n in flow.nodes} | {"demo.sub.inner", "demo.sub.inner2"}
    assert state.counts == {"pending": 13}
    assert all(e.state == "pending" for e in state.edges("demo"))
    # Which branch reaches which point first is up to the scheduler: probe each at its own events.
    right_started = next(i for i, e in enumerate(events) if e["type"] == "node_started" and e["path"] == "demo.right")
    probe = RunState(flow).apply_all(events[: right_started + 1])
    assert probe.nodes["demo.right"].status == "running"
    assert probe.nodes["demo.handler"].status == "pending"  # its source has not settled yet
    cut = next(i for i, e in enumerate(events) if e["type"] == "node_input_required")
    state.apply_all(events[:cut])
    state.apply(events[cut])
    assert state.nodes["demo.ask"].status == "waiting_input"
    assert list(state.waiting) == ["demo.ask"]
    assert state.nodes["demo.ask"].input_request["node_type"] == "noop"
    state.apply(events[cut + 1])
    assert state.waiting == {}
    assert state.nodes["demo.ask"].status == "running"
    # Loop iterations get their body's elements (pending) as soon as they start.
    loop_start = next(i for i, e in enumerate(events) if e["path"] == "demo.loop.iter_0")
    state.apply_all(events[cut + 2 : loop_start + 1])
    assert state.nodes["demo.loop.iter_0.step"].status == "pending"
    assert state.components["demo.loop.iter_0"].status == "running"
    assert state.variables("demo.loop.iter_0")["index"] == 0


async def test_variables_in_scope(tmp_path: Path) -> None:
    flow, events = await run_demo(tmp_path)
    state = RunState(flow).apply_all(events)
    root_vars = state.variables("demo")
    assert root_vars["items"] == ["a", "b"] and root_vars["lang"] == "en"
    assert root_vars["run_id"] == state.run_id and root_vars["component_hier_path"] == "demo"
    sub_vars = state.variables("demo.sub")
    assert sub_vars["greeting"] == "hello"  # the subflow's override beats the body's default
    assert sub_vars["lang"] == "en"
    assert state.variables("demo.loop.iter_1")["index"] == 1


def test_each_event_type() -> None:
    s = RunState()
    s.apply(ev(1, "run_started", "f", run_id="r1", root_component_id="f", previous_run_id="r0", variables={"a": 1}))
    assert (s.status, s.root_id, s.run_id, s.previous_run_id, s.run_variables) == ("running", "f", "r1", "r0", {"a": 1})
    s.apply(ev(2, "component_started", "f", kind="agent", status="running"))
    assert s.components["f"].kind == "agent" and s.components["f"].status == "running"
    s.apply(ev(3, "node_input_required", "f.n", node_type="input", request={"fields": {"q": {}}}))
    n = s.nodes["f.n"]
    assert n.status == "waiting_input" and n.input_request == {"fields": {"q": {}}} and "f.n" in s.waiting
    s.apply(ev(4, "node_input_received", "f.n", input={"q": 1}, source="dialog"))
    assert (n.status, n.input, n.input_source, s.waiting) == ("running", {"q": 1}, "dialog", {})
    s.apply(ev(5, "node_started", "f.n", node_type="ai_model", attempt=1))
    assert (n.status, n.node_type, n.attempt, n.started_at) == ("running", "ai_model", 1, "2025-01-01T00:00:05.000000Z")
    s.apply(ev(6, "node_output_delta", "f.n", text="Hel"))
    s.apply(ev(7, "node_output_delta", "f.n", text="lo"))
    assert n.streamed_text == "Hello"
    s.apply(ev(8, "node_started", "f.n", node_type="ai_model", attempt=2))
    assert n.attempt == 2 and n.streamed_text == ""
    s.apply(ev(9, "artifact_written", "f.n", artifact="f/n/out.txt", size=3, media_type="text/plain"))
    assert n.artifacts == [{"artifact": "f/n/out.txt", "size": 3, "media_type": "text/plain", "seq": 9}]
    s.apply(ev(10, "log", "f.n", level="warning", message="careful"))
    assert s.logs[-1]["message"] == "careful"
    usage = {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5, "cost": 0.25}
    fields = dict(
        node_type="ai_model",
        input={"p": 1},
        output="o",
        outcome={"text": "Hello"},
        error=None,
        usage=usage,
        started_at="s",
        ended_at="e",
        duration_ms=12.5,
    )
    s.apply(ev(11, "node_completed", "f.n", status="completed", **fields))
    assert (n.status, n.outcome, n.duration_ms, n.ended_at, n.cost, n.loaded) == (
        "completed",
        {"text": "Hello"},
        12.5,
        "e",
        0.25,
        False,
    )
    s.apply(ev(12, "node_loaded", "f.m", status="completed", **fields))
    m = s.nodes["f.m"]
    assert m.loaded and m.status == "completed" and m.outcome == {"text": "Hello"}
    assert s.usage == usage  # loaded elements did not run again: their usage is not counted twice
    s.apply(ev(13, "node_completed", "f.x", status="failed", **{**fields, "error": {"message": "boom"}}))
    assert s.nodes["f.x"].status == "failed" and s.failures == ["f.x"]
    s.apply(ev(14, "node_completed", "f.c", status="cancelled", **fields))
    s.apply(ev(15, "node_skipped", "f.k", reason="edge dead"))
    assert s.nodes["f.k"].status == "skipped" and s.nodes["f.k"].skip_reason == "edge dead"
    assert s.counts == {"completed": 2, "failed": 1, "cancelled": 1, "skipped": 1}
    s.apply(ev(16, "component_completed", "f", kind="agent", status="failed"))
    assert s.components["f"].status == "failed"
    s.apply(ev(17, "run_completed", "f", status="failed", counts={"completed": 2}, usage={"cost": 9}, duration_ms=5))
    assert (s.status, s.usage, s.final_counts, s.duration_ms) == ("failed", {"cost": 9}, {"completed": 2}, 5.0)
    s.apply(ev(18, "future_event_type", "f"))
    assert s.event_count == 18 and s.last_seq == 18


def test_snapshot_is_independent() -> None:
    s = RunState()
    s.apply(ev(1, "run_started", "f", run_id="r", root_component_id="f", variables={}))
    s.apply(ev(2, "node_started", "f.a", node_type="noop", attempt=1))
    s.apply(ev(3, "node_output_delta", "f.a", text="x"))
    copy = s.snapshot()
    s.apply(ev(4, "node_output_delta", "f.a", text="y"))
    s.apply(ev(5, "node_completed", "f.a", status="failed", error={"message": "m"}))
    assert copy.nodes["f.a"].status == "running" and copy.nodes["f.a"].streamed_text == "x"
    assert copy.failures == [] and copy.counts == {"running": 1}
    assert s.nodes["f.a"].streamed_text == "xy"
    # Copy-on-write works both ways: changing the copy leaves the original alone.
    copy.apply(ev(4, "node_output_delta", "f.a", text="z"))
    copy.apply(ev(5, "node_started", "f.b", node_type="noop", attempt=1))
    assert copy.nodes["f.a"].streamed_text == "xz" and s.nodes["f.a"].streamed_text == "xy"
    assert "f.b" not in s.nodes and s.components["f"].children == ["f.a"]
    assert copy.components["f"].children == ["f.a", "f.b"]


@pytest.mark.parametrize("with_flow", [False, True])
async def test_state_without_component_events(tmp_path: Path, with_flow: bool) -> None:
    """Loaded subtrees arrive as node_loaded only (no component events): the tree still nests them."""
    flow = demo_flow() if with_flow else None
    s = RunState(flow)
    s.apply(ev(1, "run_started", "demo", run_id="r", root_component_id="demo", variables={}))
    s.apply(ev(2, "node_loaded", "demo.loop", status="completed", node_type="for_each"))
    s.apply(ev(3, "node_loaded", "demo.loop.iter_0.step", status="completed", node_type="noop"))
    s.apply(ev(4, "node_loaded", "demo.sub", status="completed", node_type="subflow"))
    s.apply(ev(5, "node_loaded", "demo.sub.inner", status="completed", node_type="noop"))
    tree = s.context_tree()
    paths = {n.path: n for n in tree.walk() if n.kind == "node"}
    assert paths["demo.loop.iter_0.step"].status == "completed"
    loop = paths["demo.loop"]
    assert [(c.kind, c.label) for c in loop.children] == [("component", "iter_0")]
    assert [c.path for c in paths["demo.sub"].children[0].children][:1] == ["demo.sub.inner"]
