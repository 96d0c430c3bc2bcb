"""Running one element: settings, trust, pre-events, attempts with timeout and retry, its record.

Every way a node can end becomes a NodeResult; nothing a node raises escapes into the scheduler
except cancellation (which is recorded as `cancelled` and then re-raised).
"""

from __future__ import annotations

import asyncio
import time
import traceback
from typing import Any

from dad_studio.engine.context import ExecutionContext
from dad_studio.engine.inputs import request_node_input
from dad_studio.engine.node_context import EngineNodeContext
from dad_studio.model.definitions import NodeDefinition
from dad_studio.model.events import EventType
from dad_studio.model.results import NodeError, NodeResult, Status
from dad_studio.nodes.base import InputUnavailable, NodeFailure, NodeOutput

__all__ = ["node_record", "run_node"]

_COMPLETED = Status.COMPLETED
_FAILED = Status.FAILED


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


def node_record(node_type: str, result: NodeResult) -> dict[str, Any]:
    """The fields of `node_completed` / `node_loaded` for a result."""
    return {
        "node_type": node_type,
        "status": result.status.value,
        "input": result.input,
        "output": result.output,
        "outcome": result.outcome,
        "error": result.error.model_dump() if result.error is not None else None,
        "usage": result.usage.model_dump() if result.usage is not None else None,
        "started_at": result.started_at,
        "ended_at": result.ended_at,
        "duration_ms": result.duration_ms,
        "attempts": result.attempts,
    }


def _finish(
    execution: ExecutionContext,
    node_id: str,
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
    if output is not None:
        values = (output.input, output.output, output.outcome, output.usage)
    elif failure is not None:
        values = (None, failure.output, failure.outcome, None)
    else:
        values = (None, None, None, None)
    result = NodeResult.model_construct(
        status=status,
        input=values[0],
        output=values[1],
        outcome=values[2],
        error=error,
        usage=values[3],
        started_at=started_at,
        ended_at=run.bus.now(),
        duration_ms=round((time.perf_counter() - t0) * 1000, 3),
        attempts=attempts,
    )
    if values[3] is not None:
        run.usage = run.usage + values[3]
    execution.set_result(node_id, result)
    path = f"{execution.path}.{node_id}"
    run.statuses[path] = status
    run.bus.emit(EventType.NODE_COMPLETED, path, node_record(node_type, result))
    return result


async def run_node(execution: ExecutionContext, node_id: str, node: NodeDefinition) -> tuple[NodeResult, Any]:
    """Execute one element; returns its result and, for a conditional, the port it took."""
    run = execution.run
    path = f"{execution.path}.{node_id}"
    type_id = node.type
    started_at = run.bus.now()
    t0 = time.perf_counter()
    run.statuses[path] = Status.RUNNING
    attempt = 0
    try:
        node_type = run.registry.node_type(type_id)
        settings = run.registry.settings(node, node_type)
        if node_type.trusted_only and not run.run_context.trusted:
            raise NodeFailure(
                f"node type {type_id!r} runs code and this flow is not trusted; run it with --trust to allow it"
            )
        executor = run.registry.executor(node_type)
        node_input = None
        if "node_input_required" in node.pre_events:
            request = {
                "node_type": type_id,
                "settings": node.settings if type_id not in ("for_each", "subflow") else {},
            }
            node_input = await request_node_input(execution, node_id, type_id, request)
    except asyncio.CancelledError:
        _finish(execution, node_id, type_id, Status.CANCELLED, started_at, t0, attempt)
        raise
    except Exception as exc:
        error = _error_for(exc, None)
        return _finish(execution, node_id, type_id, _FAILED, started_at, t0, attempt, error=error), None

    retry = node.retry
    max_attempts = retry.max_attempts if retry is not None else 1
    timeout_s = node.timeout_s
    while True:
        attempt += 1
        run.bus.emit(EventType.NODE_STARTED, path, {"node_type": type_id, "attempt": attempt})
        ctx = EngineNodeContext(execution, node_id, type_id, attempt, node_input)
        try:
            if timeout_s is None:
                output = await executor.execute(ctx, settings)
            else:
                async with asyncio.timeout(timeout_s):
                    output = await executor.execute(ctx, settings)
            if not isinstance(output, NodeOutput):
                raise TypeError(f"executor of {type_id!r} returned {type(output).__name__}, not NodeOutput")
        except asyncio.CancelledError:
            _finish(execution, node_id, type_id, Status.CANCELLED, started_at, t0, attempt)
            raise
        except Exception as exc:
            if attempt < max_attempts and not isinstance(exc, InputUnavailable):
                assert retry is not None
                delay = retry.backoff_s * 2 ** (attempt - 1)
                if delay:
                    try:
                        await asyncio.sleep(delay)
                    except asyncio.CancelledError:
                        _finish(execution, node_id, type_id, Status.CANCELLED, started_at, t0, attempt)
                        raise
                continue
            failure = exc if isinstance(exc, NodeFailure) else None
            error = _error_for(exc, timeout_s)
            result = _finish(
                execution, node_id, type_id, _FAILED, started_at, t0, attempt, error=error, failure=failure
            )
            return result, None
        result = _finish(execution, node_id, type_id, _COMPLETED, started_at, t0, attempt, output=output)
        return result, getattr(output, "port", None)
