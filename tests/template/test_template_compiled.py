"""The compiled render path (fast paths) gives exactly what the generic evaluator gives.

The oracle renders a parsed template segment by segment through ``segment_value`` (the generic
``eval_expr`` / ``resolve_hier`` / sandbox) and ``to_text``, on the variables as given (no
ChainMap flattening) and a lookup that has only the three protocol members (no ``find_result``).
Results must be equal; errors must have the same type, message and position.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from dad_studio.template import NOT_RUN, DictLookup, TemplateError, evaluate, has_template, parse, render
from dad_studio.template.compiled import compile_template, flat_variables, segment_value
from dad_studio.template.evaluator import Context
from dad_studio.template.hier import HierLookup
from dad_studio.template.nodes import ExprForm, HierForm, PyForm
from dad_studio.template.values import to_text

FAST = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


class Model(BaseModel):
    name: str
    count: int


class ProtocolOnly:
    """A HierLookup with only the protocol's three members: misses are KeyErrors."""

    def __init__(self, inner: DictLookup) -> None:
        self.inner = inner

    @property
    def current_path(self) -> str:
        return self.inner.current_path

    def get_result(self, path: str) -> Any:
        return self.inner.get_result(path)

    def element_paths(self) -> Iterable[str]:
        return self.inner.element_paths()


def _oracle_render(template: str, variables: Mapping[str, Any], results: HierLookup | None) -> str:
    ctx = Context(template, variables, results, True)
    out: list[str] = []
    for segment in parse(template).segments:
        value = segment_value(segment, ctx)
        try:
            out.append(to_text(value))
        except (TypeError, ValueError, RecursionError) as exc:
            raise TemplateError(f"cannot turn the value into text: {exc}", template, segment.pos) from None  # type: ignore[union-attr]
    return "".join(out)


def _oracle_evaluate(template: str, variables: Mapping[str, Any], results: HierLookup | None) -> Any:
    segments = parse(template).segments
    if len(segments) == 1 and isinstance(segments[0], ExprForm | PyForm | HierForm):
        return segment_value(segments[0], Context(template, variables, results, True))
    return _oracle_render(template, variables, results)


def _outcome(fn: Any) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except TemplateError as exc:
        return type(exc).__name__, (exc.message, exc.position, exc.template)


def _same(template: str, variables: Mapping[str, Any], results: DictLookup | None) -> None:
    slow_results = ProtocolOnly(results) if results is not None else None
    fast = _outcome(lambda: render(template, variables, results=results))
    fast_protocol = _outcome(lambda: render(template, variables, results=slow_results))
    slow = _outcome(lambda: _oracle_render(template, variables, slow_results))
    assert fast == slow, template
    assert fast_protocol == slow, template
    fast_eval = _outcome(lambda: evaluate(template, variables, results=results))
    slow_eval = _outcome(lambda: _oracle_evaluate(template, variables, slow_results))
    assert fast_eval == slow_eval, template


# --- generated variables and path templates ------------------------------------------------------

KEYS = ["a", "b", "name", "count", "_p", "items"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(-2, 2, allow_nan=False), st.sampled_from(["", "x", "é"])
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
        st.builds(Model, name=st.sampled_from(["m", "n"]), count=st.integers(0, 3)),
    ),
    max_leaves=8,
)
accessor = st.one_of(
    st.sampled_from(KEYS).map(lambda k: f".{k}"),
    st.integers(-4, 3).map(lambda i: f"[{i}]"),
    st.sampled_from(KEYS).map(lambda k: f"['{k}']"),
)
path = st.tuples(st.sampled_from(["a", "b", "name", "missing"]), st.lists(accessor, max_size=3)).map(
    lambda t: t[0] + "".join(t[1])
)
hier_path = st.tuples(
    st.sampled_from(["scan", "sub.inner", "root.scan", "inner", "later", "nope", "step", "loop.iter_1.step"]),
    st.lists(accessor, max_size=3),
).map(lambda t: t[0] + "".join(t[1]))
FORMS = st.one_of(
    path.map(lambda p: f"$var{{{p}}}"),
    path.map(lambda p: f"$expr{{{p}}}"),
    path.map(lambda p: f"$expr{{{p} ?? 'dflt'}}"),
    st.tuples(path, st.sampled_from(["+", "-", "*", "==", "!=", "<", ">=", "&&", "||", "in"]), path).map(
        lambda t: f"$expr{{{t[0]} {t[1]} {t[2]}}}"
    ),
    st.tuples(path, st.integers(-3, 3)).map(lambda t: f"$expr{{{t[0]} + {t[1]}}}"),
    hier_path.map(lambda p: f"$hier{{{p}}}"),
    hier_path.map(lambda p: f"$expr{{$hier{{{p}}}}}"),
    st.sampled_from(["text ", "$$var{a}", "\n", "$", "{}"]),
)
templates = st.lists(FORMS, min_size=1, max_size=4).map("".join)
variables_st = st.dictionaries(st.sampled_from(["a", "b", "name", "_p"]), values, max_size=4)

