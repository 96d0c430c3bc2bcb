"""The engine's fast paths keep the behaviour of the slow ones they replaced.

- make_result builds the same NodeResult as NodeResult.model_construct;
- ChainEdge graphs (components without `edges`) schedule like effective_edges();
- a chain runs in one task and still gives the event loop a turn; branches still get tasks;
- prepared nodes are cached per definition, bad settings still fail every time;
- the records: the snapshot loads back equal (or is the source file's bytes), the rows kept for
  the index equal what the log reads back as, and the blocking part of closing runs off the loop.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from dad_studio.engine import FlowRunner, RunContext, Status
from dad_studio.engine import scheduler as scheduler_module
from dad_studio.engine.context import Graph, make_result
from dad_studio.engine.records import Recorder, flow_snapshot
from dad_studio.fileformat import loads_flow
from dad_studio.model import FlowDefinition
from dad_studio.model.results import NodeError, NodeResult, Usage
from dad_studio.runs import read_run


def _rc(tmp_path: Path, **kw: Any) -> RunContext:
    kw.setdefault("observability_settings", {"enabled": False})
    rc = RunContext(root_component_id="f", project_root=tmp_path, **kw)
    rc.setup_run(run_id_prefix="t")
    return rc


def test_make_result_equals_model_construct() -> None:
    fields: dict[str, Any] = {
        "status": Status.FAILED,
        "input": {"a": 1},
        "output": "raw",
        "outcome": {"x": [1, 2]},
        "error": NodeError(message="boom", type="RuntimeError"),
        "usage": Usage(prompt_tokens=3, total_tokens=3),
        "started_at": "2026-01-01T00:00:00.000001+00:00",
        "ended_at": "2026-01-01T00:00:01.000001+00:00",
        "duration_ms": 1000.0,
        "attempts": 2,
    }
    fast = make_result(**fields)
    slow = NodeResult.model_construct(**fields)
    assert fast == slow
    assert fast.model_dump() == slow.model_dump()
    assert fast.model_dump_json() == slow.model_dump_json()
    assert fast.model_fields_set == slow.model_fields_set
    fast.outcome = {"changed": True}  # assignment works as on any model
    assert fast.outcome == {"changed": True} and slow.outcome == {"x": [1, 2]}


def test_chain_graph_matches_effective_edges() -> None:
    flow = FlowDefinition(id="f")
    for n in "abcd":
        flow.node(n, type="noop")
    graph = Graph(flow)
    assert [(e.source, e.target, e.on, e.port) for e in graph.edges] == [
        (e.source, e.target, e.on, e.port) for e in flow.effective_edges()
    ]
    assert graph.roots == ["a"] and graph.downstream("b") == {"c", "d"}
    assert flow.edges is None  # building the graph did not write edges into the definition


async def test_chain_runs_in_one_task_and_branches_in_several(tmp_path: Path) -> None:
    flow = FlowDefinition(id="f")
    for n in ("a", "b", "c"):
        flow.node(n, type="noop")
    flow.node("x", type="sleep", settings={"seconds": 0.01})
    flow.node("y", type="sleep", settings={"seconds": 0.01})
    flow.edges = []
    flow.connect("a", "b")
    flow.connect("b", "c")
    flow.connect("c", "x")
    flow.connect("c", "y")
    tasks: dict[str, asyncio.Task[Any] | None] = {}
    rc = _rc(tmp_path, records=False)
    rc.register_event_handler("node_started", lambda e: tasks.__setitem__(e["path"], asyncio.current_task()))
    result = await FlowRunner(flow, rc).run()
    assert result.status is Status.COMPLETED
    assert tasks["f.a"] is tasks["f.b"] is tasks["f.c"]  # a chain: no task per element
    assert tasks["f.x"] is not tasks["f.y"]  # branches: concurrent tasks


async def test_long_chain_yields_to_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scheduler_module, "_YIELD_EVERY_S", 0.0)  # yield after every element
    flow = FlowDefinition(id="f")
    for i in range(50):
        flow.node(f"n{i}", type="noop")
    ticks: list[int] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            ticks.append(1)
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    result = await FlowRunner(flow, _rc(tmp_path, records=False)).run()
    stop.set()
    await task
    assert result.status is Status.COMPLETED and len(result.nodes) == 50
    assert len(ticks) >= 40  # the other task ran between the elements of the chain


async def test_bad_settings_fail_every_execution(tmp_path: Path) -> None:
    body = FlowDefinition()
    body.node("bad", type="sleep", settings={"seconds": -1})
    flow = FlowDefinition(id="f", variables={"items": [1, 2]})
    flow.node(
        "loop",
        type="for_each",
        settings={"statement": "$expr{items}", "max_iterations": 5, "body": body.model_dump(by_alias=True)},
    )
    result = await FlowRunner(flow, _rc(tmp_path, records=False)).run()
    assert result.status is Status.FAILED
    assert result.nodes["f.loop.iter_0.bad"] == "failed" and result.nodes["f.loop.iter_1.bad"] == "failed"


def test_flow_snapshot_loads_back_equal() -> None:
    flow = FlowDefinition(id="f", variables={"n": 2, "who": "$var{run_id}"})
    flow.node("a", type="noop", settings={"value": "x"}, retry={"max_attempts": 3, "backoff_s": 0.5}, timeout_s=2)
    flow.node("b", type="sleep", join="any", pre_events=["node_input_required"])
    flow.edges = []
    flow.connect("a", "b", on_error=True)
    loaded = loads_flow(flow_snapshot(flow))
    assert not loaded.errors and loaded.component == flow
    assert flow_snapshot(flow, b"exact bytes\n") == b"exact bytes\n"


async def test_source_bytes_become_the_snapshot(tmp_path: Path) -> None:
    source = b'{"format": "dad-flow", "schema_version": 1, "root": {"id": "f", "nodes": {"a": {"type": "noop"}}}}\n'
    flow = loads_flow(source).component
    assert flow is not None
    result = await FlowRunner(flow, _rc(tmp_path, flow_source=source)).run()
    assert result.run_dir is not None
    assert (result.run_dir / "flow.dad.json").read_bytes() == source


async def test_rows_for_the_index_equal_the_log(tmp_path: Path) -> None:
    flow = FlowDefinition(id="f")
    flow.node("a", type="sleep", settings={"seconds": 0, "fail": True})
    flow.node("b", type="noop")
    flow.node("c", type="noop")
    flow.edges = []
    flow.connect("a", "b")
    flow.connect("a", "c", on_error=True)
    runner = FlowRunner(flow, _rc(tmp_path))
    result = await runner.run()
    assert runner.state is not None and runner.state.recorder is not None and result.run_dir is not None
    recorder = runner.state.recorder
    assert recorder.summary_rows() == read_run(result.run_dir).results
    assert {p: r["type"] for p, r in recorder.node_rows.items()} == {
        "f.a": "node_completed",
        "f.b": "node_skipped",
        "f.c": "node_completed",
    }


async def test_rows_for_the_index_hold_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-test-0123456789abcdef"
    monkeypatch.setenv("DAD_TEST_API_KEY", secret)
    flow = FlowDefinition(id="f")
    flow.node("a", type="noop", settings={"value": secret})
    runner = FlowRunner(flow, _rc(tmp_path))
    result = await runner.run()
    assert runner.state is not None and runner.state.recorder is not None and result.run_dir is not None
    recorder = runner.state.recorder
    rows = recorder.summary_rows()
    assert secret not in repr(rows) and rows == read_run(result.run_dir).results
    assert secret not in repr(recorder.index_rows())  # what the index is given: the scrubbed events
    recorder.wait_closed()
    index_files = list((tmp_path / "runs").glob("index.sqlite*"))
    assert index_files and all(secret.encode() not in f.read_bytes() for f in index_files)


async def test_index_rows_are_the_result_events_with_skips_given_a_status(tmp_path: Path) -> None:
    flow = FlowDefinition(id="f")
    flow.node("a", type="sleep", settings={"seconds": 0, "fail": True})
    flow.node("b", type="noop")
    runner = FlowRunner(flow, _rc(tmp_path))
    result = await runner.run()
    assert runner.state is not None and runner.state.recorder is not None and result.run_dir is not None
    rows = runner.state.recorder.index_rows()
    assert rows["f.b"]["status"] == "skipped" and rows["f.b"]["type"] == "node_skipped"
    assert "status" not in runner.state.recorder.node_rows["f.b"], "the event itself is left as it was"
    from dad_studio.runs import RunIndex

    runner.state.recorder.wait_closed()
    index = RunIndex(tmp_path / "runs")
    try:
        stored = {r["path"]: r["status"] for r in index.node_results(result.run_id)}
    finally:
        index.close()
    assert stored == {"f.a": "failed", "f.b": "skipped"}


async def test_close_runs_off_the_event_loop_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[threading.Thread] = []
    original = Recorder.close

    def close(self: Recorder, **fields: Any) -> None:
        threads.append(threading.current_thread())
        original(self, **fields)

    monkeypatch.setattr(Recorder, "close", close)
    flow = FlowDefinition(id="f")
    flow.node("a", type="noop")
    result = await FlowRunner(flow, _rc(tmp_path)).run()
    assert result.status is Status.COMPLETED
    assert threads and threads[0] is not threading.current_thread()
    assert read_run(result.run_dir).status == "completed"  # type: ignore[arg-type]


async def test_index_rows_are_written_after_the_run_returns_and_a_reader_never_misses_them(tmp_path: Path) -> None:
    """The run returns with its folder complete; its index rows follow in the records thread. A reader
    in between (list() refreshes from the folders) sees the run all the same, and once the records
    have settled the rows are the recorder's, the connection closed (WAL checkpointed)."""
    from dad_studio.runs import RunIndex

    flow = FlowDefinition(id="f")
    flow.node("a", type="noop")
    flow.node("b", type="noop")
    gate = threading.Event()
    recorded: list[str] = []
    original = RunIndex.record_summary

    def held(self: RunIndex, manifest: dict[str, Any], rows: dict[str, Any], **kwargs: Any) -> None:
        if self.run_root != tmp_path / "runs":  # an earlier test's run, still being indexed
            return original(self, manifest, rows, **kwargs)
        assert gate.wait(30)  # the run has returned and a reader has listed before the rows are written
        recorded.append(manifest["run_id"])
        original(self, manifest, rows, **kwargs)

    RunIndex.record_summary = held  # type: ignore[method-assign]
    try:
        runner = FlowRunner(flow, _rc(tmp_path))
        result = await runner.run()  # returns although the index is held
        assert recorded == []
        with RunIndex(tmp_path / "runs") as index:
            assert [m["run_id"] for m in index.list()] == [result.run_id]  # indexed from the folder
            assert [r["path"] for r in index.node_results(result.run_id)] == ["f.a", "f.b"]
        gate.set()
        await runner.aclosed()
    finally:
        RunIndex.record_summary = original  # type: ignore[method-assign]
    assert recorded == [result.run_id]
    with RunIndex(tmp_path / "runs") as index:
        (row,) = index.list(refresh=False)
        assert row["run_id"] == result.run_id and row["status"] == "completed"
        assert [r["path"] for r in index.node_results(result.run_id)] == ["f.a", "f.b"]
    assert not (tmp_path / "runs" / "index.sqlite-wal").exists()  # last connection closed: checkpointed


