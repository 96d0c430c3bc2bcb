"""Scheduling rules of FLOW_FORMAT.md, statuses and events, on tiny inline flows (records off)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from engine_testnodes import make_registry

from dad_studio.engine import FlowRunner, RunContext, Status
from dad_studio.model import FlowDefinition


def _rc(**kw: Any) -> RunContext:
    return RunContext(records=False, **kw)


async def _run(flow: FlowDefinition, rc: RunContext | None = None, registry: Any = None):
    rc = rc or _rc()
    events: list[dict[str, Any]] = []
    rc.register_event_handler("*", events.append)
    runner = FlowRunner(flow, rc, node_types=registry or make_registry())
    result = await runner.run()
    return result, events, runner


def _types(events: list[dict[str, Any]], path: str | None = None) -> list[str]:
    return [e["type"] for e in events if path is None or e["path"] == path]


async def test_builder_order_runs_sequentially_and_events_are_numbered() -> None:
    flow = FlowDefinition(id="f")
    for n in ("a", "b", "c"):
        flow.node(n, type="noop")
    result, events, _ = await _run(flow)
    assert result.status is Status.COMPLETED
    assert result.nodes == {"f.a": "completed", "f.b": "completed", "f.c": "completed"}
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    starts = [e["path"] for e in events if e["type"] == "node_started"]
    assert starts == ["f.a", "f.b", "f.c"]
    assert events[0]["type"] == "run_started" and events[-1]["type"] == "run_completed"
    assert events[1]["type"] == "component_started" and events[-2]["type"] == "component_completed"
    assert all(e["ts"].endswith("+00:00") and "." in e["ts"] for e in events)
    done = [e for e in events if e["type"] == "node_completed"]
    assert done[0]["node_type"] == "noop" and done[0]["outcome"] == {"value": ""}
    assert events[-1]["counts"] == {"completed": 3}


async def test_independent_branches_run_concurrently() -> None:
    flow = FlowDefinition(id="f")
    flow.node("start", type="noop")
    flow.node("end", type="noop", join="all")
    for i in range(10):
        flow.node(f"s{i}", type="sleep", settings={"seconds": 0.2})
        flow.connect("start", f"s{i}")
        flow.connect(f"s{i}", "end")
    t0 = time.perf_counter()
    result, _, _ = await _run(flow)
    elapsed = time.perf_counter() - t0
    assert result.status is Status.COMPLETED
    assert elapsed < 1.0, elapsed


async def test_error_edge_runs_handler_and_run_completes() -> None:
    flow = FlowDefinition(id="f")
    flow.node("main", type="sleep", settings={"seconds": 0, "fail": True})
    flow.node("ok", type="noop")
    flow.node("handler", type="noop")
    flow.connect("main", "ok", on_success=True)
    flow.connect("main", "handler", on_error=True)
    result, events, _ = await _run(flow)
    assert result.nodes == {"f.main": "failed", "f.ok": "skipped", "f.handler": "completed"}
    assert result.status is Status.COMPLETED
    skip = next(e for e in events if e["type"] == "node_skipped")
    assert "main -> ok (on success) is dead" in skip["reason"] and "failed" in skip["reason"]
    failed = next(e for e in events if e["type"] == "node_completed" and e["path"] == "f.main")
    assert failed["error"]["type"] == "NodeFailure" and failed["error"]["traceback"] is None


async def test_unhandled_failure_fails_run_and_skips_downstream_chain() -> None:
    flow = FlowDefinition(id="f")
    flow.node("a", type="sleep", settings={"seconds": 0, "fail": True})
    for n in ("b", "c", "d"):
        flow.node(n, type="noop")
    result, events, _ = await _run(flow)
    assert result.status is Status.FAILED
    assert result.nodes == {"f.a": "failed", "f.b": "skipped", "f.c": "skipped", "f.d": "skipped"}
    reasons = {e["path"]: e["reason"] for e in events if e["type"] == "node_skipped"}
    assert "edge b -> c (on success) is dead: b skipped" in reasons["f.c"]


async def test_always_edge_runs_after_success_and_failure() -> None:
    for fail in (False, True):
        flow = FlowDefinition(id="f")
        flow.node("a", type="sleep", settings={"seconds": 0, "fail": fail})
        flow.node("cleanup", type="noop")
        flow.connect("a", "cleanup", always=True)
        result, _, _ = await _run(flow)
        assert result.nodes["f.cleanup"] == "completed"
        assert result.status is Status.COMPLETED  # an always edge handles the failure


async def test_join_all_skips_when_one_edge_dead_join_any_runs() -> None:
    flow = FlowDefinition(id="f")
    flow.node("good", type="noop")
    flow.node("bad", type="sleep", settings={"seconds": 0, "fail": True})
    flow.node("all_", type="noop", join="all")
    flow.node("any_", type="noop", join="any")
    flow.node("none_", type="noop", join="any")
    flow.node("err", type="noop")
    for target in ("all_", "any_"):
        flow.connect("good", target)
        flow.connect("bad", target)
    flow.connect("bad", "none_")
    flow.connect("bad", "err", on_error=True)
    result, events, _ = await _run(flow)
    assert result.nodes["f.all_"] == "skipped"
    assert result.nodes["f.any_"] == "completed"
    assert result.nodes["f.none_"] == "skipped"
    none_reason = next(e["reason"] for e in events if e["type"] == "node_skipped" and e["path"] == "f.none_")
    assert none_reason.startswith("no incoming edge is active")
    assert result.status is Status.COMPLETED


async def test_join_any_waits_for_every_predecessor() -> None:
    flow = FlowDefinition(id="f")
    flow.node("fast", type="sleep", settings={"seconds": 0.0})
    flow.node("slow", type="sleep", settings={"seconds": 0.1})
    flow.node("j", type="echo", join="any", settings={"value": "$hier{slow.status}"})
    flow.connect("fast", "j")
    flow.connect("slow", "j")
    result, _, runner = await _run(flow)
    assert result.status is Status.COMPLETED
    assert runner.state.results["f.j"].outcome["value"] == "completed"


async def test_conditional_ports() -> None:
    flow = FlowDefinition(id="f", variables={"n": 150})
    flow.conditional("big", "$expr{n > 100}")
    flow.node("yes", type="noop")
    flow.node("no", type="noop")
    flow.connect("big", "yes", port="true")
    flow.connect("big", "no", port="false")
    result, _, runner = await _run(flow)
    assert result.nodes == {"f.big": "completed", "f.yes": "completed", "f.no": "skipped"}
    assert runner.state.results["f.big"].outcome == {"value": True}
    result, _, _ = await _run(flow, _rc(variables={"n": 3}))
    assert result.nodes == {"f.big": "completed", "f.yes": "skipped", "f.no": "completed"}


async def test_conditional_with_non_boolean_fails_clearly() -> None:
    flow = FlowDefinition(id="f", variables={"x": [1]})
    flow.conditional("c", "$expr{x}")
    result, events, _ = await _run(flow)
    assert result.status is Status.FAILED
    err = next(e for e in events if e["type"] == "node_completed")["error"]
    assert "not a boolean" in err["message"]


async def test_crashing_node_fails_with_traceback_and_engine_survives() -> None:
    flow = FlowDefinition(id="f")
    flow.node("bug", type="crash")
    flow.node("other", type="noop")
    flow.connect("bug", "other", always=True)
    result, events, _ = await _run(flow)
    err = next(e for e in events if e["type"] == "node_completed" and e["path"] == "f.bug")["error"]
    assert err["type"] == "ZeroDivisionError"
    assert "division by zero in a buggy node" in err["message"]
    assert "Traceback" in err["traceback"]
    assert result.nodes["f.other"] == "completed"


async def test_unknown_type_and_bad_settings_fail_the_node() -> None:
    flow = FlowDefinition(id="f")
    flow.node("u", type="nonexistent")
    flow.node("s", type="sleep", settings={"seconds": "soon"})
    flow.connect("u", "s", always=True)
    result, events, _ = await _run(flow)
    errors = {e["path"]: e["error"]["message"] for e in events if e["type"] == "node_completed"}
    assert "unknown node type 'nonexistent'" in errors["f.u"]
    assert "invalid settings" in errors["f.s"] and "seconds" in errors["f.s"]
    assert result.status is Status.FAILED


async def test_template_error_fails_node_with_its_message() -> None:
    flow = FlowDefinition(id="f", variables={"language": "en"})
    flow.node("a", type="noop", settings={"value": "$var{langauge}"})
    result, events, _ = await _run(flow)
    err = next(e for e in events if e["type"] == "node_completed")["error"]
    assert err["type"] == "TemplateError"
    assert "langauge" in err["message"] and "language" in err["message"]
    assert result.status is Status.FAILED


async def test_retry_emits_attempts_and_succeeds() -> None:
    flow = FlowDefinition(id="f")
    flow.node("x", type="flaky", settings={"fail_times": 2}, retry={"max_attempts": 3, "backoff_s": 0.01})
    t0 = time.perf_counter()
    result, events, runner = await _run(flow)
    assert time.perf_counter() - t0 >= 0.03  # 0.01 + 0.02 of exponential backoff
    assert [e["attempt"] for e in events if e["type"] == "node_started"] == [1, 2, 3]
    assert result.status is Status.COMPLETED
    assert runner.state.results["f.x"].attempts == 3


async def test_retry_exhausted_fails() -> None:
    flow = FlowDefinition(id="f")
    flow.node("x", type="flaky", settings={"fail_times": 5}, retry={"max_attempts": 2})
    result, events, _ = await _run(flow)
    assert [e["attempt"] for e in events if e["type"] == "node_started"] == [1, 2]
    assert result.status is Status.FAILED


async def test_timeout_fails_node() -> None:
    flow = FlowDefinition(id="f")
    flow.node("slow", type="sleep", settings={"seconds": 5}, timeout_s=0.05)
    t0 = time.perf_counter()
    result, events, _ = await _run(flow)
    assert time.perf_counter() - t0 < 1
    err = next(e for e in events if e["type"] == "node_completed")["error"]
    assert err == {"message": "timed out after 0.05 s", "type": "Timeout", "traceback": None}
    assert result.status is Status.FAILED


async def test_cancelling_a_run_leaves_no_task_behind() -> None:
    flow = FlowDefinition(id="f")
    flow.node("start", type="noop")
    for i in range(5):
        flow.node(f"s{i}", type="sleep", settings={"seconds": 10})
        flow.connect("start", f"s{i}")
    inner = FlowDefinition()
    inner.node("deep", type="sleep", settings={"seconds": 10})
    flow.subflow("sub", inner)
    flow.connect("start", "sub")
    rc = _rc()
    events: list[dict[str, Any]] = []
    rc.register_event_handler("*", events.append)
    before = asyncio.all_tasks()
    task = asyncio.create_task(FlowRunner(flow, rc, node_types=make_registry()).run())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    left = [t for t in asyncio.all_tasks() - before if not t.done()]
    assert left == []
    assert events[-1]["type"] == "run_completed" and events[-1]["status"] == "cancelled"
    cancelled = {e["path"] for e in events if e["type"] == "node_completed" and e["status"] == "cancelled"}
    assert {"f.s0", "f.sub", "f.sub.deep"} <= cancelled


async def test_iter_streams_events_and_early_exit_cancels() -> None:
    flow = FlowDefinition(id="f")
    flow.node("a", type="noop")
    flow.node("b", type="noop")
    runner = FlowRunner(flow, _rc(), node_types=make_registry())
    async with runner.iter() as run:
        seen = [event["type"] async for event in run]
    assert seen[0] == "run_started" and seen[-1] == "run_completed"
    assert run.result is not None and run.result.status is Status.COMPLETED

    slow = FlowDefinition(id="g")
    slow.node("z", type="sleep", settings={"seconds": 10})
    before = asyncio.all_tasks()
    runner = FlowRunner(slow, _rc(), node_types=make_registry())
    async with runner.iter() as run:
        async for event in run:
            if event["type"] == "node_started":
                break
    assert run.task.cancelled()
    assert [t for t in asyncio.all_tasks() - before if not t.done()] == []


async def test_async_and_keyword_handlers_are_called() -> None:
    flow = FlowDefinition(id="f")
    flow.node("a", type="noop")
    rc = _rc()
    seen: list[str] = []

    async def on_completed(event: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        seen.append("async:" + event["path"])

    def burr_style(*, event: dict[str, Any], **future_kwargs: Any) -> None:
        seen.append(f"kw:{event['type']}:{future_kwargs['path']}")

    rc.register_event_handler("node_completed", on_completed)
    rc.register_event_handler("run_started", burr_style)
    await FlowRunner(flow, rc, node_types=make_registry()).run()
    assert seen == ["kw:run_started:f", "async:f.a"]


async def test_cycle_refused_before_running() -> None:
    flow = FlowDefinition(id="f")
    flow.node("a", type="noop")
    flow.node("b", type="noop")
    flow.connect("a", "b")
    flow.connect("b", "a")
    with pytest.raises(ValueError, match="cycle"):
        await FlowRunner(flow, _rc(), node_types=make_registry()).run()


async def test_two_concurrent_runs_share_nothing() -> None:
    def make(tag: str) -> FlowDefinition:
        flow = FlowDefinition(id=tag)
        flow.node("a", type="probe", settings={"seconds": 0.05})
        flow.node("b", type="echo", settings={"value": "$var{run_id}"})
        return flow

    rc1, rc2 = _rc(), _rc()
    r1, r2 = (
        FlowRunner(make("one"), rc1, node_types=make_registry()),
        FlowRunner(make("two"), rc2, node_types=make_registry()),
    )
    res1, res2 = await asyncio.gather(r1.run(), r2.run())
    assert res1.run_id != res2.run_id
    assert set(res1.nodes) == {"one.a", "one.b"} and set(res2.nodes) == {"two.a", "two.b"}
    assert r1.state.results["one.b"].outcome["value"] == rc1.run_id
    assert r2.state.results["two.b"].outcome["value"] == rc2.run_id
    # one probe executor per run: each saw only its own node
    assert r1.state.registry.executor(r1.state.registry.node_type("probe")).calls == 1


async def test_untrusted_run_refuses_code_running_node_types() -> None:
    from dataclasses import replace

    registry = make_registry()
    registry.register(replace(registry.types["noop"], id="runs_code", trusted_only=True))
    flow = FlowDefinition(id="f")
    flow.node("x", type="runs_code")
    result, events, _ = await _run(flow, _rc(trusted=False), registry)
    err = next(e for e in events if e["type"] == "node_completed")["error"]
    assert "not trusted" in err["message"] and "--trust" in err["message"]
    assert result.status is Status.FAILED
    result, _, _ = await _run(flow, _rc(trusted=True), registry)
    assert result.status is Status.COMPLETED
