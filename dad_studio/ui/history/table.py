"""The runs of a run root as a Qt table: one row per manifest, sorted and filtered by a proxy.

The model holds the manifests `RunIndex.list()` returns and nothing else: a refresh replaces rows
in place when the set of runs is unchanged (no reset, so the selection and the scroll position
survive the 2-second refresh) and resets only when runs appear or vanish. Sorting uses a raw value
per column (`SORT_ROLE`), never the text shown, so durations and costs sort as numbers.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from PySide6 import QtCore, QtGui

from dad_studio.ui.canvas.items import RUN_COLOURS
from dad_studio.ui.run.session import format_duration

__all__ = ["COLUMNS", "RUN_ID_ROLE", "SORT_ROLE", "RunFilterProxy", "RunTableModel", "started_at"]

_NO_PARENT = QtCore.QModelIndex()
_DISPLAY = int(QtCore.Qt.ItemDataRole.DisplayRole.value)
_FOREGROUND = int(QtCore.Qt.ItemDataRole.ForegroundRole.value)
_ALIGN = int(QtCore.Qt.ItemDataRole.TextAlignmentRole.value)
_TOOLTIP = int(QtCore.Qt.ItemDataRole.ToolTipRole.value)
_RIGHT = int((QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter).value)
SORT_ROLE = int(QtCore.Qt.ItemDataRole.UserRole.value) + 1
RUN_ID_ROLE = int(QtCore.Qt.ItemDataRole.UserRole.value) + 2
COLUMNS = ("Run", "Flow", "Status", "Started", "Duration", "Cost", "Tokens", "From")
STATUS_COLOURS = {**RUN_COLOURS, "interrupted": "#e5894a", "running": RUN_COLOURS["running"]}


def started_at(manifest: dict[str, Any]) -> _dt.datetime | None:
    value = manifest.get("started_at")
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=_dt.UTC)


_LOCAL_OFFSET = _dt.datetime.now().astimezone().utcoffset() or _dt.timedelta(0)


def local_text(moment: _dt.datetime) -> str:
    """YYYY-mm-dd HH:MM:SS in local time; by hand: strftime imports `time` per call (slow under shiboken)."""
    d = moment.replace(tzinfo=None) - (moment.utcoffset() or _dt.timedelta(0)) + _LOCAL_OFFSET
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d} {d.hour:02d}:{d.minute:02d}:{d.second:02d}"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def flow_name(manifest: dict[str, Any]) -> str:
    return str(manifest.get("root_component_id") or manifest.get("flow_file") or "")


def duration_ms(manifest: dict[str, Any]) -> float | None:
    """From the manifest, else from its timestamps (a run killed before writing its duration)."""
    value = _number(manifest.get("duration_ms"))
    if value is not None:
        return value
    start, end = started_at(manifest), manifest.get("ended_at")
    if start is None or not isinstance(end, str):
        return None
    try:
        stop = _dt.datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stop.tzinfo is None:
        stop = stop.replace(tzinfo=_dt.UTC)
    return (stop - start).total_seconds() * 1000


def _usage(manifest: dict[str, Any], key: str) -> float | None:
    usage = manifest.get("usage")
    if not isinstance(usage, dict):
        return None
    return _number(usage.get(key, usage.get("tokens") if key == "total_tokens" else None))


class RunTableModel(QtCore.QAbstractTableModel):
    """Rows: run manifests (newest first as listed); columns: COLUMNS."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.manifests: list[dict[str, Any]] = []
        self._rows: dict[str, int] = {}
        self._display: list[tuple[Any, ...]] = []
        self._sort: list[tuple[Any, ...]] = []
        self.sort_key: tuple[int, QtCore.Qt.SortOrder] | None = None

    # -- filling -----------------------------------------------------------------------------------

    def set_manifests(self, manifests: list[dict[str, Any]]) -> None:
        ids = [str(m.get("run_id")) for m in manifests]
        if len(ids) == len(self._rows) and all(run_id in self._rows for run_id in ids):
            for run_id, manifest in zip(ids, manifests, strict=True):  # same runs: update rows in place
                i = self._rows[run_id]
                if manifest != self.manifests[i]:
                    self.manifests[i] = manifest
                    self._display[i], self._sort[i] = self._cells(manifest)
                    self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self.manifests = list(manifests)
        self._rows = {run_id: i for i, run_id in enumerate(ids)}
        cells = [self._cells(m) for m in manifests]
        self._display = [c[0] for c in cells]
        self._sort = [c[1] for c in cells]
        self.endResetModel()
        if self.sort_key is not None:
            self.sort(*self.sort_key)

    @staticmethod
    def _cells(m: dict[str, Any]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        start = started_at(m)
        duration = duration_ms(m)
        cost = _usage(m, "cost")
        tokens = _usage(m, "total_tokens")
        display = (
            str(m.get("run_id") or ""),
            flow_name(m),
            str(m.get("status") or ""),
            local_text(start) if start else "",
            format_duration(duration),
            f"{cost:.4f}" if cost is not None else "",
            f"{tokens:.0f}" if tokens is not None else "",
            str(m.get("start_hierarchy_path") or ("resume" if m.get("previous_run_id") else "")),
        )
        sort = (
            display[0],
            display[1].lower(),
            display[2],
            start.timestamp() if start else 0.0,
            duration if duration is not None else -1.0,
            cost if cost is not None else -1.0,
            tokens if tokens is not None else -1.0,
            display[7],
        )
        return display, sort

    def manifest(self, row: int) -> dict[str, Any]:
        return self.manifests[row]

    def row_of(self, run_id: str) -> int | None:
        return self._rows.get(run_id)

    # -- Qt model ----------------------------------------------------------------------------------

    def rowCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = _NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self.manifests)

    def columnCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = _NO_PARENT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: QtCore.Qt.Orientation, role: int = 0) -> Any:
        if orientation == QtCore.Qt.Orientation.Horizontal and role == QtCore.Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex, role: int = 0) -> Any:
        role = int(role) if isinstance(role, int) else int(role.value)
        row, column = index.row(), index.column()
        if row < 0:
            return None
        if role == _DISPLAY:
            return self._display[row][column]
        if role == SORT_ROLE:
            return self._sort[row][column]
        if role == RUN_ID_ROLE:
            return self._display[row][0]
        if role == _FOREGROUND and column == 2:
            colour = STATUS_COLOURS.get(self._display[row][2])
            return QtGui.QBrush(QtGui.QColor(colour)) if colour else None
        if role == _ALIGN and column in (4, 5, 6):
            return _RIGHT
        if role == _TOOLTIP and column == 0:
            m = self.manifests[row]
            previous = m.get("previous_run_id")
            return f"{m.get('run_id')}\n{m.get('flow_file') or ''}" + (f"\nfrom {previous}" if previous else "")
        return None

    def sort(self, column: int, order: QtCore.Qt.SortOrder = QtCore.Qt.SortOrder.AscendingOrder) -> None:
        """Sort in Python with a key (one pass), not through Qt's comparisons calling data() per pair."""
        if not 0 <= column < len(COLUMNS) or not self.manifests:
            return
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        old_rows = [i.row() for i in before]
        order_ = sorted(
            range(len(self.manifests)),
            key=lambda i: (self._sort[i][column], self._sort[i][0]),
            reverse=order == QtCore.Qt.SortOrder.DescendingOrder,
        )
        self.manifests = [self.manifests[i] for i in order_]
        self._display = [self._display[i] for i in order_]
        self._sort = [self._sort[i] for i in order_]
        self._rows = {d[0]: i for i, d in enumerate(self._display)}
        where = {old: new for new, old in enumerate(order_)}
        self.changePersistentIndexList(
            before, [self.index(where[r], i.column()) for r, i in zip(old_rows, before, strict=True)]
        )
        self.layoutChanged.emit()
        self.sort_key = (column, order)


