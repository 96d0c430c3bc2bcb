"""Comments (backdrops) on the canvas, driven through the real widgets: the Add Comment action,
dragging, resizing from the grip, editing the text in place; undo / redo of each; delete, copy and
paste; and save + reopen with the comment in the file."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from dad_studio.editor import FlowDocument
from dad_studio.ui.canvas.backdrop import GRIP, CommentItem
from dad_studio.ui.main_window import MainWindow

LEFT = QtCore.Qt.MouseButton.LeftButton


def vp(win: MainWindow, x: float, y: float) -> QtCore.QPoint:
    return win.canvas.view.mapFromScene(QtCore.QPointF(x, y))


def drag(qtbot, win: MainWindow, start: QtCore.QPoint, end: QtCore.QPoint) -> None:  # type: ignore[no-untyped-def]
    viewport = win.canvas.view.viewport()
    qtbot.mousePress(viewport, LEFT, pos=start)
    for i in range(1, 7):
        qtbot.mouseMove(viewport, pos=start + (end - start) * (i / 6))
    qtbot.mouseRelease(viewport, LEFT, pos=end)


def two_nodes_with_comment(win: MainWindow) -> tuple[FlowDocument, CommentItem]:
    """Nodes first and second, both selected, wrapped by a comment made with the action."""
    doc = win.doc
    assert doc is not None
    doc.add_node((), "first", "noop", pos=(0, 0))
    doc.add_node((), "second", "noop", pos=(320, 40))
    doc.clear_undo()
    win.canvas.scene.select_ids(["first", "second"])
    win.actions_by_name["comment"].trigger()
    [comment_id] = win.canvas.scene.comments
    win.canvas.view.fit()
    return doc, win.canvas.scene.comments[comment_id]


def doc_rect(doc: FlowDocument, comment_id: str = "comment") -> tuple[int, int, int, int]:
    c = doc.comment((), comment_id)
    return (c.x, c.y, c.width, c.height)


def test_add_comment_action_wraps_the_selection_and_undoes(window: MainWindow) -> None:
    doc, item = two_nodes_with_comment(window)
    nodes = window.canvas.scene.nodes
    box = QtCore.QRectF(*doc_rect(doc))
    for node_id in ("first", "second"):
        assert box.contains(nodes[node_id].sceneBoundingRect()), node_id
    assert doc.comment((), "comment").text == "Comment"
    assert item.isSelected() and item.zValue() < nodes["first"].zValue()
    assert window.actions_by_name["comment"].shortcut().toString() == "Ctrl+Shift+C"
    assert doc.undo_text == "Add comment comment"
    window.actions_by_name["undo"].trigger()
    assert doc.component(()).comments == [] and window.canvas.scene.comments == {}
    window.actions_by_name["redo"].trigger()
    assert list(window.canvas.scene.comments) == ["comment"]
    assert window.canvas.scene.comments["comment"].rect_tuple() == doc_rect(doc)


def test_dragging_a_comment_moves_it_in_one_undo_step(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    doc, item = two_nodes_with_comment(window)
    before = doc_rect(doc)
    window.canvas.scene.clearSelection()
    depth = doc.undo_count
    start = vp(window, before[0] + 12, before[1] + 10)  # the title bar: no node there
    assert window.canvas.scene.node_at(window.canvas.view.mapToScene(start)) is None
    drag(qtbot, window, start, start + QtCore.QPoint(90, 60))
    after = doc_rect(doc)
    assert doc.undo_count == depth + 1
    assert after[2:] == before[2:] and after[0] > before[0] + 40 and after[1] > before[1] + 20
    assert item.rect_tuple() == after
    assert (window.canvas.scene.nodes["first"].x(), window.canvas.scene.nodes["first"].y()) == (0, 0)
    window.actions_by_name["undo"].trigger()
    assert doc_rect(doc) == before and item.rect_tuple() == before
    window.actions_by_name["redo"].trigger()
    assert doc_rect(doc) == after and item.rect_tuple() == after


def test_resizing_from_the_grip_sets_the_size_and_undoes(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    doc, item = two_nodes_with_comment(window)
    before = doc_rect(doc)
    x, y, w, h = before
    start = vp(window, x + w - GRIP / 3, y + h - GRIP / 3)
    drag(qtbot, window, start, start + QtCore.QPoint(70, 50))
    after = doc_rect(doc)
    assert after[:2] == before[:2]  # the corner moved, not the box
    assert after[2] > w + 30 and after[3] > h + 20
    assert doc.undo_text == "Resize comment comment"
    window.actions_by_name["undo"].trigger()
    assert doc_rect(doc) == before and item.rect_tuple() == before
    window.actions_by_name["redo"].trigger()
    assert item.rect_tuple() == after


def test_double_click_edits_the_text_in_place(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    doc, item = two_nodes_with_comment(window)
    x, y, _, _ = doc_rect(doc)
    qtbot.mouseDClick(window.canvas.view.viewport(), LEFT, pos=vp(window, x + 12, y + 10))
    assert item.editor is not None, "double-click on a comment opens its editor (not quick-add)"
    assert not window.quick_add.isVisible()
    assert item.editor.toPlainText() == "Comment"
    item.editor.setPlainText("Inputs\nfetch both first")
    qtbot.keyClick(window.canvas.view.viewport(), QtCore.Qt.Key.Key_Return, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert item.editor is None, "Ctrl+Enter reaches the focused editor and commits"
    assert doc.comment((), "comment").text == "Inputs\nfetch both first"
    assert (item.title(), item.body()) == ("Inputs", "fetch both first")
    window.actions_by_name["undo"].trigger()
    assert item.text == "Comment" == doc.comment((), "comment").text
    window.actions_by_name["redo"].trigger()
    assert item.text == "Inputs\nfetch both first"


def test_escape_cancels_an_edit(window: MainWindow) -> None:
    doc, item = two_nodes_with_comment(window)
    depth = doc.undo_count
    editor = item.start_editing()
    editor.setPlainText("never mind")
    item.finish_editing(commit=False)
    assert doc.comment((), "comment").text == "Comment" and doc.undo_count == depth


def test_delete_copy_and_paste_include_selected_comments(window: MainWindow) -> None:
    doc, _ = two_nodes_with_comment(window)
    scene = window.canvas.scene
    scene.select_ids([], comments=["comment"])
    window.copy()
    payload = json.loads(QtWidgets.QApplication.clipboard().text())
    assert [c["id"] for c in payload["comments"]] == ["comment"] and payload["nodes"] == {}
    window.canvas.delete_selection()
    assert doc.component(()).comments == [] and scene.comments == {}
    window.paste()
    assert list(scene.comments) == ["comment"]
    window.actions_by_name["undo"].trigger()
    window.actions_by_name["undo"].trigger()
    assert list(scene.comments) == ["comment"] and scene.comments["comment"].rect_tuple() == doc_rect(doc)


def test_save_and_reopen_keeps_the_comment(window: MainWindow, tmp_path: Path) -> None:
    doc, item = two_nodes_with_comment(window)
    doc.edit_comment_text((), "comment", "Saved note")
    rect = doc_rect(doc)
    path = tmp_path / "noted.dad.json"
    assert window._save_to(path)
    saved = json.loads(path.read_bytes())
    assert saved["schema_version"] == 2
    assert saved["root"]["comments"] == [
        {"id": "comment", "text": "Saved note", "x": rect[0], "y": rect[1], "width": rect[2], "height": rect[3]}
    ]
    window.new_document()
    assert window.canvas.scene.comments == {}
    assert window.open_file(path)
    reopened = window.canvas.scene.comments["comment"]
    assert reopened is not item
    assert reopened.rect_tuple() == rect and reopened.text == "Saved note"
    assert window.doc is not None and window.doc.load_problems == []
