"""Two runs of one flow side by side: per element status, duration and cost, and the outcome diff.

Rows come from `compare_runs` (aligned by hierarchy path); rows that differ are tinted, and the
unified diff of the selected row's outcomes is shown below with added / removed lines coloured.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.runs.compare import NodeComparison, compare_runs
from dad_studio.ui.canvas.items import RUN_COLOURS
from dad_studio.ui.run.session import format_duration

__all__ = ["CompareView", "diff_html"]

HEADERS = ("Element", "Status A", "Status B", "Duration A", "Duration B", "Cost A", "Cost B", "Outcome")
DIFF_COLOURS = {"+": "#4cc38a", "-": "#ff5c5c", "@": "#8fb4ff"}


def diff_html(diff: str) -> str:
    """A unified diff as HTML with added, removed and hunk lines coloured."""
    if not diff:
        return "<i>The outcomes are equal.</i>"
    lines = []
    for line in diff.splitlines():
        colour = DIFF_COLOURS.get(line[:1]) if not line.startswith(("+++", "---")) else "#9aa0aa"
        text = html.escape(line) or "&nbsp;"
        lines.append(f'<span style="color:{colour}">{text}</span>' if colour else text)
    return "<pre style='margin:0'>" + "\n".join(lines) + "</pre>"


def _cost(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


class CompareView(QtWidgets.QWidget):
    """A window comparing run A with run B."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent, QtCore.Qt.WindowType.Window)
        self.setObjectName("compare_view")
        self.resize(1100, 700)
        self.rows: list[NodeComparison] = []
        self.title = QtWidgets.QLabel("")
        self.title.setObjectName("compare_title")
        self.title.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, len(HEADERS))
        self.table.setObjectName("compare_table")
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.diff = QtWidgets.QTextEdit()
        self.diff.setObjectName("compare_diff")
        self.diff.setReadOnly(True)
        self.diff.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.diff)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(split, 1)
        self.table.currentCellChanged.connect(lambda row, *_: self.show_diff(row))

    def compare(self, run_a: Path, run_b: Path) -> list[NodeComparison]:
        self.rows = compare_runs(Path(run_a), Path(run_b))
        differing = sum(1 for r in self.rows if not r.same)
        self.title.setText(
            f"<b>A</b> {html.escape(Path(run_a).name)} &nbsp; vs &nbsp; <b>B</b> {html.escape(Path(run_b).name)}"
            f" — {len(self.rows)} elements, {differing} differ"
        )
        self.setWindowTitle(f"Compare {Path(run_a).name} / {Path(run_b).name}")
        self.table.setRowCount(len(self.rows))
        tint = QtGui.QColor("#e5894a")
        tint.setAlpha(45)
        for i, row in enumerate(self.rows):
            cells = (
                row.path,
                row.status_a or "—",
                row.status_b or "—",
                format_duration(row.duration_a),
                format_duration(row.duration_b),
                _cost(row.cost_a),
                _cost(row.cost_b),
                "same" if not row.outcome_diff else "differs",
            )
            for column, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                if column in (1, 2):
                    item.setForeground(QtGui.QBrush(QtGui.QColor(RUN_COLOURS.get(text, "#9aa0aa"))))
                if not row.same:
                    item.setBackground(tint)
                self.table.setItem(i, column, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        first = next((i for i, r in enumerate(self.rows) if not r.same), 0 if self.rows else -1)
        if first >= 0:
            self.table.selectRow(first)
            self.show_diff(first)
        else:
            self.diff.setHtml("<i>No elements.</i>")
        return self.rows

    def show_diff(self, row: int) -> None:
        if 0 <= row < len(self.rows):
            self.diff.setHtml(diff_html(self.rows[row].outcome_diff))
