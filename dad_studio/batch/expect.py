"""Per-row assertions (`expect`): what a row's run must have produced to pass.

Shape (a bare list is read as `checks`)::

    "expect": {
      "status": "completed",                 # the run's status; default "completed", "any" accepts all
      "checks": [
        {"path": "demo.write.outcome.text", "equals": "hello"},     # JSON equality (true is not 1)
        {"path": "demo.write.outcome.text", "contains": "hel"},     # substring, list item or dict key
        {"path": "demo.write.outcome.text", "matches": "^h.*o$"},   # re.search on text
        {"path": "demo.write", "status": "failed"},                 # an element's status
        {"condition": "$expr{$hier{write}.outcome.usage.total_tokens < 500}"},  # must give true/false
        ...                                   # every check may carry a "name" for the table
      ]
    }

`path` is a hierarchy path followed by a path into the element's result, resolved exactly as
`$hier{...}` resolves it (TEMPLATES.md): absolute (`demo.write.outcome.text`) or relative to the root
(`write.outcome.text`). Conditions are templates evaluated with the run's variables and results; the
root component is the current component. A check that cannot be evaluated (a path that does not
exist, an element that did not run, a condition that is not a boolean) fails with the reason: it
never passes by accident and never stops the batch.

A row passes when the run status matches `status` and every check holds; the shape is checked when
the rows file is read, so a malformed check is a rows-file error with its line number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dad_studio.template import DictLookup, TemplateError, evaluate, references

__all__ = ["CheckResult", "ExpectError", "Expectation", "evaluate_expectation", "parse_expect"]

RUN_STATUSES = frozenset({"completed", "failed", "cancelled", "any"})
ELEMENT_STATUSES = frozenset({"completed", "failed", "skipped", "cancelled", "waiting_input", "running", "pending"})
_OPERATORS = ("equals", "contains", "matches", "status")


class ExpectError(ValueError):
    """A malformed `expect` value."""


@dataclass(frozen=True)
class Check:
    """One parsed check: `operator` is one of equals/contains/matches/status/condition."""

    operator: str
    path: str | None
    expected: Any
    name: str

    def to_json(self) -> dict[str, Any]:
        if self.operator == "condition":
            return {"condition": self.expected, "name": self.name}
        return {"path": self.path, self.operator: self.expected, "name": self.name}


@dataclass(frozen=True)
class Expectation:
    status: str = "completed"
    checks: tuple[Check, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "checks": [c.to_json() for c in self.checks]}


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    message: str | None = None
    """Why it failed (the value seen, or the error met); None when it passed."""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "message": self.message}


def _parse_check(index: int, raw: Any) -> Check:
    if not isinstance(raw, dict):
        raise ExpectError(f"check {index} must be an object")
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise ExpectError(f"check {index}: 'name' must be text")
    if "condition" in raw:
        extra = sorted(set(raw) - {"condition", "name"})
        if extra:
            raise ExpectError(f"check {index}: a condition check takes no {', '.join(extra)}")
        condition = raw["condition"]
        if not isinstance(condition, str) or not condition.strip():
            raise ExpectError(f"check {index}: 'condition' must be a template text")
        try:
            references(condition)
        except TemplateError as exc:
            raise ExpectError(f"check {index}: condition: {exc}") from None
        return Check("condition", None, condition, name or condition)
    path = raw.get("path")
    if not isinstance(path, str) or not path:
        raise ExpectError(f"check {index} needs 'path' (with equals/contains/matches/status) or 'condition'")
    ops = [op for op in _OPERATORS if op in raw]
    extra = sorted(set(raw) - {"path", "name", *_OPERATORS})
    if extra or len(ops) != 1:
        what = f"unknown key(s) {', '.join(extra)}" if extra else f"{len(ops)} operators"
        raise ExpectError(f"check {index}: {what}; give exactly one of {', '.join(_OPERATORS)}")
    try:
        references("$hier{" + path + "}")
    except TemplateError as exc:
        raise ExpectError(f"check {index}: path {path!r} is not a hierarchy path ({exc.args[0]})") from None
    op = ops[0]
    expected = raw[op]
    if op == "matches":
        if not isinstance(expected, str):
            raise ExpectError(f"check {index}: 'matches' must be a regular expression text")
        try:
            re.compile(expected)
        except re.error as exc:
            raise ExpectError(f"check {index}: bad regular expression {expected!r}: {exc}") from None
    if op == "status" and expected not in ELEMENT_STATUSES:
        raise ExpectError(f"check {index}: status must be one of {', '.join(sorted(ELEMENT_STATUSES))}")
    return Check(op, path, expected, name or f"{path} {op} {_short(expected)}")


def parse_expect(raw: Any) -> Expectation:
    """The `expect` of a row (None or missing: the run must complete)."""
    if raw is None:
        return Expectation()
    if isinstance(raw, list):
        raw = {"checks": raw}
    if not isinstance(raw, dict):
        raise ExpectError("must be an object {status, checks} or a list of checks")
    extra = sorted(set(raw) - {"status", "checks"})
    if extra:
        raise ExpectError(f"unknown key(s) {', '.join(extra)}; expect has status and checks")
    status = raw.get("status", "completed")
    if status not in RUN_STATUSES:
        raise ExpectError(f"status must be one of {', '.join(sorted(RUN_STATUSES))}, got {status!r}")
    checks = raw.get("checks", [])
    if not isinstance(checks, list):
        raise ExpectError("'checks' must be a list")
    return Expectation(status, tuple(_parse_check(i, c) for i, c in enumerate(checks)))


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON sees it: true is not 1, 1 is 1.0, containers compared item by item."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _contains(value: Any, expected: Any) -> bool:
    if isinstance(value, str):
        return isinstance(expected, str) and expected in value
    if isinstance(value, list | tuple):
        return any(_json_equal(item, expected) for item in value)
    if isinstance(value, dict):
        return isinstance(expected, str) and expected in value
    return False


@dataclass
class RunOutcome:
    """What the checks look at: the run's status, variables and element results by hierarchy path."""

    status: str
    root_id: str
    variables: Mapping[str, Any]
    results: dict[str, Any] = field(default_factory=dict)
    element_paths: Iterable[str] = ()
    allow_python: bool = True


