"""The node palette (every registered type, plugins too) and the quick-add popup with fuzzy search."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.model import NodeType, NodeTypeRegistry
from dad_studio.ui.canvas.view import NODE_TYPE_MIME
from dad_studio.ui.resources import icon

TYPE_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1


def fuzzy_score(query: str, text: str) -> int | None:
    """Subsequence match: None if `query`'s letters are not in `text` in order; lower is better."""
    query = query.lower().strip()
    text = text.lower()
    if not query:
        return 0
    if query in text:
        return text.index(query)
    pos = -1
    gaps = 0
    for char in query:
        found = text.find(char, pos + 1)
        if found < 0:
            return None
        gaps += found - pos - 1
        pos = found
    return 100 + gaps


def type_text(node_type: NodeType) -> str:
    return f"{node_type.title} {node_type.id} {node_type.category} {node_type.description}"


class PaletteList(QtWidgets.QListWidget):
    """Dragging an item carries the type id as NODE_TYPE_MIME; the canvas view accepts it."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDragEnabled(True)
        self.setDragDropMode(QtWidgets.QAbstractItemView.DragDropMode.DragOnly)
        self.setIconSize(QtCore.QSize(20, 20))
        self.setWordWrap(True)

    def mimeTypes(self) -> list[str]:
        return [NODE_TYPE_MIME]

    def mimeData(self, items: list[QtWidgets.QListWidgetItem]) -> QtCore.QMimeData:  # type: ignore[override]
        data = QtCore.QMimeData()
        if items:
            type_id = str(items[0].data(TYPE_ROLE))
            data.setData(NODE_TYPE_MIME, QtCore.QByteArray(type_id.encode("utf-8")))
            data.setText(type_id)
        return data


class PalettePanel(QtWidgets.QWidget):
    """Search box + the list of node types, by category."""

    add_requested = QtCore.Signal(str)  # double-click: add at the centre of the canvas

    def __init__(self, registry: NodeTypeRegistry, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("Search node types (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.list = PaletteList()
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        self.search.textChanged.connect(self.refilter)
        self.list.itemDoubleClicked.connect(lambda item: self.add_requested.emit(str(item.data(TYPE_ROLE))))
        self.populate()

    def populate(self) -> None:
        self.list.clear()
        for node_type in sorted(self.registry, key=lambda t: (t.category, t.title)):
            item = QtWidgets.QListWidgetItem(icon(node_type.icon or node_type.id), node_type.title)
            item.setData(TYPE_ROLE, node_type.id)
            item.setToolTip(
                f"<b>{node_type.title}</b> ({node_type.id}, {node_type.category})<br>{node_type.description}"
            )
            item.setStatusTip(node_type.description)
            self.list.addItem(item)

    def refilter(self, text: str) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            node_type = self.registry.get(str(item.data(TYPE_ROLE)))
            hidden = node_type is None or fuzzy_score(text, type_text(node_type)) is None
            item.setHidden(hidden)

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()


class QuickAddPopup(QtWidgets.QFrame):
    """Type to filter (fuzzy), Enter to add the best match where the popup was opened."""

    chosen = QtCore.Signal(str, QtCore.QPointF)

    def __init__(self, registry: NodeTypeRegistry, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent, QtCore.Qt.WindowType.Popup)
        self.setObjectName("quickAdd")
        self.registry = registry
        self.scene_pos = QtCore.QPointF()
        self.edit = QtWidgets.QLineEdit()
        self.edit.setPlaceholderText("Add node…")
        self.list = QtWidgets.QListWidget()
        self.list.setIconSize(QtCore.QSize(16, 16))
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.edit)
        layout.addWidget(self.list)
        self.resize(280, 300)
        self.edit.textChanged.connect(self.refilter)
        self.edit.returnPressed.connect(self.accept_current)
        self.list.itemActivated.connect(lambda _item: self.accept_current())
        self.edit.installEventFilter(self)

    def popup(self, global_pos: QtCore.QPoint, scene_pos: QtCore.QPointF) -> None:
        self.scene_pos = scene_pos
        self.edit.clear()
        self.refilter("")
        self.move(global_pos)
        self.show()
        self.edit.setFocus()

    def refilter(self, text: str) -> None:
        self.list.clear()
        scored = []
        for node_type in self.registry:
            score = fuzzy_score(text, f"{node_type.title} {node_type.id}")
            if score is None:
                score = fuzzy_score(text, type_text(node_type))
                score = None if score is None else score + 1000
            if score is not None:
                scored.append((score, node_type.title, node_type))
        for _score, _title, node_type in sorted(scored, key=lambda s: (s[0], s[1])):
            item = QtWidgets.QListWidgetItem(icon(node_type.icon or node_type.id), node_type.title)
            item.setData(TYPE_ROLE, node_type.id)
            item.setToolTip(node_type.description)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if (
            watched is self.edit
            and isinstance(event, QtGui.QKeyEvent)
            and event.type() == QtCore.QEvent.Type.KeyPress
            and event.key() in (QtCore.Qt.Key.Key_Down, QtCore.Qt.Key.Key_Up)
        ):
            step = 1 if event.key() == QtCore.Qt.Key.Key_Down else -1
            row = max(0, min(self.list.count() - 1, self.list.currentRow() + step))
            self.list.setCurrentRow(row)
            return True
        return False

    def accept_current(self) -> None:
        item = self.list.currentItem()
        self.hide()
        if item is not None:
            self.chosen.emit(str(item.data(TYPE_ROLE)), self.scene_pos)
