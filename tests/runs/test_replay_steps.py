"""Replay: state_at(k) equals a fold from scratch at any k, in any order; navigation; live and torn logs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dad_studio.model import FlowDefinition
from dad_studio.runs import RunWriter
from dad_studio.runs.replay import Replay, load_flow_snapshot
from dad_studio.runs.state import RunState
from dad_studio.runs.testing import EventLog, dead_pid


def flow_def() -> FlowDefinition:
    flow = FlowDefinition(id="main")
    for name in ("a", "b", "c", "d"):
        flow.node(name, type="noop")
    flow.connect("a", "b")
    flow.connect("a", "c")
    flow.connect("b", "d", on_error=True)
    return flow


def write_run(run_dir: Path, *, final: bool = True, big_outcome: bool = False) -> list[dict[str, Any]]:
    """A run with a retry, streaming, an input wait, a failure, a skip, a log and an artifact."""
    writer = RunWriter(run_dir)
    snapshot = json.dumps({"format": "dad-flow", "schema_version": 1, "root": flow_def().model_dump(by_alias=True)})
    writer.open({"root_component_id": "main"}, snapshot.encode())
    log = EventLog(writer)
    log.emit("run_started", "main", run_id=run_dir.name, root_component_id="main", previous_run_id=None,
             start_hierarchy_path=None, variables={"v": 1})  # fmt: skip
    log.emit("component_started", "main", kind="flow", status="running")
    log.node("main.a", outcome={"blob": "x" * 70_000} if big_outcome else {"v": 1})
    log.emit("node_started", "main.b", node_type="ai_model", attempt=1)
    log.emit("node_output_delta", "main.b", text="he")
    log.emit("node_started", "main.b", node_type="ai_model", attempt=2)
    log.emit("node_output_delta", "main.b", text="hello")
    log.emit("log", "main.b", level="info", message="retrying")
    log.emit("node_completed", "main.b", node_type="ai_model", status="failed", error={"message": "boom"})
    log.emit("node_input_required", "main.c", node_type="input", request={"fields": {"x": {}}})
    log.emit("node_input_received", "main.c", input={"x": 2}, source="cli")
    log.node("main.c")
    log.emit("artifact_written", "main.c", artifact="main/c/out.txt", size=2, media_type="text/plain")
    log.node("main.d", status="failed")
    if final:
        log.emit("component_completed", "main", kind="flow", status="failed")
        log.emit("run_completed", "main", status="failed", counts={"failed": 2, "completed": 2}, usage={},
                 duration_ms=3.0)  # fmt: skip
        writer.close(status="failed")
    else:
        writer.close()
        writer.update_manifest(status="running", ended_at=None, pid=dead_pid())
    return log.written


def fold(flow: FlowDefinition | None, events: list[dict[str, Any]]) -> dict[str, Any]:
    return RunState(flow, root_id="main").apply_all(events).summary()


@pytest.fixture
def run(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    run_dir = tmp_path / "run_1"
    return run_dir, write_run(run_dir)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.integers(min_value=0, max_value=19), min_size=1, max_size=25), every=st.integers(1, 6))
def test_state_at_equals_fold_from_scratch(
    run: tuple[Path, list[dict[str, Any]]], steps: list[int], every: int
) -> None:
    run_dir, events = run
    replay = Replay(run_dir, checkpoint_every=every)
    assert len(replay) == len(events) == 19
    for k in steps:
        got = replay.state_at(k).summary()
        want = fold(replay.flow, events[:k])
        assert got == want, k


def test_flow_snapshot_gives_pending_nodes(run: tuple[Path, list[dict[str, Any]]]) -> None:
    run_dir, _ = run
    replay = Replay(run_dir)
    assert replay.flow is not None and list(replay.flow.nodes) == ["a", "b", "c", "d"]
    assert load_flow_snapshot(run_dir / "nowhere") is None
    state = replay.state_at(0)
    assert {p: v.status for p, v in state.nodes.items()} == dict.fromkeys(
        ("main.a", "main.b", "main.c", "main.d"), "pending"
    )


def test_stepping_back_and_forth(run: tuple[Path, list[dict[str, Any]]]) -> None:
    run_dir, events = run
    replay = Replay(run_dir, checkpoint_every=4)
    n = len(replay)
    for k in range(n + 1):
        assert replay.state_at(k).summary() == fold(replay.flow, events[:k])
    for k in range(n, -1, -1):
        assert replay.state_at(k).summary() == fold(replay.flow, events[:k])
    b = replay.state_at(7).nodes["main.b"]
    assert (b.attempt, b.streamed_text) == (2, "")
    assert replay.state_at(8).nodes["main.b"].streamed_text == "hello"
    assert replay.state_at(11).waiting and not replay.state_at(12).waiting
    assert replay.state_at(n).status == "failed"


def test_navigation(run: tuple[Path, list[dict[str, Any]]]) -> None:
    run_dir, events = run
    replay = Replay(run_dir)
    failures = [i + 1 for i, e in enumerate(events) if e["type"] == "node_completed" and e["status"] == "failed"]
    assert failures == [10, 17]
    assert replay.next_failure(0) == 10 and replay.next_failure(10) == 17 and replay.next_failure(17) is None
    assert replay.prev_failure(17) == 10 and replay.prev_failure(10) is None
    assert replay.state_at(replay.next_failure(0) or 0).nodes["main.b"].status == "failed"
    assert replay.next_node_event(0) == 3  # run_started, component_started, then node_started of a
    assert replay.next_node_event(8) == 10  # skips the log event at 9
    assert replay.prev_node_event(10) == 8
    assert replay.event(9)["type"] == "log"
    with pytest.raises(IndexError):
        replay.state_at(len(replay) + 1)


def test_growing_file_and_torn_line(tmp_path: Path) -> None:
    source = tmp_path / "source"
    events = write_run(source)
    lines = (source / "events.jsonl").read_bytes().splitlines(keepends=True)
    live = tmp_path / "live"
    live.mkdir()
    (live / "flow.dad.json").write_bytes((source / "flow.dad.json").read_bytes())
    manifest = json.loads((source / "run.json").read_text())
    manifest.update(status="running", ended_at=None)  # still being written by this (live) process
    (live / "run.json").write_text(json.dumps(manifest))
    log = live / "events.jsonl"
    log.write_bytes(b"".join(lines[:5]) + lines[5][:10])  # 5 whole lines and a torn one
    replay = Replay(live, checkpoint_every=3)
    assert len(replay) == 5
    assert replay.state_at(5).summary() == fold(replay.flow, events[:5])
    assert replay.refresh() == 0
    with open(log, "ab") as f:
        f.write(lines[5][10:] + b"".join(lines[6:12]))
    assert replay.refresh() == 7
    assert replay.state_at(12).summary() == fold(replay.flow, events[:12])
    assert replay.state_at(2).summary() == fold(replay.flow, events[:2])
    with open(log, "ab") as f:
        f.write(b"".join(lines[12:]))
        f.write(b'{"seq": 99, "ty')  # torn again, at the very end
    assert replay.refresh() == len(events) - 12
    assert replay.state_at(len(events)).summary() == fold(replay.flow, events)
    assert replay.problems == []


def test_interrupted_run_reads_as_interrupted(tmp_path: Path) -> None:
    run_dir = tmp_path / "run_dead"
    events = write_run(run_dir, final=False)
    replay = Replay(run_dir)
    assert replay.status == "interrupted"
    last = replay.state_at(len(replay))
    assert last.status == "interrupted"
    assert replay.state_at(len(replay) - 1).status == "running"
    assert replay.state_at(len(replay)).status == "interrupted"
    assert len(events) == len(replay)


def test_blobs_load_lazily(tmp_path: Path) -> None:
    run_dir = tmp_path / "run_blob"
    write_run(run_dir, big_outcome=True)
    replay = Replay(run_dir)
    outcome = replay.state_at(len(replay)).nodes["main.a"].outcome
    assert set(outcome) == {"$blob", "size"}  # still a reference in the state
    assert replay.resolve(outcome) == {"blob": "x" * 70_000}
    assert replay.resolve({"nested": [outcome]}) == {"nested": [{"blob": "x" * 70_000}]}
    os.unlink(run_dir / "blobs" / outcome["$blob"])
    assert replay.load_blob(outcome) == {"blob": "x" * 70_000}  # cached after the first read


def test_bad_line_in_the_middle_is_reported_and_skipped(tmp_path: Path) -> None:
    run_dir = tmp_path / "run_bad"
    events = write_run(run_dir)
    lines = (run_dir / "events.jsonl").read_bytes().splitlines(keepends=True)
    (run_dir / "events.jsonl").write_bytes(b"".join(lines[:3]) + b"{not json\n" + b"".join(lines[3:]))
    replay = Replay(run_dir)
    assert len(replay) == len(events)
    assert replay.problems and "not JSON" in replay.problems[0]
    assert replay.state_at(len(replay)).summary() == fold(replay.flow, events)
