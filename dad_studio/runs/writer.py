"""RunWriter: the one place a run's folder is written (RUNS.md).

The hot path is `append`: one JSON line per event, copied into the log's shared memory map
(`dad_studio.runs.eventlog`), so a kill -9 at any instant loses at most the line being written (which
the reader drops as torn) and nothing is left in a user-space buffer. Large values go to
content-addressed blobs first, so the log stays small enough to replay quickly. Secrets are redacted
before anything reaches the disk.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from dad_studio.runs.common import (
    ARTIFACTS_DIR,
    BLOB_THRESHOLD,
    BLOBS_DIR,
    EVENTS_NAME,
    FLOW_SNAPSHOT_NAME,
    MANIFEST_FIELDS,
    MANIFEST_NAME,
    atomic_write,
    dumps_bytes,
    dumps_line,
    process_identity,
    utc_timestamp,
)
from dad_studio.runs.eventlog import LogFile
from dad_studio.runs.redact import Redactor, scrub

Durability = Literal["process", "power"]

_COMMON_KEYS = frozenset({"seq", "ts", "type", "path"})
_FSYNC_TYPES = frozenset({"node_completed", "run_completed"})


class RunWriter:
    """Writes one run folder; one per run, used from the event loop thread only (not thread-safe)."""

    def __init__(
        self,
        run_dir: Path,
        *,
        durability: Durability = "process",
        secret_names: Iterable[str] = (),
        secrets: Iterable[str] = (),
    ) -> None:
        if durability not in ("process", "power"):
            raise ValueError(f"durability must be 'process' or 'power', not {durability!r}")
        self._run_dir = Path(run_dir)
        self._durability: Durability = durability
        self._redactor = Redactor(secrets, secret_names)
        self._log: LogFile | None = None
        self._closed = False
        self._manifest: dict[str, Any] = {}
        self._run_completed: dict[str, Any] | None = None
        self._made_dirs: set[Path] = set()

    @property
    def run_dir(self) -> Path:
        return self._run_dir

    @property
    def events_path(self) -> Path:
        return self._run_dir / EVENTS_NAME

    @property
    def manifest(self) -> dict[str, Any]:
        """A copy of the manifest as last written."""
        return dict(self._manifest)

    # -- opening and the manifest ---------------------------------------------------------------

    def open(self, manifest: dict[str, Any], flow_snapshot: bytes) -> None:
        """Create the folder, the flow snapshot, run.json (status running) and the event log."""
        if self._log is not None or self._closed:
            raise RuntimeError(f"run writer for {self._run_dir} was already opened")
        self._run_dir.mkdir(parents=True, exist_ok=True)
        # a key typed into a node's settings stays out of the folder
        snapshot = self._redactor.json_bytes(bytes(flow_snapshot))
        atomic_write(self._run_dir / FLOW_SNAPSHOT_NAME, snapshot, fsync=self._durability == "power")
        full: dict[str, Any] = {key: None for key in MANIFEST_FIELDS}
        full.update({"counts": {}, "usage": {}, "variables": {}})
        full.update(manifest)
        full.update(process_identity())
        full["run_id"] = full.get("run_id") or self._run_dir.name
        full["status"] = "running"
        full["started_at"] = full.get("started_at") or utc_timestamp()
        full["flow_sha256"] = full.get("flow_sha256") or hashlib.sha256(flow_snapshot).hexdigest()
        self._manifest = self._redact(full)
        self._write_manifest()
        self._log = LogFile(self.events_path)  # an existing log (--resume) loses a killed writer's torn tail
        if self._durability == "power":
            _fsync_dir(self._run_dir)  # the new names (log, snapshot, manifest) survive a power cut too

    def update_manifest(self, **fields: Any) -> None:
        """Merge fields into run.json and rewrite it atomically."""
        self._manifest.update(self._redact(fields))
        self._write_manifest()

    def _write_manifest(self) -> None:
        # Atomic (a reader or a kill sees the old file or the new one); fsynced only for "power"
        # durability, like the log: "process" durability is about a killed process, which cannot
        # lose what the kernel already holds. The fsyncs (file and folder) cost 1-3 ms each time.
        data = (json.dumps(self._manifest, ensure_ascii=False, indent=2, default=str) + "\n").encode()
        atomic_write(self._run_dir / MANIFEST_NAME, data, fsync=self._durability == "power")

    # -- the event log --------------------------------------------------------------------------

    def append(self, event: dict[str, Any]) -> None:
        """Write one event as one line; durable against kill -9 when it returns."""
        log = self._log
        if log is None:
            raise RuntimeError("RunWriter.append before open() or after close()")
        redactor = self._redactor
        if redactor.secret_names and event.get("type") == "run_started":
            event = redactor.hide_variables(event)
        data = dumps_line(event)
        if redactor.secrets and redactor.in_json(data):
            event = scrub(event, redactor.secrets)
            data = dumps_line(event)
        if len(data) > BLOB_THRESHOLD:  # the line without its newline is >= the threshold
            event = self._externalize(event)
            data = dumps_line(event)
        log.append(data)
        etype = event.get("type")
        if etype in _FSYNC_TYPES:
            if etype == "run_completed":
                self._run_completed = event
            if self._durability == "power":
                log.sync()

    def _externalize(self, event: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in event.items():
            if key not in _COMMON_KEYS and value is not None:
                encoded = dumps_bytes(value)
                if len(encoded) > BLOB_THRESHOLD:
                    out[key] = self._store_blob(encoded)
                    continue
            out[key] = value
        return out

    # -- blobs and artifacts --------------------------------------------------------------------

    def write_blob(self, data: bytes) -> dict[str, Any]:
        """Store bytes under blobs/<sha256> (once per content) and return the reference."""
        return self._store_blob(self._redactor.raw_bytes(bytes(data)))

    def _store_blob(self, data: bytes) -> dict[str, Any]:
        sha = hashlib.sha256(data).hexdigest()
        folder = self._run_dir / BLOBS_DIR
        if folder not in self._made_dirs:
            folder.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add(folder)
        target = folder / sha
        if not target.exists():
            # Written before the event that names it, so a log line never points at a missing blob.
            atomic_write(target, data, fsync=self._durability == "power", sweep_stale=False)
        return {"$blob": sha, "size": len(data)}

    def artifact_dir(self, hier_path: str) -> Path:
        """`artifacts/<hier path with dots as folders>/`, created on first use."""
        parts = hier_path.split(".")
        if not hier_path or any(p in ("", ".", "..") or "/" in p or "\\" in p for p in parts):
            raise ValueError(f"invalid hierarchy path {hier_path!r}")
        folder = self._run_dir.joinpath(ARTIFACTS_DIR, *parts)
        if folder not in self._made_dirs:
            folder.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add(folder)
        return folder

    # -- closing --------------------------------------------------------------------------------

    def close(self, **final_fields: Any) -> None:
        """Write the final run.json and close the log; a second call does nothing."""
        if self._closed:
            return
        self._closed = True
        if self._log is not None:
            self._log.close()
            self._log = None
        if not self._manifest:
            return  # never opened: there is no folder to finish
        final: dict[str, Any] = {}
        if self._run_completed is not None:
            for key in ("status", "counts", "usage", "duration_ms"):
                if key in self._run_completed:
                    final[key] = self._run_completed[key]
        final.update(final_fields)
        final.setdefault("ended_at", utc_timestamp())
        if final.get("status") in (None, "running"):
            final["status"] = "interrupted"  # closed without saying how the run ended
        self.update_manifest(**final)

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- secrets --------------------------------------------------------------------------------

    def _redact(self, fields: dict[str, Any]) -> dict[str, Any]:
        redactor = self._redactor
        fields = redactor.hide_variables(fields)
        return scrub(fields, redactor.secrets) if redactor.secrets else fields


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # platforms that cannot open a directory (Windows) have no directory fsync either
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
