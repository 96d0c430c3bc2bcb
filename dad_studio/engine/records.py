"""The run's records: the RunWriter sink, the telemetry sink, the flow snapshot, the index.

Both sinks receive every event synchronously, before handlers and subscribers, so what the studio
or the CLI has seen is already on disk. Telemetry is optional: `dad_studio.observability` provides
`RunTelemetry` when that feature is installed; until then `telemetry_class()` says it is absent.

Closing is where a run used to spend a quarter of its time: the index re-read the whole event log
it had just been written, and the telemetry flush ran on the event loop (the studio's GUI thread).
Now the recorder keeps the last record of every element as it passes (one dict assignment per
event) and hands it to the index, and `aclose` does the blocking part in an executor thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dad_studio import __version__
from dad_studio.engine.run_context import RunContext
from dad_studio.model.definitions import ComponentDefinition

__all__ = ["Recorder", "flow_snapshot", "telemetry_class"]

log = logging.getLogger(__name__)

_SECRET_ENV_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET", "_PASSWORD")


def telemetry_class() -> type[Any] | None:
    """`dad_studio.observability.RunTelemetry` if the feature exists, else None (a feature check:
    an import error inside the feature itself still raises)."""
    module = importlib.import_module("dad_studio.observability")
    cls: type[Any] | None = getattr(module, "RunTelemetry", None)
    return cls


_NODE_ROW_TYPES = frozenset({"node_completed", "node_loaded", "node_skipped"})
_COMMON_KEYS = frozenset({"seq", "ts", "type", "path"})


def _scrub(value: Any, secrets: list[str]) -> Any:
    """`value` with every secret replaced, as the run writer does for the log."""
    if isinstance(value, str):
        from dad_studio.runs.common import REDACTED

        for secret in secrets:
            if secret in value:
                value = REDACTED if value == secret else value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {_scrub(k, secrets): _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, secrets) for v in value]
    return value


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


def _env_secrets() -> list[str]:
    return [v for k, v in os.environ.items() if k.upper().endswith(_SECRET_ENV_SUFFIXES) and len(v) >= 8]


class Recorder:
    """Opens the run folder and holds the sinks for one run."""

    def __init__(self, run_context: RunContext, run_dir: Path) -> None:
        from dad_studio.runs import RunWriter

        self.run_context = run_context
        self.run_dir = run_dir
        self._secrets = sorted(set(_env_secrets()), key=len, reverse=True)
        self.writer = RunWriter(run_dir, durability=run_context.durability, secrets=self._secrets)
        self.telemetry: Any = None
        self.node_rows: dict[str, dict[str, Any]] = {}
        """Hierarchy path -> the last node_completed / node_loaded / node_skipped event (for the index)."""
        self._closed = False

    def open(self, manifest: dict[str, Any], snapshot: bytes) -> list[Callable[[dict[str, Any]], None]]:
        """Create the folder; returns the sinks to attach to the event bus, writer first."""
        manifest = {
            **manifest,
            "flow_sha256": hashlib.sha256(snapshot).hexdigest(),
            "dad_studio_version": __version__,
        }
        self.writer.open(manifest, snapshot)
        sinks: list[Callable[[dict[str, Any]], None]] = [self.writer.append, self._collect]
        if self.run_context.telemetry_enabled():
            cls = telemetry_class()
            if cls is not None:
                self.telemetry = cls(self.run_dir, self.run_context.observability_settings)
                sinks.append(self.telemetry.on_event)
        return sinks

    def _collect(self, event: dict[str, Any]) -> None:
        if event["type"] in _NODE_ROW_TYPES:
            self.node_rows[event["path"]] = event

    def summary_rows(self) -> dict[str, dict[str, Any]]:
        """Hierarchy path -> the fields of its last result event, in the shape and with the redaction
        `dad_studio.runs.read_run(...).results` gives them (so the index gets what a re-read would)."""
        rows: dict[str, dict[str, Any]] = {}
        for path, event in self.node_rows.items():
            row = {k: v for k, v in event.items() if k not in _COMMON_KEYS}
            if event["type"] == "node_skipped":
                row.setdefault("status", "skipped")
            rows[path] = _scrub(row, self._secrets) if self._secrets else row
        return rows

    def artifact_dir(self, hier_path: str) -> Path:
        return self.writer.artifact_dir(hier_path)

    async def aclose(self, **final_fields: Any) -> None:
        """`close` in an executor thread, so the event loop (the GUI) does not wait on the telemetry
        flush, the manifest and the index. Called once no event can be emitted any more."""
        if self._closed:
            return
        await asyncio.get_running_loop().run_in_executor(None, lambda: self.close(**final_fields))

    def close(self, **final_fields: Any) -> None:
        """Flush and close everything; safe to call twice, and on any path out of a run."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.telemetry is not None:
                try:
                    self.telemetry.shutdown()
                except Exception:
                    log.exception("telemetry shutdown failed for %s", self.run_dir)
        finally:
            self.writer.close(**final_fields)
            self._index()

    def _index(self) -> None:
        try:
            from dad_studio.runs import RunIndex

            index = RunIndex(self.run_context.resolved_run_root)
            try:
                record_summary = getattr(index, "record_summary", None)
                if record_summary is not None:
                    # What the log says, without reading it back: the manifest as written, the rows as emitted.
                    record_summary(self.writer.manifest, self.summary_rows())
                else:
                    index.record_run(self.run_dir)
            finally:
                index.close()
        except Exception:
            # The index is derived data (rebuilt from the folders); a failure must not lose the run.
            log.exception("could not index run %s", self.run_dir)
