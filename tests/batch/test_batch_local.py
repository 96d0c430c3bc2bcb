"""Local batches: 200 rows with every kind of failure isolated, summary checked against the run
folders, the batch record and table, and resumption after a cancelled session."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest
from batch_testdata import NO_TRACES, PRICES, batch_run_dirs, demo_row, kind_of, write_flow, write_rows

from dad_studio.batch import (
    LocalExecutor,
    NullProgress,
    RowResult,
    batch_table,
    percentile,
    read_batch,
    read_row_results,
    run_batch,
    table_rows,
)
from dad_studio.runs import read_run

EXPECTED_STATUS = {
    "ok": "completed",
    "wrong_expectation": "completed",
    "node_fails": "failed",
    "bad_input": "failed",
    "unknown_variable": "error",
    "crash": "error",
}


@pytest.mark.usefixtures("crash_on_word")
async def test_batch_local_200_rows_failures_isolated_and_summary_matches_runs(tmp_path: Path) -> None:
    flow = write_flow(tmp_path)
    rows = write_rows(tmp_path, [demo_row(i) for i in range(200)])
    run_root = tmp_path / "runs"
    report = await run_batch(
        flow,
        rows,
        run_root=run_root,
        executor=LocalExecutor(8),
        resources={"prices": PRICES},
        observability_settings=NO_TRACES,
    )
    results = report.results
    assert sorted(results) == list(range(200))
    assert report.ran == 200 and report.skipped == 0
    for i, result in results.items():
        kind = kind_of(i)
        assert result.status == EXPECTED_STATUS[kind], (i, kind, result)
        assert result.passed is (kind == "ok"), (i, kind, result)
        assert result.label == f"row{i}"
        if kind == "unknown_variable":
            assert result.run_id is None and "unknown variable(s) bogus" in (result.error or "")
        elif kind == "crash":
            assert result.run_id is None and result.error == "RuntimeError: engine exploded"
        else:
            assert result.run_id is not None and result.run_id.startswith(f"batch_{report.batch_id}_run_")
    assert "division by zero" in (results[3].error or "")
    assert "expected an integer" in (results[7].error or "")
    wrong = {c["name"]: c for c in results[5].checks}
    assert wrong["demo.b.outcome.value equals 'nope'"] == {
        "name": "demo.b.outcome.value equals 'nope'",
        "passed": False,
        "message": "got 'w5-5'",
    }
    assert all(c["passed"] for c in results[0].checks) and len(results[0].checks) == 3

    # One folder per row that ran, each a normal run whose status is the row's.
    dirs = batch_run_dirs(run_root, report.batch_id)
    ran = {r.run_id: r for r in results.values() if r.run_id is not None}
    assert sorted(d.name for d in dirs) == sorted(ran)
    records = {d.name: read_run(d) for d in dirs}
    for run_id, record in records.items():
        assert record.status == ran[run_id].status
        assert record.manifest["variables"]["word"] == f"w{ran[run_id].index}"
        assert ran[run_id].latency_ms >= record.manifest["duration_ms"]

    # The summary, recomputed from the run folders.
    summary = report.summary
    kinds = [kind_of(i) for i in range(200)]
    assert summary["by_status"] == {
        s: sum(EXPECTED_STATUS[k] == s for k in kinds) for s in ("completed", "error", "failed")
    }
    assert summary["passed"] == kinds.count("ok") and summary["not_passed"] == 200 - kinds.count("ok")
    assert summary["pass_rate"] == pytest.approx(kinds.count("ok") / 200)
    run_costs = [rec.usage["cost"] for rec in records.values()]
    assert sum(run_costs) > 0
    assert summary["cost"]["sum"] == pytest.approx(math.fsum(run_costs), abs=1e-9)
    assert summary["cost"]["mean"] == pytest.approx(math.fsum(run_costs) / len(records), abs=1e-9)
    assert summary["tokens"] == sum(rec.usage["total_tokens"] for rec in records.values())
    latencies = sorted(ran[run_id].latency_ms for run_id in records)
    assert latencies[0] <= summary["latency_ms"]["p50"] <= summary["latency_ms"]["p90"] <= latencies[-1]
    assert summary["latency_ms"]["p99"] == pytest.approx(percentile(latencies, 99), abs=1e-3)

    # The record, rows.jsonl, the index table and the studio table all agree.
    record = read_batch(report.batch_dir)
    assert record["status"] == "completed" and record["summary"] == summary
    assert record["counts"]["done"] == 200 and record["counts"]["passed"] == kinds.count("ok")
    assert {i: r.to_json() for i, r in read_row_results(report.batch_dir).items()} == {
        i: r.to_json() for i, r in results.items()
    }
    table = table_rows(run_root, report.batch_id)
    assert [(t["row_index"], t["run_id"], t["status"], t["passed"]) for t in table] == [
        (i, results[i].run_id, results[i].status, results[i].passed) for i in range(200)
    ]
    view = batch_table(report.batch_dir)
    assert [v["status"] for v in view] == [results[i].status for i in range(200)]
    assert view[5]["checks"] == "2/3" and view[5]["failed_checks"] == ["demo.b.outcome.value equals 'nope': got 'w5-5'"]
    assert view[0]["run_dir"] == str(run_root / results[0].run_id)  # type: ignore[operator]


class CancelAfter(NullProgress):
    """Cancels the batch's task once `n` rows have finished in this session."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.task: asyncio.Task[object] | None = None

    def advance(self, result: RowResult) -> None:
        super().advance(result)
        if self.ran == self.n and self.task is not None:
            self.task.cancel()


