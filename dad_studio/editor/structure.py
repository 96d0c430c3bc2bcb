"""Group a selection into a subflow node, and ungroup a subflow back into its component.

Both build the component's new nodes / edges / layout containers up front (checking everything)
and hand them to one ReplaceContents command, so undo is a swap back and views redraw the
component once (structure_changed) instead of following hundreds of small signals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dad_studio.model import EdgeDefinition, FlowDefinition, NodeDefinition

from .commands import Position, ReplaceContents
from .errors import CommandError, ComponentPath
from .graph import find_path, successors

if TYPE_CHECKING:
    from .document import FlowDocument


def _dedup(edges: list[EdgeDefinition]) -> list[EdgeDefinition]:
    seen: set[tuple[str, str, str, str | None]] = set()
    out: list[EdgeDefinition] = []
    for e in edges:
        key = (e.source, e.target, e.on, e.port)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def _check_acyclic(edges: list[EdgeDefinition], what: str) -> None:
    adjacency = successors(edges)
    for e in edges:
        path = find_path(adjacency, e.target, e.source)
        if path is not None:
            raise CommandError(f"cannot {what}: it would make a cycle {' -> '.join([e.source, *path])}")


def group_command(doc: FlowDocument, cpath: ComponentPath, ids: list[str], new_id: str) -> ReplaceContents:
    """Move ``ids`` into a new subflow node ``new_id``; edges that cross the selection attach to it."""
    comp = doc.component(cpath)
    chosen = list(dict.fromkeys(ids))
    if not chosen:
        raise CommandError("select the nodes to group")
    for node_id in chosen:
        doc.node(cpath, node_id)
    doc.check_new_id(cpath, new_id)
    inside = set(chosen)
    edges = comp.edges or []
    internal = [e for e in edges if e.source in inside and e.target in inside]
    outer: list[EdgeDefinition] = []
    for e in edges:
        if e.source in inside and e.target in inside:
            continue
        if e.source in inside:
            if e.port is not None:
                raise CommandError(
                    f"cannot group: the {e.port!r} branch of {e.source} leaves the selection; include {e.target}"
                )
            outer.append(e.model_copy(update={"source": new_id}))
        elif e.target in inside:
            outer.append(e.model_copy(update={"target": new_id}))
        else:
            outer.append(e)
    outer = _dedup(outer)
    _check_acyclic(outer, f"group into {new_id}")

    placed = [comp.layout[k] for k in chosen if k in comp.layout]
    corner: Position = (min(p[0] for p in placed), min(p[1] for p in placed)) if placed else (0, 0)
    body = FlowDefinition()
    body.nodes = {k: comp.nodes[k] for k in comp.nodes if k in inside}
    body.edges = list(internal)
    body.layout = {
        k: (comp.layout[k][0] - corner[0], comp.layout[k][1] - corner[1]) for k in comp.layout if k in inside
    }
    subflow = NodeDefinition(type="subflow", settings={"variables": {}})
    subflow.settings["body"] = body.as_body()

    nodes: dict[str, NodeDefinition] = {}
    for k, node in comp.nodes.items():
        if k in inside:
            if new_id not in nodes:
                nodes[new_id] = subflow
            continue
        nodes[k] = node
    layout: dict[str, Position] = {k: p for k, p in comp.layout.items() if k not in inside}
    if placed:
        layout[new_id] = corner
    text = f"Group {len(chosen)} node{'s' if len(chosen) != 1 else ''} into {new_id}"
    return ReplaceContents(cpath, nodes, outer, layout, text=text)


def ungroup_command(doc: FlowDocument, cpath: ComponentPath, subflow_id: str) -> tuple[ReplaceContents, list[str]]:
    """Put a subflow's inline body back into ``cpath``; edges to it go to the body's starts / ends."""
    comp = doc.component(cpath)
    node = doc.node(cpath, subflow_id)
    body = node.body
    if node.type != "subflow" or body is None:
        raise CommandError(f"{subflow_id} is not a subflow with an inline body")
    if body.variables or node.settings.get("variables"):
        raise CommandError(f"cannot ungroup {subflow_id}: it has its own variables; move them first")
    clash = sorted(k for k in body.nodes if k in comp.nodes and k != subflow_id)
    if clash:
        raise CommandError(f"cannot ungroup {subflow_id}: {', '.join(clash)} already used in {doc.describe(cpath)}")
    inner = body.effective_edges()
    has_in = {e.target for e in inner}
    has_out = {e.source for e in inner}
    starts = [k for k in body.nodes if k not in has_in]
    ends = [k for k in body.nodes if k not in has_out]
    edges: list[EdgeDefinition] = []
    for e in comp.edges or []:
        if e.target == subflow_id:
            edges.extend(e.model_copy(update={"target": k}) for k in starts)
        elif e.source == subflow_id:
            edges.extend(e.model_copy(update={"source": k}) for k in ends)
        else:
            edges.append(e)
    edges.extend(inner)
    edges = _dedup(edges)
    _check_acyclic(edges, f"ungroup {subflow_id}")

    nodes: dict[str, NodeDefinition] = {}
    for k, n in comp.nodes.items():
        if k == subflow_id:
            nodes.update(body.nodes)
        else:
            nodes[k] = n
    layout: dict[str, Position] = {k: p for k, p in comp.layout.items() if k != subflow_id}
    base = comp.layout.get(subflow_id, (0, 0))
    for k, p in body.layout.items():
        layout[k] = (base[0] + p[0], base[1] + p[1])
    return ReplaceContents(cpath, nodes, edges, layout, text=f"Ungroup {subflow_id}"), list(body.nodes)
