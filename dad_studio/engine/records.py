"""The run's records: the RunWriter sink, the telemetry sink, the flow snapshot, the index.

Both sinks receive every event synchronously, before handlers and subscribers, so what the studio
or the CLI has seen is already on disk. Telemetry is optional: `dad_studio.observability` provides
`RunTelemetry` when that feature is installed; until then `telemetry_class()` says it is absent.

Closing is where a run used to spend a quarter of its time: the index re-read the whole event log
it had just been written, and the telemetry flush ran on the event loop (the studio's GUI thread).
Now the recorder keeps the last record of every element as it passes (one dict assignment per
event) and hands it to the index, and `aclose` does the blocking part in an executor thread. The
index rows themselves are written after the run returns (derived data; `wait_closed` waits for them).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dad_studio import __version__
from dad_studio.engine.redaction import run_redactor
from dad_studio.engine.run_context import RunContext
from dad_studio.model.definitions import ComponentDefinition
from dad_studio.runs.redact import Redactor

__all__ = ["Recorder", "flow_snapshot", "telemetry_class"]

log = logging.getLogger(__name__)

YIELD_S = 0.001
"""How long the records thread steps aside before its background work (`_let_the_loop_in`)."""


def telemetry_class() -> type[Any] | None:
    """`dad_studio.observability.RunTelemetry` if the feature exists, else None (a feature check:
    an import error inside the feature itself still raises)."""
    module = importlib.import_module("dad_studio.observability")
    cls: type[Any] | None = getattr(module, "RunTelemetry", None)
    return cls


_NODE_ROW_TYPES = frozenset({"node_completed", "node_loaded", "node_skipped"})
_COMMON_KEYS = frozenset({"seq", "ts", "type", "path"})


def flow_snapshot(component: ComponentDefinition, source: bytes | None = None) -> bytes:
    """The exact definition that ran, as a flow file.

    `source`: the bytes of the file the definition was loaded from, when it has not been changed
    since (the CLI): the snapshot is then that file, byte for byte. Otherwise the definition is
    serialised by pydantic-core (about 1 ms for 1,000 nodes, against 16 ms for the canonical
    writer of dad_studio.fileformat); the result loads back to an equal definition.
    """
    if source is not None:
        return bytes(source)
    from dad_studio.fileformat.migrate import FORMAT_NAME, SCHEMA_VERSION

    root = component.model_dump_json(by_alias=True, exclude_defaults=True, indent=2)
    head = f'{{"format": "{FORMAT_NAME}", "schema_version": {SCHEMA_VERSION}, "root": '
    return head.encode() + root.encode("utf-8") + b"}\n"


class Recorder:
    """Opens the run folder and holds the sinks for one run."""

    def __init__(self, run_context: RunContext, run_dir: Path, redactor: Redactor | None = None) -> None:
        from dad_studio.runs import RunWriter

        self.run_context = run_context
        self.run_dir = run_dir
        self.redactor = redactor if redactor is not None else run_redactor(run_context)
        """The run's secrets; the bus has scrubbed every event with it, the writer scrubs the manifest
        and blobs with it again."""
        self.writer = RunWriter(
            run_dir,
            durability=run_context.durability,
            secrets=self.redactor.secrets,
            secret_names=self.redactor.secret_names,
        )
        self.telemetry: Any = None
        self.node_rows: dict[str, dict[str, Any]] = {}
        """Hierarchy path -> the last node_completed / node_loaded / node_skipped event (for the index)."""
        self._closed = False
        self._close_lock = threading.Lock()
        self._close_done = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        """One thread per run for the index: it opens index.sqlite while the run goes on (so the disk
        waits overlap the run) and records the run at the end; an sqlite connection stays in the
        thread that made it. `aopen` opens the folder there too; `aclose` closes it in another thread."""
        self._index_future: Future[Any] | None = None
        self._closing_thread: int | None = None
        """The thread running the first `close`: a second call there (re-entrant) must not wait for it."""
        self._last_task: Future[Any] | None = None
        """The index rows and the connection's close, left to finish after the run returns (see
        `wait_closed`)."""

    def open(self, manifest: dict[str, Any], snapshot: bytes) -> list[Callable[[dict[str, Any]], None]]:
        """Create the folder; returns the sinks to attach to the event bus, writer first."""
        manifest = {
            **manifest,
            "flow_sha256": hashlib.sha256(snapshot).hexdigest(),
            "dad_studio_version": __version__,
        }
        self.writer.open(manifest, snapshot)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dad-records")
        self._index_future = self._pool.submit(self._open_index)
        sinks: list[Callable[[dict[str, Any]], None]] = [self.writer.append, self._collect]
        if self.run_context.telemetry_enabled():
            cls = telemetry_class()
            if cls is not None:
                self.telemetry = cls(self.run_dir, self.run_context.observability_settings)
                sinks.append(self.telemetry.on_event)
        return sinks

    async def aopen(
        self, manifest: dict[str, Any], snapshot: Callable[[], bytes]
    ) -> list[Callable[[dict[str, Any]], None]]:
        """`open` (and the flow snapshot) in the run's records thread: the folder, the snapshot, run.json
        and the telemetry's start-up (providers, trace files, its first import) kept the event loop (the
        studio's GUI thread) blocked for tens of ms at every run start. A cancel while it opens waits
        for the open (short) and closes the folder as cancelled, so no run is left `running`."""
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dad-records")
        opening = self._pool.submit(lambda: self.open(manifest, snapshot()))
        try:
            return await asyncio.shield(asyncio.wrap_future(opening))
        except asyncio.CancelledError:
            try:
                opening.result()
            finally:
                self.close(status="cancelled")
            raise
        except BaseException:
            pool, self._pool = self._pool, None  # never opened: nothing to close or index
            if pool is not None:
                pool.shutdown(wait=False)
            raise

    def _collect(self, event: dict[str, Any]) -> None:
        if event["type"] in _NODE_ROW_TYPES:
            self.node_rows[event["path"]] = event

    def index_rows(self) -> dict[str, dict[str, Any]]:
        """What the index stores of each element: its last result event as it passed (scrubbed already:
        the bus ran the run's redactor over every event before any sink saw it), a skipped element with
        its status. The rows carry the event's `seq`/`ts`/`type`/`path` too; the index reads only the
        result fields, so no copy of every row is made at the end of the run (~20 µs a node)."""
        rows = self.node_rows
        skipped = [path for path, event in rows.items() if event["type"] == "node_skipped"]
        if not skipped:
            return rows
        rows = dict(rows)
        for path in skipped:
            rows[path] = {"status": "skipped", **rows[path]}
        return rows

    def summary_rows(self) -> dict[str, dict[str, Any]]:
        """Hierarchy path -> the fields of its last result event, in the shape and with the redaction
        `dad_studio.runs.read_run(...).results` gives them (so the index gets what a re-read would)."""
        rows: dict[str, dict[str, Any]] = {}
        for path, event in self.node_rows.items():
            row = {k: v for k, v in event.items() if k not in _COMMON_KEYS}
            if event["type"] == "node_skipped":
                row.setdefault("status", "skipped")
            rows[path] = self.redactor.scrub(row)
        return rows

    def artifact_dir(self, hier_path: str) -> Path:
        return self.writer.artifact_dir(hier_path)

    async def aclose(self, **final_fields: Any) -> None:
        """`close` in an executor thread, so the event loop (the GUI) does not wait on the telemetry
        flush and the manifest. Called once no event can be emitted any more.

        Not in the records thread: that one may still be opening the index (24-55 ms for a new run
        root, its file and schema made with their fsyncs), and a run of a few tens of ms waited that
        long to close. The index rows are queued behind the open anyway (`_index`)."""
        if self._closed:
            return
        await asyncio.get_running_loop().run_in_executor(None, lambda: self.close(**final_fields))

    def close(self, **final_fields: Any) -> None:
        """Flush and close everything; safe to call twice, from any thread, on any path out of a run.

        A second call while the first is still closing waits for it to finish (except in the thread
        running the first call, which would wait for itself)."""
        with self._close_lock:
            first = not self._closed
            self._closed = True
            if first:
                self._closing_thread = threading.get_ident()
        if not first:
            if threading.get_ident() != self._closing_thread:
                self._close_done.wait()
            return
        try:
            self._close(**final_fields)
        finally:
            self._close_done.set()

    def _close(self, **final_fields: Any) -> None:
        try:
            if self.telemetry is not None:
                try:
                    self.telemetry.shutdown()
                except Exception:
                    log.exception("telemetry shutdown failed for %s", self.run_dir)
        finally:
            self.writer.close(**final_fields)
            self._index()

    def wait_closed(self, timeout: float | None = None) -> None:
        """Block until the records thread has nothing left to do (the run's index rows written, the
        index connection closed and its WAL checkpointed). IsolatedExecution waits for this on exit;
        so should code that deletes or measures the run root right after `runner.run()`."""
        task = self._last_task
        if task is not None:
            task.result(timeout)

    async def aclosed(self) -> None:
        """`wait_closed` without blocking the event loop."""
        task = self._last_task
        if task is not None:
            await asyncio.wrap_future(task)

    def _open_index(self) -> Any:
        from dad_studio.runs import RunIndex

        _let_the_loop_in()
        return RunIndex(self.run_context.resolved_run_root)

    def _index(self) -> None:
        """Leave the index to the records thread's last task: the run returns without waiting for it.

        The index is derived data (RUNS.md): the run's own files are complete and closed by now, and
        a reader that lists the root before the row is written indexes the folder itself (its
        refresh). Writing a 1,000-node run's rows was ~12 ms of the run's end; `wait_closed` (or
        `aclosed`) waits for it, as the CLI, IsolatedExecution and the studio do."""
        pool, self._pool = self._pool, None
        if pool is None:
            return  # never opened: no folder, nothing to index
        self._last_task = pool.submit(self._record)
        pool.shutdown(wait=False)  # the queued task still runs; the thread ends after it

    def _record(self) -> None:
        """Record the run in the index and close its connection (the WAL checkpoint, with its
        fsyncs), in the thread that opened it."""
        _let_the_loop_in()
        try:
            assert self._index_future is not None
            index = self._index_future.result()
            try:
                record_summary = getattr(index, "record_summary", None)
                if record_summary is not None:
                    # What the log says, without reading it back: the manifest as written, the rows as emitted.
                    record_summary(self.writer.manifest, self.index_rows())
                else:
                    index.record_run(self.run_dir)
            finally:
                index.close()
        except Exception:
            # The index is derived data (rebuilt from the folders); a failure must not lose the run.
            log.exception("could not index run %s", self.run_dir)


def _let_the_loop_in() -> None:
    """Step aside for a moment before the records thread's background work (the index's open, its
    rows): the task just finished (the open, the close) has woken the event loop, which needs the GIL
    to go on, and would otherwise wait for this thread to block or for the interpreter's switch
    interval (5 ms). Measured: the run's start and end each waited ~1-5 ms for it."""
    time.sleep(YIELD_S)
