"""`run_batch`: one flow over every row of a rows file, resumable, with a record of each row.

The batch id defaults to a hash of the flow file's bytes and the rows file's bytes, so starting the
same batch again (after a crash, a Ctrl-C, a reboot) finds its record and runs only the rows that
have none. A row that was in flight when the driver died has no record: it runs again (its first,
interrupted run folder stays in the run root, listed as `interrupted`).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dad_studio.batch.job import BatchJob, JobSpec, RowResult
from dad_studio.batch.progress import BatchProgress, NullProgress
from dad_studio.batch.rows import BatchRow, load_rows
from dad_studio.batch.store import BatchStore, read_batch
from dad_studio.batch.summary import summarize
from dad_studio.model.node_types import NodeTypeRegistry
from dad_studio.runs.common import utc_timestamp

__all__ = ["BatchError", "BatchExecutor", "BatchReport", "default_batch_id", "run_batch"]

_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class BatchError(ValueError):
    """The batch cannot start (bad id, a record made from other files); nothing ran."""


class BatchExecutor(Protocol):
    name: str
    concurrency: int

    async def run(self, job: BatchJob, rows: list[BatchRow], emit: Any) -> None: ...


@dataclass
class BatchReport:
    """How a batch session ended."""

    batch_id: str
    batch_dir: Path
    record: dict[str, Any]
    results: dict[int, RowResult]
    ran: int
    """Rows run by this session (the others were done before it or are still pending)."""
    skipped: int
    """Rows skipped because an earlier session recorded them."""
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return bool(self.summary["pending"] == 0)

    @property
    def all_passed(self) -> bool:
        return self.complete and self.summary["not_passed"] == 0


def default_batch_id(flow_sha256: str, rows_sha256: str) -> str:
    return hashlib.sha256(f"{flow_sha256}:{rows_sha256}".encode()).hexdigest()[:12]


def _prefix(batch_id: str) -> str:
    """`batch_<short>`: the run id prefix of the batch's runs."""
    return f"batch_{batch_id[:24]}"


def _counts(summary: dict[str, Any]) -> dict[str, Any]:
    keys = ("rows", "done", "pending", "passed", "not_passed")
    return {**{k: summary[k] for k in keys}, **summary["by_status"]}


async def run_batch(
    flow_file: Path,
    rows_file: Path,
    *,
    run_root: Path | None = None,
    executor: BatchExecutor | None = None,
    batch_id: str | None = None,
    rerun_failed: bool = False,
    trusted: bool = True,
    durability: str = "process",
    resources: dict[str, Any] | None = None,
    observability_settings: Any = None,
    node_types: NodeTypeRegistry | None = None,
    progress: BatchProgress | None = None,
) -> BatchReport:
    """Run the rows that have no record yet (and, with `rerun_failed`, those that did not pass).

    Raises FlowLoadError, RowsFileError, BatchError or BatchBusy before anything runs; cancellation
    leaves the batch `interrupted`, every finished row recorded.
    """
    from dad_studio.batch.local import LocalExecutor

    setup = _setup(flow_file, rows_file, run_root, batch_id, trusted, durability, resources, observability_settings)
    spec, rows, flow_sha, rows_sha, root, rows_path, batch_id = setup
    job = BatchJob.load(spec, node_types)
    executor = executor or LocalExecutor()
    progress = progress or NullProgress()

    store = BatchStore(root, batch_id)
    with store:
        done = store.open()
        previous = _previous_record(store, flow_sha, rows_sha)
        todo = [r for r in rows if r.index not in done or (rerun_failed and not done[r.index].passed)]
        todo_indexes = {r.index for r in todo}
        record: dict[str, Any] = {
            "batch_id": batch_id,
            "flow_file": spec.flow_path,
            "flow_sha256": flow_sha,
            "rows_file": rows_path,
            "rows_sha256": rows_sha,
            "run_root": str(root),
            "run_id_prefix": spec.run_id_prefix,
            "created_at": previous.get("created_at") or utc_timestamp(),
            "status": "running",
            "executor": executor.name,
            "concurrency": executor.concurrency,
            "sessions": list(previous.get("sessions") or []),
            **store.identity(),
        }
        session: dict[str, Any] = {
            "started_at": utc_timestamp(),
            "executor": executor.name,
            "rows_to_run": len(todo),
            "rows_run": 0,
        }
        record["sessions"].append(session)

        def write(status: str, *, durable: bool = False) -> None:
            summary = summarize(store.results.values(), len(rows))
            record.update(status=status, counts=_counts(summary), summary=summary, **store.identity())
            store.write_batch(record, durable=durable)

        write("running", durable=True)
        skipped = len(rows) - len(todo)
        already_failed = sum(1 for r in done.values() if r.status != "completed" and r.index not in todo_indexes)
        progress.start(batch_id, len(rows), skipped, already_failed)
        last_write = time.monotonic()
        t0 = time.perf_counter()

        def emit(result: RowResult) -> None:
            nonlocal last_write
            store.record([result])
            session["rows_run"] += 1
            progress.advance(result)
            if time.monotonic() - last_write > 2.0:  # batch.json shows live counts to other readers
                last_write = time.monotonic()
                write("running")

        status = "failed"
        try:
            await executor.run(job, todo, emit)
            status = "completed" if len(store.results) == len(rows) else "interrupted"
        except (asyncio.CancelledError, KeyboardInterrupt):
            status = "interrupted"
            raise
        except BaseException as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            session.update(ended_at=utc_timestamp(), wall_s=round(time.perf_counter() - t0, 3))
            write(status, durable=True)
            progress.finish()
        summary = record["summary"]
        return BatchReport(batch_id, store.dir, record, dict(store.results), session["rows_run"], skipped, summary)


