"""Where a batch is recorded: `<run_root>/batches/<batch_id>/` and the `batch_rows` table.

    batches/<batch_id>/batch.json    the record: flow, shas, status, counts, summary (atomic rewrite)
    batches/<batch_id>/rows.jsonl    one line per finished row (append-only, flushed): the truth
    batches/<batch_id>/.lock         held (flock) by the process running the batch
    index.sqlite: batch_rows         the same rows, to list and filter without reading files

Like the run index, `batch_rows` is derived data: it is refilled from rows.jsonl when it disagrees
(a fresh or set-aside index.sqlite), so losing the index never loses a batch. The table lives in the
run root's index file, opened with the run index's settings (WAL, busy timeout), through its own
connection: dad_studio.runs owns the `runs` and `node_results` tables and never touches this one.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from pathlib import Path
from typing import IO, Any

from dad_studio.batch.job import RowResult
from dad_studio.runs import RunIndex
from dad_studio.runs.common import atomic_write, process_alive, process_identity, utc_timestamp
from dad_studio.runs.index import BUSY_TIMEOUT_MS, write_transaction

__all__ = ["BATCHES_DIR", "BatchBusy", "BatchStore", "read_batch", "read_row_results"]

BATCHES_DIR = "batches"
BATCH_NAME = "batch.json"
ROWS_NAME = "rows.jsonl"
LOCK_NAME = ".lock"

_COLUMNS = (
    "batch_id",
    "row_index",
    "run_id",
    "status",
    "passed",
    "latency_ms",
    "cost",
    "tokens",
    "error",
    "label",
    "checks",
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch_rows (
    batch_id TEXT NOT NULL,
    row_index INTEGER NOT NULL,
    run_id TEXT,
    status TEXT NOT NULL,
    passed INTEGER NOT NULL,
    latency_ms REAL,
    cost REAL,
    tokens INTEGER,
    error TEXT,
    label TEXT,
    checks TEXT,
    PRIMARY KEY (batch_id, row_index)
)
"""
_INSERT = f"INSERT OR REPLACE INTO batch_rows ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


class BatchBusy(RuntimeError):
    """Another live process is running this batch."""


def read_row_results(batch_dir: Path) -> dict[int, RowResult]:
    """Row index -> its latest result, from rows.jsonl; a torn last line (a killed writer) is ignored."""
    try:
        raw = (Path(batch_dir) / ROWS_NAME).read_bytes()
    except FileNotFoundError:
        return {}
    out: dict[int, RowResult] = {}
    lines = raw.split(b"\n")
    lines.pop()  # after the last newline: empty, or a torn line
    for line in lines:
        if not line.strip():
            continue
        try:
            result = RowResult.from_json(json.loads(line))
        except (ValueError, TypeError, KeyError):
            continue
        out[result.index] = result
    return out


def read_batch(batch_dir: Path) -> dict[str, Any]:
    """batch.json, with `status` read back: a `running` batch whose process died is `interrupted`."""
    path = Path(batch_dir) / BATCH_NAME
    data: dict[str, Any] = json.loads(path.read_bytes())
    if data.get("status") == "running" and not process_alive(data):
        data["status"] = "interrupted"
    return data


def _row_values(batch_id: str, r: RowResult) -> tuple[Any, ...]:
    checks = json.dumps(r.checks, ensure_ascii=False) if r.checks else None
    return (
        batch_id,
        r.index,
        r.run_id,
        r.status,
        int(r.passed),
        r.latency_ms,
        r.cost,
        r.tokens,
        r.error,
        r.label,
        checks,
    )


