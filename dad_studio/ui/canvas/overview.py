"""Far-zoom painting of a whole scene in a handful of draw calls (level of detail for big flows).

Why: with every node fitted in view, a 2,000-node flow has ~4,000 items on screen, and Qt calls
each item's Python `paint()` in turn; that dispatch alone costs ~20 us an item, so a repaint took
80-110 ms (bench/canvas_bench.py) and a live run repainting the canvas stalled the UI. Far out, a
node is a filled box and an edge a thin line anyway, so below `FAR_ZOOM` the view gives every node
and edge the `ItemHasNoContents` flag (Qt then skips them when painting but still hit-tests,
selects and moves them) and paints this overview once in `drawForeground`: edges grouped by pen as
one cached QPainterPath per group, nodes grouped by colour as one `drawRects` call per group.

The groups are kept incrementally: items report their changes (`node_changed`, `edge_changed`,
removals, selection) and only those are regrouped at the next paint, so a run updating a few nodes
costs O(changed), and the repaint request covers only the changed items' rectangles.
"""

from __future__ import annotations

import time

import shiboken6
from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.ui.canvas.items import RUN_COLOURS, EdgeItem, NodeItem

CHUNK = 32
"""Edges per cached path: small enough to remake quickly when a run recolours a few edges, big
enough to keep the draw calls few (2,000 edges: ~60 paths)."""
FAR_ZOOM = 0.35
"""Below this scale the scene is painted by the overview (the same threshold as NodeItem.paint's plain box)."""
REPAINT_MIN_MS = 100
"""At most one overview repaint per this long (~10 Hz): a live run reports changes in many small
slices, and each full far-zoom repaint of a 1,000-node flow is ~5 ms of the GUI thread."""
OUTLINE_ZOOM = 0.12
"""Below this scale a node box is only its fill: a 1-pixel border would cover a 3-pixel-high box."""

NodeKey = tuple[int, bool]
"""(fill colour rgba, selected)."""
EdgeGroup = tuple[int, int, int, int]
"""(layer, colour rgba, pen style, chunk). Layer 0 is every edge in its own pen (it never changes
with a run); layers 1-3 are overlays drawn over it: dead (faded), taken (run colour), selected."""
BASE, DEAD, TAKEN, SELECTED = 0, 1, 2, 3


_RUN_RGBA = {status: QtGui.QColor(colour).rgba() for status, colour in RUN_COLOURS.items()}
_SOLID = int(QtCore.Qt.PenStyle.SolidLine.value)


def node_key(item: NodeItem, header: int, selected: bool) -> NodeKey:
    """`header`: the theme's plain node colour (rgba), for a node without a known run status."""
    status = item.run_status
    return (_RUN_RGBA.get(status, header) if status else header), selected


def edge_overlay(edge: EdgeItem, selected: bool) -> tuple[int, int, int] | None:
    """(layer, colour, style) of the overlay drawn over the edge's base line, if any."""
    if selected:
        return SELECTED, edge.palette.selected.rgba(), _SOLID
    if edge.run_state == "taken":
        return TAKEN, _RUN_RGBA["running"], _SOLID
    if edge.run_state == "dead":
        return DEAD, edge.style_key[0], _SOLID
    return None


