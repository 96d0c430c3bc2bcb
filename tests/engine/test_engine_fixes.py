"""Engine correctness fixes: component status over all results, event bus subscribers, continuation."""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

from dad_studio.engine.context import Graph, make_result
from dad_studio.engine.scheduler import ComponentRun
from dad_studio.model import FlowDefinition
from dad_studio.model.results import Status


def _component_run(results: dict[str, Status]) -> ComponentRun:
    flow = FlowDefinition(id="f")
    for nid in results:
        flow.node(nid, type="noop")
    graph = Graph(flow)
    execution: Any = SimpleNamespace(
        component=flow,
        run=SimpleNamespace(graph=lambda _c: graph),
        results={
            nid: make_result(status, None, None, None, None, None, None, None, None, 1)
            for nid, status in results.items()
        },
    )
    return ComponentRun(execution)


def test_component_status_does_not_depend_on_result_order() -> None:
    statuses = {"a": Status.FAILED, "b": Status.CANCELLED, "c": Status.COMPLETED}
    for order in itertools.permutations(statuses):
        run = _component_run({nid: statuses[nid] for nid in order})
        assert run._status() is Status.CANCELLED, order
    for order in itertools.permutations(["a", "c"]):
        run = _component_run({nid: statuses[nid] for nid in order})
        assert run._status() is Status.FAILED, order
    assert _component_run({"a": Status.COMPLETED, "b": Status.SKIPPED})._status() is Status.COMPLETED


async def test_event_bus_add_subscriber_receives_events_then_end() -> None:
    import asyncio

    from dad_studio.engine.events import EventBus

    bus = EventBus()
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    bus.add_subscriber(queue)
    bus.emit("log", "f", {"level": "info", "message": "hi"})
    bus.close_subscribers()
    first = queue.get_nowait()
    assert first is not None and first["message"] == "hi" and first["seq"] == 1
    assert queue.get_nowait() is None
