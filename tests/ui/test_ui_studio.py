"""The studio driven through its real widgets: palette drops, port drags, the properties form,
undo/redo, clipboard, nested canvases, problems, save and reopen."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.editor import FlowDocument
from dad_studio.model import FlowDefinition, default_registry
from dad_studio.ui.canvas.items import EdgeItem
from dad_studio.ui.canvas.view import NODE_TYPE_MIME
from dad_studio.ui.canvas.widget import CanvasWidget
from dad_studio.ui.main_window import MainWindow
from dad_studio.ui.palette import TYPE_ROLE
from dad_studio.ui.template_edit import TemplateEdit

DATA = Path(__file__).parent / "data"


def vp_point(win: MainWindow, scene_pos: QtCore.QPointF) -> QtCore.QPoint:
    return win.canvas.view.mapFromScene(scene_pos)


def drop_type(win: MainWindow, type_id: str, at: QtCore.QPoint) -> None:
    """A palette drag as Qt delivers it: enter, move, drop on the viewport with the palette's own mime data."""
    palette = win.palette_panel.list
    item = next(palette.item(r) for r in range(palette.count()) if palette.item(r).data(TYPE_ROLE) == type_id)
    mime = palette.mimeData([item])
    viewport = win.canvas.view.viewport()
    actions = QtCore.Qt.DropAction.CopyAction
    no_buttons = QtCore.Qt.MouseButton.LeftButton
    mods = QtCore.Qt.KeyboardModifier.NoModifier
    enter = QtGui.QDragEnterEvent(at, actions, mime, no_buttons, mods)
    QtWidgets.QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    move = QtGui.QDragMoveEvent(at, actions, mime, no_buttons, mods)
    QtWidgets.QApplication.sendEvent(viewport, move)
    drop = QtGui.QDropEvent(QtCore.QPointF(at), actions, mime, no_buttons, mods)
    QtWidgets.QApplication.sendEvent(viewport, drop)
    assert drop.isAccepted()


def drag(qtbot, win: MainWindow, start: QtCore.QPoint, end: QtCore.QPoint) -> None:  # type: ignore[no-untyped-def]
    viewport = win.canvas.view.viewport()
    left = QtCore.Qt.MouseButton.LeftButton
    qtbot.mousePress(viewport, left, pos=start)
    steps = 6
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        qtbot.mouseMove(viewport, pos=p)
    qtbot.mouseRelease(viewport, left, pos=end)


def two_nodes(win: MainWindow) -> FlowDocument:
    doc = win.doc
    assert doc is not None
    doc.add_node((), "first", "noop", pos=(0, 0))
    doc.add_node((), "second", "noop", pos=(320, 40))
    doc.clear_undo()
    win.canvas.view.fit()
    return doc


def test_palette_drop_adds_a_node_undo_redo(window: MainWindow) -> None:
    doc = window.doc
    assert doc is not None
    at = window.canvas.view.viewport().rect().center()
    drop_type(window, "ai_model", at)
    comp = doc.component(())
    assert list(comp.nodes) == ["ai_model"]
    scene_at = window.canvas.view.mapToScene(at)
    assert comp.layout["ai_model"] == (round(scene_at.x()), round(scene_at.y()))
    assert set(window.canvas.scene.nodes) == {"ai_model"}
    assert window.canvas.scene.selected_ids() == ["ai_model"]
    assert "ai_model" in window.windowTitle() or "*" in window.windowTitle()
    window.actions_by_name["undo"].trigger()
    assert doc.component(()).nodes == {}
    assert window.canvas.scene.nodes == {}
    window.actions_by_name["redo"].trigger()
    assert set(window.canvas.scene.nodes) == {"ai_model"}


