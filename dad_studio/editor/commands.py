"""Undoable commands on a FlowDocument (the orange-canvas-core ``document/commands.py`` pattern).

A command checks everything in ``do`` before it changes anything, so a refused command raises
CommandError and leaves the document as it was. ``undo`` restores the exact previous state,
dict order and list positions included, so the file bytes after undo equal the bytes before.
Commands never keep references to containers of the document: they find them again from the
root on every do/undo, because other commands (group, rename) may swap containers in between.
And undo restores the very container objects that were live before ``do`` (mutating them back,
not replacing them), because a ReplaceContents below on the stack keeps them for its redo.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dad_studio.model import EdgeDefinition, NodeDefinition

from .errors import CommandError, ComponentPath
from .graph import check_edge, materialize_edges

if TYPE_CHECKING:
    from .document import FlowDocument

Position = tuple[int, int]
KeyPath = tuple[str | int, ...]
NODE_FIELDS = frozenset({"description", "join", "timeout_s", "retry", "pre_events"})
"""Fields of a node that set_node_field may change (type and settings have their own commands)."""

_MISSING: Any = object()


class Command(ABC):
    """One undoable edit. ``text`` is what the Edit menu shows ("Undo Move 3 nodes")."""

    text: str = ""

    @abstractmethod
    def do(self, doc: FlowDocument) -> None:
        """Check, then apply; raise CommandError before changing anything."""

    @abstractmethod
    def undo(self, doc: FlowDocument) -> None:
        """Restore the exact state before ``do``."""

    def merge(self, other: Command) -> bool:
        """Absorb ``other`` (already applied) into this command; True if it did."""
        return False


@dataclass
class MacroCommand(Command):
    """Several commands as one undo step (paste, align, auto layout)."""

    text: str = ""
    children: list[Command] = field(default_factory=list)

    def do(self, doc: FlowDocument) -> None:
        done: list[Command] = []
        try:
            for child in self.children:
                child.do(doc)
                done.append(child)
        except CommandError:
            for child in reversed(done):
                child.undo(doc)
            raise

    def undo(self, doc: FlowDocument) -> None:
        for child in reversed(self.children):
            child.undo(doc)


def _round_pos(pos: tuple[float, float]) -> Position:
    return (round(pos[0]), round(pos[1]))


def _set_pos(doc: FlowDocument, cpath: ComponentPath, node_id: str, pos: Position | None) -> None:
    layout = doc.component(cpath).layout
    if pos is None:
        layout.pop(node_id, None)
    else:
        layout[node_id] = pos
        doc.node_moved.emit(cpath, node_id, pos[0], pos[1])


# -- nodes ------------------------------------------------------------------------------------------


@dataclass
class AddNode(Command):
    cpath: ComponentPath
    node_id: str
    node: NodeDefinition
    pos: Position | None = None

    def __post_init__(self) -> None:
        self.text = f"Add {self.node.type} {self.node_id}"
        if self.node.body is not None:
            materialize_edges(self.node.body)

    def do(self, doc: FlowDocument) -> None:
        comp = doc.component(self.cpath)
        doc.check_new_id(self.cpath, self.node_id)
        if self.node.type not in doc.registry:
            raise CommandError(f"unknown node type {self.node.type!r}")
        comp.nodes[self.node_id] = self.node
        if self.pos is not None:
            comp.layout[self.node_id] = self.pos
        doc.node_added.emit(self.cpath, self.node_id)

    def undo(self, doc: FlowDocument) -> None:
        comp = doc.component(self.cpath)
        del comp.nodes[self.node_id]
        comp.layout.pop(self.node_id, None)
        doc.node_removed.emit(self.cpath, self.node_id)


@dataclass
class RemoveNodes(Command):
    """Remove nodes with their edges and layout; undo puts everything back at its old position."""

    cpath: ComponentPath
    ids: list[str]
    _nodes: list[tuple[int, str, NodeDefinition]] = field(default_factory=list, repr=False)
    _edges: list[tuple[int, EdgeDefinition]] = field(default_factory=list, repr=False)
    _layout: dict[str, Position] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.ids = list(dict.fromkeys(self.ids))
        self.text = f"Remove {self.ids[0]}" if len(self.ids) == 1 else f"Remove {len(self.ids)} nodes"

    def do(self, doc: FlowDocument) -> None:
        comp = doc.component(self.cpath)
        if not self.ids:
            raise CommandError("nothing to remove")
        for node_id in self.ids:
            doc.node(self.cpath, node_id)
        gone = set(self.ids)
        edges = comp.edges if comp.edges is not None else []
        self._edges = [(i, e) for i, e in enumerate(edges) if e.source in gone or e.target in gone]
        self._nodes = [(i, k, n) for i, (k, n) in enumerate(comp.nodes.items()) if k in gone]
        self._layout = dict(comp.layout) if any(k in comp.layout for k in gone) else None
        for i, edge in reversed(self._edges):
            del edges[i]
            doc.edge_removed.emit(self.cpath, edge)
        for _, node_id, _ in self._nodes:
            del comp.nodes[node_id]
            comp.layout.pop(node_id, None)
            doc.node_removed.emit(self.cpath, node_id)

    def undo(self, doc: FlowDocument) -> None:
        comp = doc.component(self.cpath)
        # restore inside the same containers: a later ReplaceContents may hold them for its redo
        items = list(comp.nodes.items())
        for i, node_id, node in self._nodes:
            items.insert(i, (node_id, node))
        comp.nodes.clear()
        comp.nodes.update(items)
        if self._layout is not None:
            comp.layout.clear()
            comp.layout.update(self._layout)
        for _, node_id, _ in self._nodes:
            doc.node_added.emit(self.cpath, node_id)
        edges = comp.edges if comp.edges is not None else []
        for i, edge in self._edges:
            edges.insert(i, edge)
            doc.edge_added.emit(self.cpath, edge)


@dataclass
class MoveNodes(Command):
    """Set canvas positions (rounded to integers); consecutive moves of the same nodes may merge."""

    cpath: ComponentPath
    positions: dict[str, Position]
    mergeable: bool = False
    label: str | None = None
    _old: dict[str, Position | None] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.positions = {k: _round_pos(v) for k, v in self.positions.items()}
        n = len(self.positions)
        self.text = self.label or (f"Move {next(iter(self.positions))}" if n == 1 else f"Move {n} nodes")

    def do(self, doc: FlowDocument) -> None:
        comp = doc.component(self.cpath)
        for node_id in self.positions:
            if node_id not in comp.nodes:
                raise CommandError(f"no node {node_id!r} in {doc.describe(self.cpath)}")
        self._old = {k: comp.layout.get(k) for k in self.positions}
        for node_id, pos in self.positions.items():
            _set_pos(doc, self.cpath, node_id, pos)

    def undo(self, doc: FlowDocument) -> None:
        for node_id, pos in self._old.items():
            _set_pos(doc, self.cpath, node_id, pos)

    def merge(self, other: Command) -> bool:
        if (
            isinstance(other, MoveNodes)
            and self.mergeable
            and other.mergeable
            and other.cpath == self.cpath
            and other.positions.keys() == self.positions.keys()
        ):
            self.positions = dict(other.positions)
            return True
        return False


# -- edges ------------------------------------------------------------------------------------------


@dataclass
class Connect(Command):
    cpath: ComponentPath
    edge: EdgeDefinition
    graph_checked: bool = False
    """True when the caller already proved no duplicate / cycle (see check_edge)."""

    def __post_init__(self) -> None:
        e = self.edge
        how = f" [{e.port}]" if e.port else (f" on {e.on}" if e.on != "success" else "")
        self.text = f"Connect {e.source} -> {e.target}{how}"

    def do(self, doc: FlowDocument) -> None:
        comp = doc.component(self.cpath)
        check_edge(comp, self.edge, doc.registry, graph_checks=not self.graph_checked)
        if comp.edges is None:
            comp.edges = []
        comp.edges.append(self.edge)
        doc.edge_added.emit(self.cpath, self.edge)

    def undo(self, doc: FlowDocument) -> None:
        edges = doc.component(self.cpath).edges
        assert edges is not None and edges[-1] is self.edge
        edges.pop()
        doc.edge_removed.emit(self.cpath, self.edge)


@dataclass
class Disconnect(Command):
    cpath: ComponentPath
    index: int
    _edge: EdgeDefinition | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = "Disconnect"

    def do(self, doc: FlowDocument) -> None:
        edges = doc.component(self.cpath).edges or []
        if not 0 <= self.index < len(edges):
            raise CommandError(f"no edge #{self.index} in {doc.describe(self.cpath)}")
        self._edge = edges.pop(self.index)
        self.text = f"Disconnect {self._edge.source} -> {self._edge.target}"
        doc.edge_removed.emit(self.cpath, self._edge)

    def undo(self, doc: FlowDocument) -> None:
        assert self._edge is not None
        edges = doc.component(self.cpath).edges
        assert edges is not None
        edges.insert(self.index, self._edge)
        doc.edge_added.emit(self.cpath, self._edge)


# -- settings and fields ----------------------------------------------------------------------------


def _container(root: Any, key_path: KeyPath, text: str) -> Any:
    cur = root
    for key in key_path[:-1]:
        try:
            cur = cur[key]
        except (KeyError, IndexError, TypeError):
            raise CommandError(f"no setting {text}") from None
        if not isinstance(cur, dict | list):
            raise CommandError(f"setting {text}: {key!r} holds a {type(cur).__name__}, not a dict or list")
    return cur


@dataclass
class SetSetting(Command):
    """Set (or with ``value=_MISSING`` via RemoveSetting, delete) one value inside a node's settings."""

    cpath: ComponentPath
    node_id: str
    key_path: KeyPath
    value: Any
    remove: bool = False
    _old: Any = field(default=_MISSING, repr=False)
    _old_index: int = field(default=-1, repr=False)

    def __post_init__(self) -> None:
        shown = ".".join(str(k) for k in self.key_path)
        self.text = f"{'Remove' if self.remove else 'Set'} {self.node_id}.{shown}"

    def do(self, doc: FlowDocument) -> None:
        node = doc.node(self.cpath, self.node_id)
        shown = ".".join(str(k) for k in self.key_path) or "(empty path)"
        if not self.key_path:
            raise CommandError("a setting needs a key path")
        if self.key_path[0] == "body" and node.type in doc.body_types:
            raise CommandError("edit the body through its own component, not as a setting")
        parent = _container(node.settings, self.key_path, shown)
        key = self.key_path[-1]
        if isinstance(parent, dict):
            if not isinstance(key, str):
                raise CommandError(f"setting {shown}: a dict key must be text")
            self._old = parent.get(key, _MISSING)
            self._old_index = list(parent).index(key) if key in parent else -1
            if self.remove:
                if key not in parent:
                    raise CommandError(f"no setting {shown}")
                del parent[key]
            else:
                parent[key] = copy.deepcopy(self.value)
        else:
            if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key <= len(parent):
                raise CommandError(f"setting {shown}: index out of range")
            if self.remove:
                if key == len(parent):
                    raise CommandError(f"no setting {shown}")
                self._old = parent.pop(key)
            elif key == len(parent):
                self._old = _MISSING
                parent.append(copy.deepcopy(self.value))
            else:
                self._old = parent[key]
                parent[key] = copy.deepcopy(self.value)
        doc.settings_changed.emit(self.cpath, self.node_id)

    def undo(self, doc: FlowDocument) -> None:
        node = doc.node(self.cpath, self.node_id)
        parent = _container(node.settings, self.key_path, "")
        key = self.key_path[-1]
        if isinstance(parent, dict):
            assert isinstance(key, str)
            if self._old is _MISSING:
                del parent[key]
            elif self.remove or self._old_index < 0:
                items = list(parent.items())
                items.insert(self._old_index, (key, self._old))
                parent.clear()
                parent.update(items)
            else:
                parent[key] = self._old
        else:
            assert isinstance(key, int)
            if self.remove:
                parent.insert(key, self._old)
            elif self._old is _MISSING:
                parent.pop()
            else:
                parent[key] = self._old
        doc.settings_changed.emit(self.cpath, self.node_id)


