"""Every basic command: do, undo, redo, the signals it emits, dirty transitions and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from dad_studio.editor import CommandError, FlowDocument
from dad_studio.model import EdgeDefinition, RetryPolicy


def snap(doc: FlowDocument) -> tuple[bytes, str]:
    """Canonical file bytes plus the raw model JSON (which also sees dict order)."""
    return doc.to_bytes(), doc.root.model_dump_json(by_alias=True)


def roundtrip(doc: FlowDocument, action: Any) -> None:
    """Run ``action``; undo must give back the exact state before, redo the exact state after."""
    before = snap(doc)
    action()
    after = snap(doc)
    assert after != before
    doc.undo()
    assert snap(doc) == before
    doc.redo()
    assert snap(doc) == after


def test_add_node_signals_ids_and_roundtrip(chain_doc: FlowDocument, recorder_factory: Any) -> None:
    rec = recorder_factory(chain_doc)
    new_id = chain_doc.add_node((), None, "ai_model", {"prompt": "x"}, pos=(10.4, 20.6))
    assert new_id == "ai_model"
    assert chain_doc.component().layout[new_id] == (10, 21)
    assert rec.of("node_added") == [("node_added", (), "ai_model")]
    assert rec.of("dirty_changed") == [("dirty_changed", True)]
    assert chain_doc.undo_text == "Add ai_model ai_model"
    assert chain_doc.add_node((), None, "ai_model") == "ai_model_2"
    rec.clear()
    chain_doc.undo()
    chain_doc.undo()
    assert rec.of("node_removed") == [("node_removed", (), "ai_model_2"), ("node_removed", (), "ai_model")]
    assert rec.of("dirty_changed") == [("dirty_changed", False)]
    assert not chain_doc.dirty
    roundtrip(chain_doc, lambda: chain_doc.add_node((), "z", "command", {"commands": ["echo"]}))


def test_add_node_refusals_change_nothing(chain_doc: FlowDocument) -> None:
    before = snap(chain_doc)
    with pytest.raises(CommandError, match="unknown node type 'nope'"):
        chain_doc.add_node((), "x", "nope")
    with pytest.raises(CommandError, match="already used"):
        chain_doc.add_node((), "a", "ai_model")
    with pytest.raises(CommandError, match="invalid id"):
        chain_doc.add_node((), "1bad", "ai_model")
    with pytest.raises(CommandError, match="no component"):
        chain_doc.add_node(("a",), "x", "ai_model")
    assert snap(chain_doc) == before
    assert not chain_doc.dirty and not chain_doc.can_undo


def test_body_nodes_get_an_empty_inline_body_with_explicit_edges(chain_doc: FlowDocument) -> None:
    chain_doc.add_node((), "sub", "subflow")
    body = chain_doc.component(("sub",))
    assert body.nodes == {} and body.edges == []
    inner = chain_doc.add_node(("sub",), None, "ai_model")
    assert chain_doc.component(("sub",)).nodes[inner].type == "ai_model"


def test_remove_nodes_removes_edges_and_layout_and_restores_order(
    chain_doc: FlowDocument, recorder_factory: Any
) -> None:
    rec = recorder_factory(chain_doc)
    roundtrip(chain_doc, lambda: chain_doc.remove_nodes((), ["b"]))
    chain_doc.undo()
    rec.clear()
    chain_doc.remove_nodes((), ["b"])
    comp = chain_doc.component()
    assert list(comp.nodes) == ["a", "c", "cond"] and comp.edges == [] and "b" not in comp.layout
    removed = [(e[0], e[2].source, e[2].target) for e in rec.of("edge_removed")]
    assert sorted(removed) == [("edge_removed", "a", "b"), ("edge_removed", "b", "c")]
    assert rec.of("node_removed") == [("node_removed", (), "b")]
    assert chain_doc.undo_text == "Remove b"
    rec.clear()
    chain_doc.undo()
    assert list(chain_doc.component().nodes) == ["a", "b", "c", "cond"]
    assert rec.of("node_added") == [("node_added", (), "b")]
    assert len(rec.of("edge_added")) == 2
    with pytest.raises(CommandError, match="no node 'q'"):
        chain_doc.remove_nodes((), ["a", "q"])
    assert "a" in chain_doc.component().nodes


def test_move_is_one_step_for_many_and_merges_on_request(chain_doc: FlowDocument, recorder_factory: Any) -> None:
    rec = recorder_factory(chain_doc)
    roundtrip(chain_doc, lambda: chain_doc.move_nodes((), {"a": (5, 5), "b": (7.7, 8)}))
    assert chain_doc.undo_text == "Move 2 nodes"
    assert ("node_moved", (), "b", 8, 8) in rec.events
    chain_doc.undo()
    assert not chain_doc.can_undo
    for x in range(10):
        chain_doc.move_nodes((), {"a": (x, 0)}, merge=True)
    assert chain_doc.component().layout["a"] == (9, 0)
    chain_doc.undo()
    assert chain_doc.component().layout["a"] == (0, 0)
    assert not chain_doc.can_undo  # ten merged moves were one step
    chain_doc.move_nodes((), {"a": (1, 0)})
    chain_doc.move_nodes((), {"a": (2, 0)})
    chain_doc.undo()
    assert chain_doc.component().layout["a"] == (1, 0)  # without merge, each move is a step
    # a move of a node that had no position removes the position again on undo
    chain_doc.add_node((), "free", "ai_model")
    chain_doc.move_nodes((), {"free": (1, 1)})
    chain_doc.undo()
    assert "free" not in chain_doc.component().layout
    with pytest.raises(CommandError):
        chain_doc.move_nodes((), {"ghost": (0, 0)})


def test_moves_do_not_merge_into_the_saved_state(chain_doc: FlowDocument, tmp_path: Any) -> None:
    chain_doc.move_nodes((), {"a": (1, 1)}, merge=True)
    chain_doc.save(tmp_path / "f.dad.json")
    chain_doc.move_nodes((), {"a": (2, 2)}, merge=True)
    assert chain_doc.dirty
    chain_doc.undo()
    assert not chain_doc.dirty and chain_doc.component().layout["a"] == (1, 1)


@pytest.mark.parametrize(
    ("source", "target", "on", "port", "reason"),
    [
        ("a", "a", "success", None, "cannot connect to itself"),
        ("a", "b", "success", None, "already connected"),
        ("c", "a", "success", None, "would make a cycle c -> a -> b -> c"),
        ("a", "c", "success", "true", "only conditional nodes have true/false ports"),
        ("cond", "a", "success", None, "conditional edges need a port"),
        ("cond", "a", "error", "true", "error edge leaves the node itself"),
        ("a", "c", "sometimes", None, "unknown edge condition 'sometimes'"),
        ("a", "c", "success", "maybe", "unknown port 'maybe'"),
        ("a", "ghost", "success", None, "unknown node 'ghost'"),
    ],
)
def test_connect_refusals(
    chain_doc: FlowDocument, source: str, target: str, on: str, port: str | None, reason: str
) -> None:
    before = snap(chain_doc)
    with pytest.raises(CommandError, match=reason):
        chain_doc.connect((), source, target, on=on, port=port)
    assert snap(chain_doc) == before and not chain_doc.can_undo


def test_connect_and_disconnect(chain_doc: FlowDocument, recorder_factory: Any) -> None:
    rec = recorder_factory(chain_doc)
    roundtrip(chain_doc, lambda: chain_doc.connect((), "cond", "c", port="true"))
    assert chain_doc.undo_text == "Connect cond -> c [true]"
    edge = EdgeDefinition.model_validate({"from": "cond", "to": "c", "port": "true"})
    assert rec.of("edge_added")[-1] == ("edge_added", (), edge)
    chain_doc.connect((), "cond", "a", on="error")
    chain_doc.connect((), "a", "c", on="always")
    roundtrip(chain_doc, lambda: chain_doc.disconnect((), 0))
    roundtrip(chain_doc, lambda: chain_doc.disconnect((), ("a", "c", "always", None)))
    with pytest.raises(CommandError, match="no edge"):
        chain_doc.disconnect((), ("a", "c", "always", None))
    with pytest.raises(CommandError, match="no edge #99"):
        chain_doc.disconnect((), 99)


def test_set_setting_nested_keys_lists_and_removal(chain_doc: FlowDocument, recorder_factory: Any) -> None:
    rec = recorder_factory(chain_doc)
    roundtrip(chain_doc, lambda: chain_doc.set_setting((), "a", ("prompt",), "new prompt"))
    assert rec.of("settings_changed")[0] == ("settings_changed", (), "a")
    roundtrip(chain_doc, lambda: chain_doc.set_setting((), "a", ("temperature",), 0.5))
    chain_doc.set_setting((), "a", ("context_sources",), ["x", "y"])
    roundtrip(chain_doc, lambda: chain_doc.set_setting((), "a", ("context_sources", 1), "z"))
    roundtrip(chain_doc, lambda: chain_doc.set_setting((), "a", ("context_sources", 2), "appended"))
    roundtrip(chain_doc, lambda: chain_doc.remove_setting((), "a", ("context_sources", 0)))
    roundtrip(chain_doc, lambda: chain_doc.remove_setting((), "a", ("prompt",)))
    value = {"k": [1]}
    chain_doc.set_setting((), "b", ("structured_output",), value)
    value["k"].append(2)  # the document keeps its own copy
    assert chain_doc.component().nodes["b"].settings["structured_output"] == {"k": [1]}
    with pytest.raises(CommandError, match="no setting"):
        chain_doc.remove_setting((), "a", ("nothing",))
    with pytest.raises(CommandError, match="index out of range"):
        chain_doc.set_setting((), "a", ("context_sources", 9), "x")
    with pytest.raises(CommandError, match="key path"):
        chain_doc.set_setting((), "a", (), "x")
    chain_doc.add_node((), "sub", "subflow")
    with pytest.raises(CommandError, match="body"):
        chain_doc.set_setting((), "sub", ("body",), {})


def test_set_node_field_validates(chain_doc: FlowDocument) -> None:
    roundtrip(chain_doc, lambda: chain_doc.set_node_field((), "a", "description", "first"))
    roundtrip(chain_doc, lambda: chain_doc.set_node_field((), "a", "join", "any"))
    roundtrip(chain_doc, lambda: chain_doc.set_node_field((), "a", "retry", {"max_attempts": 3}))
    assert chain_doc.component().nodes["a"].retry == RetryPolicy(max_attempts=3)
    roundtrip(chain_doc, lambda: chain_doc.set_node_field((), "a", "pre_events", ["node_input_required"]))
    with pytest.raises(CommandError, match="bad timeout_s"):
        chain_doc.set_node_field((), "a", "timeout_s", -1)
    with pytest.raises(CommandError, match="bad join"):
        chain_doc.set_node_field((), "a", "join", "some")
    with pytest.raises(CommandError, match="not an editable node field"):
        chain_doc.set_node_field((), "a", "type", "command")


def test_variables(chain_doc: FlowDocument, recorder_factory: Any) -> None:
    rec = recorder_factory(chain_doc)
    roundtrip(chain_doc, lambda: chain_doc.set_variable((), "topic", "x"))
    assert rec.of("variables_changed")[0] == ("variables_changed", ())
    chain_doc.set_variable((), "other", 1)
    roundtrip(chain_doc, lambda: chain_doc.set_variable((), "topic", "y"))
    roundtrip(chain_doc, lambda: chain_doc.remove_variable((), "topic"))
    with pytest.raises(CommandError, match="built-in variable"):
        chain_doc.set_variable((), "run_id", "x")
    with pytest.raises(CommandError, match="no variable"):
        chain_doc.remove_variable((), "missing")


def test_macro_is_one_undo_step_and_abort_rolls_back(chain_doc: FlowDocument) -> None:
    before = snap(chain_doc)
    chain_doc.begin_macro("Two things")
    chain_doc.add_node((), "x", "ai_model")
    chain_doc.connect((), "c", "x")
    chain_doc.end_macro()
    assert chain_doc.undo_text == "Two things"
    chain_doc.undo()
    assert snap(chain_doc) == before
    chain_doc.begin_macro("broken")
    chain_doc.add_node((), "y", "ai_model")
    chain_doc.abort_macro()
    assert snap(chain_doc) == before
    assert chain_doc.redo_text == "Two things"


def test_dirty_after_save_undo_redo_and_new_branch(
    chain_doc: FlowDocument, tmp_path: Any, recorder_factory: Any
) -> None:
    rec = recorder_factory(chain_doc)
    chain_doc.add_node((), "x", "ai_model")
    chain_doc.save(tmp_path / "f.dad.json")
    assert not chain_doc.dirty
    chain_doc.undo()
    assert chain_doc.dirty  # undo after save: unsaved again
    chain_doc.redo()
    assert not chain_doc.dirty
    chain_doc.undo()
    chain_doc.add_node((), "y", "ai_model")  # the saved state is no longer reachable
    chain_doc.undo()
    assert chain_doc.dirty and chain_doc.redo_text == "Add ai_model y"
    assert [e[1] for e in rec.of("dirty_changed")] == [True, False, True, False, True]
    assert chain_doc.revision == 6
