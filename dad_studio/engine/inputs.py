"""Input requests: `pre_events: ["node_input_required"]` and `input` nodes (ctx.request_input).

The node's own task awaits the answer, so other branches keep running while it waits. The answer
comes from a static input (RunContext.inputs, by hierarchy path or node id) or from the first
registered handler that sets `handled`; otherwise InputUnavailable names the node and what it needed.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from dad_studio.model.events import EventType
from dad_studio.model.results import Status
from dad_studio.nodes.base import InputUnavailable

if TYPE_CHECKING:
    from dad_studio.engine.context import ExecutionContext

from dad_studio.engine.run_context import InputRequest

__all__ = ["describe_request", "request_node_input"]


def describe_request(request: dict[str, Any]) -> str:
    """A short account of what a request asks for, for messages."""
    fields = request.get("fields")
    if isinstance(fields, dict) and fields:
        return "fields " + ", ".join(str(name) for name in fields)
    prompt = request.get("prompt")
    if prompt:
        return repr(str(prompt))
    return "its input"


async def request_node_input(execution: ExecutionContext, node_id: str, node_type: str, request: dict[str, Any]) -> Any:
    run = execution.run
    path = f"{execution.path}.{node_id}"
    previous = run.statuses.get(path, Status.RUNNING)
    run.statuses[path] = Status.WAITING_INPUT
    run.bus.emit(EventType.NODE_INPUT_REQUIRED, path, {"node_type": node_type, "request": request})
    try:
        found, value = run.run_context.static_input(node_id, path)
        if found:
            run.bus.emit(EventType.NODE_INPUT_RECEIVED, path, {"input": value, "source": "static"})
            return value
        for handler in run.run_context.input_handlers:
            event = InputRequest(node_id=node_id, hier_path=path, node_type=node_type, request=request)
            answer = handler(event)
            if inspect.isawaitable(answer):
                await answer
            if event.handled:
                run.bus.emit(EventType.NODE_INPUT_RECEIVED, path, {"input": event.input, "source": event.source})
                return event.input
        run.input_unavailable.append(path)
        raise InputUnavailable(
            f"node {path} ({node_type}) needs input ({describe_request(request)}) "
            "and nothing can answer: no static input (--input/--inputs) and no input handler"
        )
    finally:
        run.statuses[path] = previous
