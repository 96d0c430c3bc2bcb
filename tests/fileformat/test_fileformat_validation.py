"""Semantic validation through the API: scopes, $hier resolution, refs, warnings, all problems at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dad_studio.fileformat import SCHEMA_VERSION, FlowFileError, load_flow, load_ref, loads_flow, validate_component
from dad_studio.model import FlowDefinition, NodeTypeRegistry
from dad_studio.model.node_types import BUILTIN_TYPES


def doc(nodes: dict[str, Any], edges: list[dict[str, Any]] | None = None, **root: Any) -> str:
    body: dict[str, Any] = {"id": "top", "nodes": nodes, **root}
    if edges is not None:
        body["edges"] = edges
    return json.dumps({"format": "dad-flow", "schema_version": SCHEMA_VERSION, "root": body})


def noop(value: str) -> dict[str, Any]:
    return {"type": "noop", "settings": {"value": value}}


def errors(text: str, **kwargs: Any) -> list[tuple[str, str]]:
    return [(p.pointer, p.message) for p in loads_flow(text, **kwargs).errors]


def test_every_problem_is_reported_in_one_pass() -> None:
    text = doc(
        {
            "a": {"type": "nope"},
            "b": noop("$var{missing}"),
            "c": {"type": "command", "settings": {"commands": "x"}},
            "loop": {
                "type": "for_each",
                "settings": {"statement": "$expr{[1]}", "body": {"nodes": {"x": {"type": "nah"}}}},
            },
        },
        [{"from": "a", "to": "ghost"}, {"from": "b", "to": "c"}, {"from": "c", "to": "b"}],
        variables={"run_dir": "x"},
    )
    pointers = {p for p, _ in errors(text)}
    assert pointers == {
        "/root/nodes/a/type",
        "/root/nodes/b/settings/value",
        "/root/nodes/c/settings/commands",
        "/root/nodes/loop/settings/max_iterations",
        "/root/nodes/loop/settings/body/nodes/x/type",
        "/root/edges/0/to",
        "/root/edges/1",
        "/root/variables/run_dir",
    }


def test_structure_errors_in_sibling_bodies_are_all_reported() -> None:
    body_a = {"nodes": {"x": {"type": "noop", "timeout_s": "soon"}}}
    body_b = {"nodes": {"y": {"type": "noop", "join": "maybe"}}}
    text = doc(
        {
            "s1": {"type": "subflow", "settings": {"body": body_a}},
            "s2": {"type": "subflow", "settings": {"body": body_b}},
        },
        [],
        kind="spaceship",
    )
    result = loads_flow(text)
    assert result.component is None
    assert {p.pointer for p in result.errors} == {
        "/root/nodes/s1/settings/body/nodes/x/timeout_s",
        "/root/nodes/s2/settings/body/nodes/y/join",
        "/root/kind",
    }


def test_variable_scopes_outer_loop_and_subflow_overrides() -> None:
    body = {
        "variables": {"inner": 1},
        "nodes": {"use": noop("$var{outer} $var{inner} $var{it} $var{pos} $var{run_id} $expr{maybe ?? 1}")},
    }
    sub_body = {"nodes": {"s": noop("$var{given} $var{outer}")}}
    text = doc(
        {
            "loop": {
                "type": "for_each",
                "settings": {
                    "statement": "$expr{[1]}",
                    "item_var": "it",
                    "index_var": "pos",
                    "max_iterations": 3,
                    "body": body,
                },
            },
            "sub": {"type": "subflow", "settings": {"variables": {"given": "$var{outer}"}, "body": sub_body}},
            "after": noop("$var{inner}"),
        },
        [],
        variables={"outer": "o"},
    )
    assert errors(text) == [("/root/nodes/after/settings/value", errors(text)[0][1])]
    assert "'inner'" in errors(text)[0][1]


@pytest.mark.parametrize(
    ("reference", "ok"),
    [
        ("scan", True),
        ("scan.outcome.value", True),
        ("scan.status", True),
        ("top.scan.outcome", True),  # absolute
        ("sub.inner.outcome", True),  # partial path into a body
        ("loop.iter_2.step.outcome", True),  # another iteration
        ("loop.step", True),
        ("inner", True),  # unique suffix
        ("scna", False),
        ("scan.outcom", False),
        ("sub.nope", False),
    ],
)
def test_hier_references(reference: str, ok: bool) -> None:
    text = doc(
        {
            "scan": noop(""),
            "sub": {"type": "subflow", "settings": {"body": {"nodes": {"inner": noop("$hier{scan}")}}}},
            "loop": {
                "type": "for_each",
                "settings": {"statement": "$expr{[1]}", "max_iterations": 2, "body": {"nodes": {"step": noop("")}}},
            },
            "use": noop(f"$hier{{{reference}}}"),
        },
        [],
    )
    found = errors(text)
    if ok:
        assert found == []
    else:
        assert [p for p, _ in found] == ["/root/nodes/use/settings/value"]
        assert reference.split(".")[-1] in found[0][1] or reference in found[0][1]


def test_ambiguous_partial_hier_path_is_an_error() -> None:
    inner = {"nodes": {"x": noop("")}}
    text = doc(
        {
            "a": {"type": "subflow", "settings": {"body": inner}},
            "b": {"type": "subflow", "settings": {"body": inner}},
            "use": noop("$hier{x}"),
        },
        [],
    )
    [(pointer, message)] = errors(text)
    assert pointer == "/root/nodes/use/settings/value" and "ambiguous" in message


def test_subflow_ref_loads_relative_and_contributes_paths_and_scope(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    shared = {
        "format": "dad-flow",
        "schema_version": SCHEMA_VERSION,
        "root": {"id": "shared", "nodes": {"step": noop("$var{topic} $var{outer}")}, "edges": []},
    }
    (tmp_path / "lib" / "shared.dad.json").write_text(json.dumps(shared))
    main_file = tmp_path / "main.dad.json"
    main_file.write_text(
        doc(
            {
                "sub": {"type": "subflow", "settings": {"ref": "lib/shared.dad.json", "variables": {"topic": "t"}}},
                "use": noop("$hier{sub.step.outcome}"),
            },
            [{"from": "sub", "to": "use"}],
            variables={"outer": 1},
        )
    )
    result = load_flow(main_file)
    assert result.ok, [p.format() for p in result.problems]
    ref = load_ref(main_file, "lib/shared.dad.json", variables={"topic", "outer"}, hier_path="top.sub")
    assert ref.ok and ref.component is not None and list(ref.component.nodes) == ["step"]
    alone = load_ref(main_file, "lib/shared.dad.json")  # without the enclosing scope
    assert {p.message.split(" in ")[0] for p in alone.errors} == {
        "unknown variable 'topic'",
        "unknown variable 'outer'",
    }
    assert all(p.file == tmp_path / "lib" / "shared.dad.json" for p in alone.errors)


def test_unresolved_refs_are_opaque_to_hier_checks() -> None:
    text = doc(
        {"sub": {"type": "subflow", "settings": {"ref": "elsewhere.dad.json"}}, "use": noop("$hier{sub.deep.outcome}")},
        [],
    )
    assert loads_flow(text, resolve_refs=False).ok
    assert any("no such file" in m for _, m in errors(text, base_dir=Path("/nonexistent")))


def test_load_ref_detects_a_cycle_back_to_the_base(tmp_path: Path) -> None:
    a, b = tmp_path / "a.dad.json", tmp_path / "b.dad.json"
    a.write_text(doc({"to_b": {"type": "subflow", "settings": {"ref": "b.dad.json"}}}, []))
    b.write_text(doc({"to_a": {"type": "subflow", "settings": {"ref": "a.dad.json"}}}, []))
    result = load_ref(a, "b.dad.json")
    assert [p.message for p in result.errors] == [
        "subflow ref cycle between files: a.dad.json -> b.dad.json -> a.dad.json"
    ]
    assert load_ref(a, "a.dad.json").component is None


def test_warnings_do_not_invalidate() -> None:
    text = doc(
        {
            "c": {"type": "conditional", "settings": {"statement": "$expr{true}"}},
            "both": noop(""),
            "x": noop(""),
        },
        [
            {"from": "c", "port": "true", "to": "both"},
            {"from": "c", "port": "false", "to": "both"},
            {"from": "c", "port": "true", "to": "x"},
            {"from": "c", "port": "true", "to": "x"},
        ],
        layout={"gone": [1, 2]},
    )
    result = loads_flow(text)
    assert result.ok
    assert {(p.pointer, p.severity) for p in result.warnings} == {
        ("/root/nodes/both", "warning"),
        ("/root/edges/3", "warning"),
        ("/root/layout/gone", "warning"),
    }


def test_downstream_of_a_cycle_is_a_warning_and_the_cycle_an_error() -> None:
    text = doc(
        {"a": noop(""), "b": noop(""), "c": noop("")},
        [{"from": "a", "to": "b"}, {"from": "b", "to": "a"}, {"from": "b", "to": "c"}],
    )
    result = loads_flow(text)
    assert [p.message for p in result.errors] == ["cycle: a -> b -> a (a flow must be acyclic)"]
    assert [p.pointer for p in result.warnings] == ["/root/nodes/c"]


def test_validate_component_in_memory_and_raise_for_errors() -> None:
    flow = FlowDefinition(id="f")
    flow.node("a", type="noop", settings={"value": "$var{nope}"})
    flow.conditional("c", "$expr{true}")
    flow.node("b", type="noop")
    problems = validate_component(flow)
    assert [(p.pointer, p.severity) for p in problems] == [
        ("/root/nodes/a/settings/value", "error"),
        ("/root/edges", "error"),  # the implicit edge c -> b has no port
    ]
    with pytest.raises(FlowFileError, match="unknown variable 'nope'"):
        loads_flow(
            json.dumps(
                {
                    "format": "dad-flow",
                    "schema_version": SCHEMA_VERSION,
                    "root": {"id": "f", "nodes": {"a": noop("$var{nope}")}},
                }
            )
        ).raise_for_errors()


def test_custom_registry_without_plugins() -> None:
    registry = NodeTypeRegistry.with_types(BUILTIN_TYPES)
    [(pointer, message)] = errors(doc({"a": noop("")}, []), registry=registry)
    assert pointer == "/root/nodes/a/type" and "unknown node type 'noop'" in message


def test_ids_and_body_ids() -> None:
    text = doc({"ok": {"type": "subflow", "settings": {"body": {"id": "named", "nodes": {}}}}}, [])
    result = loads_flow(text)
    assert result.ok
    assert [p.pointer for p in result.warnings] == ["/root/nodes/ok/settings/body/id"]
    assert [p for p, _ in errors(doc({}, [], id="9lives"))] == ["/root/id"]
