"""The numbers at the end of a batch: counts, pass rate, cost and latency percentiles.

Computed from the recorded rows only (so a resumed batch sums every session's rows, and the same
function serves the CLI, batch.json and the studio's table).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from dad_studio.batch.job import RowResult

__all__ = ["format_summary", "percentile", "summarize"]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def summarize(results: Iterable[RowResult], total_rows: int) -> dict[str, Any]:
    """Counts by status, pass rate (passed / rows done), cost sum and mean, latency p50/p90/p99.

    Cost and latency cover rows that made a run (`run_id` set); rows refused before running (an
    unknown variable) count as done and not passed, but have no latency or cost to report.
    """
    rows = list(results)
    by_status: dict[str, int] = {}
    for row in rows:
        by_status[row.status] = by_status.get(row.status, 0) + 1
    passed = sum(1 for row in rows if row.passed)
    ran = [row for row in rows if row.run_id is not None]
    latencies = [row.latency_ms for row in ran]
    cost_sum = math.fsum(row.cost for row in ran)
    return {
        "rows": total_rows,
        "done": len(rows),
        "pending": total_rows - len(rows),
        "by_status": dict(sorted(by_status.items())),
        "passed": passed,
        "not_passed": len(rows) - passed,
        "pass_rate": _round(passed / len(rows), 6) if rows else None,
        "runs": len(ran),
        "cost": {"sum": round(cost_sum, 10), "mean": round(cost_sum / len(ran), 10) if ran else None},
        "tokens": sum(row.tokens for row in ran),
        "latency_ms": {
            "p50": _round(percentile(latencies, 50)),
            "p90": _round(percentile(latencies, 90)),
            "p99": _round(percentile(latencies, 99)),
            "mean": _round(math.fsum(latencies) / len(latencies)) if latencies else None,
        },
    }


def format_summary(summary: dict[str, Any]) -> str:
    """A few lines for a terminal."""
    by_status = ", ".join(f"{n} {s}" for s, n in summary["by_status"].items()) or "none"
    rate = summary["pass_rate"]
    rate_text = "-" if rate is None else f"{rate * 100:.1f}%"
    lat = summary["latency_ms"]

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.0f} ms"

    cost = summary["cost"]
    mean = "-" if cost["mean"] is None else f"${cost['mean']:.6f}"
    return "\n".join(
        [
            f"rows: {summary['done']}/{summary['rows']} done ({by_status}); {summary['pending']} pending",
            f"passed: {summary['passed']}/{summary['done']} ({rate_text})",
            f"cost: ${cost['sum']:.6f} total, {mean} mean per run; tokens: {summary['tokens']}",
            f"latency: p50 {ms(lat['p50'])}, p90 {ms(lat['p90'])}, p99 {ms(lat['p99'])}",
        ]
    )
