"""Graph rules for edges inside one component: what connect refuses, and cycle paths to name."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from dad_studio.model import ComponentDefinition, EdgeDefinition, NodeTypeRegistry

from .errors import CommandError


def is_conditional(node_type: str, registry: NodeTypeRegistry) -> bool:
    """A node type with true/false ports (plugins may add their own, so ask the registry)."""
    known = registry.get(node_type)
    if known is None:
        return node_type == "conditional"
    return any(p.meaning == "true" for p in known.ports)


def successors(edges: Iterable[EdgeDefinition]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in edges:
        out.setdefault(e.source, []).append(e.target)
    return out


def find_path(adjacency: dict[str, list[str]], start: str, goal: str) -> list[str] | None:
    """A shortest path start -> ... -> goal, or None (breadth first, so the message stays short)."""
    parent: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        cur = queue.popleft()
        if cur == goal:
            path: list[str] = []
            step: str | None = cur
            while step is not None:
                path.append(step)
                step = parent[step]
            return path[::-1]
        for nxt in adjacency.get(cur, ()):
            if nxt not in parent:
                parent[nxt] = cur
                queue.append(nxt)
    return None


def cycle_through(edges: Iterable[EdgeDefinition], source: str, target: str) -> list[str] | None:
    """The cycle a new edge source -> target would close, as source -> target -> ... -> source."""
    path = find_path(successors(edges), target, source)
    return None if path is None else [source, *path]


def check_edge(
    comp: ComponentDefinition, edge: EdgeDefinition, registry: NodeTypeRegistry, *, graph_checks: bool = True
) -> None:
    """Raise CommandError with the reason if ``edge`` may not be added to ``comp``.

    ``graph_checks=False`` skips the O(edges) duplicate and cycle checks, for callers that proved
    them on a smaller graph (paste: the pasted nodes are new, so only the payload's edges matter).
    """
    for end in (edge.source, edge.target):
        if end not in comp.nodes:
            raise CommandError(f"unknown node {end!r}")
    if edge.source == edge.target:
        raise CommandError(f"a node cannot connect to itself ({edge.source})")
    conditional = is_conditional(comp.nodes[edge.source].type, registry)
    if edge.port is not None and not conditional:
        raise CommandError(f"{edge.source} is not a conditional: only conditional nodes have true/false ports")
    if edge.port is not None and edge.on == "error":
        raise CommandError("an error edge leaves the node itself, not a true/false port")
    if conditional and edge.port is None and edge.on != "error":
        raise CommandError(f"conditional edges need a port: connect {edge.source} from 'true' or 'false'")
    if not graph_checks:
        return
    edges = comp.edges or []
    key = (edge.source, edge.target, edge.on, edge.port)
    if any((e.source, e.target, e.on, e.port) == key for e in edges):
        raise CommandError(f"{edge.source} -> {edge.target} is already connected that way")
    cycle = cycle_through(edges, edge.source, edge.target)
    if cycle is not None:
        raise CommandError(f"would make a cycle {' -> '.join(cycle)}")


def materialize_edges(comp: ComponentDefinition) -> None:
    """Edit explicit edges only: "never connected" becomes the order it implies (what save writes)."""
    if comp.edges is None:
        comp.edges = list(comp.effective_edges())
    for node in comp.nodes.values():
        if node.body is not None:
            materialize_edges(node.body)
