"""The canvas as a whole: breadcrumb, view, minimap, and the bridge to the FlowDocument.

Gestures become document commands here (move on release, connect, add, delete); the document's
psygnal signals update the scene. Edits made through the document (undo, the properties panel,
another view) therefore show up the same way as edits made on the canvas.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets

from dad_studio.editor import CommandError
from dad_studio.model import ComponentDefinition, EdgeDefinition, NodeTypeRegistry
from dad_studio.ui.canvas.backdrop import CommentItem
from dad_studio.ui.canvas.items import DARK, EdgeItem, NodeItem, Palette
from dad_studio.ui.canvas.minimap import Minimap
from dad_studio.ui.canvas.scene import CanvasScene
from dad_studio.ui.canvas.view import CanvasView

ComponentPath = tuple[str, ...]


def problem_severity(problem: Any) -> str:
    return str(getattr(problem, "severity", "error"))


class CanvasWidget(QtWidgets.QWidget):
    """Shows one component of a document (`cpath`) and edits it through document commands."""

    status_message = QtCore.Signal(str)
    selection_changed = QtCore.Signal()
    path_changed = QtCore.Signal()
    quick_add_requested = QtCore.Signal(QtCore.QPointF)

    def __init__(self, registry: NodeTypeRegistry, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.doc: Any = None
        self.cpath: ComponentPath = ()
        self.scene = CanvasScene(registry, self)
        self.view = CanvasView(self.scene, self)
        self.minimap = Minimap(self.view, self)
        self.breadcrumb = QtWidgets.QWidget(self)
        self.breadcrumb.setObjectName("breadcrumb")
        self._crumbs = QtWidgets.QHBoxLayout(self.breadcrumb)
        self._crumbs.setContentsMargins(6, 2, 6, 2)
        self._crumbs.setSpacing(2)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.breadcrumb)
        layout.addWidget(self.view, 1)
        self._problems_timer = QtCore.QTimer(self)
        self._problems_timer.setSingleShot(True)
        self._problems_timer.setInterval(250)
        self._problems_timer.timeout.connect(self.refresh_problems)
        self.view.connect_requested.connect(self._on_connect_requested)
        self.view.nodes_moved.connect(self._on_nodes_moved)
        self.view.comments_moved.connect(self._on_comments_moved)
        self.scene.on_comment_rect = self._on_comment_rect
        self.scene.on_comment_text = self._on_comment_text
        self.view.open_requested.connect(self.open_node)
        self.view.type_dropped.connect(self.add_node_of_type)
        self.view.quick_add_requested.connect(self.quick_add_requested)
        self.scene.selectionChanged.connect(self.selection_changed)
        self.set_palette(DARK)

    # -- document binding ----------------------------------------------------------------------------

    def set_document(self, doc: Any) -> None:
        """Show `doc` (a FlowDocument) from its root; disconnects from the previous one."""
        if self.doc is not None:
            self._bind(self.doc, connect=False)
        self.doc = doc
        self.cpath = ()
        if doc is not None:
            self._bind(doc, connect=True)
        self.rebuild(fit=True)

    def _bind(self, doc: Any, *, connect: bool) -> None:
        pairs = (
            (doc.node_added, self._on_node_added),
            (doc.node_removed, self._on_node_removed),
            (doc.node_moved, self._on_node_moved),
            (doc.node_renamed, self._on_node_renamed),
            (doc.edge_added, self._on_edge_added),
            (doc.edge_removed, self._on_edge_removed),
            (doc.structure_changed, self._on_structure_changed),
            (doc.settings_changed, self._on_settings_changed),
            (doc.comment_added, self._on_comment_added),
            (doc.comment_changed, self._on_comment_changed),
            (doc.comment_removed, self._on_comment_removed),
            (doc.undo_changed, self.schedule_problems),
        )
        for signal, slot in pairs:
            if connect:
                signal.connect(slot)
            else:
                signal.disconnect(slot)

    def component(self) -> ComponentDefinition | None:
        if self.doc is None:
            return None
        try:
            comp: ComponentDefinition = self.doc.component(self.cpath)
        except Exception:
            return None
        return comp

    def rebuild(self, *, fit: bool = False) -> None:
        """Rebuild the scene from the current component (open, undo of a structural edit, level change)."""
        comp = self.component()
        if comp is None and self.cpath:
            self.cpath = ()
            comp = self.component()
        selected = self.scene.selected_ids()
        if comp is None:
            self.scene.clear_items()
        else:
            self.scene.build(comp)
            self.scene.select_ids(selected)
        self._update_breadcrumb()
        self.refresh_problems()
        self.view._cached = None  # new items: apply the cache mode for the current zoom
        if fit:
            self.view.fit()
        self.view._update_item_cache()
        self.minimap.refit()
        self.path_changed.emit()

    def set_palette(self, palette: Palette) -> None:
        NodeItem.palette = palette
        EdgeItem.palette = palette
        CommentItem.text_colour = palette.text
        for edge in self.scene.edges.values():
            edge.apply_style()
        self.view.palette_colours = palette
        self.view.resetCachedContent()
        self.scene.update()
        self.minimap.palette_colours = palette

    def shutdown(self) -> None:
        """Stop timers and let go of the document (window closing)."""
        self._problems_timer.stop()
        self.minimap.shutdown()
        self.scene.overview.stop()
        if self.doc is not None:
            self._bind(self.doc, connect=False)
            self.doc = None

    # -- navigation ----------------------------------------------------------------------------------

    def open_node(self, node_id: str) -> None:
        comp = self.component()
        if comp is None or node_id not in comp.nodes or comp.nodes[node_id].body is None:
            self.status_message.emit(f"{node_id} has no inline body to open")
            return
        self.open_path((*self.cpath, node_id))

    def open_path(self, cpath: ComponentPath) -> None:
        self.cpath = tuple(cpath)
        self.rebuild(fit=True)

    def go_up(self) -> None:
        if self.cpath:
            child = self.cpath[-1]
            self.open_path(self.cpath[:-1])
            self.scene.select_ids([child])

    def _update_breadcrumb(self) -> None:
        while self._crumbs.count():
            entry = self._crumbs.takeAt(0)
            widget = entry.widget() if entry is not None else None
            if widget is not None:
                widget.setParent(None)
                widget.deleteLater()
        root_name = "flow"
        if self.doc is not None:
            root_name = getattr(self.doc.component(()), "id", None) or "flow"
        names = [root_name, *self.cpath]
        for depth, name in enumerate(names):
            if depth:
                self._crumbs.addWidget(QtWidgets.QLabel("›"))
            button = QtWidgets.QToolButton()
            button.setText(name)
            button.setAutoRaise(True)
            button.setEnabled(depth < len(names) - 1)
            target = self.cpath[:depth]
            button.clicked.connect(lambda _=False, t=target: self.open_path(t))
            self._crumbs.addWidget(button)
        self._crumbs.addStretch(1)

    # -- problems ------------------------------------------------------------------------------------

    def schedule_problems(self, *args: Any) -> None:
        self._problems_timer.start()

    def refresh_problems(self) -> None:
        if self.doc is None:
            return
        try:
            raw = self.doc.problems_by_node(self.cpath)
        except Exception as exc:  # the document must never take the canvas down
            self.status_message.emit(f"validation failed: {exc}")
            return
        by_node = {
            node_id: [(problem_severity(p), str(getattr(p, "message", p))) for p in problems]
            for node_id, problems in raw.items()
        }
        self.scene.set_problems(by_node)

    # -- gestures -> commands ------------------------------------------------------------------------

    def _on_connect_requested(self, source: str, port_name: str, target: str) -> None:
        if self.doc is None:
            return
        source_item = self.scene.nodes.get(source)
        port = None
        if source_item is not None:
            port = next((p for p in source_item.outputs if p.name == port_name), None)
        on = "error" if port is not None and port.meaning == "error" else "success"
        branch = port.meaning if port is not None and port.meaning in ("true", "false") else None
        try:
            self.doc.connect(self.cpath, source, target, on=on, port=branch)
        except CommandError as exc:
            self.status_message.emit(f"Connection refused: {exc}")
            QtWidgets.QApplication.beep()
        else:
            self.status_message.emit(f"Connected {source} → {target}")

    def _on_nodes_moved(self, moved: dict[str, tuple[int, int]]) -> None:
        if self.doc is not None:
            self.doc.move_nodes(self.cpath, moved)

    def add_node_of_type(self, type_id: str, scene_pos: QtCore.QPointF) -> str | None:
        if self.doc is None:
            return None
        base = type_id
        comp = self.component()
        existing = set(comp.nodes) if comp is not None else set()
        node_id = base
        n = 1
        while node_id in existing:
            n += 1
            node_id = f"{base}_{n}"
        try:
            new_id: str = self.doc.add_node(
                self.cpath, node_id, type_id, pos=(round(scene_pos.x()), round(scene_pos.y()))
            )
        except CommandError as exc:
            self.status_message.emit(f"Cannot add {type_id}: {exc}")
            return None
        self.scene.select_ids([new_id])
        return new_id

    def delete_selection(self) -> None:
        if self.doc is None:
            return
        ids = self.scene.selected_ids()
        edges = [e for e in self.scene.selected_edges() if e.source not in ids and e.target not in ids]
        comments = self.scene.selected_comment_ids()
        if not ids and not edges and not comments:
            return
        self.doc.begin_macro("Delete")
        try:
            for edge in edges:
                self.doc.disconnect(self.cpath, (edge.source, edge.target, edge.on, edge.port))
            if ids:
                self.doc.remove_nodes(self.cpath, ids)
            for comment_id in comments:
                self.doc.remove_comment(self.cpath, comment_id)
        except CommandError as exc:
            self.status_message.emit(f"Cannot delete: {exc}")
        finally:
            self.doc.end_macro()

    # -- comments ------------------------------------------------------------------------------------

    def add_comment_around_selection(self, text: str = "Comment") -> str | None:
        """Add a comment that wraps the selected nodes (with room for its title), or a box in the
        visible area when nothing is selected; select it and return its id."""
        if self.doc is None:
            return None
        selected = [self.scene.nodes[i] for i in self.scene.selected_ids()]
        if selected:
            rect = selected[0].sceneBoundingRect()
            for item in selected[1:]:
                rect = rect.united(item.sceneBoundingRect())
            rect = rect.adjusted(-30, -50, 30, 30)
        else:
            view = self.view.viewport().rect()
            centre = self.view.mapToScene(view.center())
            rect = QtCore.QRectF(centre.x() - 160, centre.y() - 100, 320, 200)
        try:
            comment_id: str = self.doc.add_comment(self.cpath, text, (rect.x(), rect.y(), rect.width(), rect.height()))
        except CommandError as exc:
            self.status_message.emit(f"Cannot add a comment: {exc}")
            return None
        self.scene.select_ids([], comments=[comment_id])
        return comment_id

    def _on_comments_moved(self, moved: dict[str, tuple[int, int, int, int]]) -> None:
        if self.doc is None:
            return
        self.doc.begin_macro("Move comments" if len(moved) > 1 else "Move comment")
        try:
            for comment_id, rect in moved.items():
                self.doc.set_comment_rect(self.cpath, comment_id, rect)
        except CommandError as exc:
            self.status_message.emit(f"Cannot move: {exc}")
        finally:
            self.doc.end_macro()

    def _on_comment_rect(self, comment_id: str, rect: tuple[int, int, int, int]) -> None:
        if self.doc is not None:
            try:
                self.doc.set_comment_rect(self.cpath, comment_id, rect)
            except CommandError as exc:
                self.status_message.emit(f"Cannot resize: {exc}")
                self._on_comment_changed(self.cpath, comment_id)  # put the item back

    def _on_comment_text(self, comment_id: str, text: str) -> None:
        if self.doc is not None:
            try:
                self.doc.edit_comment_text(self.cpath, comment_id, text)
            except CommandError as exc:
                self.status_message.emit(f"Cannot edit the comment: {exc}")

    def _on_comment_added(self, cpath: Any, comment_id: str) -> None:
        comp = self.component()
        if self._here(cpath) and comp is not None:
            comment = next((c for c in comp.comments if c.id == comment_id), None)
            if comment is not None and comment_id not in self.scene.comments:
                self.scene.add_comment(comment)
                self.minimap.schedule()

    def _on_comment_changed(self, cpath: Any, comment_id: str) -> None:
        comp = self.component()
        if self._here(cpath) and comp is not None:
            comment = next((c for c in comp.comments if c.id == comment_id), None)
            if comment is not None:
                self.scene.update_comment(comment)
                self.minimap.schedule()

    def _on_comment_removed(self, cpath: Any, comment_id: str) -> None:
        if self._here(cpath):
            self.scene.remove_comment(comment_id)
            self.minimap.schedule()

    # -- document signals -> scene -------------------------------------------------------------------

    def _here(self, cpath: Any) -> bool:
        return tuple(cpath) == self.cpath

    def _on_node_added(self, cpath: Any, node_id: str) -> None:
        comp = self.component()
        if not self._here(cpath) or comp is None or node_id not in comp.nodes:
            return
        pos = comp.layout.get(node_id, (0, 0))
        self.scene.add_node(node_id, comp.nodes[node_id], pos)
        self.minimap.schedule()

    def _on_node_removed(self, cpath: Any, node_id: str) -> None:
        if self._here(cpath):
            self.scene.remove_node(node_id)
            self.minimap.schedule()

    def _on_node_moved(self, cpath: Any, node_id: str, x: float, y: float) -> None:
        if self._here(cpath):
            self.scene.move_node(node_id, x, y)
            self.minimap.schedule()

    def _on_node_renamed(self, cpath: Any, old: str, new: str) -> None:
        if self._here(cpath):
            self.scene.rename_node(old, new)
        elif tuple(cpath) == self.cpath[: len(cpath)] and len(self.cpath) > len(cpath):
            # a node on our path was renamed: follow it
            depth = len(cpath)
            if self.cpath[depth] == old:
                self.cpath = (*self.cpath[:depth], new, *self.cpath[depth + 1 :])
                self._update_breadcrumb()

    def _on_edge_added(self, cpath: Any, edge: EdgeDefinition) -> None:
        if self._here(cpath):
            self.scene.add_edge(edge)

    def _on_edge_removed(self, cpath: Any, edge: EdgeDefinition) -> None:
        if self._here(cpath):
            self.scene.remove_edge(edge)

    def _on_settings_changed(self, cpath: Any, node_id: str) -> None:
        if self._here(cpath):
            comp = self.component()
            item = self.scene.nodes.get(node_id)
            if comp is not None and item is not None and node_id in comp.nodes:
                node = comp.nodes[node_id]
                item.description = node.description
                item.setToolTip(node.description)
                item.update()

    def _on_structure_changed(self, cpath: Any) -> None:
        cpath = tuple(cpath)
        # our component or one that holds it changed wholesale (group, ungroup, paste, undo of those)
        if cpath == self.cpath[: len(cpath)]:
            self.rebuild()
