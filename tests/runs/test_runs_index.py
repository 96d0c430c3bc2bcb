"""RunIndex: list, filter, order, rebuild from the folders, delete, concurrent writers."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from dad_studio.runs import RunIndex, RunNotFound, RunWriter, list_runs
from dad_studio.runs.testing import dead_pid, write_sample_run


def _three_runs(root: Path) -> None:
    write_sample_run(root / "run_a", started_at="2025-01-01T10:00:00.000000Z", flow="alpha")
    write_sample_run(
        root / "run_b",
        started_at="2025-01-02T10:00:00.000000Z",
        flow="beta",
        nodes=(("beta.x", "completed"), ("beta.y", "failed")),
        final="failed",
    )
    write_sample_run(root / "run_c", started_at="2025-01-03T10:00:00.000000Z", flow="alpha", final=None)


def test_list_filter_order(tmp_path: Path) -> None:
    _three_runs(tmp_path)
    with RunIndex(tmp_path) as index:
        assert [m["run_id"] for m in index.list()] == ["run_c", "run_b", "run_a"]
        assert [m["run_id"] for m in index.list(order="started_at")] == ["run_a", "run_b", "run_c"]
        assert [m["run_id"] for m in index.list(flow="alpha")] == ["run_c", "run_a"]
        assert [m["run_id"] for m in index.list(flow="beta.dad.json")] == ["run_b"]
        assert [m["run_id"] for m in index.list(status="interrupted")] == ["run_c"]
        assert [m["run_id"] for m in index.list(status="failed")] == ["run_b"]
        assert [m["run_id"] for m in index.list(limit=1)] == ["run_c"]
        with pytest.raises(ValueError, match="cannot order"):
            index.list(order="pid; DROP TABLE runs")
        b = index.list(flow="beta")[0]
        assert b["counts"] == {"completed": 1, "failed": 1} and b["usage"]["total_tokens"] == 6
        rows = index.node_results("run_b")
        assert [(r["path"], r["status"], r["type"], r["error"]) for r in rows] == [
            ("beta.x", "completed", "noop", None),
            ("beta.y", "failed", "noop", "boom"),
        ]
        assert rows[0]["tokens"] == 3 and rows[0]["cost"] == 0.5 and rows[0]["duration_ms"] == 1.5
    assert [m["run_id"] for m in list_runs(tmp_path)] == ["run_c", "run_b", "run_a"]
    assert list_runs(tmp_path / "nowhere") == []


def test_order_by_cost(tmp_path: Path) -> None:
    write_sample_run(tmp_path / "one", nodes=(("main.a", "completed"),))
    write_sample_run(
        tmp_path / "three", nodes=(("main.a", "completed"), ("main.b", "completed"), ("main.c", "completed"))
    )
    with RunIndex(tmp_path) as index:
        assert [m["run_id"] for m in index.list(order="-cost")] == ["three", "one"]
        assert [m["run_id"] for m in index.list(order="tokens")] == ["one", "three"]


def test_rebuilt_when_missing(tmp_path: Path) -> None:
    _three_runs(tmp_path)
    assert len(list_runs(tmp_path)) == 3
    (tmp_path / "index.sqlite").unlink()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"index.sqlite{suffix}").unlink(missing_ok=True)
    assert [m["run_id"] for m in list_runs(tmp_path)] == ["run_c", "run_b", "run_a"]


def test_rebuilt_when_corrupt(tmp_path: Path) -> None:
    _three_runs(tmp_path)
    (tmp_path / "index.sqlite").write_bytes(b"this is not a database, " * 100)
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"index.sqlite{suffix}").unlink(missing_ok=True)
    with RunIndex(tmp_path) as index:
        assert [m["run_id"] for m in index.list()] == ["run_c", "run_b", "run_a"]
        assert len(index.node_results("run_a")) == 2
    connection = sqlite3.connect(tmp_path / "index.sqlite")
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    connection.close()


def test_rebuilt_when_schema_is_wrong(tmp_path: Path) -> None:
    _three_runs(tmp_path)
    connection = sqlite3.connect(tmp_path / "index.sqlite")
    connection.execute("CREATE TABLE runs (something_else TEXT)")
    connection.execute("PRAGMA user_version = 99")
    connection.commit()
    connection.close()
    assert len(list_runs(tmp_path)) == 3


def test_refreshed_when_stale(tmp_path: Path) -> None:
    _three_runs(tmp_path)
    with RunIndex(tmp_path) as index:
        assert len(index.list()) == 3
        write_sample_run(tmp_path / "run_d", started_at="2025-01-04T10:00:00.000000Z")  # behind its back
        assert next(m["run_id"] for m in index.list()) == "run_d"
        # A folder whose run.json changed after it was indexed is read again.
        shutil.rmtree(tmp_path / "run_a")
        write_sample_run(tmp_path / "run_a", started_at="2025-01-05T10:00:00.000000Z", final="cancelled")
        assert next((m["run_id"], m["status"]) for m in index.list()) == ("run_a", "cancelled")
        # A folder removed by hand disappears from the list.
        shutil.rmtree(tmp_path / "run_b")
        assert {m["run_id"] for m in index.list()} == {"run_a", "run_c", "run_d"}
        assert index.node_results("run_b") == []


def test_running_run_turns_interrupted_when_its_process_dies(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path / "live")
    writer.open({"root_component_id": "main"}, b"{}")
    with RunIndex(tmp_path) as index:
        assert index.list()[0]["status"] == "running"
        writer.update_manifest(pid=dead_pid())
        assert index.list()[0]["status"] == "interrupted"
    writer.close()


def test_delete_run(tmp_path: Path) -> None:
    _three_runs(tmp_path)
    with RunIndex(tmp_path) as index:
        index.list()
        index.delete_run("run_b")
        assert not (tmp_path / "run_b").exists()
        assert [m["run_id"] for m in index.list(refresh=False)] == ["run_c", "run_a"]
        assert index.node_results("run_b") == []
        with pytest.raises(RunNotFound):
            index.delete_run("run_b")
        with pytest.raises(RunNotFound):
            index.delete_run("../x")


def test_delete_refuses_a_running_run(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path / "live")
    writer.open({"root_component_id": "main"}, b"{}")
    with RunIndex(tmp_path) as index, pytest.raises(RuntimeError, match="still running"):
        index.delete_run("live")
    assert (tmp_path / "live").is_dir()
    writer.close()


RECORDER = r"""
import sys
from pathlib import Path
from dad_studio.runs import RunIndex
root = Path(sys.argv[1])
index = RunIndex(root)
for round_ in range(3):
    for name in sys.argv[2:]:
        index.record_run(root / name)
    index.list()
