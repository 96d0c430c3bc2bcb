"""Synthetic event streams shaped like the engine's (RUNS.md), for the observability tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


class EventStream:
    """Makes events with gapless seq and a clock that advances 1 ms per event (or as told)."""

    def __init__(self, root: str = "root", run_id: str = "test_run_20250301_120000_abcdef") -> None:
        self.root = root
        self.run_id = run_id
        self.seq = 0
        self.now = T0
        self.events: list[dict[str, Any]] = []

    def ts_ns(self, event: dict[str, Any]) -> int:
        moment = datetime.fromisoformat(event["ts"])
        return int((moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1)) * 1000

    def emit(self, type_: str, path: str, *, advance_ms: float = 1.0, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        self.now += timedelta(milliseconds=advance_ms)
        event = {"seq": self.seq, "ts": self.now.isoformat(), "type": type_, "path": path, **fields}
        self.events.append(event)
        return event

    def run_started(self) -> dict[str, Any]:
        return self.emit(
            "run_started",
            self.root,
            run_id=self.run_id,
            root_component_id=self.root,
            previous_run_id=None,
            start_hierarchy_path=None,
            variables={},
        )

    def component(self, path: str, kind: str, status: str = "completed", started: bool = True) -> dict[str, Any]:
        return self.emit("component_started" if started else "component_completed", path, kind=kind, status=status)

    def node_started(self, path: str, node_type: str = "noop", attempt: int = 1) -> dict[str, Any]:
        return self.emit("node_started", path, node_type=node_type, attempt=attempt)

    def node_completed(
        self,
        path: str,
        node_type: str = "noop",
        *,
        status: str = "completed",
        error: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
        duration_ms: float = 1.0,
        **extra: Any,
    ) -> dict[str, Any]:
        return self.emit(
            "node_completed",
            path,
            node_type=node_type,
            status=status,
            input={},
            output={"text": "ok"} if error is None else None,
            outcome=None,
            error=error,
            usage=usage,
            started_at=None,
            ended_at=self.now.isoformat(),
            duration_ms=duration_ms,
            **extra,
        )

    def node(self, path: str, node_type: str = "noop", **kwargs: Any) -> None:
        self.node_started(path, node_type)
        self.node_completed(path, node_type, **kwargs)

    def run_completed(self, status: str = "completed") -> dict[str, Any]:
        return self.emit(
            "run_completed", self.root, status=status, counts={"completed": 1}, usage=None, duration_ms=5.0
        )


@pytest.fixture
def stream() -> EventStream:
    return EventStream()


@pytest.fixture
def make_stream() -> type[EventStream]:
    return EventStream
