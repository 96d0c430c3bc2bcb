"""Studio features that had no test: the file-changed-on-disk prompt and the theme switch."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui

from dad_studio.editor import FlowDocument
from dad_studio.ui.canvas.backdrop import CommentItem
from dad_studio.ui.canvas.items import DARK, LIGHT, NodeItem
from dad_studio.ui.main_window import MainWindow


def saved_flow(window: MainWindow, path: Path) -> FlowDocument:
    doc = window.doc
    assert doc is not None
    doc.add_node((), "first", "noop", pos=(0, 0))
    assert window._save_to(path)
    return doc


def rewrite_behind_the_studios_back(path: Path) -> None:
    other = FlowDocument.open(path)
    other.add_node((), "added_elsewhere", "noop", pos=(300, 0))
    other.save()


def test_file_changed_on_disk_asks_and_reloads(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "flow.dad.json"
    before = saved_flow(window, path)
    asked: list[Path] = []

    def ask_reload(p: Path) -> bool:
        asked.append(p)
        return True

    window.ask_reload = ask_reload  # type: ignore[method-assign]
    rewrite_behind_the_studios_back(path)
    qtbot.waitUntil(lambda: bool(asked), timeout=5000)
    assert asked == [path]
    qtbot.waitUntil(lambda: window.doc is not before, timeout=2000)
    assert window.doc is not None and set(window.doc.component(()).nodes) == {"first", "added_elsewhere"}
    assert set(window.canvas.scene.nodes) == {"first", "added_elsewhere"}
    assert not window.doc.dirty
    assert str(path) in window.watcher.files()  # still watched for the next change


def test_file_changed_on_disk_declined_keeps_the_edits(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "flow.dad.json"
    doc = saved_flow(window, path)
    doc.add_node((), "unsaved", "noop", pos=(0, 200))
    asked: list[Path] = []

    def ask_reload(p: Path) -> bool:
        asked.append(p)
        return False

    window.ask_reload = ask_reload  # type: ignore[method-assign]
    rewrite_behind_the_studios_back(path)
    qtbot.waitUntil(lambda: bool(asked), timeout=5000)
    assert window.doc is doc and doc.dirty
    assert set(doc.component(()).nodes) == {"first", "unsaved"}
    assert set(window.canvas.scene.nodes) == {"first", "unsaved"}


def test_saving_from_the_studio_does_not_prompt(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "flow.dad.json"
    doc = saved_flow(window, path)
    asked: list[Path] = []
    window.ask_reload = lambda p: asked.append(p) or True  # type: ignore[method-assign]
    doc.add_node((), "second", "noop", pos=(300, 0))
    assert window._save_to(path)
    qtbot.wait(300)
    assert asked == [] and window.doc is doc


def test_theme_switch_changes_stylesheet_canvas_palette_and_setting(window: MainWindow) -> None:
    window.set_theme("dark")
    dark_sheet = window.styleSheet()
    assert dark_sheet and NodeItem.palette is DARK and CommentItem.text_colour == DARK.text
    assert window.canvas.view.palette_colours is DARK
    window.actions_by_name["theme"].trigger()  # Ctrl+Shift+T: dark -> light
    assert window.theme == "light"
    light_sheet = window.styleSheet()
    assert light_sheet and light_sheet != dark_sheet
    assert NodeItem.palette is LIGHT and window.canvas.view.palette_colours is LIGHT
    assert CommentItem.text_colour == LIGHT.text
    assert window.settings.value("theme") == "light"
    image = QtGui.QImage(window.canvas.view.viewport().size(), QtGui.QImage.Format.Format_RGB32)
    window.canvas.view.viewport().render(image)
    corner = image.pixelColor(2, 2)
    assert corner.lightness() > 200, "the light canvas background is light"
    window.actions_by_name["theme"].trigger()
    assert window.theme == "dark" and window.styleSheet() == dark_sheet and NodeItem.palette is DARK
    image = QtGui.QImage(window.canvas.view.viewport().size(), QtGui.QImage.Format.Format_RGB32)
    window.canvas.view.viewport().render(image)
    assert image.pixelColor(2, 2).lightness() < 80


def test_toolbar_keeps_short_undo_labels_and_plain_label_backgrounds(window: MainWindow) -> None:
    """The Edit menu names the command to undo; the toolbar keeps "Undo" / "Redo" (a long command
    name widened the button and pushed the run summary into the toolbar's overflow menu), and the
    toolbar's labels have no box of their own (the theme's QWidget background drew one)."""
    from PySide6 import QtWidgets

    for theme in ("dark", "light"):
        window.set_theme(theme)
        doc = window.doc
        assert doc is not None
        doc.add_node((), f"a_node_with_a_rather_long_name_for_the_menu_{theme}", "noop", pos=(0, 0))
        QtWidgets.QApplication.processEvents()
        undo = window.actions_by_name["undo"]
        assert undo.text().startswith("&Undo ") and "a_node_with_a_rather_long_name" in undo.text()
        assert undo.iconText() == "Undo" and undo.toolTip().startswith("Undo ")
        summary = window.findChild(QtWidgets.QLabel, "run_summary")
        assert summary is not None and summary.isVisible(), "the run summary is on the toolbar, not in its overflow"
        toolbar = summary.parentWidget()
        assert isinstance(toolbar, QtWidgets.QToolBar)
        buttons = [bar.widgetForAction(undo) for bar in window.findChildren(QtWidgets.QToolBar)]
        (button,) = [b for b in buttons if b is not None]
        assert isinstance(button, QtWidgets.QToolButton) and button.text() == "Undo"
        image = toolbar.grab().toImage()
        inside = summary.geometry().center()  # no run yet: the label is empty
        beside = QtCore.QPoint(summary.geometry().right() + 4, inside.y())
        assert beside.x() < image.width()
        assert image.pixelColor(inside) == image.pixelColor(beside), f"{theme}: the empty label shows a box"


def test_minimap_toggle_is_checkable_and_remembered(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """View > Minimap (Ctrl+M) hides and shows the canvas minimap, its menu item says which, and the
    next studio started with the same settings opens it the same way."""
    action = window.actions_by_name["minimap"]
    minimap = window.canvas.minimap
    assert action.isCheckable() and action.isChecked() and minimap.isVisible()
    window.canvas.view.setFocus()
    qtbot.keyClick(window.canvas.view, QtCore.Qt.Key.Key_M, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert not minimap.isVisible() and not action.isChecked()
    assert window.settings.value("minimap", True, type=bool) is False
    window.settings.sync()

    settings = QtCore.QSettings(window.settings.fileName(), window.settings.format())
    again = MainWindow(settings=settings, state_dir=tmp_path / "state_again")
    again.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    try:
        assert again.canvas.minimap.isHidden() and not again.actions_by_name["minimap"].isChecked()
        again.actions_by_name["minimap"].trigger()
        assert again.canvas.minimap.isVisible() and again.actions_by_name["minimap"].isChecked()
        assert again.settings.value("minimap", False, type=bool) is True
    finally:
        again.close()
