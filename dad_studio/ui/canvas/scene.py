"""The scene of one component: items built from the document's data, never from a session file.

The scene only mirrors; it never edits the document. `CanvasWidget` turns gestures into commands and
feeds the document's signals back here.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6 import QtCore, QtWidgets

from dad_studio.model import Comment, ComponentDefinition, EdgeDefinition, NodeDefinition, NodeTypeRegistry
from dad_studio.ui.canvas.backdrop import CommentItem, RectCallback, TextCallback
from dad_studio.ui.canvas.items import EdgeItem, NodeItem
from dad_studio.ui.canvas.overview import Overview

NO_CONTENTS = QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemHasNoContents

GRID = 20


def edge_key(edge: EdgeDefinition) -> tuple[str, str, str, str | None]:
    return (edge.source, edge.target, edge.on, edge.port)


class CanvasScene(QtWidgets.QGraphicsScene):
    """Items of one component, found by the document's stable node ids."""

    def __init__(self, registry: NodeTypeRegistry, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[tuple[str, str, str, str | None], EdgeItem] = {}
        self.comments: dict[str, CommentItem] = {}
        """The component's comments (backdrops), by comment id."""
        self.on_comment_rect: RectCallback | None = None
        self.on_comment_text: TextCallback | None = None
        """Set by the CanvasWidget: every comment item reports finished resizes and text edits here."""
        self.overview = Overview(self)
        """Paints every node and edge at once when the view is zoomed far out (overview.py)."""
        self.selectionChanged.connect(self.overview.selection_changed)
        self.setSceneRect(-5000, -5000, 10000, 10000)

    # -- building ----------------------------------------------------------------------------------

    def build(self, component: ComponentDefinition) -> None:
        """Replace every item with the component's nodes and edges (batch: no index while adding)."""
        self.clear_items()
        self.setItemIndexMethod(QtWidgets.QGraphicsScene.ItemIndexMethod.NoIndex)
        self.overview.quiet = True  # one repaint at the end, not one per item
        for index, (node_id, node) in enumerate(component.nodes.items()):
            pos = component.layout.get(node_id)
            if pos is None:  # never laid out: a simple grid keeps it visible
                pos = ((index % 10) * 240, (index // 10) * 140)
            self.add_node(node_id, node, pos)
        for edge in component.effective_edges():
            self.add_edge(edge)
        for comment in component.comments:
            self.add_comment(comment)
        self.setItemIndexMethod(QtWidgets.QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.overview.quiet = False
        self.grow_rect()
        self.update()

    def grow_rect(self) -> None:
        """Keep room around the items so that panning past the edge works."""
        bounds = self.itemsBoundingRect().adjusted(-3000, -3000, 3000, 3000)
        self.setSceneRect(bounds.united(QtCore.QRectF(-5000, -5000, 10000, 10000)))

    def clear_items(self) -> None:
        self.clear()
        self.overview.reset()
        self.nodes.clear()
        self.edges.clear()
        self.comments.clear()

    def add_node(self, node_id: str, node: NodeDefinition, pos: tuple[float, float]) -> NodeItem:
        item = NodeItem(node_id, self.registry.get(node.type), node.type, node.description)
        item.setPos(float(pos[0]), float(pos[1]))
        if self.overview.active:
            item.setFlag(NO_CONTENTS)
            item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.NoCache)
        self.addItem(item)
        self.nodes[node_id] = item
        self.overview.node_changed(item, moved=True)
        self._emptiness_may_have_changed()
        return item

    def remove_node(self, node_id: str) -> None:
        item = self.nodes.pop(node_id, None)
        if item is None:
            return
        for edge in list(item.edges):
            self.remove_edge(edge.edge)
        self.removeItem(item)
        self.overview.node_removed(item)
        self._emptiness_may_have_changed()

    def rename_node(self, old: str, new: str) -> None:
        item = self.nodes.pop(old, None)
        if item is None:
            return
        item.node_id = new
        self.nodes[new] = item
        for edge_item in item.edges:
            old_key = edge_key(edge_item.edge)
            self.edges.pop(old_key, None)
            source = new if edge_item.edge.source == old else edge_item.edge.source
            target = new if edge_item.edge.target == old else edge_item.edge.target
            edge_item.edge = edge_item.edge.model_copy(update={"source": source, "target": target})
            self.edges[edge_key(edge_item.edge)] = edge_item
        item.update()

    def add_edge(self, edge: EdgeDefinition) -> EdgeItem | None:
        source = self.nodes.get(edge.source)
        target = self.nodes.get(edge.target)
        if source is None or target is None or edge_key(edge) in self.edges:
            return None
        item = EdgeItem(edge, source, target)
        if self.overview.active:
            item.setFlag(NO_CONTENTS)
        self.addItem(item)
        self.edges[edge_key(edge)] = item
        self.overview.edge_changed(item)
        return item

    def remove_edge(self, edge: EdgeDefinition) -> None:
        item = self.edges.pop(edge_key(edge), None)
        if item is not None:
            item.detach()
            self.removeItem(item)
            self.overview.edge_removed(item)

    def set_far(self, far: bool, *, cache: bool = True) -> None:
        """Zoomed out past overview.FAR_ZOOM (CanvasView): the overview paints, items paint nothing.

        Items keep their geometry, so clicks, box selection and drags work the same; only Qt's
        per-item paint calls (the cost of a far-zoom repaint) go away. Near, nodes cache their
        pixmap (a pan is then a blit) unless `cache` is False; far, the overview is cheaper than
        any cache.
        """
        self.overview.set_active(far)
        modes = QtWidgets.QGraphicsItem.CacheMode
        mode = modes.NoCache if far or not cache else modes.DeviceCoordinateCache
        for item in self.nodes.values():
            item.setFlag(NO_CONTENTS, far)
            item.setCacheMode(mode)
        for edge in self.edges.values():
            edge.setFlag(NO_CONTENTS, far)
        self.update()

    def move_node(self, node_id: str, x: float, y: float) -> None:
        item = self.nodes.get(node_id)
        if item is not None and (item.x(), item.y()) != (x, y):
            item.setPos(x, y)
            item.moved()

    def add_comment(self, comment: Comment) -> CommentItem:
        item = CommentItem(comment)
        item.on_rect, item.on_text = self.on_comment_rect, self.on_comment_text
        self.addItem(item)
        self.comments[comment.id] = item
        self._emptiness_may_have_changed()
        return item

    def update_comment(self, comment: Comment) -> None:
        item = self.comments.get(comment.id)
        if item is not None:
            item.set_comment(comment)

    def remove_comment(self, comment_id: str) -> None:
        item = self.comments.pop(comment_id, None)
        if item is not None:
            item.finish_editing(commit=False)
            self.removeItem(item)
            self._emptiness_may_have_changed()

    def _emptiness_may_have_changed(self) -> None:
        """The first item in or the last one out: repaint every view whole, for the empty canvas's hint
        (CanvasView.drawForeground), which the repaint of the item's own area would leave half drawn."""
        if len(self.nodes) + len(self.comments) <= 1:
            self.update()

    # -- reading -----------------------------------------------------------------------------------

    def selected_ids(self) -> list[str]:
        return [item.node_id for item in self.selectedItems() if isinstance(item, NodeItem)]

    def selected_comment_ids(self) -> list[str]:
        return [item.comment_id for item in self.selectedItems() if isinstance(item, CommentItem)]

    def comment_at(self, scene_pos: QtCore.QPointF) -> CommentItem | None:
        for item in self.items(scene_pos):
            if isinstance(item, CommentItem):
                return item
        return None

    def selected_edges(self) -> list[EdgeDefinition]:
        return [item.edge for item in self.selectedItems() if isinstance(item, EdgeItem)]

    def select_ids(self, ids: Iterable[str], comments: Iterable[str] = ()) -> None:
        wanted = set(ids)
        self.clearSelection()
        for node_id in wanted:
            item = self.nodes.get(node_id)
            if item is not None:
                item.setSelected(True)
        for comment_id in comments:
            note = self.comments.get(comment_id)
            if note is not None:
                note.setSelected(True)

    def node_at(self, scene_pos: QtCore.QPointF) -> NodeItem | None:
        for item in self.items(
            scene_pos.x() - 10,
            scene_pos.y() - 10,
            20,
            20,
            QtCore.Qt.ItemSelectionMode.IntersectsItemBoundingRect,
            QtCore.Qt.SortOrder.DescendingOrder,
        ):
            if isinstance(item, NodeItem) and item.boundingRect().contains(item.mapFromScene(scene_pos)):
                return item
        return None

    def set_problems(self, by_node: dict[str, list[tuple[str, str]]]) -> None:
        """`by_node`: node id -> [(severity, message)]; nodes not named lose their badge."""
        for node_id, item in self.nodes.items():
            problems = by_node.get(node_id, [])
            if not problems:
                if item.problem_severity is not None:
                    item.set_problems(None, "")
                continue
            severity = "error" if any(sev == "error" for sev, _ in problems) else "warning"
            item.set_problems(severity, "\n".join(message for _, message in problems))
