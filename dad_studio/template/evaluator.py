"""Evaluation of the small expression language (``$var{}`` paths and ``$expr{}``).

Operators follow Python semantics where TEMPLATES.md does not say otherwise: ``||``/``&&`` return
an operand, ``??`` returns the left side unless it is None. Operand types are checked so a
mistake is a TemplateError that names the types, not a Python traceback; ``*`` of a string or
list is size-checked and ``%`` is numbers-only (string ``%``-formatting could build huge strings).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from .errors import MissingError, TemplateError, known_names
from .hier import HierLookup, compile_hier, resolve_hier
from .nodes import Attr, Binary, Expr, Hier, Item, ListLit, Literal, Logic, Name, Unary
from .values import get_attr, get_item

__all__ = ["Compiled", "Context", "compile_expr", "describe_path", "eval_expr"]

MAX_SEQUENCE = 10_000_000

_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
}
_NUMBER = (int, float)
_FAST_TYPES = frozenset({int, float})


class Context:
    """What one render needs: the template, the variables, the results and the python switch."""

    __slots__ = ("allow_python", "results", "template", "variables")

    def __init__(
        self, template: str, variables: Mapping[str, Any], results: HierLookup | None, allow_python: bool
    ) -> None:
        self.template = template
        self.variables = variables
        self.results = results
        self.allow_python = allow_python


def describe_path(expr: Expr) -> str:
    """The source-like text of a path, for error messages ("'scan.outcome' has no key ...")."""
    if isinstance(expr, Name):
        return expr.name
    if isinstance(expr, Attr):
        return f"{describe_path(expr.obj)}.{expr.name}"
    if isinstance(expr, Item):
        index = repr(expr.index.value) if isinstance(expr.index, Literal) else "..."
        return f"{describe_path(expr.obj)}[{index}]"
    if isinstance(expr, Hier):
        return f"$hier{{{expr.ref.text}}}"
    return "(expression)"


def _lookup(node: Name, ctx: Context) -> Any:
    try:
        return ctx.variables[node.name]
    except KeyError:
        pass
    raise MissingError(
        f"unknown variable '{node.name}'; known: {known_names(node.name, ctx.variables)}",
        ctx.template,
        node.pos,
    )


def _type_error(op: str, left: Any, right: Any, node: Binary, ctx: Context) -> TemplateError:
    return TemplateError(
        f"cannot apply '{op}' to {type(left).__name__} and {type(right).__name__}", ctx.template, node.pos
    )


def _binary(node: Binary, ctx: Context) -> Any:
    return _apply(node, eval_expr(node.left, ctx), eval_expr(node.right, ctx), ctx)


def _apply(node: Binary, left: Any, right: Any, ctx: Context) -> Any:
    op = node.op
    if op == "*":
        for seq, count in ((left, right), (right, left)):
            sized = isinstance(seq, str | list) and isinstance(count, int)
            if sized and len(seq) * max(count, 0) > MAX_SEQUENCE:
                raise TemplateError(f"result of '*' too large (over {MAX_SEQUENCE} items)", ctx.template, node.pos)
    mixed = isinstance(left, str | list) is not isinstance(right, str | list)
    not_numbers = not (isinstance(left, _NUMBER) and isinstance(right, _NUMBER))
    if (op == "%" and not_numbers) or (op in ("+", "-", "/", "//") and mixed):
        raise _type_error(op, left, right, node, ctx)
    try:
        return _ARITH[op](left, right)
    except ZeroDivisionError:
        raise TemplateError(f"division by zero in '{op}'", ctx.template, node.pos) from None
    except (TypeError, ValueError, OverflowError):
        raise _type_error(op, left, right, node, ctx) from None


def _lenient(node: Expr, ctx: Context) -> Any:
    """The left of ``??``: a missing name, key, index or element counts as None.

    Names and mapping keys are checked without raising, because building a "did you mean"
    error only to discard it would cost more than the rest of the render.
    """
    if isinstance(node, Name):
        return ctx.variables.get(node.name)
    if isinstance(node, Attr | Item):
        obj = _lenient(node.obj, ctx)
        if obj is None:
            return None
        key = node.name if isinstance(node, Attr) else eval_expr(node.index, ctx)
        if isinstance(obj, Mapping) and not (isinstance(key, str) and key.startswith("_")):
            return obj.get(key)
        try:
            if isinstance(node, Attr):
                return get_attr(obj, node.name, ctx.template, node.pos, "")
            return get_item(obj, key, ctx.template, node.pos, "")
        except MissingError:
            return None
    if isinstance(node, Hier):
        try:
            return eval_expr(node, ctx)
        except MissingError:
            return None
    return eval_expr(node, ctx)


def _name(node: Name, ctx: Context) -> Any:
    return _lookup(node, ctx)


def _attr(node: Attr, ctx: Context) -> Any:
    obj = eval_expr(node.obj, ctx)
    if type(obj) is dict and node.name in obj and node.name[0] != "_":  # the common case, fast
        return obj[node.name]
    return get_attr(obj, node.name, ctx.template, node.pos, lambda: describe_path(node.obj))


def _item(node: Item, ctx: Context) -> Any:
    obj = eval_expr(node.obj, ctx)
    key = eval_expr(node.index, ctx)
    return get_item(obj, key, ctx.template, node.pos, lambda: describe_path(node.obj))


def _literal(node: Literal, ctx: Context) -> Any:
    return node.value


def _hier(node: Hier, ctx: Context) -> Any:
    return resolve_hier(node.ref, ctx.results, ctx.template)


def _logic(node: Logic, ctx: Context) -> Any:
    if node.op == "??":
        left = _lenient(node.left, ctx)
        return eval_expr(node.right, ctx) if left is None else left
    left = eval_expr(node.left, ctx)
    if node.op == "||":
        return left if left else eval_expr(node.right, ctx)
    return eval_expr(node.right, ctx) if left else left


def _unary(node: Unary, ctx: Context) -> Any:
    value = eval_expr(node.operand, ctx)
    if node.op == "!":
        return not value
    if isinstance(value, bool) or not isinstance(value, _NUMBER):
        raise TemplateError(f"unary '{node.op}' needs a number, not {type(value).__name__}", ctx.template, node.pos)
    return -value if node.op == "-" else +value


def _list(node: ListLit, ctx: Context) -> Any:
    return [eval_expr(item, ctx) for item in node.items]


_DISPATCH: dict[type, Callable[[Any, Context], Any]] = {
    Name: _name,
    Attr: _attr,
    Item: _item,
    Literal: _literal,
    Hier: _hier,
    Logic: _logic,
    Binary: _binary,
    Unary: _unary,
    ListLit: _list,
}


def eval_expr(node: Expr, ctx: Context) -> Any:
    """Evaluate one expression node (dispatch on its exact type: this is the hot path)."""
    return _DISPATCH[type(node)](node, ctx)


Compiled = Callable[[Context], Any]

_FAST_OPS: dict[type, frozenset[str]] = {
    int: frozenset({"+", "-", "*", "==", "!=", "<", "<=", ">", ">="}),
    float: frozenset({"+", "-", "*", "==", "!=", "<", "<=", ">", ">="}),
    str: frozenset({"+", "==", "!=", "<", "<=", ">", ">="}),  # no '*': that one is size-checked
}
"""Operators that cannot fail or grow beyond their operands when both sides have this exact type."""


def _dict_path(node: Expr) -> tuple[Name, tuple[str, ...]] | None:
    """``name.a.b`` with no key starting with ``_``: the root name and the keys, else None."""
    keys: list[str] = []
    while isinstance(node, Attr):
        if node.name[:1] == "_":
            return None
        keys.append(node.name)
        node = node.obj
    if not isinstance(node, Name) or not keys:
        return None
    return node, tuple(reversed(keys))


def _constant(node: Expr) -> tuple[bool, Any]:
    """(True, value) for a literal or a signed number literal (``-1`` parses as unary minus)."""
    if isinstance(node, Literal):
        return True, node.value
    if isinstance(node, Unary) and node.op in ("-", "+") and isinstance(node.operand, Literal):
        value = node.operand.value
        if type(value) is int or type(value) is float:
            return True, -value if node.op == "-" else value
    return False, None


def compile_expr(node: Expr) -> Compiled:
    """A closure that evaluates ``node``; the common paths skip the generic dispatch.

    Renders happen far more often than parses (every string setting of every node), so a
    template's hot paths (a name, ``a.b.c`` on dicts, a literal index, same-type operators) are
    turned into closures once. Each fast path falls back to the generic code, from the start of
    the expression, as soon as a value is not the plain case, so results and errors are the same.
    """
    if isinstance(node, Name):
        name_node, name_key = node, node.name

        def name(ctx: Context) -> Any:
            try:
                return ctx.variables[name_key]
            except KeyError:
                return _lookup(name_node, ctx)

        return name
    is_constant, value = _constant(node)
    if is_constant:
        return lambda ctx: value
    if isinstance(node, Attr):
        return _compile_attr(node)
    if isinstance(node, Hier):
        resolve = compile_hier(node.ref)
        return lambda ctx: resolve(ctx.results, ctx.template)
    if isinstance(node, Item):
        return _compile_item(node)
    if isinstance(node, Binary):
        return _compile_binary(node)
    if isinstance(node, Logic):
        return _compile_logic(node)
    generic = node
    return lambda ctx: eval_expr(generic, ctx)


def _compile_attr(node: Attr) -> Compiled:
    inner = compile_expr(node.obj)
    attr_node, key = node, node.name

    def attr(ctx: Context) -> Any:
        obj = inner(ctx)
        if type(obj) is dict and key in obj and key[0] != "_":
            return obj[key]
        return get_attr(obj, key, ctx.template, attr_node.pos, lambda: describe_path(attr_node.obj))

    dict_path = _dict_path(node)
    if dict_path is None:
        return attr
    root, keys = dict_path[0].name, dict_path[1]

    def path(ctx: Context) -> Any:  # name.a.b over dicts: one loop, no nested calls
        try:
            obj = ctx.variables[root]
        except KeyError:
            return attr(ctx)
        for k in keys:
            if type(obj) is dict and k in obj:
                obj = obj[k]
            else:
                return attr(ctx)
        return obj

    return path


def _compile_item(node: Item) -> Compiled:
    obj_fn, item_node = compile_expr(node.obj), node
    is_constant, key = _constant(node.index)
    if is_constant:

        def literal_item(ctx: Context) -> Any:
            obj = obj_fn(ctx)
            if type(obj) is list and type(key) is int and -len(obj) <= key < len(obj):
                return obj[key]
            if type(obj) is dict and type(key) is str and key in obj:
                return obj[key]
            return get_item(obj, key, ctx.template, item_node.pos, lambda: describe_path(item_node.obj))

        return literal_item
    key_fn = compile_expr(node.index)

    def item(ctx: Context) -> Any:
        obj, key = obj_fn(ctx), key_fn(ctx)
        if type(obj) is list and type(key) is int and -len(obj) <= key < len(obj):
            return obj[key]
        return get_item(obj, key, ctx.template, item_node.pos, lambda: describe_path(item_node.obj))

    return item


def _compile_binary(node: Binary) -> Compiled:
    left_fn, right_fn, bin_node, op = compile_expr(node.left), compile_expr(node.right), node, node.op
    fast_types = frozenset(t for t, ops in _FAST_OPS.items() if op in ops)
    fast = _ARITH[op] if fast_types else None

    def binary(ctx: Context) -> Any:
        left, right = left_fn(ctx), right_fn(ctx)
        if fast is not None and type(left) in fast_types and type(left) is type(right):
            return fast(left, right)  # same plain type: nothing can go wrong or grow
        return _apply(bin_node, left, right, ctx)

    return binary


def _compile_logic(node: Logic) -> Compiled:
    if node.op == "??":
        if isinstance(node.left, Name):
            name, right_fn = node.left.name, compile_expr(node.right)

            def coalesce_name(ctx: Context) -> Any:
                value = ctx.variables.get(name)
                return right_fn(ctx) if value is None else value

            return coalesce_name
        generic = node
        return lambda ctx: _logic(generic, ctx)
    a_fn, b_fn = compile_expr(node.left), compile_expr(node.right)
    if node.op == "||":
        return lambda ctx: a_fn(ctx) or b_fn(ctx)
    return lambda ctx: a_fn(ctx) and b_fn(ctx)
