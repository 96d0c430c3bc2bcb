"""Components (flows, agents), their elements and edges, plus the Python builder.

The document is plain data: a component holds `nodes` (id -> NodeDefinition), `edges` and `layout`.
A node's `settings` stay a dict here so that a file with an unknown (plugin) type or a bad setting
still loads and can be reported on; `dad_studio.fileformat` validates settings against the type's
model. The one exception is `body` of `subflow` / `for_each`, which is parsed into a nested
ComponentDefinition so the hierarchy can be walked without knowing the node types.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ID_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""Element ids (FLOW_FORMAT.md); at most MAX_ID_LENGTH characters."""
MAX_ID_LENGTH = 150

BUILTIN_VARIABLES: frozenset[str] = frozenset(
    {
        "run_id",
        "run_dir",
        "run_root",
        "project_root",
        "element_id",
        "element_hier_path",
        "component_hier_path",
    }
)
"""Variables every template sees; a component may not define a variable with one of these names."""

COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"
"""A comment's optional colour: `#rrggbb`."""

BODY_TYPES: frozenset[str] = frozenset({"subflow", "for_each"})
"""Node types whose settings may hold a nested component under `body`."""

EdgeOn = Literal["success", "error", "always"]
JoinMode = Literal["all", "any"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False, defer_build=True)


class RetryPolicy(_Strict):
    max_attempts: int = Field(default=1, ge=1, le=100)
    """Total attempts, the first included."""
    backoff_s: float = Field(default=0.0, ge=0.0)
    """Delay before attempt n+1 is backoff_s * 2**(n-1)."""


