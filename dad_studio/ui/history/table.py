"""The runs of a run root as a Qt table: one row per manifest, sorted and filtered by a proxy.

The model holds the manifests `RunIndex.list()` returns and nothing else: a refresh replaces rows
in place when the set of runs is unchanged (no reset, so the selection and the scroll position
survive the 2-second refresh) and resets only when runs appear or vanish. Sorting uses a raw value
per column (`SORT_ROLE`), never the text shown, so durations and costs sort as numbers.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

from PySide6 import QtCore, QtGui

from dad_studio.runs.common import parse_utc
from dad_studio.runs.index import RunRow
from dad_studio.ui.canvas.items import RUN_COLOURS
from dad_studio.ui.run.session import format_duration

__all__ = ["COLUMNS", "RUN_ID_ROLE", "SORT_ROLE", "RunFilterProxy", "RunTableModel", "row_from_manifest", "started_at"]

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
    return parse_utc(manifest.get("started_at"))


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
    start, stop = started_at(manifest), parse_utc(manifest.get("ended_at"))
    if start is None or stop is None:
        return None
    return (stop - start).total_seconds() * 1000


def _usage(manifest: dict[str, Any], key: str) -> float | None:
    usage = manifest.get("usage")
    if not isinstance(usage, dict):
        return None
    return _number(usage.get(key, usage.get("tokens") if key == "total_tokens" else None))


def row_from_manifest(m: dict[str, Any]) -> RunRow:
    """A listed manifest as the index's light row (ROW_FIELDS), for callers that hold manifests."""
    usage = m.get("usage")
    tokens = _usage(m, "total_tokens")
    return (
        m.get("run_id"),
        m.get("root_component_id"),
        m.get("flow_file"),
        m.get("status"),
        m.get("started_at"),
        m.get("ended_at"),
        _number(m.get("duration_ms")),
        _number(usage.get("cost")) if isinstance(usage, dict) else None,
        tokens,
        m.get("start_hierarchy_path"),
        m.get("previous_run_id"),
        m,
    )


# positions in a RunRow (dad_studio.runs.index.ROW_FIELDS)
_ID, _ROOT, _FILE, _STATUS, _START, _END, _DURATION, _COST, _TOKENS, _START_PATH, _PREVIOUS, _MANIFEST = range(12)