index.close()
"""


def test_two_processes_recording_at_once_keep_the_index_whole(tmp_path: Path) -> None:
    names = [f"run_{i:02d}" for i in range(24)]
    for name in names:
        write_sample_run(tmp_path / name, nodes=tuple((f"main.n{j}", "completed") for j in range(5)))
    children = [
        subprocess.Popen([sys.executable, "-c", RECORDER, str(tmp_path), *part], stderr=subprocess.PIPE)
        for part in (names[::2], names[1::2], names)
    ]
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()
    connection = sqlite3.connect(tmp_path / "index.sqlite")
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert connection.execute("SELECT count(*) FROM runs").fetchone() == (24,)
    assert connection.execute("SELECT count(*) FROM node_results").fetchone() == (24 * 5,)
    connection.close()


def test_rebuilt_when_pages_are_damaged(tmp_path: Path) -> None:
    for i in range(30):
        write_sample_run(tmp_path / f"run_{i:02d}", nodes=tuple((f"main.n{j}", "completed") for j in range(8)))
    assert len(list_runs(tmp_path)) == 30
    data = bytearray((tmp_path / "index.sqlite").read_bytes())
    assert len(data) > 3 * 4096
    data[4096 + 50 :] = b"\xa5" * (len(data) - 4096 - 50)  # keep the header, damage every page after it
    (tmp_path / "index.sqlite").write_bytes(bytes(data))
    with RunIndex(tmp_path) as index:
        assert len(index.list()) == 30
        assert len(index.node_results("run_07")) == 8
    assert (tmp_path / "index.sqlite.corrupt").is_file()  # set aside, not silently reused
