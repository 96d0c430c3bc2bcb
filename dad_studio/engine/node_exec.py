"""Running one element: settings, trust, pre-events, attempts with timeout and retry, its record.

Every way a node can end becomes a NodeResult; nothing a node raises escapes into the scheduler
except cancellation (which is recorded as `cancelled` and then re-raised).

This is the engine's hot path (a no-op node should cost a few µs): what does not change during a
run is prepared once per node definition (ExecutorRegistry.prepare), the result is built without
validation (make_result), the first attempt's `node_started` and the `node_completed` event
reuse the timestamps of the result instead of reading the clock again, and a run that nothing
listens to (no records, stream or handler: `EventBus.heard`) counts those events without building them.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from typing import Any

from dad_studio.engine.context import ExecutionContext, make_result
from dad_studio.engine.inputs import request_node_input
from dad_studio.engine.node_context import EngineNodeContext
from dad_studio.model.definitions import NodeDefinition
from dad_studio.model.events import EventType
from dad_studio.model.results import NodeError, NodeResult, Status
from dad_studio.nodes.base import InputUnavailable, NodeFailure, NodeOutput

__all__ = ["STATUS_TEXT", "run_node"]

_COMPLETED = Status.COMPLETED
_FAILED = Status.FAILED
_RUNNING = Status.RUNNING
_CANCELLED = Status.CANCELLED
_NODE_STARTED = EventType.NODE_STARTED.value
_NODE_COMPLETED = EventType.NODE_COMPLETED.value
_perf_counter = time.perf_counter


def _error_for(exc: BaseException, timeout_s: float | None) -> NodeError:
    """Failures are failures: the message for people, the type and (for bugs) the traceback."""
    if isinstance(exc, NodeFailure):
        return NodeError(message=exc.message, type="NodeFailure")
    if isinstance(exc, InputUnavailable):
        return NodeError(message=str(exc), type="InputUnavailable")
    if isinstance(exc, TimeoutError) and timeout_s is not None:
        return NodeError(message=f"timed out after {timeout_s:g} s", type="Timeout")
    name = type(exc).__name__
    if name == "TemplateError" or any(c.__name__ == "TemplateError" for c in type(exc).__mro__):
        return NodeError(message=str(exc), type="TemplateError")
    return NodeError(
        message=f"{name}: {exc}",
        type=name,
        traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    )


STATUS_TEXT = {status: status.value for status in Status}
"""Status -> its plain text, for events (an enum's `.value` is a descriptor call on the hot path)."""


def _finish(
    execution: ExecutionContext,
    node_id: str,
    path: str,
    node_type: str,
    status: Status,
    started_at: str,
    t0: float,
    attempts: int,
    output: NodeOutput | None = None,
    error: NodeError | None = None,
    failure: NodeFailure | None = None,
) -> NodeResult:
    run = execution.run
    bus = run.bus
    usage = None
    if output is not None:
        node_in, node_out, outcome, usage = output.input, output.output, output.outcome, output.usage
    elif failure is not None:
        node_in, node_out, outcome = None, failure.output, failure.outcome
    else:
        node_in = node_out = outcome = None
    ended_at = bus.now()
    duration_ms = round((_perf_counter() - t0) * 1000, 3)
    result = make_result(
        status, node_in, node_out, outcome, error, usage, started_at, ended_at, duration_ms, attempts
    )  # fmt: skip
    if usage is not None:
        run.usage = run.usage + usage
    execution.results[node_id] = result  # ExecutionContext.set_result, with the path already made
    run.results[path] = result
    run.statuses[path] = status
    if not bus.heard:
        bus.unheard()
        return result
    fields = {
        "node_type": node_type,
        "status": STATUS_TEXT[status],
        "input": node_in,
        "output": node_out,
        "outcome": outcome,
        "error": error.model_dump() if error is not None else None,
        "usage": usage.model_dump() if usage is not None else None,
        "started_at": started_at,
        "ended_at": ended_at,
        "duration_ms": duration_ms,
        "attempts": attempts,
    }  # the fields of node_completed (RUNS.md), from the values the result was made of
    if node_type == "ai_model" and isinstance(outcome, dict) and outcome.get("model"):
        fields["model"] = outcome["model"]  # dad.model on the span, per-model token and cost metrics
    bus.emit(_NODE_COMPLETED, path, fields, ended_at)
    return result


def _pre_input_request(
    execution: ExecutionContext, node_id: str, path: str, node: NodeDefinition, settings: Any
) -> dict[str, Any]:
    """What `pre_events: ["node_input_required"]` asks (RUNS.md): the node's settings as written, the
    settings with every default filled in (`defaults`), and its current input (`input`: the static
    input given for it, or None). A container's settings (its whole body) are left out."""
    node_type = node.type
    container = node_type in ("for_each", "subflow")
    _found, current = execution.run.run_context.static_input(node_id, path)
    defaults: Any = {}
    if not container:
        dump = getattr(settings, "model_dump", None)
        defaults = dump(mode="json") if callable(dump) else {}
    return {
        "node_type": node_type,
        "settings": node.settings if not container else {},
        "defaults": defaults,
        "input": current,
    }


async def run_node(execution: ExecutionContext, node_id: str, node: NodeDefinition) -> tuple[NodeResult, Any]:
    """Execute one element; returns its result and, for a conditional, the port it took."""
    run = execution.run
    bus = run.bus
    path = f"{execution.path}.{node_id}"
    type_id = node.type
    started_at = bus.now()
    t0 = _perf_counter()
    run.statuses[path] = _RUNNING
    attempt = 0
    try:
        prepared = run.registry.prepare(node)
        if prepared.node_type.trusted_only and not run.run_context.trusted:
            raise NodeFailure(
                f"node type {type_id!r} runs code and this flow is not trusted; "
                "run it with --trust, or trust its folder with `dad-studio trust FOLDER`"
            )
        node_input = None
        if prepared.pre_input:
            node_input = await request_node_input(
                execution, node_id, type_id, _pre_input_request(execution, node_id, path, node, prepared.settings)
            )
    except asyncio.CancelledError:
        # Ended before its first attempt (settings, trust, the pre-input wait): still a node_started /
        # node_completed pair, which every consumer of the log assumes.
        bus.emit(_NODE_STARTED, path, {"node_type": type_id, "attempt": 1}, started_at)
        _finish(execution, node_id, path, type_id, _CANCELLED, started_at, t0, 1)
        raise
    except Exception as exc:
        error = _error_for(exc, None)
        bus.emit(_NODE_STARTED, path, {"node_type": type_id, "attempt": 1}, started_at)
        return _finish(execution, node_id, path, type_id, _FAILED, started_at, t0, 1, error=error), None

    executor = prepared.executor
    settings = prepared.settings
    max_attempts = prepared.max_attempts
    timeout_s = prepared.timeout_s
    while True:
        attempt += 1
        if bus.heard:
            bus.emit(
                _NODE_STARTED, path, {"node_type": type_id, "attempt": attempt}, started_at if attempt == 1 else None
            )
        else:
            bus.unheard()
        ctx = EngineNodeContext(execution, node_id, type_id, attempt, node_input, path)
        try:
            if timeout_s is None:
                output = await executor.execute(ctx, settings)
                if ctx.has_artifacts:  # files recorded: their copies and events come first
                    await ctx.settle_artifacts()
            else:
                async with asyncio.timeout(timeout_s):
                    output = await executor.execute(ctx, settings)
                    if ctx.has_artifacts:
                        await ctx.settle_artifacts()
            if not isinstance(output, NodeOutput):
                raise TypeError(f"executor of {type_id!r} returned {type(output).__name__}, not NodeOutput")
        except asyncio.CancelledError:
            ctx.cancel_artifacts()
            _finish(execution, node_id, path, type_id, _CANCELLED, started_at, t0, attempt)
            raise
        except Exception as exc:
            try:
                await ctx.settle_artifacts()  # what the attempt recorded before it failed is announced
            except asyncio.CancelledError:
                ctx.cancel_artifacts()
                _finish(execution, node_id, path, type_id, _CANCELLED, started_at, t0, attempt)
                raise
            if attempt < max_attempts and not isinstance(exc, InputUnavailable):
                retry = prepared.retry
                assert retry is not None
                delay = retry.backoff_s * 2 ** (attempt - 1)
                if delay:
                    try:
                        await asyncio.sleep(delay)
                    except asyncio.CancelledError:
                        _finish(execution, node_id, path, type_id, _CANCELLED, started_at, t0, attempt)
                        raise
                continue
            failure = exc if isinstance(exc, NodeFailure) else None
            error = _error_for(exc, timeout_s)
            result = _finish(
                execution, node_id, path, type_id, _FAILED, started_at, t0, attempt, error=error, failure=failure
            )
            return result, None
        result = _finish(execution, node_id, path, type_id, _COMPLETED, started_at, t0, attempt, output=output)
        return result, getattr(output, "port", None)
