"""FlowRunner / AgentRunner: run a root component, as a plain awaitable or as an event stream.

    result = await runner.run()
    async with runner.iter() as run:        # the studio and the CLI
        async for event in run: ...
    run.result                              # the RunResult, once the stream has ended

The run itself always ends the same way, whatever stops it (completion, an engine error,
cancellation): `run_completed` is emitted, async handlers are drained, the records are closed and
indexed, and subscribers see the end of the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dad_studio.engine.context import ExecutionContext, Graph, RunState
from dad_studio.engine.continuation import prepare_continuation
from dad_studio.engine.events import EventBus
from dad_studio.engine.gc_policy import gc_tuned_for_run
from dad_studio.engine.node_exec import STATUS_TEXT as _STATUS_TEXT
from dad_studio.engine.records import Recorder, flow_snapshot
from dad_studio.engine.redaction import run_redactor
from dad_studio.engine.registry import ExecutorRegistry
from dad_studio.engine.run_context import RunContext
from dad_studio.engine.scheduler import ComponentRun
from dad_studio.model.definitions import BODY_TYPES, ComponentDefinition
from dad_studio.model.events import EventType
from dad_studio.model.node_types import NodeTypeRegistry
from dad_studio.model.results import Status, Usage

__all__ = ["AgentRunner", "ComponentRunner", "FlowRunner", "RunResult", "RunStream"]


@dataclass
class RunResult:
    """How a run ended."""

    run_id: str
    status: Status
    run_dir: Path | None
    """None when the run kept no records."""
    nodes: dict[str, str] = field(default_factory=dict)
    """Hierarchy path -> status of every element that settled (or was loaded)."""
    usage: Usage = field(default_factory=Usage)
    input_unavailable: list[str] = field(default_factory=list)
    """Nodes that failed because input was required and nothing could answer (CLI exit 3)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status.value,
            "run_dir": str(self.run_dir) if self.run_dir is not None else None,
            "nodes": self.nodes,
        }


