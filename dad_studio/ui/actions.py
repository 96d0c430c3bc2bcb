"""Menus, toolbar and keyboard shortcuts of the main window, from one table.

The shortcuts help (F1) is generated from the same actions, so it cannot drift from the keys.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

if TYPE_CHECKING:
    from dad_studio.ui.main_window import MainWindow

Key = QtGui.QKeySequence


def build_actions(win: MainWindow) -> dict[str, QtGui.QAction]:
    actions: dict[str, QtGui.QAction] = {}
    canvas = win.canvas

    def act(
        name: str,
        text: str,
        slot: Callable[[], object],
        keys: Iterable[QtGui.QKeySequence | QtGui.QKeySequence.StandardKey | str] = (),
        tip: str = "",
        context: QtCore.Qt.ShortcutContext = QtCore.Qt.ShortcutContext.WindowShortcut,
    ) -> QtGui.QAction:
        action = QtGui.QAction(text, win)
        action.setObjectName(f"action_{name}")
        sequences = [k if isinstance(k, QtGui.QKeySequence) else QtGui.QKeySequence(k) for k in keys]
        if sequences:
            action.setShortcuts(sequences)
        action.setShortcutContext(context)
        action.setStatusTip(tip or text.replace("&", ""))
        action.triggered.connect(lambda _checked=False: slot())
        win.addAction(action)
        actions[name] = action
        return action

    canvas_only = QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut
    file_menu = win.menuBar().addMenu("&File")
    file_menu.addAction(act("new", "&New", win.new_document, [Key.StandardKey.New]))
    file_menu.addAction(act("open", "&Open…", lambda: _open_dialog(win), [Key.StandardKey.Open]))
    win.recent_menu = file_menu.addMenu("Open &Recent")
    file_menu.addAction(act("save", "&Save", win.save, [Key.StandardKey.Save]))
    file_menu.addAction(act("save_as", "Save &As…", win.save_as, ["Ctrl+Shift+S"]))
    file_menu.addSeparator()
    file_menu.addAction(act("quit", "&Quit", win.close, [Key.StandardKey.Quit]))
    win._rebuild_recent_menu()

    edit = win.menuBar().addMenu("&Edit")
    edit.addAction(act("undo", "&Undo", win.undo, [Key.StandardKey.Undo]))
    edit.addAction(act("redo", "&Redo", win.redo, ["Ctrl+Shift+Z", "Ctrl+Y"]))
    edit.addSeparator()
    # clipboard and delete keys act on the canvas only, so text fields keep their own Ctrl+C / Del
    edit.addAction(act("cut", "Cu&t", win.cut, [Key.StandardKey.Cut], context=canvas_only))
    edit.addAction(act("copy", "&Copy", win.copy, [Key.StandardKey.Copy], context=canvas_only))
    edit.addAction(act("paste", "&Paste", win.paste, [Key.StandardKey.Paste], context=canvas_only))
    edit.addAction(act("duplicate", "&Duplicate", win.duplicate, ["Ctrl+D"], context=canvas_only))
    edit.addAction(act("delete", "De&lete", canvas.delete_selection, ["Del"], context=canvas_only))
    edit.addAction(act("select_all", "Select &All", win.select_all, [Key.StandardKey.SelectAll], context=canvas_only))
    for action in ("cut", "copy", "paste", "duplicate", "delete", "select_all"):
        canvas.addAction(actions[action])
        win.removeAction(actions[action])

    graph = win.menuBar().addMenu("&Graph")
    graph.addAction(act("quick_add", "&Add Node…", win.open_quick_add, ["Tab"], "Quick-add a node (Tab on the canvas)"))
    actions["quick_add"].setShortcutContext(canvas_only)
    canvas.addAction(actions["quick_add"])
    graph.addAction(act("comment", "Add &Comment", win.add_comment, ["Ctrl+Shift+C"]))
    graph.addAction(act("group", "&Group into Subflow", win.group, ["Ctrl+G"]))
    graph.addAction(act("ungroup", "&Ungroup Subflow", win.ungroup, ["Ctrl+Shift+G"]))
    graph.addSeparator()
    align = graph.addMenu("Align")
    for how in ("left", "top", "hcenter", "vcenter"):
        label = {"hcenter": "Centres in a column", "vcenter": "Centres in a row"}.get(how, how.capitalize())
        align.addAction(act(f"align_{how}", label, functools.partial(win.align, how)))
    graph.addAction(act("auto_layout", "Auto &Layout", win.auto_layout, ["Ctrl+L"]))
    graph.addSeparator()
    graph.addAction(act("open_body", "&Open Body", lambda: _open_selected(win), ["Return"], context=canvas_only))
    canvas.addAction(actions["open_body"])
    graph.addAction(act("up", "Up a &Level", canvas.go_up, ["Backspace", "Alt+Up"], context=canvas_only))
    canvas.addAction(actions["up"])

    view = win.menuBar().addMenu("&View")
    view.addAction(act("fit", "&Fit", canvas.view.fit, ["F"], context=canvas_only))
    canvas.addAction(actions["fit"])
    view.addAction(act("zoom_in", "Zoom &In", lambda: canvas.view.zoom_by(1.25), [Key.StandardKey.ZoomIn]))
    view.addAction(act("zoom_out", "Zoom &Out", lambda: canvas.view.zoom_by(0.8), [Key.StandardKey.ZoomOut]))
    minimap = act("minimap", "&Minimap", lambda: win.set_minimap_visible(canvas.minimap.isHidden()), ["Ctrl+M"])
    minimap.setCheckable(True)
    minimap.setChecked(not canvas.minimap.isHidden())
    view.addAction(minimap)
    view.addAction(act("search_palette", "Search &Palette", _palette_search(win), ["Ctrl+F"]))
    view.addSeparator()
    view.addAction(
        act(
            "theme",
            "Toggle &Dark/Light Theme",
            lambda: win.set_theme("light" if win.theme == "dark" else "dark"),
            ["Ctrl+Shift+T"],
        )
    )
    view.addSeparator()
    for dock in win.docks.values():
        view.addAction(dock.toggleViewAction())
    win.view_menu = view

    help_menu = win.menuBar().addMenu("&Help")
    help_menu.addAction(act("shortcuts", "&Keyboard Shortcuts", win.show_shortcuts, ["F1"]))

    toolbar = win.addToolBar("Main")
    toolbar.setObjectName("toolbar_main")
    toolbar.setMovable(False)
    for name in ("new", "open", "save", None, "undo", "redo", None, "fit", "auto_layout", "up"):
        if name is None:
            toolbar.addSeparator()
        else:
            toolbar.addAction(actions[name])
    return actions


def _palette_search(win: MainWindow) -> Callable[[], None]:
    def run() -> None:
        win.docks["palette"].show()
        win.docks["palette"].raise_()
        win.palette_panel.focus_search()

    return run


def _open_dialog(win: MainWindow) -> None:
    from dad_studio.ui.main_window import FILE_FILTER

    if not win.maybe_save():
        return
    name, _ = QtWidgets.QFileDialog.getOpenFileName(win, "Open flow", "", FILE_FILTER)
    if name:
        win.open_file(name)


def _open_selected(win: MainWindow) -> None:
    for node_id in win.canvas.scene.selected_ids():
        if win.canvas.scene.nodes[node_id].has_body:
            win.canvas.open_node(node_id)
            return


def shortcut_rows(actions: Iterable[QtGui.QAction]) -> list[tuple[str, str]]:
    """(action text, its keys) for every action that has a shortcut."""
    rows = []
    for action in actions:
        keys = ", ".join(seq.toString(QtGui.QKeySequence.SequenceFormat.NativeText) for seq in action.shortcuts())
        if keys:
            rows.append((action.text().replace("&", "").rstrip("…"), keys))
    return rows


def shortcuts_dialog(parent: QtWidgets.QWidget, actions: Iterable[QtGui.QAction]) -> QtWidgets.QDialog:
    dialog = QtWidgets.QDialog(parent)
    dialog.setWindowTitle("Keyboard shortcuts")
    table = QtWidgets.QTableWidget(0, 2, dialog)
    table.setHorizontalHeaderLabels(["Action", "Keys"])
    table.verticalHeader().hide()
    table.horizontalHeader().setStretchLastSection(True)
    rows = shortcut_rows(actions)
    rows.append(("Pan", "Middle drag, Alt+drag"))
    rows.append(("Zoom", "Mouse wheel"))
    rows.append(("Open a subflow / for_each body", "Double-click"))
    for text, keys in rows:
        row = table.rowCount()
        table.insertRow(row)
        table.setItem(row, 0, QtWidgets.QTableWidgetItem(text))
        table.setItem(row, 1, QtWidgets.QTableWidgetItem(keys))
    table.resizeColumnsToContents()
    layout = QtWidgets.QVBoxLayout(dialog)
    layout.addWidget(table)
    close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
    close.rejected.connect(dialog.reject)
    layout.addWidget(close)
    dialog.resize(460, 560)
    return dialog
