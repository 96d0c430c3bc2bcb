"""The local executor: rows as asyncio tasks in this process, at most `concurrency` at a time.

A fixed pool of `concurrency` worker coroutines pulls rows from one iterator, so a batch of a
million rows holds `concurrency` tasks, not a million. Each row is its own RunContext and run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from dad_studio.batch.job import BatchJob, RowResult, run_row
from dad_studio.batch.rows import BatchRow

__all__ = ["LocalExecutor", "run_rows_concurrently"]


async def _safe_run_row(job: BatchJob, row: BatchRow) -> RowResult:
    try:
        return await run_row(job, row)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # run_row records its own failures; this is a bug in it, still one row
        return RowResult(row.index, "error", False, error=f"{type(exc).__name__}: {exc}", label=row.label)


async def run_rows_concurrently(
    job: BatchJob, rows: Iterable[BatchRow], concurrency: int, emit: Callable[[RowResult], None]
) -> None:
    """Run every row, `concurrency` at a time; `emit` is called as each one ends (in end order)."""
    pending = iter(rows)

    async def worker() -> None:
        for row in pending:  # one shared iterator: each row is taken exactly once
            emit(await _safe_run_row(job, row))

    async with asyncio.TaskGroup() as group:
        for _ in range(max(1, concurrency)):
            group.create_task(worker())


class LocalExecutor:
    """`--executor local` (the default)."""

    name = "local"

    def __init__(self, concurrency: int = 8) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency

    async def run(self, job: BatchJob, rows: list[BatchRow], emit: Callable[[RowResult], None]) -> None:
        await run_rows_concurrently(job, rows, self.concurrency, emit)
