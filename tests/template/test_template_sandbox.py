"""Known Python sandbox escapes and resource bombs: all end in a TemplateError, quickly."""

from __future__ import annotations

import time
from typing import Any

import pytest

from dad_studio.template import TemplateError, evaluate, references, render

V: dict[str, Any] = {"data": {"count": 2}, "text": "abc", "items": [1, 2, 3]}

ESCAPES = [
    "().__class__",
    "().__class__.__bases__[0]",
    "().__class__.__bases__[0].__subclasses__()",
    "''.__class__.__mro__[1].__subclasses__()",
    "str.mro()",
    "str.mro",
    "text.__class__",
    "(lambda: 0).__globals__",
    "(lambda: 0).__code__",
    "(lambda f=len: f).__defaults__",
    "(lambda: 0).func_globals",
    "(x for x in items).gi_frame",
    "(x for x in items).gi_frame.f_back.f_globals",
    "[x for x in [(y for y in items)]][0].gi_frame",
    "[g.gi_frame for g in [(y for y in items)]]",
    "'{0.__class__}'.format(1)",
    "'{0.__class__.__mro__}'.format(text)",
    "'{x.__class__}'.format_map({'x': 1})",
    "text.format",
    "type(1)",
    "type(1).__subclasses__(type(1))",
    "getattr(1, '__class__')",
    "setattr(data, 'count', 1)",
    "eval('1')",
    "exec('x = 1')",
    "compile('1', '', 'eval')",
    "__builtins__",
    "__builtins__['eval']('1')",
    "__import__('os').system('true')",
    "__loader__",
    "__spec__",
    "vars()",
    "globals()",
    "locals()",
    "dir()",
    "open('/etc/passwd').read()",
    "breakpoint()",
    "help()",
    "input()",
    "print(1)",
    "memoryview(b'x')",
    "object.__subclasses__()",
    "(y := 1)",
    "[y := 1 for x in items]",
    "(lambda: (z := 1))()",
    "(lambda x=__import__('os'): x)()",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "{k: v for k, v in ().__class__.__dict__.items()}",
    "isinstance(1, type)",
    "isinstance(1, object)",
    "sorted(items, key=type)",
    "map(getattr, items, ['__class__'] * 3)",
    "max(items, key=lambda v: v.__class__)",
    "data.keys().mapping",
    "len.__self__",
    "len.__call__",
    "items.append(4)",
    "items.sort",
    "data.update({'count': 9})",
    "data.setdefault",
    "text.center(10**9)",
    "text.zfill(10**9)",
    "'%s' % text",
    "'%999999999d' % 1",
    "f'{text:>999999999}'",
    "f'{text.__class__}'",
    "(1).real.__class__",
    "range(3).__iter__()",
    "str(data).__class__",
    "_ = 1",
    "import os",
    "lambda: (yield)",
    "[*().__class__.__subclasses__()]",
    "...",
    "b'x'.decode.__self__",
    "(lambda *a: a)(1)",
    "(lambda **k: k)()",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escape_is_refused(source: str) -> None:
    template = "$expr{py: " + source + "}"
    start = time.monotonic()
    with pytest.raises(TemplateError) as info:
        evaluate(template, V)
    assert time.monotonic() - start < 2
    assert info.value.template == template
    assert 0 <= info.value.position <= len(template)


def test_at_least_25_escapes_are_covered() -> None:
    assert len(ESCAPES) >= 25


@pytest.mark.parametrize(
    "source",
    ["().__class__", "__import__('os')", "(y := 1)", "f'{x.__class__}'", "str.mro()", "'{}'.format(1)"],
)
def test_escapes_are_refused_statically_by_references(source: str) -> None:
    # refused at parse time, before anything runs
    with pytest.raises(TemplateError):
        references("$expr{py: " + source + "}")


@pytest.mark.parametrize(
    "source",
    [
        "9**9**9**9",
        "'a' * 10**10",
        "[0] * 10**10",
        "sum(range(10**13))",
        "sum(range(10**7))",
        "sum(i for i in range(10**6) for j in range(10**6))",
        "[[0] * 10**6 for i in range(10**6)]",
        "max(range(10**6)) + len(sorted(range(10**6)))",
        "'x' * 10**6 + 'y' * 10**6 * 10",
        "(lambda f: f(f))(lambda f: f(f))",
        "1 << 10**10",
        "10**100000 * 10**100000",
        "len(('ab' * 5000000).replace('a', 'a' * 1000))",
        "'-'.join(['x' * 10**6] * 10**3)",
        "[1] * 10**6 * 10**6",
        "{i: i for i in range(10**7)}",
        "len(str(list(range(10**6))) * 100)",
    ],
)
def test_resource_bombs_end_in_a_template_error_within_two_seconds(source: str) -> None:
    start = time.monotonic()
    with pytest.raises(TemplateError):
        evaluate("$expr{py: " + source + "}", V)
    assert time.monotonic() - start < 2


def test_python_expressions_cannot_change_the_variables() -> None:
    variables: dict[str, Any] = {"items": [3, 1, 2], "data": {"k": 1}}
    assert evaluate("$expr{py: sorted(items)}", variables) == [1, 2, 3]
    assert variables == {"items": [3, 1, 2], "data": {"k": 1}}


# Shared references: len() sees a few small lists, str()/JSON writes every copy (review finding:
# `len(str([[[0]*1000]*1000]*1000))` ran 139 s and built a 3 GB string before the deep count).
ALIASED_BOMBS = [
    "len(str([[[0]*1000]*1000]*1000))",
    "len(str([[0]*4000]*4000))",
    "len(str({'a': [[0]*4000]*4000}))",
    "len(str((('x' * 10**6,) * 100,)))",
    "len(sorted([[[0]*1000]*1000, [[0]*1000]*1000] * 1000))",
    "max([[[0]*1000]*1000, [[0]*1000]*1000] * 1000)",
    "len(f'{[[0]*4000]*4000}')",
    "len(f'{[[0]*4000]*4000!r}')",
    "[[0]*4000]*4000",
]


@pytest.mark.parametrize("source", ALIASED_BOMBS)
def test_aliased_nested_bombs_are_refused_within_two_seconds(source: str) -> None:
    start = time.monotonic()
    with pytest.raises(TemplateError) as info:
        evaluate("$expr{py: " + source + "}", V)
    assert time.monotonic() - start < 2
    assert "limit 5000000" in info.value.message


def test_aliased_bomb_in_a_rendered_py_form_is_refused_within_two_seconds() -> None:
    start = time.monotonic()
    with pytest.raises(TemplateError, match="limit 5000000"):
        render("x $expr{py: [[0]*4000]*4000}", V)
    assert time.monotonic() - start < 2


def test_value_from_evaluate_rendered_as_text_is_measured_deeply() -> None:
    value = evaluate("$expr{py: [[0]*2000]*2000}", V)  # 4 million items: under the limit
    assert len(value) == 2000
    start = time.monotonic()
    with pytest.raises(TemplateError, match="cannot turn the value into text: too large") as info:
        render("rows: $var{v}", {"v": [value, value]})  # 8 million once written out
    assert time.monotonic() - start < 2
    assert info.value.position == len("rows: ")


def test_shared_parts_under_the_limit_still_convert() -> None:
    assert evaluate("$expr{py: len(str([[0]*100]*100))}", V) == len(str([[0] * 100] * 100))
    assert evaluate("$expr{py: f'{items}'}", V) == "[1, 2, 3]"
    assert render("$var{v}", {"v": [[1, 2]] * 3}) == "[[1, 2], [1, 2], [1, 2]]"
