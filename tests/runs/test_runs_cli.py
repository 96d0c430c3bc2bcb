"""`dad-studio runs list|show`: output, JSON, and a clear exit 2 for an unknown run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dad_studio.cli.main import main
from dad_studio.runs.testing import write_sample_run


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
