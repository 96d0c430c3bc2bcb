"""Re-run planning: which elements a continuation executes and which it loads (RUNS.md).

The studio shows this on the canvas before the user confirms "Re-run from here", so it must say
exactly what the engine will do, without running anything:

- The element at the start path executes, with everything downstream of it in its component
  (transitively, by any edge) and everything inside it.
- For a nested start path, each enclosing element on the way executes too (only the part of its
  inside that is on or after the path runs again), and so does everything downstream of each of
  them in their own components.
- Every other element is loaded from the previous run if it completed there; one that did not
  complete cannot be loaded and is decided anew (it executes if the flow reaches it). Inside a
  loaded subflow or for_each, everything that completed comes along loaded.

A start path inside a for_each body may name one iteration (`loop.iter_2.step`) or the body
element itself (`loop.step`: that element in every iteration). `plan_resume` is the same without
a start path: what completed is loaded, the rest executes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from dad_studio.model.definitions import ComponentDefinition

__all__ = ["RerunPlan", "RerunPlanError", "plan_rerun", "plan_resume"]

_ITER = re.compile(r"^iter_(\d+)$")


class RerunPlanError(ValueError):
    """The start path names no element of the flow; nothing would run."""


@dataclass(frozen=True)
class RerunPlan:
    start_path: str | None
    execute: frozenset[str]
    """Elements that run again (or are decided anew) in the new run."""
    load: frozenset[str]
    """Elements whose completed result is copied from the previous run (`node_loaded`)."""

    def action(self, path: str) -> Literal["execute", "load"] | None:
        if path in self.execute:
            return "execute"
        if path in self.load:
            return "load"
        return None


def _downstream(component: ComponentDefinition, start: str) -> set[str]:
    outgoing: dict[str, list[str]] = {}
    for edge in component.effective_edges():
        outgoing.setdefault(edge.source, []).append(edge.target)
    seen: set[str] = set()
    stack = [start]
    while stack:
        for target in outgoing.get(stack.pop(), ()):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _iterations(loop_path: str, previous: Mapping[str, str]) -> list[str]:
    """Iteration paths of a loop that the previous run recorded, in index order."""
    prefix = loop_path + "."
    found: set[int] = set()
    for path in previous:
        if path.startswith(prefix):
            match = _ITER.match(path[len(prefix) :].split(".", 1)[0])
            if match:
                found.add(int(match.group(1)))
    return [f"{loop_path}.iter_{i}" for i in sorted(found)]


def _walk(component: ComponentDefinition, path: str, previous: Mapping[str, str]) -> Iterator[str]:
    """Element paths, parents before children; loop bodies once per recorded iteration (or once at
    the loop's own path when no iteration is known, so the canvas can still mark the body)."""
    for nid, node in component.nodes.items():
        element = f"{path}.{nid}"
        yield element
        body = node.body
        if body is None:
            continue
        if node.type == "for_each":
            for iteration in _iterations(element, previous) or [element]:
                yield from _walk(body, iteration, previous)
        else:
            yield from _walk(body, element, previous)


class _Planner:
    def __init__(self, previous: Mapping[str, str]) -> None:
        self.previous = previous
        self.full: set[str] = set()
        self.ancestors: set[str] = set()

    def plan(self, component: ComponentDefinition, path: str, rest: list[str], start: str) -> None:
        head = rest[0]
        node = component.nodes.get(head)
        if node is None:
            raise RerunPlanError(f"start path {start!r}: {path} has no element {head!r}")
        own = f"{path}.{head}"
        (self.full if len(rest) == 1 else self.ancestors).add(own)
        self.full.update(f"{path}.{nid}" for nid in _downstream(component, head))
        if len(rest) == 1:
            return
        body = node.body
        if body is None:
            if own + "." + ".".join(rest[1:]) not in self.previous:
                raise RerunPlanError(f"start path {start!r}: {own} ({node.type}) has no inline body to look into")
            self.full.add(start)  # a `ref` subflow: only the element itself is known
            return
        if node.type != "for_each":
            self.plan(body, own, rest[1:], start)
            return
        match = _ITER.match(rest[1])
        if match:
            if len(rest) == 2:
                raise RerunPlanError(f"start path {start!r} names a loop iteration, not an element; pick one inside it")
            self.plan(body, f"{own}.{rest[1]}", rest[2:], start)
            return
        for iteration in _iterations(own, self.previous) or [own]:
            self.plan(body, iteration, rest[1:], start)

    def executes(self, path: str) -> bool:
        if path in self.ancestors or path in self.full:
            return True
        end = path.rfind(".")
        while end > 0:
            if path[:end] in self.full:
                return True
            end = path.rfind(".", 0, end)
        return False


def _classify(paths: list[str], planner: _Planner, previous: Mapping[str, str]) -> tuple[set[str], set[str]]:
    execute: set[str] = set()
    load: set[str] = set()
    loaded_containers: list[str] = []
    for path in paths:
        inside_loaded = any(path.startswith(c + ".") for c in loaded_containers)
        completed = previous.get(path) == "completed"
        if inside_loaded:
            if completed:
                load.add(path)
        elif planner.executes(path):
            execute.add(path)
        elif completed:
            load.add(path)
            loaded_containers.append(path)
        else:
            execute.add(path)
    return execute, load


def _root(flow: ComponentDefinition, root_id: str | None) -> str:
    return root_id or flow.id or "root"


def _paths(flow: ComponentDefinition, root: str, previous: Mapping[str, str]) -> list[str]:
    paths = list(_walk(flow, root, previous))
    known = set(paths)
    extra = sorted((p for p in previous if p not in known and p.startswith(root + ".")), key=lambda p: p.count("."))
    return paths + extra


def plan_rerun(
    flow: ComponentDefinition,
    start_path: str,
    previous_results: Mapping[str, str],
    *,
    root_id: str | None = None,
) -> RerunPlan:
    """What a continuation from `start_path` will execute and load.

    `previous_results` maps hierarchy paths of the previous run to their status; `start_path` may
    be absolute (`root.sub.inner`) or relative to the root (`sub.inner`).
    """
    root = _root(flow, root_id)
    top = ", ".join(flow.nodes) or "(none)"
    if not start_path or start_path == root:
        raise RerunPlanError(f"start path {start_path!r} names no element; elements of {root}: {top}")
    start = start_path if start_path.startswith(root + ".") else f"{root}.{start_path}"
    planner = _Planner(previous_results)
    try:
        planner.plan(flow, root, start[len(root) + 1 :].split("."), start)
    except RerunPlanError as exc:
        raise RerunPlanError(f"{exc}; elements of {root}: {top}") from None
    execute, load = _classify(_paths(flow, root, previous_results), planner, previous_results)
    return RerunPlan(start, frozenset(execute), frozenset(load))


def plan_resume(
    flow: ComponentDefinition, previous_results: Mapping[str, str], *, root_id: str | None = None
) -> RerunPlan:
    """Resuming an interrupted or failed run: what completed is loaded, the rest executes."""
    root = _root(flow, root_id)
    execute, load = _classify(_paths(flow, root, previous_results), _Planner(previous_results), previous_results)
    return RerunPlan(None, frozenset(execute), frozenset(load))
