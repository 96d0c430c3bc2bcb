"""Helpers to write sample runs through the real RunWriter (for tests of the store and its readers).

Lives in the package, not in a conftest, so the engine's, the CLI's and the studio's tests can build
run folders the same way without copying code.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from dad_studio.runs.common import utc_timestamp
from dad_studio.runs.writer import RunWriter


class EventLog:
    """Numbers events the way the engine does (seq 1, 2, 3 ..., ts in UTC) and appends them."""

    def __init__(self, writer: RunWriter) -> None:
        self.writer = writer
        self.seq = 0
        self.written: list[dict[str, Any]] = []

    def emit(self, type_: str, path: str, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        event = {"seq": self.seq, "ts": utc_timestamp(), "type": type_, "path": path, **fields}
        self.writer.append(event)
        self.written.append(event)
        return event

    def node(self, path: str, status: str = "completed", **fields: Any) -> dict[str, Any]:
        """node_started + node_completed of a noop node with a small usage."""
        self.emit("node_started", path, node_type="noop", attempt=1)
        values: dict[str, Any] = {
            "node_type": "noop",
            "status": status,
            "input": {"x": 1},
            "output": f"out of {path}",
            "outcome": None,
            "error": {"message": "boom", "type": "RuntimeError"} if status == "failed" else None,
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, "cost": 0.5},
            "started_at": utc_timestamp(),
            "ended_at": utc_timestamp(),
            "duration_ms": 1.5,
        }
        values.update(fields)
        return self.emit("node_completed", path, **values)


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return int(child.stdout)


def write_sample_run(
    run_dir: Path,
    *,
    nodes: tuple[tuple[str, str], ...] = (("main.a", "completed"), ("main.b", "completed")),
    skipped: tuple[str, ...] = (),
    final: str | None = "completed",
    started_at: str | None = None,
    flow: str = "main",
) -> list[dict[str, Any]]:
    """Write a small run; `final=None` leaves it as a kill -9 would (no run_completed, dead pid).

    Returns the events written.
    """
    run_dir = Path(run_dir)
    writer = RunWriter(run_dir)
    manifest: dict[str, Any] = {"root_component_id": flow, "flow_file": f"flows/{flow}.dad.json"}
    if started_at:
        manifest["started_at"] = started_at
    writer.open(manifest, b'{"id": "%s"}' % flow.encode())
    log = EventLog(writer)
    log.emit(
        "run_started",
        flow,
        run_id=run_dir.name,
        root_component_id=flow,
        previous_run_id=None,
        start_hierarchy_path=None,
        variables={},
    )
    for path, status in nodes:
        log.node(path, status)
    for path in skipped:
        log.emit("node_skipped", path, reason=f"no live edge into {path}")
    if final is None:
        writer.close()
        writer.update_manifest(status="running", ended_at=None, pid=dead_pid())  # what a kill -9 leaves
        return log.written
    counts: dict[str, int] = {}
    for _, status in nodes:
        counts[status] = counts.get(status, 0) + 1
    if skipped:
        counts["skipped"] = len(skipped)
    n = len(nodes)
    usage = {"prompt_tokens": n, "completion_tokens": 2 * n, "total_tokens": 3 * n, "cost": 0.5 * n}
    log.emit("run_completed", flow, status=final, counts=counts, usage=usage, duration_ms=12.0)
    writer.close(status=final, duration_ms=12.0)
    return log.written
