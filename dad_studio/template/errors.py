"""The one exception the template language raises, and the "did you mean" helper.

A template never turns a mistake into text (TEMPLATES.md, Errors): every failure, from a syntax
error to a runaway ``py:`` expression, ends as a :class:`TemplateError` that knows the template
and the 0-based character offset it concerns, so the node can fail with a message that points at
the exact spot.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["MissingError", "TemplateError", "known_names"]

_MAX_LISTED = 12
_SNIPPET = 60


class TemplateError(Exception):
    """A template could not be parsed or evaluated.

    ``position`` is a 0-based character offset into ``template`` (``-1`` when unknown).
    ``str()`` shows the message, the position and the line of the template with a caret, because
    the node's error message is often the only thing the user sees.
    """

    def __init__(self, message: str, template: str = "", position: int = -1) -> None:
        super().__init__(message)
        self.message: str = message
        self.template: str = template
        self.position: int = position

    def __str__(self) -> str:
        if self.position < 0:
            if not self.template:
                return self.message
            return f"{self.message}\n  in template: {_shorten(self.template)}"
        line_start = self.template.rfind("\n", 0, self.position) + 1
        line_end = self.template.find("\n", self.position)
        if line_end < 0:
            line_end = len(self.template)
        line = self.template[line_start:line_end]
        col = self.position - line_start
        # Keep long lines readable: show a window around the caret.
        start = max(0, col - _SNIPPET)
        prefix = "..." if start else ""
        window = line[start : col + _SNIPPET]
        suffix = "..." if col + _SNIPPET < len(line) else ""
        caret = " " * (len(prefix) + col - start) + "^"
        return f"{self.message} (at position {self.position})\n  {prefix}{window}{suffix}\n  {caret}"

    def __reduce__(self) -> tuple[type[TemplateError], tuple[str, str, int]]:
        # Errors cross process boundaries (isolated runs); keep every attribute when pickled.
        return (type(self), (self.message, self.template, self.position))


class MissingError(TemplateError):
    """An unknown name, a missing path or an element without a result.

    A subclass so that the left side of ``??`` can treat exactly these as ``None`` and nothing
    else (a type error on the left of ``??`` is still an error).
    """


def _shorten(text: str) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= 2 * _SNIPPET else text[: 2 * _SNIPPET] + "..."


def known_names(wanted: str, names: Iterable[str]) -> str:
    """Format ``names`` for an error message with the closest matches to ``wanted`` first."""
    pool = sorted({str(n) for n in names})
    if not pool:
        return "(none)"
    close = difflib.get_close_matches(wanted, pool, n=3, cutoff=0.6)
    ordered = close + [n for n in pool if n not in close]
    shown = ordered[:_MAX_LISTED]
    more = ", ..." if len(ordered) > _MAX_LISTED else ""
    return ", ".join(shown) + more
