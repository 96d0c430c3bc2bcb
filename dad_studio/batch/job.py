"""One batch job (the flow loaded once) and `run_row`: one row, one normal run folder.

`run_row` never raises for a row's own trouble: a row the flow cannot take (unknown variable, input
for no element), a failing node, even an exception out of the engine, all end as a RowResult with a
status and an error, so the batch goes on. Only cancellation propagates: an interrupted row is not
recorded, and runs again when the batch is resumed.

The job is built once per batch in the driver, and once per worker process on Ray (`JobSpec` is the
plain, picklable description that crosses to the workers; `job_for_spec` caches per process).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dad_studio.batch.expect import RunOutcome, evaluate_expectation
from dad_studio.batch.rows import BatchRow
from dad_studio.model.definitions import ComponentDefinition
from dad_studio.model.node_types import NodeTypeRegistry, default_registry

__all__ = ["BatchJob", "FlowLoadError", "JobSpec", "RowResult", "job_for_spec", "run_row"]

ROW_STATUSES = ("completed", "failed", "cancelled", "error")
"""A row's status: its run's status, or `error` when no run could be made or the executor broke."""


class FlowLoadError(ValueError):
    """The flow file cannot be run; `problems` are the loader's formatted problems."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class JobSpec:
    """Everything a process needs to build the job: plain values (shipped to Ray workers)."""

    flow_path: str
    flow_bytes: bytes
    run_root: str
    project_root: str
    run_id_prefix: str
    trusted: bool = True
    durability: str = "process"
    resources: dict[str, Any] = field(default_factory=dict)
    observability_settings: Any = None

    @property
    def key(self) -> str:
        head = f"{self.flow_path}\0{self.run_root}\0{self.run_id_prefix}\0{self.trusted}\0{self.durability}"
        return hashlib.sha256(head.encode() + b"\0" + self.flow_bytes).hexdigest()


@dataclass
class RowResult:
    """How one row ended; one line of the batch's rows.jsonl and one row of `batch_rows`."""

    index: int
    status: str
    passed: bool
    run_id: str | None = None
    latency_ms: float = 0.0
    cost: float = 0.0
    tokens: int = 0
    error: str | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)
    label: str | None = None
    worker: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "status": self.status,
            "passed": self.passed,
            "run_id": self.run_id,
            "latency_ms": self.latency_ms,
            "cost": self.cost,
            "tokens": self.tokens,
            "error": self.error,
            "checks": self.checks,
            "label": self.label,
            "worker": self.worker,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RowResult:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def _element_paths(component: ComponentDefinition, path: str, ids: set[str], out: list[str]) -> None:
    for nid, node in component.nodes.items():
        child = f"{path}.{nid}"
        ids.add(nid)
        out.append(child)
        if node.body is not None:
            _element_paths(node.body, child, ids, out)


class BatchJob:
    """The flow of a batch, loaded and checked once, and what every row's RunContext shares."""

    def __init__(self, spec: JobSpec, component: ComponentDefinition, node_types: NodeTypeRegistry) -> None:
        self.spec = spec
        self.component = component
        self.node_types = node_types
        self.root_id = component.id or "root"
        self.flow_path = Path(spec.flow_path)
        self.run_root = Path(spec.run_root)
        self.project_root = Path(spec.project_root)
        ids: set[str] = set()
        paths: list[str] = []
        _element_paths(component, self.root_id, ids, paths)
        self.element_paths = tuple(paths)
        self._input_keys = frozenset(ids) | frozenset(paths)
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    @classmethod
    def load(cls, spec: JobSpec, node_types: NodeTypeRegistry | None = None) -> BatchJob:
        """Load the flow from the spec's bytes; FlowLoadError lists every problem."""
        from dad_studio.fileformat import loads_flow

        registry = node_types if node_types is not None else default_registry()
        loaded = loads_flow(spec.flow_bytes, path=Path(spec.flow_path), registry=registry)
        if loaded.component is None or loaded.errors:
            problems = [p.format(Path(spec.flow_path)) for p in loaded.problems]
            raise FlowLoadError(problems or [f"{spec.flow_path}: cannot be loaded"])
        return cls(spec, loaded.component, registry)

    def row_problem(self, row: BatchRow) -> str | None:
        """Why the flow cannot take this row, checked before a run folder is made."""
        unknown = sorted(set(row.variables) - set(self.component.variables))
        if unknown:
            declared = ", ".join(sorted(self.component.variables)) or "(none)"
            return f"unknown variable(s) {', '.join(unknown)}; the flow declares: {declared}"
        missing = sorted(k for k in row.inputs if k not in self._input_keys)
        if missing:
            return f"input for no element: {', '.join(missing)}"
        return None


