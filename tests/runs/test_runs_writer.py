"""RunWriter + read_run: what is written reads back the same (RUNS.md)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from dad_studio.runs import (
    BLOB_THRESHOLD,
    RunNotFound,
    RunWriter,
    copy_artifacts,
    find_run,
    load_previous_results,
    new_run_id,
    read_run,
)
from dad_studio.runs.testing import EventLog, dead_pid


def _open(run_dir: Path, **kwargs: Any) -> tuple[RunWriter, EventLog]:
    writer = RunWriter(run_dir, **kwargs)
    writer.open({"root_component_id": "main", "flow_file": "main.dad.json", "variables": {"topic": "x"}}, b'{"a": 1}')
    log = EventLog(writer)
    log.emit(
        "run_started",
        "main",
        run_id=run_dir.name,
        root_component_id="main",
        previous_run_id=None,
        start_hierarchy_path=None,
        variables={"topic": "x"},
    )
    return writer, log


def test_new_run_id_format() -> None:
    moment = dt.datetime(2025, 5, 1, 13, 4, 5)
    assert re.fullmatch(r"run_20250501_130405_[0-9a-f]{6}", new_run_id(now=moment))
    assert re.fullmatch(r"p_rerun_20250501_130405_[0-9a-f]{6}", new_run_id("p", rerun=True, now=moment))
    assert new_run_id(now=moment) != new_run_id(now=moment)
    with pytest.raises(ValueError):
        new_run_id("../x")


def test_round_trip_events_results_manifest(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "r1"
    writer, log = _open(run_dir)
    log.node("main.a")
    log.emit("node_output_delta", "main.b", text="partial ü")
    log.node("main.b", "failed", output=None)
    log.emit("node_skipped", "main.c", reason="dead edge")
    log.emit("log", "main", level="info", message="hello")
    log.node("main.a", output="second attempt wins")  # the latest result per path counts
    log.emit("run_completed", "main", status="failed", counts={"completed": 1, "failed": 1}, usage={}, duration_ms=3.0)
    writer.close(status="failed", duration_ms=3.0)

    record = read_run(run_dir)
    assert record.events == log.written
    assert record.problems == []
    assert record.status == "failed"
    assert record.counts == {"completed": 1, "failed": 1}
    assert record.results["main.a"]["output"] == "second attempt wins"
    assert record.results["main.b"]["status"] == "failed"
    assert record.results["main.b"]["error"] == {"message": "boom", "type": "RuntimeError"}
    assert record.results["main.c"] == {"reason": "dead edge", "status": "skipped"}
    assert set(record.results) == {"main.a", "main.b", "main.c"}
    manifest = record.manifest
    assert manifest["run_id"] == "r1" and manifest["status"] == "failed"
    assert manifest["flow_sha256"] == hashlib.sha256(b'{"a": 1}').hexdigest()
    assert manifest["pid"] == os.getpid() and manifest["ended_at"] and manifest["started_at"]
    assert manifest["variables"] == {"topic": "x"}
    assert (run_dir / "flow.dad.json").read_bytes() == b'{"a": 1}'
    assert json.loads((run_dir / "run.json").read_text()) == {k: v for k, v in manifest.items()}


def test_large_values_go_to_blobs_and_round_trip(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    writer, log = _open(run_dir)
    big_input = {"rows": ["x" * 100] * 1000}
    big_output = "y" * (BLOB_THRESHOLD + 1)
    small = "z" * 100
    log.node("main.a", input=big_input, output=big_output, outcome=small)
    writer.close(status="completed")
    raw = (run_dir / "events.jsonl").read_text()
    assert len(raw) < 10_000  # the log itself stays small
    record = read_run(run_dir)
    result = record.results["main.a"]
    assert set(result["input"]) == {"$blob", "size"} and set(result["output"]) == {"$blob", "size"}
    assert result["outcome"] == small
    assert record.load_blob(result["input"]) == big_input
    assert record.load_blob(result["output"]) == big_output
    assert (run_dir / "blobs" / result["output"]["$blob"]).stat().st_size == result["output"]["size"]
    assert record.resolve(result)["output"] == big_output
    assert load_previous_results(run_dir)["main.a"]["input"] == big_input
    ref = writer.write_blob(b"\x00raw")
    assert record.blob_bytes(ref) == b"\x00raw"


def test_run_json_is_replaced_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = tmp_path / "r"
    writer, _ = _open(run_dir, durability="power")  # "power" fsyncs run.json before the rename
    before = (run_dir / "run.json").read_bytes()

    def failing_fsync(fd: int) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk gone"):
        writer.update_manifest(status="completed")
    assert (run_dir / "run.json").read_bytes() == before  # the old manifest, whole
    assert [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")] == []  # no temp left behind
    monkeypatch.undo()
    writer.update_manifest(note="n")
    assert json.loads((run_dir / "run.json").read_text())["note"] == "n"
    writer.close()


def test_torn_last_line_is_ignored_and_bad_middle_line_reported(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    writer, log = _open(run_dir)
    log.node("main.a")
    writer.close(status="completed")
    events = run_dir / "events.jsonl"
    good = events.read_bytes()
    events.write_bytes(good + b'{"seq": 4, "ts": "x", "type": "node_sta')
    record = read_run(run_dir)
    assert record.events == log.written and record.problems == []

    lines = good.split(b"\n")
    events.write_bytes(b"\n".join([lines[0], b"garbage{", *lines[1:]]))
    record = read_run(run_dir)
    assert record.events == log.written
    assert len(record.problems) == 1 and "line 2" in record.problems[0]


def test_reopening_drops_a_torn_tail(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    writer, _ = _open(run_dir)
    writer.close()
    events = run_dir / "events.jsonl"
    events.write_bytes(events.read_bytes() + b'{"seq": 2, "torn')
    again = RunWriter(run_dir)
    again.open({"root_component_id": "main"}, b"{}")
    again.append({"seq": 2, "ts": "t", "type": "log", "path": "main", "level": "info", "message": "m"})
    again.close(status="completed")
    record = read_run(run_dir)
    assert [e["seq"] for e in record.events] == [1, 2] and record.problems == []


def test_run_without_run_completed_reads_interrupted(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    writer, log = _open(run_dir)
    log.node("main.a")
    assert read_run(run_dir).status == "running"  # our own process is alive and writing
    writer.update_manifest(pid=dead_pid())
    record = read_run(run_dir)
    assert record.status == "interrupted"
    assert record.counts == {"completed": 1}
    assert read_run(run_dir, load_events=False).status == "interrupted"
    writer.update_manifest(pid=os.getpid(), host="another-host")
    assert read_run(run_dir).status == "interrupted"
    writer.close()


def test_power_durability_fsyncs_at_node_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        calls.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    writer, log = _open(tmp_path / "p", durability="power")
    after_open = len(calls)
    log.emit("log", "main", level="info", message="not synced")
    assert len(calls) == after_open
    log.node("main.a")
    log.node("main.b")
    assert len(calls) == after_open + 2
    log.emit("run_completed", "main", status="completed", counts={}, usage={}, duration_ms=1.0)
    assert len(calls) == after_open + 3
    writer.close()

    calls.clear()
    writer, log = _open(tmp_path / "q", durability="process")
    log.node("main.a")
    writer.update_manifest(note="n")
    writer.close(status="completed")
    assert calls == []  # "process" durability: no fsync at all, of the log or of run.json
    assert read_run(tmp_path / "q").status == "completed"
    with pytest.raises(ValueError):
        RunWriter(tmp_path / "z", durability="disk")  # type: ignore[arg-type]


def test_secrets_never_reach_the_disk(tmp_path: Path) -> None:
    secret = 'sk-"very\\secret"'
    run_dir = tmp_path / "s"
    writer = RunWriter(run_dir, secret_names={"api_key"}, secrets=[secret, ""])
    writer.open({"root_component_id": "main", "variables": {"api_key": "other", "topic": "t"}}, b"{}")
    log = EventLog(writer)
    log.emit(
        "run_started",
        "main",
        run_id="s",
        root_component_id="main",
        previous_run_id=None,
        start_hierarchy_path=None,
        variables={"api_key": "other", "topic": "t"},
    )
    log.node("main.a", input={"headers": ["Bearer " + secret]}, output=secret)
    log.node("main.b", output=secret * 5000)  # big enough for a blob: redacted before it is stored
    writer.write_blob(b"x" + secret.encode())
    writer.update_manifest(note=secret)
    writer.close(status="completed")
    for file in run_dir.rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            assert secret.encode() not in data and json.dumps(secret)[1:-1].encode() not in data, file
    record = read_run(run_dir)
    assert record.manifest["variables"] == {"api_key": "***", "topic": "t"}
    assert record.events[0]["variables"]["api_key"] == "***"
    assert record.results["main.a"]["output"] == "***"
    assert record.results["main.a"]["input"] == {"headers": ["Bearer ***"]}


def test_artifact_dir_and_copy_artifacts(tmp_path: Path) -> None:
    writer, _ = _open(tmp_path / "old")
    folder = writer.artifact_dir("main.agent.a")
    assert folder == tmp_path / "old" / "artifacts" / "main" / "agent" / "a" and folder.is_dir()
    (folder / "out.txt").write_text("hello")
    (writer.artifact_dir("main.agent.a.child") / "c.txt").write_text("child")
    with pytest.raises(ValueError):
        writer.artifact_dir("main..x")
    with pytest.raises(ValueError):
        writer.artifact_dir("../etc")
    writer.close()
    assert copy_artifacts(tmp_path / "old", tmp_path / "new", "main.agent.a") == 2
    assert (tmp_path / "new/artifacts/main/agent/a/out.txt").read_text() == "hello"
    assert (tmp_path / "new/artifacts/main/agent/a/child/c.txt").read_text() == "child"
    assert copy_artifacts(tmp_path / "old", tmp_path / "new", "main.agent.a.child") == 0  # already there
    assert copy_artifacts(tmp_path / "old", tmp_path / "new", "main.none") == 0


def test_load_previous_results_keeps_only_completed(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    writer, log = _open(run_dir)
    log.node("main.a")
    log.node("main.b", "failed")
    log.emit("node_skipped", "main.c", reason="dead")
    writer.close(status="failed")
    previous = load_previous_results(run_dir)
    assert list(previous) == ["main.a"]
    assert previous["main.a"]["output"] == "out of main.a" and previous["main.a"]["node_type"] == "noop"


def test_missing_runs_raise_run_not_found(tmp_path: Path) -> None:
    with pytest.raises(RunNotFound, match="no run folder"):
        read_run(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunNotFound, match=r"run\.json"):
        read_run(tmp_path / "empty")
    (tmp_path / "empty" / "run.json").write_text("{not json")
    with pytest.raises(RunNotFound, match="cannot read"):
        read_run(tmp_path / "empty")
    with pytest.raises(RunNotFound, match=r"no run 'r9' under"):
        find_run(tmp_path, "r9")
    writer, _ = _open(tmp_path / "r9")
    writer.close()
    assert find_run(tmp_path, "r9") == tmp_path / "r9"


def test_append_requires_open_and_close_is_idempotent(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path / "r")
    with pytest.raises(RuntimeError):
        writer.append({"seq": 1, "ts": "t", "type": "log", "path": "p"})
    writer.open({"root_component_id": "main"}, b"{}")
    writer.close(status="completed")
    first = (tmp_path / "r" / "run.json").read_bytes()
    writer.close(status="failed")
    assert (tmp_path / "r" / "run.json").read_bytes() == first
    with pytest.raises(RuntimeError):
        writer.append({"seq": 1, "ts": "t", "type": "log", "path": "p"})


def test_fast_encoder_agrees_with_json_dumps() -> None:
    import datetime
    import math

    from dad_studio.runs.common import _slow_dumps, dumps

    values: list[Any] = [
        {"a": 1, "b": [1.5, None, True, 'é\n"x\\'], "c": {"d": math.inf, "e": -0.0}},
        "top-level string",
        3,
        1e300,
        [],
        {},
        {"p": Path("/x"), "t": datetime.date(2020, 1, 2), "s": (1, 2)},
        {1: 2, None: 3, 2.5: 4, False: 5},
        {"\u2028": "\ud7ff\U0001f600"},
    ]
    for value in values:
        # orjson writes non-finite floats as null (valid JSON); the stdlib writes Infinity (not JSON).
        expected = json.loads(_slow_dumps(value).replace("Infinity", "null"))
        assert json.loads(dumps(value)) == expected
    assert json.loads(dumps({"big": 2**70})) == {"big": 2**70}  # beyond orjson: the portable path
