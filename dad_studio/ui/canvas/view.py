"""The canvas view: zoom, pan, box-select, drag-to-connect, drag-to-move, drops from the palette.

The view emits *requests* (connect, move, open, add); the CanvasWidget turns them into document
commands. Nothing here changes the document, so undo/redo and the view never disagree.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.ui.canvas.backdrop import CommentItem
from dad_studio.ui.canvas.items import NodeItem, Palette, bezier
from dad_studio.ui.canvas.overview import FAR_ZOOM
from dad_studio.ui.canvas.scene import GRID, CanvasScene

NODE_TYPE_MIME = "application/x-dad-node-type"
"""Mime type of a palette drag: the node type id as UTF-8."""
ZOOM_SETTLE_MS = 250
"""After the last wheel step, node pixmap caches come back (see CanvasView.zoom_by)."""


def empty_hint() -> str:
    """What an empty component's canvas says (the studio's first screen for a new flow), with this
    platform's key for Open (Ctrl+O, or ⌘O on macOS)."""
    open_key = QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Open).toString(
        QtGui.QKeySequence.SequenceFormat.NativeText
    )
    return (
        "Drag a node type from the palette to start,\n"
        "or double-click the canvas (or press Tab) to add one by name.\n"
        f"{open_key} opens a flow · F1 lists every shortcut"
    )


