"""UsageAggregator: usage by node, by every enclosing component, and for the run."""

from __future__ import annotations

from typing import Any

import pytest

from dad_studio.model.results import Usage
from dad_studio.observability import UsageAggregator
from dad_studio.observability.usage import ancestors


def usage(p: int, c: int, cost: float) -> dict[str, Any]:
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c, "cost": cost}


def test_ancestors_nearest_first() -> None:
    assert ancestors("root.loop.iter_2.body") == ["root.loop.iter_2", "root.loop", "root"]
    assert ancestors("root") == []


def test_sums_by_node_component_and_run(stream: Any) -> None:
    stream.node("root.a", usage=usage(10, 5, 0.1))
    stream.node("root.loop.iter_0.ask", usage=usage(1, 2, 0.01))
    stream.node("root.loop.iter_1.ask", usage=usage(3, 4, 0.02))
    stream.node("root.sub.x", usage=None)
    agg = UsageAggregator().feed(stream.events)
    assert agg.by_node == {
        "root.a": Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15, cost=0.1),
        "root.loop.iter_0.ask": Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3, cost=0.01),
        "root.loop.iter_1.ask": Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7, cost=0.02),
    }
    components = agg.by_component
    assert components["root.loop"] == Usage(prompt_tokens=4, completion_tokens=6, total_tokens=10, cost=0.03)
    assert components["root.loop.iter_1"].total_tokens == 7
    assert components["root"] == agg.total == Usage(prompt_tokens=14, completion_tokens=11, total_tokens=25, cost=0.13)
    assert "root.sub" not in components
    assert agg.for_path("root.sub") == Usage()
    assert agg.for_path("root.a").cost == 0.1


def test_loaded_usage_is_kept_apart_unless_asked(stream: Any) -> None:
    stream.node("root.b", usage=usage(1, 1, 1.0))
    stream.emit(
        "node_loaded",
        "root.a",
        node_type="ai_model",
        status="completed",
        input=None,
        output=None,
        outcome=None,
        error=None,
        usage=usage(100, 100, 9.0),
        started_at=None,
        ended_at=None,
        duration_ms=1.0,
    )
    fresh = UsageAggregator().feed(stream.events)
    assert fresh.total.total_tokens == 2
    assert fresh.loaded["root.a"].total_tokens == 200
    assert UsageAggregator(count_loaded=True).feed(stream.events).total.total_tokens == 202


def test_last_report_of_a_node_wins_and_bad_usage_is_an_error(stream: Any) -> None:
    stream.node("root.a", usage=usage(1, 1, 0.0))
    stream.node("root.a", usage=usage(2, 2, 0.0))
    assert UsageAggregator().feed(stream.events).total.total_tokens == 4
    with pytest.raises(TypeError):
        UsageAggregator().on_event({"type": "node_completed", "path": "root.x", "usage": 5})
