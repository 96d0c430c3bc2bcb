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


async def test_loop_iteration_variables_in_component_started_and_run_state() -> None:
    from dad_studio.engine import FlowRunner, RunContext
    from dad_studio.runs.state import RunState

    body = FlowDefinition()
    body.node("s", type="noop")
    flow = FlowDefinition(id="f", variables={"items": ["a", "b"]})
    flow.for_each("loop", "$expr{items}", body, max_iterations=5)
    events: list[dict[str, Any]] = []
    rc = RunContext(records=False)
    rc.register_event_handler("*", events.append)
    await FlowRunner(flow, rc).run()
    started = {e["path"]: e.get("variables") for e in events if e["type"] == "component_started"}
    assert started == {
        "f": None,
        "f.loop.iter_0": {"item": "a", "index": 0},
        "f.loop.iter_1": {"item": "b", "index": 1},
    }
    state = RunState(flow).apply_all(events)
    scope = state.variables("f.loop.iter_1")
    assert scope["item"] == "b" and scope["index"] == 1 and scope["items"] == ["a", "b"]


async def test_node_failing_before_its_first_attempt_still_has_node_started() -> None:
    from dad_studio.engine import FlowRunner, RunContext

    events: list[dict[str, Any]] = []
    for nid, type_, settings in [
        ("code", "command", {"commands": ["true"]}),  # refused: the flow is not trusted
        ("bad", "sleep", {"seconds": "not a number"}),  # invalid settings
    ]:
        flow = FlowDefinition(id="f")
        flow.node(nid, type=type_, settings=settings)
        rc = RunContext(records=False, trusted=False)
        rc.register_event_handler("*", events.append)
        await FlowRunner(flow, rc).run()
    for path in ("f.code", "f.bad"):
        mine = [e for e in events if e["path"] == path]
        assert [e["type"] for e in mine] == ["node_started", "node_completed"], path
        assert mine[0]["attempt"] == mine[1]["attempts"] == 1
        assert mine[1]["status"] == "failed" and mine[0]["ts"] == mine[1]["started_at"]


async def test_pre_events_request_has_defaults_and_current_input() -> None:
    from engine_testnodes import make_registry

    from dad_studio.engine import FlowRunner, RunContext

    flow = FlowDefinition(id="f")
    flow.node("pre", type="echo", pre_events=["node_input_required"])
    events: list[dict[str, Any]] = []
    rc = RunContext(records=False, inputs={"f.pre": {"k": 1}})
    rc.register_event_handler("*", events.append)
    await FlowRunner(flow, rc, node_types=make_registry()).run()
    request = next(e for e in events if e["type"] == "node_input_required")["request"]
    assert request["node_type"] == "echo" and request["settings"] == {}
    assert request["input"] == {"k": 1}
    assert request["defaults"] == make_registry().get("echo").settings_model().model_dump(mode="json")
