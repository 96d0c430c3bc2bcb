"""End to end: real flows through dad_studio.engine, telemetry attached by the engine's Recorder."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from dad_studio.engine import FlowRunner, RunContext, Status
from dad_studio.model import FlowDefinition
from dad_studio.observability import read_metrics, read_spans


def sample_flow(flow_id: str = "f") -> FlowDefinition:
    sub = FlowDefinition()
    sub.node("x", type="noop")
    body = FlowDefinition()
    body.node("b", type="noop")
    flow = FlowDefinition(id=flow_id, variables={"items": [1, 2]})
    flow.node("start", type="noop")
    flow.subflow("sub", sub)
    flow.for_each("loop", "$expr{items}", body, max_iterations=5)
    for i in range(3):  # fan-out
        flow.node(f"s{i}", type="sleep", settings={"seconds": 0.01})
        flow.connect("start", f"s{i}")
    flow.node("bad", type="command", settings={"commands": ["exit 3"]})
    return flow


async def run_flow(tmp_path: Path, flow: FlowDefinition, **kw: Any) -> Any:
    rc = RunContext(project_root=tmp_path, run_root=tmp_path / "runs", **kw)
    rc.setup_run("obs")
    return await FlowRunner(flow, rc).run()


def check_tree(spans: list[dict[str, Any]], run_id: str) -> dict[str, dict[str, Any]]:
    ids = {sp["span_id"]: sp for sp in spans}
    assert len(ids) == len(spans)
    assert len({sp["trace_id"] for sp in spans}) == 1
    (root,) = [sp for sp in spans if sp["parent_span_id"] is None]
    assert root["attributes"]["dad.span_kind"] == "run" and root["attributes"]["dad.run_id"] == run_id
    for sp in spans:
        attrs = sp["attributes"]
        assert attrs["dad.run_id"] == run_id
        if sp is root:
            continue
        parent = ids[sp["parent_span_id"]]
        path, parent_path = attrs["dad.hier_path"], parent["attributes"]["dad.hier_path"]
        if attrs["dad.span_kind"] == "attempt":
            assert parent["attributes"]["dad.span_kind"] == "node" and parent_path == path
        elif attrs["dad.span_kind"] == "node":
            assert parent["attributes"]["dad.span_kind"] == "component"
            assert path.rsplit(".", 1)[0] == parent_path
        elif parent["attributes"]["dad.span_kind"] != "run":  # components below the root
            assert parent["attributes"]["dad.span_kind"] == "attempt"  # a subflow's or a loop's attempt
            assert path == parent_path or path.rsplit(".", 1)[0] == parent_path
        assert parent["start_time_unix_nano"] <= sp["start_time_unix_nano"] <= sp["end_time_unix_nano"]
        assert sp["end_time_unix_nano"] <= parent["end_time_unix_nano"]
    return {f"{sp['attributes']['dad.span_kind']}:{sp['attributes']['dad.hier_path']}": sp for sp in spans}


async def test_engine_run_writes_a_correct_span_tree(tmp_path: Path) -> None:
    result = await run_flow(tmp_path, sample_flow())
    assert result.status is Status.FAILED
    spans = read_spans(result.run_dir)
    tree = check_tree(spans, result.run_id)
    assert {k for k in tree if k.startswith("component:")} == {
        "component:f",
        "component:f.sub",
        "component:f.loop.iter_0",
        "component:f.loop.iter_1",
    }
    assert {k for k in tree if k.startswith("node:")} == {f"node:{p}" for p in result.nodes}
    bad = tree["node:f.bad"]
    assert bad["status"]["code"] == "ERROR"
    (exception,) = bad["events"]
    assert exception["attributes"]["exception.type"] == "NodeFailure"
    assert "exited with return code 3" in exception["attributes"]["exception.message"]
    assert tree["run:f"]["attributes"]["dad.status"] == "failed"
    outcomes = read_metrics(result.run_dir)["dad.node.outcomes"]
    assert sum(p["value"] for p in outcomes) == len(result.nodes)


async def test_two_concurrent_engine_runs_keep_their_traces_apart(tmp_path: Path) -> None:
    one, two = await asyncio.gather(run_flow(tmp_path, sample_flow("f")), run_flow(tmp_path, sample_flow("g")))
    assert one.run_dir != two.run_dir
    trees = []
    for result in (one, two):
        spans = read_spans(result.run_dir)
        trees.append(check_tree(spans, result.run_id))
        assert {sp["resource"]["dad.run_id"] for sp in spans} == {result.run_id}
    assert "run:f" in trees[0] and "run:g" in trees[1]
    assert not any(k.endswith(":g") or ":g." in k for k in trees[0])
    assert trees[0]["run:f"]["trace_id"] != trees[1]["run:g"]["trace_id"]


async def test_settings_as_mapping_and_master_switch(tmp_path: Path) -> None:
    flow = FlowDefinition(id="f")
    flow.node("a", type="noop")
    quiet = await run_flow(tmp_path, flow, observability_settings={"enabled": False})
    assert not (quiet.run_dir / "trace").exists()
    traces_only = await run_flow(tmp_path, flow, observability_settings={"metrics": False, "logs": False})
    assert [sp["name"] for sp in read_spans(traces_only.run_dir)][-1] == "run f"
    assert not (traces_only.run_dir / "trace" / "metrics.jsonl").exists()
