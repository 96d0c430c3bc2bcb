"""The batches of a run root and the rows of one batch as Qt tables (data from dad_studio.batch).

Both models keep the dicts `list_batches` / `batch_table` return, plus one display tuple and one
sort tuple per row, computed once when the data arrives: `data()` is a lookup, and sorting uses raw
values (`SORT_ROLE`), so latencies and costs sort as numbers and pending rows sort last.

A refresh with the same rows updates them in place (`dataChanged`), so the selection and the scroll
position survive the periodic refresh while a batch is running; only a change in the set of rows
(or in the number of checks) resets the model.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtGui

from dad_studio.ui.history.table import STATUS_COLOURS, local_text, started_at
from dad_studio.ui.run.session import format_duration

__all__ = [
    "BATCH_LIST_COLUMNS",
    "FILTERS",
    "ROW_COLUMNS",
    "SORT_ROLE",
    "BatchListModel",
    "BatchRowsModel",
    "RowFilterProxy",
    "SortingProxy",
    "format_cost",
    "summary_line",
]

_NO_PARENT = QtCore.QModelIndex()
_DISPLAY = int(QtCore.Qt.ItemDataRole.DisplayRole.value)
_FOREGROUND = int(QtCore.Qt.ItemDataRole.ForegroundRole.value)
_ALIGN = int(QtCore.Qt.ItemDataRole.TextAlignmentRole.value)
_TOOLTIP = int(QtCore.Qt.ItemDataRole.ToolTipRole.value)
_RIGHT = int((QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter).value)
_CENTRE = int(QtCore.Qt.AlignmentFlag.AlignCenter.value)
SORT_ROLE = int(QtCore.Qt.ItemDataRole.UserRole.value) + 1

BATCH_LIST_COLUMNS = ("Batch", "Flow", "Rows", "Passed", "Failed", "Pass rate", "Cost", "p50", "p90", "Status",
                      "Created")  # fmt: skip
ROW_COLUMNS = ("#", "Id", "Status", "Passed")
"""The rows table's leading columns; one column per check follows, then TAIL_COLUMNS."""
TAIL_COLUMNS = ("Latency", "Cost", "Error")
FILTERS = (("All rows", "all"), ("Failed", "failed"), ("Not passed", "not_passed"))
"""`failed`: the run did not complete (failed, cancelled, error); `not_passed`: done and not passed,
which adds the rows whose run completed but a check did not hold."""
PASS_COLOURS = {True: STATUS_COLOURS["completed"], False: STATUS_COLOURS["failed"]}
_LAST = float("inf")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def format_cost(value: Any) -> str:
    number = _number(value)
    return "" if number is None else f"${number:.6f}" if number < 0.01 else f"${number:.4f}"


def _percent(value: Any) -> str:
    number = _number(value)
    return "" if number is None else f"{number * 100:.1f}%"


def summary_line(record: dict[str, Any]) -> str:
    """One line for a batch: done, pass rate, cost, latency percentiles (from batch.json's summary)."""
    summary = record.get("summary") or {}
    if not summary:
        return f"batch {record.get('batch_id', '')}: {record.get('status', '')}, no rows recorded yet"
    latency = summary.get("latency_ms") or {}
    cost = summary.get("cost") or {}
    rate = _percent(summary.get("pass_rate")) or "-"
    parts = [
        f"{summary.get('done', 0)}/{summary.get('rows', 0)} rows done",
        f"passed {summary.get('passed', 0)}/{summary.get('done', 0)} ({rate})",
        f"cost {format_cost(cost.get('sum')) or '-'}",
        "latency " + ", ".join(f"{p} {format_duration(_number(latency.get(p))) or '-'}" for p in ("p50", "p90", "p99")),
    ]
    return f"{record.get('status', '')} · " + " · ".join(parts)