def _setup(
    flow_file: Path,
    rows_file: Path,
    run_root: Path | None,
    batch_id: str | None,
    trusted: bool,
    durability: str,
    resources: dict[str, Any] | None,
    observability_settings: Any,
) -> tuple[JobSpec, list[BatchRow], str, str, Path, str, str]:
    """Read both files and decide the batch id, run root and job spec (blocking file work)."""
    from dad_studio.batch.job import FlowLoadError

    flow_path = Path(flow_file).resolve()
    try:
        flow_bytes = flow_path.read_bytes()
    except OSError as exc:
        raise FlowLoadError([f"{flow_file}: cannot read ({exc.strerror or exc})"]) from None
    rows, rows_sha = load_rows(Path(rows_file))
    flow_sha = hashlib.sha256(flow_bytes).hexdigest()
    batch_id = batch_id or default_batch_id(flow_sha, rows_sha)
    if not _BATCH_ID.match(batch_id):
        raise BatchError(f"invalid batch id {batch_id!r}: letters, digits, _ . - (at most 64, not starting with . - _)")
    from dad_studio.fileformat.project import ProjectError, project_dirs

    try:  # the one project rule of the CLI and the studio (dad-studio.json, flows/, else the folder)
        project_root, default_root = project_dirs(flow_path)
    except ProjectError as exc:
        raise BatchError(str(exc)) from None
    root = Path(run_root).resolve() if run_root is not None else default_root
    spec = JobSpec(
        flow_path=str(flow_path),
        flow_bytes=flow_bytes,
        run_root=str(root),
        project_root=str(project_root),
        run_id_prefix=_prefix(batch_id),
        trusted=trusted,
        durability=durability,
        resources=dict(resources or {}),
        observability_settings=observability_settings,
    )
    return spec, rows, flow_sha, rows_sha, root, str(Path(rows_file).resolve()), batch_id


def _previous_record(store: BatchStore, flow_sha: str, rows_sha: str) -> dict[str, Any]:
    """The batch's earlier record, if any; refuses one made from another flow or rows file."""
    if not (store.dir / "batch.json").is_file():
        return {}
    try:
        previous = read_batch(store.dir)
    except (OSError, ValueError):
        return {}  # an unreadable record: rows.jsonl still holds what was done
    for key, value, what in (("flow_sha256", flow_sha, "flow file"), ("rows_sha256", rows_sha, "rows file")):
        if previous.get(key) not in (None, value):
            raise BatchError(
                f"batch {store.batch_id} was started with another {what} (sha256 {str(previous.get(key))[:12]}, "
                f"now {value[:12]}); give another --batch-id to start a new batch"
            )
    return previous
