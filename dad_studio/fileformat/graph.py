"""Graph checks of one component: edges, ports, cycles (named), elements that can never run."""

from __future__ import annotations

from collections.abc import Callable

from dad_studio.fileformat.problems import Problem, pointer_join
from dad_studio.model import ComponentDefinition, EdgeDefinition


def _listing(ids: list[str]) -> str:
    shown = ", ".join(ids[:15])
    return shown + (", ..." if len(ids) > 15 else "") if ids else "(none)"


def check_edges(
    component: ComponentDefinition,
    pointer: str,
    is_conditional: Callable[[str], bool],
    problems: list[Problem],
) -> list[tuple[int, EdgeDefinition]]:
    """Report bad edges; return (index, edge) of those whose both ends exist, for the cycle check.

    Implicit edges (a builder flow that never connected) cannot be wrong, and have no pointer of
    their own: they are reported, if ever, at the component's `edges` pointer.
    """
    edges = component.effective_edges()
    explicit = component.edges is not None
    nodes = component.nodes
    good: list[tuple[int, EdgeDefinition]] = []
    seen: dict[tuple[str, str, str, str | None], int] = {}
    for index, edge in enumerate(edges):
        here = pointer_join(pointer, "edges", index) if explicit else pointer_join(pointer, "edges")
        ends_ok = True
        for end, name in ((edge.source, "from"), (edge.target, "to")):
            if end not in nodes:
                ends_ok = False
                problems.append(
                    Problem(
                        pointer_join(here, name),
                        f"edge {edge.source!r} -> {edge.target!r}: '{name}' names {end!r}, which is not an element "
                        f"of this component (elements: {_listing(list(nodes))})",
                    )
                )
        if edge.source in nodes:
            source_type = nodes[edge.source].type
            if is_conditional(source_type):
                if edge.on == "success" and edge.port is None:
                    problems.append(
                        Problem(
                            here,
                            f"edge {edge.source!r} -> {edge.target!r} leaves conditional {edge.source!r} without a "
                            '\'port\': give "port": "true" or "false"',
                        )
                    )
                elif edge.on != "success" and edge.port is not None:
                    problems.append(
                        Problem(
                            pointer_join(here, "port"),
                            f"edge {edge.source!r} -> {edge.target!r} has both on={edge.on!r} and port={edge.port!r}; "
                            "a port applies to success edges only",
                        )
                    )
            elif edge.port is not None:
                problems.append(
                    Problem(
                        pointer_join(here, "port"),
                        f"edge {edge.source!r} -> {edge.target!r} has port {edge.port!r}, but {edge.source!r} is a "
                        f"{source_type!r} node, not a conditional; only conditionals have ports",
                    )
                )
        key = (edge.source, edge.target, edge.on, edge.port)
        if key in seen:
            problems.append(
                Problem(here, f"edge {edge.source!r} -> {edge.target!r} repeats edge {seen[key]}", "warning")
            )
        else:
            seen[key] = index
        if ends_ok:
            good.append((index, edge))
    return good


def _strongly_connected(ids: list[str], succ: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (a 5,000-element chain must not hit the recursion limit)."""
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for start in ids:
        if start in index_of:
            continue
        work: list[tuple[str, int]] = [(start, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = succ.get(node, [])
            if child < len(children):
                work.append((node, child + 1))
                nxt = children[child]
                if nxt not in index_of:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index_of[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index_of[node]:
                group: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                result.append(group)
    return result


def _cycle_in(group: list[str], succ: dict[str, list[str]], order: dict[str, int]) -> list[str]:
    """One concrete cycle through the first member of a strongly connected group (BFS for a short one)."""
    members = set(group)
    start = min(group, key=order.__getitem__)
    parent: dict[str, str] = {}
    queue = [start]
    for node in queue:
        for nxt in succ.get(node, []):
            if nxt not in members:
                continue
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return [start, start]


def check_cycles(
    component: ComponentDefinition, pointer: str, edges: list[tuple[int, EdgeDefinition]], problems: list[Problem]
) -> set[str]:
    """Report each cycle once, naming it; return the ids downstream of a cycle (they can never start)."""
    ids = list(component.nodes)
    order = {node_id: i for i, node_id in enumerate(ids)}
    succ: dict[str, list[str]] = {}
    first_edge: dict[tuple[str, str], int] = {}
    for index, edge in edges:
        succ.setdefault(edge.source, []).append(edge.target)
        first_edge.setdefault((edge.source, edge.target), index)
    in_cycle: set[str] = set()
    explicit = component.edges is not None
    for group in _strongly_connected(ids, succ):
        if len(group) == 1 and group[0] not in succ.get(group[0], []):
            continue
        cycle = _cycle_in(group, succ, order)
        in_cycle.update(group)
        where = pointer_join(pointer, "edges")
        if explicit:
            where = pointer_join(where, first_edge[(cycle[0], cycle[1])])
        problems.append(Problem(where, f"cycle: {' -> '.join(cycle)} (a flow must be acyclic)"))
    stuck = set(in_cycle)  # everything downstream of a cycle waits forever
    frontier = list(in_cycle)
    while frontier:
        node = frontier.pop()
        for nxt in succ.get(node, []):
            if nxt not in stuck:
                stuck.add(nxt)
                frontier.append(nxt)
    return stuck - in_cycle


def check_never_runs(
    component: ComponentDefinition,
    pointer: str,
    edges: list[tuple[int, EdgeDefinition]],
    stuck: set[str],
    problems: list[Problem],
) -> None:
    """Warnings for elements that cannot run: after a cycle, or `join: all` over exclusive edges."""
    incoming: dict[str, list[EdgeDefinition]] = {}
    for _, edge in edges:
        incoming.setdefault(edge.target, []).append(edge)
    for node_id, node in component.nodes.items():
        here = pointer_join(pointer, "nodes", node_id)
        if node_id in stuck:
            problems.append(Problem(here, f"element {node_id!r} is unreachable: it waits on a cycle", "warning"))
            continue
        if node.join != "all":
            continue
        conditions: dict[str, set[tuple[str, str | None]]] = {}
        for edge in incoming.get(node_id, []):
            conditions.setdefault(edge.source, set()).add((edge.on, edge.port))
        for source, conds in conditions.items():
            ports = {port for on, port in conds if on == "success" and port is not None}
            ons = {on for on, _ in conds}
            if len(ports) > 1 or {"success", "error"} <= ons:
                problems.append(
                    Problem(
                        here,
                        f"element {node_id!r} can never run: with join 'all' it waits for edges from {source!r} "
                        'that exclude each other; use "join": "any"',
                        "warning",
                    )
                )
