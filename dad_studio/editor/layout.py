"""Canvas geometry: align a selection, and a layered auto layout for DAGs.

Positions are node top-left corners in scene units (the file stores integers); node sizes are the
view's business, so centring aligns the stored points.
"""

from __future__ import annotations

from collections.abc import Sequence

from dad_studio.model import ComponentDefinition

from .errors import CommandError

Position = tuple[int, int]
LAYER_GAP = 260
"""Horizontal distance between layers (a node is ~200 wide on the canvas)."""
ROW_GAP = 120
"""Vertical distance between nodes of one layer."""
SWEEPS = 4
"""Barycenter passes (down then up); more rarely changes much and costs O(E) each."""


def align(comp: ComponentDefinition, ids: Sequence[str], how: str) -> dict[str, Position]:
    """New positions for ``ids`` lined up on the left edge, top edge, or a shared centre line."""
    if how not in ("left", "top", "hcenter", "vcenter"):
        raise CommandError(f"unknown alignment {how!r}: use left, top, hcenter or vcenter")
    for node_id in ids:
        if node_id not in comp.nodes:
            raise CommandError(f"unknown node {node_id!r}")
    placed = {k: comp.layout[k] for k in dict.fromkeys(ids) if k in comp.layout}
    if len(placed) < 2:
        return {}
    xs = [p[0] for p in placed.values()]
    ys = [p[1] for p in placed.values()]
    if how == "left":
        return {k: (min(xs), p[1]) for k, p in placed.items()}
    if how == "top":
        return {k: (p[0], min(ys)) for k, p in placed.items()}
    if how == "hcenter":
        cx = round(sum(xs) / len(xs))
        return {k: (cx, p[1]) for k, p in placed.items()}
    cy = round(sum(ys) / len(ys))
    return {k: (p[0], cy) for k, p in placed.items()}


def layered(comp: ComponentDefinition) -> dict[str, Position]:
    """Longest-path layers left to right, each layer ordered by the barycenter of its neighbours.

    Deterministic: ties keep the order of the nodes in the file. O((V + E) * SWEEPS).
    """
    ids = list(comp.nodes)
    if not ids:
        return {}
    index = {k: i for i, k in enumerate(ids)}
    preds: list[list[int]] = [[] for _ in ids]
    succs: list[list[int]] = [[] for _ in ids]
    for e in comp.edges or []:
        if e.source in index and e.target in index and e.source != e.target:
            s, t = index[e.source], index[e.target]
            preds[t].append(s)
            succs[s].append(t)
    layer = _longest_path_layers(preds, succs)
    count = max(layer) + 1
    layers: list[list[int]] = [[] for _ in range(count)]
    for i in range(len(ids)):
        layers[layer[i]].append(i)
    order = [0.0] * len(ids)
    for members in layers:
        for rank, i in enumerate(members):
            order[i] = rank
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        sequence = layers[1:] if down else layers[-2::-1]
        for members in sequence:
            keyed = []
            for rank, i in enumerate(members):
                near = preds[i] if down else succs[i]
                bary = sum(order[j] for j in near) / len(near) if near else order[i]
                keyed.append((bary, rank, i))
            keyed.sort()
            members[:] = [i for _, _, i in keyed]
            for rank, i in enumerate(members):
                order[i] = rank
    return {ids[i]: (layer[i] * LAYER_GAP, rank * ROW_GAP) for members in layers for rank, i in enumerate(members)}


def _longest_path_layers(preds: list[list[int]], succs: list[list[int]]) -> list[int]:
    """Layer = length of the longest path from a source (Kahn order); nodes on a cycle go last."""
    n = len(preds)
    indegree = [len(p) for p in preds]
    layer = [0] * n
    ready = [i for i in range(n) if indegree[i] == 0]
    seen = 0
    while ready:
        nxt: list[int] = []
        for i in ready:
            seen += 1
            for t in succs[i]:
                layer[t] = max(layer[t], layer[i] + 1)
                indegree[t] -= 1
                if indegree[t] == 0:
                    nxt.append(t)
        ready = nxt
    if seen < n:  # a cycle (an invalid file): put what is left after everything else
        top = max(layer) + 1
        for i in range(n):
            if indegree[i] > 0:
                layer[i] = top
    return layer
