"""ExecutionContext.find_result mirrors get_result without KeyError; dad_studio.template uses it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from dad_studio.engine.context import ExecutionContext
from dad_studio.template import render
from dad_studio.template.hier import NOT_RUN


def _execution_with(results: dict[str, Any], known: set[str]) -> ExecutionContext:
    execution = object.__new__(ExecutionContext)
    execution.run = SimpleNamespace(results=results, known=known)  # type: ignore[assignment]
    execution.path = "f.c"
    return execution


def test_find_result_is_get_result_without_key_error() -> None:
    execution = _execution_with({"f.a": {"outcome": 1}}, {"f.a", "f.b"})
    missing = object()
    assert execution.find_result("f.a", missing) == execution.get_result("f.a") == {"outcome": 1}
    assert execution.find_result("f.b", missing) is execution.get_result("f.b") is NOT_RUN
    assert execution.find_result("f.zz", missing) is missing
    with pytest.raises(KeyError):
        execution.get_result("f.zz")


def test_hier_render_through_find_result(monkeypatch: pytest.MonkeyPatch) -> None:
    execution = _execution_with({"f.scan": {"outcome": {"tree": "T"}}}, {"f.scan"})

    def no_get(self: ExecutionContext, path: str) -> Any:
        raise AssertionError(f"get_result({path!r}) called: find_result was not used")

    monkeypatch.setattr(ExecutionContext, "get_result", no_get)
    assert render("$hier{scan.outcome.tree}", {}, results=execution) == "T"
