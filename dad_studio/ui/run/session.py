"""One run started from the studio: its engine objects, its folded state and its waiting inputs.

The session holds no Qt objects so that several runs can live side by side and the panels can be
pointed at any of them (the run selector). Events arrive from the engine's stream into `pending`
and are folded into `state` in batches by the controller (`apply_pending`), never one by one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dad_studio.engine import InputRequest, RunResult
from dad_studio.fileformat.project import DEFAULT_RUN_ROOT, ProjectError, find_project_root
from dad_studio.fileformat.project import project_dirs as fileformat_project_dirs
from dad_studio.model import ComponentDefinition
from dad_studio.runs.state import RunState

__all__ = ["LogRow", "PendingInput", "RunSession", "format_duration", "log_rows", "project_dirs"]

FOLD_CHECK = 64
"""Events folded between two clock reads (apply_pending with a deadline)."""

LogRow = tuple[str, str, str, str]
"""(time, level, hierarchy path, message)"""


def project_dirs(flow_path: Path | None, fallback: Path, *, strict: bool = False) -> tuple[Path, Path]:
    """(project root, run root) for a flow file: the rule the CLI uses too
    (dad_studio.fileformat.project). An untitled flow runs under `fallback/runs`.

    A broken `dad-studio.json` raises ProjectError when `strict` (starting a run must not guess where
    records go); views that only look for runs fall back to the project's default `runs` folder.
    """
    if flow_path is None:
        return fallback, fallback / "runs"
    try:
        return fileformat_project_dirs(flow_path)
    except ProjectError:
        if strict:
            raise
        root = find_project_root(flow_path)
        return root, root / DEFAULT_RUN_ROOT


def format_duration(ms: float | None) -> str:
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return f"{int(ms // 60_000)} min {int(ms % 60_000 / 1000)} s"


def log_rows(events: list[dict[str, Any]]) -> list[LogRow]:
    """(time, level, path, message) for the events that make a log line."""
    rows: list[LogRow] = []
    for event in events:
        etype = event.get("type")
        ts = str(event.get("ts", ""))[11:23]
        path = str(event.get("path", ""))
        if etype == "log":
            rows.append((ts, str(event.get("level") or "info").lower(), path, str(event.get("message", ""))))
        elif etype == "run_started":
            rows.append((ts, "info", path, f"run {event.get('run_id')} started"))
        elif etype == "node_completed" and event.get("status") == "failed":
            error = event.get("error")
            message = error.get("message") if isinstance(error, dict) else error
            rows.append((ts, "error", path, f"failed: {message}"))
        elif etype == "node_input_required":
            rows.append((ts, "info", path, "waiting for input"))
        elif etype == "run_completed":
            status = event.get("status")
            rows.append((ts, "error" if status == "failed" else "info", path, f"run {status}"))
    return rows


@dataclass
class PendingInput:
    """An input request the engine is waiting on; answering sets `future`."""

    session: RunSession
    request: InputRequest
    future: asyncio.Future[Any]
    asked_at: float = field(default_factory=time.monotonic)

    @property
    def path(self) -> str:
        return self.request.hier_path

    @property
    def prompt(self) -> str:
        prompt = self.request.request.get("prompt") if isinstance(self.request.request, dict) else None
        return str(prompt or "")


class RunSession:
    """A run of the studio: definition snapshot, run folder, folded state, inputs it waits on."""

    def __init__(
        self,
        number: int,
        component: ComponentDefinition,
        root_id: str,
        run_id: str,
        run_dir: Path,
        *,
        document: Any = None,
        flow_path: Path | None = None,
        state: RunState | None = None,
    ) -> None:
        self.number = number
        self.component = component
        """The snapshot of the document that runs (edits made during the run do not change it)."""
        self.root_id = root_id
        self.run_id = run_id
        self.run_dir = run_dir
        self.document = document
        """The FlowDocument it came from: the canvas shows the run only while that document is open."""
        self.flow_path = flow_path
        self.state = state if state is not None else RunState(component, root_id=root_id)
        """Folded events; a RunState of `component` made ahead of time (snapshot.py) may be given."""
        self.state.run_dir = str(run_dir)
        self.pending: list[dict[str, Any]] = []
        self.task: asyncio.Task[None] | None = None
        self.run_task: asyncio.Task[RunResult] | None = None
        """The engine's own task (RunStream.task): cancelling it stops the run cleanly."""
        self.result: RunResult | None = None
        self.error: str | None = None
        """Why the run could not start or ended abnormally (refused definition, engine error)."""
        self.inputs: dict[str, PendingInput] = {}
        self.started_mono: dict[str, float] = {}
        self.log_rows: list[LogRow] = []
        self.created = time.monotonic()
        self.wall_s: float | None = None
        self.finished = False
        """Set when the event stream has ended (before the studio's task itself returns)."""

    @property
    def status(self) -> str:
        if self.error is not None and self.result is None:
            return "error"
        if self.result is not None:
            return self.result.status.value
        return self.state.status if self.state.status != "pending" else "starting"

    @property
    def active(self) -> bool:
        return self.task is not None and not self.finished and not self.task.done()

    @property
    def label(self) -> str:
        return f"#{self.number} {self.run_id} — {self.status}"

    def apply_pending(
        self,
        *,
        deadline: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
        check: int = FOLD_CHECK,
    ) -> tuple[set[str], list[dict[str, Any]]]:
        """Fold the events received since the last call; returns (paths touched, the events folded).

        `deadline` (a `clock()` value): stop folding once it has passed (read every `check`
        events) and leave the rest in `pending` for the next call. A 1,000-node run sends ~15,000
        events a second and each costs ~5-10 us to fold, so one batch of a busy stretch would
        otherwise be one 10-20 ms stall of the GUI thread. At least `check` events are folded per
        call, so a deadline already passed still makes progress."""
        events = self.pending
        if not events:
            return set(), events
        self.pending = []
        state = self.state
        changed: set[str] = set()
        now = time.monotonic()
        done = len(events)
        for index, event in enumerate(events):
            if deadline is not None and index and index % check == 0 and clock() > deadline:
                done = index
                break
            state.apply(event)
            path = event.get("path")
            if isinstance(path, str):
                changed.add(path)
                if event.get("type") == "node_started":
                    self.started_mono[path] = now
        if done < len(events):
            # nothing appends while this runs (one thread): what is left goes back in front
            self.pending = events[done:] + self.pending
            events = events[:done]
        self.log_rows.extend(log_rows(events))
        return changed, events

    def elapsed_ms(self, path: str) -> float | None:
        start = self.started_mono.get(path)
        return None if start is None else (time.monotonic() - start) * 1000
