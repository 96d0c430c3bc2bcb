"""for_each, subflows (inline, nested, by ref), variables, $hier and input requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine_testnodes import make_registry

from dad_studio.engine import FlowRunner, InputRequest, RunContext, Status
from dad_studio.model import FlowDefinition


async def _run(flow: FlowDefinition, rc: RunContext | None = None):
    rc = rc or RunContext(records=False)
    events: list[dict[str, Any]] = []
    rc.register_event_handler("*", events.append)
    runner = FlowRunner(flow, rc, node_types=make_registry())
    result = await runner.run()
    assert runner.state is not None
    return result, events, runner.state


async def test_for_each_concurrency_bound_and_loop_variables() -> None:
    body = FlowDefinition()
    body.node("p", type="probe", settings={"seconds": 0.03})
    body.node("e", type="echo", settings={"value": "$expr{word + '-' + str_index}", "args": {"i": "$expr{i}"}})
    flow = FlowDefinition(id="f", variables={"words": ["a", "b", "c", "d", "e", "f", "g"], "str_index": "x"})
    flow.for_each(
        "loop", "$expr{words}", body, max_iterations=10, item_var="word", index_var="i", concurrency=3, start_index=1
    )
    result, events, state = await _run(flow)
    assert result.status is Status.COMPLETED
    probe = state.registry.executor(state.registry.node_type("probe"))
    assert probe.calls == 6
    assert probe.max_seen == 3
    outcome = state.results["f.loop"].outcome
    assert outcome["count"] == 6
    assert [it["e"]["value"] for it in outcome["iterations"]] == ["b-x", "c-x", "d-x", "e-x", "f-x", "g-x"]
    assert [it["e"]["args"]["i"] for it in outcome["iterations"]] == [1, 2, 3, 4, 5, 6]
    assert "f.loop.iter_1.e" in result.nodes and "f.loop.iter_0.e" not in result.nodes
    comps = [e["path"] for e in events if e["type"] == "component_started"]
    assert "f.loop.iter_3" in comps


async def test_for_each_too_many_items_fails_clearly() -> None:
    body = FlowDefinition()
    body.node("n", type="noop")
    flow = FlowDefinition(id="f")
    flow.for_each("loop", "$expr{[1, 2, 3]}", body, max_iterations=2)
    result, events, _ = await _run(flow)
    err = next(e for e in events if e["type"] == "node_completed")["error"]
    assert "3 items to iterate but max_iterations is 2" in err["message"]
    assert result.status is Status.FAILED


async def test_for_each_hier_inside_iteration_and_across() -> None:
    body = FlowDefinition()
    body.node("step", type="echo", settings={"value": "$expr{item * 10}"})
    body.node("use", type="echo", settings={"value": "$hier{step.outcome.value}"})
    flow = FlowDefinition(id="f")
    flow.for_each("loop", "$expr{[1, 2, 3]}", body, max_iterations=3)
    flow.node("after", type="echo", settings={"value": "$hier{loop.iter_2.step.outcome.value}"})
    result, _, state = await _run(flow)
    assert result.status is Status.COMPLETED
    assert [state.results[f"f.loop.iter_{i}.use"].outcome["value"] for i in range(3)] == [10, 20, 30]
    assert state.results["f.after"].outcome["value"] == 30


async def test_failed_iteration_fails_loop() -> None:
    body = FlowDefinition()
    body.node("s", type="sleep", settings={"seconds": 0, "fail": True})
    flow = FlowDefinition(id="f")
    flow.for_each("loop", "$expr{[1, 2]}", body, max_iterations=5)
    result, events, _ = await _run(flow)
    err = next(e for e in events if e["type"] == "node_completed" and e["path"] == "f.loop")["error"]
    assert err["message"] == "for_each f.loop: iterations failed: iter_0, iter_1"
    assert result.status is Status.FAILED


async def test_nested_subflows_variables_and_hier() -> None:
    inner = FlowDefinition(variables={"greeting": "hello"})
    inner.node("say", type="echo", settings={"value": "$var{greeting} $var{name} from $var{component_hier_path}"})
    middle = FlowDefinition()
    middle.subflow("inner", inner, variables={"greeting": "$var{prefix}"})
    flow = FlowDefinition(id="f", variables={"name": "Ada", "prefix": "hi"})
    flow.node("first", type="noop")
    flow.subflow("mid", middle)
    flow.node("last", type="echo", settings={"value": "$hier{mid.inner.say.outcome.value}"})
    result, events, state = await _run(flow)
    assert result.status is Status.COMPLETED, result.nodes
    assert state.results["f.last"].outcome["value"] == "hi Ada from f.mid.inner"
    assert state.results["f.mid"].outcome == {"inner": {"say": state.results["f.mid.inner.say"].outcome}}
    comps = [(e["path"], e["kind"]) for e in events if e["type"] == "component_started"]
    assert comps == [("f", "flow"), ("f.mid", "flow"), ("f.mid.inner", "flow")]


async def test_subflow_failure_fails_parent_and_run() -> None:
    inner = FlowDefinition()
    inner.node("bad", type="crash")
    flow = FlowDefinition(id="f")
    flow.subflow("sub", inner)
    result, events, _ = await _run(flow)
    err = next(e for e in events if e["type"] == "node_completed" and e["path"] == "f.sub")["error"]
    assert err["message"] == "subflow f.sub failed: failed elements: bad"
    assert result.status is Status.FAILED


async def test_subflow_by_ref(tmp_path: Path) -> None:
    doc = {
        "format": "dad-flow",
        "schema_version": 1,
        "root": {"id": "child", "kind": "flow", "nodes": {"x": {"type": "noop", "settings": {"value": "$var{v}"}}}},
    }
    (tmp_path / "child.dad.json").write_text(json.dumps(doc))
    flow = FlowDefinition(id="f")
    flow.subflow("sub", ref="child.dad.json", variables={"v": "from-parent"})
    flow.subflow("missing", ref="nope.dad.json")
    flow.connect("sub", "missing")
    rc = RunContext(records=False, flow_path=tmp_path / "main.dad.json")
    result, events, state = await _run(flow, rc)
    assert state.results["f.sub.x"].outcome == {"value": "from-parent"}
    err = next(e for e in events if e["type"] == "node_completed" and e["path"] == "f.missing")["error"]
    assert "nope.dad.json" in err["message"]
    assert result.status is Status.FAILED


async def test_builtin_variables_and_overrides() -> None:
    flow = FlowDefinition(id="f", variables={"lang": "en"})
    flow.node(
        "a",
        type="echo",
        settings={"args": {"l": "$var{lang}", "id": "$var{element_id}", "p": "$var{element_hier_path}"}},
    )
    rc = RunContext(records=False, variables={"lang": "fr"})
    _, _, state = await _run(flow, rc)
    assert state.results["f.a"].outcome["args"] == {"l": "fr", "id": "a", "p": "f.a"}


async def test_hier_to_element_not_run_yet_is_an_error() -> None:
    flow = FlowDefinition(id="f")
    flow.node("a", type="echo", settings={"value": "$hier{b.outcome}"})
    flow.node("b", type="noop")
    flow.connect("a", "b", always=True)
    _result, events, _ = await _run(flow)
    err = next(e for e in events if e["path"] == "f.a" and e["type"] == "node_completed")["error"]
    assert err["type"] == "TemplateError" and "has not run" in err["message"]


async def test_input_handler_answers_while_other_branches_run() -> None:
    flow = FlowDefinition(id="f")
    flow.node("ask", type="ask", settings={"question": "name?"})
    flow.node("pre", type="echo", pre_events=["node_input_required"])
    flow.node("other", type="sleep", settings={"seconds": 0.01})
    flow.connect("ask", "pre")
    rc = RunContext(records=False)
    order: list[str] = []

    async def handler(event: InputRequest) -> None:
        import asyncio

        await asyncio.sleep(0.05)  # the 'other' branch finishes meanwhile
        order.append(event.hier_path)
        event.input = {"answer": event.node_id}
        event.handled = True

    rc.register_node_input_handler(handler)
    statuses: list[str] = []
    result, events, state = await _run(flow, rc)
    del statuses
    assert result.status is Status.COMPLETED
    assert state.results["f.ask"].outcome == {"answer": {"answer": "ask"}}
    assert state.results["f.pre"].outcome["input"] == {"answer": "pre"}
    types = [(e["type"], e["path"]) for e in events]
    assert types.index(("node_completed", "f.other")) < types.index(("node_input_received", "f.ask"))
    required = next(e for e in events if e["type"] == "node_input_required" and e["path"] == "f.ask")
    assert required["node_type"] == "ask" and required["request"]["prompt"] == "name?"
    received = next(e for e in events if e["type"] == "node_input_received" and e["path"] == "f.ask")
    assert received["source"] == "handler"


async def test_static_input_by_id_and_path() -> None:
    flow = FlowDefinition(id="f")
    flow.node("ask", type="ask")
    flow.node("pre", type="echo", pre_events=["node_input_required"])
    rc = RunContext(records=False, inputs={"ask": "by-id", "f.pre": {"k": 1}})
    result, events, state = await _run(flow, rc)
    assert result.status is Status.COMPLETED
    assert state.results["f.ask"].outcome == {"answer": "by-id"}
    assert state.results["f.pre"].outcome["input"] == {"k": 1}
    assert [e["source"] for e in events if e["type"] == "node_input_received"] == ["static", "static"]


async def test_input_unavailable_fails_node_naming_it() -> None:
    flow = FlowDefinition(id="f")
    flow.node("ask", type="ask", settings={"question": "name?"})

    def decline(event: InputRequest) -> None:  # a handler that does not answer
        assert event.handled is False

    rc = RunContext(records=False)
    rc.register_node_input_handler(decline)
    result, events, _ = await _run(flow, rc)
    assert result.status is Status.FAILED
    assert result.input_unavailable == ["f.ask"]
    err = next(e for e in events if e["type"] == "node_completed")["error"]
    assert err["type"] == "InputUnavailable"
    assert "f.ask" in err["message"] and "fields answer" in err["message"]


async def test_nested_ref_resolves_next_to_the_file_that_names_it(tmp_path: Path) -> None:
    """main/flow.dad.json -> lib/a.dad.json (ref "../lib/a.dad.json") -> lib/deep/b.dad.json (ref
    "deep/b.dad.json", relative to lib/, not to main/); the same ref text in two folders names two files."""

    def doc(root: dict[str, object]) -> str:
        return json.dumps({"format": "dad-flow", "schema_version": 1, "root": root})

    (tmp_path / "main").mkdir()
    (tmp_path / "lib" / "deep").mkdir(parents=True)
    (tmp_path / "main" / "deep").mkdir()
    (tmp_path / "lib" / "deep" / "b.dad.json").write_text(
        doc({"id": "b", "nodes": {"leaf": {"type": "noop", "settings": {"value": "lib-deep-$var{v}"}}}})
    )
    (tmp_path / "main" / "deep" / "b.dad.json").write_text(
        doc({"id": "b", "nodes": {"leaf": {"type": "noop", "settings": {"value": "main-deep"}}}})
    )
    (tmp_path / "lib" / "a.dad.json").write_text(
        doc({"id": "a", "nodes": {"inner": {"type": "subflow", "settings": {"ref": "deep/b.dad.json"}}}})
    )
    flow = FlowDefinition(id="f", variables={"v": "x"})
    flow.subflow("outer", ref="../lib/a.dad.json")
    flow.subflow("local", ref="deep/b.dad.json")
    rc = RunContext(records=False, flow_path=tmp_path / "main" / "flow.dad.json")
    result, _events, state = await _run(flow, rc)
    assert result.status is Status.COMPLETED, result.nodes
    assert state.results["f.outer.inner.leaf"].outcome == {"value": "lib-deep-x"}
    assert state.results["f.local.leaf"].outcome == {"value": "main-deep"}


async def test_variables_holding_templates_are_rendered_once_in_the_enclosing_scope() -> None:
    """TEMPLATES.md: variables are values; a declared string with a template is rendered when its
    component starts, in the enclosing scope (built-ins, loop variables, enclosing variables)."""
    body = FlowDefinition(variables={"label": "$var{lang}-$var{item}", "n": "$expr{index + 1}", "lit": "$$var{x}"})
    body.node("e", type="noop", settings={"value": "$var{label}:$var{n}:$var{lit}"})
    flow = FlowDefinition(id="f", variables={"lang": "en", "tag": "$var{run_id}", "items": ["a", "b"]})
    flow.node("top", type="noop", settings={"value": "$var{tag}"})
    flow.for_each("loop", "$expr{items}", body, max_iterations=5)
    rc = RunContext(records=False)
    result, events, state = await _run(flow, rc)
    assert result.status is Status.COMPLETED
    assert state.results["f.top"].outcome == {"value": rc.run_id}
    assert [it["e"]["value"] for it in state.results["f.loop"].outcome["iterations"]] == [
        "en-a:1:$var{x}",
        "en-b:2:$var{x}",
    ]
    started = next(e for e in events if e["type"] == "run_started")
    assert started["variables"]["tag"] == rc.run_id  # the run records the values it used


async def test_var_overrides_apply_to_the_root_as_given() -> None:
    """`--var` (RunContext.variables) replaces a root variable's value; the value is not rendered,
    and the subflow sees it through `$var{}` in its own `variables` setting."""
    body = FlowDefinition(variables={"greeting": "hello $var{who}"})
    body.node("e", type="noop", settings={"value": "$var{greeting}"})
    flow = FlowDefinition(id="f", variables={"who": "world", "raw": "$var{run_id}"})
    flow.subflow("sub", body=body)
    flow.node("r", type="noop", settings={"value": "$var{raw}"})
    result, _events, state = await _run(flow, RunContext(records=False, variables={"who": "you", "raw": "$x"}))
    assert result.status is Status.COMPLETED
    assert state.results["f.sub.e"].outcome == {"value": "hello you"}
    assert state.results["f.r"].outcome == {"value": "$x"}


async def test_a_bad_template_in_a_variable_fails_before_or_where_it_starts() -> None:
    flow = FlowDefinition(id="f", variables={"x": "$var{nope}"})
    flow.node("a", type="noop")
    try:
        await _run(flow)
    except ValueError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("a root variable with an unknown name must refuse the run")
    body = FlowDefinition(variables={"y": "$var{missing}"})
    body.node("e", type="noop")
    flow = FlowDefinition(id="g")
    flow.subflow("sub", body=body)
    result, events, _state = await _run(flow)
    assert result.status is Status.FAILED
    error = next(e for e in events if e["type"] == "node_completed" and e["path"] == "g.sub")["error"]
    assert error["type"] == "TemplateError" and "missing" in error["message"]