def _check(check: Check, outcome: RunOutcome, lookup: DictLookup) -> CheckResult:
    try:
        if check.operator == "condition":
            value = evaluate(check.expected, outcome.variables, results=lookup, allow_python=outcome.allow_python)
            if not isinstance(value, bool):
                return CheckResult(check.name, False, f"condition gave {_short(value)}, not true or false")
            return CheckResult(check.name, value, None if value else "condition is false")
        assert check.path is not None
        suffix = ".status" if check.operator == "status" else ""
        value = evaluate("$hier{" + check.path + suffix + "}", outcome.variables, results=lookup)
    except TemplateError as exc:
        return CheckResult(check.name, False, exc.args[0] if exc.args else str(exc))
    expected = check.expected
    if check.operator in ("equals", "status"):
        ok = _json_equal(value, expected)
    elif check.operator == "contains":
        ok = _contains(value, expected)
    else:
        ok = isinstance(value, str) and re.search(expected, value) is not None
    return CheckResult(check.name, ok, None if ok else f"got {_short(value)}")


def evaluate_expectation(expectation: Expectation, outcome: RunOutcome) -> tuple[bool, list[CheckResult]]:
    """(passed, one result per check, the run-status check first)."""
    wanted = expectation.status
    status_ok = wanted == "any" or outcome.status == wanted
    results = [
        CheckResult(f"run status {wanted}", status_ok, None if status_ok else f"run {outcome.status}"),
    ]
    if expectation.checks:
        lookup = DictLookup(outcome.results, outcome.root_id, defined=outcome.element_paths)
        results.extend(_check(check, outcome, lookup) for check in expectation.checks)
    return all(r.passed for r in results), results
