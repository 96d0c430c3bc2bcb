"""Fuzz: random text and random expression trees raise nothing but TemplateError, and end."""

from __future__ import annotations

import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dad_studio.template import DictLookup, TemplateError, evaluate, references, render

VARIABLES: dict[str, Any] = {"a": 1, "b": "text", "c": [1, 2, {"k": None}], "d": {"x": 0.5, "y": [True]}, "e": None}
RESULTS = DictLookup({"root.n": {"outcome": {"v": [1, "2"]}}}, "root", defined=("root.later",))
FAST = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

PIECES = st.sampled_from(
    ["$var{", "$expr{", "$hier{", "$$", "py:", "}", "{", "'", '"', "\\", "[", "]", "(", ")", ".", "a", "b", "c",
     "d", "n", "0", "-1", "1.5", " ", "??", "||", "&&", "!", "==", ">=", "<", "+", "*", "//", "%", "in", "not",
     "null", "true", ",", "_", "__class__", "lambda", ":=", "**", "\n", "é"]
)  # fmt: skip


def _call_all(template: str) -> None:
    start = time.monotonic()
    for fn in (
        lambda: render(template, VARIABLES, results=RESULTS),
        lambda: evaluate(template, VARIABLES, results=RESULTS),
        lambda: references(template),
        lambda: render(template, VARIABLES, allow_python=False),
    ):
        try:
            fn()
        except TemplateError as exc:
            assert isinstance(exc.message, str) and exc.message
            assert -1 <= exc.position <= len(template)
            str(exc)
    assert time.monotonic() - start < 5


@FAST
@given(st.lists(PIECES, max_size=20).map("".join))
def test_random_token_soup(template: str) -> None:
    _call_all(template)


@settings(max_examples=80, deadline=None, database=None)
@given(st.text(max_size=60))
def test_random_text(template: str) -> None:
    _call_all(template)
    _call_all("$expr{" + template + "}")
    _call_all("$expr{py: " + template + "}")


ATOMS = st.sampled_from(["a", "b", "c", "d", "e", "zz", "0", "2", "-1", "1.5", "'s'", '"}"', "null", "true", "[1, 'x']",
                         "c[0]", "c[-1]", "c[9]", "d.x", "d['y'][0]", "d.nope", "$hier{n.outcome.v}", "$hier{later}",
                         "$hier{n.outcome.v[5]}", "$hier{none}"])  # fmt: skip
BINARY = st.sampled_from(["??", "||", "&&", "or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "+", "-", "*", "/",
                          "//", "%"])  # fmt: skip


def _trees() -> st.SearchStrategy[str]:
    return st.recursive(
        ATOMS,
        lambda inner: st.one_of(
            st.tuples(inner, BINARY, inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
            st.tuples(inner, BINARY, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            inner.map(lambda s: f"!{s}"),
            inner.map(lambda s: f"-({s})"),
            inner.map(lambda s: f"[{s}]"),
        ),
        max_leaves=12,
    )


@FAST
@given(_trees())
def test_random_expression_trees(expr: str) -> None:
    _call_all("$expr{" + expr + "}")
    _call_all("$expr{py: " + expr.replace("&&", " and ").replace("||", " or ").replace("??", " or ") + "}")


@FAST
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                    max_leaves=10))  # fmt: skip
def test_any_json_value_renders(value: Any) -> None:
    text = render("$var{v}", {"v": value})
    assert isinstance(text, str)
    assert evaluate("$expr{v}", {"v": value}) is value
