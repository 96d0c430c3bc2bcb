"""Every mistake raises a TemplateError that names the problem and its position."""

from __future__ import annotations

import pickle
from collections import ChainMap

import pytest

from dad_studio.template import TemplateError, evaluate, references, render

V = ChainMap(
    {"item": {"a": 1}}, {"language": "en", "folder": "src", "items": [1, 2], "n": 3, "s": "t"}, {"run_id": "r"}
)


@pytest.mark.parametrize(
    ("template", "fragment", "position"),
    [
        ("Hi $var{langauge}", "unknown variable 'langauge'; known: language, ", 8),
        ("$expr{langauge + 1}", "unknown variable 'langauge'", 6),
        ("$var{item.b}", "has no key or attribute 'b'; available: a", 9),
        ("$var{items[2]}", "out of range", 10),
        ("$var{items['x']}", "index must be an integer", 10),
        ("$var{n.x}", "has no key or attribute 'x'", 6),
        ("$var{x", "unclosed $var{", 0),
        ("ab $expr{(1 + 2", "unclosed $expr{", 3),
        ("$expr{'abc}", "unterminated string", 6),
        ("$expr{}", "empty $expr{}", 0),
        ("$var{}", "empty $var{}", 0),
        ("$hier{}", "empty $hier{}", 0),
        ("$var{1 + 2}", "$var{...} takes a variable name or path", 0),
        ("$var{n + 1}", "$var{...} takes a variable name or path", 0),
        ("$expr{1 +}", "expected a value", 9),
        ("$expr{1 2}", "unexpected '2'", 8),
        ("$expr{(1 + 2}", "expected ')'", 12),
        ("$expr{[1, 2}", "expected ',' or ']'", 11),
        ("$expr{n = 1}", "did you mean '=='", 8),
        ("$expr{n & 1}", "did you mean '&&'", 8),
        ("$expr{n | 1}", "did you mean '||'", 8),
        ("$expr{1 < 2 < 3}", "chained comparisons", 12),
        ("$expr{n ^ 2}", "unexpected character '^'", 8),
        ("$expr{'a\\q'}", "unknown escape", 8),
        ("$expr{'\\u12'}", "bad \\u escape", 7),
        ("$expr{$var{n}}", "cannot be used inside $expr", 6),
        ("$expr{n $ 1}", "unexpected '$'", 8),
        ("$expr{a.}", "expected a name after '.'", 8),
        ("$expr{in}", "unexpected keyword 'in'", 6),
        ("$expr{s + 1}", "cannot apply '+' to str and int", 8),
        ("$expr{n + 's'}", "cannot apply '+' to int and str", 8),
        ("$expr{n - items}", "cannot apply '-'", 8),
        ("$expr{s % 2}", "cannot apply '%'", 8),
        ("$expr{n / 0}", "division by zero", 8),
        ("$expr{n // 0}", "division by zero", 8),
        ("$expr{n < 's'}", "cannot apply '<'", 8),
        ("$expr{1 in n}", "cannot apply 'in'", 8),
        ("$expr{-s}", "unary '-' needs a number", 6),
        ("$expr{'a' * 100000000}", "too large", 10),
        ("$expr{items[99] + 1}", "out of range", 11),
        ("$expr{n._x}", "names starting with '_' are not allowed", 7),
        ("$hier{a + b}", "$hier{...} takes an element path", 8),
        ("$hier{a[b]}", "$hier{...} takes an element path", 8),
        (
            "$expr{(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1)))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))}",
            "nested too deeply",
            -2,
        ),
        ("$expr{py: 1 +}", "syntax error in py: expression", -2),
        ("$expr{py: }", "empty py: expression", 0),
        ("$expr{py: nope + 1}", "unknown name 'nope'; known: ", 10),
        ("$expr{py: s + 1}", "TypeError", 10),
        ("$expr{py: 1 / 0}", "ZeroDivisionError", 10),
        ("$expr{py: items[5]}", "IndexError", 10),
        ("$expr{py: int('x')}", "ValueError", 10),
        ("$expr{py: x := 1}", "syntax error", -2),
        ("$expr{py: (x := 1)}", "assignment (:=) is not allowed", 11),
    ],
)
def test_error_cases(template: str, fragment: str, position: int) -> None:
    with pytest.raises(TemplateError) as info:
        render(template, V)
    error = info.value
    assert fragment in error.message
    assert error.template == template
    if position == -2:
        assert 0 <= error.position <= len(template)
    else:
        assert error.position == position
    text = str(error)
    assert error.message in text and f"position {error.position}" in text and "^" in text
    # evaluate raises the same error; references raises for syntax errors only
    with pytest.raises(TemplateError):
        evaluate(template, V)


def test_references_raises_on_syntax_errors_only() -> None:
    assert references("$var{langauge}").variables == {"langauge"}
    with pytest.raises(TemplateError):
        references("$expr{1 +}")
    with pytest.raises(TemplateError):
        references("$expr{py: ().__class__}")


def test_unknown_variable_lists_close_matches_first() -> None:
    many = {f"var{i}": i for i in range(30)} | {"language": 1}
    with pytest.raises(TemplateError) as info:
        render("$var{langauge}", many)
    assert info.value.message.startswith("unknown variable 'langauge'; known: language, ")
    assert info.value.message.endswith(", ...")


def test_str_shows_a_caret_under_the_position() -> None:
    error = TemplateError("boom", "abc $var{x} def", 4)
    lines = str(error).splitlines()
    assert lines[0] == "boom (at position 4)"
    assert lines[2].index("^") == lines[1].index("$")
    assert str(TemplateError("plain")) == "plain"


def test_error_pickles_with_its_attributes() -> None:
    error = pickle.loads(pickle.dumps(TemplateError("m", "t", 1)))
    assert (error.message, error.template, error.position) == ("m", "t", 1)


def test_unrenderable_values_are_errors() -> None:
    loop: dict[str, object] = {}
    loop["self"] = loop
    with pytest.raises(TemplateError, match="cannot turn the value into text"):
        render("$var{loop}", {"loop": loop})
    with pytest.raises(TemplateError, match="cannot turn the value into text"):
        render("$var{big}", {"big": 10**5000})
