"""RunState (the mutable state of one run) and ExecutionContext (one per component execution).

ExecutionContexts mirror the hierarchy: the root component, every subflow, every for_each
iteration (at `<loop path>.iter_<i>`). Each knows its parent, its hierarchy path, its component
definition, its status, the results of its elements, and its variable scope. It is also the
`$hier{}` lookup (dad_studio.template's HierLookup protocol) for templates of its elements.
"""

from __future__ import annotations

import itertools
from collections import ChainMap
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dad_studio.engine.events import EventBus
from dad_studio.engine.registry import ExecutorRegistry
from dad_studio.engine.run_context import RunContext
from dad_studio.model.definitions import ComponentDefinition, EdgeDefinition
from dad_studio.model.results import NodeError, NodeResult, Status, Usage

if TYPE_CHECKING:
    from dad_studio.engine.continuation import LoadPolicy
    from dad_studio.engine.records import Recorder

__all__ = ["ChainEdge", "Edge", "ExecutionContext", "Graph", "RunState", "make_result"]

_new = object.__new__
_set = object.__setattr__
_RESULT_FIELDS = frozenset(NodeResult.model_fields)


def make_result(
    status: Status,
    input: Any,
    output: Any,
    outcome: Any,
    error: NodeError | None,
    usage: Usage | None,
    started_at: str | None,
    ended_at: str | None,
    duration_ms: float | None,
    attempts: int,
) -> NodeResult:
    """A NodeResult without validation, as `NodeResult.model_construct` makes it, at a fraction of
    the cost (the engine made every value itself; this runs once per element)."""
    result = _new(NodeResult)
    _set(
        result,
        "__dict__",
        {
            "status": status,
            "input": input,
            "output": output,
            "outcome": outcome,
            "error": error,
            "usage": usage,
            "started_at": started_at,
            "ended_at": ended_at,
            "duration_ms": duration_ms,
            "attempts": attempts,
        },
    )
    _set(result, "__pydantic_fields_set__", set(_RESULT_FIELDS))
    _set(result, "__pydantic_extra__", None)
    _set(result, "__pydantic_private__", None)
    return result


def _not_run() -> Any:
    """dad_studio.template's NOT_RUN, so `$hier{}` can tell "not run yet" from "no such element".
    Imported on first use: a run without templates never loads the template package."""
    from dad_studio.template.hier import NOT_RUN

    return NOT_RUN


class ChainEdge:
    """An edge of the order of addition (a component without `edges`), as the scheduler reads it.

    `ComponentDefinition.effective_edges()` builds validated EdgeDefinition models, about 10 µs
    each; a 1,000-node chain would spend more on that than on running its nodes."""

    __slots__ = ("source", "target")

    on = "success"
    port = None

    def __init__(self, source: str, target: str) -> None:
        self.source = source
        self.target = target


Edge = EdgeDefinition | ChainEdge