_JOBS: dict[str, BatchJob] = {}


def job_for_spec(spec: JobSpec) -> BatchJob:
    """The job of this spec in this process, loaded on first use (Ray workers load a flow once)."""
    job = _JOBS.get(spec.key)
    if job is None:
        job = BatchJob.load(spec)
        _JOBS.clear()  # one batch at a time per worker: keep memory flat
        _JOBS[spec.key] = job
    return job


class _Collector:
    """Keeps each element's latest result from the run's events, for the checks (no re-read)."""

    def __init__(self) -> None:
        self.results: dict[str, Any] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        etype = event["type"]
        if etype == "node_skipped":
            self.results[event["path"]] = {"status": "skipped", "reason": event.get("reason")}
        else:
            self.results[event["path"]] = {k: v for k, v in event.items() if k not in ("seq", "ts", "type", "path")}


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def run_row(job: BatchJob, row: BatchRow) -> RowResult:
    """Run one row as its own run (its own RunContext: nothing shared with other rows)."""
    from dad_studio.engine import FlowRunner, IsolatedExecution, RunContext

    t0 = time.perf_counter()

    def done(status: str, passed: bool, **fields: Any) -> RowResult:
        latency = round((time.perf_counter() - t0) * 1000, 3)
        return RowResult(row.index, status, passed, latency_ms=latency, label=row.label, worker=job.worker, **fields)

    problem = job.row_problem(row)
    if problem is not None:
        return done("error", False, error=problem)
    spec = job.spec
    rc = RunContext(
        root_component_id=job.root_id,
        project_root=job.project_root,
        run_root=job.run_root,
        inputs=dict(row.inputs),
        variables=dict(row.variables),
        durability="power" if spec.durability == "power" else "process",
        trusted=spec.trusted,
        flow_path=job.flow_path,
        resources=dict(spec.resources),
        observability_settings=spec.observability_settings,
    )
    collector = _Collector()
    try:
        rc.setup_run(run_id_prefix=spec.run_id_prefix)
        for etype in ("node_completed", "node_loaded", "node_skipped"):
            rc.register_event_handler(etype, collector)
        runner = FlowRunner(job.component, rc, node_types=job.node_types)
        async with IsolatedExecution(rc) as execution:
            result = await execution.run(runner)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the engine broke on this row: record it, keep the batch going
        made = rc.run_dir is not None and rc.run_dir.is_dir()  # a folder to open, or none at all
        return done("error", False, run_id=rc.run_id if made else None, error=_error_text(exc))
    results = collector.results
    for path, status in result.nodes.items():
        results.setdefault(path, {"status": status})
    variables = {
        **job.component.variables,
        **row.variables,
        "run_id": result.run_id,
        "run_dir": str(result.run_dir),
        "run_root": str(job.run_root),
        "project_root": str(job.project_root),
    }
    outcome = RunOutcome(result.status.value, job.root_id, variables, results, job.element_paths, spec.trusted)
    passed, checks = evaluate_expectation(row.expect, outcome)
    return done(
        result.status.value,
        passed,
        run_id=result.run_id,
        cost=float(result.usage.cost),
        tokens=int(result.usage.total_tokens),
        error=_first_error(results, result.input_unavailable),
        checks=[c.to_json() for c in checks],
    )


def _first_error(results: dict[str, Any], input_unavailable: list[str]) -> str | None:
    """The first failed element's message, for the table (the run folder has the rest)."""
    for path, res in results.items():
        if res.get("status") == "failed":
            error = res.get("error")
            message = error.get("message") if isinstance(error, dict) else error
            return f"{path}: {message}" if message else f"{path} failed"
    if input_unavailable:
        return f"input required by {', '.join(input_unavailable)} and none given"
    return None
