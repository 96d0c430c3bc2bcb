"""Retention: delete old run folders, keep the index consistent, never touch a live run (issue 9).

A run is kept if either rule keeps it: it is among the `keep_last` newest, or it started less than
`newer_than_days` ago. A run whose age cannot be read is kept by the age rule (deleting on a guess
is the one mistake that cannot be undone). Deletion goes through `RunIndex.delete_run`, which
removes the folder and its rows together and refuses a run whose process is alive.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from dad_studio.runs.common import parse_utc
from dad_studio.runs.index import RunIndex

__all__ = ["apply_retention", "select_for_deletion"]


def _started(manifest: dict[str, Any]) -> _dt.datetime | None:
    return parse_utc(manifest.get("started_at"))


def select_for_deletion(
    manifests: list[dict[str, Any]],
    keep_last: int | None = None,
    newer_than_days: float | None = None,
    *,
    now: _dt.datetime | None = None,
) -> list[str]:
    """Run ids the rules would delete, oldest first (manifests as RunIndex.list returns them)."""
    if keep_last is not None and keep_last < 0:
        raise ValueError(f"keep_last must be >= 0, not {keep_last}")
    if newer_than_days is not None and newer_than_days < 0:
        raise ValueError(f"newer_than_days must be >= 0, not {newer_than_days}")
    if keep_last is None and newer_than_days is None:
        return []
    moment = now or _dt.datetime.now(_dt.UTC)
    far_past = _dt.datetime.min.replace(tzinfo=_dt.UTC)
    ordered = sorted(manifests, key=lambda m: (_started(m) or far_past, str(m.get("run_id"))), reverse=True)
    doomed: list[str] = []
    for position, manifest in enumerate(ordered):
        if manifest.get("status") == "running":
            continue  # a live writer (index status is read back: dead writers show as interrupted)
        if keep_last is not None and position < keep_last:
            continue
        if newer_than_days is not None:
            started = _started(manifest)
            if started is None or moment - started < _dt.timedelta(days=newer_than_days):
                continue
        doomed.append(str(manifest["run_id"]))
    doomed.reverse()
    return doomed


def apply_retention(
    run_root: Path,
    keep_last: int | None = None,
    newer_than_days: float | None = None,
    *,
    dry_run: bool = False,
    now: _dt.datetime | None = None,
) -> list[str]:
    """Delete the runs the rules do not keep; returns their ids (what would go, with dry_run)."""
    with RunIndex(Path(run_root)) as index:
        doomed = select_for_deletion(index.list(refresh=True), keep_last, newer_than_days, now=now)
        if dry_run:
            return doomed
        deleted: list[str] = []
        for run_id in doomed:
            try:
                index.delete_run(run_id)
            except RuntimeError:
                continue  # its writer is alive after all (it started after listing): never delete it
            deleted.append(run_id)
        return deleted
