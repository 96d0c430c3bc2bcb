"""Canvas comments in the document: add, edit text, move / resize, remove; undo and redo byte-exact,
their signals, the clipboard, and a save that keeps them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dad_studio.editor import CommandError, FlowDocument
from dad_studio.fileformat import load_flow

COMMENT_SIGNALS = ("comment_added", "comment_changed", "comment_removed")


def snap(doc: FlowDocument) -> tuple[bytes, str]:
    return doc.to_bytes(), doc.root.model_dump_json(by_alias=True)


def roundtrip(doc: FlowDocument, action: Any) -> Any:
    """Run ``action``; undo gives back the exact bytes before, redo the exact bytes after."""
    before = snap(doc)
    result = action()
    after = snap(doc)
    assert after != before
    doc.undo()
    assert snap(doc) == before
    doc.redo()
    assert snap(doc) == after
    return result


class Signals:
    def __init__(self, doc: FlowDocument) -> None:
        self.events: list[tuple[Any, ...]] = []
        for name in COMMENT_SIGNALS:
            getattr(doc, name).connect(lambda *args, n=name: self.events.append((n, *args)))
        for name in ("node_added", "node_removed", "edge_added", "settings_changed", "structure_changed"):
            getattr(doc, name).connect(lambda *args, n=name: self.events.append((n, *args)))


def test_add_comment_returns_a_fresh_id_emits_and_undoes(chain_doc: FlowDocument) -> None:
    signals = Signals(chain_doc)
    cid = roundtrip(chain_doc, lambda: chain_doc.add_comment((), "Inputs", (10.4, 20.6, 300, 200)))
    assert cid == "comment"
    assert signals.events == [
        ("comment_added", (), "comment"),
        ("comment_removed", (), "comment"),
        ("comment_added", (), "comment"),
    ]
    comment = chain_doc.comment((), "comment")
    assert (comment.text, comment.x, comment.y, comment.width, comment.height) == ("Inputs", 10, 21, 300, 200)
    assert chain_doc.add_comment((), "", (0, 0, 10, 10)) == "comment_2"
    assert chain_doc.undo_text == "Add comment comment_2"
    data = json.loads(chain_doc.to_bytes())
    assert [c["id"] for c in data["root"]["comments"]] == ["comment", "comment_2"]


def test_refused_comments_change_nothing(chain_doc: FlowDocument) -> None:
    chain_doc.add_comment((), "a", (0, 0, 10, 10))
    before, depth = snap(chain_doc), chain_doc.undo_count
    for bad in (
        lambda: chain_doc.add_comment((), "x", (0, 0, 0, 10)),
        lambda: chain_doc.add_comment((), "x", (0, 0, 10, -1)),
        lambda: chain_doc.add_comment((), "x", (0, 0, 10, 10), color="blue"),
        lambda: chain_doc.add_comment((), "x", (0, 0, 10, 10), comment_id="comment"),
        lambda: chain_doc.add_comment((), "x", (0, 0, 10, 10), comment_id="9x"),
        lambda: chain_doc.set_comment_rect((), "comment", (0, 0, 10, 0)),
        lambda: chain_doc.set_comment_rect((), "missing", (0, 0, 10, 10)),
        lambda: chain_doc.edit_comment_text((), "missing", "t"),
        lambda: chain_doc.remove_comment((), "missing"),
        lambda: chain_doc.add_comment(("a",), "x", (0, 0, 10, 10)),  # `a` has no body
    ):
        with pytest.raises(CommandError):
            bad()
        assert snap(chain_doc) == before and chain_doc.undo_count == depth


def test_edit_text_and_rect_and_colour_emit_changed_and_undo(chain_doc: FlowDocument) -> None:
    cid = chain_doc.add_comment((), "old", (0, 0, 100, 80))
    signals = Signals(chain_doc)
    roundtrip(chain_doc, lambda: chain_doc.edit_comment_text((), cid, "new\ntext"))
    assert chain_doc.comment((), cid).text == "new\ntext"
    assert chain_doc.undo_text == "Edit text of comment"
    roundtrip(chain_doc, lambda: chain_doc.set_comment_rect((), cid, (50, 60, 100, 80)))
    assert chain_doc.undo_text == "Move comment comment"
    roundtrip(chain_doc, lambda: chain_doc.set_comment_rect((), cid, (50, 60, 240, 120)))
    assert chain_doc.undo_text == "Resize comment comment"
    roundtrip(chain_doc, lambda: chain_doc.set_comment_color((), cid, "#112233"))
    assert {e[0] for e in signals.events} == {"comment_changed"}
    assert len(signals.events) == 12  # 4 edits x (do, undo, redo)
    depth = chain_doc.undo_count
    chain_doc.edit_comment_text((), cid, "new\ntext")  # unchanged text is no step
    chain_doc.set_comment_rect((), cid, (50, 60, 240, 120))
    assert chain_doc.undo_count == depth


def test_a_live_drag_merges_into_one_undo_step(chain_doc: FlowDocument) -> None:
    cid = chain_doc.add_comment((), "c", (0, 0, 100, 80))
    before = snap(chain_doc)
    depth = chain_doc.undo_count
    for x in (10, 20, 30):
        chain_doc.set_comment_rect((), cid, (x, 0, 100, 80), merge=True)
    assert chain_doc.undo_count == depth + 1
    assert chain_doc.comment((), cid).x == 30
    chain_doc.undo()
    assert snap(chain_doc) == before
    chain_doc.redo()
    assert chain_doc.comment((), cid).x == 30


def test_remove_comment_restores_its_place_in_the_list(chain_doc: FlowDocument) -> None:
    ids = [chain_doc.add_comment((), t, (0, 0, 10, 10)) for t in ("one", "two", "three")]
    signals = Signals(chain_doc)
    roundtrip(chain_doc, lambda: chain_doc.remove_comment((), ids[1]))
    assert [c.id for c in chain_doc.component(()).comments] == [ids[0], ids[2]]
    chain_doc.undo()
    assert [c.id for c in chain_doc.component(()).comments] == ids
    assert signals.events[:2] == [("comment_removed", (), ids[1]), ("comment_added", (), ids[1])]


def test_comments_in_a_nested_body(tmp_path: Path) -> None:
    doc = FlowDocument()
    doc.add_node((), "loop", "for_each", {"statement": "$expr{[1]}", "max_iterations": 2})
    signals = Signals(doc)
    cid = roundtrip(doc, lambda: doc.add_comment(("loop",), "inside", (1, 2, 30, 40)))
    assert signals.events[0] == ("comment_added", ("loop",), cid)
    assert doc.component(()).comments == []
    doc.save(tmp_path / "f.dad.json")
    loaded = load_flow(tmp_path / "f.dad.json")
    assert loaded.problems == [] and loaded.component is not None
    body = loaded.component.nodes["loop"].body
    assert body is not None and [c.text for c in body.comments] == ["inside"]


def test_comments_do_not_touch_nodes_edges_or_validation(chain_doc: FlowDocument) -> None:
    problems = [(p.pointer, p.message) for p in chain_doc.problems()]
    signals = Signals(chain_doc)
    cid = chain_doc.add_comment((), "$var{nope} is no template here", (0, 0, 10, 10))
    chain_doc.set_comment_rect((), cid, (5, 5, 20, 20))
    chain_doc.remove_comment((), cid)
    assert {e[0] for e in signals.events} <= set(COMMENT_SIGNALS)
    chain_doc.add_comment((), "again", (0, 0, 10, 10))
    assert [(p.pointer, p.message) for p in chain_doc.problems()] == problems


def test_copy_paste_and_duplicate_carry_selected_comments(chain_doc: FlowDocument) -> None:
    chain_doc.add_comment((), "around a", (-20, -30, 150, 120), color="#3d7eff")
    chain_doc.add_comment((), "elsewhere", (900, 900, 50, 50))
    payload = chain_doc.copy((), ["a"], ["comment"])
    assert payload["origin"] == [-20, -30]
    assert payload["layout"] == {"a": [20, 30]}
    assert payload["comments"] == [
        {"id": "comment", "text": "around a", "x": 0, "y": 0, "width": 150, "height": 120, "color": "#3d7eff"}
    ]
    signals = Signals(chain_doc)
    new_ids = roundtrip(chain_doc, lambda: chain_doc.paste((), payload, at=(1000, 0)))
    assert new_ids == ["a_2"]
    assert chain_doc.undo_text == "Paste 1 node and 1 comment"
    pasted = chain_doc.comment((), "comment_3")  # comment and comment_2 are taken
    assert (pasted.text, pasted.x, pasted.y, pasted.color) == ("around a", 1000, 0, "#3d7eff")
    assert chain_doc.component(()).layout["a_2"] == (1020, 30)
    assert ("comment_added", (), "comment_3") in signals.events
    one_undo = chain_doc.undo_count
    dup = chain_doc.duplicate((), [], comments=["comment_2"])
    assert dup == [] and chain_doc.undo_count == one_undo + 1
    assert chain_doc.undo_text == "Duplicate 1 comment"
    copy = chain_doc.comment((), "comment_4")
    assert (copy.text, copy.x, copy.y) == ("elsewhere", 940, 940)
    with pytest.raises(CommandError):
        chain_doc.copy((), ["a"], ["missing"])


def test_open_v1_file_then_save_writes_v2_with_comments(tmp_path: Path) -> None:
    path = tmp_path / "old.dad.json"
    path.write_text(
        json.dumps({"format": "dad-flow", "schema_version": 1, "root": {"id": "f", "nodes": {}, "edges": []}})
    )
    doc = FlowDocument.open(path)
    assert [p.pointer for p in doc.load_problems] == ["/schema_version"]
    doc.add_comment((), "kept", (0, 0, 200, 100))
    doc.save()
    saved = json.loads(path.read_bytes())
    assert saved["schema_version"] == 2
    assert saved["root"]["comments"][0]["text"] == "kept"
    reopened = FlowDocument.open(path)
    assert reopened.load_problems == [] and reopened.comment((), "comment").width == 200
