"""The history panel: every run of a run root, sortable and filterable, kept up to date.

The folders are the truth and another process (a CLI run) may write into the same root, so the
list is refreshed when the watcher sees the root change and every REFRESH_MS anyway (a run's log
grows inside its folder, which a directory watcher does not report). `RunIndex.refresh` stats every
folder, so it runs on a worker thread with its own connection; its result comes back as a queued
signal. The first listing of a root reads the index as it is (one SELECT) so the table fills at
once, then the worker brings it up to date.

Questions (delete) use a window-modal QMessageBox opened with `open()` and answered through its
`finished` signal, never `exec()`, so the panel is safe next to coroutines (QT_NOTES.md).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtWidgets

from dad_studio.runs import RunIndex
from dad_studio.runs.index import RunRow
from dad_studio.runs.retention import apply_retention
from dad_studio.ui.history.table import COLUMNS, RunFilterProxy, RunTableModel

__all__ = ["REFRESH_MS", "HistoryPanel"]

REFRESH_MS = 2000
CATCH_UP_MS = 300
"""After showing a root as indexed, when to re-read its folders (after the first paint)."""
STATUSES = ("", "completed", "failed", "interrupted", "running", "cancelled")
SINCE = (("Any time", None), ("Last hour", 3600.0), ("Last 24 hours", 86400.0), ("Last 7 days", 7 * 86400.0),
         ("Last 30 days", 30 * 86400.0))  # fmt: skip


class _Bridge(QtCore.QObject):
    listed = QtCore.Signal(object, object, object)
    """(run root, index rows or None, error text or None), emitted from the worker thread."""


class HistoryPanel(QtWidgets.QWidget):
    open_requested = QtCore.Signal(str)
    """Path of a run folder to open in the viewer."""
    compare_requested = QtCore.Signal(str, str)
    resume_requested = QtCore.Signal(str)
    refreshed = QtCore.Signal()
    status_message = QtCore.Signal(str)

    def __init__(self, settings: QtCore.QSettings | None = None, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("history_panel")
        self.settings = settings
        self.run_root: Path | None = None
        self.model = RunTableModel(self)
        self.proxy = RunFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self._bridge = _Bridge(self)
        # the signal carries (object, object, object) across threads; the stubs cannot match a typed slot
        self._bridge.listed.connect(self._on_listed)  # type: ignore[call-overload]
        self._worker: threading.Thread | None = None
        self._again = False
        self._retention_pending = False
        self.last_refresh_ms: float | None = None

        self.flow_filter = QtWidgets.QLineEdit()
        self.flow_filter.setObjectName("history_flow_filter")
        self.flow_filter.setPlaceholderText("Filter by flow or run id")
        self.flow_filter.setClearButtonEnabled(True)
        self.status_filter = QtWidgets.QComboBox()
        self.status_filter.setObjectName("history_status_filter")
        for status in STATUSES:
            self.status_filter.addItem(status or "Any status", status)
        self.since_filter = QtWidgets.QComboBox()
        self.since_filter.setObjectName("history_since_filter")
        for text, seconds in SINCE:
            self.since_filter.addItem(text, seconds)
        self.min_duration = QtWidgets.QDoubleSpinBox()
        self.min_duration.setObjectName("history_min_duration")
        self.min_duration.setRange(0, 1e6)
        self.min_duration.setSuffix(" s")
        self.min_duration.setPrefix("≥ ")
        self.min_duration.setToolTip("Only runs that took at least this long (0: any)")
        self.max_cost = QtWidgets.QDoubleSpinBox()
        self.max_cost.setObjectName("history_max_cost")
        self.max_cost.setRange(0, 1e6)
        self.max_cost.setDecimals(4)
        self.max_cost.setPrefix("cost ≤ ")
        self.max_cost.setSpecialValueText("any cost")
        self.max_cost.setToolTip("Only runs that cost at most this much (0: any)")
        filters = QtWidgets.QHBoxLayout()
        for widget, stretch in ((self.flow_filter, 2), (self.status_filter, 0), (self.since_filter, 0),
                                (self.min_duration, 0), (self.max_cost, 0)):  # fmt: skip
            filters.addWidget(widget, stretch)

        self.table = QtWidgets.QTableView()
        self.table.setObjectName("history_table")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COLUMNS.index("Started"), QtCore.Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        for column, width in enumerate((250, 120, 90, 140, 80, 70, 60, 120)):
            header.resizeSection(column, width)
        header.setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda index: self.open_selected())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())

        def button(name: str, text: str, tip: str) -> QtWidgets.QPushButton:
            b = QtWidgets.QPushButton(text)
            b.setObjectName(f"history_{name}")
            b.setToolTip(tip)
            return b

        self.open_button = button("open", "Open", "Open the selected run: its flow snapshot, step through its events")
        self.compare_button = button("compare", "Compare", "Compare the two selected runs of one flow")
        self.resume_button = button("resume", "Resume…", "Continue the selected interrupted or failed run")
        self.delete_button = button("delete", "Delete…", "Delete the selected runs (folders and index rows)")
        self.refresh_button = button("refresh", "Refresh", "Re-read the run folders now")
        self.keep_last = QtWidgets.QSpinBox()
        self.keep_last.setObjectName("history_keep_last")
        self.keep_last.setRange(0, 1_000_000)
        self.keep_last.setPrefix("keep last ")
        self.keep_last.setSpecialValueText("keep all")
        self.newer_than = QtWidgets.QSpinBox()
        self.newer_than.setObjectName("history_newer_than")
        self.newer_than.setRange(0, 100_000)
        self.newer_than.setPrefix("or newer than ")
        self.newer_than.setSuffix(" days")
        self.newer_than.setSpecialValueText("any age")
        self.retention_button = button(
            "retention", "Apply retention", "Delete the runs the retention rules do not keep"
        )
        self.count_label = QtWidgets.QLabel("")
        self.count_label.setObjectName("history_count")
        buttons = QtWidgets.QHBoxLayout()
        for push in (self.open_button, self.compare_button, self.resume_button, self.delete_button,
                     self.refresh_button):  # fmt: skip
            buttons.addWidget(push)
        buttons.addStretch(1)
        buttons.addWidget(self.count_label)
        buttons.addSpacing(16)
        buttons.addWidget(QtWidgets.QLabel("Retention:"))
        buttons.addWidget(self.keep_last)
        buttons.addWidget(self.newer_than)
        buttons.addWidget(self.retention_button)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

        self.flow_filter.textChanged.connect(lambda text: self._filter(flow_text=text))
        self.status_filter.currentIndexChanged.connect(lambda _i: self._filter(status=self.status_filter.currentData()))
        self.since_filter.currentIndexChanged.connect(lambda _i: self._filter_since())
        self.min_duration.valueChanged.connect(lambda v: self._filter(min_duration_ms=v * 1000 if v else None))
        self.max_cost.valueChanged.connect(lambda v: self._filter(max_cost=v if v else None))
        self.open_button.clicked.connect(self.open_selected)
        self.compare_button.clicked.connect(self.compare_selected)
        self.resume_button.clicked.connect(self.resume_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.refresh_button.clicked.connect(lambda: self.refresh(background=False))
        self.retention_button.clicked.connect(self.apply_retention_now)
        self.keep_last.valueChanged.connect(lambda v: self._save_setting("history/keep_last", v))
        self.newer_than.valueChanged.connect(lambda v: self._save_setting("history/newer_than_days", v))
        self._load_settings()

        self.watcher = QtCore.QFileSystemWatcher(self)
        self._shut = False
        """Set by `shutdown`: a watcher signal or a listing still queued then changes nothing."""
        self.watcher.directoryChanged.connect(self._on_directory_changed)
        self.debounce = QtCore.QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(150)
        self.debounce.timeout.connect(self.refresh)
        self.catch_up = QtCore.QTimer(self)
        self.catch_up.setSingleShot(True)
        self.catch_up.setInterval(CATCH_UP_MS)
        self.catch_up.timeout.connect(self.refresh)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.confirm: QtWidgets.QMessageBox | None = None
        self._update_buttons()

    # -- run root and refresh ----------------------------------------------------------------------

    def set_run_root(self, run_root: Path | None, *, apply_retention_rules: bool = False) -> None:
        """List the runs of `run_root` (None: nothing); start watching it."""
        run_root = Path(run_root).resolve() if run_root is not None else None
        if run_root == self.run_root:
            return
        if self.watcher.directories():
            self.watcher.removePaths(self.watcher.directories())
        self.run_root = run_root
        if run_root is None:
            self.model.set_rows([])
            self.timer.stop()
            self.catch_up.stop()
            self._update_count()
            return
        rows: list[RunRow] = []
        if (run_root / "index.sqlite").exists():
            try:
                with RunIndex(run_root) as index:
                    rows = index.rows()  # as indexed: the worker catches up
            except sqlite3.Error:
                rows = []
        self.model.set_rows(rows)
        self._update_count()
        if run_root.is_dir():
            self.watcher.addPath(str(run_root))
        self._retention_pending = apply_retention_rules
        self.timer.start()
        self.catch_up.start()  # the folders may be ahead of the index: re-read them off the GUI thread

    def _on_directory_changed(self, _path: str) -> None:
        if not self._shut:
            self.debounce.start()

    def refresh(self, *, background: bool = True) -> None:
        """Bring the list up to date with the folders (on the worker thread unless background=False)."""
        root = self.run_root
        if root is None or self._shut:
            return
        if root.is_dir() and str(root) not in self.watcher.directories():
            self.watcher.addPath(str(root))  # the root was created by the first run
        if not background:
            manifests, error = _list(root, self._take_retention())
            self._on_listed(root, manifests, error)
            return
        if self._worker is not None and self._worker.is_alive():
            self._again = True
            return
        retention = self._take_retention()
        bridge = self._bridge
        self._worker = threading.Thread(
            target=lambda: bridge.listed.emit(root, *_list(root, retention)), name="history-refresh", daemon=True
        )
        self._worker.start()

    def _take_retention(self) -> tuple[int | None, float | None] | None:
        if not self._retention_pending:
            return None
        self._retention_pending = False
        return self.retention_rules()

    def _on_listed(self, root: Path, rows: list[RunRow] | None, error: str | None) -> None:
        if root != self.run_root:
            return  # listed for a root we left meanwhile
        if error is not None:
            self.status_message.emit(f"Run history: {error}")
        if rows is not None:
            t0 = time.perf_counter()
            selected = [str(m["run_id"]) for m in self.selected_manifests()]
            self.model.set_rows(rows)
            if selected and not self.table.selectionModel().hasSelection():
                self.select_runs(selected)  # the model was reset (runs came or went)
            self.last_refresh_ms = (time.perf_counter() - t0) * 1000
            self._update_count()
        self.refreshed.emit()
        if self._again:
            self._again = False
            self.refresh()

    def wait_idle(self, timeout_s: float = 10.0) -> None:
        """Join the worker (tests, shutdown); its queued result is delivered by the next event loop turn."""
        if self._worker is not None:
            self._worker.join(timeout_s)

    # -- filters -----------------------------------------------------------------------------------

    def _filter(self, **changes: Any) -> None:
        self.proxy.set_filters(**changes)
        self._update_count()

    def _filter_since(self) -> None:
        seconds = self.since_filter.currentData()
        self._filter(since=time.time() - float(seconds) if seconds else None)

    def _update_count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{shown} of {total} runs" if shown != total else f"{total} runs")

    # -- selection and actions ---------------------------------------------------------------------

    def selected_manifests(self) -> list[dict[str, Any]]:
        rows = sorted({self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.manifest(r) for r in rows]

    def select_runs(self, run_ids: list[str]) -> None:
        selection = QtCore.QItemSelection()
        for run_id in run_ids:
            row = self.model.row_of(run_id)
            if row is None:
                continue
            index = self.proxy.mapFromSource(self.model.index(row, 0))
            if index.isValid():
                selection.select(index, index.siblingAtColumn(len(COLUMNS) - 1))
        flags = QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect
        self.table.selectionModel().select(selection, flags)

    def visible_run_ids(self) -> list[str]:
        return [str(self.proxy.index(r, 0).data()) for r in range(self.proxy.rowCount())]

    def _run_dir(self, manifest: dict[str, Any]) -> str:
        assert self.run_root is not None
        return str(self.run_root / str(manifest["run_id"]))

    def open_selected(self) -> None:
        chosen = self.selected_manifests()
        if chosen:
            self.open_requested.emit(self._run_dir(chosen[0]))

    def compare_selected(self) -> None:
        chosen = self.selected_manifests()
        if len(chosen) != 2:
            self.status_message.emit("Compare: select exactly two runs")
            return
        a, b = sorted(chosen, key=lambda m: str(m.get("started_at") or ""))
        if a.get("root_component_id") != b.get("root_component_id"):
            self.status_message.emit(
                f"Compare: the runs are of different flows ({a.get('root_component_id')} / {b.get('root_component_id')})"
            )
            return
        self.compare_requested.emit(self._run_dir(a), self._run_dir(b))

    def resume_selected(self) -> None:
        chosen = self.selected_manifests()
        if len(chosen) == 1:
            self.resume_requested.emit(self._run_dir(chosen[0]))

    def delete_selected(self) -> QtWidgets.QMessageBox | None:
        """Ask (window-modal, no exec) and delete the selected runs when confirmed."""
        chosen = [str(m["run_id"]) for m in self.selected_manifests() if m.get("status") != "running"]
        if not chosen:
            self.status_message.emit("Delete: select runs that are not running")
            return None
        box = QtWidgets.QMessageBox(
            QtWidgets.QMessageBox.Icon.Question,
            "Delete runs",
            f"Delete {len(chosen)} run(s) and their folders? This cannot be undone.\n\n" + "\n".join(chosen[:10]),
            QtWidgets.QMessageBox.StandardButton.Yes | QtWidgets.QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("history_delete_confirm")
        box.setDefaultButton(QtWidgets.QMessageBox.StandardButton.Cancel)

        def done(result: int) -> None:
            self.confirm = None
            if result == QtWidgets.QMessageBox.StandardButton.Yes:
                self.delete_runs(chosen)
            box.deleteLater()

        box.finished.connect(done)
        self.confirm = box
        box.open()
        return box

    def delete_runs(self, run_ids: list[str]) -> list[str]:
        """Delete runs through the index (folder and rows together); returns those deleted."""
        if self.run_root is None:
            return []
        deleted: list[str] = []
        with RunIndex(self.run_root) as index:
            for run_id in run_ids:
                try:
                    index.delete_run(run_id)
                except (RuntimeError, OSError) as exc:
                    self.status_message.emit(f"Cannot delete {run_id}: {exc}")
                    continue
                deleted.append(run_id)
        self.status_message.emit(f"Deleted {len(deleted)} run(s)")
        self.refresh(background=False)
        return deleted

    # -- retention ---------------------------------------------------------------------------------

    def retention_rules(self) -> tuple[int | None, float | None]:
        keep, days = self.keep_last.value(), self.newer_than.value()
        return (keep or None, float(days) if days else None)

    def apply_retention_now(self) -> list[str]:
        if self.run_root is None:
            return []
        keep, days = self.retention_rules()
        if keep is None and days is None:
            self.status_message.emit("Retention: set 'keep last' or 'newer than' first")
            return []
        deleted = apply_retention(self.run_root, keep, days)
        self.status_message.emit(f"Retention deleted {len(deleted)} run(s)")
        self.refresh(background=False)
        return deleted

    def _load_settings(self) -> None:
        if self.settings is None:
            return
        for key, spin in (("history/keep_last", self.keep_last), ("history/newer_than_days", self.newer_than)):
            try:
                value = int(self.settings.value(key, 0) or 0)
            except (TypeError, ValueError, OverflowError):  # a hand-edited settings file: start from 0
                value = 0
            spin.setValue(max(spin.minimum(), min(spin.maximum(), value)))

    def _save_setting(self, key: str, value: int) -> None:
        if self.settings is not None:
            self.settings.setValue(key, value)

    def _update_buttons(self) -> None:
        chosen = self.selected_manifests()
        self.open_button.setEnabled(len(chosen) == 1)
        self.compare_button.setEnabled(len(chosen) == 2)
        self.resume_button.setEnabled(
            len(chosen) == 1 and chosen[0].get("status") in ("interrupted", "failed", "cancelled")
        )
        self.delete_button.setEnabled(bool(chosen))

    # -- shutdown ----------------------------------------------------------------------------------

    def shutdown(self) -> None:
        self._shut = True
        self.timer.stop()
        self.debounce.stop()
        self.catch_up.stop()
        if self.watcher.directories():
            self.watcher.removePaths(self.watcher.directories())
        if self.confirm is not None:
            self.confirm.close()
        self.wait_idle()


def _list(root: Path, retention: tuple[int | None, float | None] | None) -> tuple[list[RunRow] | None, str | None]:
    """List a run root through its index, refreshed (any thread: the connection is opened here)."""
    if not root.is_dir():
        return [], None
    try:
        if retention is not None and (retention[0] is not None or retention[1] is not None):
            apply_retention(root, *retention)
        with RunIndex(root) as index:
            return index.rows(refresh=True), None
    except (sqlite3.Error, OSError) as exc:
        return None, f"cannot list {root}: {exc}"
