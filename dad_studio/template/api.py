"""``render``, ``evaluate`` and ``references``: the entry points the engine and validator call."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import TemplateError
from .evaluator import Context, compile_expr, eval_expr
from .hier import HierLookup, resolve_hier
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
    Segment,
    Text,
    Unary,
    VarForm,
)
from .nodes import Binary as BinaryNode
from .parser import parse
from .sandbox import Interpreter
from .values import to_text

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


def _python(form: PyForm, ctx: Context) -> Any:
    if not ctx.allow_python:
        raise TemplateError(
            "Python expressions are disabled for untrusted flows; trust the flow to run $expr{py: ...}",
            ctx.template,
            form.pos,
        )
    extra = {name: resolve_hier(ref, ctx.results, ctx.template) for name, ref in form.hiers}
    return Interpreter(form.source, ctx.template, form.offset, ctx.variables, extra).run(form.tree)


def _value(segment: Segment, ctx: Context) -> Any:
    if isinstance(segment, ExprForm) or isinstance(segment, VarForm):  # noqa: SIM101 (faster than a union)
        return eval_expr(segment.expr, ctx)
    if isinstance(segment, HierForm):
        return resolve_hier(segment.ref, ctx.results, ctx.template)
    if isinstance(segment, PyForm):
        return _python(segment, ctx)
    return segment.text


def _text(value: Any, ctx: Context, pos: int) -> str:
    try:
        return to_text(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise TemplateError(f"cannot turn the value into text: {exc}", ctx.template, pos) from None


def _guard(ctx: Context, fn: Any) -> Any:
    try:
        return fn()
    except TemplateError:
        raise
    except RecursionError:
        raise TemplateError("template value nested too deeply", ctx.template, -1) from None


_Part = str | tuple[Callable[[Context], Any], int]


@functools.lru_cache(maxsize=4096)
def _compiled(template: str) -> tuple[_Part, ...]:
    """The parsed template as text pieces and (closure, position) pairs, cached like parse()."""
    parts: list[_Part] = []
    for segment in parse(template).segments:
        if isinstance(segment, Text):
            parts.append(segment.text)
        elif isinstance(segment, VarForm | ExprForm):
            parts.append((compile_expr(segment.expr), segment.pos))
        else:
            parts.append((functools.partial(_value, segment), segment.pos))
    return tuple(parts)


def render(
    template: str,
    variables: Mapping[str, Any],
    *,
    results: HierLookup | None = None,
    allow_python: bool = True,
) -> str:
    """The template as text: every form replaced by its value turned into text."""
    parts = _compiled(template)
    ctx = Context(template, variables, results, allow_python)
    out: list[str] = []
    try:
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            else:
                fn, pos = part
                value = fn(ctx)
                out.append(value if type(value) is str else _text(value, ctx, pos))
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
    parsed = parse(template)
    if len(parsed.segments) == 1 and isinstance(parsed.segments[0], ExprForm | PyForm | HierForm):
        ctx = Context(template, variables, results, allow_python)
        segment = parsed.segments[0]
        return _guard(ctx, lambda: _value(segment, ctx))
    return render(template, variables, results=results, allow_python=allow_python)


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
