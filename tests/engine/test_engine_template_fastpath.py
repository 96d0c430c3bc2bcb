"""Template hot path: EngineNodeContext renders plain strings (no template form) without a variable scope."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from dad_studio.engine.node_context import EngineNodeContext


class _Execution:
    """Just what EngineNodeContext.render touches; counts the variable scopes it builds."""

    def __init__(self) -> None:
        self.path = "f"
        self.scopes = 0
        self.run = SimpleNamespace(run_context=SimpleNamespace(trusted=False))

    def node_variables(self, node_id: str) -> dict[str, Any]:
        self.scopes += 1
        return {"x": "X"}


def _ctx() -> tuple[EngineNodeContext, _Execution]:
    execution = _Execution()
    return EngineNodeContext(execution, "a", "noop", 1, None), execution  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["plain", "costs $5", "echo $HOME and $PATH", "$$ not a form"])
def test_plain_strings_are_returned_without_a_scope(text: str) -> None:
    ctx, execution = _ctx()
    assert ctx.render(text) is text
    assert ctx.evaluate(text) is text
    assert ctx.render_value({"k": [text]}) == {"k": [text]}
    assert execution.scopes == 0


def test_templates_still_render() -> None:
    ctx, execution = _ctx()
    assert ctx.render("costs $5 for $var{x}") == "costs $5 for X"
    assert ctx.render_value({"k": ["$var{x}"]}) == {"k": ["X"]}
    assert execution.scopes == 1  # built once per attempt, then kept
