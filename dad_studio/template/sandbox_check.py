"""Static checks of ``py:`` expressions, done once at parse time.

The interpreter in :mod:`.sandbox` only knows the node types listed here, so anything else
(walrus, await, yield, f-string tricks with unknown nodes) is refused before it can run. Names,
attributes and keyword names that start with ``_`` are refused here too: every classic escape
(``().__class__.__bases__[0].__subclasses__()``, ``f.__globals__``, ``__builtins__``,
``__import__``) needs one. The runtime checks in :mod:`.sandbox` are the second line.
"""

from __future__ import annotations

import ast

from .errors import TemplateError

__all__ = ["DENIED_ATTRIBUTES", "SAFE_BUILTIN_NAMES", "check_python", "node_position"]

SAFE_BUILTIN_NAMES = frozenset(
    {
        "len", "str", "int", "float", "bool", "list", "dict", "set", "tuple", "sum", "min", "max",
        "abs", "round", "sorted", "reversed", "enumerate", "zip", "range", "any", "all", "map",
        "filter", "isinstance",
    }
)  # fmt: skip

# Attributes that lead out of the data world even without a leading underscore.
DENIED_ATTRIBUTES = frozenset(
    {
        "format", "format_map", "mro", "gi_frame", "gi_code", "gi_yieldfrom", "gi_running",
        "cr_frame", "cr_code", "cr_await", "ag_frame", "ag_code", "ag_await", "f_back",
        "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next", "co_code",
        "co_consts", "func_globals", "func_code", "im_func", "im_self", "im_class",
    }
)  # fmt: skip

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Store, ast.Attribute, ast.Subscript,
    ast.Slice, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.List, ast.Tuple,
    ast.Set, ast.Dict, ast.Call, ast.keyword, ast.Starred, ast.Lambda, ast.arguments, ast.arg,
    ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension, ast.JoinedStr,
    ast.FormattedValue, ast.operator, ast.unaryop, ast.boolop, ast.cmpop, ast.expr_context,
)  # fmt: skip
_REFUSED_OPERATORS = (ast.MatMult,)


def node_position(node: ast.AST, source: str, offset: int) -> int:
    """Absolute template offset of an AST node of ``source`` (which starts at ``offset``)."""
    lineno = getattr(node, "lineno", 1)
    col = getattr(node, "col_offset", 0)
    line_start = 0
    for _ in range(lineno - 1):
        nxt = source.find("\n", line_start)
        if nxt < 0:
            break
        line_start = nxt + 1
    # col_offset counts UTF-8 bytes; convert to characters on that line.
    line = source[line_start:].split("\n", 1)[0]
    chars = len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))
    return offset + line_start + chars


def check_python(
    source: str, template: str, offset: int, placeholders: frozenset[str]
) -> tuple[ast.Expression, frozenset[str]]:
    """Parse and check one ``py:`` expression; return the tree and its free variable names."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        pos = offset
        if exc.lineno is not None and exc.offset is not None:
            fake = ast.Name(id="", ctx=ast.Load(), lineno=exc.lineno, col_offset=max(exc.offset - 1, 0))
            pos = node_position(fake, source, offset)
        raise TemplateError(f"syntax error in py: expression: {exc.msg}", template, pos) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise TemplateError(f"py: expression cannot be parsed: {exc}", template, offset) from None

    used: set[str] = set()
    bound: set[str] = set()

    def refuse(node: ast.AST, message: str) -> TemplateError:
        return TemplateError(message, template, node_position(node, source, offset))

    for node in ast.walk(tree):
        if isinstance(node, ast.NamedExpr):
            raise refuse(node, "assignment (:=) is not allowed in py: expressions")
        if not isinstance(node, _ALLOWED_NODES) or isinstance(node, _REFUSED_OPERATORS):
            raise refuse(node, f"{type(node).__name__} is not allowed in py: expressions")
        if isinstance(node, ast.Name):
            if node.id.startswith("_") and node.id not in placeholders:
                raise refuse(node, f"name '{node.id}' is not allowed: names may not start with '_'")
            if isinstance(node.ctx, ast.Store):
                bound.add(node.id)
            elif node.id not in placeholders:
                used.add(node.id)
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                raise refuse(node, f"attribute '{node.attr}' is not allowed: attributes may not start with '_'")
            if node.attr in DENIED_ATTRIBUTES:
                raise refuse(node, f"attribute '{node.attr}' is not allowed in py: expressions")
        elif isinstance(node, ast.keyword):
            if node.arg is not None and node.arg.startswith("_"):
                raise refuse(node, f"keyword '{node.arg}' is not allowed: names may not start with '_'")
        elif isinstance(node, ast.arg):
            if node.arg.startswith("_"):
                raise refuse(node, f"parameter '{node.arg}' is not allowed: names may not start with '_'")
            bound.add(node.arg)
        elif isinstance(node, ast.arguments):
            if node.vararg or node.kwarg or node.kwonlyargs or node.posonlyargs:
                raise refuse(node, "lambda takes plain positional parameters only")
        elif isinstance(node, ast.comprehension):
            if node.is_async:
                raise refuse(node, "async comprehensions are not allowed")
            if not isinstance(node.target, ast.Name | ast.Tuple):
                raise refuse(node, "comprehension targets must be names")
        elif isinstance(node, ast.Constant) and node.value is Ellipsis:
            raise refuse(node, "'...' is not allowed in py: expressions")
    free = frozenset(used - bound - SAFE_BUILTIN_NAMES)
    return tree, free