class RunTableModel(QtCore.QAbstractTableModel):
    """Rows: the index's light run rows (`RunIndex.rows()`), newest first unless sorted otherwise.

    Nothing is computed per run up front: a row's texts are made the first time the view asks for
    them (a 1,000-run root shows ~25 rows), a column's sort keys when it is sorted or filtered on,
    and a run's manifest (JSON) only when it is selected.
    """

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[RunRow] = []
        self._rows: dict[str, int] = {}
        self._display: list[tuple[str, ...] | None] = []
        self._keys: dict[int, list[Any]] = {}
        self._manifests: dict[str, dict[str, Any]] = {}
        self.sort_key: tuple[int, QtCore.Qt.SortOrder] | None = None

    # -- filling -----------------------------------------------------------------------------------

    def set_rows(self, rows: list[RunRow]) -> None:
        ids = [str(r[_ID]) for r in rows]
        if len(ids) == len(self._rows) and all(run_id in self._rows for run_id in ids):
            for run_id, row in zip(ids, rows, strict=True):  # same runs: update rows in place
                i = self._rows[run_id]
                if row != self.rows[i]:
                    self.rows[i] = row
                    self._display[i] = None
                    for column, keys in self._keys.items():
                        keys[i] = self._sort_value(row, column)
                    self._manifests.pop(run_id, None)
                    self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1), [])  # [] : every role
            return
        self.beginResetModel()
        self.rows = list(rows)
        self._keys = {}
        self._manifests = {}
        if self.sort_key is not None:
            self._sort_rows(*self.sort_key)
        self._display = [None] * len(self.rows)
        self._rows = {str(r[_ID]): i for i, r in enumerate(self.rows)}
        self.endResetModel()

    def set_manifests(self, manifests: list[dict[str, Any]]) -> None:
        """The same from manifests (`RunIndex.list()`)."""
        self.set_rows([row_from_manifest(m) for m in manifests])

    # -- values ------------------------------------------------------------------------------------

    def display(self, i: int) -> tuple[str, ...]:
        cells = self._display[i]
        if cells is None:
            cells = self._display[i] = self._texts(self.rows[i])
        return cells

    @staticmethod
    def _texts(r: RunRow) -> tuple[str, ...]:
        start = parse_utc(r[_START])
        duration = _row_duration(r)
        cost, tokens = r[_COST], r[_TOKENS]
        return (
            str(r[_ID] or ""),
            str(r[_ROOT] or r[_FILE] or ""),
            str(r[_STATUS] or ""),
            local_text(start) if start else "",
            format_duration(duration),
            f"{cost:.4f}" if cost is not None else "",
            f"{tokens:.0f}" if tokens is not None else "",
            str(r[_START_PATH] or ("resume" if r[_PREVIOUS] else "")),
        )

    @staticmethod
    def _sort_value(r: RunRow, column: int) -> Any:
        if column == 0:
            return str(r[_ID] or "")
        if column == 1:
            return str(r[_ROOT] or r[_FILE] or "").lower()
        if column == 2:
            return str(r[_STATUS] or "")
        if column == 3:
            start = parse_utc(r[_START])
            return start.timestamp() if start else 0.0
        if column == 4:
            duration = _row_duration(r)
            return duration if duration is not None else -1.0
        if column in (5, 6):
            value = r[_COST if column == 5 else _TOKENS]
            return float(value) if value is not None else -1.0
        return str(r[_START_PATH] or ("resume" if r[_PREVIOUS] else ""))

    def sort_values(self, column: int) -> list[Any]:
        """The sort key of every row for one column (made once, kept in step with the rows)."""
        keys = self._keys.get(column)
        if keys is None:
            keys = self._keys[column] = [self._sort_value(r, column) for r in self.rows]
        return keys

    def manifest(self, row: int) -> dict[str, Any]:
        """The run's listed manifest (parsed on first use)."""
        r = self.rows[row]
        run_id = str(r[_ID])
        cached = self._manifests.get(run_id)
        if cached is None:
            raw = r[_MANIFEST]
            cached = raw if isinstance(raw, dict) else _manifest_of(r)
            self._manifests[run_id] = cached
        return cached

    def row_of(self, run_id: str) -> int | None:
        return self._rows.get(run_id)

    # -- Qt model ----------------------------------------------------------------------------------

    def rowCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = _NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self.rows)

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
            return self.display(row)[column]
        if role == SORT_ROLE:
            return self.sort_values(column)[row]
        if role == RUN_ID_ROLE:
            return str(self.rows[row][_ID] or "")
        if role == _FOREGROUND and column == 2:
            colour = STATUS_COLOURS.get(str(self.rows[row][_STATUS] or ""))
            return _brush(colour) if colour else None
        if role == _ALIGN and column in (4, 5, 6):
            return _RIGHT
        if role == _TOOLTIP and column == 0:
            r = self.rows[row]
            previous = r[_PREVIOUS]
            return f"{r[_ID]}\n{r[_FILE] or ''}" + (f"\nfrom {previous}" if previous else "")
        return None

    def sort(self, column: int, order: QtCore.Qt.SortOrder = QtCore.Qt.SortOrder.AscendingOrder) -> None:
        """Sort in Python with a key (one pass), not through Qt's comparisons calling data() per pair."""
        if not 0 <= column < len(COLUMNS):
            return
        self.sort_key = (column, order)
        if not self.rows:
            return
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        old_rows = [i.row() for i in before]
        order_ = self._sort_rows(column, order)
        self._display = [self._display[i] for i in order_]
        self._rows = {str(r[_ID]): i for i, r in enumerate(self.rows)}
        where = {old: new for new, old in enumerate(order_)}
        self.changePersistentIndexList(
            before, [self.index(where[r], i.column()) for r, i in zip(old_rows, before, strict=True)]
        )
        self.layoutChanged.emit()

    def _sort_rows(self, column: int, order: QtCore.Qt.SortOrder) -> list[int]:
        """Reorder `rows` (and the sort keys made so far); returns the old row of each new row."""
        keys = self.sort_values(column)
        ids = self.sort_values(0)
        order_ = sorted(
            range(len(self.rows)),
            key=lambda i: (keys[i], ids[i]),
            reverse=order == QtCore.Qt.SortOrder.DescendingOrder,
        )
        self.rows = [self.rows[i] for i in order_]
        self._keys = {c: [k[i] for i in order_] for c, k in self._keys.items()}
        return order_


_BRUSHES: dict[str, QtGui.QBrush] = {}


def _brush(colour: str) -> QtGui.QBrush:
    brush = _BRUSHES.get(colour)
    if brush is None:
        brush = _BRUSHES[colour] = QtGui.QBrush(QtGui.QColor(colour))
    return brush


def _row_duration(r: RunRow) -> float | None:
    """From the index, else from the run's timestamps (a run killed before writing its duration)."""
    value = r[_DURATION]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    start, end = parse_utc(r[_START]), parse_utc(r[_END])
    if start is None or end is None:
        return None
    return (end - start).total_seconds() * 1000


def _manifest_of(r: RunRow) -> dict[str, Any]:
    raw = r[_MANIFEST]
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
    return {"run_id": r[_ID], "root_component_id": r[_ROOT], "flow_file": r[_FILE], "status": r[_STATUS],
            "started_at": r[_START], "ended_at": r[_END], "previous_run_id": r[_PREVIOUS],
            "start_hierarchy_path": r[_START_PATH]}  # fmt: skip


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
        self._active = False
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
        self._active = self.active()
        self.endFilterChange(QtCore.QSortFilterProxyModel.Direction.Rows)

    def active(self) -> bool:
        """Whether any filter is set."""
        return bool(self.flow_text or self.status) or any(
            v is not None for v in (self.since, self.min_duration_ms, self.max_cost)
        )

    def filterAcceptsRow(
        self, source_row: int, source_parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex
    ) -> bool:
        if not self._active:
            return True  # no filter: one call per row on every reset, kept trivial
        model = self.sourceModel()
        assert isinstance(model, RunTableModel)
        row = model.rows[source_row]
        if self.flow_text and (
            self.flow_text not in model.sort_values(1)[source_row] and self.flow_text not in str(row[_ID]).lower()
        ):
            return False
        if self.status and str(row[_STATUS] or "") != self.status:
            return False
        if self.since is not None and model.sort_values(3)[source_row] < self.since:
            return False
        if self.min_duration_ms is not None and model.sort_values(4)[source_row] < self.min_duration_ms:
            return False
        return not (self.max_cost is not None and model.sort_values(5)[source_row] > self.max_cost)
