"""Stage 4: semantic validation of a component tree against the node registry, in one pass.

Two walks over the tree. The first indexes every element's hierarchy path (loading `subflow.ref`
files, detecting cycles between files), because a `$hier{}` may name any element. The second checks
each component: ids, variables, node types, settings against the type's model, edges, cycles,
templates (`$var{}` names in scope, `$hier{}` targets, syntax). Every problem is collected.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from dad_studio.fileformat.graph import check_cycles, check_edges, check_never_runs
from dad_studio.fileformat.hierarchy import ElementIndex
from dad_studio.fileformat.problems import Problem, pointer_join
from dad_studio.fileformat.pydantic_errors import problems_from_validation_error
from dad_studio.fileformat.stages import Parsed, parse_bytes, read_bytes
from dad_studio.model import BUILTIN_VARIABLES, ID_PATTERN, ComponentDefinition, NodeDefinition, NodeTypeRegistry
from dad_studio.model import default_registry as _default_registry
from dad_studio.model.definitions import MAX_ID_LENGTH
from dad_studio.template import TemplateError, references

PRE_EVENTS = frozenset({"node_input_required"})
MAX_REF_DEPTH = 32
Kind = Literal["root", "body", "ref"]


@dataclass(frozen=True)
class Where:
    """The file a component comes from: problems name it, refs resolve against its folder."""

    file: Path | None
    base_dir: Path | None
    stack: tuple[Path, ...] = ()
    """Resolved paths of the files being loaded, outermost first (cycle detection)."""


@dataclass
class _LoadedRef:
    path: Path
    component: ComponentDefinition
    where: Where


def _suggest(name: str, known: Iterable[str]) -> str:
    options = sorted(known)
    close = difflib.get_close_matches(name, options, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    shown = ", ".join(options[:20]) + (", ..." if len(options) > 20 else "")
    return f"{hint}known: {shown}"


@dataclass
class Validator:
    registry: NodeTypeRegistry
    resolve_refs: bool = True
    problems: list[Problem] = field(default_factory=list)
    index: ElementIndex = field(default_factory=ElementIndex)
    _refs: dict[int, _LoadedRef] = field(default_factory=dict)
    _cache: dict[Path, Parsed] = field(default_factory=dict)

    def _add(self, where: Where, pointer: str, message: str, severity: Literal["error", "warning"] = "error") -> None:
        self.problems.append(Problem(pointer, message, severity, where.file))

    # -- pass 1: element paths and refs ------------------------------------------------------------

    def index_tree(self, component: ComponentDefinition, comp_path: str, where: Where, pointer: str) -> None:
        for node_id, node in component.nodes.items():
            path = f"{comp_path}.{node_id}"
            self.index.add(path)
            node_ptr = pointer_join(pointer, "nodes", node_id)
            body = node.body
            if body is not None:
                if node.type == "for_each":
                    self.index.loops.add(path)
                self.index_tree(body, path, where, pointer_join(node_ptr, "settings", "body"))
            elif node.type == "subflow" and isinstance(node.settings.get("ref"), str):
                loaded = self._load_ref(node.settings["ref"], where, pointer_join(node_ptr, "settings", "ref"))
                if loaded is None:
                    self.index.opaque.add(path)
                else:
                    self._refs[id(node)] = loaded
                    self.index_tree(loaded.component, path, loaded.where, "/root")

    def _load_ref(self, ref: str, where: Where, pointer: str) -> _LoadedRef | None:
        if not self.resolve_refs or where.base_dir is None:
            return None
        target = Path(where.base_dir, ref)
        try:
            resolved = target.resolve()
        except (OSError, RuntimeError, ValueError) as exc:
            self._add(where, pointer, f"subflow ref {ref!r} cannot be resolved: {exc}")
            return None
        if resolved in where.stack:
            chain = [p.name for p in where.stack[where.stack.index(resolved) :]] + [resolved.name]
            self._add(where, pointer, f"subflow ref cycle between files: {' -> '.join(chain)}")
            return None
        if len(where.stack) >= MAX_REF_DEPTH:
            self._add(where, pointer, f"subflow refs are nested more than {MAX_REF_DEPTH} files deep")
            return None
        parsed = self._cache.get(resolved)
        if parsed is None:
            read_problems: list[Problem] = []
            data = read_bytes(resolved, read_problems)
            if data is None:
                for problem in read_problems:
                    self._add(where, pointer, f"subflow ref {ref!r}: {problem.message}")
                self._cache[resolved] = Parsed(None)
                return None
            parsed = parse_bytes(data)
            self._cache[resolved] = parsed
            self.problems.extend(
                Problem(p.pointer, p.message, p.severity, resolved if p.file is None else p.file)
                for p in parsed.problems
            )
            if parsed.component is None:
                self._add(where, pointer, f"subflow ref {ref!r} ({resolved}) is not a valid flow file")
        if parsed.component is None:
            return None
        return _LoadedRef(resolved, parsed.component, Where(resolved, resolved.parent, (*where.stack, resolved)))

    # -- pass 2: checks ----------------------------------------------------------------------------

    def check(
        self,
        component: ComponentDefinition,
        pointer: str,
        comp_path: str,
        where: Where,
        scope: frozenset[str],
        kind: Kind,
    ) -> None:
        if kind == "root":
            if component.id is None:
                self._add(where, pointer, "the root component needs an 'id'")
            elif not ID_PATTERN.match(component.id) or len(component.id) > MAX_ID_LENGTH:
                self._add(where, pointer_join(pointer, "id"), self._bad_id("component id", component.id))
        elif kind == "body" and component.id is not None:
            self._add(
                where,
                pointer_join(pointer, "id"),
                f"a nested component takes the id of its node; its own id {component.id!r} is ignored",
                "warning",
            )
        for name in component.variables:
            if name in BUILTIN_VARIABLES:
                self._add(
                    where,
                    pointer_join(pointer, "variables", name),
                    f"variable {name!r} has the name of a built-in variable; rename it",
                )
            elif not ID_PATTERN.match(name):
                self._add(
                    where,
                    pointer_join(pointer, "variables", name),
                    f"variable name {name!r} cannot be used in $var{{}}: use letters, digits and _",
                    "warning",
                )
        scope = scope | frozenset(component.variables)
        for name, value in component.variables.items():
            self._scan(value, pointer_join(pointer, "variables", name), where, scope, comp_path)
        for node_id, node in component.nodes.items():
            self._check_node(node_id, node, pointer, comp_path, where, scope)
        found: list[Problem] = []
        edges = check_edges(component, pointer, self._is_conditional, found)
        stuck = check_cycles(component, pointer, edges, found)
        check_never_runs(component, pointer, edges, stuck, found)
        self.problems.extend(replace(p, file=where.file) for p in found)
        self._check_comments(component, pointer, where)
        for key in component.layout:
            if key not in component.nodes:
                self._add(
                    where,
                    pointer_join(pointer, "layout", key),
                    f"layout entry for {key!r}, which is not an element",
                    "warning",
                )

    def _check_comments(self, component: ComponentDefinition, pointer: str, where: Where) -> None:
        """Comments are layout: only their own ids are checked (sizes are the model's job)."""
        seen: set[str] = set()
        for i, comment in enumerate(component.comments):
            ptr = pointer_join(pointer, "comments", i, "id")
            if not ID_PATTERN.match(comment.id) or len(comment.id) > MAX_ID_LENGTH:
                self._add(where, ptr, self._bad_id("comment id", comment.id))
            elif comment.id in seen:
                self._add(where, ptr, f"duplicate comment id {comment.id!r}: comment ids are unique in a component")
            seen.add(comment.id)

    @staticmethod
    def _bad_id(what: str, value: str) -> str:
        if len(value) > MAX_ID_LENGTH:
            return f"{what} {value[:40]!r}... is {len(value)} characters long; at most {MAX_ID_LENGTH} are allowed"
        return f"invalid {what} {value!r}: use letters, digits and _, not starting with a digit"

    def _is_conditional(self, type_id: str) -> bool:
        node_type = self.registry.get(type_id)
        return node_type is not None and any(p.meaning in ("true", "false") for p in node_type.ports)

    def _check_node(
        self, node_id: str, node: NodeDefinition, pointer: str, comp_path: str, where: Where, scope: frozenset[str]
    ) -> None:
        node_ptr = pointer_join(pointer, "nodes", node_id)
        path = f"{comp_path}.{node_id}"
        if not ID_PATTERN.match(node_id) or len(node_id) > MAX_ID_LENGTH:
            self._add(where, node_ptr, self._bad_id("element id", node_id))
        for i, event in enumerate(node.pre_events):
            if event not in PRE_EVENTS:
                self._add(
                    where,
                    pointer_join(node_ptr, "pre_events", i),
                    f"unknown pre_event {event!r} on {node_id!r} (known: {', '.join(sorted(PRE_EVENTS))})",
                )
        settings_ptr = pointer_join(node_ptr, "settings")
        node_type = self.registry.get(node.type)
        if node_type is None:
            self._add(
                where,
                pointer_join(node_ptr, "type"),
                f"unknown node type {node.type!r} for element {node_id!r} ({_suggest(node.type, self.registry.ids())})",
            )
        else:
            try:
                node_type.settings_model.model_validate(node.settings)
            except ValidationError as exc:
                known = {"": list(node_type.settings_model.model_fields)}
                for problem in problems_from_validation_error(exc, node.settings, settings_ptr, known=known):
                    self._add(where, problem.pointer, f"{node_id} ({node.type}): {problem.message}")
        self._scan(node.settings, settings_ptr, where, scope, comp_path, skip_body=True)
        overrides = node.settings.get("variables") if node.type == "subflow" else None
        extra: set[str] = set()
        if isinstance(overrides, dict):
            for name in overrides:
                if name in BUILTIN_VARIABLES:
                    self._add(
                        where,
                        pointer_join(settings_ptr, "variables", name),
                        f"subflow {node_id!r} overrides built-in variable {name!r}",
                    )
                extra.add(str(name))
        if node.type == "for_each":
            for key, default in (("item_var", "item"), ("index_var", "index")):
                name = node.settings.get(key, default)
                if isinstance(name, str):
                    extra.add(name)
                    if name in BUILTIN_VARIABLES:
                        self._add(
                            where, pointer_join(settings_ptr, key), f"loop variable {name!r} hides a built-in variable"
                        )
        body = node.body
        if body is not None:
            self.check(body, pointer_join(settings_ptr, "body"), path, where, scope | extra, "body")
        loaded = self._refs.get(id(node))
        if loaded is not None:
            self.check(loaded.component, "/root", path, loaded.where, scope | extra, "ref")

    # -- templates ---------------------------------------------------------------------------------

    def _scan(
        self, value: Any, pointer: str, where: Where, scope: frozenset[str], comp_path: str, skip_body: bool = False
    ) -> None:
        """Check every template string inside `value` (iteratively: settings may nest deeply)."""
        if isinstance(value, str):
            if "$" in value:
                self._check_template(value, pointer, where, scope, comp_path)
            return
        stack: list[tuple[str, Any]] = [(pointer, value)]
        while stack:
            ptr, item = stack.pop()
            pairs: Iterable[tuple[str | int, Any]]
            if isinstance(item, dict):
                pairs = item.items()
                if skip_body and ptr == pointer and isinstance(item.get("body"), ComponentDefinition):
                    pairs = [(k, v) for k, v in pairs if k != "body"]
            elif isinstance(item, list | tuple):
                pairs = enumerate(item)
            else:
                continue
            for key, sub in pairs:  # pointers are built only for what needs one: most strings are plain
                if isinstance(sub, str):
                    if "$" in sub:
                        self._check_template(sub, pointer_join(ptr, key), where, scope, comp_path)
                elif isinstance(sub, dict | list | tuple):
                    stack.append((pointer_join(ptr, key), sub))

    def _check_template(self, template: str, pointer: str, where: Where, scope: frozenset[str], comp_path: str) -> None:
        try:
            refs = references(template)
        except TemplateError as exc:
            at = f" at position {exc.position}" if exc.position >= 0 else ""
            self._add(where, pointer, f"template error{at}: {exc.message}")
            return
        except RecursionError:
            self._add(where, pointer, "template error: the expression is nested too deeply")
            return
        for name in sorted(refs.variables - scope):
            self._add(where, pointer, f"unknown variable {name!r} in template ({_suggest(name, scope)})")
        for text in refs.hier_paths:
            message = self.index.resolve(text, comp_path)
            if message is not None:
                self._add(where, pointer, message)


def dedupe(problems: Iterable[Problem]) -> list[Problem]:
    """Problems in order, each once (a ref file used twice is checked twice)."""
    return list(dict.fromkeys(problems))


def validate_tree(
    component: ComponentDefinition,
    *,
    registry: NodeTypeRegistry | None = None,
    where: Where,
    kind: Kind = "root",
    resolve_refs: bool = True,
    variables: Iterable[str] = (),
    hier_path: str | None = None,
) -> list[Problem]:
    """Semantic problems of `component` read from `where` (pointers rooted at /root)."""
    validator = Validator(registry if registry is not None else _default_registry(), resolve_refs)
    comp_path = hier_path or component.id or "root"
    scope = BUILTIN_VARIABLES | frozenset(variables)
    try:
        validator.index_tree(component, comp_path, where, "/root")
        validator.check(component, "/root", comp_path, where, scope, kind)
    except RecursionError:
        validator.problems.append(Problem("/root", "components are nested too deeply to validate", "error", where.file))
    return dedupe(validator.problems)


def validate_component(
    component: ComponentDefinition,
    *,
    registry: NodeTypeRegistry | None = None,
    base_dir: Path | None = None,
    file: Path | None = None,
    resolve_refs: bool = True,
) -> list[Problem]:
    """Every semantic problem of an in-memory document; `subflow.ref` files resolve against `base_dir`."""
    if file is not None and base_dir is None:
        base_dir = file.parent
    stack = (file.resolve(),) if file is not None else ()
    return validate_tree(component, registry=registry, where=Where(file, base_dir, stack), resolve_refs=resolve_refs)
