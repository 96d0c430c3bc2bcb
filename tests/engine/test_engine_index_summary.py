"""The engine indexes a closed run from its summary; the rows equal those of a fresh read of the folder."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from dad_studio.engine import FlowRunner, RunContext
from dad_studio.model import FlowDefinition
from dad_studio.runs import RunIndex
from dad_studio.runs import index as index_module


def _rows(path: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        runs = conn.execute("SELECT * FROM runs ORDER BY run_id").fetchall()
        nodes = conn.execute("SELECT * FROM node_results ORDER BY run_id, path").fetchall()
    finally:
        conn.close()
    return runs, nodes


async def test_engine_index_equals_a_re_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_record_run(self: RunIndex, run_dir: Path) -> None:
        raise AssertionError("the engine re-read the run folder to index it")

    flow = FlowDefinition(id="f")
    flow.node("a", type="sleep", settings={"seconds": 0, "fail": True})
    flow.node("b", type="noop")
    flow.node("c", type="noop")
    flow.edges = []
    flow.connect("a", "b")
    flow.connect("a", "c", on_error=True)
    rc = RunContext(root_component_id="f", project_root=tmp_path, observability_settings={"enabled": False})
    rc.setup_run()
    monkeypatch.setattr(RunIndex, "record_run", no_record_run)
    runner = FlowRunner(flow, rc)
    result = await runner.run()
    assert runner.state is not None and runner.state.recorder is not None and result.run_dir is not None
    runner.state.recorder.wait_closed()
    monkeypatch.undo()
    engine_rows = _rows(result.run_dir.parent / index_module.INDEX_NAME)
    with RunIndex(tmp_path / "fresh") as fresh:
        fresh.record_run(result.run_dir)
    fresh_rows = _rows(tmp_path / "fresh" / index_module.INDEX_NAME)
    assert engine_rows == fresh_rows
    assert {row[1]: row[3] for row in engine_rows[1]} == {"f.a": "failed", "f.b": "skipped", "f.c": "completed"}
