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
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from .errors import MissingError, TemplateError, known_names
from .nodes import HierRef
from .values import get_attr, get_item

__all__ = ["NOT_RUN", "DictLookup", "HierLookup", "hier_element", "resolve_hier"]


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
    where = path  # built as we go: hier paths are short and usually one or two steps
    accessors: list[tuple[str, object]] = [("attr", n) for n in ref.names[taken:]]
    accessors.extend(ref.accessors)
    for kind, key in accessors:
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
