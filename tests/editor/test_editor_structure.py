"""Group / ungroup, copy / paste / duplicate between documents, align and auto layout."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from dad_studio.editor import CommandError, FlowDocument, clipboard
from dad_studio.model import FlowDefinition
from dad_studio.model.definitions import MAX_ID_LENGTH


def edges_of(doc: FlowDocument, cpath: tuple[str, ...] = ()) -> set[tuple[str, str, str, str | None]]:
    return {(e.source, e.target, e.on, e.port) for e in doc.component(cpath).edges or []}


def diamond() -> FlowDocument:
    """start -> (x, y) -> end, plus start -error-> alarm."""
    flow = FlowDefinition(id="d")
    for i, node_id in enumerate(("start", "x", "y", "end", "alarm")):
        flow.node(node_id, type="ai_model", settings={"prompt": f"$hier{{start}} {node_id}"})
        flow.layout[node_id] = (i * 100, i * 10)
    flow.connect("start", "x")
    flow.connect("start", "y")
    flow.connect("x", "end")
    flow.connect("y", "end")
    flow.connect("start", "alarm", on_error=True)
    return FlowDocument(flow)


def test_group_moves_nodes_edges_and_layout_into_a_subflow(recorder_factory: Any) -> None:
    doc = diamond()
    before = (doc.to_bytes(), doc.root.model_dump_json(by_alias=True))
    rec = recorder_factory(doc)
    doc.group_into_subflow((), ["x", "y", "end"], "middle")
    comp = doc.component()
    assert list(comp.nodes) == ["start", "middle", "alarm"]
    assert edges_of(doc) == {("start", "middle", "success", None), ("start", "alarm", "error", None)}
    assert comp.layout["middle"] == (100, 10)
    body = doc.component(("middle",))
    assert list(body.nodes) == ["x", "y", "end"]
    assert edges_of(doc, ("middle",)) == {("x", "end", "success", None), ("y", "end", "success", None)}
    assert body.layout == {"x": (0, 0), "y": (100, 10), "end": (200, 20)}
    assert rec.of("structure_changed") == [("structure_changed", ())]
    assert doc.undo_text == "Group 3 nodes into middle"
    doc.undo()
    assert (doc.to_bytes(), doc.root.model_dump_json(by_alias=True)) == before


def test_group_then_ungroup_restores_the_graph() -> None:
    doc = diamond()
    nodes_before = doc.component().nodes.copy()
    edges_before, layout_before = edges_of(doc), dict(doc.component().layout)
    doc.group_into_subflow((), ["x", "y"], "pair")
    assert edges_of(doc) == {
        ("start", "pair", "success", None),
        ("pair", "end", "success", None),
        ("start", "alarm", "error", None),
    }
    brought = doc.ungroup((), "pair")
    assert brought == ["x", "y"]
    assert doc.component().nodes == nodes_before
    assert edges_of(doc) == edges_before
    assert doc.component().layout == layout_before
    after_ungroup = doc.to_bytes()
    doc.undo()
    doc.undo()
    doc.redo()
    doc.redo()
    assert doc.to_bytes() == after_ungroup


def test_group_refusals() -> None:
    doc = diamond()
    with pytest.raises(CommandError, match="would make a cycle middle -> x -> middle"):
        doc.group_into_subflow((), ["start", "end"], "middle")  # x and y run between them, outside
    with pytest.raises(CommandError, match="already used"):
        doc.group_into_subflow((), ["x"], "y")
    with pytest.raises(CommandError, match="select"):
        doc.group_into_subflow((), [], "g")
    doc.add_node((), "cond", "conditional", {"statement": "$expr{true}"})
    doc.connect((), "cond", "alarm", port="true")
    with pytest.raises(CommandError, match="'true' branch of cond leaves the selection"):
        doc.group_into_subflow((), ["cond"], "g")
    with pytest.raises(CommandError, match="not a subflow"):
        doc.ungroup((), "x")


def test_ungroup_refuses_clashes_and_variables() -> None:
    doc = diamond()
    doc.group_into_subflow((), ["x"], "g")
    doc.add_node((), "x", "ai_model")
    with pytest.raises(CommandError, match="x already used"):
        doc.ungroup((), "g")
    doc.undo()
    doc.set_variable(("g",), "v", 1)
    with pytest.raises(CommandError, match="own variables"):
        doc.ungroup((), "g")


def test_copy_paste_between_documents_renames_clashes_and_references() -> None:
    src = diamond()
    src.set_setting((), "y", ("prompt",), "$hier{x.outcome} $hier{start} $hier{y}")
    payload = src.copy((), ["x", "y", "end"])
    text = clipboard.to_text(payload)
    assert clipboard.from_text("just some text") is None
    received = clipboard.from_text(text)
    assert received == json.loads(text)

    dst = diamond()
    dst.rename_node((), "end", "finish")
    before = dst.to_bytes()
    new_ids = dst.paste((), received or {}, at=(1000, 500))
    assert new_ids == ["x_2", "y_2", "end"]
    comp = dst.component()
    assert comp.nodes["y_2"].settings["prompt"] == "$hier{x_2.outcome} $hier{start} $hier{y_2}"
    assert {("x_2", "end", "success", None), ("y_2", "end", "success", None)} <= edges_of(dst)
    assert not any(e[0] == "start" and e[1] in new_ids for e in edges_of(dst))  # only internal edges travel
    assert comp.layout["x_2"] == (1000, 500) and comp.layout["end"] == (1200, 520)
    assert dst.undo_text == "Paste 3 nodes"
    dst.undo()
    assert dst.to_bytes() == before
    # pasting again into itself twice keeps finding free ids
    assert dst.paste((), payload) == ["x_2", "y_2", "end"]
    assert dst.paste((), payload) == ["x_3", "y_3", "end_2"]


def test_paste_refuses_foreign_payloads_and_unknown_types() -> None:
    doc = diamond()
    with pytest.raises(CommandError, match="does not hold"):
        doc.paste((), {"format": "other"})
    payload = doc.copy((), ["x"])
    payload["nodes"]["x"]["type"] = "plugin_we_do_not_have"
    before = doc.to_bytes()
    with pytest.raises(CommandError, match="unknown node type"):
        doc.paste((), payload)
    assert doc.to_bytes() == before and doc.undo_text != "Paste 1 node"


def test_paste_into_a_nested_body_and_duplicate() -> None:
    doc = diamond()
    doc.add_node((), "sub", "subflow")
    ids = doc.paste(("sub",), doc.copy((), ["x", "y"]), at=(0, 0))
    assert ids == ["x", "y"]
    assert set(doc.component(("sub",)).nodes) == {"x", "y"}
    dup = doc.duplicate((), ["start", "x"])
    assert dup == ["start_2", "x_2"]
    assert ("start_2", "x_2", "success", None) in edges_of(doc)
    assert doc.component().layout["start_2"] == (40, 40)


def test_duplicate_of_an_id_at_the_length_limit_stays_within_it() -> None:
    """A free id is cut to fit, never one character past MAX_ID_LENGTH (which the add would refuse)."""
    doc = FlowDocument()
    long = "a" * MAX_ID_LENGTH
    doc.add_node((), long, "noop")
    first = doc.duplicate((), [long])
    second = doc.duplicate((), [long])
    assert first == ["a" * (MAX_ID_LENGTH - 2) + "_2"] and second == ["a" * (MAX_ID_LENGTH - 2) + "_3"]
    note = doc.add_comment((), "a note", (0, 0, 100, 40), comment_id="c" * MAX_ID_LENGTH)
    doc.duplicate((), [], comments=[note])
    assert {c.id for c in doc.component().comments} == {note, "c" * (MAX_ID_LENGTH - 2) + "_2"}


def test_align() -> None:
    doc = diamond()
    doc.align((), ["x", "y", "end"], "left")
    assert {doc.component().layout[k][0] for k in ("x", "y", "end")} == {100}
    assert doc.undo_text == "Align 3 nodes left"
    doc.undo()
    doc.align((), ["x", "y", "end"], "vcenter")
    assert {doc.component().layout[k][1] for k in ("x", "y", "end")} == {20}
    with pytest.raises(CommandError, match="unknown alignment"):
        doc.align((), ["x", "y"], "diagonal")


def test_auto_layout_layers_and_is_deterministic() -> None:
    doc = diamond()
    doc.auto_layout()
    layout = doc.component().layout
    xs = {k: layout[k][0] for k in layout}
    assert xs["start"] < xs["x"] == xs["y"] == xs["alarm"] < xs["end"]
    assert len({layout[k] for k in layout}) == len(layout)
    first = dict(layout)
    doc.undo()
    doc.auto_layout()
    assert doc.component().layout == first


def test_auto_layout_5000_nodes_is_fast() -> None:
    flow = FlowDefinition(id="big")
    for i in range(5000):
        flow.node(f"n{i}", type="ai_model")
    flow.edges = []
    for i in range(1, 5000):
        flow.connect(f"n{(i * 7919) % i}", f"n{i}")  # a random-ish DAG: edges only go forward
    doc = FlowDocument(flow)
    start = time.perf_counter()
    doc.auto_layout()
    elapsed = time.perf_counter() - start
    assert len(doc.component().layout) == 5000
    assert elapsed < 5.0  # generous for a shared CI core; bench/editor_bench.py has the real figure


def test_paste_refuses_payload_edges_that_repeat_or_make_a_cycle() -> None:
    doc = diamond()
    payload = doc.copy((), ["x", "end"])
    looped = {**payload, "edges": [*payload["edges"], {"from": "end", "to": "x"}]}
    with pytest.raises(CommandError, match="make a cycle"):
        doc.paste((), looped)
    twice = {**payload, "edges": payload["edges"] * 2}
    with pytest.raises(CommandError, match="same edge twice"):
        doc.paste((), twice)
    assert not doc.can_undo
