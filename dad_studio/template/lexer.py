"""Brace matching and the tokenizer of the expression language.

Both are string-literal aware: a quote opens a literal that runs to the matching unescaped quote,
and braces inside it do not count. That is what lets ``$expr{'a}b' + "c"}`` and
``$expr{py: {'a': 1}['a']}`` work, where the reference implementation stopped at the first ``}``.
"""

from __future__ import annotations

import re

from .errors import TemplateError

__all__ = ["Token", "find_close", "tokenize"]

Token = tuple[str, object, int]  # (kind, value, absolute position); kinds: num str name op hier end

_OPERATORS = (
    "??",
    "||",
    "&&",
    "==",
    "!=",
    "<=",
    ">=",
    "//",
    "<",
    ">",
    "+",
    "-",
    "*",
    "/",
    "%",
    "!",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
)
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", "'": "'", '"': '"', "/": "/"}
_MAX_NUMBER_DIGITS = 400


def skip_string(template: str, i: int, end: int) -> int:
    """Return the index just after the string literal whose quote is at ``i``."""
    quote = template[i]
    j = i + 1
    while j < end:
        c = template[j]
        if c == "\\":
            j += 2
            continue
        if c == quote:
            return j + 1
        j += 1
    raise TemplateError("unterminated string literal", template, i)


def find_close(template: str, start: int, form_pos: int, form: str) -> int:
    """Index of the ``}`` that closes the form whose body starts at ``start``."""
    depth = 1
    i = start
    n = len(template)
    while i < n:
        c = template[i]
        if c == "'" or c == '"':
            try:
                i = skip_string(template, i, n)
            except TemplateError as exc:
                raise TemplateError(f"unterminated string literal in {form}{{...}}", template, exc.position) from None
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise TemplateError(f"unclosed {form}{{: no matching '}}'", template, form_pos)


def _read_string(template: str, i: int, end: int) -> tuple[str, int]:
    quote = template[i]
    out: list[str] = []
    j = i + 1
    while j < end:
        c = template[j]
        if c == quote:
            return "".join(out), j + 1
        if c == "\\":
            if j + 1 >= end:
                break
            e = template[j + 1]
            if e == "u":
                digits = template[j + 2 : j + 6]
                if len(digits) != 4 or not all(d in "0123456789abcdefABCDEF" for d in digits):
                    raise TemplateError("bad \\u escape: expected 4 hex digits", template, j)
                out.append(chr(int(digits, 16)))
                j += 6
                continue
            if e not in _ESCAPES:
                raise TemplateError(f"unknown escape '\\{e}' in string literal", template, j)
            out.append(_ESCAPES[e])
            j += 2
            continue
        out.append(c)
        j += 1
    raise TemplateError("unterminated string literal", template, i)


def tokenize(template: str, start: int, end: int) -> list[Token]:
    """Tokens of ``template[start:end]``; a nested ``$hier{...}`` becomes one ``hier`` token."""
    tokens: list[Token] = []
    i = start
    while i < end:
        c = template[i]
        if c.isspace():
            i += 1
            continue
        if c == "'" or c == '"':
            text, i2 = _read_string(template, i, end)
            tokens.append(("str", text, i))
            i = i2
            continue
        if "0" <= c <= "9":
            m = _NUMBER.match(template, i, end)
            assert m is not None  # the first character is an ASCII digit
            raw = m.group(0)
            if len(raw) > _MAX_NUMBER_DIGITS:
                raise TemplateError("number literal too long", template, i)
            value: object = float(raw) if (m.group(1) or m.group(2)) else int(raw)
            tokens.append(("num", value, i))
            i = m.end()
            continue
        if c.isalpha() or c == "_":
            m = _NAME.match(template, i, end)
            if m is None:  # a non-ASCII letter
                raise TemplateError(f"unexpected character {c!r}", template, i)
            tokens.append(("name", m.group(0), i))
            i = m.end()
            continue
        if c == "$":
            if template.startswith("$hier{", i):
                close = find_close(template, i + 6, i, "$hier")
                if close >= end:
                    raise TemplateError("unclosed $hier{ inside the expression", template, i)
                tokens.append(("hier", (i + 6, close), i))
                i = close + 1
                continue
            if template.startswith("$var{", i):
                raise TemplateError(
                    "$var{...} cannot be used inside $expr{...}; write the variable name directly",
                    template,
                    i,
                )
            raise TemplateError("unexpected '$' in expression", template, i)
        for op in _OPERATORS:
            if template.startswith(op, i):
                tokens.append(("op", op, i))
                i += len(op)
                break
        else:
            hint = "; did you mean '=='?" if c == "=" else ""
            if c == "&" or c == "|":
                hint = f"; did you mean '{c}{c}'?"
            raise TemplateError(f"unexpected character {c!r} in expression{hint}", template, i)
    tokens.append(("end", None, end))
    return tokens
