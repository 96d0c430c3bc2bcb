"""The far-zoom overview (dad_studio/ui/canvas/overview.py): zoomed out, nodes and edges are painted
in bulk by the view, not one Python paint() per item, and what is shown still follows the items
(run status, selection, moves, removal); clicks and drags still reach the items."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.editor import FlowDocument
from dad_studio.model import FlowDefinition, default_registry
from dad_studio.ui.canvas.items import RUN_COLOURS, EdgeItem, NodeItem
from dad_studio.ui.canvas.overview import FAR_ZOOM
from dad_studio.ui.canvas.widget import CanvasWidget

NO_CONTENTS = QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemHasNoContents


def grid_flow(n: int) -> FlowDefinition:
    """Rows of 10 nodes, each chained to the next."""
    f = FlowDefinition(id="grid")
    for i in range(n):
        f.node(f"n{i}", type="noop")
        f.layout[f"n{i}"] = ((i % 10) * 240, (i // 10) * 140)
    f.edges = []
    for i in range(1, n):
        f.connect(f"n{i - 1}", f"n{i}")
    return f


@pytest.fixture
def canvas(qtbot) -> Iterator[CanvasWidget]:  # type: ignore[no-untyped-def]
    registry = default_registry()
    widget = CanvasWidget(registry)
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_document(FlowDocument(grid_flow(300), registry=registry))
    QtWidgets.QApplication.processEvents()  # the breadcrumb takes its height
    widget.view.fit()
    yield widget
    widget.shutdown()


class PaintCounter:
    """Counts Python paint() calls of NodeItem and EdgeItem while installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        for cls in (NodeItem, EdgeItem):
            original = cls.paint

            def counted(item, painter, option, widget=None, _original=original) -> None:  # type: ignore[no-untyped-def]
                self.calls += 1
                _original(item, painter, option, widget)

            monkeypatch.setattr(cls, "paint", counted)


def render(canvas: CanvasWidget) -> QtGui.QImage:
    return canvas.view.viewport().grab().toImage()


def colour_at(canvas: CanvasWidget, image: QtGui.QImage, scene_pos: QtCore.QPointF) -> QtGui.QColor:
    point = canvas.view.mapFromScene(scene_pos)
    return image.pixelColor(point)


def node_centre(item: NodeItem) -> QtCore.QPointF:
    return item.pos() + item._rect.center()


def zoom_to(canvas: CanvasWidget, scale: float, centre: QtCore.QPointF) -> None:
    view = canvas.view
    view.resetTransform()
    view.scale(scale, scale)
    view.centerOn(centre)
    view.zoom_changed.emit()


def test_fit_of_300_nodes_paints_no_item_and_shows_every_node(
    canvas: CanvasWidget, monkeypatch: pytest.MonkeyPatch
) -> None:
    view, scene = canvas.view, canvas.scene
    assert view.transform().m11() < FAR_ZOOM  # set_document fits the whole grid
    assert scene.overview.active
    assert all(item.flags() & NO_CONTENTS for item in scene.nodes.values())
    assert all(edge.flags() & NO_CONTENTS for edge in scene.edges.values())
    counter = PaintCounter(monkeypatch)
    image = render(canvas)
    assert counter.calls == 0
    header = NodeItem.palette.header
    background = NodeItem.palette.background
    for node_id in ("n0", "n9", "n155", "n290"):  # (the minimap covers the bottom-right corner)
        assert colour_at(canvas, image, node_centre(scene.nodes[node_id])) == header, node_id
    between_rows = scene.nodes["n0"].pos() + QtCore.QPointF(92, 110)  # under n0, above n10
    assert colour_at(canvas, image, between_rows) == background

    # zoomed back in, the items paint themselves again (text, ports), from their caches
    zoom_to(canvas, 1.0, node_centre(scene.nodes["n0"]))
    assert not scene.overview.active
    assert not scene.nodes["n0"].flags() & NO_CONTENTS
    render(canvas)
    assert counter.calls > 0


def test_run_status_selection_and_removal_show_at_fit_zoom(canvas: CanvasWidget) -> None:
    scene = canvas.scene
    render(canvas)  # groups made once; what follows must regroup incrementally
    failed, running = scene.nodes["n42"], scene.nodes["n43"]
    failed.set_run_state("failed", "3 ms")
    running.set_run_state("running", "1 s")
    image = render(canvas)
    assert colour_at(canvas, image, node_centre(failed)) == QtGui.QColor(RUN_COLOURS["failed"])
    assert colour_at(canvas, image, node_centre(running)) == QtGui.QColor(RUN_COLOURS["running"])

    scene.select_ids(["n77"])
    image = render(canvas)
    # the selected box is outlined in the selection colour, 2 px, over its fill
    selected = scene.nodes["n77"]
    corner = canvas.view.mapFromScene(selected.pos() + selected._rect.topLeft())
    window = [image.pixelColor(corner + QtCore.QPoint(dx, dy)) for dx in range(0, 2) for dy in range(0, 2)]
    assert NodeItem.palette.selected in window

    failed.set_run_state(None)
    scene.remove_node("n43")
    image = render(canvas)
    assert colour_at(canvas, image, node_centre(failed)) == NodeItem.palette.header
    assert colour_at(canvas, image, node_centre(running)) != QtGui.QColor(RUN_COLOURS["running"])
    assert "n43" not in scene.nodes


