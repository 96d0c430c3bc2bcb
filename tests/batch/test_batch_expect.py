"""`expect` checks evaluated against results, and the percentile used by the summary."""

from __future__ import annotations

import pytest

from dad_studio.batch import ExpectError, parse_expect, percentile
from dad_studio.batch.expect import RunOutcome, evaluate_expectation

RESULTS = {
    "demo.a": {"status": "completed", "outcome": {"value": "hello world", "items": [1, 2], "flag": True}},
    "demo.b": {"status": "failed", "outcome": None, "error": {"message": "boom"}},
    "demo.c": {"status": "skipped", "reason": "dead edge"},
}


def _run(
    checks: list[dict[str, object]], status: str = "completed", expect_status: str = "completed"
) -> list[tuple[bool, str | None]]:
    expectation = parse_expect({"status": expect_status, "checks": checks})
    outcome = RunOutcome(status, "demo", {"limit": 5}, dict(RESULTS), ["demo.a", "demo.b", "demo.c", "demo.d"])
    passed, results = evaluate_expectation(expectation, outcome)
    assert passed is all(r.passed for r in results)
    return [(r.passed, r.message) for r in results[1:]]


def test_batch_expect_operators() -> None:
    got = _run(
        [
            {"path": "demo.a.outcome.value", "equals": "hello world"},
            {"path": "a.outcome.value", "contains": "lo w"},
            {"path": "demo.a.outcome.items", "contains": 2},
            {"path": "demo.a.outcome.value", "matches": "^hel+o"},
            {"path": "demo.b", "status": "failed"},
            {"path": "demo.c", "status": "skipped"},
            {"path": "demo.a.outcome.flag", "equals": True},
            {"condition": "$expr{$hier{a}.outcome.items[1] < limit}"},
        ]
    )
    assert got == [(True, None)] * 8


def test_batch_expect_failures_say_why() -> None:
    got = _run(
        [
            {"path": "demo.a.outcome.value", "equals": "bye"},
            {"path": "demo.a.outcome.flag", "equals": 1},  # JSON equality: true is not 1
            {"path": "demo.a.outcome.value", "matches": "^world"},
            {"path": "demo.a.outcome.missing", "equals": 1},
            {"path": "demo.d.outcome", "equals": 1},
            {"condition": "$expr{limit + 1}"},
            {"condition": "$expr{limit > 9}"},
        ]
    )
    assert [ok for ok, _ in got] == [False] * 7
    assert got[0][1] == "got 'hello world'" and got[1][1] == "got True"
    assert "missing" in (got[3][1] or "") and "not run" in (got[4][1] or "")
    assert got[5][1] == "condition gave 6, not true or false" and got[6][1] == "condition is false"


def test_batch_expect_run_status() -> None:
    assert evaluate_expectation(parse_expect(None), RunOutcome("failed", "demo", {}))[0] is False
    assert evaluate_expectation(parse_expect({"status": "failed"}), RunOutcome("failed", "demo", {}))[0] is True
    assert evaluate_expectation(parse_expect({"status": "any"}), RunOutcome("cancelled", "demo", {}))[0] is True
    assert evaluate_expectation(parse_expect([]), RunOutcome("completed", "demo", {}))[0] is True


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("yes", "must be an object"),
        ({"checks": [{"path": "a"}]}, "0 operators"),
        ({"checks": [{"condition": "$expr{1 +}"}]}, "condition"),
        ({"checks": [{"path": "a b", "equals": 1}]}, "not a hierarchy path"),
        ({"checks": [{"path": "a", "status": "done"}]}, "status must be one of"),
        ({"checks": [{"condition": "$expr{true}", "path": "a"}]}, "takes no path"),
        ({"extra": 1}, "unknown key"),
    ],
)
def test_batch_expect_shape_errors(raw: object, message: str) -> None:
    with pytest.raises(ExpectError, match=message):
        parse_expect(raw)


def test_batch_percentile_linear_interpolation() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 50) == 25.0
    assert percentile(values, 90) == pytest.approx(37.0)
    assert percentile(values, 0) == 10.0 and percentile(values, 100) == 40.0
    assert percentile([7.0], 99) == 7.0 and percentile([], 50) is None
