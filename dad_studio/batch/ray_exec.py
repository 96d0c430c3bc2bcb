"""The Ray executor: rows as Ray tasks, on an existing cluster or a local `ray.init()`.

Each task is a plain `@ray.remote` function that loads the job once per worker process (cached by
the spec's key), then runs its rows with `asyncio.run` in the worker. `rows_per_task` is 1 by
default (one row per task, so a crashing worker loses exactly one row); a larger value runs that
many rows concurrently inside one task, which is how IO-bound flows get past one row per CPU.

The driver keeps at most `concurrency` rows in flight, records rows as their tasks finish
(`ray.wait`), and turns a task that died (worker crash, OOM kill) into `error` rows: tasks are not
retried (`max_retries=0`), since a row that kills its worker would kill the next one too.

Run folders are written by the workers under the batch's run root, which must be a path every
worker reaches (one machine, or a shared filesystem mounted at the same path); nothing is shipped
back to the driver except each row's RowResult. The workers need dad-studio (and the flow's node
type plugins) installed: `pip install dad-studio[ray]` on every node.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from dad_studio.batch.job import BatchJob, JobSpec, RowResult, job_for_spec
from dad_studio.batch.local import run_rows_concurrently
from dad_studio.batch.rows import BatchRow

__all__ = ["RayExecutor", "ray_run_rows"]


def ray_run_rows(spec: JobSpec, rows: list[dict[str, Any]], concurrency: int) -> list[dict[str, Any]]:
    """The body of one Ray task (runs in a worker process)."""
    job = job_for_spec(spec)
    out: list[dict[str, Any]] = []
    parsed = [BatchRow.from_json(r) for r in rows]
    asyncio.run(run_rows_concurrently(job, parsed, concurrency, lambda r: out.append(r.to_json())))
    return out


CANCEL_SETTLE_S = 30.0
"""How long a cancelled batch waits for its force-cancelled Ray tasks to end."""


def _settle(ray: Any, refs: list[Any], timeout: float) -> None:
    ray.wait(refs, num_returns=len(refs), timeout=timeout)


def _wait(ray: Any, refs: list[Any], timeout: float) -> list[Any]:
    """Every ref that is ready: block for the first (up to `timeout`), then take the rest without waiting."""
    ready, rest = ray.wait(refs, num_returns=1, timeout=timeout)
    if ready and rest:
        more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
        ready.extend(more)
    return list(ready)


class RayExecutor:
    """`--executor ray [--ray-address ADDR]`."""

    name = "ray"

    def __init__(
        self,
        concurrency: int = 8,
        *,
        address: str | None = None,
        rows_per_task: int = 1,
        num_cpus: float = 1.0,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if concurrency < 1 or rows_per_task < 1:
            raise ValueError("concurrency and rows_per_task must be at least 1")
        self.concurrency = concurrency
        self.address = address
        self.rows_per_task = rows_per_task
        self.num_cpus = num_cpus
        self.init_kwargs = init_kwargs or {}

    def _connect(self) -> tuple[Any, bool]:
        try:
            import ray
        except ImportError:
            raise RuntimeError("the Ray executor needs Ray: pip install 'dad-studio[ray]'") from None
        if ray.is_initialized():
            return ray, False
        if self.address:
            ray.init(address=self.address, **self.init_kwargs)
        else:
            ray.init(**{"num_cpus": 2, "include_dashboard": False, **self.init_kwargs})
        return ray, True

    async def run(self, job: BatchJob, rows: list[BatchRow], emit: Callable[[RowResult], None]) -> None:
        ray, started = await asyncio.to_thread(self._connect)
        try:
            await self._run(ray, job, rows, emit)
        finally:
            if started:
                ray.shutdown()

    async def _run(self, ray: Any, job: BatchJob, rows: list[BatchRow], emit: Callable[[RowResult], None]) -> None:
        task = ray.remote(num_cpus=self.num_cpus, max_retries=0)(ray_run_rows)
        spec_ref = ray.put(job.spec)
        k = self.rows_per_task
        chunks = [rows[i : i + k] for i in range(0, len(rows), k)]
        max_tasks = max(1, self.concurrency // k)
        in_flight: dict[Any, list[BatchRow]] = {}
        next_chunk = 0
        try:
            while next_chunk < len(chunks) or in_flight:
                while next_chunk < len(chunks) and len(in_flight) < max_tasks:
                    chunk = chunks[next_chunk]
                    next_chunk += 1
                    ref = task.remote(spec_ref, [r.to_json() for r in chunk], min(k, self.concurrency))
                    in_flight[ref] = chunk
                for ref in await asyncio.to_thread(_wait, ray, list(in_flight), 0.5):
                    chunk = in_flight.pop(ref)
                    for result in self._collect(ray, ref, chunk):
                        emit(result)
        except BaseException:
            refs = list(in_flight)
            for ref in refs:
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # already finished or the cluster is gone: nothing left to stop
                    continue
            if refs:
                # A force-cancel kills the worker asynchronously: wait until every cancelled task has
                # ended, so no run folder appears after the batch says it stopped (a resume would
                # otherwise race with rows still being written by the old tasks).
                await asyncio.to_thread(_settle, ray, refs, CANCEL_SETTLE_S)
            raise

    @staticmethod
    def _collect(ray: Any, ref: Any, chunk: list[BatchRow]) -> list[RowResult]:
        try:
            values = ray.get(ref)
        except Exception as exc:  # the task died (worker crash, cancelled, unpicklable...): its rows failed
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            error = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
            return [
                RowResult(row.index, "error", False, error=f"ray task failed: {error}", label=row.label)
                for row in chunk
            ]
        return [RowResult.from_json(v) for v in values]
