"""RunContext: the environment of one run (folders, id, inputs, handlers, overrides, trust).

A RunContext belongs to one run. It holds configuration only; the state of a run in progress
lives in the runner's RunState, so two runs in one process share nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from dad_studio.engine.events import EventHandler, adapt_handler

__all__ = ["InputRequest", "NodeInputHandler", "RunContext"]

Durability = Literal["process", "power"]


@dataclass
class InputRequest:
    """What a node-input handler receives; it answers by setting `input` and `handled = True`.

    `source` may be changed by the handler (the CLI says "cli", the studio "dialog").
    """

    node_id: str
    hier_path: str
    node_type: str
    request: dict[str, Any]
    input: Any = None
    handled: bool = False
    source: str = "handler"


NodeInputHandler = Callable[..., Any]
"""`async def handler(event: InputRequest)` or a sync function; may leave `handled` False to pass."""


def _local_run_id(prefix: str | None, rerun: bool) -> str:
    """The RUNS.md id format, used when dad_studio.runs has no `new_run_id` (records off)."""
    stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
    kind = "rerun" if rerun else "run"
    head = f"{prefix}_" if prefix else ""
    return f"{head}{kind}_{stamp}_{secrets.token_hex(3)}"


@dataclass(eq=False)
class RunContext:
    """Where a run writes, what it is given, and who listens (DAD_EXECUTION_MODEL.md)."""

    root_component_id: str = "root"
    project_root: Path = field(default_factory=Path.cwd)
    run_root: Path | None = None
    """Default <project_root>/runs."""
    observability_settings: Any = None
    """None = defaults (traces on). An object or dict with `enabled` False turns telemetry off."""
    previous_run_id: str | None = None
    start_hierarchy_path: str | None = None
    resume: str | None = None
    """Id of a run to resume: completed elements are loaded, the rest execute, into a new rerun folder."""
    resources: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    """Static inputs: node hierarchy path or node id -> input."""
    variables: dict[str, Any] = field(default_factory=dict)
    """Run-level overrides of the root component's variables (`--var K=V`)."""
    secret_variables: set[str] = field(default_factory=set)
    """Names of variables whose values are secrets (`--secret-var K=V`): hidden by name in every recorded
    `variables` mapping and replaced by `***` wherever the value occurs (engine.redaction)."""
    durability: Durability = "process"
    records: bool = True
    """False: no run folder at all (benchmarks, tests)."""
    tune_gc: bool = True
    """Keep full garbage collections out of the run (engine.gc_policy: process-wide, reference-counted,
    restored when the last run ends). False leaves the collector alone."""
    trusted: bool = True
    """Allows command / python nodes and `py:` expressions (the CLI decides with engine.trust)."""
    flow_path: Path | None = None
    """The flow file, when the flow came from one (relative refs and callables resolve next to it)."""
    flow_source: bytes | None = None
    """The bytes of `flow_path` when the definition run is exactly what was loaded from them (the CLI):
    the run's snapshot is then the file itself instead of a fresh serialisation."""
    run_id: str | None = None
    run_dir: Path | None = None
    input_handlers: list[Callable[[InputRequest], Any]] = field(default_factory=list)
    event_handlers: dict[str, list[Callable[[dict[str, Any]], Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.project_root = Path(self.project_root)
        if self.run_root is None:
            self.run_root = self.project_root / "runs"
        self.run_root = Path(self.run_root)
        if self.resume is not None and self.previous_run_id is None:
            self.previous_run_id = self.resume

    @property
    def resolved_run_root(self) -> Path:
        assert self.run_root is not None
        return self.run_root

    def setup_run(self, run_id_prefix: str | None = None) -> None:
        """Choose the run id and folder. The folder is created when the run starts, after the
        definition and any continuation have been checked, so a refused run leaves nothing behind."""
        rerun = self.previous_run_id is not None
        try:
            from dad_studio.runs import new_run_id
        except ImportError:
            run_id = _local_run_id(run_id_prefix, rerun)
        else:
            run_id = new_run_id(run_id_prefix, rerun=rerun)
        self.run_id = run_id
        self.run_dir = self.resolved_run_root / run_id

    def register_node_input_handler(self, handler: NodeInputHandler) -> None:
        self.input_handlers.append(handler)

    def register_event_handler(self, event_type: str, handler: EventHandler) -> None:
        """`event_type` is an EventType value or "*" for every event."""
        self.event_handlers.setdefault(str(event_type), []).append(adapt_handler(handler))

    def add_input(self, node: str, value: Any) -> None:
        """A static input for a node id or hierarchy path."""
        self.inputs[node] = value

    def static_input(self, node_id: str, hier_path: str) -> tuple[bool, Any]:
        """The static input for a node: by full path first, then by id."""
        if hier_path in self.inputs:
            return True, self.inputs[hier_path]
        if node_id in self.inputs:
            return True, self.inputs[node_id]
        return False, None

    def telemetry_enabled(self) -> bool:
        settings = self.observability_settings
        if settings is None:
            return True
        if isinstance(settings, Mapping):
            return bool(settings.get("enabled", True))
        return bool(getattr(settings, "enabled", True))
