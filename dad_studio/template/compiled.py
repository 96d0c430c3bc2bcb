"""Templates compiled once into literal text and getter closures, so a render is a tight loop.

Every string setting of every node is rendered on every attempt, while a template is parsed once
(the parse is cached by its text); so the parsed form is compiled once more, into a flat tuple of
literal pieces and slots of (index, getter, position), cached alongside the parse. A render then
copies the pieces, fills the slots and joins: no isinstance chain, no generic dispatch for the
common forms (``$var{name}``, ``$var{a.b}`` over dicts, ``$hier{x.outcome.y}``), no exceptions
unless a lookup really fails. The generic evaluator (``eval_expr``, ``resolve_hier``) stays the
reference: every fast path falls back to it on anything but the plain case.
"""

from __future__ import annotations

import functools
from collections import ChainMap
from collections.abc import Callable, Mapping
from typing import Any

from .errors import TemplateError
from .evaluator import Context, compile_expr
from .hier import compile_hier, resolve_hier
from .nodes import ExprForm, HierForm, PyForm, Segment, Text, VarForm
from .parser import parse
from .sandbox import Interpreter
from .sandbox_data import Limits, deep_size
from .values import to_text

__all__ = ["CompiledTemplate", "Getter", "compile_template", "flat_variables", "python_value", "segment_value"]

Getter = Callable[[Context], Any]
_FLATTEN_FROM = 3
_TEXT_LIMIT = Limits().max_len
"""Items or characters a non-string value may write out as text (the sandbox's ``max_len``)."""
_FLAT_TEXT = frozenset({int, float, bool, type(None)})
"""Flatten a ChainMap of dicts when a template reads at least this many variables (see below)."""


class CompiledTemplate:
    """``pieces``: the literal text, with ``""`` where a slot goes; ``slots``: (index, getter, pos).

    ``plain`` is the whole rendered text when the template has no form at all (escapes only),
    ``typed`` the single getter when the template is exactly one ``$expr{}`` / ``$hier{}`` (what
    ``evaluate`` returns with its type), ``reads`` how many variable names the forms read.
    """

    __slots__ = ("pieces", "plain", "reads", "slots", "typed")

    def __init__(
        self,
        pieces: tuple[str, ...],
        slots: tuple[tuple[int, Getter, int], ...],
        typed: Getter | None,
        reads: int,
    ) -> None:
        self.pieces = pieces
        self.slots = slots
        self.plain: str | None = None if slots else "".join(pieces)
        self.typed = typed
        self.reads = reads


def python_value(form: PyForm, ctx: Context) -> Any:
    """A ``py:`` form, run in the sandbox (only when the flow is trusted)."""
    if not ctx.allow_python:
        raise TemplateError(
            "Python expressions are disabled for untrusted flows; trust the flow to run $expr{py: ...}",
            ctx.template,
            form.pos,
        )
    extra = {name: resolve_hier(ref, ctx.results, ctx.template) for name, ref in form.hiers}
    return Interpreter(form.source, ctx.template, form.offset, ctx.variables, extra).run(form.tree)


def segment_value(segment: Segment, ctx: Context) -> Any:
    """The value of one segment through the generic evaluator (the reference for the fast paths)."""
    from .evaluator import eval_expr

    if isinstance(segment, ExprForm | VarForm):
        return eval_expr(segment.expr, ctx)
    if isinstance(segment, HierForm):
        return resolve_hier(segment.ref, ctx.results, ctx.template)
    if isinstance(segment, PyForm):
        return python_value(segment, ctx)
    return segment.text


def _getter(segment: VarForm | ExprForm | HierForm | PyForm) -> Getter:
    if isinstance(segment, VarForm | ExprForm):
        return compile_expr(segment.expr)
    if isinstance(segment, HierForm):
        resolve = compile_hier(segment.ref)
        return lambda ctx: resolve(ctx.results, ctx.template)
    form = segment
    return lambda ctx: python_value(form, ctx)


def _reads(segment: Segment) -> int:
    if isinstance(segment, PyForm):
        return len(segment.free_names)
    if isinstance(segment, VarForm | ExprForm):
        return 1  # a lower bound is enough: it only decides whether to flatten a ChainMap
    return 0


@functools.lru_cache(maxsize=4096)
def compile_template(template: str) -> CompiledTemplate:
    """Parse (cached) and compile ``template``; the result is immutable and shared by all renders."""
    segments = parse(template).segments
    pieces: list[str] = []
    slots: list[tuple[int, Getter, int]] = []
    for segment in segments:
        if isinstance(segment, Text):
            pieces.append(segment.text)
        else:
            slots.append((len(pieces), _getter(segment), segment.pos))
            pieces.append("")
    typed = None
    if len(segments) == 1 and isinstance(segments[0], ExprForm | PyForm | HierForm):
        typed = slots[0][1]
    return CompiledTemplate(tuple(pieces), tuple(slots), typed, sum(_reads(s) for s in segments))


def flat_variables(variables: Mapping[str, Any], reads: int) -> Mapping[str, Any]:
    """A ChainMap of plain dicts as one dict, when the template reads enough names to gain.

    The engine passes scopes as a ChainMap (loop variables, component, enclosing, built-ins);
    each ``ChainMap[name]`` is a Python-level loop that raises and catches KeyError in every map
    before the one holding the name. One C-level ``dict.update`` per map costs less than a few
    such lookups. Reading a plain dict has no side effects, so the values are the same; any other
    kind of map is left alone.
    """
    if reads < _FLATTEN_FROM or type(variables) is not ChainMap:
        return variables
    maps = variables.maps
    for m in maps:
        if type(m) is not dict:
            return variables
    flat: dict[str, Any] = {}
    for m in reversed(maps):
        flat.update(m)
    return flat


def text_of(value: Any, ctx: Context, pos: int) -> str:
    """TEMPLATES.md text of a value; a value that cannot be turned into text is a TemplateError.

    A container is measured first, counting shared parts every time: a value made by ``evaluate``
    of ``[[0] * 4000] * 4000`` is two small lists in memory but 48 MB of JSON, and one level more
    is gigabytes that ``json.dumps`` would build without a pause.
    """
    try:
        size = 0 if type(value) in _FLAT_TEXT else deep_size(value, _TEXT_LIMIT)
    except ValueError as exc:
        raise TemplateError(f"cannot turn the value into text: {exc}", ctx.template, pos) from None
    if size > _TEXT_LIMIT:
        raise TemplateError(
            f"cannot turn the value into text: too large, over {_TEXT_LIMIT} items or characters once written "
            f"out (shared parts count every time they appear); limit {_TEXT_LIMIT}",
            ctx.template,
            pos,
        )
    try:
        return to_text(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise TemplateError(f"cannot turn the value into text: {exc}", ctx.template, pos) from None
