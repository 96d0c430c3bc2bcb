"""Template scanning and the expression grammar, with a cache of parsed templates.

Precedence, loosest first (TEMPLATES.md): ``??``, ``||``/``or``, ``&&``/``and``, ``!``/``not``,
comparisons and ``in``, ``+ -``, ``* / // %``, unary ``-``, then paths. One recursive-descent
function per level, so ``x > y && m > n`` groups as ``(x > y) && (m > n)``, the bug the
reference implementation has.
"""

from __future__ import annotations

import functools

from .errors import TemplateError
from .lexer import Token, find_close, skip_string, tokenize
from .nodes import (
    Attr,
    Binary,
    Expr,
    ExprForm,
    Hier,
    HierForm,
    HierRef,
    Item,
    ListLit,
    Literal,
    Logic,
    Name,
    Parsed,
    PyForm,
    Segment,
    Text,
    Unary,
    VarForm,
)
from .sandbox_check import check_python

__all__ = ["has_template", "parse", "parse_hier_ref"]

_FORMS = ("$var{", "$expr{", "$hier{")
_KEYWORDS = {"and", "or", "not", "in"}
_CONSTANTS: dict[str, object] = {
    "true": True,
    "false": False,
    "null": None,
    "True": True,
    "False": False,
    "None": None,
}
_COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}
_MAX_DEPTH = 60


_BODIES = ("var{", "expr{", "hier{")
_DOLLARS_CHECKED = 8


def has_template(s: str) -> bool:
    """True if ``s`` contains any template form (escapes included: they render differently).

    Called on every string setting, most of them plain: a string without ``$`` costs one
    C-level scan for the character. The first few ``$`` (a price, a shell ``$HOME``) are checked
    where they stand, because a substring search for each of the three forms over a long text
    costs several times more; past that, the three searches from the last ``$`` checked. O(n).
    """
    if "$" not in s:
        return False
    i = s.find("$")
    for _ in range(_DOLLARS_CHECKED):
        if i < 0:
            return False
        if s.startswith(_BODIES, i + 1):
            return True
        i = s.find("$", i + 1)
    return i >= 0 and (s.find("$var{", i) >= 0 or s.find("$expr{", i) >= 0 or s.find("$hier{", i) >= 0)