class EdgeDefinition(_Strict):
    """`{"from": A, "to": B, "on": ..., "port": ...}`; `port` only for a conditional source."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    source: str = Field(alias="from")
    target: str = Field(alias="to")
    on: EdgeOn = "success"
    port: Literal["true", "false"] | None = None


class Comment(_Strict):
    """A note on the canvas (a backdrop behind nodes): layout, not meaning.

    Comments never take part in validation of the flow or in a run; they are in the file so that
    they survive a save. `id` follows the element id rules and is unique among the component's
    comments (fileformat reports a clash); the rectangle is in scene units, rounded to integers.
    """

    id: str
    text: str = ""
    x: int
    y: int
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    color: str | None = Field(default=None, pattern=COLOR_PATTERN)


class NodeDefinition(_Strict):
    """One element of a component: a node of a registered type."""

    type: str
    description: str = ""
    settings: dict[str, Any] = Field(default_factory=dict)
    pre_events: list[str] = Field(default_factory=list)
    join: JoinMode = "all"
    timeout_s: float | None = Field(default=None, gt=0)
    retry: RetryPolicy | None = None

    @model_validator(mode="after")
    def _parse_body(self) -> NodeDefinition:
        body = self.settings.get("body")
        if self.type in BODY_TYPES and isinstance(body, dict):
            self.settings["body"] = component_from_dict(body)
        return self

    @property
    def body(self) -> ComponentDefinition | None:
        """The nested component of a subflow / for_each, when it is inline."""
        body = self.settings.get("body")
        return body if isinstance(body, ComponentDefinition) else None


class ComponentDefinition(_Strict):
    """A flow or an agent. Nested bodies have no id: they take the id of the node that holds them."""

    id: str | None = None
    kind: Literal["flow", "agent"] = "flow"
    description: str = ""
    variables: dict[str, Any] = Field(default_factory=dict)
    nodes: dict[str, NodeDefinition] = Field(default_factory=dict)
    edges: list[EdgeDefinition] | None = None
    """None means "never connected": elements run one after another in the order added."""
    layout: dict[str, tuple[int, int]] = Field(default_factory=dict)
    comments: list[Comment] = Field(default_factory=list)
    """Canvas notes (schema_version 2); layout like `layout`, ignored by validation and the engine."""

    # -- the builder (the execution model's names) ------------------------------------------------

    def node(self, node_id: str, definition: NodeDefinition | None = None, /, **kwargs: Any) -> NodeDefinition:
        """Add an element. `definition` or the NodeDefinition fields as keywords (type=..., settings=...)."""
        if node_id in self.nodes:
            raise ValueError(f"duplicate element id {node_id!r} in component {self.id or '(body)'}")
        if not ID_PATTERN.match(node_id) or len(node_id) > MAX_ID_LENGTH:
            raise ValueError(f"invalid element id {node_id!r}: use letters, digits and _ (not first)")
        node = definition if definition is not None else NodeDefinition(**kwargs)
        self.nodes[node_id] = node
        return node

    def subflow(
        self,
        node_id: str,
        body: ComponentDefinition | None = None,
        *,
        ref: str | None = None,
        variables: dict[str, Any] | None = None,
        **fields: Any,
    ) -> NodeDefinition:
        if (body is None) == (ref is None):
            raise ValueError("subflow needs exactly one of body or ref")
        settings: dict[str, Any] = {"variables": dict(variables or {})}
        if body is not None:
            settings["body"] = body.as_body()
        else:
            settings["ref"] = ref
        return self.node(node_id, NodeDefinition(type="subflow", settings=settings, **fields))

    def conditional(self, node_id: str, statement: str, **fields: Any) -> NodeDefinition:
        return self.node(node_id, NodeDefinition(type="conditional", settings={"statement": statement}, **fields))

    def for_each(
        self,
        node_id: str,
        statement: str,
        body: ComponentDefinition,
        *,
        max_iterations: int | str,
        item_var: str = "item",
        index_var: str = "index",
        start_index: int | str = 0,
        concurrency: int = 1,
        **fields: Any,
    ) -> NodeDefinition:
        settings = {
            "statement": statement,
            "item_var": item_var,
            "index_var": index_var,
            "start_index": start_index,
            "max_iterations": max_iterations,
            "concurrency": concurrency,
            "body": body.as_body(),
        }
        return self.node(node_id, NodeDefinition(type="for_each", settings=settings, **fields))

    def connect(
        self,
        source: str,
        target: str,
        *,
        on_success: bool = False,
        on_error: bool = False,
        always: bool = False,
        port: Literal["true", "false"] | None = None,
    ) -> EdgeDefinition:
        """Add an edge. With no flag the edge fires on success (DAD's default)."""
        if sum((on_success, on_error, always)) > 1:
            raise ValueError("choose one of on_success, on_error, always")
        on: EdgeOn = "error" if on_error else "always" if always else "success"
        if self.edges is None:
            self.edges = []
        edge = EdgeDefinition(source=source, target=target, on=on, port=port)
        self.edges.append(edge)
        return edge

    # -- reading ----------------------------------------------------------------------------------

    def effective_edges(self) -> list[EdgeDefinition]:
        """The edges that schedule this component: explicit ones, or the order of addition."""
        if self.edges is not None:
            return self.edges
        ids = list(self.nodes)
        return [EdgeDefinition(source=a, target=b) for a, b in itertools.pairwise(ids)]

    def as_body(self) -> ComponentDefinition:
        """A copy without an id, to nest under a subflow / for_each node."""
        return self.model_copy(update={"id": None})

    def walk(self, prefix: str | None = None) -> Iterator[tuple[str, str, NodeDefinition]]:
        """Yield (component_path, element_path, node) for every element, depth first, in order."""
        base = prefix if prefix is not None else (self.id or "root")
        for node_id, node in self.nodes.items():
            path = f"{base}.{node_id}"
            yield base, path, node
            body = node.body
            if body is not None:
                yield from body.walk(path)


class FlowDefinition(ComponentDefinition):
    """A flow; `FlowDefinition()` is the builder's entry point."""

    kind: Literal["flow", "agent"] = "flow"


class AgentDefinition(ComponentDefinition):
    """An agent: flows and sub-agents as subflow elements, control nodes and python callbacks."""

    kind: Literal["flow", "agent"] = "agent"

    def flow(self, node_id: str, flow: ComponentDefinition, **fields: Any) -> NodeDefinition:
        return self.subflow(node_id, flow, **fields)

    def subagent(self, node_id: str, agent: ComponentDefinition, **fields: Any) -> NodeDefinition:
        return self.subflow(node_id, agent, **fields)


def component_from_dict(data: dict[str, Any]) -> ComponentDefinition:
    """Build the right component class for `kind` (flow or agent)."""
    cls: type[ComponentDefinition] = AgentDefinition if data.get("kind") == "agent" else FlowDefinition
    return cls.model_validate(data)
