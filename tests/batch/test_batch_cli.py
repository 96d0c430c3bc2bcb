"""`dad-studio batch`: exit statuses, bad rows files with line numbers, batch id mismatch, and a
driver killed with SIGKILL midway then resumed (only the rows without a record run again)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_testdata import batch_run_dirs, demo_row, write_flow, write_rows

from dad_studio.batch import read_batch, read_row_results
from dad_studio.cli.main import main

SLEEPY = {
    "id": "sleepy",
    "kind": "flow",
    "variables": {"k": 0},
    "nodes": {
        "s1": {"type": "sleep", "settings": {"seconds": 0.05}},
        "s2": {"type": "sleep", "settings": {"seconds": 0.05}},
        "s3": {"type": "noop", "settings": {"value": "$var{k}"}},
    },
    "edges": [{"from": "s1", "to": "s2"}, {"from": "s2", "to": "s3"}],
}


def _json_out(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_batch_cli_all_pass_exit_0_then_failures_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = write_flow(tmp_path)
    good = write_rows(tmp_path, [demo_row(i) for i in (0, 1, 2)], "good.jsonl")
    code = main(["batch", str(flow), "--inputs", str(good), "--no-traces", "--json", "--run-root", str(tmp_path / "r")])
    record = _json_out(capsys)
    assert code == 0
    assert record["status"] == "completed" and record["counts"] == {  # type: ignore[comparison-overlap]
        "rows": 3,
        "done": 3,
        "pending": 0,
        "passed": 3,
        "not_passed": 0,
        "completed": 3,
    }
    bad = write_rows(tmp_path, [demo_row(i) for i in (0, 3, 5)], "bad.jsonl")  # node fails, wrong expectation
    code = main(["batch", str(flow), "--inputs", str(bad), "--no-traces", "--run-root", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 1
    assert "passed: 1/3" in err
    assert "row 1 failed" in err and "division by zero" in err
    assert "row 2 completed" in err and "got 'w5-5'" in err


def test_batch_cli_bad_rows_file_lists_every_bad_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = write_flow(tmp_path)
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        "\n".join(
            [
                json.dumps(demo_row(0)),
                "# a comment",
                '{"variables": {"n": 1}',
                json.dumps({"variables": [1]}),
                json.dumps({"expect": {"checks": [{"path": "demo.b", "equals": 1, "contains": 2}]}}),
                json.dumps({"expect": {"checks": [{"path": "demo.b.outcome", "matches": "("}]}}),
                json.dumps({"expect": {"status": "green"}}),
                json.dumps({"varaibles": {}}),
            ]
        )
        + "\n"
    )
    code = main(["batch", str(flow), "--inputs", str(rows), "--run-root", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2
    assert "line 1:" not in err and "line 2:" not in err
    for fragment in (
        "line 3: not JSON",
        "line 4: 'variables' must be an object",
        "line 5: expect: check 0: 2 operators",
        "line 6: expect: check 0: bad regular expression",
        "line 7: expect: status must be one of",
        "line 8: unknown key(s) varaibles",
    ):
        assert fragment in err, fragment
    assert not (tmp_path / "r").exists()  # nothing ran, nothing was written


def test_batch_cli_batch_id_reused_for_other_rows_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = write_flow(tmp_path)
    first = write_rows(tmp_path, [demo_row(0)], "a.jsonl")
    second = write_rows(tmp_path, [demo_row(1)], "b.jsonl")
    root = str(tmp_path / "r")
    assert (
        main(["batch", str(flow), "--inputs", str(first), "--batch-id", "nightly", "--run-root", root, "--no-traces"])
        == 0
    )
    capsys.readouterr()
    code = main(["batch", str(flow), "--inputs", str(second), "--batch-id", "nightly", "--run-root", root])
    assert code == 2
    assert "batch nightly was started with another rows file" in capsys.readouterr().err
    assert main(["batch", str(flow), "--inputs", str(second), "--batch-id", "../x", "--run-root", root]) == 2


def test_batch_cli_sigkill_midway_then_resume_runs_only_missing_rows(tmp_path: Path) -> None:
    flow = write_flow(tmp_path, SLEEPY)
    rows = write_rows(tmp_path, [{"variables": {"k": i}} for i in range(80)])
    root = tmp_path / "runs"
    argv = ["batch", str(flow), "--inputs", str(rows), "--run-root", str(root), "--concurrency", "4", "--no-traces"]
    child = subprocess.Popen(
        [sys.executable, "-m", "dad_studio.cli.main", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        batch_dir: Path | None = None
        while time.monotonic() < deadline:
            found = list((root / "batches").glob("*/rows.jsonl")) if (root / "batches").is_dir() else []
            if found and found[0].read_bytes().count(b"\n") >= 15:
                batch_dir = found[0].parent
                break
            time.sleep(0.02)
        assert batch_dir is not None, "the child recorded no rows in time"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(10)
    assert read_batch(batch_dir)["status"] == "interrupted"  # its process is gone
    recorded = read_row_results(batch_dir)
    assert 15 <= len(recorded) < 80
    before = set(batch_run_dirs(root, batch_dir.name))

    assert main(argv) == 0
    new = set(batch_run_dirs(root, batch_dir.name)) - before
    assert len(new) == 80 - len(recorded)
    final = read_row_results(batch_dir)
    assert sorted(final) == list(range(80))
    assert {final[i].run_id for i in recorded} == {r.run_id for r in recorded.values()}  # kept, not rerun
    assert {r.run_id for i, r in final.items() if i not in recorded} == {d.name for d in new}
    record = read_batch(batch_dir)
    assert record["status"] == "completed" and record["summary"]["passed"] == 80
