"""Renaming a node: its id, edges, layout and every ``$hier{}`` reference to it in the document.

References are found with the template parser (never by text search, so ``scan`` inside plain
text or in ``$var{scan}`` is left alone) and resolved statically with the same rules as the
engine (TEMPLATES.md): the longest prefix of the dotted names that names an element, searched in
the template's component and then outward, absolute paths from the root id, ``iter_N`` steps
inside ``for_each``, and, when nothing matches, a unique element whose path ends with the names.
Only the names that resolve to the renamed node are rewritten, in place, keeping all other text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dad_studio.model import ComponentDefinition, EdgeDefinition, NodeDefinition
from dad_studio.template import TemplateError, parse
from dad_studio.template.nodes import (
    Attr,
    Binary,
    Expr,
    ExprForm,
    Hier,
    HierForm,
    HierRef,
    Item,
    ListLit,
    Logic,
    PyForm,
    Unary,
)

from .commands import Command, Position
from .errors import CommandError, ComponentPath

if TYPE_CHECKING:
    from .document import FlowDocument

NodePath = tuple[str, ...]
_ITER = re.compile(r"^iter_\d+$")
_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)")
_DOT = re.compile(r"\s*\.")


class _Tree:
    """The components of one document by path, for static resolution."""

    def __init__(self, root: ComponentDefinition) -> None:
        self.root = root
        self.root_id = root.id or "root"
        self.components: dict[ComponentPath, ComponentDefinition] = {}
        stack: list[tuple[ComponentPath, ComponentDefinition]] = [((), root)]
        while stack:
            cpath, comp = stack.pop()
            self.components[cpath] = comp
            for node_id, node in comp.nodes.items():
                if node.body is not None:
                    stack.append(((*cpath, node_id), node.body))

    def walk(self, start: ComponentPath | None, names: tuple[str, ...]) -> list[tuple[int, NodePath]] | None:
        """Which name denotes which node when ``names`` is read from ``start`` (None: above the root)."""
        i = 0
        if start is None:
            if names[0] != self.root_id:
                return None
            comp: ComponentDefinition | None = self.root
            path: NodePath = ()
            i = 1
        else:
            comp = self.components.get(start)
            path = start
        consumed: list[tuple[int, NodePath]] = []
        prev: NodeDefinition | None = None
        while i < len(names):
            if prev is not None:
                if prev.type == "for_each" and _ITER.match(names[i]) and i + 1 < len(names):
                    i += 1
                comp = prev.body
            node = comp.nodes.get(names[i]) if comp is not None else None
            if node is None:
                return None
            path = (*path, names[i])
            consumed.append((i, path))
            prev = node
            i += 1
        return consumed or None

    def resolve(self, tcpath: ComponentPath, names: tuple[str, ...]) -> list[tuple[int, NodePath]] | None:
        scopes: list[ComponentPath | None] = [tcpath[:i] for i in range(len(tcpath), -1, -1)]
        scopes.append(None)
        for k in range(len(names), 0, -1):
            for scope in scopes:
                found = self.walk(scope, names[:k])
                if found:
                    return found
        for k in range(len(names), 0, -1):
            matches: dict[NodePath, list[tuple[int, NodePath]]] = {}
            for cpath in self.components:
                found = self.walk(cpath, names[:k])
                if found:
                    matches[found[-1][1]] = found
            if len(matches) == 1:
                return next(iter(matches.values()))
            if matches:
                return None  # ambiguous: the engine refuses it too, so leave it alone
        return None


def _expr_refs(expr: Expr) -> Iterator[HierRef]:
    if isinstance(expr, Hier):
        yield expr.ref
    elif isinstance(expr, Attr):
        yield from _expr_refs(expr.obj)
    elif isinstance(expr, Item):
        yield from _expr_refs(expr.obj)
        yield from _expr_refs(expr.index)
    elif isinstance(expr, Unary):
        yield from _expr_refs(expr.operand)
    elif isinstance(expr, Binary | Logic):
        yield from _expr_refs(expr.left)
        yield from _expr_refs(expr.right)
    elif isinstance(expr, ListLit):
        for item in expr.items:
            yield from _expr_refs(item)


def hier_refs(template: str) -> list[HierRef]:
    """Every ``$hier{}`` of a template, nested ones in expressions and ``py:`` included."""
    parsed = parse(template)
    refs: list[HierRef] = []
    for seg in parsed.segments:
        if isinstance(seg, HierForm):
            refs.append(seg.ref)
        elif isinstance(seg, ExprForm):
            refs.extend(_expr_refs(seg.expr))
        elif isinstance(seg, PyForm):
            refs.extend(ref for _, ref in seg.hiers)
    return refs


def _name_spans(template: str, start: int, count: int) -> list[tuple[int, int]] | None:
    """Where the first ``count`` dotted names of the ``$hier{`` body starting at ``start`` are."""
    spans: list[tuple[int, int]] = []
    pos = start
    while len(spans) < count:
        if spans:
            dot = _DOT.match(template, pos)
            if dot is None:
                return None
            pos = dot.end()
        m = _NAME.match(template, pos)
        if m is None:
            return None
        spans.append(m.span(1))
        pos = m.end()
    return spans


def rewrite_template(template: str, tree: _Tree, tcpath: ComponentPath, renames: Mapping[NodePath, str]) -> str | None:
    """The template with references to each renamed node (path -> new id) rewritten; None if unchanged."""
    if "$hier{" not in template:
        return None
    old_ids = {path[-1] for path in renames}
    if len(old_ids) <= 4 and not any(old in template for old in old_ids):
        return None  # cheap filter before parsing: the old id must appear in the text
    try:
        refs = hier_refs(template)
    except TemplateError:
        return None  # a broken template: validate reports it; guessing could corrupt it
    edits: dict[tuple[int, int], str] = {}
    for ref in refs:
        if old_ids.isdisjoint(ref.names):
            continue
        found = tree.resolve(tcpath, ref.names)
        hits = [(i, renames[path]) for i, path in (found or ()) if path in renames]
        if not hits:
            continue
        spans = _name_spans(template, ref.pos + len("$hier{"), max(i for i, _ in hits) + 1)
        if spans is None or any(template[a:b] != ref.names[i] for i, (a, b) in enumerate(spans)):
            continue
        for i, new in hits:
            edits[spans[i]] = new
    if not edits:
        return None
    out = template
    for (a, b), new in sorted(edits.items(), reverse=True):
        out = out[:a] + new + out[b:]
    return out


def _rewrite_value(value: Any, fn: Any) -> Any:
    """``value`` with every string mapped by ``fn``; unchanged subtrees are shared, not copied."""
    if isinstance(value, str):
        new = fn(value)
        return value if new is None else new
    if isinstance(value, dict):
        out = {k: v if isinstance(v, ComponentDefinition) else _rewrite_value(v, fn) for k, v in value.items()}
        return value if all(out[k] is value[k] for k in value) else out
    if isinstance(value, list):
        items = [_rewrite_value(v, fn) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


@dataclass
class _Edit:
    cpath: ComponentPath
    node_id: str | None
    """None: the component's variables."""
    old: dict[str, Any]
    new: dict[str, Any]


def reference_edits(root: ComponentDefinition, renames: Mapping[NodePath, str]) -> list[_Edit]:
    """New settings / variables dicts for every template that refers to a renamed node.

    ``renames`` maps node paths to new ids; all are resolved against the names as they are now,
    in one pass, so several renames cannot interfere with each other.
    """
    tree = _Tree(root)
    edits: list[_Edit] = []
    for cpath, comp in tree.components.items():

        def fn(s: str, cpath: ComponentPath = cpath) -> str | None:
            return rewrite_template(s, tree, cpath, renames)

        variables = _rewrite_value(comp.variables, fn)
        if variables is not comp.variables:
            edits.append(_Edit(cpath, None, comp.variables, variables))
        for node_id, node in comp.nodes.items():
            settings = _rewrite_value(node.settings, fn)
            if settings is not node.settings:
                edits.append(_Edit(cpath, node_id, node.settings, settings))
    return edits


def rename_refs_in_component(root: ComponentDefinition, renames: Mapping[str, str]) -> None:
    """Rewrite references to top-level nodes of a standalone component (old -> new; no undo: for paste)."""
    for edit in reference_edits(root, {(old,): new for old, new in renames.items() if old != new}):
        _apply(root, edit, edit.new)


def _apply(root: ComponentDefinition, edit: _Edit, value: dict[str, Any]) -> None:
    comp = root
    for node_id in edit.cpath:
        body = comp.nodes[node_id].body
        assert body is not None
        comp = body
    if edit.node_id is None:
        comp.variables = value
    else:
        comp.nodes[edit.node_id].settings = value


def _rekey(mapping: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    return {(new if k == old else k): v for k, v in mapping.items()}


@dataclass
class RenameNode(Command):
    cpath: ComponentPath
    old: str
    new: str
    _nodes: dict[str, NodeDefinition] | None = field(default=None, repr=False)
    _layout: dict[str, Position] | None = field(default=None, repr=False)
    _edges: list[tuple[int, EdgeDefinition]] = field(default_factory=list, repr=False)
    _refs: list[_Edit] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.text = f"Rename {self.old} to {self.new}"

    def do(self, doc: FlowDocument) -> None:
        comp = doc.component(self.cpath)
        doc.node(self.cpath, self.old)
        if self.new == self.old:
            raise CommandError(f"{self.old} already has that name")
        doc.check_new_id(self.cpath, self.new)
        # resolve references while the old name is still in place
        self._refs = reference_edits(doc.root, {(*self.cpath, self.old): self.new})
        self._nodes, self._layout = comp.nodes, comp.layout
        comp.nodes = _rekey(comp.nodes, self.old, self.new)
        if self.old in comp.layout:
            comp.layout = _rekey(comp.layout, self.old, self.new)
        edges = comp.edges or []
        self._edges = [(i, e) for i, e in enumerate(edges) if self.old in (e.source, e.target)]
        for i, e in self._edges:
            edges[i] = e.model_copy(
                update={
                    "source": self.new if e.source == self.old else e.source,
                    "target": self.new if e.target == self.old else e.target,
                }
            )
        for edit in self._refs:
            # paths inside the renamed node's body now go through the new id
            _apply(doc.root, _moved(edit, self.cpath, self.old, self.new), edit.new)
        doc.node_renamed.emit(self.cpath, self.old, self.new)
        for edit in self._refs:
            where = _moved(edit, self.cpath, self.old, self.new)
            if where.node_id is not None:
                doc.settings_changed.emit(where.cpath, where.node_id)
            else:
                doc.variables_changed.emit(where.cpath)

    def undo(self, doc: FlowDocument) -> None:
        assert self._nodes is not None and self._layout is not None
        for edit in self._refs:
            _apply(doc.root, _moved(edit, self.cpath, self.old, self.new), edit.old)
        comp = doc.component(self.cpath)
        comp.nodes, comp.layout = self._nodes, self._layout
        edges = comp.edges or []
        for i, e in self._edges:
            edges[i] = e
        doc.node_renamed.emit(self.cpath, self.new, self.old)
        for edit in self._refs:
            if edit.node_id is not None:
                doc.settings_changed.emit(edit.cpath, edit.node_id)
            else:
                doc.variables_changed.emit(edit.cpath)


def _moved(edit: _Edit, cpath: ComponentPath, old: str, new: str) -> _Edit:
    """The edit with its component path seen after the rename (through ``new`` instead of ``old``)."""
    n = len(cpath)
    if edit.cpath == cpath and edit.node_id == old:
        return _Edit(cpath, new, edit.old, edit.new)
    if edit.cpath[: n + 1] == (*cpath, old):
        return _Edit((*cpath, new, *edit.cpath[n + 1 :]), edit.node_id, edit.old, edit.new)
    return edit
