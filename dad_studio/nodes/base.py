"""The contract between the engine and node executors.

An executor is a class with `async def execute(self, ctx, settings) -> NodeOutput`. The engine
constructs one executor per node type per run, validates the node's settings against the type's
settings model, and hands the executor a NodeContext: everything a node may touch (templates,
variables, run folder, artifacts, input requests, streamed output). An executor never imports the
engine; the engine implements NodeContext.

A failure is an exception. Raise NodeFailure for an expected failure (bad input, a command that
returned non-zero with fail_fast...): its message is shown as is, with no traceback. Any other
exception fails the node too, and its traceback is kept in the record.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from dad_studio.model.results import Usage


class NodeFailure(Exception):
    """An expected failure of a node: the message is for the user; `outcome` keeps partial results."""

    def __init__(self, message: str, *, outcome: Any = None, output: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.outcome = outcome
        self.output = output


class InputUnavailable(Exception):
    """Input was required and nobody can answer (no handler, --non-interactive, no static input)."""


@dataclass
class NodeOutput:
    """What an executor returns: `outcome` is what `$hier{id.outcome...}` reads."""

    outcome: Any = None
    input: Any = None
    """The resolved input the node worked on (rendered prompt, commands...), for the record."""
    output: Any = None
    """Raw output (e.g. the provider's response) when it differs from the outcome."""
    usage: Usage | None = None


@runtime_checkable
class NodeContext(Protocol):
    """What a running node sees. Implemented by the engine, one per node attempt."""

    node_id: str
    hier_path: str
    node_type: str
    attempt: int
    run_id: str
    run_dir: Path
    project_root: Path
    flow_dir: Path
    """Folder of the flow file (relative `python` callables and `scripted:` files resolve here)."""
    trusted: bool
    """False when the flow lives outside the trusted folders: command / python / py: are refused."""
    node_input: Any
    """Input supplied before the node ran (pre_events, --input, a handler), or None."""
    resources: Mapping[str, Any]
    """Run-level resources (provider configuration, price table...)."""
    logger: logging.Logger

    @property
    def variables(self) -> Mapping[str, Any]:
        """Variables in scope, in lookup order (loop vars, component, enclosing, built-ins)."""
        ...

    def render(self, template: str) -> str:
        """Render a template to text in this node's scope; raises TemplateError."""
        ...

    def evaluate(self, template: str) -> Any:
        """Evaluate a template to a typed value in this node's scope; raises TemplateError."""
        ...

    def render_value(self, value: Any) -> Any:
        """Render every string inside nested lists / dicts (typed when a string is one expression)."""
        ...

    async def emit_delta(self, text: str) -> None:
        """Publish a piece of streamed output (`node_output_delta`)."""
        ...

    async def request_input(self, request: dict[str, Any]) -> Any:
        """Emit `node_input_required` with `request` and wait for the answer.

        Raises InputUnavailable if nothing can answer, asyncio.CancelledError if the run is cancelled.
        """
        ...

    def write_artifact(self, relative_path: str, data: bytes, media_type: str = "application/octet-stream") -> Path:
        """Store a file under the run's artifacts/<hier/path>/ and record `artifact_written`."""
        ...

    def record_artifact(self, path: Path, media_type: str = "application/octet-stream") -> None:
        """Record a file the node wrote elsewhere (e.g. a file_operation target) as an artifact."""
        ...


@runtime_checkable
class NodeExecutor(Protocol):
    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput: ...