class CanvasView(QtWidgets.QGraphicsView):
    connect_requested = QtCore.Signal(str, str, str)  # source id, source port name, target id
    nodes_moved = QtCore.Signal(dict)  # {id: (x, y)}
    comments_moved = QtCore.Signal(dict)  # {comment id: (x, y, width, height)}
    open_requested = QtCore.Signal(str)  # node id with a body
    quick_add_requested = QtCore.Signal(QtCore.QPointF)  # scene position
    type_dropped = QtCore.Signal(str, QtCore.QPointF)  # type id, scene position
    zoom_changed = QtCore.Signal()

    def __init__(self, scene: CanvasScene, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.canvas_scene = scene
        self.palette_colours: Palette | None = None
        self.setRenderHints(QtGui.QPainter.RenderHint.Antialiasing | QtGui.QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QtWidgets.QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlags(
            QtWidgets.QGraphicsView.OptimizationFlag.DontSavePainterState
            | QtWidgets.QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing
        )
        self.setCacheMode(QtWidgets.QGraphicsView.CacheModeFlag.CacheBackground)
        self.setDragMode(QtWidgets.QGraphicsView.DragMode.RubberBandDrag)
        self.setTransformationAnchor(QtWidgets.QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setAcceptDrops(True)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self._connect_from: tuple[NodeItem, str] | None = None
        self._temp_pipe: QtWidgets.QGraphicsPathItem | None = None
        self._pan_from: QtCore.QPointF | None = None
        self._press_positions: dict[str, tuple[float, float]] = {}
        self._press_comments: dict[str, tuple[float, float]] = {}
        self.fit_pending = False
        self._cached: bool | None = None
        self._uncached = False
        """Near, but node caches are off while the wheel turns."""
        self._zooming = False
        self._settle = QtCore.QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(ZOOM_SETTLE_MS)
        self._settle.timeout.connect(self._cache_after_zoom)
        self.zoom_changed.connect(self._update_item_cache)
        self.empty_hint: str | None = empty_hint()
        """Drawn in the middle of the view while the component has no node and no comment; None: never
        (a read-only canvas, where the palette does not apply)."""
        self.corner_overlay: QtWidgets.QWidget | None = None
        """A widget over the view's bottom-right corner (the minimap), which `fit` keeps the items clear of."""

    # -- helpers -----------------------------------------------------------------------------------

    def zoom_by(self, factor: float) -> None:
        """One wheel step. Near, node pixmap caches are dropped until the wheel stops.

        A device-coordinate cache is made for one scale: every zoom step would make a new pixmap
        for each node shown (at 40%, ~200 of them) on top of painting it, ~2x the cost of painting
        directly. Caches pay off for pans, so they come back ZOOM_SETTLE_MS after the last step.
        """
        scale = self.transform().m11() * factor
        if 0.05 <= scale <= 4.0:
            self._zooming = True
            try:
                self.scale(factor, factor)
                self.zoom_changed.emit()
            finally:
                self._zooming = False
            if self._cached:
                self._uncache_while_zooming()

    def _uncache_while_zooming(self) -> None:
        if not self._uncached:
            self._uncached = True
            no_cache = QtWidgets.QGraphicsItem.CacheMode.NoCache
            for item in self.canvas_scene.nodes.values():
                item.setCacheMode(no_cache)
        self._settle.start()

    def _cache_after_zoom(self) -> None:
        self._settle.stop()
        if self._uncached and self._cached:
            cache = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
            for item in self.canvas_scene.nodes.values():
                item.setCacheMode(cache)
        self._uncached = False

    def hideEvent(self, event: QtGui.QHideEvent) -> None:
        if self._settle.isActive():  # no timer left running behind a closed window
            self._cache_after_zoom()
        super().hideEvent(event)

    def fit(self) -> None:
        """Show every item; deferred until the view has its real size (a hidden view is 100x30).

        A small flow is not blown up (past 120% it is shown at 100%, centred). The minimap sits over
        the view's bottom-right corner: when leaving its height free at the bottom costs at most 15% of
        the zoom (a flow wider than tall, the usual case), the items are fitted above it, so none is
        hidden behind it."""
        if not self.isVisible():
            self.fit_pending = True
            return
        self.fit_pending = False
        rect = self.canvas_scene.itemsBoundingRect()
        if rect.isEmpty():
            rect = QtCore.QRectF(-200, -150, 400, 300)
        rect = rect.adjusted(-40, -40, 40, 40)
        viewport = QtCore.QRectF(self.viewport().rect())
        area = viewport
        overlay = self.corner_overlay
        if overlay is not None and overlay.isVisibleTo(self):
            above = QtCore.QRectF(
                viewport.left(), viewport.top(), viewport.width(), viewport.height() - overlay.height() - 20
            )
            if above.height() > 0 and _fit_scale(rect, above) >= 0.85 * _fit_scale(rect, viewport):
                area = above
        scale = _fit_scale(rect, area)
        if scale > 1.2:
            scale = 1.0
        self.resetTransform()
        self.scale(scale, scale)
        # the items' centre goes to the centre of `area`, not of the whole view
        shift = (viewport.center() - area.center()) / scale
        self.centerOn(rect.center() + shift)
        self.zoom_changed.emit()

    def _update_item_cache(self) -> None:
        """Near: nodes paint themselves from a pixmap cache. Far: the scene's overview paints them all.

        `_cached` is None after a rebuild (new items): the policy is then applied to every item.
        """
        cached = self.transform().m11() >= FAR_ZOOM
        if cached == self._cached:
            return
        self._cached = cached
        # set_far gives every node the cache mode of its zoom (none while the wheel turns)
        self._uncached = cached and self._zooming
        self.canvas_scene.set_far(not cached, cache=not self._uncached)

    def drawForeground(self, painter: QtGui.QPainter, rect: QtCore.QRectF | QtCore.QRect) -> None:
        """Far out, every node and edge in a few draw calls (overview.py); near, the items paint."""
        overview = self.canvas_scene.overview
        if overview.active:
            overview.paint(painter)
        scene = self.canvas_scene
        if self.empty_hint and not scene.nodes and not scene.comments:
            self._paint_empty_hint(painter, self.empty_hint)

    def _paint_empty_hint(self, painter: QtGui.QPainter, text: str) -> None:
        """The hint in view coordinates (the same size at any zoom). The scene repaints the whole view
        when it becomes empty or stops being so (CanvasScene.update), so no piece of it is left behind."""
        pal = self.palette_colours
        painter.save()
        painter.resetTransform()
        font = QtGui.QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.15)
        painter.setFont(font)
        colour = QtGui.QColor(pal.text if pal is not None else self.palette().color(QtGui.QPalette.ColorRole.Text))
        colour.setAlphaF(0.55)
        painter.setPen(colour)
        painter.drawText(self.viewport().rect(), int(QtCore.Qt.AlignmentFlag.AlignCenter), text)
        painter.restore()

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.fit_pending and self.isVisible():
            self.fit()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if self.fit_pending:
            self.fit()

    def drawBackground(self, painter: QtGui.QPainter, rect: QtCore.QRectF | QtCore.QRect) -> None:
        pal = self.palette_colours
        if pal is None:
            super().drawBackground(painter, rect)
            return
        painter.fillRect(rect, pal.background)
        if self.transform().m11() < 0.5:
            return
        step = GRID * 5
        left = int(rect.left()) - int(rect.left()) % step
        top = int(rect.top()) - int(rect.top()) % step
        painter.setPen(QtGui.QPen(pal.grid, 1))
        lines = [QtCore.QLineF(x, rect.top(), x, rect.bottom()) for x in range(left, int(rect.right()) + 1, step)]
        lines += [QtCore.QLineF(rect.left(), y, rect.right(), y) for y in range(top, int(rect.bottom()) + 1, step)]
        painter.drawLines(lines)

    # -- mouse -------------------------------------------------------------------------------------

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        scene_pos = self.mapToScene(event.position().toPoint())
        if event.button() == QtCore.Qt.MouseButton.MiddleButton or (
            event.button() == QtCore.Qt.MouseButton.LeftButton
            and event.modifiers() & QtCore.Qt.KeyboardModifier.AltModifier
        ):
            self._pan_from = event.position()
            self.setCursor(QtCore.Qt.CursorShape.ClosedHandCursor)
            return
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            node = self.canvas_scene.node_at(scene_pos)
            port = node.port_at(scene_pos) if node is not None else None
            if node is not None and port is not None:
                self._connect_from = (node, port.name)
                self._temp_pipe = QtWidgets.QGraphicsPathItem()
                pen = QtGui.QPen(QtGui.QColor("#f0b429"), 2, QtCore.Qt.PenStyle.DashLine)
                self._temp_pipe.setPen(pen)
                self._temp_pipe.setZValue(5)
                self.canvas_scene.addItem(self._temp_pipe)
                event.accept()
                return
            self._press_positions = {
                nid: (it.x(), it.y()) for nid, it in self.canvas_scene.nodes.items() if it.isSelected() or it is node
            }
        super().mousePressEvent(event)
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            # selection may have changed on press: remember where every selected node starts
            for item in self.canvas_scene.selectedItems():
                if isinstance(item, NodeItem):
                    self._press_positions.setdefault(item.node_id, (item.x(), item.y()))
                elif isinstance(item, CommentItem):  # comments move with the selection
                    self._press_comments.setdefault(item.comment_id, (item.x(), item.y()))

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        if self._connect_from is not None and self._temp_pipe is not None:
            node, port_name = self._connect_from
            start = node.port_scene_pos(port_name)
            end = self.mapToScene(event.position().toPoint())
            if port_name == "in":
                start, end = end, start
            self._temp_pipe.setPath(bezier(start, end))
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.unsetCursor()
            return
        if self._connect_from is not None:
            source, port_name = self._connect_from
            self._connect_from = None
            if self._temp_pipe is not None:
                self.canvas_scene.removeItem(self._temp_pipe)
                self._temp_pipe = None
            scene_pos = self.mapToScene(event.position().toPoint())
            other = self.canvas_scene.node_at(scene_pos)
            if other is None:
                return
            if port_name == "in":  # dragged backwards from an input: find the output under the cursor
                port = other.port_at(scene_pos)
                out_name = port.name if port is not None and port.direction == "out" else "out"
                self.connect_requested.emit(other.node_id, out_name, source.node_id)
            else:
                self.connect_requested.emit(source.node_id, port_name, other.node_id)
            return
        super().mouseReleaseEvent(event)
        moved: dict[str, tuple[int, int]] = {}
        for node_id, (x, y) in self._press_positions.items():
            item = self.canvas_scene.nodes.get(node_id)
            if item is not None and (item.x(), item.y()) != (x, y):
                moved[node_id] = (round(item.x()), round(item.y()))
        self._press_positions = {}
        moved_comments: dict[str, tuple[int, int, int, int]] = {}
        for comment_id, (x, y) in self._press_comments.items():
            note = self.canvas_scene.comments.get(comment_id)
            if note is not None and (note.x(), note.y()) != (x, y):
                moved_comments[comment_id] = note.rect_tuple()
        self._press_comments = {}
        if moved_comments:
            self.comments_moved.emit(moved_comments)
        if moved:
            self.nodes_moved.emit(moved)

    def mouseDoubleClickEvent(self, event: QtGui.QMouseEvent) -> None:
        scene_pos = self.mapToScene(event.position().toPoint())
        node = self.canvas_scene.node_at(scene_pos)
        note = self.canvas_scene.comment_at(scene_pos) if node is None else None
        if note is not None:  # a comment's text is edited in place
            note.start_editing()
        elif node is None:
            self.quick_add_requested.emit(scene_pos)
        elif node.has_body:
            self.open_requested.emit(node.node_id)
        event.accept()

    def wheelEvent(self, event: QtGui.QWheelEvent) -> None:
        delta = event.angleDelta().y()
        if delta:
            self.zoom_by(1.15 if delta > 0 else 1 / 1.15)
        event.accept()

    # -- keys --------------------------------------------------------------------------------------

    def focusNextPrevChild(self, next: bool) -> bool:
        return False  # Tab opens quick-add here instead of moving focus

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() == QtCore.Qt.Key.Key_Tab:
            pos = self.mapToScene(self.mapFromGlobal(QtGui.QCursor.pos()))
            if not self.viewport().rect().contains(self.mapFromGlobal(QtGui.QCursor.pos())):
                pos = self.mapToScene(self.viewport().rect().center())
            self.quick_add_requested.emit(pos)
            return
        if event.key() in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter):
            for node_id in self.canvas_scene.selected_ids():
                item = self.canvas_scene.nodes[node_id]
                if item.has_body:
                    self.open_requested.emit(node_id)
                    return
        super().keyPressEvent(event)

    # -- drops from the palette ----------------------------------------------------------------------

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(NODE_TYPE_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QtGui.QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(NODE_TYPE_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        data = event.mimeData()
        if not data.hasFormat(NODE_TYPE_MIME):
            super().dropEvent(event)
            return
        type_id = bytes(data.data(NODE_TYPE_MIME).data()).decode("utf-8")
        self.type_dropped.emit(type_id, self.mapToScene(event.position().toPoint()))
        event.acceptProposedAction()


def _fit_scale(rect: QtCore.QRectF, area: QtCore.QRectF) -> float:
    """The scale at which `rect` (scene units) just fits into `area` (view pixels)."""
    return min(area.width() / max(rect.width(), 1.0), area.height() / max(rect.height(), 1.0))
