"""One conformance module, two back ends: reading the folders and querying index.sqlite must agree.

Each back end answers the same two questions (which runs, newest first, with what status; which
elements of a run, with what status, type and error) on the same fixture runs.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from dad_studio.runs import BLOB_THRESHOLD, RunIndex, RunWriter, read_run
from dad_studio.runs.testing import EventLog, write_sample_run


class Store(Protocol):
    def runs(self) -> list[dict[str, Any]]: ...
    def nodes(self, run_id: str) -> dict[str, tuple[str, str | None, str | None]]: ...


@dataclass
class FolderStore:
    root: Path

    def runs(self) -> list[dict[str, Any]]:
        records = [read_run(p) for p in self.root.iterdir() if p.is_dir()]
        records.sort(key=lambda r: (r.manifest["started_at"], r.run_id), reverse=True)
        return [{**r.manifest, "status": r.status, "counts": r.counts} for r in records]

    def nodes(self, run_id: str) -> dict[str, tuple[str, str | None, str | None]]:
        results = read_run(self.root / run_id).results
        return {
            path: (r["status"], r.get("node_type"), (r.get("error") or {}).get("message"))
            for path, r in results.items()
        }


@dataclass
class IndexStore:
    index: RunIndex

    def runs(self) -> list[dict[str, Any]]:
        return self.index.list()

    def nodes(self, run_id: str) -> dict[str, tuple[str, str | None, str | None]]:
        return {row["path"]: (row["status"], row["type"], row["error"]) for row in self.index.node_results(run_id)}


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("conformance")
    write_sample_run(root / "r1_completed", started_at="2025-02-01T00:00:01.000000Z")
    write_sample_run(
        root / "r2_failed",
        started_at="2025-02-01T00:00:02.000000Z",
        nodes=(("main.a", "completed"), ("main.b", "failed")),
        skipped=("main.c",),
        final="failed",
    )
    write_sample_run(root / "r3_killed", started_at="2025-02-01T00:00:03.000000Z", final=None)
    # A continuation: one element loaded from r1, one executed again; a big output goes to a blob.
    writer = RunWriter(root / "r4_rerun")
    writer.open(
        {
            "root_component_id": "main",
            "started_at": "2025-02-01T00:00:04.000000Z",
            "previous_run_id": "r1_completed",
            "start_hierarchy_path": "main.b",
        },
        b"{}",
    )
    log = EventLog(writer)
    loaded = dict(read_run(root / "r1_completed").results["main.a"])
    log.emit("node_loaded", "main.a", **loaded)
    log.node("main.b", output="x" * (BLOB_THRESHOLD + 10))
    log.emit("run_completed", "main", status="completed", counts={"completed": 2}, usage={}, duration_ms=1.0)
    writer.close()
    # Killed in the middle of writing a line.
    write_sample_run(
        root / "r5_torn", started_at="2025-02-01T00:00:05.000000Z", final=None, nodes=(("main.a", "completed"),)
    )
    with open(root / "r5_torn" / "events.jsonl", "ab") as f:
        f.write(b'{"seq": 99, "type": "node_comp')
    return root


EXPECTED_RUNS = [
    ("r5_torn", "interrupted"),
    ("r4_rerun", "completed"),
    ("r3_killed", "interrupted"),
    ("r2_failed", "failed"),
    ("r1_completed", "completed"),
]
EXPECTED_NODES = {
    "r1_completed": {"main.a": ("completed", "noop", None), "main.b": ("completed", "noop", None)},
    "r2_failed": {
        "main.a": ("completed", "noop", None),
        "main.b": ("failed", "noop", "boom"),
        "main.c": ("skipped", None, None),
    },
    "r3_killed": {"main.a": ("completed", "noop", None), "main.b": ("completed", "noop", None)},
    "r4_rerun": {"main.a": ("completed", "noop", None), "main.b": ("completed", "noop", None)},
    "r5_torn": {"main.a": ("completed", "noop", None)},
}


@pytest.fixture(params=["folders", "index"])
def store(request: pytest.FixtureRequest, fixture_root: Path, tmp_path: Path) -> Iterator[Store]:
    root = tmp_path / "root"
    shutil.copytree(fixture_root, root)  # each back end gets pristine folders
    if request.param == "folders":
        yield FolderStore(root)
    else:
        with RunIndex(root) as index:
            yield IndexStore(index)


def test_runs_newest_first_with_status(store: Store) -> None:
    assert [(m["run_id"], m["status"]) for m in store.runs()] == EXPECTED_RUNS


def test_counts(store: Store) -> None:
    counts = {m["run_id"]: m["counts"] for m in store.runs()}
    assert counts["r2_failed"] == {"completed": 1, "failed": 1, "skipped": 1}
    assert counts["r3_killed"] == {"completed": 2}  # no run_completed: counted from the results
    assert counts["r4_rerun"] == {"completed": 2}


def test_manifest_fields(store: Store) -> None:
    rerun = next(m for m in store.runs() if m["run_id"] == "r4_rerun")
    assert rerun["previous_run_id"] == "r1_completed" and rerun["start_hierarchy_path"] == "main.b"
    assert rerun["root_component_id"] == "main" and len(rerun["flow_sha256"]) == 64


@pytest.mark.parametrize("run_id", sorted(EXPECTED_NODES))
def test_nodes(store: Store, run_id: str) -> None:
    assert store.nodes(run_id) == EXPECTED_NODES[run_id]
