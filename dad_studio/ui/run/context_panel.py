"""Execution context: run -> components -> loop iterations -> elements, with live status, and the
variables in scope and results of the selected component.

Rows are kept by (kind, path) and updated in place for the paths a batch touched; the tree is built
in full only when the panel shows another run (or comes back into view after a hidden stretch), and
then in slices of about BUILD_SLICE_MS per pass of the event loop: a 1,000-element run is ~30 ms of
item making, which would otherwise be one stall of the UI right when Run is pressed. Batches that
arrive meanwhile wait and are applied when the build ends, so the tree ends as a direct build would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.runs.state import ContextNode
from dad_studio.ui.canvas.items import RUN_COLOURS, RUN_LABELS
from dad_studio.ui.run.json_tree import summary
from dad_studio.ui.run.panel_base import RunPanel
from dad_studio.ui.run.session import format_duration
from dad_studio.ui.run.slices import SliceQueue

PATH_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1
KIND_ROLE = QtCore.Qt.ItemDataRole.UserRole + 2
Key = tuple[str, str]


SCOPE_MS = 400
BUILD_SLICE_MS = 4.0
"""Rows made per pass of the event loop while the tree is built: about this long."""
DIRECT_LAYOUT_MAX = 300
"""Up to this many elements the context tree is laid out at once; above, on the next pass of the loop."""
UPDATE_SLICE_MS = 4.0
"""Rows of a live batch updated per pass of the loop: about this long (a busy 40 ms of a 1,000-node
run touches ~300-1,000 paths, ~7-18 ms of item updates at once)."""
DIRECT_UPDATE_MAX = 64
"""A batch of up to this many paths is applied at once (no pass of the loop between)."""
UPDATE_CHECK = 16
"""Rows updated between two clock reads."""
BUILD_CHECK = 32
"""Rows made between two clock reads."""
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

    def __init__(self, parent: QtWidgets.QWidget | None = None, *, slices: SliceQueue | None = None) -> None:
        """`slices`: the queue shared with the other run views (one slice per pass of the loop)."""
        super().__init__(parent)
        self.slices = slices if slices is not None else SliceQueue(self)
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setHeaderLabels(["Context", "Status", "Time"])
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setMinimumSectionSize(50)
        # the names need the room: in the default dock width the element ids were cut to 2-3 letters
        self.tree.setIndentation(12)
        # a run id's distinct part is its end (run_20261128_020525_90dfb4): cut names in the middle
        self.tree.setTextElideMode(QtCore.Qt.TextElideMode.ElideMiddle)
        # wide enough for the longest status, "waiting for input": the one that asks the user to act
        status_width = max(
            self.tree.fontMetrics().horizontalAdvance(text) for text in (*RUN_LABELS.values(), "completed")
        )
        self.tree.setColumnWidth(1, status_width + 14)
        self.tree.setColumnWidth(2, 50)
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
        self._scope_turn = self.slices.timer(self.refresh_scope)
        self.scope_timer.timeout.connect(self._scope_turn.start)  # in its turn among the slices
        self.tree.currentItemChanged.connect(self._on_current)
        self._build: list[tuple[Key, ContextNode]] = []
        """(parent key, node) still to make, in tree order, while a build goes on in slices."""
        self._build_at = 0
        self._deferred: set[str] | None = None
        self._tree_pending = False
        """The next build step computes the context tree first (`_lay_out`)."""
        """Paths of batches received while a build goes on (None: no build going on)."""
        self.build_timer = self.slices.timer(self._continue_build)
        self._updates: dict[str, None] = {}
        """Paths of live batches still to apply (in arrival order), `UPDATE_SLICE_MS` a pass."""
        self.update_timer = self.slices.timer(self._apply_updates)
        self.clock = time.perf_counter
        """Read against the slice budgets (tests give a fake one)."""

    # -- building ----------------------------------------------------------------------------------

    def rebuild(self) -> None:
        self.tree.setUpdatesEnabled(False)
        try:
            self._rebuild()
        finally:
            self.tree.setUpdatesEnabled(True)

    def _rebuild(self) -> None:
        self.stop_build()
        self._updates.clear()
        self.update_timer.stop()
        self.tree.clear()
        self.items.clear()
        session = self.session
        if session is None:
            self.scope.clear()
            return
        # the context tree itself (O(elements)) is computed on the next pass of the loop: a run's
        # start (its RunState, the canvas) and this panel's first rows then make two short stalls
        self._build, self._build_at, self._deferred = [], 0, set()
        self._tree_pending = True
        if len(session.state.nodes) <= DIRECT_LAYOUT_MAX:
            self._continue_build()  # small: the tree and its first rows now
        else:
            self.build_timer.start()

    def _lay_out(self, *, scope_now: bool = True) -> None:
        """The context tree of the session, its run row, and the order its other rows are made in;
        the scope list now or (`scope_now=False`, a big tree) in a turn of its own (~2-3 ms)."""
        self._tree_pending = False
        session = self.session
        if session is None:
            return
        root = session.state.context_tree()
        run_item = self._make(None, root)
        self.tree.addTopLevelItem(run_item)
        run_item.setExpanded(True)
        order: list[tuple[Key, ContextNode]] = []
        stack = [((root.kind, root.path), child) for child in reversed(root.children)]
        while stack:  # depth first, in the tree's order
            parent_key, node = stack.pop()
            order.append((parent_key, node))
            stack.extend(((node.kind, node.path), child) for child in reversed(node.children))
        self._build, self._build_at = order, 0
        self.scope_path = self.scope_path if self.scope_path in session.state.components else session.root_id
        if scope_now:
            self.refresh_scope()
        else:
            self._scope_turn.start()

    def _continue_build(self, *, everything: bool = False) -> None:
        """Make the next rows of the build for about BUILD_SLICE_MS (`everything`: all of them)."""
        self.build_timer.stop()
        if self._tree_pending:
            self._lay_out(scope_now=everything or self.session is None or not self._big(self.session))
            if not everything and len(self._build) > DIRECT_LAYOUT_MAX:
                self.build_timer.start()
                return
        order, at, items = self._build, self._build_at, self.items
        deadline = None if everything else self.clock() + BUILD_SLICE_MS / 1000
        run_key = order[0][0] if order else None
        self.tree.setUpdatesEnabled(False)
        try:
            while at < len(order):
                # one addChildren call per run of siblings
                parent_key = order[at][0]
                end = min(len(order), at + BUILD_CHECK)
                made = []
                while at < end and order[at][0] == parent_key:
                    made.append(self._make(None, order[at][1]))
                    at += 1
                parent = items.get(parent_key)
                if parent is not None:
                    parent.addChildren(made)
                    if parent_key == run_key:  # the run's components start expanded
                        for item in made:
                            item.setExpanded(True)
                if deadline is not None and self.clock() > deadline:
                    break
        finally:
            self._build_at = at
            if at < len(order):
                self.build_timer.start()
            else:
                deferred = self._deferred
                self._build, self._build_at, self._deferred = [], 0, None
                if deferred:
                    self.update_from(deferred, [])
                    if self._updates:
                        self.update_timer.start()  # after this pass's rows, not inside it
            self._hold_paint()

    def _hold_paint(self) -> None:
        """The tree repaints once when a sliced build or batch is done, not after every slice (a
        repaint of the tree is ~2-8 ms: as much as a slice)."""
        hold = self.busy
        if self.tree.updatesEnabled() == hold:
            self.tree.setUpdatesEnabled(not hold)

    @staticmethod
    def _big(session: Any) -> bool:
        return len(session.state.nodes) > DIRECT_LAYOUT_MAX

    def stop_build(self) -> None:
        """Drop a build going on and the updates waiting (the window closes; no timer left running)."""
        self.build_timer.stop()
        self.update_timer.stop()
        self._scope_turn.stop()
        self._updates.clear()
        self._deferred = None
        self._hold_paint()
        self._build, self._build_at, self._deferred = [], 0, None
        self._tree_pending = False

    @property
    def building(self) -> bool:
        """True while rows of a build are still being made (`finish_build()` ends it now)."""
        return self._deferred is not None

    @property
    def busy(self) -> bool:
        """A build or live updates are still being applied over passes of the loop."""
        return self._deferred is not None or bool(self._updates)

    def finish_build(self) -> None:
        if self._deferred is not None:
            self._continue_build(everything=True)

    def finish_updates(self) -> None:
        """Apply everything waiting now: the build, then the live updates (the end of a run, reads)."""
        self.finish_build()
        if self._updates:
            self._apply_updates(everything=True)

    def _make(self, parent: QtWidgets.QTreeWidgetItem | None, node: ContextNode) -> QtWidgets.QTreeWidgetItem:
        item = QtWidgets.QTreeWidgetItem([node.label, "", ""])
        item.setToolTip(0, node.path)  # the whole hierarchy path when the name is cut
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
        if self._deferred is not None:  # rows are still being made: applied when the build ends
            self._deferred |= changed
            return
        self._updates.update(dict.fromkeys(changed))
        if len(self._updates) <= DIRECT_UPDATE_MAX:
            self._apply_updates(everything=True)
        elif not self.update_timer.isActive():
            self.update_timer.start()  # a big batch: in slices from the next pass of the loop

    def _apply_updates(self, *, everything: bool = False) -> None:
        """Update the rows of waiting paths for about UPDATE_SLICE_MS (`everything`: all of them).

        The rows are keyed by path and each update reads the state as it is now, so the end state
        does not depend on how the paths were cut into slices."""
        self.update_timer.stop()
        session = self.session
        todo = self._updates
        if session is None:
            todo.clear()
            return
        state = session.state
        run_item = self.items.get(("run", session.root_id))
        if run_item is not None:
            run_item.setText(0, state.run_id or session.root_id)
            self._style(run_item, "run", session.root_id, state.status)
        deadline = None if everything else self.clock() + UPDATE_SLICE_MS / 1000
        count = 0
        self.tree.setUpdatesEnabled(False)  # until the batch is done (_hold_paint)
        while todo:
            path = next(iter(todo))
            del todo[path]
            if path in state.components:
                self._ensure_component(path)
            if path in state.nodes:
                self._ensure_node(path)
            count += 1
            if deadline is not None and count % UPDATE_CHECK == 0 and self.clock() > deadline:
                break
        if todo:
            self.update_timer.start()
        self._hold_paint()
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

    def scope_touched(self, changed: Iterable[str]) -> bool:
        """Whether any of these paths is the scope's component, one of its ancestors (their variables
        are in scope too) or one of its elements (whose rows the scope lists); a change deeper down
        shows only when that element's own row changes."""
        path = self.scope_path
        if path is None:
            return False
        prefix = path + "."
        cut = len(prefix)
        for p in changed:
            if p.startswith(prefix):
                if "." not in p[cut:]:
                    return True
            elif p == path or path.startswith(p + "."):
                return True
        return False

    def refresh_scope(self) -> None:
        """Variables in scope of the selected component, then the results of its elements."""
        self.scope_timer.stop()
        self._scope_turn.stop()
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
        """(kind, path) -> status text of every row (a build and updates going on are finished first)."""
        self.finish_updates()
        return {key: item.text(1) for key, item in self.items.items()}

    def select_path(self, kind: str, path: str) -> None:
        if (kind, path) not in self.items:
            self.finish_updates()
        item = self.items.get((kind, path))
        if item is not None:
            self.tree.setCurrentItem(item)
            self.tree.scrollToItem(item)
