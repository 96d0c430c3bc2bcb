"""The run log: `log` events of the run plus the studio's own lines (start, failures, end),
in a table model with a minimum-level filter."""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.ui.run.panel_base import RunPanel
from dad_studio.ui.run.session import LogRow

LEVELS = ("debug", "info", "warning", "error")
LEVEL_COLOURS = {"debug": "#8a8f98", "info": "#c8ccd4", "warning": "#f0b429", "error": "#ff5c5c"}


def level_rank(level: str) -> int:
    level = level.lower()
    if level in ("warn",):
        level = "warning"
    if level in ("critical", "fatal"):
        level = "error"
    return LEVELS.index(level) if level in LEVELS else 1


NO_INDEX = QtCore.QModelIndex()
"""The invalid index, as a shared default argument."""


class LogModel(QtCore.QAbstractTableModel):
    HEADERS = ("Time", "Level", "Path", "Message")

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[LogRow] = []

    def rowCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = NO_INDEX) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = NO_INDEX) -> int:
        return 4

    def data(self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role in (QtCore.Qt.ItemDataRole.DisplayRole, QtCore.Qt.ItemDataRole.ToolTipRole):
            return row[index.column()]
        if role == QtCore.Qt.ItemDataRole.ForegroundRole and index.column() == 1:
            return QtGui.QColor(LEVEL_COLOURS.get(row[1], "#c8ccd4"))
        return None

    def headerData(self, section: int, orientation: QtCore.Qt.Orientation, role: int = 0) -> Any:
        if orientation == QtCore.Qt.Orientation.Horizontal and role == QtCore.Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def reset(self, rows: list[LogRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def append(self, rows: list[LogRow]) -> None:
        if rows:
            self.beginInsertRows(QtCore.QModelIndex(), len(self.rows), len(self.rows) + len(rows) - 1)
            self.rows.extend(rows)
            self.endInsertRows()


class LevelFilter(QtCore.QSortFilterProxyModel):
    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.minimum = 0

    def set_minimum(self, rank: int) -> None:
        self.beginFilterChange()  # Qt 6.10+: invalidateRowsFilter() is deprecated
        self.minimum = rank
        self.endFilterChange(QtCore.QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex) -> bool:
        model = self.sourceModel()
        assert isinstance(model, LogModel)
        return level_rank(model.rows[row][1]) >= self.minimum


class LogPanel(RunPanel):
    """Log lines of the selected run; the combo hides lines below a level."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LogModel(self)
        self.proxy = LevelFilter(self)
        self.proxy.setSourceModel(self.model)
        self.level = QtWidgets.QComboBox()
        self.level.addItems([level.capitalize() for level in LEVELS])
        self.level.setCurrentIndex(0)
        self.level.currentIndexChanged.connect(self.proxy.set_minimum)
        self.view = QtWidgets.QTableView()
        self.view.setModel(self.proxy)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(20)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setColumnWidth(0, 95)
        self.view.setColumnWidth(1, 65)
        self.view.setColumnWidth(2, 220)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("Minimum level"))
        top.addWidget(self.level)
        top.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)

    def rebuild(self) -> None:
        rows = list(self.session.log_rows) if self.session is not None else []
        self.model.reset(rows)

    def update_from(self, changed: set[str], events: list[dict[str, Any]]) -> None:
        rows = self.session.log_rows if self.session is not None else []
        if len(rows) > len(self.model.rows):
            self.model.append(rows[len(self.model.rows) :])
            self.view.scrollToBottom()

    def visible_rows(self) -> list[LogRow]:
        return [
            self.model.rows[self.proxy.mapToSource(self.proxy.index(r, 0)).row()] for r in range(self.proxy.rowCount())
        ]