async def test_cancelled_run_is_indexed_from_the_loop_thread(tmp_path: Path) -> None:
    from dad_studio.runs import RunIndex

    flow = FlowDefinition(id="f")
    flow.node("a", type="noop")
    flow.node("slow", type="sleep", settings={"seconds": 30})
    runner = FlowRunner(flow, _rc(tmp_path))
    async with runner.iter() as run:
        async for event in run:
            if event["type"] == "node_started" and event["path"] == "f.slow":
                break  # leaving the stream early cancels the run
    assert runner.state is not None and runner.state.recorder is not None
    runner.state.recorder.wait_closed(timeout=30)
    with RunIndex(tmp_path / "runs") as index:
        (row,) = index.list()
    assert row["status"] == "cancelled"


async def test_cancelled_while_closing_the_records_still_close(tmp_path: Path) -> None:
    flow = FlowDefinition(id="f")
    flow.node("a", type="noop")
    rc = _rc(tmp_path, observability_settings=None)  # telemetry on: its shutdown is part of closing
    runner = FlowRunner(flow, rc)
    task: asyncio.Task[Any] | None = None

    def cancel_now(event: dict[str, Any]) -> None:
        assert task is not None
        task.cancel()  # delivered at the run's next await: while its records close

    rc.register_event_handler("run_completed", cancel_now)
    task = asyncio.create_task(runner.run())
    with pytest.raises(asyncio.CancelledError):
        await task
    assert runner.state is not None and runner.state.recorder is not None
    runner.state.recorder.wait_closed(timeout=30)
    record = read_run(runner.state.run_dir)
    assert record.status == "completed" and record.manifest["status"] == "completed"
    assert (runner.state.run_dir / "trace" / "spans.jsonl").is_file()


