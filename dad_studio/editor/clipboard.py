"""Copy / paste payloads: plain JSON, so they travel through the system clipboard between files.

A payload holds the copied nodes, the edges between them, the selected canvas comments and their
positions relative to the selection's top-left corner. Pasting renames ids that clash (summarize -> summarize_2) and the
``$hier{}`` references between pasted nodes follow the rename.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from dad_studio.model import Comment, ComponentDefinition, EdgeDefinition, FlowDefinition, NodeDefinition

from .commands import AddNode, Command, Connect
from .comments import AddComment, new_comment, unique_comment_id
from .errors import CommandError, ComponentPath
from .graph import cycle_through

if TYPE_CHECKING:
    from .document import FlowDocument

FORMAT = "dad-clipboard"
VERSION = 1


def corner(positions: Sequence[tuple[int, int]]) -> tuple[int, int]:
    if not positions:
        return (0, 0)
    return (min(p[0] for p in positions), min(p[1] for p in positions))


def copy(comp: ComponentDefinition, ids: Sequence[str], comment_ids: Sequence[str] = ()) -> dict[str, Any]:
    """A JSON-serialisable payload of ``ids`` of ``comp`` with their internal edges and layout, and
    the comments ``comment_ids`` (the selected backdrops), placed relative to the same corner."""
    ids = list(dict.fromkeys(ids))
    for node_id in ids:
        if node_id not in comp.nodes:
            raise CommandError(f"unknown node {node_id!r}")
    by_id = {c.id: c for c in comp.comments}
    wanted = list(dict.fromkeys(comment_ids))
    for comment_id in wanted:
        if comment_id not in by_id:
            raise CommandError(f"unknown comment {comment_id!r}")
    notes = [by_id[c] for c in wanted]
    chosen = set(ids)
    origin = corner([comp.layout[k] for k in ids if k in comp.layout] + [(c.x, c.y) for c in notes])
    payload: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "nodes": {k: comp.nodes[k].model_dump(mode="json", by_alias=True, exclude_defaults=True) for k in ids},
        "edges": [
            e.model_dump(mode="json", by_alias=True, exclude_defaults=True)
            for e in comp.edges or []
            if e.source in chosen and e.target in chosen
        ],
        "layout": {k: [comp.layout[k][0] - origin[0], comp.layout[k][1] - origin[1]] for k in ids if k in comp.layout},
        "origin": list(origin),
    }
    if notes:
        payload["comments"] = [c.model_dump(mode="json") | {"x": c.x - origin[0], "y": c.y - origin[1]} for c in notes]
    return payload


def to_text(payload: Mapping[str, Any]) -> str:
    """Text for the system clipboard."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=False)


def from_text(text: str) -> dict[str, Any] | None:
    """The payload in clipboard text, or None if the text is not one (any other clipboard content)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("nodes"), dict):
        return None
    return data


def paste_commands(
    doc: FlowDocument, cpath: ComponentPath, payload: Mapping[str, Any], at: tuple[float, float] | None
) -> tuple[list[Command], list[str]]:
    """The AddNode and Connect commands that paste ``payload`` into ``cpath``, and the new ids."""
    from .rename import rename_refs_in_component

    if payload.get("format") != FORMAT or payload.get("version") != VERSION:
        raise CommandError("the clipboard does not hold DAD Studio nodes")
    raw_nodes = payload.get("nodes")
    raw_comments = payload.get("comments") or []
    if not isinstance(raw_nodes, dict) or not isinstance(raw_comments, list) or not (raw_nodes or raw_comments):
        raise CommandError("nothing to paste")
    scratch = FlowDefinition(id="clipboard")
    try:
        for node_id, data in raw_nodes.items():
            scratch.node(str(node_id), NodeDefinition.model_validate(data))
        edges = [EdgeDefinition.model_validate(e) for e in payload.get("edges", [])]
        notes = [Comment.model_validate(c) for c in raw_comments]
    except (ValidationError, ValueError, TypeError) as exc:
        raise CommandError(f"the clipboard holds bad nodes: {exc}") from None
    for node in scratch.nodes.values():
        if node.type not in doc.registry:
            raise CommandError(f"unknown node type {node.type!r}")
    scratch.edges = edges
    originals = set(scratch.nodes)  # new ids avoid every pasted id, so renames never chain
    existing = doc.component(cpath).nodes
    mapping: dict[str, str] = {}
    for node_id in scratch.nodes:
        if node_id not in existing and node_id not in mapping.values():
            mapping[node_id] = node_id
        else:
            mapping[node_id] = doc.unique_id(cpath, node_id, taken=originals | set(mapping.values()))
    rename_refs_in_component(scratch, mapping)
    origin = payload.get("origin") or [0, 0]
    base = (at[0], at[1]) if at is not None else (origin[0], origin[1])
    rel = payload.get("layout") or {}
    commands: list[Command] = []
    for old, node in scratch.nodes.items():
        pos = rel.get(old)
        at_pos = (round(base[0] + pos[0]), round(base[1] + pos[1])) if pos is not None else None
        commands.append(AddNode(cpath, mapping[old], node, at_pos))
    inner = [e for e in edges if e.source in mapping and e.target in mapping]
    keys = {(e.source, e.target, e.on, e.port) for e in inner}
    if len(keys) != len(inner):
        raise CommandError("the clipboard holds the same edge twice")
    for e in inner:
        cycle = cycle_through([x for x in inner if x is not e], e.source, e.target)
        if cycle is not None:
            raise CommandError(f"the clipboard's edges make a cycle {' -> '.join(cycle)}")
        # the pasted nodes are new: only the payload's own edges can duplicate or close a cycle
        renamed = e.model_copy(update={"source": mapping[e.source], "target": mapping[e.target]})
        commands.append(Connect(cpath, renamed, graph_checked=True))
    taken: list[str] = []
    for note in notes:  # comments keep their id unless it clashes, then comment_2...
        cid = unique_comment_id(doc, cpath, note.id, taken)
        taken.append(cid)
        rect = (base[0] + note.x, base[1] + note.y, note.width, note.height)
        commands.append(AddComment(cpath, new_comment(cid, note.text, rect, note.color)))
    return commands, list(mapping.values())