class BatchStore:
    """One batch's folder and rows, opened by the one process that runs it."""

    def __init__(self, run_root: Path, batch_id: str) -> None:
        self.run_root = Path(run_root)
        self.batch_id = batch_id
        self.dir = self.run_root / BATCHES_DIR / batch_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock: IO[bytes] | None = None
        self._rows_fd: int | None = None
        self._conn: sqlite3.Connection | None = None
        self.results: dict[int, RowResult] = {}

    # -- lifecycle ------------------------------------------------------------------------------

    def open(self) -> dict[int, RowResult]:
        """Lock the batch, read what is already done, bring the table in line; returns the done rows."""
        self._take_lock()
        self.results = read_row_results(self.dir)
        self._rows_fd = os.open(self.dir / ROWS_NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._repair_torn_tail()
        RunIndex(self.run_root).close()  # the run index makes (or recovers) the file first
        conn = sqlite3.connect(self.run_root / "index.sqlite", timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        self._conn = conn
        self._sync_table()
        return dict(self.results)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._rows_fd is not None:
            os.close(self._rows_fd)
            self._rows_fd = None
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None

    def __enter__(self) -> BatchStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _take_lock(self) -> None:
        lock = open(self.dir / LOCK_NAME, "a+b")  # noqa: SIM115 - held until close()
        try:
            import fcntl
        except ImportError:  # not POSIX: no cross-process guard, one batch per root at a time
            self._lock = lock
            return
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            owner = ""
            with contextlib.suppress(OSError, ValueError):
                owner = f" (pid {read_batch(self.dir).get('pid')})"
            raise BatchBusy(f"batch {self.batch_id} is being run by another process{owner}") from None
        self._lock = lock

    def _repair_torn_tail(self) -> None:
        """A killed writer may leave half a line: end it, so the next line starts clean."""
        path = self.dir / ROWS_NAME
        size = path.stat().st_size
        if size:
            with open(path, "rb") as f:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    assert self._rows_fd is not None
                    os.write(self._rows_fd, b"\n")

    def _sync_table(self) -> None:
        conn = self._conn
        assert conn is not None
        with write_transaction(conn):
            conn.execute(_SCHEMA)
            columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(batch_rows)"))
            if columns != _COLUMNS:  # an older layout: the file holds the truth, start the table again
                conn.execute("DROP TABLE batch_rows")
                conn.execute(_SCHEMA)
            have = conn.execute("SELECT count(*) FROM batch_rows WHERE batch_id = ?", (self.batch_id,)).fetchone()[0]
            if have != len(self.results):
                conn.execute("DELETE FROM batch_rows WHERE batch_id = ?", (self.batch_id,))
                conn.executemany(_INSERT, [_row_values(self.batch_id, r) for r in self.results.values()])

    # -- records --------------------------------------------------------------------------------

    def write_batch(self, record: dict[str, Any], *, durable: bool = False) -> None:
        atomic_write(
            self.dir / BATCH_NAME, (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode(), fsync=durable
        )

    def identity(self) -> dict[str, Any]:
        return {**process_identity(), "updated_at": utc_timestamp()}

    def record(self, results: list[RowResult]) -> None:
        """Append finished rows to rows.jsonl (one write each) and the table (one transaction)."""
        if not results:
            return
        assert self._rows_fd is not None and self._conn is not None
        for r in results:
            os.write(self._rows_fd, (json.dumps(r.to_json(), ensure_ascii=False) + "\n").encode())
            self.results[r.index] = r
        with write_transaction(self._conn):
            self._conn.executemany(_INSERT, [_row_values(self.batch_id, r) for r in results])


def table_rows(run_root: Path, batch_id: str) -> list[dict[str, Any]]:
    """The batch's rows as stored in index.sqlite, by row index (for quick listing)."""
    conn = sqlite3.connect(Path(run_root) / "index.sqlite", timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        cursor = conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM batch_rows WHERE batch_id = ? ORDER BY row_index", (batch_id,)
        )
        rows = [dict(zip(_COLUMNS, values, strict=True)) for values in cursor]
    finally:
        conn.close()
    for row in rows:
        row["passed"] = bool(row["passed"])
        row["checks"] = json.loads(row["checks"]) if row["checks"] else []
    return rows
