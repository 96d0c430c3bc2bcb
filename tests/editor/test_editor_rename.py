"""rename_node: id, edges, layout and every $hier reference to the node, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from dad_studio.editor import CommandError, FlowDocument
from dad_studio.model import FlowDefinition


def build() -> FlowDocument:
    top = FlowDefinition(id="top", variables={"greeting": "$hier{scan.outcome.text}", "scan": "plain"})
    top.node(
        "scan",
        type="ai_model",
        settings={
            "prompt": "scan: $var{scan} and $hier{scan.outcome} $$hier{scan} scanner $hier{scanner}",
            "context_sources": ["$hier{ scan . outcome }['k']", "no refs here: scan"],
        },
    )
    top.node("scanner", type="ai_model", settings={"prompt": "x"})
    inner = FlowDefinition()
    inner.node("deep", type="ai_model", settings={"prompt": "$hier{scan} $hier{top.scan.status} $hier{step}"})
    body = FlowDefinition()
    body.node("step", type="ai_model", settings={"prompt": "$expr{$hier{scan}.outcome.n > 1 && $hier{step}}"})
    body.subflow("sub", inner)
    body.connect("step", "sub")
    top.for_each("loop", "$hier{scan.outcome.items}", body, max_iterations=3)
    top.node(
        "after",
        type="python",
        settings={
            "callable": "m:f",
            "args": {
                "a": "$hier{loop.iter_2.step.outcome}",
                "b": "$expr{py: len($hier{scan}) + 1}",
                "c": "$hier{loop.sub.deep}",
                "d": "$var{step}",
            },
        },
    )
    top.connect("scan", "loop")
    top.connect("loop", "after")
    top.connect("scanner", "after", on_error=True)
    top.layout.update({"scan": (0, 0), "scanner": (0, 100), "after": (300, 0)})
    return FlowDocument(top)


def prompt(doc: FlowDocument, cpath: tuple[str, ...], node_id: str, *keys: Any) -> Any:
    value: Any = doc.component(cpath).nodes[node_id].settings
    for key in keys:
        value = value[key]
    return value


def test_rename_top_level_node_updates_every_reference_and_nothing_else(recorder_factory: Any) -> None:
    doc = build()
    before = (doc.to_bytes(), doc.root.model_dump_json(by_alias=True))
    rec = recorder_factory(doc)
    doc.rename_node((), "scan", "survey")
    comp = doc.component()
    assert list(comp.nodes) == ["survey", "scanner", "loop", "after"]
    assert list(comp.layout) == ["survey", "scanner", "after"]
    assert [(e.source, e.target) for e in comp.edges or []] == [
        ("survey", "loop"),
        ("loop", "after"),
        ("scanner", "after"),
    ]
    assert prompt(doc, (), "survey", "prompt") == (
        "scan: $var{scan} and $hier{survey.outcome} $$hier{scan} scanner $hier{scanner}"
    )
    assert prompt(doc, (), "survey", "context_sources") == ["$hier{ survey . outcome }['k']", "no refs here: scan"]
    assert comp.variables == {"greeting": "$hier{survey.outcome.text}", "scan": "plain"}
    assert prompt(doc, (), "loop", "statement") == "$hier{survey.outcome.items}"
    assert prompt(doc, ("loop",), "step", "prompt") == "$expr{$hier{survey}.outcome.n > 1 && $hier{step}}"
    assert prompt(doc, ("loop", "sub"), "deep", "prompt") == "$hier{survey} $hier{top.survey.status} $hier{step}"
    assert prompt(doc, (), "after", "args", "b") == "$expr{py: len($hier{survey}) + 1}"
    assert rec.of("node_renamed") == [("node_renamed", (), "scan", "survey")]
    changed = {(e[1], e[2]) for e in rec.of("settings_changed")}
    assert changed == {((), "survey"), ((), "loop"), (("loop",), "step"), (("loop", "sub"), "deep"), ((), "after")}
    assert rec.of("variables_changed") == [("variables_changed", ())]
    doc.undo()
    assert (doc.to_bytes(), doc.root.model_dump_json(by_alias=True)) == before
    assert rec.of("node_renamed")[-1] == ("node_renamed", (), "survey", "scan")


def test_rename_inside_for_each_body_covers_iterations_and_partial_paths() -> None:
    doc = build()
    doc.rename_node(("loop",), "step", "stage")
    assert prompt(doc, ("loop",), "stage", "prompt") == "$expr{$hier{scan}.outcome.n > 1 && $hier{stage}}"
    assert prompt(doc, (), "after", "args") == {
        "a": "$hier{loop.iter_2.stage.outcome}",
        "b": "$expr{py: len($hier{scan}) + 1}",
        "c": "$hier{loop.sub.deep}",
        "d": "$var{step}",
    }
    # from the nested subflow, `step` is found outward in the loop body
    assert prompt(doc, ("loop", "sub"), "deep", "prompt") == "$hier{scan} $hier{top.scan.status} $hier{stage}"
    assert [(e.source, e.target) for e in doc.component(("loop",)).edges or []] == [("stage", "sub")]


def test_rename_a_node_that_holds_a_body_rewrites_paths_through_it() -> None:
    doc = build()
    before = doc.to_bytes()
    doc.rename_node(("loop",), "sub", "nested")
    assert prompt(doc, (), "after", "args", "c") == "$hier{loop.nested.deep}"
    doc.rename_node((), "loop", "each")
    assert prompt(doc, (), "after", "args", "a") == "$hier{each.iter_2.step.outcome}"
    assert prompt(doc, (), "after", "args", "c") == "$hier{each.nested.deep}"
    assert doc.component(("each", "nested")).nodes["deep"].type == "ai_model"
    doc.rename_node(("each", "nested"), "deep", "deeper")
    assert prompt(doc, (), "after", "args", "c") == "$hier{each.nested.deeper}"
    for _ in range(3):
        doc.undo()
    assert doc.to_bytes() == before


def test_rename_refusals() -> None:
    doc = build()
    with pytest.raises(CommandError, match="already used"):
        doc.rename_node((), "scan", "scanner")
    with pytest.raises(CommandError, match="invalid id"):
        doc.rename_node((), "scan", "has space")
    with pytest.raises(CommandError, match="no node 'ghost'"):
        doc.rename_node((), "ghost", "x")
    assert not doc.can_undo


def test_broken_templates_are_left_alone() -> None:
    doc = build()
    doc.set_setting((), "scanner", ("prompt",), "$hier{scan} $expr{ (")
    doc.rename_node((), "scan", "survey")
    assert prompt(doc, (), "scanner", "prompt") == "$hier{scan} $expr{ ("
