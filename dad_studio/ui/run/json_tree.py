"""A JSON value as a lazy tree (QTreeView + model), with copy and a full-text detail pane.

Children are built only when a row is expanded, so a 10 MB outcome costs nothing until it is opened.
Values the run store moved to blobs (`{"$blob": sha, "size": n}`) show as a placeholder and are read
from the run folder in a worker thread when expanded (the GUI thread never reads a big file).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.runs import is_blob_ref

__all__ = ["JsonItem", "JsonModel", "JsonTreeWidget", "summary"]

SUMMARY_CHARS = 160
BlobLoader = Callable[[dict[str, Any]], Any]


def summary(value: Any) -> str:
    """One line for a value: scalars as JSON, containers by size, long text elided."""
    if is_blob_ref(value):
        return f"⧉ blob {value['size']:,} bytes — expand to load"
    if isinstance(value, dict):
        return f"{{…}} {len(value)} key{'s' if len(value) != 1 else ''}"
    if isinstance(value, list):
        return f"[…] {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, str):
        text = value.replace("\n", "⏎ ")
        return json.dumps(text[:SUMMARY_CHARS] + ("…" if len(text) > SUMMARY_CHARS else ""), ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, default=str)


def type_name(value: Any) -> str:
    if is_blob_ref(value):
        return "blob"
    if value is None:
        return "null"
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}.get(
        type(value), type(value).__name__
    )


NO_INDEX = QtCore.QModelIndex()
"""The invalid index, as a shared default argument."""


class JsonItem:
    """One row: a key and its value; children are made on first use."""

    __slots__ = ("_children", "key", "loading", "parent", "row", "value")

    def __init__(self, key: str, value: Any, parent: JsonItem | None, row: int) -> None:
        self.key = key
        self.value = value
        self.parent = parent
        self.row = row
        self.loading = False
        self._children: list[JsonItem] | None = None

    def expandable(self) -> bool:
        v = self.value
        return is_blob_ref(v) or (isinstance(v, dict | list) and len(v) > 0)

    def children(self) -> list[JsonItem]:
        if self._children is None:
            v = self.value
            if is_blob_ref(v):
                return []  # not loaded yet
            if isinstance(v, dict):
                self._children = [JsonItem(str(k), val, self, i) for i, (k, val) in enumerate(v.items())]
            elif isinstance(v, list):
                self._children = [JsonItem(f"[{i}]", val, self, i) for i, val in enumerate(v)]
            else:
                self._children = []
        return self._children

    def path(self) -> list[str]:
        keys: list[str] = []
        item: JsonItem | None = self
        while item is not None and item.parent is not None:
            keys.append(item.key)
            item = item.parent
        return list(reversed(keys))


class JsonModel(QtCore.QAbstractItemModel):
    """Columns: key, value (one-line summary), type."""

    HEADERS = ("Key", "Value", "Type")

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.root = JsonItem("", {}, None, 0)
        self.blob_loader: BlobLoader | None = None

    def set_value(self, value: dict[str, Any]) -> None:
        self.beginResetModel()
        self.root = JsonItem("", value, None, 0)
        self.endResetModel()

    def item(self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex) -> JsonItem:
        if index.isValid():
            item = index.internalPointer()
            assert isinstance(item, JsonItem)
            return item
        return self.root

    # -- Qt model --------------------------------------------------------------------------------

    def index(
        self, row: int, column: int, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = NO_INDEX
    ) -> QtCore.QModelIndex:
        children = self.item(parent).children()
        if 0 <= row < len(children) and 0 <= column < 3:
            return self.createIndex(row, column, children[row])
        return QtCore.QModelIndex()

    def parent(self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex = NO_INDEX) -> Any:  # type: ignore[override]
        if not index.isValid():
            return QtCore.QModelIndex()
        parent = self.item(index).parent
        if parent is None or parent is self.root:
            return QtCore.QModelIndex()
        return self.createIndex(parent.row, 0, parent)

    def rowCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = NO_INDEX) -> int:
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self.item(parent).children())

    def columnCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = NO_INDEX) -> int:
        return 3

    def hasChildren(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = NO_INDEX) -> bool:
        if not parent.isValid():
            return bool(self.root.children())
        return parent.column() == 0 and self.item(parent).expandable()

    def data(self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        item = self.item(index)
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            if index.column() == 0:
                return item.key
            if index.column() == 1:
                return "loading…" if item.loading else summary(item.value)
            return type_name(item.value)
        if role == QtCore.Qt.ItemDataRole.ToolTipRole and index.column() == 1 and isinstance(item.value, str):
            return item.value[:2000]
        if role == QtCore.Qt.ItemDataRole.ForegroundRole and index.column() == 2:
            return QtGui.QColor("#8a8f98")
        return None

    def headerData(self, section: int, orientation: QtCore.Qt.Orientation, role: int = 0) -> Any:
        if orientation == QtCore.Qt.Orientation.Horizontal and role == QtCore.Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    # -- blobs -----------------------------------------------------------------------------------

    async def load_blob(self, index: QtCore.QModelIndex) -> None:
        """Replace a blob reference by its value, read in a worker thread."""
        item = self.item(index)
        loader = self.blob_loader
        if not is_blob_ref(item.value) or item.loading or loader is None:
            return
        item.loading = True
        persistent = QtCore.QPersistentModelIndex(index)
        self.dataChanged.emit(index, index.siblingAtColumn(1), [])
        ref = item.value
        try:
            value = await asyncio.get_running_loop().run_in_executor(None, loader, ref)
        except Exception as exc:  # shown in the tree: a missing blob must not break the panel
            value = {"$error": f"cannot load blob: {exc}"}
        item.loading = False
        if not persistent.isValid() or self.item(persistent) is not item:
            return  # the model was reset meanwhile
        where = self.index(persistent.row(), 0, persistent.parent())
        item.value = value
        item._children = None
        count = len(item.children())
        if count:
            self.beginInsertRows(where, 0, count - 1)
            self.endInsertRows()
        self.dataChanged.emit(where, where.siblingAtColumn(2), [])


def blob_loader_for(run_dir: Path) -> BlobLoader:
    """Read `{"$blob": sha}` from `<run_dir>/blobs` (JSON values; raw text if not JSON)."""

    def load(ref: dict[str, Any]) -> Any:
        sha = str(ref.get("$blob"))
        if not sha.isalnum():
            raise ValueError(f"bad blob reference {ref!r}")
        data = (run_dir / "blobs" / sha).read_bytes()
        try:
            return json.loads(data)
        except ValueError:
            return data.decode("utf-8", "replace")

    return load


class JsonTreeWidget(QtWidgets.QWidget):
    """The tree, a detail pane with the full text of the selected value, and Copy buttons."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = JsonModel(self)
        self.view = QtWidgets.QTreeView()
        self.view.setModel(self.model)
        self.view.setUniformRowHeights(True)
        self.view.header().setStretchLastSection(False)
        self.view.header().setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.view.setColumnWidth(0, 120)
        self.view.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.ActionsContextMenu)
        self.detail = QtWidgets.QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setPlaceholderText("Select a value to see it in full")
        self.detail.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
        self.detail.setFont(mono)
        self.copy_value = QtGui.QAction("Copy value", self)
        self.copy_value.triggered.connect(self.copy_selected)
        self.copy_all = QtGui.QAction("Copy all as JSON", self)
        self.copy_all.triggered.connect(self.copy_everything)
        self.view.addAction(self.copy_value)
        self.view.addAction(self.copy_all)
        buttons = QtWidgets.QHBoxLayout()
        for action in (self.copy_value, self.copy_all):
            button = QtWidgets.QToolButton()
            button.setDefaultAction(action)
            buttons.addWidget(button)
        buttons.addStretch(1)
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.addWidget(self.view)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        self.view.expanded.connect(self._on_expanded)
        self._tasks: set[asyncio.Task[None]] = set()

    def set_value(self, value: dict[str, Any], expand: tuple[str, ...] = ()) -> None:
        self.model.set_value(value)
        for row, item in enumerate(self.model.root.children()):
            if item.key in expand and item.expandable() and not is_blob_ref(item.value):
                self.view.expand(self.model.index(row, 0))
        self.detail.clear()

    def selected_value(self) -> Any:
        index = self.view.currentIndex()
        return self.model.item(index).value if index.isValid() else self.model.root.value

    @staticmethod
    def as_text(value: Any) -> str:
        if isinstance(value, str):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, default=str)

    def copy_selected(self) -> None:
        QtWidgets.QApplication.clipboard().setText(self.as_text(self.selected_value()))

    def copy_everything(self) -> None:
        QtWidgets.QApplication.clipboard().setText(self.as_text(self.model.root.value))

    def _on_current(self, current: QtCore.QModelIndex, _previous: QtCore.QModelIndex) -> None:
        if current.isValid():
            self.detail.setPlainText(self.as_text(self.model.item(current).value)[:200_000])

    def _on_expanded(self, index: QtCore.QModelIndex) -> None:
        if is_blob_ref(self.model.item(index).value):
            task = asyncio.ensure_future(self.model.load_blob(index))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def wait_loaded(self) -> None:
        """Wait for blob loads in flight (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))