async def test_the_stream_ends_and_the_records_are_closed(tmp_path: Path) -> None:
    flow = FlowDefinition(id="f")
    flow.node("a", type="noop")
    runner = FlowRunner(flow, _rc(tmp_path, observability_settings=None))
    async with runner.iter() as run:
        types = [event["type"] async for event in run]
    assert types[-1] == "run_completed" and run.result is not None
    assert read_run(run.result.run_dir).manifest["status"] == "completed"  # type: ignore[arg-type]
    assert (run.result.run_dir / "trace" / "spans.jsonl").is_file()  # type: ignore[operator]


def test_alike_settings_are_validated_once_per_run() -> None:
    from dad_studio.engine.registry import ExecutorRegistry
    from dad_studio.model import NodeDefinition

    registry = ExecutorRegistry()
    a, b = (
        NodeDefinition(type="sleep", settings={"seconds": 0.5}),
        NodeDefinition(type="sleep", settings={"seconds": 0.5}),
    )
    c = NodeDefinition(type="sleep", settings={"seconds": 1})
    assert registry.prepare(a).settings is registry.prepare(b).settings  # equal JSON: one validation
    assert registry.prepare(c).settings is not registry.prepare(a).settings
    assert registry.prepare(c).settings.seconds == 1.0  # type: ignore[attr-defined]
    empty = [NodeDefinition(type="noop") for _ in range(3)]
    assert len({id(registry.prepare(n).settings) for n in empty}) == 1
    other_type = NodeDefinition(type="sleep")
    assert registry.prepare(other_type).settings is not registry.prepare(empty[0]).settings