class RunFilterProxy(QtCore.QSortFilterProxyModel):
    """Filters by flow text, status, start date range, minimum duration and maximum cost."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.flow_text = ""
        self.status = ""
        self.since: float | None = None
        """Unix time: runs started before it are hidden."""
        self.min_duration_ms: float | None = None
        self.max_cost: float | None = None
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(False)

    def sort(self, column: int, order: QtCore.Qt.SortOrder = QtCore.Qt.SortOrder.AscendingOrder) -> None:
        """The source model sorts (fast, in Python); the proxy keeps its order and only filters."""
        model = self.sourceModel()
        if isinstance(model, RunTableModel):
            model.sort(column, order)

    def set_filters(
        self,
        *,
        flow_text: str | None = None,
        status: str | None = None,
        since: float | bool | None = False,
        min_duration_ms: float | bool | None = False,
        max_cost: float | bool | None = False,
    ) -> None:
        """Change some filters (False = leave unchanged) and filter once."""
        self.beginFilterChange()
        if flow_text is not None:
            self.flow_text = flow_text.strip().lower()
        if status is not None:
            self.status = status
        if since is not False:
            self.since = since  # type: ignore[assignment]
        if min_duration_ms is not False:
            self.min_duration_ms = min_duration_ms  # type: ignore[assignment]
        if max_cost is not False:
            self.max_cost = max_cost  # type: ignore[assignment]
        self.endFilterChange(QtCore.QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(
        self, source_row: int, source_parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex
    ) -> bool:
        model = self.sourceModel()
        assert isinstance(model, RunTableModel)
        display = model._display[source_row]
        sort = model._sort[source_row]
        if self.flow_text and self.flow_text not in sort[1] and self.flow_text not in display[0].lower():
            return False
        if self.status and display[2] != self.status:
            return False
        if self.since is not None and sort[3] < self.since:
            return False
        if self.min_duration_ms is not None and sort[4] < self.min_duration_ms:
            return False
        return not (self.max_cost is not None and sort[5] > self.max_cost)
