"""A past run as a RunSession, so that the live run panels and canvas overlay show it unchanged.

The issue-8 panels (context, outcomes) and `CanvasRunOverlay` read `session.state`; here that is
the replay's cursor at the current step. Moving the step tells them which hierarchy paths changed
(the paths of the events between the old and the new step), so one step costs O(events crossed)
in the views, not O(elements); a long jump or a step back that removes rows rebuilds them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dad_studio.model.definitions import ComponentDefinition, FlowDefinition
from dad_studio.runs.common import parse_utc
from dad_studio.runs.replay import Replay
from dad_studio.ui.run.session import RunSession, log_rows

__all__ = ["INCREMENTAL_LIMIT", "ReplaySession", "parse_ts"]

INCREMENTAL_LIMIT = 300
"""Jumps over more events than this rebuild the views instead of updating paths one by one."""


parse_ts = parse_utc
"""An event's `ts` or a node's `started_at` as an aware datetime (kept under its old name)."""


class ReplaySession(RunSession):
    """A run folder stepped through with `Replay`; `step` events applied (0 = before any)."""

    def __init__(self, replay: Replay, *, document: Any = None, number: int = 0) -> None:
        component = (
            replay.flow if replay.flow is not None else FlowDefinition(id=replay.manifest.get("root_component_id"))
        )
        root_id = str(replay.manifest.get("root_component_id") or component.id or "root")
        flow_file = replay.manifest.get("flow_file")
        super().__init__(
            number,
            FlowDefinition(id=component.id),  # the base class folds its definition: not needed here
            root_id,
            str(replay.manifest.get("run_id") or Path(replay.run_dir).name),
            Path(replay.run_dir),
            document=document,
            flow_path=Path(flow_file) if isinstance(flow_file, str) and flow_file else None,
        )
        self.component = component
        self.replay = replay
        self.step = 0
        self.state = replay.state_at(0)
        self.root_id = self.state.root_id

    @property
    def component_def(self) -> ComponentDefinition:
        return self.component

    def __len__(self) -> int:
        return len(self.replay)

    @property
    def status(self) -> str:
        return self.replay.status

    def go_to(self, k: int) -> set[str] | None:
        """Move to step k; returns the paths whose state changed, or None when the views must rebuild."""
        k = max(0, min(k, len(self.replay)))
        old = self.step
        low, high = min(old, k), max(old, k)
        crossed = self.replay.events[low:high]
        self.state = self.replay.state_at(k)
        self.step = k
        if self.state.root_id != self.root_id:
            self.root_id = self.state.root_id
            return None
        if high - low > INCREMENTAL_LIMIT:
            return None
        changed = {e["path"] for e in crossed if isinstance(e.get("path"), str)}
        if k < old:
            state = self.state
            if any(p not in state.nodes and p not in state.components and p != state.root_id for p in changed):
                return None  # rows (a loop iteration, an element) that did not exist yet at step k
        return changed

    def events_to(self, k: int) -> list[dict[str, Any]]:
        return self.replay.events[:k]

    def log_rows_to(self, k: int) -> None:
        self.log_rows = log_rows(self.replay.events[:k])

    def elapsed_ms(self, path: str) -> float | None:
        """How long the element had been running at this step (from the record, not the clock)."""
        view = self.state.nodes.get(path)
        if view is None or self.step == 0:
            return None
        start = parse_ts(view.started_at)
        now = parse_ts(self.replay.events[self.step - 1].get("ts"))
        if start is None or now is None:
            return None
        return max(0.0, (now - start).total_seconds() * 1000)

    def event_label(self, k: int) -> str:
        if k == 0:
            return "before the first event"
        event = self.replay.events[k - 1]
        extra = event.get("status") or event.get("node_type") or event.get("level") or ""
        return f"#{event.get('seq', k)} {event.get('type')} · {event.get('path')}" + (f" · {extra}" if extra else "")
