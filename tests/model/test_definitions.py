import pytest

from dad_studio.model import (
    AgentDefinition,
    FlowDefinition,
    NodeDefinition,
    NodeTypeRegistry,
    Status,
    component_from_dict,
    default_registry,
)
from dad_studio.model.node_types import BUILTIN_TYPES, NodeType
from dad_studio.model.settings import ForEachSettings, SubflowSettings


def test_flow_without_connect_runs_in_order_added():
    flow = FlowDefinition(id="f")
    for name in ("a", "b", "c"):
        flow.node(name, type="noop")
    assert [(e.source, e.target) for e in flow.effective_edges()] == [("a", "b"), ("b", "c")]


def test_connect_replaces_implicit_order():
    flow = FlowDefinition(id="f")
    flow.node("main", type="noop")
    flow.node("ok", type="noop")
    flow.node("bad", type="noop")
    flow.connect("main", "ok", on_success=True)
    flow.connect("main", "bad", on_error=True)
    assert [(e.source, e.target, e.on) for e in flow.effective_edges()] == [
        ("main", "ok", "success"),
        ("main", "bad", "error"),
    ]


def test_builder_rejects_bad_and_duplicate_ids():
    flow = FlowDefinition(id="f")
    flow.node("a", type="noop")
    with pytest.raises(ValueError, match="duplicate"):
        flow.node("a", type="noop")
    with pytest.raises(ValueError, match="invalid element id"):
        flow.node("1abc", type="noop")


def test_agent_nests_flows_and_walk_yields_hierarchy_paths():
    inner = FlowDefinition(id="ignored")
    inner.node("step", type="noop")
    agent = AgentDefinition(id="agent")
    agent.flow("main", inner)
    loop_body = FlowDefinition()
    loop_body.node("work", type="noop")
    agent.for_each("loop", "$expr{[1, 2]}", loop_body, max_iterations=5)
    paths = [p for _, p, _ in agent.walk()]
    assert paths == ["agent.main", "agent.main.step", "agent.loop", "agent.loop.work"]
    assert agent.nodes["main"].body is not None and agent.nodes["main"].body.id is None


def test_body_dicts_become_components_and_kind_selects_class():
    comp = component_from_dict(
        {"id": "a", "kind": "agent", "nodes": {"s": {"type": "subflow", "settings": {"body": {"nodes": {}}}}}}
    )
    assert isinstance(comp, AgentDefinition)
    assert comp.nodes["s"].body is not None


def test_settings_models_validate():
    with pytest.raises(ValueError, match="exactly one"):
        SubflowSettings.model_validate({})
    with pytest.raises(ValueError):
        ForEachSettings.model_validate({"statement": "x", "body": FlowDefinition()})  # no max_iterations


def test_registry_has_builtins_and_entry_point_plugins():
    registry = default_registry()
    for node_type in BUILTIN_TYPES:
        assert node_type.id in registry
    # noop and sleep come in through the entry-point group, the way a plugin's types do
    assert "noop" in registry and "sleep" in registry
    with pytest.raises(ValueError, match="already registered"):
        registry.register(registry.types["noop"])
    assert isinstance(registry.get("conditional"), NodeType)
    assert [p.name for p in registry.types["conditional"].ports] == ["in", "true", "false", "error"]
    assert NodeTypeRegistry().get("noop") is None


def test_status_settled():
    assert Status.COMPLETED.settled and not Status.RUNNING.settled
    assert NodeDefinition(type="x").join == "all"
