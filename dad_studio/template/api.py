"""``render``, ``evaluate`` and ``references``: the entry points the engine and validator call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .compiled import compile_template, flat_variables, text_of
from .errors import TemplateError
from .evaluator import Context
from .hier import HierLookup
from .nodes import (
    Attr,
    Expr,
    ExprForm,
    Hier,
    HierForm,
    Item,
    ListLit,
    Logic,
    Name,
    PyForm,
    Unary,
    VarForm,
)
from .nodes import Binary as BinaryNode
from .parser import parse

__all__ = ["References", "evaluate", "references", "render"]


@dataclass(frozen=True, slots=True)
class References:
    """What a template refers to, for ``validate`` (found statically, without evaluating).

    ``variables``: root names that must exist (from ``$var``, ``$expr`` and free names of
    ``py:`` expressions, built-in functions excluded). ``optional_variables``: names that only
    appear on the left of ``??``, where a missing name is allowed. ``hier_paths``: the text of
    every ``$hier{}`` as written (``'scan.outcome.tree'``); which prefix is the element depends on
    what exists, see :func:`dad_studio.template.hier_element`. ``uses_python``: any ``py:`` form.
    """

    variables: frozenset[str]
    hier_paths: tuple[str, ...]
    uses_python: bool
    optional_variables: frozenset[str] = frozenset()


def render(
    template: str,
    variables: Mapping[str, Any],
    *,
    results: HierLookup | None = None,
    allow_python: bool = True,
) -> str:
    """The template as text: every form replaced by its value turned into text."""
    compiled = compile_template(template)
    if compiled.plain is not None:
        return compiled.plain
    ctx = Context(template, flat_variables(variables, compiled.reads), results, allow_python)
    out = list(compiled.pieces)
    try:
        for index, getter, pos in compiled.slots:
            value = getter(ctx)
            out[index] = value if type(value) is str else text_of(value, ctx, pos)
    except RecursionError:
        raise TemplateError("template value nested too deeply", template, -1) from None
    return "".join(out)


def evaluate(
    template: str,
    variables: Mapping[str, Any],
    *,
    results: HierLookup | None = None,
    allow_python: bool = True,
) -> Any:
    """Exactly one ``$expr{}`` or ``$hier{}`` gives its typed value; anything else the text."""
    compiled = compile_template(template)
    if compiled.typed is None:
        return render(template, variables, results=results, allow_python=allow_python)
    ctx = Context(template, flat_variables(variables, compiled.reads), results, allow_python)
    try:
        return compiled.typed(ctx)
    except RecursionError:
        raise TemplateError("template value nested too deeply", template, -1) from None


def _walk(expr: Expr, required: set[str], optional: set[str], hiers: list[str], lenient: bool) -> None:
    if isinstance(expr, Name):
        (optional if lenient else required).add(expr.name)
    elif isinstance(expr, Attr):
        _walk(expr.obj, required, optional, hiers, lenient)
    elif isinstance(expr, Item):
        _walk(expr.obj, required, optional, hiers, lenient)
        _walk(expr.index, required, optional, hiers, False)
    elif isinstance(expr, Hier):
        hiers.append(expr.ref.text)
    elif isinstance(expr, Logic):
        _walk(expr.left, required, optional, hiers, lenient or expr.op == "??")
        _walk(expr.right, required, optional, hiers, False)
    elif isinstance(expr, BinaryNode):
        _walk(expr.left, required, optional, hiers, False)
        _walk(expr.right, required, optional, hiers, False)
    elif isinstance(expr, Unary):
        _walk(expr.operand, required, optional, hiers, False)
    elif isinstance(expr, ListLit):
        for item in expr.items:
            _walk(item, required, optional, hiers, False)


def references(template: str) -> References:
    """Variables, ``$hier`` paths and ``py:`` use of a template; raises TemplateError on bad syntax."""
    required: set[str] = set()
    optional: set[str] = set()
    hiers: list[str] = []
    uses_python = False
    for segment in parse(template).segments:
        if isinstance(segment, VarForm | ExprForm):
            _walk(segment.expr, required, optional, hiers, False)
        elif isinstance(segment, HierForm):
            hiers.append(segment.ref.text)
        elif isinstance(segment, PyForm):
            uses_python = True
            required.update(segment.free_names)
            hiers.extend(ref.text for _, ref in segment.hiers)
    return References(frozenset(required), tuple(hiers), uses_python, frozenset(optional - required))
