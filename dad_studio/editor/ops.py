"""The convenience API of FlowDocument: each method builds command(s) and executes them.

Kept apart from document.py so that the stack and signals stay readable; the UI calls these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from dad_studio.model import EdgeDefinition, FlowDefinition, NodeDefinition

from . import clipboard, layout, rename, structure
from .commands import (
    AddNode,
    Command,
    Connect,
    Disconnect,
    MoveNodes,
    Position,
    RemoveNodes,
    SetNodeField,
    SetSetting,
    SetVariable,
)
from .errors import CommandError, ComponentPath

if TYPE_CHECKING:
    from .document import FlowDocument

EDGE_ON = ("success", "error", "always")


class DocumentOps:
    """Mixed into FlowDocument; ``self`` is always the document."""

    def _doc(self) -> FlowDocument:
        return self  # type: ignore[return-value]

    # -- nodes ------------------------------------------------------------------------------------

    def add_node(
        self,
        cpath: ComponentPath,
        node_id: str | None,
        type: str,
        settings: Mapping[str, Any] | None = None,
        pos: tuple[float, float] | None = None,
        **fields: Any,
    ) -> str:
        """Add a node; with node_id None a free id is derived from the type. Returns the id."""
        doc = self._doc()
        if type not in doc.registry:
            raise CommandError(f"unknown node type {type!r}")
        node_id = node_id if node_id is not None else doc.unique_id(cpath, type)
        data: dict[str, Any] = dict(settings or {})
        if type in doc.body_types and "body" not in data and "ref" not in data:
            data["body"] = FlowDefinition().as_body().model_dump(mode="json", by_alias=True)
        try:
            node = NodeDefinition.model_validate({"type": type, "settings": data, **fields})
        except ValidationError as exc:
            raise CommandError(f"bad node {node_id}: {exc.errors()[0]['msg']}") from None
        at: Position | None = (round(pos[0]), round(pos[1])) if pos is not None else None
        doc.execute(AddNode(cpath, node_id, node, at))
        return node_id

    def remove_nodes(self, cpath: ComponentPath, ids: Iterable[str]) -> None:
        self._doc().execute(RemoveNodes(cpath, list(ids)))

    def move_nodes(
        self, cpath: ComponentPath, positions: Mapping[str, tuple[float, float]], *, merge: bool = False
    ) -> None:
        """One undo step for a drag of many; ``merge=True`` folds into the previous move of the same nodes."""
        if positions:
            self._doc().execute(MoveNodes(cpath, dict(positions), mergeable=merge))  # type: ignore[arg-type]

    def rename_node(self, cpath: ComponentPath, old: str, new: str) -> None:
        """Rename; edges, layout and every $hier reference to the node in the document follow."""
        self._doc().execute(rename.RenameNode(cpath, old, new))

    # -- edges ------------------------------------------------------------------------------------

    def connect(
        self, cpath: ComponentPath, source: str, target: str, on: str = "success", port: str | None = None
    ) -> EdgeDefinition:
        if on not in EDGE_ON:
            raise CommandError(f"unknown edge condition {on!r}: use success, error or always")
        if port not in (None, "true", "false"):
            raise CommandError(f"unknown port {port!r}: use 'true' or 'false'")
        edge = EdgeDefinition.model_validate({"from": source, "to": target, "on": on, "port": port})
        self._doc().execute(Connect(cpath, edge))
        return edge

    def disconnect(self, cpath: ComponentPath, edge: int | tuple[str, str, str, str | None]) -> None:
        """Remove an edge by index in the component's edge list or by (source, target, on, port)."""
        doc = self._doc()
        if isinstance(edge, int):
            index = edge
        else:
            edges = doc.component(cpath).edges or []
            found = [i for i, e in enumerate(edges) if (e.source, e.target, e.on, e.port) == tuple(edge)]
            if not found:
                raise CommandError(f"no edge {edge[0]} -> {edge[1]} ({edge[2]}) in {doc.describe(cpath)}")
            index = found[0]
        doc.execute(Disconnect(cpath, index))

    # -- settings, fields, variables --------------------------------------------------------------

    def set_setting(self, cpath: ComponentPath, node_id: str, key_path: tuple[str | int, ...], value: Any) -> None:
        self._doc().execute(SetSetting(cpath, node_id, tuple(key_path), value))

    def remove_setting(self, cpath: ComponentPath, node_id: str, key_path: tuple[str | int, ...]) -> None:
        self._doc().execute(SetSetting(cpath, node_id, tuple(key_path), None, remove=True))

    def set_node_field(self, cpath: ComponentPath, node_id: str, field: str, value: Any) -> None:
        self._doc().execute(SetNodeField(cpath, node_id, field, value))

    def set_variable(self, cpath: ComponentPath, name: str, value: Any) -> None:
        self._doc().execute(SetVariable(cpath, name, value))

    def remove_variable(self, cpath: ComponentPath, name: str) -> None:
        self._doc().execute(SetVariable(cpath, name, None, remove=True))

    # -- structure --------------------------------------------------------------------------------

    def group_into_subflow(self, cpath: ComponentPath, ids: Iterable[str], new_id: str) -> None:
        doc = self._doc()
        doc.execute(structure.group_command(doc, cpath, list(ids), new_id))

    def ungroup(self, cpath: ComponentPath, subflow_id: str) -> list[str]:
        """Inline a subflow's body into this component; returns the ids of the nodes it brought."""
        doc = self._doc()
        command, ids = structure.ungroup_command(doc, cpath, subflow_id)
        doc.execute(command)
        return ids

    # -- clipboard --------------------------------------------------------------------------------

    def copy(self, cpath: ComponentPath, ids: Iterable[str], comments: Iterable[str] = ()) -> dict[str, Any]:
        """A clipboard payload of nodes ``ids`` and the canvas comments ``comments``."""
        return clipboard.copy(self._doc().component(cpath), list(ids), list(comments))

    def paste(
        self, cpath: ComponentPath, payload: Mapping[str, Any], at: tuple[float, float] | None = None
    ) -> list[str]:
        """Add the payload's nodes (renamed on clash) and internal edges as one undo step."""
        doc = self._doc()
        commands, ids = clipboard.paste_commands(doc, cpath, payload, at)
        self._run_macro(_count_text("Paste", len(ids), len(payload.get("comments") or [])), commands)
        return ids

    def duplicate(
        self,
        cpath: ComponentPath,
        ids: Iterable[str],
        offset: tuple[int, int] = (40, 40),
        comments: Iterable[str] = (),
    ) -> list[str]:
        """Copies of nodes ``ids`` and comments ``comments``, ``offset`` from the originals; new node ids."""
        doc = self._doc()
        ids = list(ids)
        payload = self.copy(cpath, ids, comments)
        commands, new_ids = clipboard.paste_commands(
            doc, cpath, payload, (payload["origin"][0] + offset[0], payload["origin"][1] + offset[1])
        )
        self._run_macro(_count_text("Duplicate", len(new_ids), len(payload.get("comments") or [])), commands)
        return new_ids

    # -- layout -----------------------------------------------------------------------------------

    def align(self, cpath: ComponentPath, ids: Iterable[str], how: str) -> None:
        doc = self._doc()
        ids = list(ids)
        positions = layout.align(doc.component(cpath), ids, how)
        if positions:
            doc.execute(MoveNodes(cpath, positions, label=f"Align {len(positions)} nodes {how}"))

    def auto_layout(self, cpath: ComponentPath = ()) -> None:
        doc = self._doc()
        positions = layout.layered(doc.component(cpath))
        if positions:
            doc.execute(MoveNodes(cpath, positions, label="Auto layout"))

    def _run_macro(self, text: str, commands: list[Command]) -> None:
        doc = self._doc()
        doc.begin_macro(text)
        try:
            for command in commands:
                doc.execute(command)
        except BaseException:
            doc.abort_macro()
            raise
        doc.end_macro()


def _count_text(verb: str, nodes: int, comments: int) -> str:
    """The undo text: "Paste 2 nodes", "Duplicate 1 node and 1 comment", "Paste 1 comment"."""
    parts = [f"{nodes} node{'s' if nodes != 1 else ''}"] if nodes or not comments else []
    if comments:
        parts.append(f"{comments} comment{'s' if comments != 1 else ''}")
    return f"{verb} {' and '.join(parts)}"
