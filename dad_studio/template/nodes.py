"""The immutable parsed form of templates and expressions.

Parsed templates are cached by their text, so every node is a frozen dataclass: a cached parse
can be shared by every render (and every thread) without anyone changing it. Positions are
absolute 0-based offsets into the template, for error messages.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

__all__ = [
    "Attr",
    "Binary",
    "Expr",
    "ExprForm",
    "Hier",
    "HierForm",
    "HierRef",
    "Item",
    "ListLit",
    "Literal",
    "Logic",
    "Name",
    "Parsed",
    "PyForm",
    "Segment",
    "Text",
    "Unary",
    "VarForm",
]


# --- expressions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    value: object
    pos: int


@dataclass(frozen=True, slots=True)
class ListLit:
    items: tuple[Expr, ...]
    pos: int


@dataclass(frozen=True, slots=True)
class Name:
    name: str
    pos: int


@dataclass(frozen=True, slots=True)
class Attr:
    """``obj.name``: a dict key first, then an attribute (TEMPLATES.md, Paths)."""

    obj: Expr
    name: str
    pos: int


@dataclass(frozen=True, slots=True)
class Item:
    """``obj[index]``."""

    obj: Expr
    index: Expr
    pos: int


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-", "+" or "!"
    operand: Expr
    pos: int


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # arithmetic, comparison, "in" or "not in"
    left: Expr
    right: Expr
    pos: int


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # "??", "||" or "&&"
    left: Expr
    right: Expr
    pos: int


@dataclass(frozen=True, slots=True)
class HierRef:
    """A hierarchical reference: leading dotted names, then the accessors after the first ``[``.

    Which leading names form the element is decided at evaluation time (the longest prefix that
    names an element wins); the rest become a path into its result.
    """

    text: str
    names: tuple[str, ...]
    accessors: tuple[tuple[str, object], ...]  # ("attr", name) or ("item", int | str)
    pos: int


@dataclass(frozen=True, slots=True)
class Hier:
    ref: HierRef
    pos: int


Expr = Literal | ListLit | Name | Attr | Item | Unary | Binary | Logic | Hier


# --- template segments -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class VarForm:
    expr: Expr  # a path: Name followed by Attr / Item
    pos: int


@dataclass(frozen=True, slots=True)
class ExprForm:
    expr: Expr
    pos: int


@dataclass(frozen=True, slots=True)
class PyForm:
    """``$expr{py: ...}``; ``hiers`` are the ``$hier{}`` forms replaced by placeholder names."""

    source: str
    tree: ast.Expression
    hiers: tuple[tuple[str, HierRef], ...]
    free_names: frozenset[str]
    offset: int  # where ``source`` starts in the template
    pos: int


@dataclass(frozen=True, slots=True)
class HierForm:
    ref: HierRef
    pos: int


Segment = Text | VarForm | ExprForm | PyForm | HierForm


@dataclass(frozen=True, slots=True)
class Parsed:
    template: str
    segments: tuple[Segment, ...]
