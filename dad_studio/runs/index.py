"""index.sqlite: every run of a run root in two tables, to list, filter and compare runs quickly.

The index is derived data, the folders are the truth: a missing, corrupt or outdated index is rebuilt
or refreshed from them, never trusted over them. Each row remembers the size and mtime of the run.json
and the size of the events.jsonl it was read from, so a refresh re-reads only the folders that changed
and the runs indexed while still running (their log grows without changing size, runs.eventlog).
Several processes may record into one root: WAL mode, a busy timeout and one short write transaction
per run keep the file whole.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dad_studio.runs.common import (
    EVENTS_NAME,
    INDEX_NAME,
    MANIFEST_FIELDS,
    MANIFEST_NAME,
    RunNotFound,
)
from dad_studio.runs.reader import RunRecord, _sum_usage, derive_status, read_run

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    run_dir TEXT NOT NULL,
    status TEXT,
    root_component_id TEXT,
    flow_file TEXT,
    flow_sha256 TEXT,
    started_at TEXT,
    ended_at TEXT,
    previous_run_id TEXT,
    start_hierarchy_path TEXT,
    variables TEXT,
    pid INTEGER,
    host TEXT,
    dad_studio_version TEXT,
    counts TEXT,
    tokens INTEGER,
    cost REAL,
    duration_ms REAL,
    manifest TEXT NOT NULL,
    manifest_mtime_ns INTEGER,
    manifest_size INTEGER,
    events_size INTEGER
);
CREATE INDEX runs_started ON runs (started_at);
CREATE TABLE node_results (
    run_id TEXT NOT NULL,
    path TEXT NOT NULL,
    type TEXT,
    status TEXT,
    started_at TEXT,
    ended_at TEXT,
    duration_ms REAL,
    tokens INTEGER,
    cost REAL,
    error TEXT,
    PRIMARY KEY (run_id, path)
);
"""

_ORDER_COLUMNS = frozenset(
    {"started_at", "ended_at", "run_id", "status", "root_component_id", "tokens", "cost", "duration_ms"}
)
_RUN_COLUMNS = (
    "run_id, run_dir, status, root_component_id, flow_file, flow_sha256, started_at, ended_at, previous_run_id, "
    "start_hierarchy_path, variables, pid, host, dad_studio_version, counts, tokens, cost, duration_ms, manifest, "
    "manifest_mtime_ns, manifest_size, events_size"
)
_NODE_COLUMNS = ("path", "type", "status", "started_at", "ended_at", "duration_ms", "tokens", "cost", "error")

ROW_FIELDS = (
    "run_id",
    "root_component_id",
    "flow_file",
    "status",
    "started_at",
    "ended_at",
    "duration_ms",
    "cost",
    "tokens",
    "start_hierarchy_path",
    "previous_run_id",
    "manifest",
)
"""Columns of `RunIndex.rows()`, in order; `manifest` is the listed manifest as JSON text."""
RunRow = tuple[Any, ...]

Stamp = tuple[int, int, int]
"""(run.json mtime_ns, run.json size, events.jsonl size): what a row was indexed from."""


