"""Continuation (`previous_run_id` + `start_hierarchy_path`) and resume (RUNS.md).

Both write a new `rerun_...` folder whose manifest names the previous run. An element is either
executed or *loaded*: its completed record from the previous run becomes its result, a
`node_loaded` event is written and its artifacts are copied; a loaded subflow or for_each brings
every record beneath it along.

- Continuation: the element at the start path executes, and so does everything downstream of it
  (in its component and, through the enclosing elements, in every enclosing component); the
  components that contain it execute as well, but inside them only what is on or after the path
  runs again. Everything else that completed before is loaded.
- Resume: every element that completed before is loaded; everything else executes. Resuming
  writes a new folder rather than appending to the old one: the interrupted run stays exactly as
  the crash left it, and the new run's `previous_run_id` links the two.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from dad_studio.engine.context import ExecutionContext, Graph
from dad_studio.model.definitions import ComponentDefinition, NodeDefinition
from dad_studio.model.events import EventType
from dad_studio.model.results import NodeError, NodeResult, Status, Usage

__all__ = ["ContinuationError", "LoadPolicy", "prepare_continuation"]

_CONTAINERS = ("subflow", "for_each")
_ITER = re.compile(r"^iter_\d+$")


class ContinuationError(ValueError):
    """The previous run or the start path does not exist: nothing has run."""


def _result_from_record(record: dict[str, Any]) -> NodeResult:
    error = record.get("error")
    usage = record.get("usage")
    return NodeResult.model_construct(
        status=Status(record.get("status", "completed")),
        input=record.get("input"),
        output=record.get("output"),
        outcome=record.get("outcome"),
        error=NodeError.model_validate(error) if isinstance(error, dict) else None,
        usage=Usage.model_validate(usage) if isinstance(usage, dict) else None,
        started_at=record.get("started_at"),
        ended_at=record.get("ended_at"),
        duration_ms=record.get("duration_ms"),
        attempts=record.get("attempts", 1),
    )


class LoadPolicy:
    """Decides, element by element, whether to load the previous result or execute again."""

    def __init__(self, previous_dir: Path, previous: dict[str, dict[str, Any]], start_path: str | None) -> None:
        self.previous_dir = previous_dir
        self.previous = previous
        self.start_path = start_path
        self._full: set[str] = set()
        """Elements that execute with everything inside them."""
        self._ancestors: set[str] = set()
        """Components on the way to the start path: they execute, their insides are decided one by one."""
        self._seen_components: set[str] = set()

    def _plan(self, execution: ExecutionContext, graph: Graph) -> None:
        start = self.start_path
        comp = execution.path
        if start is None or comp in self._seen_components:
            return
        self._seen_components.add(comp)
        rest = _rest_of_start(comp, start)
        if not rest:
            return
        head = rest[0]
        if head not in graph.outgoing:
            return
        own = f"{comp}.{head}"
        (self._full if len(rest) == 1 else self._ancestors).add(own)
        self._full.update(f"{comp}.{nid}" for nid in graph.downstream(head))

    def executes(self, path: str) -> bool:
        if self.start_path is None:
            return False
        if path in self._ancestors:
            return True
        full = self._full
        if path in full:
            return True
        end = path.rfind(".")
        while end > 0:
            if path[:end] in full:
                return True
            end = path.rfind(".", 0, end)
        return False

    def load(self, execution: ExecutionContext, nid: str, node: NodeDefinition) -> NodeResult | None:
        run = execution.run
        self._plan(execution, run.graph(execution.component))
        path = f"{execution.path}.{nid}"
        if self.executes(path):
            return None
        record = self.previous.get(path)
        if record is None or record.get("status") != "completed":
            return None
        result = self._emit(execution, path, record, node.type)
        execution.results[nid] = result
        if node.type in _CONTAINERS:
            prefix = path + "."
            for inner_path, inner in self.previous.items():
                if inner_path.startswith(prefix):
                    run.known.add(inner_path)
                    self._emit(execution, inner_path, inner, str(inner.get("node_type", "")))
        if run.recorder is not None:
            from dad_studio.runs import copy_artifacts

            copy_artifacts(self.previous_dir, run.run_dir, path)
        return result

    def _emit(self, execution: ExecutionContext, path: str, record: dict[str, Any], node_type: str) -> NodeResult:
        run = execution.run
        result = _result_from_record(record)
        run.results[path] = result
        run.statuses[path] = result.status
        fields = dict(record)
        fields["node_type"] = record.get("node_type") or node_type
        run.bus.emit(EventType.NODE_LOADED, path, fields)
        return result


def _rest_of_start(comp: str, start: str) -> list[str] | None:
    """The segments of `start` below the component at `comp`, or None when `comp` is not on the way.

    A start path inside a for_each body may name one iteration (`loop.iter_2.s2`) or the body
    element itself (`loop.s2`: that element in every iteration, as dad_studio.runs.plan reads it):
    an `iter_N` segment of `comp` that `start` does not name matches any iteration."""
    comp_parts = comp.split(".")
    start_parts = start.split(".")
    i = 0
    for part in comp_parts:
        if i < len(start_parts) and start_parts[i] == part:
            i += 1
        elif _ITER.match(part) and i > 0 and (i >= len(start_parts) or not _ITER.match(start_parts[i])):
            continue  # an iteration the start path does not name: every iteration
        else:
            return None
    return start_parts[i:] or None


def _static_paths(component: ComponentDefinition, base: str) -> set[str]:
    paths: set[str] = set()
    for nid, node in component.nodes.items():
        path = f"{base}.{nid}"
        paths.add(path)
        body = node.body
        if body is not None:
            paths |= _static_paths(body, path)
    return paths


def prepare_continuation(
    run_root: Path,
    previous_run_id: str,
    start_path: str | None,
    component: ComponentDefinition,
    root_id: str,
) -> LoadPolicy:
    """Check the previous run and the start path before anything runs, then build the policy."""
    from dad_studio.runs import RunNotFound, find_run, load_previous_results

    try:
        previous_dir = find_run(run_root, previous_run_id)
        previous = load_previous_results(previous_dir)
    except RunNotFound as exc:
        raise ContinuationError(f"previous run {previous_run_id!r} not found: {exc}")
    if start_path is not None:
        if not start_path.startswith(root_id + "."):
            start_path = f"{root_id}.{start_path}"
        known = _static_paths(component, root_id) | set(previous)
        if start_path not in known:
            hint = ", ".join(sorted(p for p in known if p.count(".") == 1)[:12])
            raise ContinuationError(f"start path {start_path!r} names no element of {root_id!r}; elements: {hint}")
    return LoadPolicy(previous_dir, previous, start_path)
