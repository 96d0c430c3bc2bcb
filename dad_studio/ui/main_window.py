"""The studio window: canvas in the middle, docks around it, menus, toolbar and file handling.

Later issues add run panels with `add_panel(name, title, widget, area)`; nothing else needs to change.
Questions to the user live in overridable methods (`ask_save_changes`, `ask_reload`, `ask_recover`) so
tests answer them without a modal loop. They run from plain slots, where `exec()` is allowed
(QT_NOTES.md); coroutines must use `dad_studio.ui.loop.ask` instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.editor import CommandError, FlowDocument, FlowFileError, clipboard, recovery_path
from dad_studio.model import NodeTypeRegistry, default_registry
from dad_studio.ui.actions import build_actions, shortcuts_dialog
from dad_studio.ui.canvas.items import DARK, LIGHT
from dad_studio.ui.canvas.widget import CanvasWidget
from dad_studio.ui.palette import PalettePanel, QuickAddPopup
from dad_studio.ui.panels import ValidationPanel, VariablesPanel
from dad_studio.ui.properties import PropertiesPanel
from dad_studio.ui.resources import icon, stylesheet

AUTOSAVE_MS = 30_000
MAX_RECENT = 10
FILE_FILTER = "DAD flows (*.dad.json);;JSON (*.json);;All files (*)"


class MainWindow(QtWidgets.QMainWindow):
    def __init__(
        self,
        *,
        registry: NodeTypeRegistry | None = None,
        settings: QtCore.QSettings | None = None,
        state_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.registry = registry if registry is not None else default_registry()
        self.settings = settings if settings is not None else QtCore.QSettings("dad-studio", "studio")
        self.state_dir = state_dir
        self.doc: FlowDocument | None = None
        self.view_menu: QtWidgets.QMenu | None = None
        """The View menu once the menus exist (actions.py): docks added later put their toggle in it."""
        self.recent_menu: QtWidgets.QMenu | None = None
        self.setWindowIcon(icon("app"))
        self.resize(1400, 900)
        self.setDockNestingEnabled(True)

        self.canvas = CanvasWidget(self.registry, self)
        self.setCentralWidget(self.canvas)
        self.palette_panel = PalettePanel(self.registry)
        self.properties = PropertiesPanel()
        self.variables = VariablesPanel()
        self.validation = ValidationPanel()
        self.quick_add = QuickAddPopup(
            self.registry, None
        )  # parentless: canvas single-key shortcuts must not see its keys
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        self.add_panel("palette", "Palette", self.palette_panel, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        self.add_panel("properties", "Properties", self.properties, QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.add_panel("variables", "Variables", self.variables, QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.add_panel("validation", "Problems", self.validation, QtCore.Qt.DockWidgetArea.BottomDockWidgetArea)
        self.resizeDocks([self.docks["palette"]], [230], QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["properties"]], [360], QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["validation"]], [150], QtCore.Qt.Orientation.Vertical)
        self.resizeDocks(
            [self.docks["properties"], self.docks["variables"]], [520, 160], QtCore.Qt.Orientation.Vertical
        )

        self.actions_by_name = build_actions(self)
        from dad_studio.ui.run import RunController  # issue 8: run docks, Run menu and toolbar

        self.runs = RunController(self)
        from dad_studio.ui.history import HistoryController  # issue 9: run history dock and viewer

        self.history = HistoryController(self)
        from dad_studio.ui.batch import BatchController  # issue 11: batches dock, Run > Run Batch…

        self.batches = BatchController(self)
        self.statusBar().showMessage("Ready")

        self.canvas.status_message.connect(self.show_status)
        self.properties.status_message.connect(self.show_status)
        self.variables.status_message.connect(self.show_status)
        self.canvas.selection_changed.connect(self._on_selection_changed)
        self.canvas.path_changed.connect(self._on_path_changed)
        self.canvas.quick_add_requested.connect(self.open_quick_add)
        self.quick_add.chosen.connect(self.canvas.add_node_of_type)
        self.palette_panel.add_requested.connect(self._add_at_centre)
        self.validation.problem_activated.connect(self.reveal)

        self.autosave_timer = QtCore.QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.watcher = QtCore.QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(self._on_file_changed)
        self._problems_timer = QtCore.QTimer(self)
        self._problems_timer.setSingleShot(True)
        self._problems_timer.setInterval(300)
        self._problems_timer.timeout.connect(self.refresh_problems)
        self._closed = False
        self.set_theme(str(self.settings.value("theme", "dark")))
        if not self.settings.value("minimap", True, type=bool):
            self.set_minimap_visible(False)
        self.new_document()

    # -- panels --------------------------------------------------------------------------------------

    def add_panel(
        self, name: str, title: str, widget: QtWidgets.QWidget, area: QtCore.Qt.DockWidgetArea
    ) -> QtWidgets.QDockWidget:
        """Add a dock (later issues: run panels). Its toggle goes into the View menu when menus exist."""
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(f"dock_{name}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[name] = dock
        if self.view_menu is not None:
            self.view_menu.addAction(dock.toggleViewAction())
        return dock

    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    # -- documents -----------------------------------------------------------------------------------

    def set_document(self, doc: FlowDocument) -> None:
        if self.doc is not None:
            self.doc.dirty_changed.disconnect(self._update_title)
            self.doc.undo_changed.disconnect(self._on_undo_changed)
        if self.watcher.files():
            self.watcher.removePaths(self.watcher.files())
        self.doc = doc
        doc.dirty_changed.connect(self._update_title)
        doc.undo_changed.connect(self._on_undo_changed)
        self.canvas.set_document(doc)
        self.properties.set_document(doc)
        self.variables.set_document(doc)
        if doc.path is not None and doc.path.exists():
            self.watcher.addPath(str(doc.path))
        self._update_title()
        self._on_undo_changed()
        self.refresh_problems()
        self.autosave_timer.start()

    def new_document(self) -> None:
        if not self.maybe_save():
            return
        self.set_document(FlowDocument(registry=self.registry))

    def open_file(self, path: str | Path) -> bool:
        path = Path(path)
        recovery = self._recovery_path_for(path)
        try:
            if recovery.exists() and self.ask_recover(path):
                doc = FlowDocument.recover(recovery, path, registry=self.registry)
            else:
                doc = FlowDocument.open(path, registry=self.registry)
        except FlowFileError as exc:
            details = "\n".join(str(getattr(p, "message", p)) for p in exc.problems[:20])
            self.show_error(f"Cannot open {path}", f"{exc}\n{details}")
            return False
        self.set_document(doc)
        self._add_recent(path)
        return True

    def _recovery_path_for(self, path: Path | None) -> Path:
        if path is None and self.state_dir is not None:
            return self.state_dir / "recovery" / "untitled.dad.json"
        return recovery_path(path, state_dir=self.state_dir)

    def save(self) -> bool:
        if self.doc is None:
            return False
        if self.doc.path is None:
            return self.save_as()
        return self._save_to(self.doc.path)

    def save_as(self) -> bool:
        if self.doc is None:
            return False
        name, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save flow as", str(self.doc.path or "flow.dad.json"), FILE_FILTER
        )
        return bool(name) and self._save_to(Path(name))

    def _save_to(self, path: Path) -> bool:
        assert self.doc is not None
        watched = self.watcher.files()
        if watched:
            self.watcher.removePaths(watched)
        try:
            self.doc.save(path)
        except (OSError, ValueError) as exc:
            self.show_error(f"Cannot save {path}", str(exc))
            return False
        self.watcher.addPath(str(path))
        self._recovery_path_for(path).unlink(missing_ok=True)
        self._add_recent(path)
        self._update_title()
        self.show_status(f"Saved {path}")
        return True

    def autosave(self) -> None:
        if self.doc is None or not self.doc.dirty:
            return
        target = self._recovery_path_for(self.doc.path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self.doc.autosave(target)
        except OSError as exc:
            self.show_status(f"Autosave failed: {exc}")

    def maybe_save(self) -> bool:
        """True if it is fine to drop the current document (saved, discarded, or clean)."""
        if self.doc is None or not self.doc.dirty:
            return True
        answer = self.ask_save_changes()
        if answer == "save":
            return self.save()
        if answer == "discard":
            self._recovery_path_for(self.doc.path).unlink(missing_ok=True)
            return True
        return False

    # -- questions (overridable; plain slots, so exec() is fine) --------------------------------------

    def ask_save_changes(self) -> str:
        buttons = QtWidgets.QMessageBox.StandardButton
        answer = QtWidgets.QMessageBox.question(
            self, "Unsaved changes", "Save the changes to this flow?", buttons.Save | buttons.Discard | buttons.Cancel
        )
        return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")

    def ask_reload(self, path: Path) -> bool:
        buttons = QtWidgets.QMessageBox.StandardButton
        text = f"{path.name} changed on disk. Reload it?"
        if self.doc is not None and self.doc.dirty:
            text += " Your unsaved changes will be lost."
        return QtWidgets.QMessageBox.question(self, "File changed", text, buttons.Yes | buttons.No) == buttons.Yes

    def ask_recover(self, path: Path | None) -> bool:
        buttons = QtWidgets.QMessageBox.StandardButton
        text = f"Unsaved changes to {path.name if path else 'an untitled flow'} were kept after the studio stopped. Recover them?"
        return QtWidgets.QMessageBox.question(self, "Recover changes", text, buttons.Yes | buttons.No) == buttons.Yes

    def show_error(self, title: str, text: str) -> None:
        self.show_status(title)
        QtWidgets.QMessageBox.warning(self, title, text)

    def offer_untitled_recovery(self) -> None:
        recovery = self._recovery_path_for(None)
        if self.state_dir is not None and recovery.exists() and self.ask_recover(None):
            try:
                self.set_document(FlowDocument.recover(recovery, None, registry=self.registry))
            except FlowFileError as exc:
                self.show_status(f"Recovery failed: {exc}")

    def _on_file_changed(self, name: str) -> None:
        if self.doc is None or self.doc.path is None or not self.doc.disk_changed():
            return
        path = self.doc.path
        if path.exists() and self.ask_reload(path):
            try:
                self.set_document(FlowDocument.open(path, registry=self.registry))
            except FlowFileError as exc:
                self.show_error(f"Cannot reload {path}", str(exc))
        elif path.exists() and str(path) not in self.watcher.files():
            self.watcher.addPath(str(path))

    # -- recent files --------------------------------------------------------------------------------

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or []]

    def _add_recent(self, path: Path) -> None:
        text = str(path.resolve())
        recent = [text, *(r for r in self.recent_files() if r != text)][:MAX_RECENT]
        self.settings.setValue("recent", recent)
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        menu = self.recent_menu
        if menu is None:
            return
        menu.clear()
        for path in self.recent_files():
            action = menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.maybe_save() and self.open_file(p))
        menu.setEnabled(bool(self.recent_files()))

    # -- edit actions --------------------------------------------------------------------------------

    def _try(self, action: Any) -> Any:
        try:
            return action()
        except CommandError as exc:
            self.show_status(str(exc))
            return None

    def copy(self) -> None:
        ids = self.canvas.scene.selected_ids()
        notes = self.canvas.scene.selected_comment_ids()
        if self.doc is None or not (ids or notes):
            return
        payload = self._try(lambda: self.doc.copy(self.canvas.cpath, ids, notes))  # type: ignore[union-attr]
        if payload is not None:
            QtWidgets.QApplication.clipboard().setText(clipboard.to_text(payload))
            self.show_status(f"Copied {len(ids)} node(s)" + (f" and {len(notes)} comment(s)" if notes else ""))

    def cut(self) -> None:
        self.copy()
        self.canvas.delete_selection()

    def paste(self) -> None:
        if self.doc is None:
            return
        payload = clipboard.from_text(QtWidgets.QApplication.clipboard().text())
        if payload is None:
            self.show_status("The clipboard holds no nodes")
            return
        view = self.canvas.view
        at = view.mapToScene(view.mapFromGlobal(QtGui.QCursor.pos()))
        if not view.viewport().rect().contains(view.mapFromGlobal(QtGui.QCursor.pos())):
            at = view.mapToScene(view.viewport().rect().center())
        ids = self._try(lambda: self.doc.paste(self.canvas.cpath, payload, (round(at.x()), round(at.y()))))  # type: ignore[union-attr]
        if ids:
            self.canvas.scene.select_ids(ids)

    def duplicate(self) -> None:
        ids = self.canvas.scene.selected_ids()
        notes = self.canvas.scene.selected_comment_ids()
        if self.doc is not None and (ids or notes):
            new = self._try(lambda: self.doc.duplicate(self.canvas.cpath, ids, comments=notes))  # type: ignore[union-attr]
            if new:
                self.canvas.scene.select_ids(new)

    def select_all(self) -> None:
        for item in self.canvas.scene.nodes.values():
            item.setSelected(True)

    def align(self, how: str) -> None:
        ids = self.canvas.scene.selected_ids()
        if self.doc is not None and len(ids) > 1:
            self._try(lambda: self.doc.align(self.canvas.cpath, ids, how))  # type: ignore[union-attr]

    def auto_layout(self) -> None:
        if self.doc is not None:
            self._try(lambda: self.doc.auto_layout(self.canvas.cpath))  # type: ignore[union-attr]
            self.canvas.view.fit()

    def group(self) -> None:
        ids = self.canvas.scene.selected_ids()
        if self.doc is None or not ids:
            return
        new_id = self.doc.unique_id(self.canvas.cpath, "group")
        self._try(lambda: self.doc.group_into_subflow(self.canvas.cpath, ids, new_id))  # type: ignore[union-attr]

    def ungroup(self) -> None:
        ids = self.canvas.scene.selected_ids()
        if self.doc is not None and len(ids) == 1:
            self._try(lambda: self.doc.ungroup(self.canvas.cpath, ids[0]))  # type: ignore[union-attr]

    def add_comment(self) -> None:
        """A document comment around the selected nodes (saved in the file, undoable)."""
        self.canvas.add_comment_around_selection()

    def undo(self) -> None:
        if self.doc is not None and self.doc.can_undo:
            self.doc.undo()

    def redo(self) -> None:
        if self.doc is not None and self.doc.can_redo:
            self.doc.redo()

    def open_quick_add(self, scene_pos: QtCore.QPointF | None = None) -> None:
        view = self.canvas.view
        if scene_pos is None:
            scene_pos = view.mapToScene(view.viewport().rect().center())
        global_pos = view.viewport().mapToGlobal(view.mapFromScene(scene_pos))
        self.quick_add.popup(global_pos, scene_pos)

    def _add_at_centre(self, type_id: str) -> None:
        view = self.canvas.view
        self.canvas.add_node_of_type(type_id, view.mapToScene(view.viewport().rect().center()))

    def reveal(self, cpath: tuple[str, ...], node_id: str) -> None:
        """Show a node: open its component if needed, select it and centre on it."""
        if tuple(cpath) != self.canvas.cpath:
            self.canvas.open_path(tuple(cpath))
        item = self.canvas.scene.nodes.get(node_id)
        if item is not None:
            self.canvas.scene.select_ids([node_id])
            self.canvas.view.centerOn(item)

    # -- themes, help --------------------------------------------------------------------------------

    def set_theme(self, theme: str) -> None:
        theme = "light" if theme == "light" else "dark"
        self.theme = theme
        self.setStyleSheet(stylesheet(theme))
        self.canvas.set_palette(LIGHT if theme == "light" else DARK)
        self.settings.setValue("theme", theme)

    def set_minimap_visible(self, visible: bool) -> None:
        """Show or hide the canvas minimap (View > Minimap, Ctrl+M); remembered for the next start."""
        self.canvas.minimap.setVisible(visible)
        action = self.actions_by_name.get("minimap")
        if action is not None:
            action.setChecked(visible)
        self.settings.setValue("minimap", visible)

    def show_shortcuts(self) -> None:
        shortcuts_dialog(self, self.actions_by_name.values()).exec()

    # -- state ---------------------------------------------------------------------------------------

    def _update_title(self, *_: Any) -> None:
        name = self.doc.path.name if self.doc is not None and self.doc.path is not None else "untitled"
        dirty = "*" if self.doc is not None and self.doc.dirty else ""
        self.setWindowTitle(f"{name}{dirty} — DAD Studio")

    def _on_undo_changed(self) -> None:
        if self.doc is None:
            return
        undo = self.actions_by_name["undo"]
        redo = self.actions_by_name["redo"]
        undo.setEnabled(self.doc.can_undo)
        redo.setEnabled(self.doc.can_redo)
        # the menu names the command; the toolbar keeps a short, fixed label (a long command name
        # widened the button and pushed the run summary into the toolbar's overflow menu)
        for action, verb, what in ((undo, "Undo", self.doc.undo_text), (redo, "Redo", self.doc.redo_text)):
            action.setText(f"&{verb} {what}".strip())
            action.setIconText(verb)
            action.setToolTip(f"{verb} {what}".strip())
        self._update_title()
        self._problems_timer.start()

    def refresh_problems(self) -> None:
        if self.doc is None:
            return
        try:
            problems = list(self.doc.load_problems) if not self.doc.can_undo else []
            problems = self.doc.problems() or problems
        except Exception as exc:  # the panel must show something even if validation breaks
            self.show_status(f"validation failed: {exc}")
            return
        self.validation.show_problems(problems)
        self.docks["validation"].setWindowTitle(f"Problems ({len(problems)})")

    def _on_selection_changed(self) -> None:
        ids = self.canvas.scene.selected_ids()
        self.properties.show_node(self.canvas.cpath, ids[0] if len(ids) == 1 else None)

    def _on_path_changed(self) -> None:
        self.variables.set_path(self.canvas.cpath)
        self._on_selection_changed()
        self.actions_by_name["up"].setEnabled(bool(self.canvas.cpath))

    def shutdown(self) -> None:
        """Stop every timer and watcher; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.runs.shutdown()
        self.history.shutdown()
        self.batches.shutdown()
        self.autosave_timer.stop()
        self._problems_timer.stop()
        self.statusBar().clearMessage()  # a timed message owns a running QTimer
        self.quick_add.close()
        self.quick_add.deleteLater()
        self.canvas.shutdown()
        if self.watcher.files():
            self.watcher.removePaths(self.watcher.files())

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        self.shutdown()
        event.accept()
