"""Scheduling one component's elements, exactly as FLOW_FORMAT.md says.

The component is a DAG. Elements with no incoming edge start at once, each in its own asyncio
task, so independent elements run concurrently. When an element settles, each outgoing edge
becomes active (its `on` matches how the element ended, or the conditional took its `port`) or
dead (always dead when the element was skipped). A target with `join: all` runs when every
incoming edge is active and is skipped as soon as one is dead; with `join: any` it waits until
every predecessor has settled and runs if at least one edge is active, else it is skipped.

Settling is synchronous and driven by a work list (no recursion), so skip propagation through a
long chain costs a loop iteration per element, and a node's task does the bookkeeping of its own
end: no central loop polls for finished tasks.

A task is not made per element: when an element settles, the task that ran it goes on with one
of the elements that became ready (the others get tasks of their own), so a chain runs in a single
task and the component's own coroutine runs the first root. Creating and scheduling a task costs
more than running a no-op node. So that a long chain of nodes that never wait does not hold the
event loop (the studio's GUI shares it), the task yields to the loop every few milliseconds.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from dad_studio.engine.context import Edge, ExecutionContext, Graph, make_result
from dad_studio.engine.node_exec import run_node
from dad_studio.model.events import EventType
from dad_studio.model.results import NodeResult, Status

__all__ = ["ComponentRun", "run_component"]

_SKIPPED = Status.SKIPPED
_COMPLETED = Status.COMPLETED
_FAILED = Status.FAILED
_NODE_SKIPPED = EventType.NODE_SKIPPED.value
_YIELD_EVERY_S = 0.005
"""How long a task may go on from element to element without giving the event loop a turn."""
_perf_counter = time.perf_counter


def _edge_active(edge: Edge, status: Status, port: Any) -> bool:
    if status is _SKIPPED or status is Status.CANCELLED:
        return False
    if edge.port is not None:
        return status is _COMPLETED and port == edge.port
    on = edge.on
    if on == "success":
        return status is _COMPLETED
    if on == "error":
        return status is _FAILED
    return True  # always: completed or failed


def _describe(edge: Edge) -> str:
    how = f"port {edge.port}" if edge.port is not None else f"on {edge.on}"
    return f"{edge.source} -> {edge.target} ({how})"


class ComponentRun:
    """The scheduler of one ExecutionContext."""

    __slots__ = (
        "_claim",
        "_claiming",
        "_decided",
        "_done",
        "_edge_state",
        "_tasks",
        "_total",
        "_unsettled_in",
        "_work",
        "execution",
        "graph",
        "nodes",
        "settled",
    )

    def __init__(self, execution: ExecutionContext) -> None:
        self.execution = execution
        self.nodes = execution.component.nodes
        self._total = len(self.nodes)
        self.graph: Graph = execution.run.graph(execution.component)
        self._edge_state: list[bool | None] = [None] * len(self.graph.edges)
        self._unsettled_in = {nid: len(ins) for nid, ins in self.graph.incoming.items()}
        self._decided: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._work: list[tuple[str, Status, Any]] = []
        self._done: asyncio.Future[None] | None = None
        self._claiming = False
        """While True, `_start` hands the first element it starts to the calling task (`_claim`)."""
        self._claim: str | None = None
        self.settled = 0

    async def run(self) -> Status:
        """Run every element; returns the component's status (failed if an unhandled element failed)."""
        execution = self.execution
        run = execution.run
        execution.status = Status.RUNNING
        started: dict[str, Any] = {"kind": execution.kind, "status": "running"}
        if execution.loop_vars:
            started["variables"] = dict(execution.loop_vars)  # a loop iteration: its item and index
        run.bus.emit(EventType.COMPONENT_STARTED, execution.path, started)
        self._done = asyncio.get_running_loop().create_future()
        first: str | None = None
        if not self.nodes:
            self._done.set_result(None)
        else:
            self._claiming = True
            for nid in self.graph.roots:
                self._decided.add(nid)
                self._start(nid)
            first = self._drain()
        try:
            if first is not None:
                await self._execute(first)
            await self._done
        except asyncio.CancelledError:
            await self._cancel_all()
            execution.status = Status.CANCELLED
            run.bus.emit(EventType.COMPONENT_COMPLETED, execution.path, {"kind": execution.kind, "status": "cancelled"})
            raise
        except BaseException:
            await self._cancel_all()
            raise
        status = self._status()
        execution.status = status
        run.bus.emit(EventType.COMPONENT_COMPLETED, execution.path, {"kind": execution.kind, "status": status.value})
        return status

    def _status(self) -> Status:
        """Cancelled if any element was cancelled (the run was stopped), else failed if an element
        failed without an error edge to handle it, else completed: decided over every result, so
        the answer does not depend on the order in which elements settled."""
        handled = self.graph.handled
        failed = False
        for nid, result in self.execution.results.items():
            status = result.status
            if status is Status.CANCELLED:
                return Status.CANCELLED
            if status is _FAILED and nid not in handled:
                failed = True
        return _FAILED if failed else _COMPLETED

    async def _cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- starting elements ------------------------------------------------------------------------

    def _start(self, nid: str) -> None:
        execution = self.execution
        loader = execution.run.loader
        if loader is not None:
            loaded = loader.load(execution, nid, self.nodes[nid])
            if loaded is not None:
                self._work.append((nid, loaded.status, loaded_port(loaded, self.nodes[nid].type)))
                return
        if self._claiming and self._claim is None:
            self._claim = nid  # the task that is settling runs it next, without a task of its own
            return
        task = asyncio.get_running_loop().create_task(self._execute(nid), name=f"{execution.path}.{nid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, nid: str | None) -> None:
        """Run `nid`, then whichever element its settling made ready and handed to this task."""
        execution = self.execution
        nodes = self.nodes
        straight = self.graph.straight
        fast = execution.run.loader is None  # a continuation loads elements as they become ready
        last_yield = _perf_counter()
        while nid is not None:
            try:
                result, port = await run_node(execution, nid, nodes[nid])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # an engine bug: end the component with it rather than hang
                if self._done is not None and not self._done.done():
                    self._done.set_exception(exc)
                return
            step = straight.get(nid) if fast and result.status is _COMPLETED else None
            if step is not None and not self._work:
                # What _settle + _decide + _start do for this case, without the general bookkeeping:
                # the one edge is active, its target has no other incoming edge, so it runs next here.
                index, target = step
                self.settled += 1
                self._edge_state[index] = True
                self._unsettled_in[target] = 0
                self._decided.add(target)
                nid = target
            else:
                self._work.append((nid, result.status, port))
                self._claiming = True
                nid = self._drain()
            if nid is not None and _perf_counter() - last_yield > _YIELD_EVERY_S:
                await asyncio.sleep(0)
                last_yield = _perf_counter()

    # -- settling -----------------------------------------------------------------------------------

    def _drain(self) -> str | None:
        """Settle the work list; returns the element claimed for the calling task, if any."""
        try:
            work = self._work
            while work:
                nid, status, port = work.pop()
                self._settle(nid, status, port)
        except Exception as exc:  # an engine bug: fail the component loudly instead of hanging
            if self._done is not None and not self._done.done():
                self._done.set_exception(exc)
            return None
        finally:
            claimed = self._claim
            self._claim = None
            self._claiming = False
        if self.settled == self._total and self._done is not None and not self._done.done():
            self._done.set_result(None)
        return claimed

    def _settle(self, nid: str, status: Status, port: Any) -> None:
        self.settled += 1
        graph = self.graph
        edges = graph.edges
        state = self._edge_state
        for index in graph.outgoing[nid]:
            edge = edges[index]
            state[index] = _edge_active(edge, status, port)
            target = edge.target
            self._unsettled_in[target] -= 1
            if target not in self._decided:
                self._decide(target)

    def _decide(self, nid: str) -> None:
        graph = self.graph
        incoming = graph.incoming[nid]
        state = self._edge_state
        if self.nodes[nid].join == "any":
            if self._unsettled_in[nid]:
                return
            if any(state[i] for i in incoming):
                self._decided.add(nid)
                self._start(nid)
            else:
                reasons = "; ".join(self._dead_reason(i) for i in incoming)
                self._skip(nid, f"no incoming edge is active: {reasons}")
            return
        for i in incoming:
            if state[i] is False:
                self._skip(nid, self._dead_reason(i))
                return
        if not self._unsettled_in[nid]:
            self._decided.add(nid)
            self._start(nid)

    def _dead_reason(self, index: int) -> str:
        edge = self.graph.edges[index]
        source = self.execution.results.get(edge.source)
        how = source.status.value if source is not None else "unknown"
        return f"edge {_describe(edge)} is dead: {edge.source} {how}"

    def _skip(self, nid: str, reason: str) -> None:
        self._decided.add(nid)
        execution = self.execution
        run = execution.run
        path = f"{execution.path}.{nid}"
        result = make_result(_SKIPPED, None, None, None, None, None, None, None, None, 0)
        execution.set_result(nid, result)
        run.statuses[path] = _SKIPPED
        run.bus.emit(_NODE_SKIPPED, path, {"reason": reason})
        self._work.append((nid, _SKIPPED, None))


def loaded_port(result: NodeResult, node_type: str) -> Any:
    """The port a loaded conditional took, read back from its outcome."""
    if node_type == "conditional" and isinstance(result.outcome, dict):
        return "true" if result.outcome.get("value") else "false"
    return None


async def run_component(execution: ExecutionContext) -> Status:
    return await ComponentRun(execution).run()


def body_result(execution: ExecutionContext) -> dict[str, Any]:
    """A component's result as its parent sees it: element id -> outcome of each completed element."""
    return {nid: r.outcome for nid, r in execution.results.items() if r.status is _COMPLETED}