def test_click_selects_and_drag_moves_a_node_and_its_edges_at_fit_zoom(qtbot, canvas: CanvasWidget) -> None:  # type: ignore[no-untyped-def]
    scene, view = canvas.scene, canvas.view
    item = scene.nodes["n55"]
    incoming = next(e for e in item.edges if e.target is item)
    start = view.mapFromScene(node_centre(item))
    viewport = view.viewport()
    left = QtCore.Qt.MouseButton.LeftButton
    qtbot.mousePress(viewport, left, pos=start)
    assert scene.selected_ids() == ["n55"]
    for i in range(1, 5):
        qtbot.mouseMove(viewport, pos=start + QtCore.QPoint(6 * i, 4 * i))
    assert item.pos() != QtCore.QPointF(5 * 240, 5 * 140)
    assert incoming.path().pointAtPercent(1.0) == item.port_scene_pos("in")  # during the drag too
    qtbot.mouseRelease(viewport, left, pos=start + QtCore.QPoint(24, 16))
    x, y = canvas.doc.component(()).layout["n55"]
    assert (x, y) == (round(item.x()), round(item.y())) != (5 * 240, 5 * 140)
    # the edge followed the node, and the overview drew it where the node is now
    assert incoming.path().pointAtPercent(1.0) == item.port_scene_pos("in")
    image = render(canvas)
    assert colour_at(canvas, image, node_centre(item)) == NodeItem.palette.header
    # undo moves it back through the document (scene.move_node): edges follow again
    canvas.doc.undo()
    assert (item.x(), item.y()) == (5 * 240, 5 * 140)
    assert incoming.path().pointAtPercent(1.0) == item.port_scene_pos("in")


def test_minimap_draws_without_item_paints(canvas: CanvasWidget, monkeypatch: pytest.MonkeyPatch) -> None:
    zoom_to(canvas, 1.0, node_centre(canvas.scene.nodes["n0"]))  # items paint themselves here
    counter = PaintCounter(monkeypatch)
    canvas.minimap.refit()
    assert counter.calls == 0
    pixmap = canvas.minimap._pixmap.toImage()
    header = NodeItem.palette.header
    assert any(pixmap.pixelColor(x, y) == header for x in range(pixmap.width()) for y in range(pixmap.height()))


def test_nodes_added_while_zoomed_out_paint_nothing_and_show(canvas: CanvasWidget) -> None:
    doc = canvas.doc
    doc.add_node((), "late", "noop", pos=(10 * 240, 0))
    item = canvas.scene.nodes["late"]
    assert item.flags() & NO_CONTENTS
    image = render(canvas)
    assert colour_at(canvas, image, node_centre(item)) == NodeItem.palette.header


def window_colours(canvas: CanvasWidget, image: QtGui.QImage, scene_pos: QtCore.QPointF) -> set[int]:
    """rgb of the 3x3 pixels around a scene point (a 1-pixel line may fall either side of it)."""
    centre = canvas.view.mapFromScene(scene_pos)
    return {image.pixelColor(centre + QtCore.QPoint(dx, dy)).rgb() for dx in (-1, 0, 1) for dy in (-1, 0, 1)}


def test_taken_dead_and_selected_edges_are_drawn_over_their_line(canvas: CanvasWidget) -> None:
    scene = canvas.scene
    edge = next(e for e in scene.edges.values() if e.edge.source == "n3" and e.edge.target == "n4")
    middle = edge.curve.pointAtPercent(0.5)  # between the two boxes: only the edge is drawn there
    success = NodeItem.palette.success.rgb()
    assert success in window_colours(canvas, render(canvas), middle)
    edge.set_run_state("taken")
    colours = window_colours(canvas, render(canvas), middle)
    assert QtGui.QColor(RUN_COLOURS["running"]).rgb() in colours and success not in colours
    edge.set_run_state("dead")
    colours = window_colours(canvas, render(canvas), middle)
    assert success not in colours and QtGui.QColor(RUN_COLOURS["running"]).rgb() not in colours
    assert colours - {NodeItem.palette.background.rgb()}  # faded, not erased
    edge.set_run_state(None)
    edge.setSelected(True)
    colours = window_colours(canvas, render(canvas), middle)
    assert NodeItem.palette.selected.rgb() in colours


def test_theme_switch_recolours_the_overview(canvas: CanvasWidget) -> None:
    from dad_studio.ui.canvas.items import DARK, LIGHT

    item = canvas.scene.nodes["n12"]
    render(canvas)
    canvas.set_palette(LIGHT)
    try:
        image = render(canvas)
        assert colour_at(canvas, image, node_centre(item)) == LIGHT.header
        assert colour_at(canvas, image, item.pos() + QtCore.QPointF(92, 110)) == LIGHT.background
    finally:
        canvas.set_palette(DARK)


def test_run_pill_is_inside_the_node_bounds() -> None:
    """The pill overhangs the box by 7 units: outside the bounds it was cut off by the item cache."""
    item = NodeItem("a", default_registry().get("noop"), "noop")
    item.set_run_state("completed", "1 ms")
    assert item.boundingRect().bottom() >= item._rect.bottom() + 7
