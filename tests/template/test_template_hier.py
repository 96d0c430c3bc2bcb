"""``$hier{}`` forms: bare id, id plus path, partial and absolute paths, loops, errors."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from dad_studio.template import NOT_RUN, DictLookup, HierLookup, TemplateError, evaluate, hier_element, render


class Outcome(BaseModel):
    tree: str
    total_files: int


class NodeResult(BaseModel):
    status: str
    output: dict[str, Any] | None = None
    outcome: Outcome | None = None
    error: str | None = None


SCAN = NodeResult(status="completed", outcome=Outcome(tree="src/\n  a.py", total_files=120))
RESULTS: dict[str, Any] = {
    "root.scan": SCAN,
    "root.focus": {"outcome": {"topic": "tests"}},
    "root.sub.inner": {"outcome": {"text": "inner text", "rows": [{"k": 1}, {"k": 2}]}},
    "root.loop": {"outcome": {"count": 3}},
    "root.loop.iter_0.step": {"outcome": "step 0"},
    "root.loop.iter_1.step": {"outcome": "step 1"},
    "root.loop.iter_2.step": {"outcome": "step 2"},
}


def lookup(current: str = "root", defined: tuple[str, ...] = ()) -> DictLookup:
    return DictLookup(RESULTS, current, defined)


def test_dict_lookup_satisfies_the_protocol() -> None:
    assert isinstance(lookup(), HierLookup)
    assert lookup(defined=("root.later",)).get_result("root.later") is NOT_RUN
    with pytest.raises(KeyError):
        lookup().get_result("root.none")


def test_bare_id_returns_the_node_result() -> None:
    assert evaluate("$hier{scan}", {}, results=lookup()) is SCAN


def test_id_plus_path_into_the_result() -> None:
    assert render("$hier{scan.outcome.tree}", {}, results=lookup()) == "src/\n  a.py"
    assert evaluate("$hier{scan.outcome.total_files}", {}, results=lookup()) == 120
    assert evaluate("$hier{scan.status}", {}, results=lookup()) == "completed"
    assert evaluate("$hier{sub.inner.outcome.rows[-1]['k']}", {}, results=lookup()) == 2
    assert evaluate("$hier{sub.inner.outcome['rows'][0].k}", {}, results=lookup()) == 1


def test_enclosing_components_outward() -> None:
    inner = lookup("root.sub")
    assert render("$hier{inner.outcome.text}", {}, results=inner) == "inner text"
    assert render("$hier{focus.outcome.topic}", {}, results=inner) == "tests"


def test_partial_and_absolute_paths() -> None:
    assert render("$hier{sub.inner.outcome.text}", {}, results=lookup()) == "inner text"
    assert render("$hier{root.sub.inner.outcome.text}", {}, results=lookup("root.loop.iter_1")) == "inner text"
    # a partial path that does not start in an enclosing component, matched by its unique suffix
    assert render("$hier{inner.outcome.text}", {}, results=lookup()) == "inner text"


def test_inside_a_loop_iteration() -> None:
    it2 = lookup("root.loop.iter_2")
    assert render("$hier{step.outcome}", {}, results=it2) == "step 2"
    assert render("$hier{loop.iter_0.step.outcome}", {}, results=it2) == "step 0"
    assert evaluate("$hier{loop.outcome.count}", {}, results=it2) == 3


def test_longest_prefix_wins() -> None:
    results = {"root.a": {"b": "path into a"}, "root.a.b": "element a.b"}
    assert render("$hier{a.b}", {}, results=DictLookup(results, "root")) == "element a.b"


def test_hier_inside_expressions() -> None:
    assert evaluate("$expr{$hier{scan}.outcome.total_files > 100}", {}, results=lookup()) is True
    assert evaluate("$expr{$hier{later.outcome} ?? 'not yet'}", {}, results=lookup(defined=("root.later",))) == (
        "not yet"
    )
    assert evaluate("$expr{py: $hier{scan}.outcome.total_files + 1}", {}, results=lookup()) == 121


@pytest.mark.parametrize(
    ("template", "current", "fragment"),
    [
        ("$hier{scna}", "root", "unknown element 'scna'"),
        ("$hier{scna}", "root", "known: scan"),
        ("$hier{step}", "root", "ambiguous element 'step'"),
        ("$hier{step}", "root", "root.loop.iter_0.step, root.loop.iter_1.step"),
        ("$hier{later}", "root", "has not run yet"),
        ("$hier{scan.outcome.tre}", "root", "has no key or attribute 'tre'; available: tree"),
        ("$hier{scan.outcome.tree['k']}", "root", "index must be an integer"),
        ("$hier{scan.outcome.tree[0][1]}", "root", "out of range"),
        ("$hier{sub.inner.outcome.rows[5]}", "root", "out of range"),
        ("$expr{$hier{nope} + 1}", "root", "unknown element 'nope'"),
        ("$hier{scan._private}", "root", "not allowed"),
    ],
)
def test_hier_errors_name_what_exists(template: str, current: str, fragment: str) -> None:
    with pytest.raises(TemplateError) as info:
        render(template, {}, results=lookup(current, defined=("root.later",)))
    assert fragment in info.value.message
    assert info.value.position >= 0


def test_hier_without_results_is_an_error() -> None:
    with pytest.raises(TemplateError, match="needs element results"):
        render("x $hier{scan}", {})


def test_hier_element_for_validators() -> None:
    paths = ["repo.scan", "repo.sub.inner", "repo.loop.iter_0.step"]
    assert hier_element("scan.outcome.tree", "repo", paths) == "repo.scan"
    assert hier_element("sub.inner.outcome", "repo", paths) == "repo.sub.inner"
    assert hier_element("repo.sub.inner", "repo.sub", paths) == "repo.sub.inner"
    with pytest.raises(TemplateError, match="unknown element"):
        hier_element("nothing", "repo", paths)
