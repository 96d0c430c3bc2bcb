"""Zoom steps near in (CanvasView.zoom_by): node pixmap caches are off while the wheel turns and come
back once it stops; crossing overview.FAR_ZOOM switches between the overview and item painting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.editor import FlowDocument
from dad_studio.model import FlowDefinition, default_registry
from dad_studio.ui.canvas.overview import FAR_ZOOM
from dad_studio.ui.canvas.view import ZOOM_SETTLE_MS
from dad_studio.ui.canvas.widget import CanvasWidget

CACHE = QtWidgets.QGraphicsItem.CacheMode


@pytest.fixture
def canvas(qtbot) -> Iterator[CanvasWidget]:  # type: ignore[no-untyped-def]
    f = FlowDefinition(id="row")
    for i in range(40):
        f.node(f"n{i}", type="noop")
        f.layout[f"n{i}"] = (i * 240, 0)
    registry = default_registry()
    widget = CanvasWidget(registry)
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_document(FlowDocument(f, registry=registry))
    yield widget
    widget.shutdown()


def wheel(view: QtWidgets.QGraphicsView, steps: int) -> None:
    """Wheel events as Qt delivers them (one notch = 120)."""
    centre = QtCore.QPointF(view.viewport().rect().center())
    for _ in range(abs(steps)):
        event = QtGui.QWheelEvent(
            centre,
            QtCore.QPointF(view.viewport().mapToGlobal(centre.toPoint())),
            QtCore.QPoint(),
            QtCore.QPoint(0, 120 if steps > 0 else -120),
            QtCore.Qt.MouseButton.NoButton,
            QtCore.Qt.KeyboardModifier.NoModifier,
            QtCore.Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QtWidgets.QApplication.sendEvent(view.viewport(), event)


def modes(canvas: CanvasWidget) -> set[CACHE]:
    return {item.cacheMode() for item in canvas.scene.nodes.values()}


def test_wheel_zoom_drops_node_caches_until_it_stops(qtbot, canvas: CanvasWidget) -> None:  # type: ignore[no-untyped-def]
    view = canvas.view
    assert view.transform().m11() < FAR_ZOOM and canvas.scene.overview.active
    steps = 0
    while view.transform().m11() < FAR_ZOOM:
        wheel(view, 1)
        steps += 1
        assert steps < 40
    assert not canvas.scene.overview.active  # near: nodes paint themselves again
    assert modes(canvas) == {CACHE.NoCache}  # ... without a cache while the wheel turns
    wheel(view, 2)
    assert modes(canvas) == {CACHE.NoCache}
    qtbot.waitUntil(lambda: modes(canvas) == {CACHE.DeviceCoordinateCache}, timeout=ZOOM_SETTLE_MS * 8)
    wheel(view, -steps - 4)  # back out past FAR_ZOOM: the overview paints, caches are off
    assert canvas.scene.overview.active
    assert modes(canvas) == {CACHE.NoCache}


def test_closing_while_zooming_leaves_no_timer_and_restores_caches(canvas: CanvasWidget) -> None:
    view = canvas.view
    view.resetTransform()
    view.zoom_changed.emit()
    wheel(view, 1)
    assert modes(canvas) == {CACHE.NoCache}
    canvas.close()
    assert not [t for t in canvas.findChildren(QtCore.QTimer) if t.isActive()]
    assert modes(canvas) == {CACHE.DeviceCoordinateCache}