@dataclass
class SetNodeField(Command):
    cpath: ComponentPath
    node_id: str
    field_name: str
    value: Any
    _old: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.text = f"Set {self.node_id} {self.field_name}"

    def do(self, doc: FlowDocument) -> None:
        node = doc.node(self.cpath, self.node_id)
        if self.field_name not in NODE_FIELDS:
            raise CommandError(f"{self.field_name!r} is not an editable node field ({', '.join(sorted(NODE_FIELDS))})")
        try:
            checked = NodeDefinition.model_validate({"type": node.type, self.field_name: self.value})
        except ValueError as exc:
            raise CommandError(f"bad {self.field_name} for {self.node_id}: {_first_error(exc)}") from None
        self._old = getattr(node, self.field_name)
        setattr(node, self.field_name, getattr(checked, self.field_name))
        doc.settings_changed.emit(self.cpath, self.node_id)

    def undo(self, doc: FlowDocument) -> None:
        setattr(doc.node(self.cpath, self.node_id), self.field_name, self._old)
        doc.settings_changed.emit(self.cpath, self.node_id)


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        items = errors()
        if items:
            return str(items[0].get("msg", exc))
    return str(exc)


# -- variables --------------------------------------------------------------------------------------


@dataclass
class SetVariable(Command):
    cpath: ComponentPath
    name: str
    value: Any
    remove: bool = False
    _old: Any = field(default=_MISSING, repr=False)
    _old_index: int = field(default=-1, repr=False)

    def __post_init__(self) -> None:
        self.text = f"{'Remove' if self.remove else 'Set'} variable {self.name}"

    def do(self, doc: FlowDocument) -> None:
        variables = doc.component(self.cpath).variables
        doc.check_variable_name(self.name)
        if self.remove and self.name not in variables:
            raise CommandError(f"no variable {self.name!r} in {doc.describe(self.cpath)}")
        self._old = variables.get(self.name, _MISSING)
        self._old_index = list(variables).index(self.name) if self.name in variables else -1
        if self.remove:
            del variables[self.name]
        else:
            variables[self.name] = copy.deepcopy(self.value)
        doc.variables_changed.emit(self.cpath)

    def undo(self, doc: FlowDocument) -> None:
        comp = doc.component(self.cpath)
        if self._old is _MISSING:
            del comp.variables[self.name]
        elif self.remove:
            items = list(comp.variables.items())
            items.insert(self._old_index, (self.name, self._old))
            comp.variables.clear()
            comp.variables.update(items)
        else:
            comp.variables[self.name] = self._old
        doc.variables_changed.emit(self.cpath)


# -- whole-component replacement (group / ungroup) --------------------------------------------------


@dataclass
class ReplaceContents(Command):
    """Swap a component's nodes, edges and layout for new containers; emits structure_changed."""

    cpath: ComponentPath
    nodes: dict[str, NodeDefinition]
    edges: list[EdgeDefinition] | None
    layout: dict[str, Position]
    text: str = "Edit structure"
    _old: tuple[dict[str, NodeDefinition], list[EdgeDefinition] | None, dict[str, Position]] | None = field(
        default=None, repr=False
    )

    def do(self, doc: FlowDocument) -> None:
        comp = doc.component(self.cpath)
        self._old = (comp.nodes, comp.edges, comp.layout)
        comp.nodes, comp.edges, comp.layout = self.nodes, self.edges, self.layout
        doc.structure_changed.emit(self.cpath)

    def undo(self, doc: FlowDocument) -> None:
        assert self._old is not None
        comp = doc.component(self.cpath)
        comp.nodes, comp.edges, comp.layout = self._old
        doc.structure_changed.emit(self.cpath)