class Overview:
    """The nodes and edges of one CanvasScene as colour groups, painted together when zoomed far out."""

    def __init__(self, scene: QtWidgets.QGraphicsScene) -> None:
        self.scene = scene
        self.active = False
        """True while the view is zoomed out past FAR_ZOOM: items paint nothing, the view paints this."""
        self.quiet = False
        """Set while the scene is built: changes are grouped but one repaint follows at the end."""
        self._node_key: dict[NodeItem, NodeKey] = {}
        self._node_rect: dict[NodeItem, QtCore.QRectF] = {}
        self._node_groups: dict[NodeKey, dict[NodeItem, QtCore.QRectF]] = {}
        self._node_lists: dict[NodeKey, list[QtCore.QRectF]] = {}
        self._edge_base: dict[EdgeItem, EdgeGroup] = {}
        self._edge_over: dict[EdgeItem, EdgeGroup] = {}
        """Edge -> its base group; edge -> its overlay group (only edges that have one)."""
        self._edge_serial: dict[EdgeItem, int] = {}
        self._next_serial = 0
        self._edge_groups: dict[EdgeGroup, dict[EdgeItem, None]] = {}
        """Chunks of CHUNK edges (by creation order): a run recolouring edges remakes small paths."""
        self._edge_paths: dict[EdgeGroup, QtGui.QPainterPath] = {}
        self._dirty_nodes: set[NodeItem] = set()
        """Nodes whose colour may have changed; `_moved_nodes` also need a new box."""
        self._moved_nodes: set[NodeItem] = set()
        self._removed_nodes: set[NodeItem] = set()
        self._dirty_edges: set[EdgeItem] = set()
        self._removed_edges: set[EdgeItem] = set()
        self._repaint_asked = False
        self._last_paint = 0.0
        """time.monotonic() of the last paint (`repaint_min_ms` apart)."""
        self.repaint_min_ms = REPAINT_MIN_MS
        """Raised while a run streams (the run overlay's set_streaming): its engine shares the thread."""
        self._repaint_timer = QtCore.QTimer(scene)
        self._repaint_timer.setSingleShot(True)
        self._repaint_timer.timeout.connect(self._repaint_now)
        self._selected: set[QtWidgets.QGraphicsItem] = set()
        self._selection_dirty = False
        self._palette: object = None
        """NodeItem.palette the groups were made with; a theme switch regroups everything."""

    # -- change reports (cheap: the work happens at the next paint) ---------------------------------

    def set_active(self, active: bool) -> None:
        """Switched by CanvasScene.set_far; a repaint asked for while inactive may never have come."""
        self.active = active
        self._repaint_asked = False

    def reset(self) -> None:
        """Forget every item (the scene was cleared)."""
        for table in (self._node_key, self._node_rect, self._node_groups, self._node_lists):
            table.clear()
        for other in (self._edge_base, self._edge_over, self._edge_serial, self._edge_groups, self._edge_paths):
            other.clear()
        self._next_serial = 0
        for pending in (self._dirty_nodes, self._moved_nodes, self._removed_nodes):
            pending.clear()
        self._dirty_edges.clear()
        self._removed_edges.clear()
        self._selected.clear()
        self._selection_dirty = False
        self._repaint_asked = False

    def _repaint(self) -> None:
        """Ask once for a repaint of the whole view: the overview's paint costs the same for any
        region (it draws every group, clipped), so one request per paint is all that is needed."""
        if self.active and not self.quiet and not self._repaint_asked:
            self._repaint_asked = True
            wait_ms = self.repaint_min_ms - (time.monotonic() - self._last_paint) * 1000
            if wait_ms > 1:
                self._repaint_timer.start(int(wait_ms))
            else:
                self.scene.update()

    def _repaint_now(self) -> None:
        if self.active and shiboken6.isValid(self.scene):  # type: ignore[no-untyped-call]
            self.scene.update()

    def stop(self) -> None:
        """No repaint left waiting (the scene is going away)."""
        self._repaint_timer.stop()

    def node_changed(self, item: NodeItem, *, moved: bool = False, repaint: bool = True) -> None:
        """The node was added (`moved`), moved (`moved`) or its colour (run status) changed.

        `repaint=False`: regroup at the next paint but do not ask for one (a change that the caller
        knows cannot be seen now, see NodeItem.set_run_state).
        """
        (self._moved_nodes if moved else self._dirty_nodes).add(item)
        if repaint:
            self._repaint()

    def node_removed(self, item: NodeItem) -> None:
        self._removed_nodes.add(item)
        self._repaint()

    def edge_changed(self, edge: EdgeItem) -> None:
        """The edge was added or its path, pen, run state or selection changed."""
        self._dirty_edges.add(edge)
        self._repaint()

    def edge_removed(self, edge: EdgeItem) -> None:
        self._removed_edges.add(edge)
        self._repaint()

    def selection_changed(self) -> None:
        """Connected to the scene's selectionChanged (emitted per item: the diff waits for the paint)."""
        if not self._selection_dirty:
            self._selection_dirty = True
            # a closing scene deselects its items from its C++ destructor: nothing to repaint then
            if shiboken6.isValid(self.scene):  # type: ignore[no-untyped-call]
                self._repaint()

    # -- grouping -------------------------------------------------------------------------------------

    def sync(self) -> None:
        """Regroup the changes reported so far (a paint does it too; a caller that changes many
        items in slices calls this after each slice, so no single paint regroups them all)."""
        self._sync()

    def _sync(self) -> None:
        if NodeItem.palette is not self._palette:
            self._palette = NodeItem.palette
            self._dirty_nodes.update(self._node_key)
            self._dirty_edges.update(self._edge_base)
        if self._selection_dirty:
            self._selection_dirty = False
            now = set(self.scene.selectedItems())
            for item in now ^ self._selected:
                if isinstance(item, NodeItem):
                    self._dirty_nodes.add(item)
                elif isinstance(item, EdgeItem):
                    self._dirty_edges.add(item)
            self._selected = now
        if self._dirty_nodes or self._moved_nodes or self._removed_nodes:
            self._sync_nodes()
        if self._dirty_edges or self._removed_edges:
            self._sync_edges()

    def _sync_nodes(self) -> None:
        """Move changed nodes between colour groups: a few dict operations a node."""
        dirty, self._dirty_nodes = self._dirty_nodes, set()
        moved, self._moved_nodes = self._moved_nodes, set()
        removed, self._removed_nodes = self._removed_nodes, set()
        keys, rects, groups = self._node_key, self._node_rect, self._node_groups
        touched: set[NodeKey] = set()
        for item in removed:
            old = keys.pop(item, None)
            rects.pop(item, None)
            if old is not None:
                groups[old].pop(item, None)
                touched.add(old)
        header = NodeItem.palette.header.rgba()
        selected = self._selected  # current: _sync diffs the selection first (no Qt call per node)
        for item in dirty | moved:
            if item in removed:
                continue
            old = keys.get(item)
            key = node_key(item, header, item in selected)
            if old is None or item in moved:
                rect = rects[item] = item._rect.translated(item.pos())
            elif key == old:
                continue
            else:
                rect = rects[item]
            if old is not None:
                groups[old].pop(item, None)
                touched.add(old)
            keys[item] = key
            groups.setdefault(key, {})[item] = rect
            touched.add(key)
        for key in touched:
            group = groups.get(key)
            if group:
                self._node_lists[key] = list(group.values())
            else:
                groups.pop(key, None)
                self._node_lists.pop(key, None)

    def _sync_edges(self) -> None:
        """Regroup changed edges; only the chunks they left or joined get their path made again."""
        dirty, self._dirty_edges = self._dirty_edges, set()
        removed, self._removed_edges = self._removed_edges, set()
        groups, serials = self._edge_groups, self._edge_serial
        base_of, over_of, selected = self._edge_base, self._edge_over, self._selected
        touched: set[EdgeGroup] = set()
        for edge in removed:
            serials.pop(edge, None)
            for table in (base_of, over_of):
                group = table.pop(edge, None)
                if group is not None:
                    groups[group].pop(edge, None)
                    touched.add(group)
        for edge in dirty - removed:  # a loop of plain dict work: ~1,000 edges a run batch
            serial = serials.get(edge)
            if serial is None:
                serial = serials[edge] = self._next_serial
                self._next_serial += 1
            chunk = serial // CHUNK
            colour, style = edge.style_key
            base = (BASE, colour, style, chunk)
            old = base_of.get(edge)
            if old != base:
                if old is not None:
                    groups[old].pop(edge, None)
                    touched.add(old)
                base_of[edge] = base
                groups.setdefault(base, {})[edge] = None
                touched.add(base)
            overlay = edge_overlay(edge, edge in selected)
            over = None if overlay is None else (*overlay, chunk)
            old = over_of.get(edge)
            if old != over:
                if old is not None:
                    groups[old].pop(edge, None)
                    touched.add(old)
                if over is None:
                    over_of.pop(edge, None)
                else:
                    over_of[edge] = over
                    groups.setdefault(over, {})[edge] = None
                    touched.add(over)
        for group in touched:
            members = groups.get(group)
            if not members:
                groups.pop(group, None)
                self._edge_paths.pop(group, None)
                continue
            path = QtGui.QPainterPath()
            for edge in members:
                path.addPath(edge.curve)
            self._edge_paths[group] = path

    # -- painting -------------------------------------------------------------------------------------

    def paint(self, painter: QtGui.QPainter, *, outline: bool | None = None) -> None:
        """Paint every node and edge in scene coordinates (the painter maps scene to device).

        `outline`: draw node borders; by default only when a box is big enough on screen for one.
        """
        self._repaint_asked = False
        self._repaint_timer.stop()
        self._last_paint = time.monotonic()
        self._sync()
        scale = painter.worldTransform().m11()
        if outline is None:
            outline = scale >= OUTLINE_ZOOM
        painter.save()
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        # every edge in its own colour, then the overlays: dead (the line erased, drawn faded),
        # taken, selected. Only 1-pixel cosmetic pens: Qt strokes those with its fast line drawer
        # (a wider pen goes through the general stroker, ~10x slower); a thicker line is the same
        # path drawn again one pixel lower.
        pixel = 1 / scale if scale > 0 else 1.0
        dashes = scale >= OUTLINE_ZOOM  # below that a dash is smaller than a pixel
        erase = QtGui.QPen(NodeItem.palette.background, 0)
        for group in sorted(self._edge_paths):
            layer, rgba, style, _chunk = group
            path = self._edge_paths[group]
            colour = QtGui.QColor.fromRgba(rgba)
            if layer == DEAD:
                painter.setPen(erase)
                painter.drawPath(path)
                colour.setAlpha(60)
            pen = QtGui.QPen(colour, 0)
            if dashes and layer == BASE:
                pen.setStyle(QtCore.Qt.PenStyle(style))
            painter.setPen(pen)
            painter.drawPath(path)
            if layer in (TAKEN, SELECTED):
                painter.translate(0, pixel)
                painter.drawPath(path)
                painter.translate(0, -pixel)
        border = NodeItem.palette.border
        selected_colour = NodeItem.palette.selected
        for node_group in sorted(self._node_lists, key=lambda k: k[1]):  # selected last, on top
            fill, selected = node_group
            painter.setBrush(QtGui.QColor.fromRgba(fill))
            if selected:
                pen = QtGui.QPen(selected_colour, 2)
                pen.setCosmetic(True)
                painter.setPen(pen)
            elif outline:
                pen = QtGui.QPen(border, 1)
                pen.setCosmetic(True)
                painter.setPen(pen)
            else:
                painter.setPen(QtCore.Qt.PenStyle.NoPen)
            painter.drawRects(self._node_lists[node_group])  # type: ignore[arg-type]  # QRectF overload
        painter.restore()