class RunStream:
    """What `runner.iter()` yields: an async iterator of events, then `result`."""

    def __init__(self, queue: asyncio.Queue[dict[str, Any] | None], task: asyncio.Task[RunResult]) -> None:
        self._queue = queue
        self.task = task
        self.ended = False
        """True once `run_completed` was delivered: the run is finishing its records, not to be cancelled."""

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._events()

    async def _events(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            event = await self._queue.get()
            if event is None:
                return
            if event["type"] == EventType.RUN_COMPLETED:
                self.ended = True
                yield event
                return
            yield event

    @property
    def result(self) -> RunResult | None:
        if self.task.done() and not self.task.cancelled() and self.task.exception() is None:
            return self.task.result()
        return None


class ComponentRunner:
    """Runs one root component with one RunContext (one run per runner)."""

    def __init__(
        self,
        component: ComponentDefinition,
        run_context: RunContext,
        *,
        node_types: NodeTypeRegistry | None = None,
    ) -> None:
        self.component = component
        self.run_context = run_context
        self.node_types = node_types
        self.registry = ExecutorRegistry(node_types)
        """Executors of this run; built here so that node-type discovery is not part of the run."""
        # The user configuration's reader (credentials.json: secrets of the run's redaction), loaded
        # here like the record writers below: its first import (platformdirs) cost a first run ~10-20 ms.
        import platformdirs  # noqa: F401

        import dad_studio.nodes.config

        if run_context.records:
            # The record writers are loaded here, before the run's clock starts.
            import dad_studio.fileformat.migrate
            import dad_studio.runs  # noqa: F401

            if run_context.telemetry_enabled():
                from dad_studio.engine.records import telemetry_class

                telemetry_class()
        self._queues: list[asyncio.Queue[dict[str, Any] | None]] = []
        self.state: RunState | None = None
        self.result: RunResult | None = None

    @property
    def root_id(self) -> str:
        return self.component.id or self.run_context.root_component_id or "root"

    def wait_closed(self, timeout: float | None = None) -> None:
        """Block until the run's records thread is done: its index rows are written after `run()`
        returns (the index is derived data), then the index connection is closed. Call this before
        deleting, moving or measuring the run root; `IsolatedExecution` does it on exit."""
        recorder = self.state.recorder if self.state is not None else None
        if recorder is not None:
            recorder.wait_closed(timeout)

    async def aclosed(self) -> None:
        """`wait_closed` without blocking the event loop."""
        recorder = self.state.recorder if self.state is not None else None
        if recorder is not None:
            await recorder.aclosed()

    @contextlib.asynccontextmanager
    async def iter(self) -> AsyncIterator[RunStream]:
        """Run in the background and stream its events; leaving early cancels the run cleanly."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._queues.append(queue)
        task = asyncio.get_running_loop().create_task(self.run(), name=f"dad-run:{self.root_id}")
        task.add_done_callback(lambda _t: queue.put_nowait(None))
        stream = RunStream(queue, task)
        try:
            yield stream
        finally:
            if not task.done() and not stream.ended:
                task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                if not task.cancelled():
                    raise
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise

    async def run(self) -> RunResult:
        if not self.run_context.tune_gc:
            return await self._run()
        with gc_tuned_for_run():
            return await self._run()

    async def _run(self) -> RunResult:
        rc = self.run_context
        if rc.run_id is None:
            rc.setup_run()
        assert rc.run_id is not None and rc.run_dir is not None
        component = self.component
        root_id = self.root_id
        loader = None
        if rc.previous_run_id is not None:
            start = None if rc.resume is not None else rc.start_hierarchy_path
            loader = prepare_continuation(rc.resolved_run_root, rc.previous_run_id, start, component, root_id)
        registry = self.registry
        registry_check = ComponentRunCheck(component)
        registry_check.check()  # the graphs it builds are the run's: each is computed once
        redactor = run_redactor(rc)
        bus = EventBus(rc.event_handlers, redactor.event if redactor else None)
        flow_dir = rc.flow_path.parent if rc.flow_path is not None else rc.project_root
        state = RunState(
            run_context=rc,
            bus=bus,
            registry=registry,
            run_id=rc.run_id,
            run_dir=rc.run_dir,
            root_id=root_id,
            flow_dir=flow_dir,
            builtins={
                "run_id": rc.run_id,
                "run_dir": str(rc.run_dir),
                "run_root": str(rc.resolved_run_root),
                "project_root": str(rc.project_root),
            },
            loader=loader,
            graphs=registry_check.graphs,
        )
        self.state = state
        try:
            execution = ExecutionContext(state, component, root_id, variables=rc.variables)
        except Exception as exc:  # a template in a root variable: refused before anything runs
            from dad_studio.template import TemplateError

            if not isinstance(exc, TemplateError):
                raise
            raise ValueError(f"variables of {root_id}: {exc}") from exc
        variables = dict(execution.scope_maps[0])
        if rc.records:
            recorder = Recorder(rc, rc.run_dir, redactor)
            manifest = {
                "run_id": rc.run_id,
                "root_component_id": root_id,
                "flow_file": str(rc.flow_path) if rc.flow_path is not None else None,
                "previous_run_id": rc.previous_run_id,
                "start_hierarchy_path": rc.start_hierarchy_path,
                "variables": variables,
                "pid": os.getpid(),
                "host": socket.gethostname(),
            }
            sinks = await recorder.aopen(manifest, lambda: flow_snapshot(component, rc.flow_source))
            for sink in sinks:
                bus.add_sink(sink)
            state.recorder = recorder
        for queue in self._queues:
            bus.add_subscriber(queue)
        t0 = time.perf_counter()
        status = Status.FAILED
        try:
            bus.emit(
                EventType.RUN_STARTED,
                root_id,
                {
                    "run_id": rc.run_id,
                    "root_component_id": root_id,
                    "previous_run_id": rc.previous_run_id,
                    "start_hierarchy_path": rc.start_hierarchy_path,
                    "variables": variables,
                },
            )
            state.register_component(component, root_id)
            status = await ComponentRun(execution).run()
        except asyncio.CancelledError:
            status = Status.CANCELLED
            raise
        finally:
            self.result = self._finish(state, status, t0)
            try:
                if status is not Status.CANCELLED:
                    await bus.drain()
                else:
                    bus.cancel_pending()
            finally:
                if state.recorder is not None:
                    await _close_records(state.recorder, status)
                bus.close_subscribers()
        return self.result

    def _finish(self, state: RunState, status: Status, t0: float) -> RunResult:
        text = _STATUS_TEXT
        nodes = {path: text[s] for path, s in state.statuses.items()}
        counts = dict(Counter(nodes.values()))
        duration_ms = round((time.perf_counter() - t0) * 1000, 3)
        state.bus.emit(
            EventType.RUN_COMPLETED,
            state.root_id,
            {"status": status.value, "counts": counts, "usage": state.usage.model_dump(), "duration_ms": duration_ms},
        )
        return RunResult(
            run_id=state.run_id,
            status=status,
            run_dir=state.run_dir if state.recorder is not None else None,
            nodes=nodes,
            usage=state.usage,
            input_unavailable=list(state.input_unavailable),
        )


async def _close_records(recorder: Recorder, status: Status) -> None:
    """Close the run's records in their own thread (the loop is not blocked), unless the run is
    being cancelled: then right here, since this coroutine must not wait any more. A cancel that
    arrives while they close does not stop them: the folder must not read as interrupted."""
    task = asyncio.current_task()
    if status is Status.CANCELLED or (task is not None and task.cancelling()):
        recorder.close(status=status.value)
        return
    closing = asyncio.ensure_future(recorder.aclose(status=status.value))
    try:
        await asyncio.shield(closing)
    except asyncio.CancelledError:
        recorder.close(status=status.value)  # waits for the close already under way
        raise


class ComponentRunCheck:
    """Refuse, before anything runs, a definition the scheduler cannot run (edges to nowhere, cycles)."""

    def __init__(self, component: ComponentDefinition) -> None:
        self.component = component
        self.graphs: dict[int, tuple[ComponentDefinition, Graph]] = {}
        """The graph of every component checked, in the form RunState caches them."""

    def check(self) -> None:
        self._check(self.component, self.component.id or "root")

    def _check(self, component: ComponentDefinition, path: str) -> None:
        graph = Graph(component)
        self.graphs[id(component)] = (component, graph)
        if not graph.acyclic:
            self._check_cycles(graph, path)
        for nid, node in component.nodes.items():
            if node.type in BODY_TYPES:
                body = node.body
                if body is not None:
                    self._check(body, f"{path}.{nid}")

    @staticmethod
    def _check_cycles(graph: Graph, path: str) -> None:
        indegree = {nid: len(ins) for nid, ins in graph.incoming.items()}
        ready = [nid for nid, d in indegree.items() if d == 0]
        seen = 0
        while ready:
            nid = ready.pop()
            seen += 1
            for index in graph.outgoing[nid]:
                target = graph.edges[index].target
                indegree[target] -= 1
                if indegree[target] == 0:
                    ready.append(target)
        if seen != len(indegree):
            cyclic = sorted(nid for nid, d in indegree.items() if d > 0)
            raise ValueError(f"component {path} has a cycle through: {', '.join(cyclic)}")


class FlowRunner(ComponentRunner):
    """Runs a flow definition."""


class AgentRunner(ComponentRunner):
    """Runs an agent definition (its flows and sub-agents are subflow elements)."""