def test_drag_from_output_port_to_input_connects(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    doc = two_nodes(window)
    scene = window.canvas.scene
    start = vp_point(window, scene.nodes["first"].port_scene_pos("out"))
    end = vp_point(window, scene.nodes["second"].port_scene_pos("in"))
    drag(qtbot, window, start, end)
    edges = [(e.source, e.target, e.on) for e in doc.component(()).edges or []]
    assert edges == [("first", "second", "success")]
    assert len(scene.edges) == 1
    assert not [i for i in scene.items() if type(i) is QtWidgets.QGraphicsPathItem], "temporary pipe left behind"
    window.undo()
    assert doc.component(()).edges == [] and scene.edges == {}
    window.redo()
    assert len(scene.edges) == 1


def test_error_port_drag_makes_an_error_edge_drawn_dashed(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    doc = two_nodes(window)
    scene = window.canvas.scene
    start = vp_point(window, scene.nodes["first"].port_scene_pos("error"))
    end = vp_point(window, scene.nodes["second"].port_scene_pos("in"))
    drag(qtbot, window, start, end)
    (edge,) = doc.component(()).edges or []
    assert edge.on == "error"
    (item,) = scene.edges.values()
    assert isinstance(item, EdgeItem)
    assert item.pen().style() == QtCore.Qt.PenStyle.DashLine


def test_cycle_is_refused_with_a_visible_reason(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    doc = two_nodes(window)
    doc.connect((), "first", "second")
    scene = window.canvas.scene
    start = vp_point(window, scene.nodes["second"].port_scene_pos("out"))
    end = vp_point(window, scene.nodes["first"].port_scene_pos("in"))
    drag(qtbot, window, start, end)
    assert [(e.source, e.target) for e in doc.component(()).edges or []] == [("first", "second")]
    assert len(scene.edges) == 1
    assert "refused" in window.statusBar().currentMessage().lower()
    assert not [i for i in scene.items() if type(i) is QtWidgets.QGraphicsPathItem]


def test_dragging_a_node_moves_it_in_one_undo_step(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    doc = two_nodes(window)
    item = window.canvas.scene.nodes["first"]
    start = vp_point(window, item.mapToScene(QtCore.QPointF(90, 12)))
    drag(qtbot, window, start, start + QtCore.QPoint(60, 30))
    x, y = doc.component(()).layout["first"]
    assert (x, y) != (0, 0)
    assert (x, y) == (round(item.x()), round(item.y()))
    window.undo()
    assert doc.component(()).layout["first"] == (0, 0)
    assert (item.x(), item.y()) == (0.0, 0.0)


def test_properties_edit_commits_on_enter_and_undoes(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    doc = two_nodes(window)
    window.canvas.scene.select_ids(["first"])
    field = window.properties.fields["s.value"]
    editor = field.editor
    assert isinstance(editor, TemplateEdit)
    editor.setFocus()
    qtbot.keyClicks(editor, "hello $var{")
    assert doc.component(()).nodes["first"].settings.get("value", "") == "", "committed per keystroke"
    assert field.error.isVisibleTo(window.properties), "an unclosed $var{ should show an error"
    qtbot.keyClicks(editor, "name}")
    assert not field.error.isVisibleTo(window.properties)
    qtbot.keyClick(editor, QtCore.Qt.Key.Key_Return)
    assert doc.component(()).nodes["first"].settings["value"] == "hello $var{name}"
    window.undo()
    assert "value" not in doc.component(()).nodes["first"].settings
    assert editor.toPlainText() == ""
    window.redo()
    assert editor.toPlainText() == "hello $var{name}"


def test_rename_through_properties_keeps_edges(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    doc = two_nodes(window)
    doc.connect((), "first", "second")
    window.canvas.scene.select_ids(["first"])
    editor = window.properties.fields["id"].editor
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClicks(editor, "start")
    qtbot.keyClick(editor, QtCore.Qt.Key.Key_Return)
    assert list(doc.component(()).nodes) == ["start", "second"]
    assert set(window.canvas.scene.nodes) == {"start", "second"}
    assert [(e.source, e.target) for e in doc.component(()).edges or []] == [("start", "second")]


def test_copy_paste_through_the_system_clipboard(window: MainWindow) -> None:
    doc = two_nodes(window)
    doc.connect((), "first", "second")
    window.canvas.scene.select_ids(["first", "second"])
    window.copy()
    assert "dad-clipboard" in QtWidgets.QApplication.clipboard().text()
    window.paste()
    nodes = list(doc.component(()).nodes)
    assert len(nodes) == 4
    pasted = sorted(set(nodes) - {"first", "second"})
    assert sorted(window.canvas.scene.selected_ids()) == pasted
    assert len(window.canvas.scene.edges) == 2
    window.undo()
    assert list(doc.component(()).nodes) == ["first", "second"]
    assert len(window.canvas.scene.nodes) == 2


def test_delete_key_removes_selection(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    doc = two_nodes(window)
    window.canvas.scene.select_ids(["second"])
    window.canvas.view.setFocus()
    qtbot.keyClick(window.canvas.view, QtCore.Qt.Key.Key_Delete)
    assert list(doc.component(()).nodes) == ["first"]


def test_nested_canvas_opens_on_double_click_and_goes_back_up(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    assert window.open_file(DATA / "example.dad.json")
    scene = window.canvas.scene
    item = scene.nodes["per_file"]
    pos = vp_point(window, item.mapToScene(QtCore.QPointF(90, 20)))
    qtbot.mouseDClick(window.canvas.view.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)
    assert window.canvas.cpath == ("per_file",)
    assert set(window.canvas.scene.nodes) == {"describe"}
    crumbs = [w.text() for w in window.canvas.breadcrumb.findChildren(QtWidgets.QToolButton)]
    assert crumbs == ["example", "per_file"]
    window.actions_by_name["up"].trigger()
    assert window.canvas.cpath == ()
    assert scene.selected_ids() == ["per_file"]


def test_validation_panel_lists_problems_and_reveals_the_node(window: MainWindow) -> None:
    assert window.open_file(DATA / "example.dad.json")
    doc = window.doc
    assert doc is not None
    doc.set_setting(("per_file",), "describe", ("prompt",), "about $var{nope}")
    window.refresh_problems()
    panel = window.validation
    rows = [panel.topLevelItem(i) for i in range(panel.topLevelItemCount())]
    hits = [r for r in rows if "/per_file/" in r.text(1) and "nope" in r.text(2)]
    assert hits, [r.text(1) + " " + r.text(2) for r in rows]
    panel.itemClicked.emit(hits[0], 0)
    assert window.canvas.cpath == ("per_file",)
    assert window.canvas.scene.selected_ids() == ["describe"]
    window.canvas.refresh_problems()
    assert window.canvas.scene.nodes["describe"].problem_severity == "error"


def test_edit_save_and_reopen_matches_expected_file(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = window.doc
    assert doc is not None
    view = window.canvas.view
    window.canvas.view.resetTransform()
    view.centerOn(QtCore.QPointF(300, 150))
    for type_id, scene_pos in (("input", QtCore.QPointF(0, 0)), ("ai_model", QtCore.QPointF(300, 100))):
        drop_type(window, type_id, vp_point(window, scene_pos))
    scene = window.canvas.scene
    drag(
        qtbot,
        window,
        vp_point(window, scene.nodes["input"].port_scene_pos("out")),
        vp_point(window, scene.nodes["ai_model"].port_scene_pos("in")),
    )
    window.canvas.scene.select_ids(["ai_model"])
    editor = window.properties.fields["s.prompt"].editor
    editor.setFocus()
    qtbot.keyClicks(editor, "Summarise $hier{input.outcome.topic}")
    qtbot.keyClick(editor, QtCore.Qt.Key.Key_Return, QtCore.Qt.KeyboardModifier.ControlModifier)
    target = tmp_path / "edited.dad.json"
    assert window._save_to(target)
    assert "*" not in window.windowTitle()
    assert target.read_text() == (DATA / "expected_edit.dad.json").read_text()
    assert window.open_file(target)
    assert set(window.canvas.scene.nodes) == {"input", "ai_model"}
    assert len(window.canvas.scene.edges) == 1
    assert str(target.resolve()) in window.recent_files()


def test_quick_add_fuzzy_search_adds_the_best_match(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.open_quick_add(QtCore.QPointF(10, 20))
    popup = window.quick_add
    assert popup.isVisible()
    qtbot.keyClicks(popup.edit, "flop")  # f-l-o-p: subsequence of "File operation"
    assert popup.list.currentItem().data(TYPE_ROLE) == "file_operation"
    qtbot.keyClick(popup.edit, QtCore.Qt.Key.Key_Return)
    doc = window.doc
    assert doc is not None
    assert doc.component(()).layout["file_operation"] == (10, 20)


def test_shortcuts_help_lists_the_actions(window: MainWindow) -> None:
    from dad_studio.ui.actions import shortcut_rows

    rows = dict(shortcut_rows(window.actions_by_name.values()))
    assert rows["Save"] == QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Save).toString(
        QtGui.QKeySequence.SequenceFormat.NativeText
    )
    assert rows["Auto Layout"] == "Ctrl+L"
    assert rows["Keyboard Shortcuts"] == "F1"


def test_dirty_close_is_cancelled_when_the_user_says_so(window: MainWindow) -> None:
    doc = two_nodes(window)
    doc.add_node((), "third", "noop", pos=(0, 200))
    window.ask_save_changes = lambda: "cancel"  # type: ignore[method-assign]
    assert not window.close()
    assert window.isVisible()
    window.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]


def test_autosave_and_recovery_offer(window: MainWindow, tmp_path: Path) -> None:
    target = tmp_path / "flow.dad.json"
    doc = two_nodes(window)
    assert window._save_to(target)
    doc.add_node((), "unsaved", "noop", pos=(0, 300))
    window.autosave()
    recovery = window._recovery_path_for(target)
    assert recovery.exists()
    window.ask_recover = lambda path: True  # type: ignore[method-assign]
    assert window.open_file(target)
    assert window.doc is not None and "unsaved" in window.doc.component(()).nodes
    assert window.doc.dirty


def test_panel_drop_mime_is_the_type_id(window: MainWindow) -> None:
    palette = window.palette_panel.list
    item = palette.item(0)
    data = palette.mimeData([item])
    assert bytes(data.data(NODE_TYPE_MIME).data()).decode() == item.data(TYPE_ROLE)


def _hint_pixels(win: MainWindow) -> int:
    """Pixels well off the canvas background in a band across the middle of the view, where an empty
    component's hint is written (every 2nd pixel of the band)."""
    view = win.canvas.view
    assert view.palette_colours is not None
    background = view.palette_colours.background.lightness()
    image = view.viewport().grab().toImage()
    w, h = image.width(), image.height()
    return sum(
        abs(QtGui.QColor(image.pixel(x, y)).lightness() - background) > 40
        for y in range(h // 2 - 30, h // 2 + 30, 2)
        for x in range(w // 4, 3 * w // 4, 2)
    )


def test_an_empty_canvas_says_how_to_start_until_something_is_on_it(window: MainWindow) -> None:
    assert window.doc is not None and not window.doc.component().nodes
    assert _hint_pixels(window) > 100  # the hint, drawn over the grid
    drop_type(window, "noop", QtCore.QPoint(40, 40))  # a real palette drop, in the view's corner
    assert len(window.doc.component().nodes) == 1
    assert _hint_pixels(window) == 0  # gone, and nothing else in the middle
    window.doc.undo()
    assert _hint_pixels(window) > 100  # empty again: back
    window.doc.add_comment((), "a note", (-6000, -6000, 200, 80))  # a comment, far off screen, counts too
    assert _hint_pixels(window) == 0


def test_fit_keeps_a_wide_flow_clear_of_the_minimap(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The history screenshot's case: a flow wider than tall, in a canvas about 1,030 x 470 (the history
    dock open), ends in the bottom-right corner where the minimap sits; the fit puts every node above it."""
    registry = default_registry()
    canvas = CanvasWidget(registry)
    qtbot.addWidget(canvas)
    canvas.resize(1045, 500)
    canvas.show()
    qtbot.waitExposed(canvas)
    flow = FlowDefinition(id="review")
    for i, node_id in enumerate(["fetch", "draft", "check", "publish"]):
        flow.node(node_id, type="noop")
        flow.layout[node_id] = (i * 230, 0)
    flow.node("report_error", type="noop")
    flow.layout["report_error"] = (3 * 230, 160)
    canvas.set_document(FlowDocument(flow, registry=registry))
    view, minimap = canvas.view, canvas.minimap
    qtbot.waitUntil(lambda: minimap.geometry().bottom() == view.viewport().height() - 11)  # in its corner
    assert 440 <= view.viewport().height() <= 490 and minimap.isVisible()
    try:
        view.fit()
        for node_id, item in canvas.scene.nodes.items():
            on_screen = view.mapFromScene(item.sceneBoundingRect()).boundingRect()
            assert view.viewport().rect().contains(on_screen), node_id  # everything shown
            assert not on_screen.intersects(minimap.geometry()), node_id  # nothing behind the minimap
        minimap.hide()
        view.fit()  # no minimap: the whole view is used again, the items centred in it
        centre = view.mapFromScene(canvas.scene.itemsBoundingRect().center())
        assert abs(centre.y() - view.viewport().height() / 2) <= 2
    finally:
        canvas.shutdown()
