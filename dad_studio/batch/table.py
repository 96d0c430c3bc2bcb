"""Qt-free data for the studio's batch view: the batches of a run root, and one batch as a table.

The view (a Qt widget in dad_studio.ui) shows these rows as they are; `run_dir` lets it open any
row's run in the history panel. Rows not recorded yet are listed as `pending`, so the table has one
line per row of the rows file from the start.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dad_studio.batch.store import BATCHES_DIR, read_batch, read_row_results

__all__ = ["BATCH_COLUMNS", "batch_table", "list_batches"]

BATCH_COLUMNS: tuple[str, ...] = (
    "index",
    "label",
    "status",
    "passed",
    "checks",
    "latency_ms",
    "cost",
    "tokens",
    "run_id",
    "error",
)
"""The columns a view shows, in order (each row also has `run_dir`, `failed_checks` and
`check_results`: every check as recorded, `{"name", "passed", "message"}`, in the row's order)."""


def batch_table(batch_dir: Path) -> list[dict[str, Any]]:
    """One dict per row of the batch, by row index: status, pass/fail, checks `passed/total`, run."""
    batch_dir = Path(batch_dir)
    record = read_batch(batch_dir)
    total = int(record.get("counts", {}).get("rows") or 0)
    run_root = Path(record.get("run_root") or batch_dir.parent.parent)
    results = read_row_results(batch_dir)
    total = max(total, max(results, default=-1) + 1)
    rows: list[dict[str, Any]] = []
    run_prefix = str(run_root) + os.sep  # str + str: a Path per row was half the time of a 1,000-row table
    for index in range(total):
        result = results.get(index)
        if result is None:
            rows.append(
                {
                    **dict.fromkeys(BATCH_COLUMNS),
                    "index": index,
                    "status": "pending",
                    "passed": None,
                    "run_dir": None,
                    "failed_checks": [],
                    "check_results": [],
                }
            )
            continue
        checks = result.checks
        failed = [f"{c['name']}: {c['message']}" for c in checks if not c.get("passed")]
        rows.append(
            {
                "index": index,
                "label": result.label,
                "status": result.status,
                "passed": result.passed,
                "checks": f"{len(checks) - len(failed)}/{len(checks)}" if checks else "",
                "latency_ms": result.latency_ms,
                "cost": result.cost,
                "tokens": result.tokens,
                "run_id": result.run_id,
                "error": result.error,
                "run_dir": run_prefix + result.run_id if result.run_id else None,
                "failed_checks": failed,
                "check_results": [dict(c) for c in checks],
            }
        )
    return rows


def list_batches(run_root: Path) -> list[dict[str, Any]]:
    """Every batch record under `<run_root>/batches`, newest first (status read back)."""
    folder = Path(run_root) / BATCHES_DIR
    if not folder.is_dir():
        return []
    records = []
    for entry in folder.iterdir():
        try:
            record = read_batch(entry)
        except (OSError, ValueError):
            continue
        record["batch_dir"] = str(entry)
        records.append(record)
    records.sort(key=lambda r: (r.get("created_at") or "", r.get("batch_id") or ""), reverse=True)
    return records
