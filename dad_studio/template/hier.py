"""``$hier{}`` resolution, through a small lookup interface the engine implements.

Rules (TEMPLATES.md): the element is looked up in the current component, then in the enclosing
components outward; the longest prefix of the dotted names that names an element wins and the
rest is a path into its result. Absolute paths (``root_id.sub.inner``) work because the outermost
scope is the empty one. Inside a ``for_each`` body the current component is the iteration
(``root.loop.iter_2``), so ``step`` is this iteration's step and ``loop.iter_2.step`` any other.

One addition, for partial paths that do not start in an enclosing component: when the outward
search finds nothing, an element whose path *ends with* the written names is used if exactly one
matches; several matches are an "ambiguous" error that lists them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from .errors import MissingError, TemplateError, known_names
from .nodes import HierRef
from .values import get_attr, get_item

__all__ = ["NOT_RUN", "DictLookup", "HierLookup", "compile_hier", "hier_element", "resolve_hier"]


class _NotRun:
    """Sentinel type of :data:`NOT_RUN`."""

    _instance: _NotRun | None = None

    def __new__(cls) -> _NotRun:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_RUN"

    def __reduce__(self) -> str:
        return "NOT_RUN"


NOT_RUN: Any = _NotRun()
"""Returned by :meth:`HierLookup.get_result` for an element that exists but has not run."""


@runtime_checkable
class HierLookup(Protocol):
    """What ``$hier{}`` needs from the engine: three members, nothing else.

    ``current_path`` is the hierarchy path of the component the template belongs to (for a node
    ``root.write`` it is ``root``; inside a ``for_each`` iteration ``root.loop.iter_2``).
    ``get_result(path)`` returns the result of the element at that absolute hierarchy path,
    raises ``KeyError`` if there is no such element, and returns :data:`NOT_RUN` if it exists but
    has not run. ``element_paths()`` lists the known element paths, for "did you mean" messages and
    for partial-path matching.

    Optional, for speed: ``find_result(path, default)``, which returns ``default`` instead of
    raising KeyError (see :func:`compile_hier`; :class:`DictLookup` has it).
    """

    @property
    def current_path(self) -> str: ...

    def get_result(self, path: str) -> Any: ...

    def element_paths(self) -> Iterable[str]: ...


class DictLookup:
    """A :class:`HierLookup` over a dict of results, for tests, validators and simple callers.

    ``defined`` names elements that exist but have no result yet (they resolve to NOT_RUN).
    """

    def __init__(self, results: Mapping[str, Any], current_path: str, defined: Iterable[str] = ()) -> None:
        self._results = results
        self._defined = frozenset(defined) - frozenset(results)
        self._current_path = current_path

    @property
    def current_path(self) -> str:
        return self._current_path

    def get_result(self, path: str) -> Any:
        if path in self._results:
            return self._results[path]
        if path in self._defined:
            return NOT_RUN
        raise KeyError(path)

    def element_paths(self) -> Iterable[str]:
        return [*self._results, *self._defined]

    def find_result(self, path: str, default: Any) -> Any:
        """The optional fast member (see :func:`compile_hier`): ``get_result`` without KeyError."""
        value = self._results.get(path, default)
        if value is default and path in self._defined:
            return NOT_RUN
        return value


_HAS_FIND: dict[type, bool] = {}
_NO_ELEMENT: Any = object()


def _finder(lookup: HierLookup) -> Callable[[str, Any], Any] | None:
    """``lookup.find_result`` if its class has one (checked once per class), else None."""
    kind = type(lookup)
    has = _HAS_FIND.get(kind)
    if has is None:
        has = _HAS_FIND[kind] = callable(getattr(kind, "find_result", None))
    return lookup.find_result if has else None  # type: ignore[attr-defined, no-any-return]


@functools.lru_cache(maxsize=1024)
def _scopes(current_path: str) -> tuple[str, ...]:
    parts = current_path.split(".") if current_path else []
    return tuple(".".join(parts[:i]) for i in range(len(parts), -1, -1))


@functools.lru_cache(maxsize=4096)
def _candidates(names: tuple[str, ...], current_path: str) -> tuple[tuple[str, int], ...]:
    """Absolute paths to try, in order: longest prefix first, then innermost scope first."""
    out: list[tuple[str, int]] = []
    scopes = _scopes(current_path)
    for k in range(len(names), 0, -1):
        prefix = ".".join(names[:k])
        out.extend(((f"{scope}.{prefix}" if scope else prefix), k) for scope in scopes)
    return tuple(out)


def _find(ref: HierRef, lookup: HierLookup, template: str) -> tuple[str, int, Any]:
    """Absolute path of the element, how many names it took, and its result."""
    names = ref.names
    current = lookup.current_path
    for path, k in _candidates(names, current):
        try:
            return path, k, lookup.get_result(path)
        except KeyError:
            continue
    scopes = _scopes(current)
    known = list(lookup.element_paths())
    for k in range(len(names), 0, -1):
        suffix = "." + ".".join(names[:k])
        matches = sorted(p for p in known if p.endswith(suffix))
        if len(matches) > 1:
            raise TemplateError(
                f"ambiguous element '{'.'.join(names[:k])}' in $hier{{{ref.text}}}: matches "
                f"{', '.join(matches[:10])}{', ...' if len(matches) > 10 else ''}; write more of the path",
                template,
                ref.pos,
            )
        if matches:
            try:
                return matches[0], k, lookup.get_result(matches[0])
            except KeyError:
                break
    visible = _visible(known, scopes)
    raise MissingError(
        f"unknown element '{names[0]}' in $hier{{{ref.text}}} (from '{lookup.current_path}'); "
        f"known: {known_names(names[0], visible)}",
        template,
        ref.pos,
    )


def _visible(known: list[str], scopes: tuple[str, ...]) -> list[str]:
    """Each element as it would be written from the current component (innermost scope)."""
    seen: list[str] = []
    for path in known:
        for scope in scopes:
            head = scope + "." if scope else ""
            if path.startswith(head) and len(path) > len(head):
                seen.append(path[len(head) :])
                break
    return seen


def resolve_hier(ref: HierRef, lookup: HierLookup | None, template: str) -> Any:
    """The value a ``$hier{}`` reference names: the element's result, then the path into it."""
    if lookup is None:
        raise TemplateError(f"$hier{{{ref.text}}} needs element results, but none were given", template, ref.pos)
    path, taken, value = _find(ref, lookup, template)
    if value is NOT_RUN:
        raise MissingError(f"element '{path}' has not run yet ($hier{{{ref.text}}})", template, ref.pos)
    steps = tuple((kind, key, True) for kind, key in (*(("attr", n) for n in ref.names[taken:]), *ref.accessors))
    return _walk(value, steps, path, ref, template)