class _ExprParser:
    def __init__(self, template: str, tokens: list[Token]) -> None:
        self.t = template
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    # -- token helpers --
    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at_op(self, *ops: str) -> bool:
        kind, value, _ = self.tokens[self.i]
        return (kind == "op" and value in ops) or (kind == "name" and value in ops)

    def error(self, message: str, tok: Token | None = None) -> TemplateError:
        tok = tok or self.peek()
        return TemplateError(message, self.t, tok[2])

    def describe(self, tok: Token) -> str:
        kind, value, _ = tok
        if kind == "end":
            return "end of expression"
        if kind == "hier":
            return "$hier{...}"
        return repr(value) if kind == "str" else f"'{value}'"

    def expect_end(self) -> None:
        tok = self.peek()
        if tok[0] != "end":
            raise self.error(f"unexpected {self.describe(tok)}; expected an operator or the end", tok)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error("expression nested too deeply")

    # -- grammar, loosest first --
    def coalesce(self) -> Expr:
        self.enter()
        left = self.or_()
        if self.at_op("??"):
            tok = self.next()
            left = Logic("??", left, self.coalesce(), tok[2])
        self.depth -= 1
        return left

    def or_(self) -> Expr:
        left = self.and_()
        while self.at_op("||", "or"):
            tok = self.next()
            left = Logic("||", left, self.and_(), tok[2])
        return left

    def and_(self) -> Expr:
        left = self.not_()
        while self.at_op("&&", "and"):
            tok = self.next()
            left = Logic("&&", left, self.not_(), tok[2])
        return left

    def not_(self) -> Expr:
        if self.at_op("!", "not"):
            tok = self.next()
            self.enter()
            operand = self.not_()
            self.depth -= 1
            return Unary("!", operand, tok[2])
        return self.comparison()

    def _comparison_op(self) -> str | None:
        kind, value, _ = self.peek()
        if kind == "op" and value in _COMPARISONS:
            return str(value)
        if kind == "name" and value == "in":
            return "in"
        if kind == "name" and value == "not":
            nxt = self.tokens[self.i + 1]
            if nxt[0] == "name" and nxt[1] == "in":
                return "not in"
        return None

    def comparison(self) -> Expr:
        left = self.additive()
        op = self._comparison_op()
        if op is None:
            return left
        tok = self.next()
        if op == "not in":
            self.next()
        left = Binary(op, left, self.additive(), tok[2])
        if self._comparison_op() is not None:
            raise self.error("chained comparisons are not supported; combine them with &&")
        return left

    def additive(self) -> Expr:
        left = self.multiplicative()
        while self.at_op("+", "-"):
            tok = self.next()
            left = Binary(str(tok[1]), left, self.multiplicative(), tok[2])
        return left

    def multiplicative(self) -> Expr:
        left = self.unary()
        while self.at_op("*", "/", "//", "%"):
            tok = self.next()
            left = Binary(str(tok[1]), left, self.unary(), tok[2])
        return left

    def unary(self) -> Expr:
        if self.at_op("-", "+"):
            tok = self.next()
            self.enter()
            operand = self.unary()
            self.depth -= 1
            return Unary(str(tok[1]), operand, tok[2])
        return self.postfix(self.atom())

    def postfix(self, node: Expr) -> Expr:
        while True:
            if self.at_op("."):
                tok = self.next()
                kind, value, pos = self.next()
                if kind != "name":
                    raise TemplateError("expected a name after '.'", self.t, pos)
                node = Attr(node, str(value), tok[2])
            elif self.at_op("["):
                tok = self.next()
                index = self.coalesce()
                if not self.at_op("]"):
                    raise self.error(f"expected ']', found {self.describe(self.peek())}")
                self.next()
                node = Item(node, index, tok[2])
            else:
                return node

    def atom(self) -> Expr:
        tok = self.next()
        kind, value, pos = tok
        if kind in ("num", "str"):
            return Literal(value, pos)
        if kind == "name":
            name = str(value)
            if name in _CONSTANTS:
                return Literal(_CONSTANTS[name], pos)
            if name in _KEYWORDS:
                raise TemplateError(f"unexpected keyword '{name}'", self.t, pos)
            return Name(name, pos)
        if kind == "hier":
            assert isinstance(value, tuple)
            return Hier(parse_hier_ref(self.t, value[0], value[1], pos), pos)
        if kind == "op" and value == "(":
            self.enter()
            inner = self.coalesce()
            self.depth -= 1
            if not self.at_op(")"):
                raise self.error(f"expected ')', found {self.describe(self.peek())}")
            self.next()
            return inner
        if kind == "op" and value == "[":
            items: list[Expr] = []
            self.enter()
            while not self.at_op("]"):
                items.append(self.coalesce())
                if self.at_op(","):
                    self.next()
                elif not self.at_op("]"):
                    raise self.error(f"expected ',' or ']', found {self.describe(self.peek())}")
            self.next()
            self.depth -= 1
            return ListLit(tuple(items), pos)
        if kind == "end":
            raise TemplateError("expected a value, found the end of the expression", self.t, pos)
        raise TemplateError(f"unexpected {self.describe(tok)}", self.t, pos)


def _parse_expr(template: str, start: int, end: int, form_pos: int) -> Expr:
    tokens = tokenize(template, start, end)
    if tokens[0][0] == "end":
        raise TemplateError("empty $expr{}", template, form_pos)
    parser = _ExprParser(template, tokens)
    expr = parser.coalesce()
    parser.expect_end()
    return expr


def _is_path(expr: Expr) -> bool:
    while isinstance(expr, Attr | Item):
        expr = expr.obj
    return isinstance(expr, Name)


def _parse_var(template: str, start: int, end: int, form_pos: int) -> Expr:
    tokens = tokenize(template, start, end)
    if tokens[0][0] == "end":
        raise TemplateError("empty $var{}", template, form_pos)
    parser = _ExprParser(template, tokens)
    expr = parser.postfix(parser.atom())
    if not _is_path(expr) or parser.peek()[0] != "end":
        raise TemplateError(
            "$var{...} takes a variable name or path (a.b, a[0]); use $expr{...} for expressions",
            template,
            form_pos,
        )
    return expr


