"""The run's records: the RunWriter sink, the telemetry sink, the flow snapshot, the index.

Both sinks receive every event synchronously, before handlers and subscribers, so what the studio
or the CLI has seen is already on disk. Telemetry is optional: `dad_studio.observability` provides
`RunTelemetry` when that feature is installed; until then `telemetry_class()` says it is absent.
"""

from __future__ import annotations

import hashlib
import importlib
import json
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


def flow_snapshot(component: ComponentDefinition) -> bytes:
    """The exact definition that ran, in the canonical file form when the file format offers it."""
    from dad_studio import fileformat

    dumps_flow: Callable[[ComponentDefinition], str | bytes] | None = getattr(fileformat, "dumps_flow", None)
    if dumps_flow is not None:
        text = dumps_flow(component)
        return text if isinstance(text, bytes) else text.encode("utf-8")
    root = json.loads(component.model_dump_json(by_alias=True))
    document = {"format": "dad-flow", "schema_version": 1, "root": root}
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _env_secrets() -> list[str]:
    return [v for k, v in os.environ.items() if k.upper().endswith(_SECRET_ENV_SUFFIXES) and len(v) >= 8]


class Recorder:
    """Opens the run folder and holds the sinks for one run."""

    def __init__(self, run_context: RunContext, run_dir: Path) -> None:
        from dad_studio.runs import RunWriter

        self.run_context = run_context
        self.run_dir = run_dir
        self.writer = RunWriter(run_dir, durability=run_context.durability, secrets=_env_secrets())
        self.telemetry: Any = None
        self._closed = False

    def open(self, manifest: dict[str, Any], snapshot: bytes) -> list[Callable[[dict[str, Any]], None]]:
        """Create the folder; returns the sinks to attach to the event bus, writer first."""
        manifest = {
            **manifest,
            "flow_sha256": hashlib.sha256(snapshot).hexdigest(),
            "dad_studio_version": __version__,
        }
        self.writer.open(manifest, snapshot)
        sinks: list[Callable[[dict[str, Any]], None]] = [self.writer.append]
        if self.run_context.telemetry_enabled():
            cls = telemetry_class()
            if cls is not None:
                self.telemetry = cls(self.run_dir, self.run_context.observability_settings)
                sinks.append(self.telemetry.on_event)
        return sinks

    def artifact_dir(self, hier_path: str) -> Path:
        return self.writer.artifact_dir(hier_path)

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
            try:
                from dad_studio.runs import RunIndex

                index = RunIndex(self.run_context.resolved_run_root)
                try:
                    index.record_run(self.run_dir)
                finally:
                    index.close()
            except Exception:
                # The index is derived data (rebuilt from the folders); a failure must not lose the run.
                log.exception("could not index run %s", self.run_dir)
