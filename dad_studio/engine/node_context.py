"""The engine's NodeContext (dad_studio/nodes/base.py): what one node attempt sees.

Built once per attempt, so it is a slotted class whose variable scope is only assembled when a
template is actually rendered (a no-op node pays for none of it).
"""

from __future__ import annotations

import logging
import mimetypes
from collections import ChainMap
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from dad_studio.engine.context import ExecutionContext

if TYPE_CHECKING:
    from dad_studio.engine.artifacts import ArtifactCopies
from dad_studio.engine.inputs import request_node_input
from dad_studio.model.events import EventType
from dad_studio.nodes.base import NodeFailure

__all__ = ["EngineNodeContext"]

log = logging.getLogger("dad_studio.nodes")

_TEMPLATE: Any = None
"""dad_studio.template once a node has rendered a string with a `$` (a run without templates never
loads it); kept here because an import statement per render costs more than the check it guards."""


def _template() -> Any:
    global _TEMPLATE
    import dad_studio.template

    _TEMPLATE = dad_studio.template
    return _TEMPLATE


class EngineNodeContext:
    """NodeContext for one attempt of one node."""

    __slots__ = (
        "_copies",
        "_variables",
        "attempt",
        "execution",
        "hier_path",
        "node_id",
        "node_input",
        "node_type",
    )

    def __init__(
        self,
        execution: ExecutionContext,
        node_id: str,
        node_type: str,
        attempt: int,
        node_input: Any,
        hier_path: str | None = None,
    ) -> None:
        self.execution = execution
        self.node_id = node_id
        self.hier_path = hier_path if hier_path is not None else f"{execution.path}.{node_id}"
        self.node_type = node_type
        self.attempt = attempt
        self.node_input = node_input
        self._variables: ChainMap[str, Any] | None = None
        self._copies: ArtifactCopies | None = None

    # -- plain attributes of the protocol ------------------------------------------------------

    @property
    def run_id(self) -> str:
        return self.execution.run.run_id

    @property
    def run_dir(self) -> Path:
        return self.execution.run.run_dir

    @property
    def project_root(self) -> Path:
        return self.execution.run.run_context.project_root

    @property
    def flow_dir(self) -> Path:
        return self.execution.run.flow_dir

    @property
    def trusted(self) -> bool:
        return self.execution.run.run_context.trusted

    @property
    def resources(self) -> Mapping[str, Any]:
        return self.execution.run.run_context.resources

    @property
    def logger(self) -> logging.Logger:
        """The run's telemetry logger, tagged with this node's path (its records are correlated with
        the node's span), or the plain `dad_studio.nodes` logger when the run has no telemetry.

        The protocol says Logger; a LoggerAdapter has the same logging methods."""
        recorder = self.execution.run.recorder
        telemetry = recorder.telemetry if recorder is not None else None
        run_logger = getattr(telemetry, "logger", None)
        if run_logger is None:
            return log
        # Through the run's redaction: log records go to trace/logs.jsonl, which must hold no secret either.
        from dad_studio.runs.redact import RedactingLoggerAdapter

        assert recorder is not None
        adapter = RedactingLoggerAdapter(run_logger, {"dad_path": self.hier_path}, recorder.redactor)
        return adapter  # type: ignore[return-value]

    @property
    def variables(self) -> Mapping[str, Any]:
        if self._variables is None:
            self._variables = self.execution.node_variables(self.node_id)
        return self._variables

    # -- templates -------------------------------------------------------------------------------

    def render(self, text: str) -> str:
        # Plain text (no template form, escapes included) as it is, before the variable scope is built:
        # most strings a node renders are plain, and a `$` alone (a price, `$HOME`) is no template.
        if "$" not in text:
            return text
        template = _TEMPLATE or _template()
        if not template.has_template(text):
            return text
        return template.render(text, self.variables, results=self.execution, allow_python=self.trusted)  # type: ignore[no-any-return]

    def evaluate(self, text: str) -> Any:
        if "$" not in text:
            return text
        template = _TEMPLATE or _template()
        if not template.has_template(text):
            return text
        return template.evaluate(text, self.variables, results=self.execution, allow_python=self.trusted)

    def render_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.evaluate(value)
        if isinstance(value, list):
            return [self.render_value(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.render_value(v) for v in value)
        if isinstance(value, dict):
            return {k: self.render_value(v) for k, v in value.items()}
        return value

    # -- events ------------------------------------------------------------------------------------

    async def emit_delta(self, text: str) -> None:
        self.execution.run.bus.emit(EventType.NODE_OUTPUT_DELTA, self.hier_path, {"text": text})

    def log(self, message: str, level: str = "info") -> None:
        """Record a `log` event for this node."""
        self.execution.run.bus.emit(EventType.LOG, self.hier_path, {"level": level, "message": message})

    async def request_input(self, request: dict[str, Any]) -> Any:
        return await request_node_input(self.execution, self.node_id, self.node_type, request)

    # -- artifacts ----------------------------------------------------------------------------------

    def _artifact_dir(self) -> Path:
        run = self.execution.run
        if run.recorder is not None:
            return run.recorder.artifact_dir(self.hier_path)
        folder = run.run_dir / "artifacts" / Path(*self.hier_path.split("."))
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def write_artifact(self, relative_path: str, data: bytes, media_type: str = "application/octet-stream") -> Path:
        rel = PurePosixPath(relative_path)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise NodeFailure(f"artifact path {relative_path!r} must be relative and stay inside the artifact folder")
        target = self._artifact_dir() / Path(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if self._copies is not None:
            self._copies.record(target, media_type)  # after the recorded files still being copied
        else:
            self._announce(target, media_type)
        return target

    def record_artifact(self, path: Path, media_type: str = "application/octet-stream") -> None:
        """Copy a file the node wrote elsewhere into artifacts/<hier/path>/ (in a thread); its
        `artifact_written` names the copy and comes before the node's result (engine.artifacts)."""
        if self._copies is None:
            from dad_studio.engine.artifacts import ArtifactCopies

            self._copies = ArtifactCopies(self.execution, self.hier_path)
        self._copies.record(Path(path), media_type)

    @property
    def has_artifacts(self) -> bool:
        """Whether this attempt recorded files (the engine awaits `settle_artifacts` only then)."""
        return self._copies is not None

    async def settle_artifacts(self) -> None:
        """Wait for the recorded files' copies and events (the engine calls it before the result)."""
        if self._copies is not None:
            await self._copies.settle()

    def cancel_artifacts(self) -> None:
        if self._copies is not None:
            self._copies.cancel()

    def _announce(self, path: Path, media_type: str) -> None:
        if media_type == "application/octet-stream":
            media_type = mimetypes.guess_type(path.name)[0] or media_type
        root = self.execution.run.run_dir / "artifacts"
        try:
            name = path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            name = str(path)
        size = path.stat().st_size if path.exists() else 0
        self.execution.run.bus.emit(
            EventType.ARTIFACT_WRITTEN, self.hier_path, {"artifact": name, "size": size, "media_type": media_type}
        )
