"""Control nodes run by the engine itself: conditional, for_each, subflow.

They are executors like any other (the registry names them by these class names), but they need
the engine's ExecutionContext to run nested components, so they only work with the engine's own
NodeContext. Nested components are ExecutionContexts: a subflow body runs at the subflow node's
path, iteration i of a for_each at `<loop path>.iter_<i>`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from dad_studio.engine.context import ExecutionContext
from dad_studio.engine.node_context import EngineNodeContext
from dad_studio.engine.scheduler import ComponentRun, body_result
from dad_studio.model.definitions import ComponentDefinition
from dad_studio.model.results import Status
from dad_studio.model.settings import ConditionalSettings, ForEachSettings, SubflowSettings
from dad_studio.nodes.base import NodeContext, NodeFailure, NodeOutput

__all__ = ["ConditionalExecutor", "ControlOutput", "ForEachExecutor", "SubflowExecutor", "load_subflow_ref"]


class ControlOutput(NodeOutput):
    """A NodeOutput that also says which port a conditional took."""

    def __init__(self, outcome: Any, port: str | None = None) -> None:
        super().__init__(outcome=outcome)
        self.port = port


def _engine_ctx(ctx: NodeContext) -> EngineNodeContext:
    if not isinstance(ctx, EngineNodeContext):
        raise NodeFailure("control nodes run only inside the dad_studio engine")
    return ctx


def _as_bool(value: Any, statement: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", ""):
        return value.strip().lower() == "true"
    raise NodeFailure(f"conditional statement {statement!r} gave {type(value).__name__} {value!r}, not a boolean")


def _as_int(ctx: NodeContext, value: int | str, name: str) -> int:
    raw: Any = ctx.evaluate(value) if isinstance(value, str) else value
    try:
        if isinstance(raw, bool):
            raise ValueError
        return int(raw)
    except (TypeError, ValueError):
        raise NodeFailure(f"for_each {name} must be an integer, got {raw!r}")


class ConditionalExecutor:
    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, ConditionalSettings)
        value = _as_bool(ctx.evaluate(settings.statement), settings.statement)
        return ControlOutput({"value": value}, port="true" if value else "false")


class ForEachExecutor:
    """Runs the body once per item, at most `concurrency` iterations at a time."""

    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, ForEachSettings)
        ectx = _engine_ctx(ctx)
        items = ctx.evaluate(settings.statement)
        if isinstance(items, tuple):
            items = list(items)
        if not isinstance(items, list):
            raise NodeFailure(
                f"for_each statement {settings.statement!r} must evaluate to a list, got {type(items).__name__}"
            )
        max_iterations = _as_int(ctx, settings.max_iterations, "max_iterations")
        start = _as_int(ctx, settings.start_index, "start_index")
        if start < 0:
            raise NodeFailure(f"for_each start_index must be >= 0, got {start}")
        indices = list(range(start, len(items)))
        if len(indices) > max_iterations:
            raise NodeFailure(
                f"for_each {ctx.hier_path}: {len(indices)} items to iterate but max_iterations is {max_iterations}"
            )
        execution = ectx.execution
        run = execution.run
        body = settings.body
        children: dict[int, ExecutionContext] = {}
        statuses: dict[int, Status] = {}
        pending = iter(indices)

        async def worker() -> None:
            for i in pending:
                path = f"{ctx.hier_path}.iter_{i}"
                run.register_component(body, path)
                child = execution.child(body, path, loop_vars={settings.item_var: items[i], settings.index_var: i})
                children[i] = child
                statuses[i] = await ComponentRun(child).run()

        workers = min(settings.concurrency, len(indices))
        if workers:
            await asyncio.gather(*(worker() for _ in range(workers)))
        iterations = [body_result(children[i]) for i in indices]
        outcome = {"count": len(indices), "iterations": iterations}
        failed = [i for i in indices if statuses[i] is not Status.COMPLETED]
        if failed:
            names = ", ".join(f"iter_{i}" for i in failed)
            raise NodeFailure(f"for_each {ctx.hier_path}: iterations failed: {names}", outcome=outcome)
        return NodeOutput(outcome=outcome)


def load_subflow_ref(
    ref: str, base_file: Path, *, registry: Any = None, variables: Any = (), hier_path: str | None = None
) -> ComponentDefinition:
    """Load a `ref` subflow relative to the referencing file, with the file format's loader;
    every problem the loader found becomes part of the node's failure message."""
    from dad_studio.fileformat import load_ref

    loaded = load_ref(base_file, ref, registry=registry, variables=variables, hier_path=hier_path)
    errors = loaded.errors
    if loaded.component is None or errors:
        detail = "; ".join(p.format() for p in errors) or "the file could not be loaded"
        raise NodeFailure(f"subflow ref {ref!r} (relative to {base_file.parent}) cannot be used: {detail}")
    return loaded.component


def _referencing_file(execution: ExecutionContext) -> Path:
    """The file a `ref` in this component is relative to: the file the nearest enclosing component
    was loaded from by `ref`, else the root flow file (or `flow.dad.json` in the flow's folder)."""
    run = execution.run
    current: ExecutionContext | None = execution
    while current is not None:
        source = run.ref_files.get(id(current.component))
        if source is not None:
            return source
        current = current.parent
    rc = run.run_context
    return rc.flow_path if rc.flow_path is not None else run.flow_dir / "flow.dad.json"


class SubflowExecutor:
    """Runs a nested component, inline or from another file, with templated variable overrides."""

    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, SubflowSettings)
        ectx = _engine_ctx(ctx)
        execution = ectx.execution
        run = execution.run
        body = settings.body
        if body is None:
            assert settings.ref is not None
            base_file = _referencing_file(execution)
            key = str(base_file.parent / settings.ref)
            body = run.refs.get(key)
            if body is None:
                names = [*ectx.variables, *settings.variables]
                # Reading and validating a file: in a thread, not on the event loop (the studio's GUI).
                loaded = await asyncio.to_thread(
                    load_subflow_ref,
                    settings.ref,
                    base_file,
                    registry=run.registry.node_types,
                    variables=names,
                    hier_path=ctx.hier_path,
                )
                body = run.refs.setdefault(key, loaded)  # a concurrent branch may have loaded it meanwhile
                run.ref_files[id(body)] = base_file.parent / settings.ref
            run.register_component(body, ctx.hier_path)
        variables = ctx.render_value(settings.variables) if settings.variables else None
        child = execution.child(body, ctx.hier_path, variables=variables)
        status = await ComponentRun(child).run()
        outcome = body_result(child)
        if status is not Status.COMPLETED:
            failed = [nid for nid, r in child.results.items() if r.status is Status.FAILED]
            raise NodeFailure(
                f"subflow {ctx.hier_path} {status.value}: failed elements: {', '.join(failed) or '(none)'}",
                outcome=outcome,
            )
        return NodeOutput(outcome=outcome)