class Graph:
    """The scheduling view of one component definition, computed once per run."""

    __slots__ = ("acyclic", "edges", "handled", "incoming", "order", "outgoing", "roots", "straight")

    def __init__(self, component: ComponentDefinition) -> None:
        self.order: list[str] = list(component.nodes)
        self.edges: list[Edge]
        self.incoming: dict[str, list[int]]
        self.outgoing: dict[str, list[int]]
        self.acyclic = component.edges is None
        """True when the order of addition is the graph (a chain): no cycle to look for."""
        if component.edges is None:
            order = self.order
            self.edges = [ChainEdge(a, b) for a, b in itertools.pairwise(order)]
            # Edge i joins order[i] -> order[i + 1]: the lists are known without a lookup per edge.
            last = len(order) - 1
            self.outgoing = {nid: ([i] if i < last else []) for i, nid in enumerate(order)}
            self.incoming = {nid: ([i - 1] if i else []) for i, nid in enumerate(order)}
            self.roots = order[:1]
            self.handled: frozenset[str] = frozenset()
            self.straight: dict[str, tuple[int, str]] = {nid: (i, order[i + 1]) for i, nid in enumerate(order[:-1])}
            return
        self.edges = list(component.edges)
        self.incoming = {nid: [] for nid in self.order}
        self.outgoing = {nid: [] for nid in self.order}
        for index, edge in enumerate(self.edges):
            if edge.source not in self.outgoing or edge.target not in self.incoming:
                missing = edge.source if edge.source not in self.outgoing else edge.target
                raise ValueError(f"edge {edge.source} -> {edge.target} names no element {missing!r}")
            self.outgoing[edge.source].append(index)
            self.incoming[edge.target].append(index)
        self.roots = [nid for nid in self.order if not self.incoming[nid]]
        self.handled = frozenset(e.source for e in self.edges if e.on in ("error", "always"))
        """Elements whose failure is handled by an error / always edge (it does not fail the component)."""
        self.straight = {}
        """Element -> (edge, target) when its only outgoing edge is active whenever it completes (no port,
        `on` success or always) and is the target's only incoming edge: when it completes, the target is
        ready and nothing else changes (the scheduler's fast path through chains)."""
        for nid, out in self.outgoing.items():
            if len(out) == 1:
                edge = self.edges[out[0]]
                if edge.port is None and edge.on != "error" and len(self.incoming[edge.target]) == 1:
                    self.straight[nid] = (out[0], edge.target)

    def downstream(self, start: str) -> set[str]:
        """Every element reachable from `start` by any edge (start excluded)."""
        seen: set[str] = set()
        stack = [start]
        while stack:
            nid = stack.pop()
            for index in self.outgoing[nid]:
                target = self.edges[index].target
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return seen


@dataclass(eq=False)
class RunState:
    """Everything a run in progress changes. One per run; never shared."""

    run_context: RunContext
    bus: EventBus
    registry: ExecutorRegistry
    run_id: str
    run_dir: Path
    root_id: str
    flow_dir: Path
    builtins: dict[str, Any]
    results: dict[str, NodeResult] = field(default_factory=dict)
    """Absolute hierarchy path -> result, for every element that ran or was loaded."""
    known: set[str] = field(default_factory=set)
    """Every element path that exists so far (for NOT_RUN and "did you mean")."""
    statuses: dict[str, Status] = field(default_factory=dict)
    graphs: dict[int, tuple[ComponentDefinition, Graph]] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    refs: dict[str, ComponentDefinition] = field(default_factory=dict)
    """Subflows loaded by `ref` during this run, by the path of their file (as `folder/ref`)."""
    ref_files: dict[int, Path] = field(default_factory=dict)
    """id() of a component loaded by `ref` -> its file: refs inside it resolve next to that file."""
    loader: LoadPolicy | None = None
    recorder: Recorder | None = None
    input_unavailable: list[str] = field(default_factory=list)
    """Paths of nodes that failed because input was required and nobody could answer."""

    def graph(self, component: ComponentDefinition) -> Graph:
        cached = self.graphs.get(id(component))
        if cached is not None and cached[0] is component:
            return cached[1]
        graph = Graph(component)
        self.graphs[id(component)] = (component, graph)
        return graph

    def register_component(self, component: ComponentDefinition, path: str) -> None:
        """Make the elements of a component (and of its inline subflow bodies) known to `$hier{}`."""
        known = self.known
        for nid, node in component.nodes.items():
            element = f"{path}.{nid}"
            known.add(element)
            if node.type == "subflow":  # a for_each body is registered per iteration
                body = node.body
                if body is not None:
                    self.register_component(body, element)