class _TableModel(QtCore.QAbstractTableModel):
    """Rows of dicts with precomputed display / sort tuples; subclasses say how to make them."""

    key_field = ""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.items: list[dict[str, Any]] = []
        self.columns: tuple[str, ...] = ()
        self._display: list[tuple[str, ...]] = []
        self._sort: list[tuple[Any, ...]] = []
        self._keys: dict[Any, int] = {}
        self.sort_key: tuple[int, QtCore.Qt.SortOrder] | None = None

    def _cells(self, item: dict[str, Any]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        raise NotImplementedError

    def _columns_for(self, items: list[dict[str, Any]]) -> tuple[str, ...]:
        return self.columns

    def set_items(self, items: list[dict[str, Any]]) -> None:
        columns = self._columns_for(items)
        keys = [item.get(self.key_field) for item in items]
        if columns == self.columns and len(keys) == len(self._keys) and all(k in self._keys for k in keys):
            for item in items:  # the same rows: update in place (any order), keep selection and scroll
                i = self._keys[item.get(self.key_field)]
                if item != self.items[i]:
                    self.items[i] = item
                    self._display[i], self._sort[i] = self._cells(item)
                    self.dataChanged.emit(self.index(i, 0), self.index(i, len(columns) - 1), [])
            return
        self.beginResetModel()
        self.columns = columns
        self.items = list(items)
        cells = [self._cells(item) for item in items]
        self._display = [c[0] for c in cells]
        self._sort = [c[1] for c in cells]
        self._keys = {item.get(self.key_field): i for i, item in enumerate(self.items)}
        self.endResetModel()
        if self.sort_key is not None:
            self.sort(*self.sort_key)

    def sort(self, column: int, order: QtCore.Qt.SortOrder = QtCore.Qt.SortOrder.AscendingOrder) -> None:
        """Sort in Python with one key per row (a proxy's sort calls data() twice per comparison)."""
        self.sort_key = (column, order)
        if not 0 <= column < len(self.columns) or not self.items:
            return
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        order_ = sorted(
            range(len(self.items)),
            key=lambda i: (self._sort[i][column], self._sort[i][0]),
            reverse=order == QtCore.Qt.SortOrder.DescendingOrder,
        )
        where = {old: new for new, old in enumerate(order_)}
        self.items = [self.items[i] for i in order_]
        self._display = [self._display[i] for i in order_]
        self._sort = [self._sort[i] for i in order_]
        self._keys = {item.get(self.key_field): i for i, item in enumerate(self.items)}
        self.changePersistentIndexList(before, [self.index(where[i.row()], i.column()) for i in before])
        self.layoutChanged.emit()

    def item(self, row: int) -> dict[str, Any]:
        return self.items[row]

    def row_of(self, key: Any) -> int | None:
        return self._keys.get(key)

    def rowCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = _NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex = _NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: QtCore.Qt.Orientation, role: int = 0) -> Any:
        if orientation == QtCore.Qt.Orientation.Horizontal and role == QtCore.Qt.ItemDataRole.DisplayRole:
            return self.columns[section] if 0 <= section < len(self.columns) else None
        return None

    def data(self, index: QtCore.QModelIndex | QtCore.QPersistentModelIndex, role: int = 0) -> Any:
        role = int(role) if isinstance(role, int) else int(role.value)
        row, column = index.row(), index.column()
        if not 0 <= row < len(self.items):
            return None
        if role == _DISPLAY:
            return self._display[row][column]
        if role == SORT_ROLE:
            return self._sort[row][column]
        return self._extra(row, column, role)

    def _extra(self, row: int, column: int, role: int) -> Any:
        return None