class RunIndex:
    """The index of one run root (`<run_root>/index.sqlite`)."""

    def __init__(self, run_root: Path) -> None:
        self.run_root = Path(run_root)
        self.path = self.run_root / INDEX_NAME
        self._conn = self._open()

    # -- connection, schema, corruption ---------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        self.run_root.mkdir(parents=True, exist_ok=True)
        try:
            return self._connect()
        except sqlite3.DatabaseError:
            self._set_aside()  # not a database: start a fresh one, the folders will fill it again
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            if not self._schema_ok(conn):
                with write_transaction(conn):
                    if not self._schema_ok(conn):  # another process may have just made it
                        conn.execute("DROP TABLE IF EXISTS runs")
                        conn.execute("DROP TABLE IF EXISTS node_results")
                        for statement in _SCHEMA.split(";"):
                            if statement.strip():
                                conn.execute(statement)
                        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _schema_ok(conn: sqlite3.Connection) -> bool:
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            return False
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {"runs", "node_results"} <= tables

    def _recover(self) -> None:
        """The file broke after it was opened (malformed pages): set it aside and start again."""
        self._conn.close()
        self._set_aside()
        self._conn = self._connect()

    def _set_aside(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.replace(self.path, self.path.with_name(INDEX_NAME + ".corrupt"))
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path.with_name(INDEX_NAME + suffix))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> RunIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------------

    def record_run(self, run_dir: Path) -> None:
        """Upsert the run's row and replace its node rows, from the folder, in one transaction."""
        run_dir = Path(run_dir)
        stamp = _stamp(run_dir)  # before reading: a change during the read shows up at the next refresh
        record = read_run(run_dir)
        with write_transaction(self._conn):
            self._store(record, stamp)

    def record_summary(
        self, manifest: dict[str, Any], node_rows: dict[str, dict[str, Any]], *, run_dir: Path | None = None
    ) -> None:
        """Upsert a run the engine has just closed, from what it already holds: no re-read of its log.

        `manifest` is run.json as last written and `node_rows` the latest result per hierarchy path, in
        the shape (and redaction) of `read_run(...).results`. The rows stored are those `record_run`
        would store for the same folder (status, counts and usage derived the same way), stamped with
        the folder's files as they are now, so a later `refresh` sees the row as current. Re-reading
        events.jsonl here used to be ~40% of a 1,000-node run with records on.
        """
        manifest = dict(manifest)
        for key in MANIFEST_FIELDS:
            manifest.setdefault(key, None)
        run_id = str(manifest["run_id"] or (run_dir.name if run_dir is not None else ""))
        if not run_id:
            raise ValueError("record_summary needs a manifest with a run_id (or run_dir)")
        manifest["run_id"] = run_id
        run_dir = Path(run_dir) if run_dir is not None else self.run_root / run_id
        stamp = _stamp(run_dir)
        counts = _dict_of(manifest.get("counts"))
        if not counts:
            for row in node_rows.values():
                key = str(row.get("status"))
                counts[key] = counts.get(key, 0) + 1
        usage = _dict_of(manifest.get("usage")) or _sum_usage(node_rows)
        record = RunRecord(
            run_id=run_id,
            run_dir=run_dir,
            manifest=manifest,
            status=derive_status(manifest, None),
            results=node_rows,
            counts=counts,
            usage=usage,
        )
        with write_transaction(self._conn):
            self._store(record, stamp)

    def _store(self, record: RunRecord, stamp: Stamp | None) -> None:
        manifest = _listed_manifest(record)
        usage = record.usage
        mtime, size, events_size = stamp or (None, None, None)
        self._conn.execute(
            f"INSERT OR REPLACE INTO runs ({_RUN_COLUMNS}) VALUES ({', '.join('?' * 22)})",
            (
                record.run_id,
                str(record.run_dir),
                record.status,
                manifest.get("root_component_id"),
                manifest.get("flow_file"),
                manifest.get("flow_sha256"),
                manifest.get("started_at"),
                manifest.get("ended_at"),
                manifest.get("previous_run_id"),
                manifest.get("start_hierarchy_path"),
                _json(manifest.get("variables")),
                manifest.get("pid"),
                manifest.get("host"),
                manifest.get("dad_studio_version"),
                _json(record.counts),
                _number(usage.get("total_tokens", usage.get("tokens"))),
                _number(usage.get("cost")),
                _number(manifest.get("duration_ms")),
                _json(manifest),
                mtime,
                size,
                events_size,
            ),
        )
        self._conn.execute("DELETE FROM node_results WHERE run_id = ?", (record.run_id,))
        self._conn.executemany(
            f"INSERT INTO node_results (run_id, {', '.join(_NODE_COLUMNS)}) VALUES ({', '.join('?' * 10)})",
            _node_rows(record.run_id, record.results),
        )

    def rebuild(self) -> None:
        """Forget every row and index every folder again."""
        records = list(self._read_folders(self._scan()))
        with write_transaction(self._conn):
            self._conn.execute("DELETE FROM runs")
            self._conn.execute("DELETE FROM node_results")
            for record, stamp in records:
                self._store(record, stamp)

    def refresh(self) -> None:
        """Bring the index up to date with the folders: add new, re-read changed, drop vanished runs."""
        on_disk = self._scan()
        rows = {
            row[0]: row[1:]
            for row in self._conn.execute(
                "SELECT run_id, manifest_mtime_ns, manifest_size, events_size, status FROM runs"
            )
        }
        stale: dict[str, tuple[Path, Stamp]] = {}
        for run_id, (run_dir, stamp) in on_disk.items():
            row = rows.get(run_id)
            if row is None or tuple(row[:3]) != stamp:
                stale[run_id] = (run_dir, stamp)
            elif row[3] == "running":
                # A live log grows inside its mapped window, its size unchanged (runs.eventlog), and
                # its writer may have died since (now interrupted): read it again.
                stale[run_id] = (run_dir, stamp)
        gone = [run_id for run_id in rows if run_id not in on_disk]
        if not stale and not gone:
            return
        records = list(self._read_folders(stale))
        with write_transaction(self._conn):
            for run_id in gone:
                self._delete_rows(run_id)
            for record, stamp in records:
                self._store(record, stamp)

    def delete_run(self, run_id: str) -> None:
        """Remove the run's folder and rows; refuses a run whose process is still running."""
        run_dir = self.run_root / run_id
        if "/" in run_id or "\\" in run_id or run_id in ("", ".", ".."):
            raise RunNotFound(f"invalid run id {run_id!r}")
        has_row = self._conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is not None
        if not run_dir.is_dir() and not has_row:
            raise RunNotFound(f"no run {run_id!r} under {self.run_root}")
        if run_dir.is_dir():
            with contextlib.suppress(RunNotFound):
                record = read_run(run_dir, load_events=False)
                if record.status == "running":
                    raise RuntimeError(f"run {run_id} is still running (pid {record.manifest.get('pid')})")
            shutil.rmtree(run_dir)
        with write_transaction(self._conn):
            self._delete_rows(run_id)

    def _delete_rows(self, run_id: str) -> None:
        self._conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
        self._conn.execute("DELETE FROM node_results WHERE run_id = ?", (run_id,))

    # -- reading --------------------------------------------------------------------------------

    def _refresh_or_recover(self) -> None:
        try:
            self.refresh()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise  # locked or unwritable: not a reason to throw the index away
            self._recover()
            self.refresh()

    def list(
        self,
        *,
        flow: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        order: str = "-started_at",
        refresh: bool = True,
    ) -> list[dict[str, Any]]:
        """Run manifests (status as read back: `interrupted` for dead writers), filtered and ordered.

        `flow` matches the root component id or the flow file (its path or its name).
        """
        if refresh:
            self._refresh_or_recover()
        column = order.lstrip("-+")
        if column not in _ORDER_COLUMNS:
            raise ValueError(f"cannot order runs by {order!r}; use one of {', '.join(sorted(_ORDER_COLUMNS))}")
        direction = "DESC" if order.startswith("-") else "ASC"
        sql = "SELECT manifest FROM runs"
        clauses: list[str] = []
        params: list[Any] = []
        if flow is not None:
            clauses.append("(root_component_id = ? OR flow_file = ? OR flow_file LIKE ? ESCAPE '\\')")
            escaped = flow.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params += [flow, flow, f"%/{escaped}"]
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {column} IS NULL, {column} {direction}, run_id {direction}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [json.loads(row[0]) for row in self._conn.execute(sql, params)]

    def rows(self, *, refresh: bool = False) -> builtins.list[RunRow]:
        """Every run as one light tuple (ROW_FIELDS), newest first: the history table's one query.

        No JSON is parsed: the table shows the indexed columns, and the manifest (its last field, as
        stored) is read only for the runs a user selects. Status is the one read back, like `list`.
        """
        if refresh:
            self._refresh_or_recover()
        cursor = self._conn.execute(
            f"SELECT {', '.join(ROW_FIELDS)} FROM runs ORDER BY started_at IS NULL, started_at DESC, run_id DESC"
        )
        return cursor.fetchall()

    def node_results(self, run_id: str) -> builtins.list[dict[str, Any]]:
        """Rows of node_results for one run, in hierarchy-path order."""
        run_dir = self.run_root / run_id
        stamp = _stamp(run_dir) if (run_dir / MANIFEST_NAME).is_file() else None
        row = self._conn.execute(
            "SELECT manifest_mtime_ns, manifest_size, events_size, status FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        if stamp is not None and (row is None or tuple(row[:3]) != stamp or row[3] == "running"):
            self.record_run(run_dir)  # new, changed, or still running (its log grows in place)
        cursor = self._conn.execute(
            f"SELECT {', '.join(_NODE_COLUMNS)} FROM node_results WHERE run_id = ? ORDER BY path", (run_id,)
        )
        return [dict(zip(_NODE_COLUMNS, values, strict=True)) for values in cursor]

    # -- folders --------------------------------------------------------------------------------

    def _scan(self) -> dict[str, tuple[Path, Stamp]]:
        found: dict[str, tuple[Path, Stamp]] = {}
        with os.scandir(self.run_root) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_dir():
                    continue
                stamp = _stamp(Path(entry.path))
                if stamp is not None:
                    found[entry.name] = (Path(entry.path), stamp)
        return found

    @staticmethod
    def _read_folders(folders: dict[str, tuple[Path, Stamp]]) -> Iterator[tuple[RunRecord, Stamp]]:
        for run_dir, stamp in folders.values():
            try:
                yield read_run(run_dir), stamp
            except RunNotFound:
                continue  # vanished or unreadable since the scan: not a run to list


def list_runs(run_root: Path) -> list[dict[str, Any]]:
    """Manifests of every run under `run_root`, newest first (through the index, refreshed)."""
    run_root = Path(run_root)
    if not run_root.is_dir():
        return []
    try:
        with RunIndex(run_root) as index:
            return index.list()
    except sqlite3.Error:
        # An index we cannot write (read-only disk, locked too long) must not hide the runs.
        return _scan_manifests(run_root)


def _scan_manifests(run_root: Path) -> list[dict[str, Any]]:
    manifests = []
    for entry in sorted(run_root.iterdir()):
        try:
            manifests.append(_listed_manifest(read_run(entry)))
        except RunNotFound:
            continue
    manifests.sort(key=lambda m: (m.get("started_at") or "", m.get("run_id") or ""), reverse=True)
    return manifests


def _listed_manifest(record: RunRecord) -> dict[str, Any]:
    """The manifest as listed: status, counts and usage as read back from the log."""
    manifest = dict(record.manifest)
    manifest["status"] = record.status
    manifest["counts"] = record.counts
    manifest["usage"] = record.usage
    return manifest


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction on an autocommit connection (`isolation_level=None`).

    BEGIN IMMEDIATE takes the write lock up front, so two writers wait on busy_timeout instead of
    one failing at its first write after reading; any exception (a cancel too) rolls back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _stamp(run_dir: Path) -> Stamp | None:
    try:
        manifest = os.stat(run_dir / MANIFEST_NAME)
    except OSError:
        return None
    try:
        events_size = os.stat(run_dir / EVENTS_NAME).st_size
    except OSError:
        events_size = 0
    return (manifest.st_mtime_ns, manifest.st_size, events_size)


def _node_rows(run_id: str, results: dict[str, dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The node_results rows of a run, one tuple per element."""
    rows = []
    for path, result in results.items():
        usage = result.get("usage")
        if not isinstance(usage, dict):
            usage = {}
        rows.append(
            (
                run_id,
                path,
                result.get("node_type"),
                result.get("status"),
                result.get("started_at"),
                result.get("ended_at"),
                _number(result.get("duration_ms")),
                _number(usage.get("total_tokens")),
                _number(usage.get("cost")),
                _error_message(result.get("error")),
            )
        )
    return rows


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def _dict_of(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _number(value: Any) -> float | int | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _error_message(error: Any) -> str | None:
    if error is None:
        return None
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error)