def compile_hier(ref: HierRef) -> Callable[[HierLookup | None, str], Any]:
    """A resolver for one reference, with the work that depends only on ``ref`` done once.

    Same result and errors as :func:`resolve_hier`; it keeps the candidate paths per current
    path, the path that remains once the element is known (per number of names it took), and
    walks dict results without building the error text (``where``) unless a step is not a plain
    dict key; then the generic walk takes over from that step with the same ``where``.

    The longest-prefix rule tries several paths that do not exist before the one that does
    (``root.scan.outcome.tree``, ``scan.outcome.tree``, ... ``root.scan``), and through the
    protocol each miss is a raised and caught KeyError. A lookup may offer an optional member
    ``find_result(path, default)``, the same as ``get_result`` but returning ``default`` where
    that raises KeyError; when its class has one, misses cost a dict probe instead.
    """
    names = ref.names
    tails: dict[int, tuple[tuple[str, object, bool], ...]] = {}
    for taken in range(1, len(names) + 1):
        steps: list[tuple[str, object]] = [("attr", n) for n in names[taken:]]
        steps.extend(ref.accessors)
        tails[taken] = tuple((kind, key, not str(key).startswith("_")) for kind, key in steps)
    by_scope: dict[str, tuple[tuple[str, int], ...]] = {}

    def resolve(lookup: HierLookup | None, template: str) -> Any:
        if lookup is None:
            return resolve_hier(ref, lookup, template)  # raises the "needs element results" error
        current = lookup.current_path
        candidates = by_scope.get(current)
        if candidates is None:
            if len(by_scope) > 64:  # current paths are few per template; bound it anyway
                by_scope.clear()
            candidates = by_scope[current] = _candidates(names, current)
        has_find = _HAS_FIND.get(type(lookup))  # _finder() inlined for the known classes
        if has_find:
            find: Callable[[str, Any], Any] | None = lookup.find_result  # type: ignore[attr-defined]
        else:
            find = None if has_find is False else _finder(lookup)
        if find is not None:
            for candidate in candidates:
                value = find(candidate[0], _NO_ELEMENT)
                if value is not _NO_ELEMENT:
                    path, taken = candidate
                    break
            else:
                return resolve_hier(ref, lookup, template)  # partial paths, ambiguity, unknown element
        else:
            get_result = lookup.get_result
            for candidate in candidates:
                try:
                    value = get_result(candidate[0])
                except KeyError:
                    continue
                path, taken = candidate
                break
            else:
                return resolve_hier(ref, lookup, template)
        if value is NOT_RUN:
            raise MissingError(f"element '{path}' has not run yet ($hier{{{ref.text}}})", template, ref.pos)
        tail = tails[taken]
        for i, (_, key, plain) in enumerate(tail):
            if type(value) is dict and plain and key in value:
                value = value[key]
            else:
                where = path + "".join(f".{k}" for _, k, _ in tail[:i])
                return _walk(value, tail[i:], where, ref, template)
        return value

    return resolve


def _walk(value: Any, steps: tuple[tuple[str, object, bool], ...], where: str, ref: HierRef, template: str) -> Any:
    for kind, key, _ in steps:
        if type(value) is dict and key in value and not str(key).startswith("_"):
            value = value[key]
            where = f"{where}.{key}"
        elif kind == "attr":
            value = get_attr(value, str(key), template, ref.pos, where)
            where = f"{where}.{key}"
        else:
            value = get_item(value, key, template, ref.pos, where)
            where = f"{where}[{key!r}]"
    return value


def hier_element(ref: str, current_path: str, element_paths: Iterable[str]) -> str:
    """The absolute element path ``ref`` (the text inside ``$hier{}``) names, for validators.

    Raises :class:`TemplateError` if it names no element or is ambiguous; the path into the
    result is not checked (results do not exist before the run).
    """
    from .parser import parse_hier_ref

    parsed = parse_hier_ref(ref, 0, len(ref), 0)
    paths = list(element_paths)
    lookup = DictLookup(dict.fromkeys(paths, None), current_path)
    return _find(parsed, lookup, ref)[0]