def test_alike_definitions_share_one_prepared_node_and_different_ones_do_not() -> None:
    from dad_studio.engine.registry import ExecutorRegistry
    from dad_studio.model import NodeDefinition, RetryPolicy
    from dad_studio.nodes.base import NodeFailure

    registry = ExecutorRegistry()
    alike = [NodeDefinition(type="sleep", settings={"seconds": 0.5, "fail": False}) for _ in range(3)]
    alike.append(NodeDefinition(type="sleep", settings={"fail": False, "seconds": 0.5}))  # key order
    assert len({id(registry.prepare(n)) for n in alike}) == 1
    base = registry.prepare(alike[0])
    assert registry.prepare(alike[0]) is base  # and per definition, of course
    different = [
        NodeDefinition(type="sleep", settings={"seconds": 1}),
        NodeDefinition(type="sleep", settings={"seconds": 0.5, "fail": False}, timeout_s=3),
        NodeDefinition(type="sleep", settings={"seconds": 0.5, "fail": False}, retry=RetryPolicy(max_attempts=2)),
        NodeDefinition(type="sleep", settings={"seconds": 0.5, "fail": False}, pre_events=["node_input_required"]),
    ]
    prepared = [registry.prepare(n) for n in different]
    assert all(p is not base for p in prepared)
    assert prepared[1].timeout_s == 3 and base.timeout_s is None
    assert prepared[2].max_attempts == 2 and base.max_attempts == 1
    assert prepared[3].pre_input and not base.pre_input
    # a bad definition is never cached: each alike one fails with the same message, every time
    bad = [NodeDefinition(type="sleep", settings={"seconds": "soon"}) for _ in range(2)]
    messages = []
    for node in [*bad, bad[0]]:
        with pytest.raises(NodeFailure) as caught:
            registry.prepare(node)
        messages.append(str(caught.value))
    assert len(set(messages)) == 1 and "invalid settings" in messages[0]