RESULTS = {
    "root.scan": {"outcome": {"a": [1, 2], "name": "scan"}, "status": "completed"},
    "root.sub.inner": Model(name="inner", count=2),
    "root.loop.iter_1.step": {"outcome": "one"},
    "root.loop.iter_2.step": {"outcome": "two"},
    "root.x.inner": {"outcome": 1},
}


@FAST
@given(templates, variables_st, st.sampled_from(["root", "root.loop.iter_2", "root.sub"]))
def test_fast_paths_equal_the_generic_evaluator(template: str, variables: dict[str, Any], current: str) -> None:
    _same(template, variables, DictLookup(RESULTS, current, defined=("root.later",)))


@settings(FAST, max_examples=150)
@given(templates, variables_st, variables_st)
def test_flattened_chainmap_equals_the_chainmap(template: str, inner: dict[str, Any], outer: dict[str, Any]) -> None:
    builtins = {"run_id": "r1", "a": "shadowed"}
    chained = ChainMap(inner, outer, builtins)
    # Three reads of the template make render flatten the ChainMap; the oracle reads it as is.
    _same(template + "$var{run_id}$var{run_id}$var{run_id}", chained, None)


@FAST
@given(st.text(alphabet="ab ${}.$varexhi", max_size=30))
def test_plain_strings_render_as_themselves(text: str) -> None:
    if not has_template(text):
        assert render(text, {}) == text
        assert evaluate(text, {}) == text


# --- targeted cases ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "$var{items[-1]}",
        "$var{items[-4]}",
        "$expr{-2}",
        "$expr{- -1}",
        "$expr{-true}",
        "$expr{-'s'}",
        "$expr{+1.5}",
        "$var{d['k']}",
        "$var{d['_k']}",
        "$var{d._k}",
        "$var{d.k.deeper}",
        "$var{d.missing}",
        "$expr{s + s}",
        "$expr{s * 3}",
        "$expr{s < 'b'}",
        "$expr{n + 1.5}",
        "$expr{n * n}",
        "$expr{missing ?? n}",
        "$expr{d.missing ?? n}",
        "$expr{missing}",
        "$hier{scan.outcome.a[5]}",
        "$hier{scan.outcome.a[0].x}",
        "$hier{scan._hidden}",
        "$hier{inner}",
        "$hier{later}",
        "$hier{nope.outcome}",
        "$hier{sub.inner.count}",
        "$expr{$hier{scan}.outcome.a[-1] > 1}",
    ],
)
def test_targeted_fast_path_cases(template: str) -> None:
    variables = {"items": [1, 2, 3], "d": {"k": {"deeper": 1}, "_k": 2}, "s": "a", "n": 3}
    _same(template, variables, DictLookup(RESULTS, "root", defined=("root.later",)))


def test_find_result_matches_get_result() -> None:
    lookup = DictLookup(RESULTS, "root", defined=("root.later",))
    missing = object()
    assert lookup.find_result("root.later", missing) is NOT_RUN
    assert lookup.find_result("root.none", missing) is missing
    assert lookup.find_result("root.scan", missing) is RESULTS["root.scan"]


class CountingMap(MutableMapping[str, Any]):
    """A map that records which keys were read: a ChainMap holding one must not be flattened."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.reads: list[str] = []

    def __getitem__(self, key: str) -> Any:
        self.reads.append(key)
        return self.data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def test_chainmap_with_other_maps_is_read_lazily() -> None:
    lazy = CountingMap({"a": 1, "b": 2, "c": 3, "unused": 4})
    variables: ChainMap[str, Any] = ChainMap({"x": "y"}, lazy)
    assert render("$var{a}$var{b}$var{c}$var{x}", variables) == "123y"
    assert "unused" not in lazy.reads
    assert flat_variables(variables, 10) is variables


def test_chainmap_of_dicts_is_flattened_first_map_wins() -> None:
    variables = ChainMap({"a": 1}, {"a": 2, "b": 3})
    assert flat_variables(variables, 10) == {"a": 1, "b": 3}
    assert flat_variables(variables, 1) is variables  # too few reads to gain
    with pytest.raises(TemplateError, match="unknown variable 'c'; known: a, b"):
        render("$var{a}$var{b}$var{c}", variables)


def test_compiled_form_is_cached_and_plain_text_is_returned_as_is() -> None:
    text = "no forms here, only $ and {braces} and an escape $$var{x}"
    assert compile_template(text) is compile_template(text)
    assert compile_template(text).plain == "no forms here, only $ and {braces} and an escape $var{x}"
    assert render(text, {}) == compile_template(text).plain
    assert compile_template("$var{a}").typed is None  # $var renders as text, it is not typed
    assert evaluate("$expr{[1, 2]}", {}) == [1, 2]


@settings(max_examples=400, deadline=None, database=None)
@given(
    st.lists(st.sampled_from(["$", "$$", "var{", "expr{", "hier{", "$var", "{", "x", " ", "$5 "]), max_size=40).map(
        "".join
    )
)
def test_has_template_is_any_form_in_the_text(text: str) -> None:
    # Many "$" on purpose: past the first few, has_template switches from checking each "$" to searching.
    assert has_template(text) == any(form in text for form in ("$var{", "$expr{", "$hier{"))
