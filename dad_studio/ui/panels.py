"""The variables editor and the validation panel."""

from __future__ import annotations

import json
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.editor import CommandError

ComponentPath = tuple[str, ...]


class VariablesPanel(QtWidgets.QWidget):
    """The current component's variables: name and JSON value; each edit is one undoable command."""

    status_message = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc: Any = None
        self.cpath: ComponentPath = ()
        self.table = QtWidgets.QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["name", "value (JSON)"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        add = QtWidgets.QPushButton("Add")
        remove = QtWidgets.QPushButton("Remove")
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        add.clicked.connect(self.add_variable)
        remove.clicked.connect(self.remove_selected)
        self.table.itemChanged.connect(self._on_item_changed)
        self._loading = False

    def set_document(self, doc: Any) -> None:
        if self.doc is not None:
            self.doc.variables_changed.disconnect(self._on_variables_changed)
            self.doc.structure_changed.disconnect(self._on_variables_changed)
        self.doc = doc
        if doc is not None:
            doc.variables_changed.connect(self._on_variables_changed)
            doc.structure_changed.connect(self._on_variables_changed)
        self.set_path(())

    def set_path(self, cpath: ComponentPath) -> None:
        self.cpath = tuple(cpath)
        self.reload()

    def reload(self) -> None:
        self._loading = True
        self.table.setRowCount(0)
        if self.doc is not None:
            try:
                variables = self.doc.component(self.cpath).variables
            except Exception:
                variables = {}
            for name, value in variables.items():
                row = self.table.rowCount()
                self.table.insertRow(row)
                name_item = QtWidgets.QTableWidgetItem(name)
                name_item.setData(QtCore.Qt.ItemDataRole.UserRole, name)
                self.table.setItem(row, 0, name_item)
                self.table.setItem(row, 1, QtWidgets.QTableWidgetItem(json.dumps(value, ensure_ascii=False)))
        self._loading = False

    def _cell(self, row: int, column: int) -> QtWidgets.QTableWidgetItem:
        """The item of a row `reload` made (every row has both cells)."""
        item = self.table.item(row, column)
        assert item is not None, (row, column)
        return item

    def _on_variables_changed(self, cpath: Any) -> None:
        if tuple(cpath) == self.cpath:
            self.reload()

    def _run(self, action: Any) -> bool:
        try:
            action()
        except CommandError as exc:
            self.status_message.emit(str(exc))
            self.reload()
            return False
        return True

    def add_variable(self) -> None:
        if self.doc is None:
            return
        names = set(self.doc.component(self.cpath).variables)
        name = "variable"
        n = 1
        while name in names:
            n += 1
            name = f"variable_{n}"
        self._run(lambda: self.doc.set_variable(self.cpath, name, ""))

    def remove_selected(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True)
        names = [self._cell(r, 0).data(QtCore.Qt.ItemDataRole.UserRole) for r in rows]
        if not names:
            return
        self.doc.begin_macro("Remove variables")
        try:
            for name in names:
                self._run(lambda n=name: self.doc.remove_variable(self.cpath, n))
        finally:
            self.doc.end_macro()

    def _on_item_changed(self, item: QtWidgets.QTableWidgetItem) -> None:
        if self._loading or self.doc is None:
            return
        row = item.row()
        old_name = self._cell(row, 0).data(QtCore.Qt.ItemDataRole.UserRole)
        new_name = self._cell(row, 0).text().strip()
        try:
            value = json.loads(self._cell(row, 1).text())
        except json.JSONDecodeError:
            value = self._cell(row, 1).text()  # bare text is taken as a string
        if new_name == old_name:
            self._run(lambda: self.doc.set_variable(self.cpath, new_name, value))
            return
        if new_name in self.doc.component(self.cpath).variables:
            self.status_message.emit(f"a variable {new_name!r} exists already")
            self.reload()
            return
        self.doc.begin_macro(f"Rename variable {old_name}")
        try:
            # a refused new name (a built-in, not an id) must not remove the old variable
            if self._run(lambda: self.doc.set_variable(self.cpath, new_name, value)):
                self._run(lambda: self.doc.remove_variable(self.cpath, old_name))
        finally:
            self.doc.end_macro()


def pointer_to_node(pointer: str) -> tuple[tuple[str, ...], str | None]:
    """(component path, node id) that a JSON pointer points into; node None for the component itself."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    if not parts or parts[0] != "root":
        return (), None
    cpath: list[str] = []
    i = 1
    node: str | None = None
    while i + 1 < len(parts) and parts[i] == "nodes":
        node = parts[i + 1]
        if i + 4 < len(parts) and parts[i + 2] == "settings" and parts[i + 3] == "body" and parts[i + 4] == "nodes":
            cpath.append(node)
            i += 4
            node = None
            continue
        break
    return tuple(cpath), node


class ValidationPanel(QtWidgets.QTreeWidget):
    """Every problem of the document: severity, where, message. Activating one selects its node."""

    problem_activated = QtCore.Signal(tuple, str)  # component path, node id

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(3)
        self.setHeaderLabels(["", "where", "problem"])
        self.setRootIsDecorated(False)
        self.setAlternatingRowColors(False)  # the themes set no alternate colour: white rows hid text
        self.header().setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.header().setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.setWordWrap(True)
        self.itemActivated.connect(self._activated)
        self.itemClicked.connect(self._activated)

    def show_problems(self, problems: list[Any]) -> None:
        self.clear()
        style = self.style()
        error_icon = style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MessageBoxCritical)
        warn_icon = style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MessageBoxWarning)
        for problem in problems:
            severity = str(getattr(problem, "severity", "error"))
            pointer = str(getattr(problem, "pointer", ""))
            item = QtWidgets.QTreeWidgetItem(["", pointer or "(file)", str(getattr(problem, "message", problem))])
            item.setIcon(0, error_icon if severity == "error" else warn_icon)
            item.setToolTip(2, item.text(2))
            item.setData(0, QtCore.Qt.ItemDataRole.UserRole, pointer)
            item.setForeground(2, QtGui.QBrush(QtGui.QColor("#ff6b6b" if severity == "error" else "#f0b429")))
            self.addTopLevelItem(item)

    def _activated(self, item: QtWidgets.QTreeWidgetItem, _column: int = 0) -> None:
        cpath, node = pointer_to_node(str(item.data(0, QtCore.Qt.ItemDataRole.UserRole)))
        self.problem_activated.emit(cpath, node or "")
