"""Execution context: run -> components -> loop iterations -> elements, with live status, and the
variables in scope and results of the selected component.

Rows are kept by (kind, path) and updated in place for the paths a batch touched; the tree is built
in full only when the panel shows another run (or comes back into view after a hidden stretch).
"""

from __future__ import annotations

import json
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.runs.state import ContextNode
from dad_studio.ui.canvas.items import RUN_COLOURS, RUN_LABELS
from dad_studio.ui.run.json_tree import summary
from dad_studio.ui.run.panel_base import RunPanel
from dad_studio.ui.run.session import format_duration

PATH_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1
KIND_ROLE = QtCore.Qt.ItemDataRole.UserRole + 2
Key = tuple[str, str]


SCOPE_MS = 400
MAX_RESULT_ROWS = 200
_BRUSHES: dict[str, QtGui.QBrush] = {}


def _brush(status: str) -> QtGui.QBrush:
    brush = _BRUSHES.get(status)
    if brush is None:
        brush = _BRUSHES[status] = QtGui.QBrush(QtGui.QColor(RUN_COLOURS.get(status, "#9aa0aa")))
    return brush


class ContextPanel(RunPanel):
    """The context tree (top) and the scope of the selected component (bottom)."""

    node_selected = QtCore.Signal(str)
    """Hierarchy path of an element picked in the tree."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setHeaderLabels(["Context", "Status", "Duration"])
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setMinimumSectionSize(60)
        self.tree.setColumnWidth(1, 110)
        self.tree.setColumnWidth(2, 70)
        self.scope = QtWidgets.QTreeWidget()
        self.scope.setHeaderLabels(["In scope", "Value"])
        self.scope.setColumnWidth(0, 170)
        self.scope.setUniformRowHeights(True)
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.addWidget(self.tree)
        split.addWidget(self.scope)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split)
        self.items: dict[Key, QtWidgets.QTreeWidgetItem] = {}
        self.scope_path: str | None = None
        self.scope_timer = QtCore.QTimer(self)
        self.scope_timer.setSingleShot(True)
        self.scope_timer.setInterval(SCOPE_MS)
        self.scope_timer.timeout.connect(self.refresh_scope)
        self.tree.currentItemChanged.connect(self._on_current)

    # -- building ----------------------------------------------------------------------------------

    def rebuild(self) -> None:
        self.tree.setUpdatesEnabled(False)
        try:
            self._rebuild()
        finally:
            self.tree.setUpdatesEnabled(True)

    def _rebuild(self) -> None:
        self.tree.clear()
        self.items.clear()
        session = self.session
        if session is None:
            self.scope.clear()
            return
        root = session.state.context_tree()
        run_item = self._make(None, root)
        self._add_children(run_item, root)  # children first, then one insertion into the view
        self.tree.addTopLevelItem(run_item)
        run_item.setExpanded(True)
        for index in range(run_item.childCount()):
            run_item.child(index).setExpanded(True)
        self.scope_path = self.scope_path if self.scope_path in session.state.components else session.root_id
        self.refresh_scope()

    def _add_children(self, item: QtWidgets.QTreeWidgetItem, node: ContextNode) -> None:
        children = []
        for child in node.children:
            child_item = self._make(None, child)
            self._add_children(child_item, child)
            children.append(child_item)
        item.addChildren(children)

    def _make(self, parent: QtWidgets.QTreeWidgetItem | None, node: ContextNode) -> QtWidgets.QTreeWidgetItem:
        item = QtWidgets.QTreeWidgetItem([node.label, "", ""])
        item.setData(0, PATH_ROLE, node.path)
        item.setData(0, KIND_ROLE, node.kind)
        if parent is not None:
            parent.addChild(item)
        self.items[(node.kind, node.path)] = item
        self._style(item, node.kind, node.path, node.status)
        return item

    def _style(self, item: QtWidgets.QTreeWidgetItem, kind: str, path: str, status: str) -> None:
        item.setText(1, RUN_LABELS.get(status, status))
        item.setForeground(1, _brush(status))
        if kind == "node" and self.session is not None:
            view = self.session.state.nodes.get(path)
            if view is not None:
                item.setText(2, format_duration(view.duration_ms))

    # -- live updates ------------------------------------------------------------------------------

    def update_from(self, changed: set[str], events: list[dict[str, Any]]) -> None:
        session = self.session
        if session is None:
            return
        state = session.state
        run_item = self.items.get(("run", session.root_id))
        if run_item is not None:
            run_item.setText(0, state.run_id or session.root_id)
            self._style(run_item, "run", session.root_id, state.status)
        for path in changed:
            if path in state.components:
                self._ensure_component(path)
            if path in state.nodes:
                self._ensure_node(path)
        # the scope lists every result of a component: refreshed at most every SCOPE_MS during a run
        if not self.scope_timer.isActive() and self.scope_path is not None:
            self.scope_timer.start()

    def _ensure_component(self, path: str) -> QtWidgets.QTreeWidgetItem | None:
        assert self.session is not None
        state = self.session.state
        view = state.components[path]
        item = self.items.get(("component", path))
        if item is None:
            parent = self.items.get(("run", state.root_id)) if view.owner is None else self._ensure_node(view.owner)
            if parent is None:
                return None
            label = f"iter_{view.iteration}" if view.iteration is not None else path.rsplit(".", 1)[-1]
            item = self._make(parent, ContextNode("component", path, view.status, label))
            for child in view.children:  # elements known before the component started
                self._ensure_node(child)
        self._style(item, "component", path, view.status)
        return item

    def _ensure_node(self, path: str) -> QtWidgets.QTreeWidgetItem | None:
        assert self.session is not None
        state = self.session.state
        view = state.nodes.get(path)
        if view is None:
            return None
        item = self.items.get(("node", path))
        if item is None:
            parent_path = path.rsplit(".", 1)[0] if "." in path else state.root_id
            if parent_path not in state.components:
                return None
            parent = self._ensure_component(parent_path)
            if parent is None:
                return None
            item = self.items.get(("node", path))  # made while its component was filled in
            if item is None:
                item = self._make(parent, ContextNode("node", path, view.status, view.id))
        self._style(item, "node", path, view.status)
        return item

    # -- scope -------------------------------------------------------------------------------------

    def _on_current(self, current: QtWidgets.QTreeWidgetItem | None, _prev: QtWidgets.QTreeWidgetItem | None) -> None:
        if current is None or self.session is None:
            return
        path = str(current.data(0, PATH_ROLE))
        kind = str(current.data(0, KIND_ROLE))
        state = self.session.state
        if kind == "node":
            self.node_selected.emit(path)
            path = path.rsplit(".", 1)[0] if "." in path else state.root_id
        elif kind == "run":
            path = state.root_id
        self.scope_path = path
        self.refresh_scope()

    def refresh_scope(self) -> None:
        """Variables in scope of the selected component, then the results of its elements."""
        self.scope_timer.stop()
        self.scope.clear()
        session, path = self.session, self.scope_path
        if session is None or path is None or path not in session.state.components:
            return
        state = session.state
        variables = QtWidgets.QTreeWidgetItem([f"Variables · {path}", ""])
        for name, value in state.variables(path).items():
            row = QtWidgets.QTreeWidgetItem([name, summary(value)])
            row.setToolTip(1, json.dumps(value, ensure_ascii=False, default=str)[:2000])
            variables.addChild(row)
        children = state.components[path].children
        results = QtWidgets.QTreeWidgetItem(["Results", f"{len(children)} elements"])
        for child in children[:MAX_RESULT_ROWS]:
            view = state.nodes[child]
            value = view.outcome if view.status == "completed" else view.error
            row = QtWidgets.QTreeWidgetItem([view.id, f"{view.status}: {summary(value)}" if value else view.status])
            row.setForeground(1, _brush(view.status))
            results.addChild(row)
        if len(children) > MAX_RESULT_ROWS:
            results.addChild(QtWidgets.QTreeWidgetItem([f"… {len(children) - MAX_RESULT_ROWS} more", ""]))
        self.scope.addTopLevelItem(variables)
        self.scope.addTopLevelItem(results)
        variables.setExpanded(True)
        results.setExpanded(True)

    # -- reading (tests, screenshots) --------------------------------------------------------------

    def rows(self) -> dict[tuple[str, str], str]:
        """(kind, path) -> status text of every row."""
        return {key: item.text(1) for key, item in self.items.items()}

    def select_path(self, kind: str, path: str) -> None:
        item = self.items.get((kind, path))
        if item is not None:
            self.tree.setCurrentItem(item)
            self.tree.scrollToItem(item)