async def test_a_run_nobody_listens_to_counts_its_events_without_building_them(tmp_path: Path) -> None:
    """With no records, stream or handler, node events are only counted (EventBus.unheard); the
    results are the same, and the count equals the events a listened run emits."""
    flow = FlowDefinition(id="f")
    for i in range(5):
        flow.node(f"n{i}", type="noop", settings={"value": f"v{i}"})
    flow.node("boom", type="sleep", settings={"seconds": 0, "fail": True})
    flow.node("after", type="noop")
    flow.connect("n4", "boom")
    flow.connect("boom", "after")

    quiet = FlowRunner(flow, _rc(tmp_path / "quiet", records=False))
    quiet_result = await quiet.run()
    assert quiet.state is not None and not quiet.state.bus.heard

    heard: list[dict[str, Any]] = []
    rc = _rc(tmp_path / "heard", records=False)
    rc.register_event_handler("*", heard.append)
    loud = FlowRunner(flow, rc)
    loud_result = await loud.run()
    assert loud.state is not None and loud.state.bus.heard
    assert {t for t in (e["type"] for e in heard)} >= {"node_started", "node_completed", "node_skipped"}
    assert quiet.state.bus.seq == loud.state.bus.seq == len(heard)
    assert quiet_result.status == loud_result.status == Status.FAILED
    assert quiet_result.nodes == loud_result.nodes and len(quiet_result.nodes) == 7
    assert {p: (r.status, r.outcome) for p, r in quiet.state.results.items()} == {
        p: (r.status, r.outcome) for p, r in loud.state.results.items()
    }


def _mixed_flow() -> FlowDefinition:
    """Straight edges (success, always), an error edge, a conditional's ports, a join any, a failure and
    skips: the scheduler's fast path (Graph.straight) against its general bookkeeping."""
    flow = FlowDefinition(id="f")
    flow.node("a", type="noop")
    flow.node("b", type="noop")
    flow.node("boom", type="sleep", settings={"seconds": 0, "fail": True})
    flow.node("on_err", type="noop")
    flow.node("after_err", type="noop")
    flow.conditional("cond", "$expr{1 == 1}")
    flow.node("yes", type="noop")
    flow.node("no", type="noop")
    flow.node("no_next", type="noop")
    flow.node("any", type="noop", join="any")
    flow.node("last", type="noop")
    flow.node("x", type="sleep", settings={"seconds": 0, "fail": True})
    flow.node("x_next", type="noop")
    flow.connect("x", "x_next")  # straight, but x fails: x_next is skipped
    flow.connect("a", "b")
    flow.connect("b", "boom", always=True)
    flow.connect("boom", "on_err", on_error=True)
    flow.connect("on_err", "after_err")
    flow.connect("after_err", "cond")
    flow.connect("cond", "yes", port="true")
    flow.connect("cond", "no", port="false")
    flow.connect("no", "no_next")
    flow.connect("yes", "any")
    flow.connect("no_next", "any")
    flow.connect("any", "last")
    return flow


async def test_straight_steps_schedule_like_the_general_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flow = _mixed_flow()
    graph = Graph(flow)
    assert graph.straight["a"][1] == "b" and graph.straight["b"][1] == "boom" and graph.straight["x"][1] == "x_next"
    assert "boom" not in graph.straight, "an error edge is not straight"
    assert "cond" not in graph.straight and "yes" not in graph.straight, "ports and a shared target are not"

    async def run(disable: bool) -> tuple[dict[str, str], list[tuple[str, str]]]:
        if disable:
            monkeypatch.setattr(Graph, "__init__", _without_straight(Graph.__init__))
        rc = _rc(tmp_path / ("general" if disable else "fast"), records=False)
        seen: list[tuple[str, str]] = []
        rc.register_event_handler("*", lambda e: seen.append((e["type"], e["path"])))
        result = await FlowRunner(flow, rc).run()
        return result.nodes, seen

    fast_nodes, fast_events = await run(False)
    general_nodes, general_events = await run(True)
    assert fast_nodes == general_nodes
    assert fast_nodes["f.boom"] == "failed" and fast_nodes["f.no"] == "skipped" and fast_nodes["f.last"] == "completed"
    assert fast_nodes["f.x_next"] == "skipped"

    # Concurrent branches interleave as the loop schedules them; each element's own events are the same.
    def per_path(events: list[tuple[str, str]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for etype, path in events:
            out.setdefault(path, []).append(etype)
        return out

    assert per_path(fast_events) == per_path(general_events)


def _without_straight(init: Any) -> Any:
    def patched(self: Graph, component: Any) -> None:
        init(self, component)
        self.straight = {}

    return patched
