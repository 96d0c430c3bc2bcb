"""Static `$hier{}` resolution: the element paths of a whole tree, and which one a reference names.

Follows the template language's runtime rules (dad_studio.template.hier): the longest prefix of the
reference's names that is an element wins, tried from the current component outward; failing that,
a partial path that is the unique suffix of one element path. `loop.iter_2.step` names the static
element `loop.step`. We keep our own index instead of calling `hier_element` per reference because
that rebuilds a lookup over every path each time (quadratic on a 5,000-node flow).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dad_studio.model import NodeResult

RESULT_FIELDS: tuple[str, ...] = tuple(NodeResult.model_fields)
_ITER = re.compile(r"^iter_\d+$")


@dataclass
class ElementIndex:
    """Every element's static hierarchy path in one tree (refs loaded), for `$hier{}` checks."""

    paths: set[str] = field(default_factory=set)
    loops: set[str] = field(default_factory=set)
    """Paths of for_each elements: `loop.iter_N.x` is `loop.x` statically."""
    opaque: set[str] = field(default_factory=set)
    """Paths of subflows whose body is not known (ref not resolved): anything under them is accepted."""
    _suffixes: dict[str, list[str]] | None = None

    def add(self, path: str) -> None:
        self.paths.add(path)
        self._suffixes = None

    def _suffix_index(self) -> dict[str, list[str]]:
        if self._suffixes is None:
            index: dict[str, list[str]] = {}
            for path in self.paths:
                parts = path.split(".")
                for i in range(1, len(parts)):
                    index.setdefault(".".join(parts[i:]), []).append(path)
            self._suffixes = index
        return self._suffixes

    def _normal(self, names: list[str]) -> list[str]:
        out: list[str] = []
        for name in names:
            if out and _ITER.match(name) and ".".join(out) in self.loops:
                continue
            out.append(name)
        return out

    def resolve(self, text: str, component_path: str) -> str | None:
        """An error message for the `$hier{}` text seen from `component_path`, or None when it resolves."""
        head = text.split("[", 1)[0]
        names = [n.strip() for n in head.split(".") if n.strip()]
        if not names:
            return None  # the template parser reports empty references
        scope_parts = component_path.split(".")
        scopes = [".".join(scope_parts[:i]) for i in range(len(scope_parts), 0, -1)] + [""]
        for k in range(len(names), 0, -1):
            for scope in scopes:
                candidate = self._normal(scope.split(".") + names[:k] if scope else names[:k])
                path = ".".join(candidate)
                if path in self.paths:
                    return self._check_rest(path, names[k:], text)
        for k in range(len(names), 0, -1):
            matches = self._suffix_index().get(".".join(self._normal(names[:k])), [])
            if len(matches) > 1:
                shown = ", ".join(sorted(matches)[:10])
                return f"$hier{{{text}}} is ambiguous: it matches {shown}; write more of the path"
            if matches:
                return self._check_rest(matches[0], names[k:], text)
        for k in range(len(names), 0, -1):  # under a subflow whose file was not loaded: cannot check
            for scope in scopes:
                prefix = ".".join(self._normal((scope.split(".") if scope else []) + names[:k]))
                if prefix in self.opaque:
                    return None
        parents = set(scopes)
        visible = sorted({p.rsplit(".", 1)[-1] for p in self.paths if p.rsplit(".", 1)[0] in parents})
        shown = ", ".join(visible[:15]) + (", ..." if len(visible) > 15 else "")
        return f"$hier{{{text}}} names no element: {names[0]!r} is unknown here (elements: {shown or 'none'})"

    def _check_rest(self, path: str, rest: list[str], text: str) -> str | None:
        if not rest or rest[0] in RESULT_FIELDS or path in self.opaque:
            return None
        return (
            f"$hier{{{text}}}: {rest[0]!r} is neither an element inside {path!r} nor a field of its result "
            f"({', '.join(RESULT_FIELDS)})"
        )
