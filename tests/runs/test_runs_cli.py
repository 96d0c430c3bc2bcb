"""`dad-studio runs list|show|events`: output, JSON, following a live run, and a clear exit 2 for an
unknown run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dad_studio.cli.main import main
from dad_studio.runs import RunWriter
from dad_studio.runs.testing import EventLog, dead_pid, write_sample_run


@pytest.fixture
def run_root(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    write_sample_run(root / "run_old", started_at="2025-01-01T10:00:00.000000Z", flow="alpha")
    write_sample_run(
        root / "run_new",
        started_at="2025-01-02T10:00:00.000000Z",
        nodes=(("beta.a", "completed"), ("beta.b", "failed")),
        flow="beta",
        final="failed",
    )
    return root


def test_list_json_newest_first(run_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "list", "--run-root", str(run_root), "--json"]) == 0
    manifests = json.loads(capsys.readouterr().out)
    assert [(m["run_id"], m["status"]) for m in manifests] == [("run_new", "failed"), ("run_old", "completed")]
    assert manifests[0]["root_component_id"] == "beta" and manifests[0]["usage"]["cost"] == 1.0


def test_list_text(run_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "list", "--run-root", str(run_root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t") == ["RUN", "FLOW", "STATUS", "STARTED", "DURATION", "COST"]
    assert [line.split("\t")[:3] for line in lines[1:]] == [
        ["run_new", "beta", "failed"],
        ["run_old", "alpha", "completed"],
    ]
    assert lines[1].split("\t")[4:] == ["12ms", "$1.0000"]


def test_list_of_an_empty_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "list", "--run-root", str(tmp_path / "none"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_show(run_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "show", "run_new", "--run-root", str(run_root), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["run_id"] == "run_new" and shown["status"] == "failed"
    assert shown["nodes"] == {"beta.a": "completed", "beta.b": "failed"}
    assert main(["runs", "show", "run_new", "--run-root", str(run_root)]) == 0
    out = capsys.readouterr().out
    assert "status: failed" in out and "beta.b: failed  (boom)" in out


def test_unknown_run_exits_2_without_traceback(run_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "show", "run_missing", "--run-root", str(run_root)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no run 'run_missing'" in captured.err and "Traceback" not in captured.err


def test_runs_without_subcommand_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs"]) == 2
    assert "list" in capsys.readouterr().err


def test_events_prints_the_log_line_for_line(run_root: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "events", "run_new", "--run-root", str(run_root)]) == 0
    assert capfd.readouterr().out == (run_root / "run_new" / "events.jsonl").read_text()
    assert main(["runs", "events", "run_nope", "--run-root", str(run_root)]) == 2
    assert "run_nope" in capfd.readouterr().err


def _follow(run_root: Path, run_id: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dad_studio.cli.main",
            "runs",
            "events",
            run_id,
            "--follow",
            "--run-root",
            str(run_root),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_events_follow_prints_a_live_run_as_it_is_written_and_ends_with_it(tmp_path: Path) -> None:
    run_root = tmp_path / "runs"
    writer = RunWriter(run_root / "run_live")
    writer.open({"root_component_id": "main"}, b"{}")
    log = EventLog(writer)
    log.emit("run_started", "main", run_id="run_live", root_component_id="main", variables={})
    child = _follow(run_root, "run_live")
    try:
        assert child.stdout is not None
        first = json.loads(child.stdout.readline())  # printed while the run is still writing
        assert first["type"] == "run_started"
        log.node("main.a")
        assert json.loads(child.stdout.readline())["type"] == "node_started"
        assert json.loads(child.stdout.readline())["path"] == "main.a"
        assert child.poll() is None  # still following
        log.emit("run_completed", "main", status="completed", counts={"completed": 1}, usage={}, duration_ms=1.0)
        rest, err = child.communicate(timeout=30)
        assert child.returncode == 0, err  # the run ended: so does the command
    finally:
        if child.returncode is None:
            child.kill()
            child.communicate()
        writer.close()
    assert [json.loads(line)["type"] for line in rest.splitlines()] == ["run_completed"]
    assert b"\0" not in rest


def test_events_follow_ends_when_the_runs_process_is_gone(tmp_path: Path) -> None:
    run_root = tmp_path / "runs"
    writer = RunWriter(run_root / "run_dead")
    writer.open({"root_component_id": "main"}, b"{}")
    log = EventLog(writer)
    log.node("main.a")
    writer.update_manifest(pid=dead_pid())  # as if its process had been killed: no run_completed ever
    child = _follow(run_root, "run_dead")
    out, err = child.communicate(timeout=30)
    writer.close()
    assert child.returncode == 0, err
    assert [json.loads(line)["path"] for line in out.splitlines()] == ["main.a", "main.a"]
