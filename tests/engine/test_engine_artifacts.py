"""Recorded artifacts are copied into the run's artifacts/ folder; events name them relative to it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dad_studio.engine import FlowRunner, RunContext
from dad_studio.model import FlowDefinition


def _flow(out: Path) -> FlowDefinition:
    flow = FlowDefinition(id="f")
    flow.node(
        "w",
        type="file_operation",
        settings={
            "base_directory": str(out),
            "operations": [
                {"type": "create_file", "path": "report.md", "content": "# one"},
                {"type": "create_file", "path": "sub/report.md", "content": "# two, longer"},
                {"type": "create_file", "path": "data.json", "content": "{}"},
            ],
        },
    )
    flow.node("after", type="noop")
    return flow


async def _run(flow: FlowDefinition, root: Path, **kw: Any) -> Path:
    rc = RunContext(root_component_id="f", project_root=root, observability_settings={"enabled": False}, **kw)
    result = await FlowRunner(flow, rc).run()
    assert result.status.value == "completed" and result.run_dir is not None
    return result.run_dir


def _events(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


async def test_recorded_files_are_copied_and_named_inside_artifacts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    run_dir = await _run(_flow(out), tmp_path)
    events = _events(run_dir)
    written = [e for e in events if e["type"] == "artifact_written"]
    assert [e["artifact"] for e in written] == ["f/w/report.md", "f/w/report_2.md", "f/w/data.json"]
    assert [e["size"] for e in written] == [5, 13, 2]
    assert [e["media_type"] for e in written] == ["text/markdown", "text/markdown", "application/json"]
    assert (run_dir / "artifacts/f/w/report_2.md").read_text() == "# two, longer"
    (out / "report.md").write_text("changed later")
    assert (run_dir / "artifacts/f/w/report.md").read_text() == "# one"  # a copy, not the file itself
    types = [e["type"] for e in events if e["path"] == "f.w"]
    assert types.index("node_completed") > max(i for i, t in enumerate(types) if t == "artifact_written")


async def test_rerun_copies_the_artifacts_of_loaded_elements(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    flow = _flow(out)
    first = await _run(flow, tmp_path)
    second = await _run(flow, tmp_path, previous_run_id=first.name, start_hierarchy_path="f.after")
    loaded = {e["path"] for e in _events(second) if e["type"] == "node_loaded"}
    assert loaded == {"f.w"}
    assert (second / "artifacts/f/w/data.json").read_text() == "{}"
    assert (second / "artifacts/f/w/report.md").read_text() == "# one"


async def test_a_recorded_file_that_vanished_is_logged(tmp_path: Path) -> None:
    from dad_studio.engine.node_context import EngineNodeContext
    from dad_studio.nodes.base import NodeOutput

    events: list[dict[str, Any]] = []

    class Gone:
        async def execute(self, ctx: EngineNodeContext, settings: Any) -> NodeOutput:
            ctx.record_artifact(tmp_path / "never-written.txt")
            return NodeOutput()

    flow = FlowDefinition(id="f")
    flow.node("g", type="noop")
    rc = RunContext(root_component_id="f", project_root=tmp_path, observability_settings={"enabled": False})
    rc.register_event_handler("*", events.append)
    runner = FlowRunner(flow, rc)
    runner.registry._executors["noop"] = Gone()
    assert (await runner.run()).status.value == "completed"
    logs = [e for e in events if e["type"] == "log"]
    assert len(logs) == 1 and logs[0]["level"] == "warning" and "never-written.txt" in logs[0]["message"]
    assert not any(e["type"] == "artifact_written" for e in events)
