"""Statuses and the result of one executed element (what `$hier{}` and the run records read)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Status(StrEnum):
    """Status vocabulary of elements, components and runs (RUNS.md)."""

    PENDING = "pending"
    RUNNING = "running"
    WAITING_INPUT = "waiting_input"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    """Only when reading back: the process ended without `run_completed`."""

    @property
    def settled(self) -> bool:
        return self in _SETTLED


_SETTLED = frozenset({Status.COMPLETED, Status.FAILED, Status.SKIPPED, Status.CANCELLED, Status.INTERRUPTED})


class Usage(BaseModel):
    """Token usage and cost of model calls; summed per node, component and run."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            cost=round(self.cost + other.cost, 10),
        )


class NodeError(BaseModel):
    """Why an element failed: a one-line message for people, the type and traceback for debugging."""

    model_config = ConfigDict(extra="forbid")

    message: str
    type: str = "Error"
    traceback: str | None = None


class NodeResult(BaseModel):
    """The result of one element: what `$hier{id}` resolves to."""

    model_config = ConfigDict(extra="forbid")

    status: Status
    input: Any = None
    output: Any = None
    outcome: Any = None
    error: NodeError | None = None
    usage: Usage | None = None
    started_at: str | None = None
    ended_at: str | None = None
    duration_ms: float | None = None
    attempts: int = Field(default=1, ge=0)
