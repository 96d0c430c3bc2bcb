"""The run event vocabulary of RUNS.md.

Events travel as plain dicts on the hot path (the engine writes one JSON line per event and the
studio turns them into signals); `Event` documents and validates the shape when reading back.
Every event has `seq`, `ts`, `type` and `path`; the extra fields per type are listed here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class EventType(StrEnum):
    RUN_STARTED = "run_started"
    COMPONENT_STARTED = "component_started"
    COMPONENT_COMPLETED = "component_completed"
    NODE_STARTED = "node_started"
    NODE_INPUT_REQUIRED = "node_input_required"
    NODE_INPUT_RECEIVED = "node_input_received"
    NODE_OUTPUT_DELTA = "node_output_delta"
    NODE_COMPLETED = "node_completed"
    NODE_LOADED = "node_loaded"
    NODE_SKIPPED = "node_skipped"
    ARTIFACT_WRITTEN = "artifact_written"
    LOG = "log"
    RUN_COMPLETED = "run_completed"


_RESULT_FIELDS = (
    "node_type",
    "status",
    "input",
    "output",
    "outcome",
    "error",
    "usage",
    "started_at",
    "ended_at",
    "duration_ms",
)
"""The fields of node_completed and node_loaded (RUNS.md)."""

EVENT_TYPES: dict[str, tuple[str, ...]] = {
    EventType.RUN_STARTED: (
        "run_id",
        "root_component_id",
        "previous_run_id",
        "start_hierarchy_path",
        "variables",
    ),
    EventType.COMPONENT_STARTED: ("kind", "status"),
    EventType.COMPONENT_COMPLETED: ("kind", "status"),
    EventType.NODE_STARTED: ("node_type", "attempt"),
    EventType.NODE_INPUT_REQUIRED: ("node_type", "request"),
    EventType.NODE_INPUT_RECEIVED: ("input", "source"),
    EventType.NODE_OUTPUT_DELTA: ("text",),
    EventType.NODE_COMPLETED: _RESULT_FIELDS,
    EventType.NODE_LOADED: _RESULT_FIELDS,  # the same fields, copied from previous_run_id
    EventType.NODE_SKIPPED: ("reason",),
    EventType.ARTIFACT_WRITTEN: ("artifact", "size", "media_type"),
    EventType.LOG: ("level", "message"),
    EventType.RUN_COMPLETED: ("status", "counts", "usage", "duration_ms"),
}
"""Required extra fields per event type (beyond seq, ts, type, path)."""


class Event(BaseModel):
    """One line of events.jsonl, validated: the common fields plus the type's extra fields."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    seq: int
    ts: str
    type: EventType
    path: str

    def field(self, name: str) -> Any:
        return (self.model_extra or {}).get(name)


def event_from_dict(data: dict[str, Any]) -> Event:
    """Validate a raw event; a missing type-specific field is an error, extra fields are kept."""
    event = Event.model_validate(data)
    missing = [f for f in EVENT_TYPES[event.type] if f not in data]
    if missing:
        raise ValueError(f"event {event.seq} ({event.type}) lacks {', '.join(missing)}")
    return event
