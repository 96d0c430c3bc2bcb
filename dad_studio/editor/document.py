"""FlowDocument: the Qt-free editing model the canvas and panels are views of.

Every edit is a Command on one undo stack; the document emits fine-grained psygnal signals (not
Qt) that views subscribe to once. Commands cost O(size of the edit), never O(document): validation
runs lazily on demand and is cached per revision.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from psygnal import Signal

from dad_studio import fileformat
from dad_studio.fileformat import FlowFileError, Problem
from dad_studio.model import (
    BUILTIN_VARIABLES,
    ID_PATTERN,
    ComponentDefinition,
    EdgeDefinition,
    FlowDefinition,
    NodeDefinition,
    NodeTypeRegistry,
    default_registry,
)
from dad_studio.model.definitions import MAX_ID_LENGTH

from . import files
from .commands import Command, MacroCommand, Position
from .comments import CommentOps
from .errors import CommandError, ComponentPath
from .graph import materialize_edges
from .ids import free_id
from .ops import DocumentOps


class FlowDocument(DocumentOps, CommentOps):
    """One open flow file: the root component, its undo stack and its change signals."""

    node_added = Signal(tuple, str)
    node_removed = Signal(tuple, str)
    node_moved = Signal(tuple, str, int, int)
    node_renamed = Signal(tuple, str, str)
    """The node and every edge and layout entry of it now use the new id (no edge signals)."""
    edge_added = Signal(tuple, EdgeDefinition)
    edge_removed = Signal(tuple, EdgeDefinition)
    settings_changed = Signal(tuple, str)
    """Settings or node fields (description, join, timeout_s, retry, pre_events) changed."""
    variables_changed = Signal(tuple)
    structure_changed = Signal(tuple)
    """The component's nodes, edges and layout were replaced wholesale (group, ungroup): redraw it."""
    comment_added = Signal(tuple, str)
    comment_changed = Signal(tuple, str)
    """Text, rectangle or colour of a canvas comment changed."""
    comment_removed = Signal(tuple, str)
    dirty_changed = Signal(bool)
    undo_changed = Signal()

    def __init__(
        self,
        root: ComponentDefinition | None = None,
        *,
        path: Path | None = None,
        registry: NodeTypeRegistry | None = None,
    ) -> None:
        self.root: ComponentDefinition = root if root is not None else FlowDefinition(id="flow")
        self.path: Path | None = Path(path) if path is not None else None
        self.registry: NodeTypeRegistry = registry if registry is not None else default_registry()
        self.body_types: frozenset[str] = frozenset(t.id for t in self.registry if t.has_body) | {"subflow", "for_each"}
        self.load_problems: list[Problem] = []
        self.revision = 0
        self._stack: list[Command] = []
        self._index = 0
        self._clean: int | None = 0
        self._macros: list[MacroCommand] = []
        self._fingerprint: files.Fingerprint | None = None
        self._problems_cache: tuple[int, list[Problem]] | None = None
        materialize_edges(self.root)

    # -- files ------------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, *, registry: NodeTypeRegistry | None = None) -> FlowDocument:
        """Load through fileformat; FlowFileError (with every problem) if nothing usable came out."""
        path = Path(path)
        component, problems = files.load(path, registry)
        if component is None:
            raise FlowFileError(problems, path)
        doc = cls(component, path=path, registry=registry)
        doc.load_problems = problems
        doc._fingerprint = files.Fingerprint.of(path)
        return doc

    def to_bytes(self) -> bytes:
        return files.dumps(self.root)

    def save(self, path: Path | str | None = None) -> None:
        """Write atomically and mark the current undo state as the clean one."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("the document has no path yet: save(path)")
        save_flow = getattr(fileformat, "save_flow", None)
        if save_flow is not None:
            save_flow(target, self.root)
        else:
            files.write_atomic(target, self.to_bytes())
        self.path = target
        self._fingerprint = files.Fingerprint.of(target)
        was = self.dirty
        self._clean = self._index
        self._after_change(was, stack_changed=False)

    def autosave(self, recovery_path: Path | str) -> None:
        """Write the current state to a recovery file (atomically); the document stays dirty."""
        files.write_atomic(Path(recovery_path), self.to_bytes())

    @classmethod
    def recover(
        cls, recovery_path: Path | str, original_path: Path | str | None, *, registry: NodeTypeRegistry | None = None
    ) -> FlowDocument:
        """Open a recovery copy as the unsaved state of ``original_path`` (marked dirty)."""
        doc = cls.open(recovery_path, registry=registry)
        doc.path = Path(original_path) if original_path is not None else None
        doc._fingerprint = files.Fingerprint.of(doc.path) if doc.path is not None else None
        doc._clean = None
        return doc

    def recovery_path(self, *, state_dir: Path | None = None) -> Path:
        return files.recovery_path(self.path, state_dir=state_dir)

    def disk_changed(self) -> bool:
        """True if the file on disk differs from what this document last loaded or saved."""
        if self.path is None:
            return False
        if self._fingerprint is None:
            return self.path.exists()
        return self._fingerprint.differs(self.path)

    # -- lookup -----------------------------------------------------------------------------------

    def component(self, cpath: ComponentPath = ()) -> ComponentDefinition:
        comp = self.root
        for i, node_id in enumerate(cpath):
            node = comp.nodes.get(node_id)
            body = node.body if node is not None else None
            if body is None:
                raise CommandError(f"no component {'.'.join(cpath[: i + 1])!r} (not a node with an inline body)")
            comp = body
        return comp

    def node(self, cpath: ComponentPath, node_id: str) -> NodeDefinition:
        node = self.component(cpath).nodes.get(node_id)
        if node is None:
            raise CommandError(f"no node {node_id!r} in {self.describe(cpath)}")
        return node

    def describe(self, cpath: ComponentPath) -> str:
        return ".".join((self.root.id or "root", *cpath))

    def components(self) -> Iterator[tuple[ComponentPath, ComponentDefinition]]:
        """Every component, the root first, depth first in node order."""
        stack: list[tuple[ComponentPath, ComponentDefinition]] = [((), self.root)]
        while stack:
            cpath, comp = stack.pop()
            yield cpath, comp
            inner = [((*cpath, k), n.body) for k, n in comp.nodes.items() if n.body is not None]
            stack.extend((p, b) for p, b in reversed(inner) if b is not None)

    def check_new_id(self, cpath: ComponentPath, node_id: str) -> None:
        if not isinstance(node_id, str) or not ID_PATTERN.match(node_id) or len(node_id) > MAX_ID_LENGTH:
            raise CommandError(f"invalid id {node_id!r}: use letters, digits and _ (not first), at most 150")
        if node_id in self.component(cpath).nodes:
            raise CommandError(f"{node_id!r} is already used in {self.describe(cpath)}")

    def check_variable_name(self, name: str) -> None:
        if not isinstance(name, str) or not ID_PATTERN.match(name):
            raise CommandError(f"invalid variable name {name!r}")
        if name in BUILTIN_VARIABLES:
            raise CommandError(f"{name!r} is a built-in variable; choose another name")

    def unique_id(self, cpath: ComponentPath, base: str, taken: set[str] | None = None) -> str:
        """``base`` if free, else base_2, base_3... (a trailing _N of base is replaced)."""
        return free_id(base, self.component(cpath).nodes.keys() | (taken or set()), "node")

    # -- undo stack -------------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return self._clean != self._index

    @property
    def can_undo(self) -> bool:
        return self._index > 0 and not self._macros

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._stack) and not self._macros

    @property
    def undo_count(self) -> int:
        """How many steps undo can go back (a merged move counts once)."""
        return self._index

    @property
    def undo_text(self) -> str:
        return self._stack[self._index - 1].text if self._index > 0 else ""

    @property
    def redo_text(self) -> str:
        return self._stack[self._index].text if self._index < len(self._stack) else ""

    def execute(self, command: Command) -> None:
        """Apply ``command`` and push it; CommandError (nothing changed) if it is refused."""
        was = self.dirty
        command.do(self)
        self.revision += 1
        if self._macros:
            self._macros[-1].children.append(command)
            return
        del self._stack[self._index :]
        if self._clean is not None and self._clean > self._index:
            self._clean = None
        top = self._stack[-1] if self._stack else None
        if top is not None and self._clean != self._index and top.merge(command):
            pass
        else:
            self._stack.append(command)
            self._index += 1
        self._after_change(was)

    def undo(self) -> None:
        if not self.can_undo:
            return
        was = self.dirty
        self._stack[self._index - 1].undo(self)
        self._index -= 1
        self.revision += 1
        self._after_change(was)

    def redo(self) -> None:
        if not self.can_redo:
            return
        was = self.dirty
        self._stack[self._index].do(self)
        self._index += 1
        self.revision += 1
        self._after_change(was)

    def begin_macro(self, text: str) -> None:
        """Group the next commands into one undo step until end_macro (macros nest)."""
        self._macros.append(MacroCommand(text=text))

    def end_macro(self) -> None:
        macro = self._macros.pop()
        if not macro.children:
            return
        if self._macros:
            self._macros[-1].children.append(macro)
            return
        # the children are applied already: push without running them again
        was = self.dirty
        del self._stack[self._index :]
        if self._clean is not None and self._clean > self._index:
            self._clean = None
        self._stack.append(macro)
        self._index += 1
        self._after_change(was)

    def abort_macro(self) -> None:
        """Undo what the open macro did and drop it (used when a step of a paste is refused)."""
        macro = self._macros.pop()
        if macro.children:
            macro.undo(self)
            self.revision += 1

    def clear_undo(self) -> None:
        was = self.dirty
        self._stack.clear()
        self._index = 0
        self._clean = 0 if not was else None
        self._after_change(was)

    def _after_change(self, was_dirty: bool, *, stack_changed: bool = True) -> None:
        if stack_changed:
            self.undo_changed.emit()
        if self.dirty != was_dirty:
            self.dirty_changed.emit(self.dirty)

    # -- validation for panels --------------------------------------------------------------------

    def problems(self) -> list[Problem]:
        """fileformat's problems for the current state, computed once per revision."""
        if self._problems_cache is not None and self._problems_cache[0] == self.revision:
            return self._problems_cache[1]
        base_dir = self.path.parent if self.path is not None else None
        found = fileformat.validate_component(self.root, registry=self.registry, base_dir=base_dir, file=self.path)
        self._problems_cache = (self.revision, found)
        return found

    def problems_by_node(self, cpath: ComponentPath = ()) -> dict[str, list[Problem]]:
        """Problems whose JSON pointer falls inside a node of the component at ``cpath``."""
        prefix = "/root" + "".join(f"/nodes/{k}/settings/body" for k in cpath) + "/nodes/"
        out: dict[str, list[Problem]] = {}
        for problem in self.problems():
            pointer = problem.pointer
            if pointer.startswith(prefix):
                # a problem deeper down a body also marks the node that holds that body
                node_id = pointer[len(prefix) :].split("/", 1)[0]
                out.setdefault(node_id, []).append(problem)
        return out


__all__ = ["FlowDocument", "Position"]
