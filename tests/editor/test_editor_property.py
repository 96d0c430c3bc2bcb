"""Property: any sequence of edits, undone step by step, gives back every earlier state exactly;
redone, it gives back the final one. Refused edits change nothing."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dad_studio.editor import CommandError, FlowDocument
from dad_studio.model import FlowDefinition

IDS = ["a", "b", "c", "d", "e", "sub", "loop"]
TYPES = ["ai_model", "command", "conditional", "subflow", "for_each"]


def snap(doc: FlowDocument) -> tuple[bytes, str]:
    return doc.to_bytes(), doc.root.model_dump_json(by_alias=True)


def start_doc() -> FlowDocument:
    flow = FlowDefinition(id="p", variables={"v": 1})
    flow.node("a", type="ai_model", settings={"prompt": "$hier{b.outcome} $var{v}"})
    flow.node("b", type="ai_model", settings={"prompt": "b"})
    flow.node("c", type="conditional", settings={"statement": "$expr{$hier{a}.status == 'ok'}"})
    inner = FlowDefinition()
    inner.node("a", type="ai_model", settings={"prompt": "$hier{a} $hier{p.b}"})
    flow.subflow("sub", inner)
    flow.connect("b", "a")
    flow.connect("a", "c")
    flow.layout.update({"a": (0, 0), "b": (100, 0)})
    return FlowDocument(flow)


def step(doc: FlowDocument, data: st.DataObject) -> None:
    cpaths = [p for p, _ in doc.components()]
    cpath = data.draw(st.sampled_from(cpaths))
    nodes = list(doc.component(cpath).nodes)
    some = st.lists(st.sampled_from(nodes), min_size=1, max_size=4, unique=True) if nodes else st.just([])
    one = st.sampled_from(nodes) if nodes else st.just("zz")
    comments = [c.id for c in doc.component(cpath).comments]
    note = st.sampled_from(comments) if comments else st.just("zz")
    op = data.draw(st.integers(0, 20))
    if op == 0:
        doc.add_node(cpath, data.draw(st.sampled_from([None, *IDS])), data.draw(st.sampled_from(TYPES)), pos=(1, 2))
    elif op == 1:
        doc.remove_nodes(cpath, data.draw(some))
    elif op == 2:
        pos = st.tuples(st.integers(-500, 500), st.integers(-500, 500))
        doc.move_nodes(cpath, {k: data.draw(pos) for k in data.draw(some)}, merge=data.draw(st.booleans()))
    elif op == 3:
        port = data.draw(st.sampled_from([None, "true", "false"]))
        doc.connect(cpath, data.draw(one), data.draw(one), data.draw(st.sampled_from(["success", "error"])), port)
    elif op == 4:
        doc.disconnect(cpath, data.draw(st.integers(0, 4)))
    elif op == 5:
        text = data.draw(st.sampled_from(["plain", "$hier{a}", "$hier{sub.a.outcome} $hier{b}", "$expr{("]))
        doc.set_setting(cpath, data.draw(one), ("prompt",), text)
    elif op == 6:
        doc.set_node_field(cpath, data.draw(one), "join", data.draw(st.sampled_from(["all", "any"])))
    elif op == 7:
        doc.rename_node(cpath, data.draw(one), data.draw(st.sampled_from([*IDS, "renamed", "x1"])))
    elif op == 8:
        doc.set_variable(cpath, data.draw(st.sampled_from(["v", "w"])), data.draw(st.integers(0, 3)))
    elif op == 9:
        doc.remove_variable(cpath, data.draw(st.sampled_from(["v", "w"])))
    elif op == 10:
        doc.group_into_subflow(cpath, data.draw(some), data.draw(st.sampled_from(["g", "h", "a"])))
    elif op == 11:
        doc.ungroup(cpath, data.draw(one))
    elif op == 12:
        payload = doc.copy(cpath, data.draw(some))
        doc.paste(data.draw(st.sampled_from(cpaths)), payload, at=(5, 5))
    elif op == 13:
        doc.align(cpath, data.draw(some), data.draw(st.sampled_from(["left", "top", "hcenter", "vcenter"])))
    elif op == 14:
        doc.auto_layout(cpath)
    elif op == 15:
        doc.remove_setting(cpath, data.draw(one), ("prompt",))
    elif op == 16:
        rect = (
            data.draw(st.integers(-500, 500)),
            data.draw(st.integers(-500, 500)),
            data.draw(st.integers(-5, 400)),
            90,
        )
        doc.add_comment(cpath, data.draw(st.sampled_from(["", "note", "$var{x}"])), rect)
    elif op == 17:
        rect = (data.draw(st.integers(-500, 500)), 3, data.draw(st.integers(-5, 400)), 40)
        doc.set_comment_rect(cpath, data.draw(note), rect, merge=data.draw(st.booleans()))
    elif op == 18:
        doc.edit_comment_text(cpath, data.draw(note), data.draw(st.sampled_from(["", "a", "b\nc"])))
    elif op == 19:
        doc.remove_comment(cpath, data.draw(note))
    else:
        chosen = data.draw(st.lists(note, max_size=2, unique=True))
        payload = doc.copy(
            cpath, data.draw(st.lists(st.sampled_from(nodes), max_size=2, unique=True)) if nodes else [], chosen
        )
        doc.paste(data.draw(st.sampled_from(cpaths)), payload, at=(7, 7))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), count=st.integers(1, 25))
def test_random_edits_undo_and_redo_exactly(data: st.DataObject, count: int) -> None:
    doc = start_doc()
    states = [snap(doc)]
    for _ in range(count):
        before = snap(doc)
        depth = doc.undo_count
        try:
            step(doc, data)
        except CommandError:
            assert snap(doc) == before, "a refused command changed the document"
            assert doc.undo_count == depth
            continue
        if doc.undo_count == depth + 1:
            states.append(snap(doc))
        else:  # merged into the previous move, or a no-op (nothing to align)
            assert doc.undo_count == depth
            states[-1] = snap(doc)
    final = states[-1]
    for expected in reversed(states[:-1]):
        doc.undo()
        assert snap(doc) == expected
    assert not doc.can_undo and not doc.dirty
    while doc.can_redo:
        doc.redo()
    assert snap(doc) == final
    assert doc.dirty == (len(states) > 1)