class BatchListModel(_TableModel):
    """One row per batch record of a run root (newest first as listed)."""

    key_field = "batch_id"

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.columns = BATCH_LIST_COLUMNS

    def _cells(self, record: dict[str, Any]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        counts = record.get("counts") or {}
        summary = record.get("summary") or {}
        latency = summary.get("latency_ms") or {}
        cost = _number((summary.get("cost") or {}).get("sum"))
        rows, done = int(counts.get("rows") or 0), int(counts.get("done") or 0)
        created = started_at({"started_at": record.get("created_at")})
        p50, p90 = _number(latency.get("p50")), _number(latency.get("p90"))
        rate = _number(summary.get("pass_rate"))
        flow = str(record.get("flow_file") or "")
        display = (
            str(record.get("batch_id") or ""),
            flow.rsplit("/", 1)[-1].removesuffix(".dad.json"),
            f"{done}/{rows}" if done != rows else str(rows),
            str(counts.get("passed") or 0),
            str(counts.get("not_passed") or 0),
            _percent(rate),
            format_cost(cost),
            format_duration(p50),
            format_duration(p90),
            str(record.get("status") or ""),
            local_text(created) if created else "",
        )
        sort = (
            display[0],
            display[1].lower(),
            rows,
            int(counts.get("passed") or 0),
            int(counts.get("not_passed") or 0),
            rate if rate is not None else -1.0,
            cost if cost is not None else -1.0,
            p50 if p50 is not None else _LAST,
            p90 if p90 is not None else _LAST,
            display[9],
            created.timestamp() if created else 0.0,
        )
        return display, sort

    def _extra(self, row: int, column: int, role: int) -> Any:
        if role == _FOREGROUND and column == 9:
            colour = STATUS_COLOURS.get(self._display[row][9])
            return QtGui.QBrush(QtGui.QColor(colour)) if colour else None
        if role == _ALIGN and 2 <= column <= 8:
            return _RIGHT
        if role == _TOOLTIP and column in (0, 1):
            record = self.items[row]
            return f"{record.get('batch_dir', '')}\nflow: {record.get('flow_file', '')}\nrows: {record.get('rows_file', '')}"
        if role == _TOOLTIP and column == 4:
            return "Rows that did not pass: the run failed, or the row could not run, or a check did not hold"
        return None


def _check_columns(items: list[dict[str, Any]]) -> tuple[str, ...]:
    """One header per check position: the check's name when every row names it alike, else `check N`."""
    width = max((len(item.get("check_results") or ()) for item in items), default=0)
    names: list[set[str]] = [set() for _ in range(width)]
    for item in items:
        for i, check in enumerate(item.get("check_results") or ()):
            names[i].add(str(check.get("name") or ""))
    headers = []
    for i, found in enumerate(names):
        name = next(iter(found)) if len(found) == 1 else ""
        headers.append(_elide(name) if name else f"check {i + 1}")
    return tuple(headers)


def _elide(text: str, limit: int = 14) -> str:
    """A short header (the full name is its tooltip)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class BatchRowsModel(_TableModel):
    """One row per dataset row of a batch: `batch_table` (pending rows included)."""

    key_field = "index"

    def _columns_for(self, items: list[dict[str, Any]]) -> tuple[str, ...]:
        return (*ROW_COLUMNS, *_check_columns(items), *TAIL_COLUMNS)

    @property
    def check_count(self) -> int:
        return len(self.columns) - len(ROW_COLUMNS) - len(TAIL_COLUMNS)

    def _cells(self, row: dict[str, Any]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        checks = list(row.get("check_results") or ())
        n_checks = self.check_count  # set_items sets the columns before it makes the cells
        passed = row.get("passed")
        latency = _number(row.get("latency_ms")) if row.get("run_id") else None
        cost = _number(row.get("cost")) if row.get("run_id") else None
        error = str(row.get("error") or "")
        check_text = [("✓" if c.get("passed") else "✗") if (c := _at(checks, i)) else "" for i in range(n_checks)]
        display = (
            str(row.get("index")),
            str(row.get("label") or ""),
            str(row.get("status") or ""),
            "" if passed is None else "yes" if passed else "no",
            *check_text,
            format_duration(latency),
            format_cost(cost),
            error.splitlines()[0] if error else "",
        )
        sort = (
            int(row.get("index") or 0),
            str(row.get("label") or ""),
            str(row.get("status") or ""),
            -1 if passed is None else int(bool(passed)),
            *(-1 if (c := _at(checks, i)) is None else int(bool(c.get("passed"))) for i in range(n_checks)),
            latency if latency is not None else _LAST,
            cost if cost is not None else _LAST,
            error,
        )
        return display, sort

    def _extra(self, row: int, column: int, role: int) -> Any:
        item = self.items[row]
        first_check = len(ROW_COLUMNS)
        last_check = first_check + self.check_count
        if role == _FOREGROUND:
            if column == 2:
                colour = STATUS_COLOURS.get(str(item.get("status")), STATUS_COLOURS.get("error", "#ff5c5c"))
                return QtGui.QBrush(QtGui.QColor(colour))
            if column == 3 and item.get("passed") is not None:
                return QtGui.QBrush(QtGui.QColor(PASS_COLOURS[bool(item.get("passed"))]))
            if first_check <= column < last_check and (check := _at(item.get("check_results"), column - first_check)):
                return QtGui.QBrush(QtGui.QColor(PASS_COLOURS[bool(check.get("passed"))]))
        if role == _ALIGN:
            if column == 0 or column == len(self.columns) - 2 or column == len(self.columns) - 3:
                return _RIGHT
            if first_check <= column < last_check or column == 3:
                return _CENTRE
        if role == _TOOLTIP:
            if first_check <= column < last_check:
                check = _at(item.get("check_results"), column - first_check)
                if check is None:
                    return None
                verdict = "passed" if check.get("passed") else f"failed: {check.get('message') or 'no reason given'}"
                return f"{check.get('name')}\n{verdict}"
            if column == 3 and item.get("failed_checks"):
                return "\n".join(str(c) for c in item["failed_checks"])
            if column == len(self.columns) - 1 and item.get("error"):
                return str(item["error"])
            if column in (0, 1, 2):
                return f"run {item['run_id']}\n{item.get('run_dir')}" if item.get("run_id") else "no run folder"
        return None

    def headerData(self, section: int, orientation: QtCore.Qt.Orientation, role: int = 0) -> Any:
        first_check = len(ROW_COLUMNS)
        if (
            orientation == QtCore.Qt.Orientation.Horizontal
            and role == QtCore.Qt.ItemDataRole.ToolTipRole
            and first_check <= section < first_check + self.check_count
        ):
            names = sorted(
                {
                    str(c.get("name"))
                    for item in self.items
                    if (c := _at(item.get("check_results"), section - first_check))
                }
            )
            return "\n".join(names[:5]) + (f"\n… {len(names) - 5} more" if len(names) > 5 else "")
        return super().headerData(section, orientation, role)


def _at(checks: Any, i: int) -> dict[str, Any] | None:
    return checks[i] if isinstance(checks, list) and 0 <= i < len(checks) else None


class SortingProxy(QtCore.QSortFilterProxyModel):
    """Leaves sorting to the source model (in Python, fast) and keeps its order."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(False)

    def sort(self, column: int, order: QtCore.Qt.SortOrder = QtCore.Qt.SortOrder.AscendingOrder) -> None:
        model = self.sourceModel()
        if isinstance(model, _TableModel):
            model.sort(column, order)


class RowFilterProxy(SortingProxy):
    """Filters rows: all, failed (the run did not complete), not passed; the source model sorts."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.mode = "all"

    def set_mode(self, mode: str) -> None:
        self.beginFilterChange()
        self.mode = mode
        self.endFilterChange(QtCore.QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(
        self, source_row: int, source_parent: QtCore.QModelIndex | QtCore.QPersistentModelIndex
    ) -> bool:
        if self.mode == "all":
            return True
        model = self.sourceModel()
        assert isinstance(model, _TableModel)
        item = model.items[source_row]
        status = item.get("status")
        if self.mode == "failed":
            return status not in ("completed", "pending", None)
        return status != "pending" and item.get("passed") is False
