"""Overview of the whole component in a corner of the canvas; click or drag in it to move there.

The scene is drawn into a pixmap only when the graph changes (debounced), and the visible-area
frame is painted over it, so panning a 2,000-node canvas does not repaint every node twice. The
pixmap is drawn by the scene's overview (overview.py: a few draw calls for every node and edge),
not by `QGraphicsScene.render`, which would call each item's Python paint() (~0.25 s at 2,000).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

if TYPE_CHECKING:
    from dad_studio.ui.canvas.items import Palette
    from dad_studio.ui.canvas.view import CanvasView

SIZE = QtCore.QSize(200, 130)


class Minimap(QtWidgets.QWidget):
    def __init__(self, view: CanvasView, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(view.viewport())
        self.setObjectName("minimap")
        self.view = view
        view.corner_overlay = self  # fit() keeps the items clear of it
        self.palette_colours: Palette | None = None
        self.setFixedSize(SIZE)
        self._pixmap = QtGui.QPixmap()
        self._source = QtCore.QRectF()
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(300)
        self._timer.timeout.connect(self.refit)
        view.horizontalScrollBar().valueChanged.connect(self.update)
        view.verticalScrollBar().valueChanged.connect(self.update)
        view.zoom_changed.connect(self.update)
        view.viewport().installEventFilter(self)

    def shutdown(self) -> None:
        self._timer.stop()

    def schedule(self) -> None:
        self._timer.start()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        vp = self.view.viewport()
        self.move(vp.width() - self.width() - 10, vp.height() - self.height() - 10)

    def refit(self) -> None:
        """Re-draw the overview pixmap from the scene."""
        scene = self.view.canvas_scene
        rect = scene.itemsBoundingRect().adjusted(-60, -60, 60, 60)
        self._source = rect
        pixmap = QtGui.QPixmap(self.size() * self.devicePixelRatioF())
        pixmap.setDevicePixelRatio(self.devicePixelRatioF())
        pixmap.fill(QtCore.Qt.GlobalColor.transparent)
        if not rect.isEmpty():
            s, offset = self._scale()
            painter = QtGui.QPainter(pixmap)
            painter.translate(offset)
            painter.scale(s, s)
            painter.translate(-rect.topLeft())
            for note in getattr(scene, "comments", {}).values():  # backdrops under the nodes
                fill = note.colour()
                fill.setAlpha(60)
                painter.fillRect(note.sceneBoundingRect(), fill)
            scene.overview.paint(painter, outline=False)
            painter.end()
        self._pixmap = pixmap
        self._place()
        self.update()

    def _scale(self) -> tuple[float, QtCore.QPointF]:
        if self._source.isEmpty():
            return 1.0, QtCore.QPointF()
        s = min(self.width() / self._source.width(), self.height() / self._source.height())
        offset = QtCore.QPointF(
            (self.width() - self._source.width() * s) / 2, (self.height() - self._source.height() * s) / 2
        )
        return s, offset

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        bg = QtGui.QColor(self.palette_colours.background if self.palette_colours else QtGui.QColor("#202020"))
        bg.setAlpha(220)
        painter.fillRect(self.rect(), bg)
        painter.drawPixmap(0, 0, self._pixmap)
        s, offset = self._scale()
        visible = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
        frame = QtCore.QRectF(
            offset + (visible.topLeft() - self._source.topLeft()) * s, visible.size() * s
        ).intersected(QtCore.QRectF(self.rect()))
        painter.setPen(QtGui.QPen(QtGui.QColor("#f0b429"), 1.5))
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        painter.drawRect(frame)
        painter.setPen(QtGui.QColor("#555"))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        painter.end()

    def _centre_at(self, pos: QtCore.QPointF) -> None:
        s, offset = self._scale()
        if s <= 0:
            return
        self.view.centerOn(self._source.topLeft() + (pos - offset) / s)

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        self._centre_at(event.position())

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:
        if event.buttons() & QtCore.Qt.MouseButton.LeftButton:
            self._centre_at(event.position())
