"""Comparing two runs of one flow element by element (issue 9: "Compare").

Runs are aligned by hierarchy path, the one name an element keeps across runs, reruns and
edits of the file. Values are compared after resolving blob references, so a large outcome that
went to `blobs/` in one run and stayed inline in the other still compares equal when it is.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dad_studio.runs.reader import RunRecord, read_run

__all__ = ["NodeComparison", "compare_runs", "outcome_diff"]


@dataclass(frozen=True)
class NodeComparison:
    """One element in two runs; None where the element has no result in that run."""

    path: str
    status_a: str | None
    status_b: str | None
    duration_a: float | None
    duration_b: float | None
    cost_a: float | None
    cost_b: float | None
    outcome_diff: str
    """Unified diff of the pretty-printed outcomes; empty when they are equal."""

    @property
    def same(self) -> bool:
        return self.status_a == self.status_b and not self.outcome_diff


def _record(run: RunRecord | Path | str) -> RunRecord:
    return run if isinstance(run, RunRecord) else read_run(Path(run))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _cost(result: dict[str, Any] | None) -> float | None:
    usage = result.get("usage") if result else None
    return _number(usage.get("cost")) if isinstance(usage, dict) else None


def _pretty(value: Any) -> list[str]:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return text.splitlines(keepends=True)


def outcome_diff(a: Any, b: Any, *, name_a: str = "a", name_b: str = "b") -> str:
    """Unified diff of two values as pretty JSON (keys sorted); empty when they are equal."""
    if a == b:
        return ""
    lines = difflib.unified_diff(_pretty(a), _pretty(b), fromfile=name_a, tofile=name_b)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def compare_runs(a: RunRecord | Path | str, b: RunRecord | Path | str) -> list[NodeComparison]:
    """Per element of either run (a's order first, then b's extra elements)."""
    run_a, run_b = _record(a), _record(b)
    paths = list(run_a.results) + [p for p in run_b.results if p not in run_a.results]
    rows: list[NodeComparison] = []
    for path in paths:
        ra, rb = run_a.results.get(path), run_b.results.get(path)
        out_a = run_a.resolve(ra.get("outcome")) if ra else None
        out_b = run_b.resolve(rb.get("outcome")) if rb else None
        rows.append(
            NodeComparison(
                path=path,
                status_a=str(ra["status"]) if ra and ra.get("status") else None,
                status_b=str(rb["status"]) if rb and rb.get("status") else None,
                duration_a=_number(ra.get("duration_ms")) if ra else None,
                duration_b=_number(rb.get("duration_ms")) if rb else None,
                cost_a=_cost(ra),
                cost_b=_cost(rb),
                outcome_diff=outcome_diff(
                    out_a, out_b, name_a=f"{run_a.run_id}:{path}", name_b=f"{run_b.run_id}:{path}"
                ),
            )
        )
    return rows
