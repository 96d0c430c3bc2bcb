"""RunState: the events of one run folded into what a studio shows (RUNS.md, issues 8 and 9).

The live studio applies two or three events per node at thousands of nodes per second, and the
history timeline re-folds runs of tens of thousands of events, so `apply` is O(1) per event and
never copies a value: a NodeView keeps references to the fields of the event it came from. Events
are therefore treated as immutable once applied. Anything that costs more than O(1) (the context
tree, edge states, variables in scope) is computed on demand, when a panel asks for it.

With the flow definition (`RunState(flow)`), every element is known before it starts (shown as
`pending`), loop iterations get their body's elements when they start, and edges can be marked
taken or dead. Without it the state holds exactly what the events say.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from dad_studio.model.definitions import ComponentDefinition, EdgeDefinition, NodeDefinition

__all__ = ["SETTLED", "ComponentView", "ContextNode", "EdgeView", "NodeView", "RunState"]

SETTLED = frozenset({"completed", "failed", "skipped", "cancelled"})
"""Element statuses after which nothing more happens to the element (in this run)."""

_RESULT_FIELDS = ("input", "output", "outcome", "error", "usage", "started_at", "ended_at", "duration_ms")
_NUMERIC = (int, float)


@dataclass(slots=True)
class NodeView:
    """One element as the canvas and the outcomes panel show it."""

    path: str
    node_type: str | None = None
    status: str = "pending"
    loaded: bool = False
    """Copied from the previous run (`node_loaded`); status is then `completed`."""
    attempt: int = 0
    started_at: str | None = None
    ended_at: str | None = None
    duration_ms: float | None = None
    input: Any = None
    output: Any = None
    outcome: Any = None
    error: Any = None
    usage: Any = None
    input_request: Any = None
    """The `request` of `node_input_required` while the element waits (kept afterwards for the record)."""
    input_source: str | None = None
    skip_reason: str | None = None
    stream: list[str] = field(default_factory=list)
    """Pieces of streamed model output of the current attempt (`node_output_delta`)."""
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    first_seq: int = 0
    last_seq: int = 0
    token: object = field(default=None, compare=False, repr=False)
    """The RunState allowed to change this view in place (copy-on-write between snapshots)."""

    @property
    def id(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    @property
    def streamed_text(self) -> str:
        return "".join(self.stream)

    @property
    def cost(self) -> float | None:
        usage = self.usage
        value = usage.get("cost") if isinstance(usage, dict) else None
        return float(value) if isinstance(value, _NUMERIC) and not isinstance(value, bool) else None

    def clone(self, token: object = None) -> NodeView:
        """A copy that shares the (immutable) event values but not the lists that grow."""
        return NodeView(
            self.path,
            self.node_type,
            self.status,
            self.loaded,
            self.attempt,
            self.started_at,
            self.ended_at,
            self.duration_ms,
            self.input,
            self.output,
            self.outcome,
            self.error,
            self.usage,
            self.input_request,
            self.input_source,
            self.skip_reason,
            list(self.stream),
            list(self.artifacts),
            self.first_seq,
            self.last_seq,
            token,
        )


@dataclass(slots=True)
class ComponentView:
    """One component execution: the root, a subflow body, or one for_each iteration."""

    path: str
    owner: str | None
    """The element holding it (subflow or for_each node path); None for the root."""
    kind: str | None = None
    status: str = "pending"
    iteration: int | None = None
    """For `<loop>.iter_<i>`: i (also the loop's index variable)."""
    children: list[str] = field(default_factory=list)
    """Paths of its elements, in definition order, then in the order they first appeared."""
    token: object = field(default=None, compare=False, repr=False)
    loop_variables: dict[str, Any] | None = None
    """For a loop iteration: its item and index variables, as its component_started event gives them."""

    def clone(self, token: object = None) -> ComponentView:
        return ComponentView(
            self.path, self.owner, self.kind, self.status, self.iteration, list(self.children), token,
            self.loop_variables,
        )  # fmt: skip


@dataclass(slots=True)
class ContextNode:
    """A node of the execution context tree: run -> components -> (loop iterations) -> elements."""

    kind: Literal["run", "component", "node"]
    path: str
    status: str
    label: str
    children: list[ContextNode] = field(default_factory=list)

    def walk(self) -> Iterator[ContextNode]:
        yield self
        for child in self.children:
            yield from child.walk()


EdgeState = Literal["taken", "dead", "pending"]


@dataclass(frozen=True, slots=True)
class EdgeView:
    """An edge of one component execution and whether the run took it."""

    component: str
    source: str
    target: str
    on: str
    port: str | None
    state: EdgeState


def edge_state(edge: EdgeDefinition, source: NodeView | None) -> EdgeState:
    """FLOW_FORMAT.md: active when the condition matches how the source ended, dead otherwise."""
    status = source.status if source is not None else "pending"
    if status not in SETTLED:
        return "pending"
    if status in ("skipped", "cancelled"):
        return "dead"
    if edge.port is not None:
        if status != "completed" or source is None:
            return "dead"
        outcome = source.outcome
        value = outcome.get("value") if isinstance(outcome, dict) else None
        return "taken" if ("true" if value else "false") == edge.port else "dead"
    if edge.on == "always":
        return "taken"
    wanted = "completed" if edge.on == "success" else "failed"
    return "taken" if status == wanted else "dead"


class RunState:
    """The state of one run after the events applied so far."""

    def __init__(self, flow: ComponentDefinition | None = None, *, root_id: str | None = None) -> None:
        self.flow = flow
        self.root_id: str = root_id or (flow.id if flow is not None and flow.id else "root")
        self.run_id: str | None = None
        self.run_dir: str | None = None
        self.status: str = "pending"
        self.previous_run_id: str | None = None
        self.start_hierarchy_path: str | None = None
        self.run_variables: dict[str, Any] = {}
        self.started_at: str | None = None
        self.ended_at: str | None = None
        self.duration_ms: float | None = None
        self.final_counts: dict[str, int] | None = None
        self.final_usage: dict[str, Any] | None = None
        self.nodes: dict[str, NodeView] = {}
        self.components: dict[str, ComponentView] = {}
        self.logs: list[dict[str, Any]] = []
        self.failures: list[str] = []
        """Paths of elements that failed, in the order they failed."""
        self.waiting: dict[str, NodeView] = {}
        """Elements waiting for input (the inbox), oldest first."""
        self.last_seq = 0
        self.event_count = 0
        self._counts: dict[str, int] = {}
        self._usage: dict[str, float] = {}
        self._defs: dict[str, ComponentDefinition] = {}
        """Definition of each component path known so far (root, subflow bodies, loop iterations)."""
        self._node_defs: dict[str, NodeDefinition] = {}
        self._token = object()
        """Views carrying this token belong to this state alone; others are shared with a snapshot."""
        if flow is not None:
            self._add_component(self.root_id, None, flow)

    # -- definitions ----------------------------------------------------------------------------

    def _add_component(self, path: str, owner: str | None, definition: ComponentDefinition | None) -> ComponentView:
        view = self.components.get(path)
        if view is None:
            view = ComponentView(path, owner, token=self._token)
            self.components[path] = view
            if owner is not None:
                tail = path[len(owner) + 1 :] if path != owner else ""
                if tail.startswith("iter_") and tail[5:].isdigit():
                    view.iteration = int(tail[5:])
        if definition is not None and path not in self._defs:
            self._defs[path] = definition
            view = self._own_component(view)
            view.kind = view.kind or definition.kind
            # `_node` per element, inlined: every element's parent is this component (ids have no dots),
            # and a snapshot of thousands of elements is laid out here each time a replay opens.
            nodes, node_defs, token, children = self.nodes, self._node_defs, self._token, view.children
            added = 0
            for nid, node in definition.nodes.items():
                element = f"{path}.{nid}"
                node_defs[element] = node
                if element not in nodes:
                    nodes[element] = NodeView(element, token=token)
                    children.append(element)
                    added += 1
                body = node.body
                if body is not None and node.type != "for_each":
                    self._add_component(element, element, body)
            if added:
                self._counts["pending"] = self._counts.get("pending", 0) + added
        return view

    def definition_of(self, component_path: str) -> ComponentDefinition | None:
        return self._defs.get(component_path)

    def node_definition(self, path: str) -> NodeDefinition | None:
        return self._node_defs.get(path)

    def _node(self, path: str) -> NodeView:
        view = self.nodes.get(path)
        if view is None:
            view = NodeView(path, token=self._token)
            self.nodes[path] = view
            self._counts["pending"] = self._counts.get("pending", 0) + 1
            parent = path.rsplit(".", 1)[0] if "." in path else self.root_id
            component = self.components.get(parent)
            if component is None:
                component = self._implicit_component(parent)
            self._own_component(component).children.append(path)
        return view

    def _implicit_component(self, path: str) -> ComponentView:
        """A component met through its elements' events before (or without) component_started."""
        if path == self.root_id:
            return self._add_component(path, None, None)
        # A subflow body has the path of its node; a loop iteration is `<loop>.iter_<i>`.
        owner: str | None = path if path in self.nodes else (path.rsplit(".", 1)[0] if "." in path else None)
        definition = self._body_definition(path, owner)
        if owner is not None and owner not in self.nodes and owner != self.root_id:
            self._node(owner)
        return self._add_component(path, owner, definition)

    def _body_definition(self, path: str, owner: str | None) -> ComponentDefinition | None:
        if owner is None:
            return None
        node = self._node_defs.get(owner)
        return node.body if node is not None else None

    def _own_node(self, view: NodeView) -> NodeView:
        """The view itself if this state owns it, else a private copy put in its place."""
        if view.token is self._token:
            return view
        mine = view.clone(self._token)
        self.nodes[view.path] = mine
        if view.path in self.waiting:
            self.waiting[view.path] = mine
        return mine

    def _own_component(self, view: ComponentView) -> ComponentView:
        if view.token is self._token:
            return view
        mine = view.clone(self._token)
        self.components[view.path] = mine
        return mine

    def _set_status(self, view: NodeView, status: str) -> None:
        old = view.status
        if old == status:
            return
        counts = self._counts
        counts[old] -= 1
        counts[status] = counts.get(status, 0) + 1
        view.status = status

    # -- folding --------------------------------------------------------------------------------

    def apply(self, event: dict[str, Any]) -> None:
        """Fold one event in. Unknown types are counted and otherwise ignored (newer engines)."""
        self.event_count += 1
        seq = event.get("seq")
        if type(seq) is int or isinstance(seq, int):
            self.last_seq = seq
        handler = _HANDLERS.get(event.get("type", ""))
        if handler is not None:
            handler(self, event)

    def apply_all(self, events: list[dict[str, Any]]) -> RunState:
        """Fold a run of events: `apply` per event, with its lookups hoisted out of the loop (the
        replay folds a whole log on open; this is its hot loop)."""
        handlers = _HANDLERS
        count = self.event_count
        last_seq = self.last_seq
        for event in events:
            count += 1
            seq = event.get("seq")
            if type(seq) is int or isinstance(seq, int):
                last_seq = seq
            handler = handlers.get(event.get("type", ""))
            if handler is not None:
                self.last_seq = last_seq
                self.event_count = count
                handler(self, event)
        self.event_count = count
        self.last_seq = last_seq
        return self

    def _touch(self, event: dict[str, Any]) -> NodeView:
        path = event["path"]
        view = self.nodes.get(path)
        if view is None:
            view = self._node(path)
        if view.token is not self._token:
            view = self._own_node(view)
        seq = self.last_seq
        if not view.first_seq:
            view.first_seq = seq
        view.last_seq = seq
        return view

    def _on_run_started(self, event: dict[str, Any]) -> None:
        root = event.get("root_component_id") or event.get("path")
        if isinstance(root, str) and root and root != self.root_id and not self.nodes_started():
            self._rebase(root)
        self.run_id = event.get("run_id")
        self.previous_run_id = event.get("previous_run_id")
        self.start_hierarchy_path = event.get("start_hierarchy_path")
        variables = event.get("variables")
        self.run_variables = variables if isinstance(variables, dict) else {}
        self.started_at = event.get("ts")
        self.status = "running"

    def nodes_started(self) -> bool:
        return any(v.status != "pending" for v in self.nodes.values())

    def _rebase(self, root: str) -> None:
        """The run names its root differently from the definition's id: rebuild the pending views."""
        self.root_id = root
        self.nodes.clear()
        self.components.clear()
        self._counts.clear()
        self._defs.clear()
        self._node_defs.clear()
        if self.flow is not None:
            self._add_component(root, None, self.flow)

    def _on_component_started(self, event: dict[str, Any]) -> None:
        path = event["path"]
        view = self.components.get(path) or self._implicit_component(path)
        if path not in self._defs:
            definition = self._body_definition(path, view.owner)
            if definition is not None:
                self._add_component(path, view.owner, definition)
        view = self._own_component(self.components[path])
        view.kind = event.get("kind") or view.kind
        view.status = "running"
        loop_variables = event.get("variables")
        if isinstance(loop_variables, dict):
            view.loop_variables = dict(loop_variables)

    def _on_component_completed(self, event: dict[str, Any]) -> None:
        path = event["path"]
        view = self._own_component(self.components.get(path) or self._implicit_component(path))
        view.kind = event.get("kind") or view.kind
        view.status = str(event.get("status") or "completed")

    def _on_node_started(self, event: dict[str, Any]) -> None:
        view = self._touch(event)
        view.node_type = event.get("node_type") or view.node_type
        attempt = event.get("attempt")
        view.attempt = attempt if isinstance(attempt, int) else view.attempt + 1
        if view.attempt > 1 and view.stream:
            view.stream = []
        view.started_at = view.started_at or event.get("ts")
        view.loaded = False
        self._set_status(view, "running")
        self._component_running(view.path)

    def _component_running(self, path: str) -> None:
        parent = self.components.get(path.rsplit(".", 1)[0])
        if parent is not None and parent.status == "pending":
            self._own_component(parent).status = "running"

    def _on_input_required(self, event: dict[str, Any]) -> None:
        view = self._touch(event)
        view.node_type = event.get("node_type") or view.node_type
        view.input_request = event.get("request")
        self._set_status(view, "waiting_input")
        self.waiting[view.path] = view
        self._component_running(view.path)

    def _on_input_received(self, event: dict[str, Any]) -> None:
        view = self._touch(event)
        view.input = event.get("input")
        view.input_source = event.get("source")
        self.waiting.pop(view.path, None)
        if view.status == "waiting_input":
            self._set_status(view, "running")

    def _on_delta(self, event: dict[str, Any]) -> None:
        text = event.get("text")
        if isinstance(text, str):
            self._touch(event).stream.append(text)

    def _on_result(self, event: dict[str, Any], loaded: bool) -> None:
        view = self._touch(event)
        get = event.get
        view.node_type = get("node_type") or view.node_type
        # _RESULT_FIELDS, assigned one by one (a setattr loop costs twice as much on the replay's hot path)
        received = view.input
        view.input = get("input")
        view.output = get("output")
        view.outcome = get("outcome")
        view.error = get("error")
        view.usage = get("usage")
        view.started_at = get("started_at")
        view.ended_at = get("ended_at")
        view.duration_ms = get("duration_ms")
        if view.input is None:
            view.input = received  # the executor reported none: keep what node_input_received gave
        view.loaded = loaded
        status = str(event.get("status") or "completed")
        self.waiting.pop(view.path, None)
        self._set_status(view, status)
        if status == "failed":
            self.failures.append(view.path)
        usage = view.usage
        if not loaded and isinstance(usage, dict):
            totals = self._usage
            for key, value in usage.items():
                if isinstance(value, _NUMERIC) and not isinstance(value, bool):
                    totals[key] = totals.get(key, 0) + value

    def _on_completed(self, event: dict[str, Any]) -> None:
        self._on_result(event, False)

    def _on_loaded(self, event: dict[str, Any]) -> None:
        self._on_result(event, True)

    def _on_skipped(self, event: dict[str, Any]) -> None:
        view = self._touch(event)
        view.skip_reason = event.get("reason")
        self.waiting.pop(view.path, None)
        self._set_status(view, "skipped")

    def _on_artifact(self, event: dict[str, Any]) -> None:
        self._touch(event).artifacts.append(
            {
                "artifact": event.get("artifact"),
                "size": event.get("size"),
                "media_type": event.get("media_type"),
                "seq": event.get("seq"),
            }
        )

    def _on_log(self, event: dict[str, Any]) -> None:
        self.logs.append(event)

    def _on_run_completed(self, event: dict[str, Any]) -> None:
        self.status = str(event.get("status") or "completed")
        counts = event.get("counts")
        usage = event.get("usage")
        self.final_counts = counts if isinstance(counts, dict) else None
        self.final_usage = usage if isinstance(usage, dict) else None
        duration = event.get("duration_ms")
        self.duration_ms = float(duration) if isinstance(duration, _NUMERIC) else None
        self.ended_at = event.get("ts")

    # -- reading --------------------------------------------------------------------------------

    @property
    def counts(self) -> dict[str, int]:
        """Elements by status (pending ones included when the definition is known)."""
        return {k: v for k, v in self._counts.items() if v}

    @property
    def usage(self) -> dict[str, Any]:
        """Usage totals: the run's own once it has completed, else the sum over executed elements."""
        if self.final_usage is not None:
            return self.final_usage
        return dict(self._usage)

    def node(self, path: str) -> NodeView | None:
        return self.nodes.get(path)

    def edges(self, component_path: str) -> list[EdgeView]:
        """Edges of one component execution with their state; empty without its definition."""
        definition = self._defs.get(component_path)
        if definition is None:
            return []
        nodes = self.nodes
        return [
            EdgeView(
                component_path,
                edge.source,
                edge.target,
                edge.on,
                edge.port,
                edge_state(edge, nodes.get(f"{component_path}.{edge.source}")),
            )
            for edge in definition.effective_edges()
        ]

    def all_edges(self) -> list[EdgeView]:
        return [edge for path in self._defs for edge in self.edges(path)]

    def taken_edges(self) -> list[EdgeView]:
        return [edge for edge in self.all_edges() if edge.state == "taken"]

    def dead_edges(self) -> list[EdgeView]:
        return [edge for edge in self.all_edges() if edge.state == "dead"]

    def component_chain(self, component_path: str) -> list[ComponentView]:
        """The component and its enclosing components, innermost first."""
        chain: list[ComponentView] = []
        view = self.components.get(component_path)
        while view is not None:
            chain.append(view)
            if view.owner is None:
                break
            owner_parent = view.owner.rsplit(".", 1)[0] if "." in view.owner else self.root_id
            view = self.components.get(owner_parent)
        return chain

    def variables(self, component_path: str) -> dict[str, Any]:
        """Variables in scope in a component, resolved where the record allows (TEMPLATES.md order).

        Loop iterations contribute their item and index variables (from their component_started
        event; a log written before the engine recorded them gives the index only). Subflow
        overrides that are templates are shown as their template text.
        """
        chain = self.component_chain(component_path)
        scope: dict[str, Any] = {}
        for view in reversed(chain):  # outermost first, inner ones override
            if view.owner is None:
                definition = self._defs.get(view.path)
                if definition is not None:
                    scope.update(definition.variables)
                scope.update(self.run_variables)
                continue
            definition = self._defs.get(view.path)
            if definition is not None:
                scope.update(definition.variables)
            owner = self._node_defs.get(view.owner)
            if owner is not None and owner.type == "subflow":
                overrides = owner.settings.get("variables")
                if isinstance(overrides, dict):
                    scope.update(overrides)
            if view.loop_variables is not None:
                scope.update(view.loop_variables)
            elif owner is not None and owner.type == "for_each" and view.iteration is not None:
                index_var = owner.settings.get("index_var", "index")
                scope[str(index_var)] = view.iteration
        builtins: dict[str, Any] = {"run_id": self.run_id, "component_hier_path": component_path}
        if self.run_dir is not None:
            builtins["run_dir"] = self.run_dir
        return {**scope, **{k: v for k, v in builtins.items() if k not in scope}}

    def context_tree(self) -> ContextNode:
        """run -> root component -> elements -> their components (subflow body, loop iterations) -> ..."""
        owned: dict[str, list[ComponentView]] = {}
        for component in self.components.values():
            if component.owner is not None:
                owned.setdefault(component.owner, []).append(component)

        def build_component(view: ComponentView) -> ContextNode:
            label = f"iter_{view.iteration}" if view.iteration is not None else view.path.rsplit(".", 1)[-1]
            node = ContextNode("component", view.path, view.status, label)
            for child_path in view.children:
                child = self.nodes[child_path]
                element = ContextNode("node", child_path, child.status, child.id)
                for sub in owned.get(child_path, ()):
                    element.children.append(build_component(sub))
                node.children.append(element)
            return node

        run = ContextNode("run", self.root_id, self.status, self.run_id or self.root_id)
        root = self.components.get(self.root_id)
        if root is not None:
            run.children.append(build_component(root))
        return run

    # -- copies for replay checkpoints -----------------------------------------------------------

    def snapshot(self) -> RunState:
        """An independent copy. Views are shared copy-on-write: both states get new tokens, so whichever
        changes a view first changes its own copy. O(elements) dict copies, no view copies."""
        copy = RunState.__new__(RunState)
        copy.__dict__.update(self.__dict__)
        copy.nodes = dict(self.nodes)
        copy.components = dict(self.components)
        copy.logs = list(self.logs)
        copy.failures = list(self.failures)
        copy.waiting = dict(self.waiting)
        copy._token = object()
        self._token = object()
        copy._counts = dict(self._counts)
        copy._usage = dict(self._usage)
        copy._defs = dict(self._defs)
        copy._node_defs = dict(self._node_defs)
        return copy

    def summary(self) -> dict[str, Any]:
        """A comparable digest (tests, debugging): statuses and the fields a panel shows."""
        return {
            "status": self.status,
            "counts": self.counts,
            "usage": self.usage,
            "nodes": {
                p: (v.status, v.loaded, v.attempt, v.streamed_text, len(v.artifacts), v.outcome)
                for p, v in self.nodes.items()
            },
            "components": {p: (c.status, tuple(c.children)) for p, c in self.components.items()},
            "waiting": list(self.waiting),
            "failures": list(self.failures),
            "logs": len(self.logs),
            "last_seq": self.last_seq,
        }


_HANDLERS: dict[str, Any] = {
    "run_started": RunState._on_run_started,
    "component_started": RunState._on_component_started,
    "component_completed": RunState._on_component_completed,
    "node_started": RunState._on_node_started,
    "node_input_required": RunState._on_input_required,
    "node_input_received": RunState._on_input_received,
    "node_output_delta": RunState._on_delta,
    "node_completed": RunState._on_completed,
    "node_loaded": RunState._on_loaded,
    "node_skipped": RunState._on_skipped,
    "artifact_written": RunState._on_artifact,
    "log": RunState._on_log,
    "run_completed": RunState._on_run_completed,
}
