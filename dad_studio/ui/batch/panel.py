"""The Batches dock: the batches of a run root, the rows of the selected one, a batch's progress.

The files are the truth (a batch may be running in a CLI process, or on Ray, writing into the same
run root), so the panel re-reads them: when the watcher sees the batches folder, the selected
batch's folder or its rows.jsonl change, and every REFRESH_MS anyway. A re-read is skipped when
batch.json and rows.jsonl have the same size and mtime as last time, so an idle dock costs two
`stat` calls per tick. Reading is on the GUI thread: `list_batches` reads one small JSON file per
batch; `batch_table` plus the model update of a 1,000-row batch take ~40-100 ms on this (loaded,
2-core) machine, ~1 s for 10,000 rows, so refreshes are throttled by their own cost (THROTTLE) and
an in-place update keeps the selection.

The panel only shows and asks; starting and stopping a batch is the controller's job (the
`run_requested` / `stop_requested` signals), and opening a row's run is the history's
(`open_requested` carries the run folder).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtWidgets

from dad_studio.batch import batch_table, list_batches
from dad_studio.ui.batch.models import (
    BATCH_LIST_COLUMNS,
    FILTERS,
    BatchListModel,
    BatchRowsModel,
    RowFilterProxy,
    SortingProxy,
    summary_line,
)

__all__ = ["REFRESH_MS", "BatchPanel"]

REFRESH_MS = 2000
DEBOUNCE_MS = 150
THROTTLE = 5
"""A refresh waits at least THROTTLE times what the last one cost: a running 10,000-row batch
(~1 s to re-read on a loaded 2-core machine) takes at most a fifth of the GUI thread."""
BATCHES_DIR = "batches"


def _signature(batch_dir: Path) -> tuple[tuple[int, int], ...]:
    """(size, mtime) of batch.json and rows.jsonl: unchanged means nothing to re-read."""
    out = []
    for name in ("batch.json", "rows.jsonl"):
        try:
            st = (batch_dir / name).stat()
            out.append((st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((-1, -1))
    return tuple(out)


class BatchPanel(QtWidgets.QWidget):
    open_requested = QtCore.Signal(str)
    """The run folder of a row, to open in the run viewer."""
    run_requested = QtCore.Signal()
    stop_requested = QtCore.Signal()
    status_message = QtCore.Signal(str)
    refreshed = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("batch_panel")
        self.run_root: Path | None = None
        self.batch_id: str | None = None
        """The batch whose rows are shown."""
        self._rows_signature: tuple[tuple[int, int], ...] | None = None
        self.last_read_ms = 0.0
        """What the last re-read of the rows cost (batch_table + model), for the throttle."""

        self.batches = BatchListModel(self)
        self.batches_proxy = SortingProxy(self)
        self.batches_proxy.setSourceModel(self.batches)
        self.rows = BatchRowsModel(self)
        self.rows_proxy = RowFilterProxy(self)
        self.rows_proxy.setSourceModel(self.rows)

        self.run_button = QtWidgets.QPushButton("Run batch…")
        self.run_button.setObjectName("batch_run")
        self.run_button.setToolTip("Run the open flow (saved) once per row of a rows file (.jsonl)")
        self.concurrency = QtWidgets.QSpinBox()
        self.concurrency.setObjectName("batch_concurrency")
        self.concurrency.setRange(1, 256)
        self.concurrency.setValue(8)
        self.concurrency.setPrefix("concurrency ")
        self.concurrency.setToolTip("Rows in flight at once")
        self.stop_button = QtWidgets.QPushButton("Stop")
        self.stop_button.setObjectName("batch_stop")
        self.stop_button.setToolTip("Stop the batch; finished rows are kept and a new start resumes it")
        self.stop_button.setEnabled(False)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setObjectName("batch_progress")
        self.progress.setTextVisible(True)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("no batch running")
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.refresh_button.setObjectName("batch_refresh")
        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("batch_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        top = QtWidgets.QHBoxLayout()
        for widget in (self.run_button, self.concurrency, self.stop_button):
            top.addWidget(widget)
        top.addWidget(self.progress, 1)
        top.addWidget(self.refresh_button)

        self.batch_table = self._table("batch_list", self.batches_proxy)
        self.batch_table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.batch_table.sortByColumn(BATCH_LIST_COLUMNS.index("Created"), QtCore.Qt.SortOrder.DescendingOrder)
        for column, width in enumerate((104, 70, 48, 52, 48, 64, 76, 56, 56, 80, 140)):
            self.batch_table.horizontalHeader().resizeSection(column, width)

        self.filter = QtWidgets.QComboBox()
        self.filter.setObjectName("batch_filter")
        for text, mode in FILTERS:
            self.filter.addItem(text, mode)
        self.count_label = QtWidgets.QLabel("")
        self.count_label.setObjectName("batch_count")
        self.open_button = QtWidgets.QPushButton("Open run")
        self.open_button.setObjectName("batch_open_run")
        self.open_button.setToolTip("Open the selected row's run in the run viewer (or double-click the row)")
        self.open_button.setEnabled(False)
        self.rows_table = self._table("batch_rows", self.rows_proxy)
        self.rows_table.sortByColumn(0, QtCore.Qt.SortOrder.AscendingOrder)
        self.summary = QtWidgets.QLabel("")
        self.summary.setObjectName("batch_summary")
        self.summary.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        rows_bar = QtWidgets.QHBoxLayout()
        rows_bar.addWidget(QtWidgets.QLabel("Show:"))
        rows_bar.addWidget(self.filter)
        rows_bar.addWidget(self.count_label)
        rows_bar.addStretch(1)
        rows_bar.addWidget(self.open_button)
        right = QtWidgets.QWidget()
        right_layout = QtWidgets.QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(rows_bar)
        right_layout.addWidget(self.rows_table, 1)
        right_layout.addWidget(self.summary)
        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.batch_table)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 5)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.splitter, 1)
        self.message.hide()

        self.run_button.clicked.connect(self.run_requested)
        self.stop_button.clicked.connect(self.stop_requested)
        self.refresh_button.clicked.connect(self.refresh)
        self.filter.currentIndexChanged.connect(lambda _i: self.set_filter(str(self.filter.currentData())))
        self.open_button.clicked.connect(self.open_selected)
        self.rows_table.doubleClicked.connect(lambda _index: self.open_selected())
        self.rows_table.selectionModel().selectionChanged.connect(lambda *_: self._update_open_button())
        self.batch_table.selectionModel().selectionChanged.connect(lambda *_: self._on_batch_selected())

        self.debounce = QtCore.QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(DEBOUNCE_MS)
        self.debounce.timeout.connect(self.refresh)
        self.watcher = QtCore.QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(lambda _p: self.refresh_soon())
        self.watcher.fileChanged.connect(lambda _p: self.refresh_soon())
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh_soon)

    def _table(self, name: str, model: QtCore.QAbstractItemModel) -> QtWidgets.QTableView:
        table = QtWidgets.QTableView()
        table.setObjectName(name)
        table.setModel(model)
        table.setSortingEnabled(True)
        table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(22)
        table.horizontalHeader().setStretchLastSection(True)
        return table

    # -- run root and refresh ----------------------------------------------------------------------

    def set_run_root(self, run_root: Path | None) -> None:
        """List the batches of `run_root` (None: nothing) and keep them up to date."""
        run_root = Path(run_root).resolve() if run_root is not None else None
        if run_root == self.run_root:
            return
        self.run_root = run_root
        self.batch_id = None
        self._rows_signature = None
        self.rows.set_items([])
        if run_root is None:
            self.timer.stop()
            self.batches.set_items([])
            self._watch([])
            return
        self.refresh()
        self.timer.start()

    def batch_dir(self, batch_id: str | None = None) -> Path | None:
        batch_id = batch_id or self.batch_id
        if self.run_root is None or not batch_id:
            return None
        return self.run_root / BATCHES_DIR / batch_id

    def refresh(self) -> None:
        """Re-read the batch records, and the selected batch's rows if its files changed."""
        root = self.run_root
        if root is None:
            return
        self.batches.set_items(list_batches(root))
        if self.batch_id is None or self.batches.row_of(self.batch_id) is None:
            self.batch_id = None
            if self.batches.rowCount():  # show the newest batch until the user picks one
                self.select_batch(str(self.batches_proxy.index(0, 0).data()))
                return  # selecting it refreshed the rows
        self._select_in_view(self.batch_id)
        self.refresh_rows()
        self.refreshed.emit()

    def refresh_soon(self) -> None:
        """Refresh after a short delay, at least THROTTLE x the last re-read's cost after it."""
        if not self.debounce.isActive():
            self.debounce.setInterval(max(DEBOUNCE_MS, int(THROTTLE * self.last_read_ms)))
            self.debounce.start()

    def refresh_rows(self, *, force: bool = False) -> None:
        batch_dir = self.batch_dir()
        paths = [str(self.run_root / BATCHES_DIR)] if self.run_root is not None else []
        if self.run_root is not None:
            paths.append(str(self.run_root))
        if batch_dir is None:
            self.rows.set_items([])
            self._rows_signature = None
            self.summary.setText("")
            self._watch(paths)
            self._update_counts()
            return
        paths += [str(batch_dir), str(batch_dir / "rows.jsonl")]
        self._watch(paths)
        signature = _signature(batch_dir)
        if force or signature != self._rows_signature:
            self._rows_signature = signature
            t0 = time.perf_counter()
            try:
                rows = batch_table(batch_dir)
            except (OSError, ValueError) as exc:
                self.status_message.emit(f"Batch {self.batch_id}: cannot read it ({exc})")
                rows = []
            columns = self.rows.columns
            self.rows.set_items(rows)
            if self.rows.columns != columns:  # another batch's checks: fit the new columns once
                self._fit_row_columns()
            self.last_read_ms = (time.perf_counter() - t0) * 1000
            if self.rows_proxy.mode != "all":  # rows changed status: filter again (no dynamic filter)
                self.rows_proxy.set_mode(self.rows_proxy.mode)
        row = self.batches.row_of(self.batch_id)
        self.summary.setText(summary_line(self.batches.item(row)) if row is not None else "")
        self._update_counts()

    def _fit_row_columns(self) -> None:
        header = self.rows_table.horizontalHeader()
        widths = {"#": 44, "Id": 90, "Status": 80, "Passed": 56, "Latency": 70, "Cost": 80, "Error": 260}
        metrics = header.fontMetrics()
        for column, name in enumerate(self.rows.columns):  # check headers: as wide as their (short) name
            header.resizeSection(column, widths.get(name, max(64, metrics.horizontalAdvance(name) + 28)))

    def _watch(self, paths: list[str]) -> None:
        """Watch exactly the existing `paths` (the batches folder, the selected batch and its rows)."""
        wanted = {p for p in paths if Path(p).exists()}
        current = set(self.watcher.directories()) | set(self.watcher.files())
        if current - wanted:
            self.watcher.removePaths(sorted(current - wanted))
        if wanted - current:
            self.watcher.addPaths(sorted(wanted - current))

    # -- selection ---------------------------------------------------------------------------------

    def select_batch(self, batch_id: str) -> None:
        """Show the rows of `batch_id` (selected in the list too)."""
        self.batch_id = batch_id
        self._rows_signature = None
        self._select_in_view(batch_id)
        self.refresh_rows(force=True)
        self.refreshed.emit()

    def _select_in_view(self, batch_id: str | None) -> None:
        row = self.batches.row_of(batch_id) if batch_id else None
        selection = self.batch_table.selectionModel()
        if row is None:
            return
        index = self.batches_proxy.mapFromSource(self.batches.index(row, 0))
        current = selection.selectedRows()
        if len(current) == 1 and current[0].row() == index.row():
            return
        flags = QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect | QtCore.QItemSelectionModel.SelectionFlag.Rows
        selection.blockSignals(True)
        selection.select(index, flags)
        selection.blockSignals(False)
        self.batch_table.viewport().update()

    def _on_batch_selected(self) -> None:
        chosen = self.batch_table.selectionModel().selectedRows()
        if len(chosen) != 1:
            return
        batch_id = str(chosen[0].data())
        if batch_id != self.batch_id:
            self.select_batch(batch_id)

    def set_filter(self, mode: str) -> None:
        """`all`, `failed` or `not_passed` (FILTERS)."""
        index = self.filter.findData(mode)
        if index >= 0 and index != self.filter.currentIndex():
            self.filter.setCurrentIndex(index)  # comes back here through the signal
            return
        self.rows_proxy.set_mode(mode)
        self._update_counts()

    def visible_rows(self) -> list[dict[str, Any]]:
        """The rows shown, in the table's order."""
        return [self.rows.item(self.rows_proxy.mapToSource(self.rows_proxy.index(r, 0)).row())
                for r in range(self.rows_proxy.rowCount())]  # fmt: skip

    def selected_row(self) -> dict[str, Any] | None:
        chosen = self.rows_table.selectionModel().selectedRows()
        if len(chosen) != 1:
            return None
        return self.rows.item(self.rows_proxy.mapToSource(chosen[0]).row())

    def select_row(self, index: int) -> QtCore.QModelIndex:
        """Select dataset row `index` in the table; returns its (proxy) index, invalid if hidden."""
        row = self.rows.row_of(index)
        if row is None:
            return QtCore.QModelIndex()
        proxy_index = self.rows_proxy.mapFromSource(self.rows.index(row, 0))
        if proxy_index.isValid():
            flags = QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect
            self.rows_table.selectionModel().select(proxy_index, flags | QtCore.QItemSelectionModel.SelectionFlag.Rows)
            self.rows_table.scrollTo(proxy_index)
        return proxy_index

    def open_selected(self) -> None:
        row = self.selected_row()
        if row is None:
            return
        if not row.get("run_dir"):
            why = f": {row['error']}" if row.get("error") else f" ({row.get('status')})"
            self.status_message.emit(f"Row {row.get('index')} has no run folder to open{why}")
            return
        self.open_requested.emit(str(row["run_dir"]))

    def _update_open_button(self) -> None:
        row = self.selected_row()
        self.open_button.setEnabled(row is not None and bool(row.get("run_dir")))

    def _update_counts(self) -> None:
        shown, total = self.rows_proxy.rowCount(), self.rows.rowCount()
        self.count_label.setText(f"{shown} of {total} rows" if shown != total else f"{total} rows")
        self._update_open_button()

    # -- progress and messages (set by the controller) ---------------------------------------------

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.concurrency.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def show_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(done, max(total, 1)))
        self.progress.setFormat(text)

    def show_message(self, text: str, *, error: bool = False) -> None:
        """A line above the tables (a refusal, a rows-file error); empty text hides it."""
        self.message.setText(text)
        self.message.setStyleSheet("color: #ff7b72;" if error else "")
        self.message.setVisible(bool(text))

    def shutdown(self) -> None:
        self.timer.stop()
        self.debounce.stop()
        paths = self.watcher.directories() + self.watcher.files()
        if paths:
            self.watcher.removePaths(paths)
