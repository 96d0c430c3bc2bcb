"""RunIndex.record_summary: what the engine hands over at close gives the index record_run would build."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from dad_studio.runs import BLOB_THRESHOLD, RunIndex, RunWriter, read_run
from dad_studio.runs import index as index_module
from dad_studio.runs.reader import read_manifest
from dad_studio.runs.testing import EventLog, write_sample_run


def _rows(index: RunIndex) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    conn = sqlite3.connect(index.path)
    try:
        runs = conn.execute("SELECT * FROM runs ORDER BY run_id").fetchall()
        nodes = conn.execute("SELECT * FROM node_results ORDER BY run_id, path").fetchall()
    finally:
        conn.close()
    return runs, nodes


def _write_runs(root: Path) -> list[Path]:
    write_sample_run(root / "r1", started_at="2025-02-01T00:00:01.000000Z")
    write_sample_run(
        root / "r2",
        started_at="2025-02-01T00:00:02.000000Z",
        nodes=(("main.a", "completed"), ("main.b", "failed")),
        skipped=("main.c",),
        final="failed",
    )
    write_sample_run(root / "r3", started_at="2025-02-01T00:00:03.000000Z", final=None)  # killed
    writer = RunWriter(root / "r4")
    writer.open({"root_component_id": "main", "variables": {"topic": "x"}}, b"{}")
    log = EventLog(writer)
    log.node("main.a", usage={"total_tokens": 7, "cost": 0.25})
    log.node("main.b", output="x" * (BLOB_THRESHOLD + 10), usage={"total_tokens": 3, "cost": 0.5})
    writer.close(status="completed")  # no run_completed event: counts and usage summed from the rows
    return [root / name for name in ("r1", "r2", "r3", "r4")]


def test_same_index_content_as_record_run(tmp_path: Path) -> None:
    runs = _write_runs(tmp_path / "root")
    with RunIndex(tmp_path / "by_read") as by_read, RunIndex(tmp_path / "by_summary") as by_summary:
        for run_dir in runs:
            by_read.record_run(run_dir)
            by_summary.record_summary(read_manifest(run_dir), read_run(run_dir).results, run_dir=run_dir)
        read_runs, read_nodes = _rows(by_read)
        summary_runs, summary_nodes = _rows(by_summary)
    assert summary_runs == read_runs
    assert summary_nodes == read_nodes
    assert len(read_runs) == 4 and len(read_nodes) == 9
    statuses = {row[0]: row[2] for row in read_runs}
    assert statuses == {"r1": "completed", "r2": "failed", "r3": "interrupted", "r4": "completed"}
    tokens = {row[0]: row[15] for row in read_runs}
    assert tokens["r4"] == 10


def test_run_dir_defaults_to_the_run_root(tmp_path: Path) -> None:
    (run_dir,) = _write_runs(tmp_path)[:1]
    with RunIndex(tmp_path) as index:
        index.record_summary(read_manifest(run_dir), read_run(run_dir).results)
        (listed,) = index.list(refresh=False)
    assert listed["run_id"] == "r1" and listed["status"] == "completed"


def test_stamped_so_a_refresh_reads_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dirs = _write_runs(tmp_path)
    with RunIndex(tmp_path) as index:
        for run_dir in run_dirs:
            index.record_summary(read_manifest(run_dir), read_run(run_dir).results)

        def no_read(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("refresh re-read a folder that record_summary had indexed")

        monkeypatch.setattr(index_module, "read_run", no_read)
        listed = index.list()
    assert {m["run_id"] for m in listed} == {"r1", "r2", "r3", "r4"}


def test_a_summary_without_run_id_is_refused(tmp_path: Path) -> None:
    with RunIndex(tmp_path) as index, pytest.raises(ValueError, match="run_id"):
        index.record_summary({"status": "completed"}, {})