class ExecutionContext:
    """One component execution: flow, agent, subflow or loop iteration (DAD_EXECUTION_MODEL.md)."""

    __slots__ = ("component", "kind", "loop_vars", "parent", "path", "results", "run", "scope_maps", "status")

    def __init__(
        self,
        run: RunState,
        component: ComponentDefinition,
        path: str,
        *,
        parent: ExecutionContext | None = None,
        variables: Mapping[str, Any] | None = None,
        loop_vars: Mapping[str, Any] | None = None,
    ) -> None:
        self.run = run
        self.component = component
        self.kind = component.kind
        self.path = path
        self.parent = parent
        self.status = Status.PENDING
        self.results: dict[str, NodeResult] = {}
        self.loop_vars = dict(loop_vars) if loop_vars else None
        inherited = parent.scope_maps if parent is not None else []
        maps: list[MutableMapping[str, Any]] = [self.loop_vars] if self.loop_vars else []
        maps.extend(inherited)
        own = self._declared_values(component.variables, variables or {}, maps)
        maps.insert(1 if self.loop_vars else 0, own)
        self.scope_maps: list[MutableMapping[str, Any]] = maps
        """Variable maps in lookup order: loop vars, this component, enclosing components outward."""

    def _declared_values(
        self, declared: Mapping[str, Any], overrides: Mapping[str, Any], enclosing: list[MutableMapping[str, Any]]
    ) -> dict[str, Any]:
        """The component's variables: overrides as given, declared values as values, except that a
        declared string holding a template is rendered now, once, in the enclosing scope (loop
        variables, enclosing components' variables, built-ins; not its sibling variables, so the
        order of declaration never matters). TEMPLATES.md: variables are values; a template in one
        is how a default is computed from the run (`$var{run_id}`) or from the enclosing flow.
        Raises TemplateError (the node that starts the component fails with it)."""
        own = dict(declared)
        for name, value in declared.items():
            if name in overrides or not isinstance(value, str) or "$" not in value:
                continue
            from dad_studio.template import evaluate, has_template

            if has_template(value):
                scope = ChainMap(*enclosing, self.builtins())
                own[name] = evaluate(value, scope, results=self.parent, allow_python=self.run.run_context.trusted)
        own.update(overrides)
        return own

    # -- the execution model's accessors ---------------------------------------------------------

    @property
    def hier_path(self) -> str:
        return self.path

    @property
    def definition(self) -> ComponentDefinition:
        return self.component

    @property
    def resources(self) -> Mapping[str, Any]:
        return self.run.run_context.resources

    @property
    def events(self) -> EventBus:
        return self.run.bus

    @property
    def artifact_root(self) -> Path:
        return self.run.run_dir / "artifacts"

    def child(
        self,
        component: ComponentDefinition,
        path: str,
        *,
        variables: Mapping[str, Any] | None = None,
        loop_vars: Mapping[str, Any] | None = None,
    ) -> ExecutionContext:
        return ExecutionContext(self.run, component, path, parent=self, variables=variables, loop_vars=loop_vars)

    def builtins(self, element_id: str | None = None) -> dict[str, Any]:
        values = dict(self.run.builtins)
        values["component_hier_path"] = self.path
        if element_id is not None:
            values["element_id"] = element_id
            values["element_hier_path"] = f"{self.path}.{element_id}"
        return values

    @property
    def variables(self) -> ChainMap[str, Any]:
        """Variables of the component itself (templates of a component, not of one element)."""
        return ChainMap(*self.scope_maps, self.builtins())

    def node_variables(self, element_id: str) -> ChainMap[str, Any]:
        return ChainMap(*self.scope_maps, self.builtins(element_id))

    def set_result(self, element_id: str, result: NodeResult) -> None:
        self.results[element_id] = result
        self.run.results[f"{self.path}.{element_id}"] = result

    # -- HierLookup (dad_studio.template) --------------------------------------------------------

    @property
    def current_path(self) -> str:
        return self.path

    def get_result(self, path: str) -> Any:
        result = self.run.results.get(path)
        if result is not None:
            return result
        if path in self.run.known:
            return _not_run()
        raise KeyError(path)

    def find_result(self, path: str, default: Any) -> Any:
        """`get_result` returning `default` where it raises KeyError: dad_studio.template uses it when
        present, so the candidate paths a `$hier{}` tries before the one that exists cost a dict probe
        each instead of a raised and caught KeyError (~16 per render of a nested reference)."""
        result = self.run.results.get(path)
        if result is not None:
            return result
        if path in self.run.known:
            return _not_run()
        return default

    def element_paths(self) -> Iterable[str]:
        return self.run.known

    def __repr__(self) -> str:
        return f"ExecutionContext({self.path!r}, {self.status.value})"