async def test_batch_local_resumes_after_cancel_running_only_missing_rows(tmp_path: Path) -> None:
    flow = write_flow(tmp_path)
    rows = write_rows(tmp_path, [demo_row(i) for i in range(300) if kind_of(i) == "ok"][:100])
    run_root = tmp_path / "runs"
    progress = CancelAfter(30)
    task = asyncio.ensure_future(
        run_batch(
            flow,
            rows,
            run_root=run_root,
            executor=LocalExecutor(6),
            observability_settings=NO_TRACES,
            progress=progress,
        )
    )
    progress.task = task
    with pytest.raises(asyncio.CancelledError):
        await task
    batch_dir = next((run_root / "batches").iterdir())
    assert read_batch(batch_dir)["status"] == "interrupted"
    recorded = read_row_results(batch_dir)
    assert 30 <= len(recorded) < 100
    batch_id = batch_dir.name
    before = set(batch_run_dirs(run_root, batch_id))
    # Rows in flight at the cancel left closed run folders (mostly cancelled; one may have just
    # completed when the cancel landed) and no record: they run again.
    unrecorded = before - {run_root / r.run_id for r in recorded.values() if r.run_id}
    assert {read_run(d).status for d in unrecorded} <= {"cancelled", "completed"}
    assert len(unrecorded) <= 6

    report = await run_batch(flow, rows, run_root=run_root, executor=LocalExecutor(6), observability_settings=NO_TRACES)
    assert report.batch_id == batch_id
    assert report.skipped == len(recorded) and report.ran == 100 - len(recorded)
    new = set(batch_run_dirs(run_root, batch_id)) - before
    assert len(new) == 100 - len(recorded)
    assert {r.index for r in report.results.values() if r.run_id in {d.name for d in new}} == set(range(100)) - set(
        recorded
    )
    lines = (batch_dir / "rows.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["index"] for line in lines) == list(range(100))  # no row recorded twice
    assert report.all_passed and read_batch(batch_dir)["status"] == "completed"
    assert [s["rows_run"] for s in read_batch(batch_dir)["sessions"]] == [len(recorded), 100 - len(recorded)]

    again = await run_batch(flow, rows, run_root=run_root, executor=LocalExecutor(6), observability_settings=NO_TRACES)
    assert again.ran == 0 and again.skipped == 100
    assert set(batch_run_dirs(run_root, batch_id)) == before | new
