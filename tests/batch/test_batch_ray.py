"""Ray batches on a local Ray instance: 200 rows with failing rows isolated (including a row that
kills its worker process), and a batch resumed after a cancelled session."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_testdata import FLOW, NO_TRACES, PRICES, batch_run_dirs, demo_row, kind_of, write_flow, write_rows

from dad_studio.batch import NullProgress, RayExecutor, RowResult, read_batch, read_row_results, run_batch
from dad_studio.runs import read_run

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow

RAY_FLOW: dict[str, Any] = copy.deepcopy(FLOW)
RAY_FLOW["variables"]["cmd"] = "true"
RAY_FLOW["nodes"]["sh"] = {"type": "command", "settings": {"commands": ["$var{cmd}"]}}
RAY_FLOW["edges"].append({"from": "b", "to": "sh"})


def ray_row(i: int) -> dict[str, Any]:
    """demo_row, except that a "crash" row kills its Ray worker (the shell's parent) with SIGKILL."""
    row = demo_row(i)
    if kind_of(i) == "crash":
        row["variables"]["word"] = f"w{i}"
        row["variables"]["cmd"] = "kill -9 $PPID"
    return row


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.mark.usefixtures("local_ray")
async def test_batch_ray_200_rows_failures_and_worker_crash_isolated(tmp_path: Path) -> None:
    flow = write_flow(tmp_path, RAY_FLOW)
    rows = write_rows(tmp_path, [ray_row(i) for i in range(200)])
    run_root = tmp_path / "runs"
    report = await run_batch(
        flow,
        rows,
        run_root=run_root,
        executor=RayExecutor(8),
        resources={"prices": PRICES},
        observability_settings=NO_TRACES,
    )
    results = report.results
    assert sorted(results) == list(range(200))
    expected = {"ok": "completed", "wrong_expectation": "completed", "node_fails": "failed", "bad_input": "failed"}
    workers = set()
    for i, r in results.items():
        kind = kind_of(i)
        assert r.passed is (kind == "ok"), (i, kind, r)
        if kind == "crash":
            assert r.status == "error" and r.run_id is None
            assert (r.error or "").startswith("ray task failed:"), r.error
        elif kind == "unknown_variable":
            assert r.status == "error" and r.run_id is None
        else:
            assert r.status == expected[kind], (i, kind, r)
            assert r.run_id is not None
            workers.add(r.worker)
    assert len(workers) >= 2  # rows really ran in Ray worker processes (and not in this one)
    assert not any(w.endswith(f":{__import__('os').getpid()}") for w in workers)

    dirs = {d.name: d for d in batch_run_dirs(run_root, report.batch_id)}
    ran = {r.run_id for r in results.values() if r.run_id}
    assert ran <= set(dirs)
    orphans = set(dirs) - ran  # the runs whose worker was killed under them
    assert len(orphans) == sum(kind_of(i) == "crash" for i in range(200))
    assert {read_run(dirs[o]).status for o in orphans} == {"interrupted"}
    costs = [read_run(dirs[run_id]).usage["cost"] for run_id in ran]
    assert report.summary["cost"]["sum"] == pytest.approx(sum(costs), abs=1e-9) and sum(costs) > 0
    assert report.summary["passed"] == sum(kind_of(i) == "ok" for i in range(200))
    assert read_batch(report.batch_dir)["executor"] == "ray"


class CancelAfter(NullProgress):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.task: asyncio.Task[object] | None = None

    def advance(self, result: RowResult) -> None:
        super().advance(result)
        if self.ran == self.n and self.task is not None:
            self.task.cancel()


@pytest.mark.usefixtures("local_ray")
async def test_batch_ray_resumes_after_cancel(tmp_path: Path) -> None:
    flow = write_flow(tmp_path, RAY_FLOW)
    rows = write_rows(tmp_path, [ray_row(i) for i in range(300) if kind_of(i) == "ok"][:60])
    run_root = tmp_path / "runs"
    progress = CancelAfter(20)
    task = asyncio.ensure_future(
        run_batch(
            flow,
            rows,
            run_root=run_root,
            executor=RayExecutor(4, rows_per_task=2),
            progress=progress,
            observability_settings=NO_TRACES,
        )
    )
    progress.task = task
    with pytest.raises(asyncio.CancelledError):
        await task
    batch_dir = next((run_root / "batches").iterdir())
    recorded = read_row_results(batch_dir)
    assert 20 <= len(recorded) < 60
    assert read_batch(batch_dir)["status"] == "interrupted"
    before = set(batch_run_dirs(run_root, batch_dir.name))

    report = await run_batch(
        flow, rows, run_root=run_root, executor=RayExecutor(4, rows_per_task=2), observability_settings=NO_TRACES
    )
    assert report.skipped == len(recorded) and report.ran == 60 - len(recorded)
    new = set(batch_run_dirs(run_root, batch_dir.name)) - before
    assert {d.name for d in new} == {r.run_id for i, r in report.results.items() if i not in recorded}
    assert report.all_passed and sorted(read_row_results(batch_dir)) == list(range(60))
