"""compare_runs: two runs of one flow aligned by hierarchy path, with status, timing, cost and outcome diff."""

from __future__ import annotations

from pathlib import Path

from dad_studio.runs import RunWriter, read_run
from dad_studio.runs.compare import compare_runs, outcome_diff
from dad_studio.runs.testing import EventLog


def write(run_dir: Path, nodes: dict[str, tuple[str, object, float, float]]) -> Path:
    writer = RunWriter(run_dir)
    writer.open({"root_component_id": "f"}, b"{}")
    log = EventLog(writer)
    log.emit("run_started", "f", run_id=run_dir.name, root_component_id="f", previous_run_id=None,
             start_hierarchy_path=None, variables={})  # fmt: skip
    for path, (status, outcome, duration, cost) in nodes.items():
        if status == "skipped":
            log.emit("node_skipped", path, reason="dead edge")
        else:
            log.node(path, status, outcome=outcome, duration_ms=duration, usage={"total_tokens": 1, "cost": cost})
    log.emit("run_completed", "f", status="completed", counts={}, usage={}, duration_ms=1.0)
    writer.close(status="completed")
    return run_dir


def test_compare_two_runs(tmp_path: Path) -> None:
    big = {"text": "y" * 70_000}
    a = write(tmp_path / "a", {
        "f.same": ("completed", {"v": 1}, 5.0, 0.1),
        "f.changed": ("completed", {"v": 1, "w": [1, 2]}, 5.0, 0.1),
        "f.big": ("completed", big, 1.0, 0.0),
        "f.only_a": ("completed", None, 1.0, 0.0),
        "f.branch": ("completed", {"ok": True}, 2.0, 0.5),
    })  # fmt: skip
    b = write(tmp_path / "b", {
        "f.same": ("completed", {"v": 1}, 7.0, 0.2),
        "f.changed": ("completed", {"v": 2, "w": [1, 2]}, 4.0, 0.1),
        "f.big": ("completed", big, 1.0, 0.0),
        "f.branch": ("skipped", None, 0.0, 0.0),
        "f.only_b": ("failed", None, 3.0, 0.0),
    })  # fmt: skip
    assert "$blob" in str(read_run(a).results["f.big"]["outcome"])  # the big outcome went to a blob
    rows = {row.path: row for row in compare_runs(a, read_run(b))}
    assert list(rows) == ["f.same", "f.changed", "f.big", "f.only_a", "f.branch", "f.only_b"]
    same = rows["f.same"]
    assert (same.status_a, same.status_b, same.duration_a, same.duration_b, same.cost_a, same.cost_b) == (
        "completed", "completed", 5.0, 7.0, 0.1, 0.2,
    )  # fmt: skip
    assert same.outcome_diff == "" and same.same
    diff = rows["f.changed"].outcome_diff
    assert '-  "v": 1' in diff and '+  "v": 2' in diff and "a:f.changed" in diff and '"w"' in diff
    assert not rows["f.changed"].same
    assert rows["f.big"].outcome_diff == ""
    assert (rows["f.only_a"].status_a, rows["f.only_a"].status_b) == ("completed", None)
    assert (rows["f.only_b"].status_a, rows["f.only_b"].status_b, rows["f.only_b"].duration_a) == (None, "failed", None)
    assert rows["f.branch"].status_b == "skipped" and rows["f.branch"].cost_b is None
    assert "+null" in rows["f.branch"].outcome_diff


def test_outcome_diff_is_key_order_independent() -> None:
    assert outcome_diff({"a": 1, "b": 2}, {"b": 2, "a": 1}) == ""
    assert outcome_diff("x", "y").startswith("--- a\n+++ b\n")
