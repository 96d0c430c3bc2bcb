"""`noop` and `sleep`: node types for tests and benchmarks, registered through the entry-point group
`dad_studio.nodes` exactly as a third-party plugin registers its own types."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict, Field

from dad_studio.model.node_types import NodeType
from dad_studio.nodes.base import NodeContext, NodeOutput


class NoopSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(default="", description="Rendered and returned as the outcome's `value`")


class SleepSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(default=0.05, ge=0, le=3600)
    fail: bool = Field(default=False, description="Fail after sleeping (for error-edge tests)")


class NoopExecutor:
    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, NoopSettings)
        value = ctx.render(settings.value) if settings.value else ""
        return NodeOutput(outcome={"value": value})


class SleepExecutor:
    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, SleepSettings)
        await asyncio.sleep(settings.seconds)
        if settings.fail:
            from dad_studio.nodes.base import NodeFailure

            raise NodeFailure(f"sleep node {ctx.node_id} failed on purpose")
        return NodeOutput(outcome={"slept_s": settings.seconds})


NOOP_TYPE = NodeType(
    "noop",
    "No-op",
    "Does nothing (tests and benchmarks)",
    NoopSettings,
    "dad_studio.nodes.testing:NoopExecutor",
    category="Testing",
)
SLEEP_TYPE = NodeType(
    "sleep",
    "Sleep",
    "Waits (tests and benchmarks)",
    SleepSettings,
    "dad_studio.nodes.testing:SleepExecutor",
    category="Testing",
)