def parse_hier_ref(template: str, start: int, end: int, form_pos: int) -> HierRef:
    """Parse the body of ``$hier{...}``: dotted names, then ``.name``, ``[int]`` or ``['key']``."""
    tokens = tokenize(template, start, end)
    text = template[start:end].strip()
    if tokens[0][0] == "end":
        raise TemplateError("empty $hier{}", template, form_pos)
    names: list[str] = []
    accessors: list[tuple[str, object]] = []
    i = 0

    def bad(tok: Token) -> TemplateError:
        return TemplateError(
            "$hier{...} takes an element path with optional .name, [0] or ['key'] accessors",
            template,
            tok[2],
        )

    if tokens[0][0] != "name":
        raise bad(tokens[0])
    names.append(str(tokens[0][1]))
    i = 1
    while tokens[i][0] != "end":
        kind, value, _ = tokens[i]
        if kind == "op" and value == ".":
            nxt = tokens[i + 1]
            if nxt[0] != "name":
                raise bad(nxt)
            if accessors:
                accessors.append(("attr", str(nxt[1])))
            else:
                names.append(str(nxt[1]))
            i += 2
        elif kind == "op" and value == "[":
            sign = 1
            j = i + 1
            if tokens[j][0] == "op" and tokens[j][1] == "-":
                sign, j = -1, j + 1
            key_tok = tokens[j]
            close = tokens[j + 1] if key_tok[0] != "end" else key_tok
            if close[0] != "op" or close[1] != "]":
                raise bad(tokens[i])
            if key_tok[0] == "num" and isinstance(key_tok[1], int):
                accessors.append(("item", sign * key_tok[1]))
            elif key_tok[0] == "str" and sign == 1:
                accessors.append(("item", key_tok[1]))
            else:
                raise bad(key_tok)
            i = j + 2
        else:
            raise bad(tokens[i])
    return HierRef(text, tuple(names), tuple(accessors), form_pos)


def _parse_python(template: str, start: int, end: int, form_pos: int) -> PyForm:
    """Replace nested ``$hier{}`` forms by same-length placeholder names, then check the AST."""
    chars = list(template[start:end])
    hiers: list[tuple[str, HierRef]] = []
    i = start
    while i < end:
        c = template[i]
        if c in "'\"":
            i = skip_string(template, i, end)
            continue
        if template.startswith("$hier{", i):
            close = find_close(template, i + 6, i, "$hier")
            ref = parse_hier_ref(template, i + 6, close, i)
            width = close + 1 - i
            placeholder = f"_h{len(hiers)}".ljust(width, "_")
            chars[i - start : close + 1 - start] = list(placeholder)
            hiers.append((placeholder, ref))
            i = close + 1
            continue
        i += 1
    source = "".join(chars)
    stripped = source.lstrip()
    offset = start + len(source) - len(stripped)
    source = stripped.rstrip()
    if not source:
        raise TemplateError("empty py: expression", template, form_pos)
    tree, free = check_python(source, template, offset, frozenset(p for p, _ in hiers))
    return PyForm(source, tree, tuple(hiers), free, offset, form_pos)


@functools.lru_cache(maxsize=4096)
def parse(template: str) -> Parsed:
    """Parse a template once; the immutable result is cached by the template text."""
    segments: list[Segment] = []
    text: list[str] = []
    i = 0
    n = len(template)
    while i < n:
        dollar = template.find("$", i)
        if dollar < 0:
            text.append(template[i:])
            break
        text.append(template[i:dollar])
        if template.startswith("$$", dollar) and template.startswith(_FORMS, dollar + 1):
            brace = template.index("{", dollar)
            text.append(template[dollar + 1 : brace + 1])
            i = brace + 1
            continue
        if not template.startswith(_FORMS, dollar):
            text.append("$")
            i = dollar + 1
            continue
        brace = template.index("{", dollar)
        form = template[dollar:brace]
        close = find_close(template, brace + 1, dollar, form)
        if "".join(text):
            segments.append(Text("".join(text)))
        text = []
        body_start = brace + 1
        if form == "$var":
            segments.append(VarForm(_parse_var(template, body_start, close, dollar), dollar))
        elif form == "$hier":
            segments.append(HierForm(parse_hier_ref(template, body_start, close, dollar), dollar))
        else:
            body = template[body_start:close]
            lead = len(body) - len(body.lstrip())
            if body.lstrip().startswith("py:"):
                py_start = body_start + lead + 3
                segments.append(_parse_python(template, py_start, close, dollar))
            else:
                segments.append(ExprForm(_parse_expr(template, body_start, close, dollar), dollar))
        i = close + 1
    if "".join(text):
        segments.append(Text("".join(text)))
    return Parsed(template, tuple(segments))
