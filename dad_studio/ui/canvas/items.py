"""Light canvas items: one QGraphicsItem per node (ports are painted, not child items) and one per edge.

Why not NodeGraphQt's NodeItem: it builds ~10 child items, tooltips and a property model per node and
re-lays the node out on every port added; at 2,000 nodes that is seconds and hundreds of MB
(QT_NOTES.md, bench/canvas_bench.py). These items paint themselves, cache nothing per item, and drop
text when zoomed far out (level of detail), so opening and panning a big flow stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.model import EdgeDefinition, NodeType, Port

NODE_WIDTH = 184.0
HEADER_HEIGHT = 34.0
ROW_HEIGHT = 18.0
PORT_RADIUS = 6.0
PORT_HIT_RADIUS = 11.0
BADGE_SIZE = 16.0

NODE_ITEM_TYPE = QtWidgets.QGraphicsItem.UserType + 1
EDGE_ITEM_TYPE = QtWidgets.QGraphicsItem.UserType + 2
_FLAG = QtWidgets.QGraphicsItem.GraphicsItemFlag
NODE_FLAGS = _FLAG.ItemIsSelectable | _FLAG.ItemIsMovable
"""Made once: combining PySide6 enum flags costs Python enum calls, per node at 5,000 nodes."""
DEVICE_CACHE = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache


@dataclass
class Palette:
    """Colours of the canvas, switched with the theme."""

    background: QtGui.QColor
    grid: QtGui.QColor
    node: QtGui.QColor
    header: QtGui.QColor
    border: QtGui.QColor
    selected: QtGui.QColor
    text: QtGui.QColor
    muted: QtGui.QColor
    success: QtGui.QColor
    error: QtGui.QColor
    always: QtGui.QColor
    true: QtGui.QColor
    false: QtGui.QColor
    warning: QtGui.QColor


DARK = Palette(
    *(
        QtGui.QColor(c)
        for c in (
            "#1e1f22",
            "#2a2c30",
            "#2f3238",
            "#3d4350",
            "#4a505c",
            "#f0b429",
            "#e6e6e6",
            "#9aa0aa",
            "#8fb4ff",
            "#ff5c5c",
            "#8a8f98",
            "#4cc38a",
            "#e5894a",
            "#f0b429",
        )
    )
)
LIGHT = Palette(
    *(
        QtGui.QColor(c)
        for c in (
            "#f4f5f7",
            "#e3e5ea",
            "#ffffff",
            "#dde3ee",
            "#a9b1bf",
            "#d48806",
            "#1d2330",
            "#5c6370",
            "#2d6cdf",
            "#d62d2d",
            "#8a8f98",
            "#1f9d5c",
            "#c05f14",
            "#c27c00",
        )
    )
)

PORT_COLOURS = {"input": "muted", "success": "success", "error": "error", "true": "true", "false": "false"}

RUN_COLOURS = {
    "pending": "#7a808a",
    "running": "#4c9aff",
    "waiting_input": "#f0b429",
    "completed": "#4cc38a",
    "failed": "#ff5c5c",
    "skipped": "#6b7079",
    "cancelled": "#b07cff",
}
"""Colour of each run status (issue 8): the node border, its status pill and the runs panels."""
RUN_LABELS = {"waiting_input": "waiting for input"}
TAIL_HEIGHT = 34.0
MID_LOD = 0.5
"""Below this zoom (and above overview.FAR_ZOOM) a node is drawn simplified: square corners, no
type caption, square ports. The first frame after a zoom step there paints ~200 nodes."""


_PORTS: dict[int, tuple[NodeType | None, list[Port], list[Port]]] = {}


def _split_ports(node_type: NodeType | None) -> tuple[list[Port], list[Port]]:
    """(inputs, outputs) of a type, computed once per type (the lists are shared, never mutated)."""
    cached = _PORTS.get(id(node_type))
    if cached is not None and cached[0] is node_type:
        return cached[1], cached[2]
    ports: tuple[Port, ...] = node_type.ports if node_type is not None else ()
    if node_type is None:  # unknown (plugin missing): still editable, still connectable
        from dad_studio.model.node_types import STANDARD_PORTS

        ports = STANDARD_PORTS
    inputs = [p for p in ports if p.direction == "in"]
    outputs = [p for p in ports if p.direction == "out"]
    _PORTS[id(node_type)] = (node_type, inputs, outputs)
    return inputs, outputs


class NodeItem(QtWidgets.QGraphicsRectItem):
    """A node of the document. `node_id` is the document's stable id (never NodeGraphQt's).

    A QGraphicsRectItem only so that `boundingRect()` is Qt's own (the rect, no pen): Qt asks for it
    ~10 times per node while building and indexing, and a Python override costs a call each time.
    Moves are reported by whoever moves a node (`moved()`): an `itemChange` override would be called
    from C++ for every flag, z, scene and position change (~12 per node while building).
    """

    palette: Palette = DARK

    def __init__(self, node_id: str, node_type: NodeType | None, type_id: str, description: str = "") -> None:
        super().__init__()
        self.node_id = node_id
        self.type_id = type_id
        self.node_type = node_type
        self.description = description
        self.inputs, self.outputs = _split_ports(node_type)
        self.has_body = bool(node_type and node_type.has_body)
        self.problem_severity: str | None = None
        self.problem_text = ""
        self.edges: list[EdgeItem] = []
        self.run_status: str | None = None
        """Status in the run shown on the canvas (dad_studio.ui.run); None when no run is shown."""
        self.run_text = ""
        self.run_tail = ""
        self.run_phase = 0
        rows = max(len(self.outputs), len(self.inputs), 1)
        self._rect = QtCore.QRectF(0, 0, NODE_WIDTH, HEADER_HEIGHT + rows * ROW_HEIGHT + 8)
        self.setPen(QtCore.Qt.PenStyle.NoPen)  # the bounding rect is exactly setRect's
        self._set_bounds()
        self.setFlags(NODE_FLAGS)
        self.setZValue(1)
        self.setAcceptHoverEvents(False)
        # painting text and rounded shapes in software costs ~1.5 ms a node per frame here; a
        # device-coordinate pixmap is made only for nodes actually shown, and makes panning a blit
        self.setCacheMode(DEVICE_CACHE)

    def type(self) -> int:
        return NODE_ITEM_TYPE

    def _set_bounds(self) -> None:
        """The painted area: ports stick out at the sides, the badge above, the run pill and tail below."""
        below = TAIL_HEIGHT + 4 if self.run_tail else 8  # 8: the run pill overhangs (any status)
        self.setRect(self._rect.adjusted(-PORT_RADIUS - 1, -BADGE_SIZE / 2, PORT_RADIUS + 1, below))

    def shape(self) -> QtGui.QPainterPath:
        path = QtGui.QPainterPath()
        path.addRect(self._rect)
        return path

    # -- ports -------------------------------------------------------------------------------------

    def port_pos(self, port_name: str) -> QtCore.QPointF:
        """Centre of a port in item coordinates."""
        for i, port in enumerate(self.inputs):
            if port.name == port_name:
                return QtCore.QPointF(0, HEADER_HEIGHT + ROW_HEIGHT * (i + 0.5) + 4)
        for i, port in enumerate(self.outputs):
            if port.name == port_name:
                return QtCore.QPointF(NODE_WIDTH, HEADER_HEIGHT + ROW_HEIGHT * (i + 0.5) + 4)
        return QtCore.QPointF(NODE_WIDTH, HEADER_HEIGHT / 2)

    def port_scene_pos(self, port_name: str) -> QtCore.QPointF:
        return self.pos() + self.port_pos(port_name)  # nodes are never rotated, scaled or parented

    def port_at(self, scene_pos: QtCore.QPointF) -> Port | None:
        local = self.mapFromScene(scene_pos)
        for port in (*self.inputs, *self.outputs):
            delta = local - self.port_pos(port.name)
            if delta.x() ** 2 + delta.y() ** 2 <= PORT_HIT_RADIUS**2:
                return port
        return None

    def set_run_state(self, status: str | None, text: str = "", tail: str = "", *, repaint: bool = True) -> None:
        """Show a run status (pill + border), its duration text and a tail of streamed output.

        `repaint=False` when the change cannot be seen at the current zoom (far out, pending and no
        status are the same plain box): the next zoom repaints anyway.
        """
        if (status, text, tail) == (self.run_status, self.run_text, self.run_tail):
            return
        grows = bool(tail) != bool(self.run_tail)
        recolour = status != self.run_status
        self.run_status, self.run_text, self.run_tail = status, text, tail
        if grows:
            self._set_bounds()
        overview = getattr(self.scene(), "overview", None)
        far = overview is not None and overview.active
        # far out the item paints nothing (the overview does): an update() would only make Qt's
        # dirty-item pass compute its bounds (~5 ms per 300 nodes of a run batch) for nothing
        if repaint and not far:
            self.update()
        if recolour and overview is not None:  # far out a node is its status colour: no text, no tail
            overview.node_changed(self, repaint=repaint)

    def advance_run_phase(self) -> None:
        """One animation step of a running / waiting node (marching border)."""
        self.run_phase = (self.run_phase + 1) % 8
        self.update()

    def set_problems(self, severity: str | None, text: str) -> None:
        self.problem_severity = severity
        self.problem_text = text
        self.setToolTip(text)
        self.update()

    # -- Qt hooks ----------------------------------------------------------------------------------

    def moved(self) -> None:
        """After a change of position: edges follow, the far-zoom overview regroups."""
        for edge in self.edges:
            edge.update_path()
        overview = getattr(self.scene(), "overview", None)
        if overview is not None:
            overview.node_changed(self, moved=True)

    def mouseMoveEvent(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> None:
        """Qt drags every selected movable item with the one under the mouse: all of them moved."""
        scene = self.scene()
        before = {item: item.pos() for item in scene.selectedItems() if isinstance(item, NodeItem)}
        before.setdefault(self, self.pos())
        super().mouseMoveEvent(event)
        for item, pos in before.items():
            if item.pos() != pos:
                item.moved()

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionGraphicsItem,
        widget: QtWidgets.QWidget | None = None,
    ) -> None:
        pal = self.palette
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        selected = self.isSelected()
        border = QtGui.QPen(pal.selected if selected else pal.border, 2.0 if selected else 1.0)
        if lod < 0.35:  # far away: a plain box is all that can be seen (coloured by run status)
            painter.setPen(border)
            painter.setBrush(QtGui.QColor(RUN_COLOURS[self.run_status]) if self.run_status else pal.header)
            painter.drawRect(self._rect)
            return
        mid = lod < MID_LOD
        header = QtCore.QRectF(0, 0, NODE_WIDTH, HEADER_HEIGHT)
        painter.setPen(border)
        painter.setBrush(pal.node)
        if mid:  # corners of 2-3 px: square ones cost a fraction of an antialiased rounded path
            painter.drawRect(self._rect)
        else:
            painter.drawRoundedRect(self._rect, 6, 6)
        painter.setPen(QtCore.Qt.PenStyle.NoPen)
        painter.setBrush(pal.header)
        if mid:
            painter.drawRect(header.adjusted(1, 1, -1, 0))
        else:
            painter.drawRoundedRect(header.adjusted(1, 1, -1, 0), 5, 5)
        painter.setPen(pal.text)
        font = painter.font()
        font.setPointSizeF(9.0)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(header.adjusted(8, 2, -22, -14), QtCore.Qt.AlignmentFlag.AlignVCenter, self.node_id)
        font.setBold(False)
        font.setPointSizeF(7.5)
        painter.setFont(font)
        if mid:  # the id stays readable; the type caption (3 px high) and port circles do not
            painter.setPen(QtCore.Qt.PenStyle.NoPen)
            for port in (*self.inputs, *self.outputs):
                pos = self.port_pos(port.name)
                painter.setBrush(getattr(pal, PORT_COLOURS[port.meaning]))
                painter.drawRect(QtCore.QRectF(pos.x() - PORT_RADIUS, pos.y() - PORT_RADIUS, 12, 12))
            self._paint_marks(painter, font)
            return
        painter.setPen(pal.muted)
        caption = self.node_type.title if self.node_type else f"{self.type_id} (unknown type)"
        if self.has_body:
            caption += "  ▸ body"
        painter.drawText(header.adjusted(8, 17, -8, -2), QtCore.Qt.AlignmentFlag.AlignVCenter, caption)
        # ports
        for port in (*self.inputs, *self.outputs):
            pos = self.port_pos(port.name)
            colour = getattr(pal, PORT_COLOURS[port.meaning])
            painter.setPen(QtGui.QPen(pal.border, 1))
            painter.setBrush(colour)
            painter.drawEllipse(pos, PORT_RADIUS, PORT_RADIUS)
            if lod > 0.6 and port.direction == "out":
                painter.setPen(pal.muted)
                label = QtCore.QRectF(pos.x() - 80, pos.y() - 8, 70, 16)
                painter.drawText(
                    label, QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter, port.name
                )
        if lod > 0.6 and self.inputs:
            painter.setPen(pal.muted)
            pos = self.port_pos(self.inputs[0].name)
            painter.drawText(QtCore.QRectF(10, pos.y() - 8, 60, 16), QtCore.Qt.AlignmentFlag.AlignVCenter, "in")
        self._paint_marks(painter, font)

    def _paint_marks(self, painter: QtGui.QPainter, font: QtGui.QFont) -> None:
        """Run status and the problem badge, at every zoom where the node paints itself."""
        pal = self.palette
        if self.run_status is not None:
            self._paint_run(painter, font)
        if self.problem_severity:
            colour = pal.error if self.problem_severity == "error" else pal.warning
            badge = QtCore.QRectF(NODE_WIDTH - BADGE_SIZE - 4, -BADGE_SIZE / 2, BADGE_SIZE, BADGE_SIZE)
            painter.setPen(QtGui.QPen(pal.background, 1.5))
            painter.setBrush(colour)
            painter.drawEllipse(badge)
            painter.setPen(QtGui.QColor("white"))
            font.setBold(True)
            painter.setFont(font)
            painter.drawText(badge, QtCore.Qt.AlignmentFlag.AlignCenter, "!")

    def _paint_run(self, painter: QtGui.QPainter, font: QtGui.QFont) -> None:
        status = self.run_status or "pending"
        colour = QtGui.QColor(RUN_COLOURS.get(status, "#7a808a"))
        if status in ("skipped", "pending"):
            veil = QtGui.QColor(self.palette.background)
            veil.setAlpha(110 if status == "skipped" else 60)
            painter.setPen(QtCore.Qt.PenStyle.NoPen)
            painter.setBrush(veil)
            painter.drawRoundedRect(self._rect, 6, 6)
        pen = QtGui.QPen(colour, 1.5 if status == "pending" else 2.5)
        if status in ("running", "waiting_input"):
            pen.setStyle(QtCore.Qt.PenStyle.DashLine)
            pen.setDashOffset(-self.run_phase)
        elif status == "pending":
            pen.setStyle(QtCore.Qt.PenStyle.DotLine)
        painter.setPen(pen)
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(self._rect.adjusted(-1.5, -1.5, 1.5, 1.5), 7, 7)
        label = RUN_LABELS.get(status, status)
        if self.run_text:
            label = f"{label} · {self.run_text}"
        font.setBold(True)
        font.setPointSizeF(7.0)
        painter.setFont(font)
        width = min(painter.fontMetrics().horizontalAdvance(label) + 14, NODE_WIDTH - 8)
        pill = QtCore.QRectF(NODE_WIDTH - width - 4, self._rect.bottom() - 8, width, 15)
        painter.setPen(QtCore.Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(pill, 7, 7)
        painter.setPen(QtGui.QColor("#111318"))
        painter.drawText(pill, QtCore.Qt.AlignmentFlag.AlignCenter, label)
        if self.run_tail:
            box = QtCore.QRectF(0, self._rect.bottom() + 10, NODE_WIDTH, TAIL_HEIGHT - 6)
            back = QtGui.QColor(self.palette.node)
            back.setAlpha(230)
            painter.setPen(QtGui.QPen(colour, 1))
            painter.setBrush(back)
            painter.drawRoundedRect(box, 4, 4)
            font.setBold(False)
            font.setPointSizeF(7.0)
            painter.setFont(font)
            painter.setPen(self.palette.text)
            painter.drawText(
                box.adjusted(5, 2, -5, -2),
                int(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignBottom)
                | int(QtCore.Qt.TextFlag.TextWordWrap),
                self.run_tail,
            )


_EDGE_PENS: dict[tuple[int, str | None, str], tuple[QtGui.QPen, tuple[int, int], Palette]] = {}
"""Pen and overview style of each kind of edge per palette: made once, not per edge (enum calls)."""
_STROKER = QtGui.QPainterPathStroker()
_STROKER.setWidth(10)


class EdgeItem(QtWidgets.QGraphicsPathItem):
    """An edge; its pen tells the condition (success solid, error red dashed, always grey dotted)."""

    palette: Palette = DARK

    def __init__(self, edge: EdgeDefinition, source: NodeItem, target: NodeItem) -> None:
        super().__init__()
        self.edge = edge
        self.source = source
        self.target = target
        source.edges.append(self)
        target.edges.append(self)
        self.run_state: str | None = None
        """`taken`, `dead` or `pending` in the run shown on the canvas (dad_studio.ui.run)."""
        self._shape: QtGui.QPainterPath | None = None
        self.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(0)
        self.apply_style()
        self.update_path()

    def type(self) -> int:
        return EDGE_ITEM_TYPE

    @property
    def source_port(self) -> str:
        if self.edge.port is not None:
            return self.edge.port
        return "error" if self.edge.on == "error" else "out"

    def apply_style(self) -> None:
        pal = self.palette
        kind = (id(pal), self.edge.port, self.edge.on)
        cached = _EDGE_PENS.get(kind)
        if cached is not None and cached[2] is pal:
            self.setPen(cached[0])
            self.style_key = cached[1]
            self._report()
            return
        if self.edge.port == "true":
            pen = QtGui.QPen(pal.true, 2)
        elif self.edge.port == "false":
            pen = QtGui.QPen(pal.false, 2)
        elif self.edge.on == "error":
            pen = QtGui.QPen(pal.error, 2, QtCore.Qt.PenStyle.DashLine)
        elif self.edge.on == "always":
            pen = QtGui.QPen(pal.always, 2, QtCore.Qt.PenStyle.DotLine)
        else:
            pen = QtGui.QPen(pal.success, 2)
        if self.edge.port is not None and self.edge.on == "error":
            pen.setStyle(QtCore.Qt.PenStyle.DashLine)
        pen.setCosmetic(False)
        self.setPen(pen)
        self.style_key = (pen.color().rgba(), int(pen.style().value))
        """(colour, pen style) as ints: the far-zoom overview groups edges by it."""
        _EDGE_PENS[kind] = (pen, self.style_key, pal)
        self._report()

    def set_run_state(self, state: str | None) -> None:
        if state != self.run_state:
            self.run_state = state
            overview = getattr(self.scene(), "overview", None)
            if overview is None or not overview.active:  # far out the overview paints the edge
                self.update()
            self._report()

    def _report(self) -> None:
        """Tell the scene's far-zoom overview (overview.py) that this edge looks different now."""
        overview = getattr(self.scene(), "overview", None)
        if overview is not None:
            overview.edge_changed(self)

    def detach(self) -> None:
        for node in (self.source, self.target):
            if self in node.edges:
                node.edges.remove(self)

    def update_path(self) -> None:
        start = self.source.port_scene_pos(self.source_port)
        end = self.target.port_scene_pos("in")
        self._shape = None
        self.curve = bezier(start, end)
        """The path as set (`path()` returns a new copy each call; the overview reads this one)."""
        self.setPath(self.curve)
        self._report()

    def shape(self) -> QtGui.QPainterPath:
        """A 10-unit band around the curve, easy to click; made once per path.

        Qt asks for it for the bounding rect too (QGraphicsPathItem with a wide pen), once per path.
        """
        if self._shape is None:
            self._shape = _STROKER.createStroke(self.path())
        return self._shape

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionGraphicsItem,
        widget: QtWidgets.QWidget | None = None,
    ) -> None:
        pen = QtGui.QPen(self.pen())
        if self.isSelected():
            pen.setColor(self.palette.selected)
            pen.setWidthF(3)
        if self.run_state == "taken":  # a glow under the edge the run went through
            glow = QtGui.QPen(pen)
            glow.setStyle(QtCore.Qt.PenStyle.SolidLine)
            glow_colour = QtGui.QColor(RUN_COLOURS["running"])
            glow_colour.setAlpha(110)
            glow.setColor(glow_colour)
            glow.setWidthF(8)
            painter.setPen(glow)
            painter.drawPath(self.path())
            pen.setWidthF(3)
        elif self.run_state == "dead":
            faded = QtGui.QColor(pen.color())
            faded.setAlpha(60)
            pen.setColor(faded)
        painter.setPen(pen)
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())
        if self.edge.port is not None and option.levelOfDetailFromTransform(painter.worldTransform()) > 0.5:
            mid = self.path().pointAtPercent(0.5)
            painter.setPen(pen.color())
            painter.drawText(
                QtCore.QRectF(mid.x() - 20, mid.y() - 16, 40, 14), QtCore.Qt.AlignmentFlag.AlignCenter, self.edge.port
            )


def bezier(start: QtCore.QPointF, end: QtCore.QPointF) -> QtGui.QPainterPath:
    path = QtGui.QPainterPath(start)
    dx = max(abs(end.x() - start.x()) * 0.5, 40.0)
    path.cubicTo(start + QtCore.QPointF(dx, 0), end - QtCore.QPointF(dx, 0), end)
    return path
