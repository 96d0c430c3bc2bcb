"""The engine's side of observability: node logs correlated with their span, `model` on ai_model
results (dad.model, per-model metrics), and the logger when telemetry is off."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from engine_testnodes import make_registry

from dad_studio.engine import FlowRunner, RunContext, Status
from dad_studio.model import FlowDefinition
from dad_studio.observability import read_logs, read_metrics, read_spans
from dad_studio.runs import read_run


async def _run(tmp_path: Path, flow: FlowDefinition, **kw: Any) -> Any:
    rc = RunContext(root_component_id="f", project_root=tmp_path, **kw)
    rc.setup_run(run_id_prefix="w")
    return await FlowRunner(flow, rc, node_types=make_registry()).run()


async def test_node_logs_carry_the_node_path_and_its_span(tmp_path: Path) -> None:
    flow = FlowDefinition(id="f")
    flow.node("first", type="noop")
    flow.node("talk", type="log", settings={"message": "from talk"})
    result = await _run(tmp_path, flow)
    assert result.status is Status.COMPLETED
    logs = [r for r in read_logs(result.run_dir) if r["body"] == "from talk"]
    assert len(logs) == 1
    record = logs[0]
    assert record["attributes"]["dad.hier_path"] == "f.talk"
    spans = {sp["span_id"]: sp for sp in read_spans(result.run_dir)}
    span = spans[record["span_id"]]  # the log is correlated with the node's own span (or its attempt's)
    assert span["attributes"]["dad.hier_path"] == "f.talk" and span["trace_id"] == record["trace_id"]


async def test_without_telemetry_the_logger_is_the_plain_nodes_logger(tmp_path: Path, caplog: Any) -> None:
    flow = FlowDefinition(id="f")
    flow.node("talk", type="log", settings={"message": "plain"})
    with caplog.at_level(logging.WARNING, logger="dad_studio.nodes"):
        result = await _run(tmp_path, flow, observability_settings={"enabled": False})
    assert result.status is Status.COMPLETED
    assert [r.getMessage() for r in caplog.records if r.name == "dad_studio.nodes"] == ["plain"]
    assert not (result.run_dir / "trace").exists()


async def test_ai_model_results_name_their_model(tmp_path: Path) -> None:
    flow = FlowDefinition(id="f")
    flow.node("ask", type="ai_model", settings={"model": "echo", "prompt": "hello"})
    result = await _run(tmp_path, flow)
    assert result.status is Status.COMPLETED
    completed = next(e for e in read_run(result.run_dir).events if e["type"] == "node_completed")
    assert completed["model"] == "echo" == completed["outcome"]["model"]
    node_span = next(
        sp
        for sp in read_spans(result.run_dir)
        if sp["attributes"].get("dad.hier_path") == "f.ask" and sp["attributes"].get("dad.span_kind") == "node"
    )
    assert node_span["attributes"]["dad.model"] == "echo"
    points = read_metrics(result.run_dir)["dad.tokens"]
    assert points and all(p["attributes"]["dad.model"] == "echo" for p in points)
    assert sum(p["value"] for p in points) == completed["usage"]["total_tokens"] > 0
