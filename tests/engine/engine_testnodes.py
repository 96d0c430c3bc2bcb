"""Node types used only by the engine tests: a concurrency probe, a flaky node, a crasher, a recorder.

Executor state lives on the executor instance (one per type per run), so runs never share it.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from dad_studio.model.node_types import NodeType, NodeTypeRegistry, default_registry
from dad_studio.nodes.base import NodeContext, NodeOutput


class ProbeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = 0.02


class ProbeExecutor:
    """Counts how many nodes of this type run at the same moment."""

    def __init__(self) -> None:
        self.current = 0
        self.max_seen = 0
        self.calls = 0

    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, ProbeSettings)
        self.current += 1
        self.calls += 1
        self.max_seen = max(self.max_seen, self.current)
        try:
            await asyncio.sleep(settings.seconds)
        finally:
            self.current -= 1
        return NodeOutput(outcome={"max_seen": self.max_seen})


class FlakySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fail_times: int = 1


class FlakyExecutor:
    """Fails the first `fail_times` attempts of each node, then succeeds."""

    def __init__(self) -> None:
        self.attempts: dict[str, int] = {}

    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, FlakySettings)
        n = self.attempts.get(ctx.hier_path, 0) + 1
        self.attempts[ctx.hier_path] = n
        if n <= settings.fail_times:
            raise RuntimeError(f"flaky failure {n}")
        return NodeOutput(outcome={"attempt": ctx.attempt})


class CrashSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CrashExecutor:
    """A node with a bug: raises a plain exception."""

    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        raise ZeroDivisionError("division by zero in a buggy node")


class EchoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str = ""
    args: dict[str, object] = Field(default_factory=dict)


class EchoExecutor:
    """Evaluates `value` (typed) and renders `args`; returns both plus the node input."""

    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, EchoSettings)
        value = ctx.evaluate(settings.value) if settings.value else None
        return NodeOutput(outcome={"value": value, "args": ctx.render_value(settings.args), "input": ctx.node_input})


class AskSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = "?"


class AskExecutor:
    """Requests input during execution (as `input` nodes do)."""

    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, AskSettings)
        answer = await ctx.request_input({"prompt": settings.question, "fields": {"answer": {"type": "string"}}})
        return NodeOutput(outcome={"answer": answer})


class CountSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = 0.0


class CountExecutor:
    """Appends its path to $DAD_TEST_COUNTER (a file), so executions can be counted across processes."""

    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, CountSettings)
        if settings.seconds:
            await asyncio.sleep(settings.seconds)
        counter = os.environ.get("DAD_TEST_COUNTER")
        if counter:
            with Path(counter).open("a") as fh:  # noqa: ASYNC230 - a tiny append, tests only
                fh.write(ctx.hier_path + "\n")
        return NodeOutput(outcome={"path": ctx.hier_path})


def _t(type_id: str, settings: type[BaseModel], executor: str) -> NodeType:
    return NodeType(type_id, type_id, f"test {type_id}", settings, f"engine_testnodes:{executor}", category="Testing")


TEST_TYPES = (
    _t("probe", ProbeSettings, "ProbeExecutor"),
    _t("flaky", FlakySettings, "FlakyExecutor"),
    _t("crash", CrashSettings, "CrashExecutor"),
    _t("echo", EchoSettings, "EchoExecutor"),
    _t("ask", AskSettings, "AskExecutor"),
    _t("count", CountSettings, "CountExecutor"),
)


def make_registry() -> NodeTypeRegistry:
    registry = default_registry()
    for node_type in TEST_TYPES:
        registry.register(node_type)
    return registry


class ArtifactSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = "hello"


class ArtifactExecutor:
    """Writes an artifact file; also changes an env var and the cwd (for IsolatedExecution tests)."""

    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, ArtifactSettings)
        path = ctx.write_artifact("out/result.txt", ctx.render(settings.text).encode())
        os.environ["DAD_TEST_LEAK"] = "1"
        os.chdir(ctx.run_dir)
        return NodeOutput(outcome={"file": str(path)})


TEST_TYPES = (*TEST_TYPES, _t("artifact", ArtifactSettings, "ArtifactExecutor"))


class LogSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = "hello from a node"


class LogExecutor:
    """Logs through ctx.logger (the run's telemetry logger when telemetry is on)."""

    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, LogSettings)
        ctx.logger.warning(settings.message)
        return NodeOutput(outcome={"logged": settings.message})


TEST_TYPES = (*TEST_TYPES, _t("log", LogSettings, "LogExecutor"))
