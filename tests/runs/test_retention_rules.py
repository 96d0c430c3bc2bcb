"""Retention: keep the last N and/or the runs newer than D days; the index follows; live runs stay."""

from __future__ import annotations

import datetime as _dt
import os
import sqlite3
from pathlib import Path

import pytest

from dad_studio.runs import RunIndex, RunWriter
from dad_studio.runs.common import utc_timestamp
from dad_studio.runs.retention import apply_retention, select_for_deletion
from dad_studio.runs.testing import write_sample_run

NOW = _dt.datetime(2025, 6, 1, 12, 0, tzinfo=_dt.UTC)


def make_root(root: Path, ages_days: list[float]) -> list[str]:
    ids = []
    for i, age in enumerate(ages_days):
        run_id = f"run_{i:02d}"
        write_sample_run(root / run_id, started_at=utc_timestamp(NOW - _dt.timedelta(days=age)))
        ids.append(run_id)
    return ids


def index_ids(root: Path) -> set[str]:
    with sqlite3.connect(root / "index.sqlite") as conn:
        runs = {r[0] for r in conn.execute("SELECT run_id FROM runs")}
        nodes = {r[0] for r in conn.execute("SELECT DISTINCT run_id FROM node_results")}
    assert nodes <= runs
    return runs


def test_keep_last(tmp_path: Path) -> None:
    ids = make_root(tmp_path, [5, 1, 3, 10, 2])  # newest: run_01, run_04, run_02, run_00, run_03
    assert apply_retention(tmp_path, keep_last=2, dry_run=True, now=NOW) == ["run_03", "run_00", "run_02"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ids  # dry run deleted nothing
    deleted = apply_retention(tmp_path, keep_last=2, now=NOW)
    assert deleted == ["run_03", "run_00", "run_02"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["run_01", "run_04"]
    assert index_ids(tmp_path) == {"run_01", "run_04"}
    assert [m["run_id"] for m in RunIndex(tmp_path).list()] == ["run_01", "run_04"]


def test_newer_than_and_both_rules(tmp_path: Path) -> None:
    make_root(tmp_path, [5, 1, 3, 10, 2])
    assert apply_retention(tmp_path, newer_than_days=2.5, dry_run=True, now=NOW) == ["run_03", "run_00", "run_02"]
    # Either rule keeps a run: the 3 newest (1, 2, 3 days) or younger than 4 days; the 5 and 10 day old go.
    assert apply_retention(tmp_path, keep_last=3, newer_than_days=4, now=NOW) == ["run_03", "run_00"]
    assert index_ids(tmp_path) == {"run_01", "run_02", "run_04"}
    assert apply_retention(tmp_path, now=NOW) == []  # no rule, nothing deleted


def test_live_run_is_never_deleted(tmp_path: Path) -> None:
    make_root(tmp_path, [30, 20])
    writer = RunWriter(tmp_path / "run_live")  # this process is alive: the run is in progress
    writer.open({"root_component_id": "main", "started_at": utc_timestamp(NOW - _dt.timedelta(days=40))}, b"{}")
    try:
        assert apply_retention(tmp_path, keep_last=0, now=NOW) == ["run_00", "run_01"]
        assert (tmp_path / "run_live").is_dir()
        assert index_ids(tmp_path) == {"run_live"}
    finally:
        writer.close()
    assert os.path.isdir(tmp_path / "run_live")


def test_unknown_age_is_kept_and_bad_arguments() -> None:
    manifests = [{"run_id": "x", "started_at": None, "status": "completed"}]
    assert select_for_deletion(manifests, newer_than_days=1, now=NOW) == []
    assert select_for_deletion(manifests, keep_last=0, now=NOW) == ["x"]
    with pytest.raises(ValueError):
        select_for_deletion(manifests, keep_last=-1)
    with pytest.raises(ValueError):
        select_for_deletion(manifests, newer_than_days=-1)
