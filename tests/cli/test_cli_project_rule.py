"""`run`, `batch` and `runs list/show` find the project and its run root as the studio does
(dad_studio.fileformat.project): dad-studio.json, else the folder holding flows/, else the flow's folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dad_studio.cli.main import main

FLOW = {
    "format": "dad-flow",
    "schema_version": 2,
    "root": {"id": "f", "kind": "flow", "nodes": {"a": {"type": "noop"}}},
}


def _flow(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "f.dad.json"
    path.write_text(json.dumps(FLOW))
    return path


def _run_dir(capsys: pytest.CaptureFixture[str]) -> Path:
    return Path(json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run_dir"])


def test_run_uses_the_project_settings_run_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dad-studio.json").write_text(json.dumps({"name": "p", "run_root": "out/records"}))
    flow = _flow(tmp_path / "flows" / "deep")
    assert main(["run", str(flow), "--json"]) == 0
    assert _run_dir(capsys).parent == (tmp_path / "out" / "records").resolve()


def test_run_without_settings_uses_the_folder_holding_flows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = _flow(tmp_path / "flows")
    assert main(["run", str(flow), "--json"]) == 0
    assert _run_dir(capsys).parent == (tmp_path / "runs").resolve()
    assert not (tmp_path / "flows" / "runs").exists()
    loose = _flow(tmp_path / "loose")
    assert main(["run", str(loose), "--json"]) == 0
    assert _run_dir(capsys).parent == (tmp_path / "loose" / "runs").resolve()


def test_broken_project_settings_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dad-studio.json").write_text("{not json")
    flow = _flow(tmp_path / "flows")
    assert main(["run", str(flow)]) == 2
    assert "dad-studio.json: not readable JSON" in capsys.readouterr().err
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"id": "one"}\n')
    assert main(["batch", str(flow), "--inputs", str(rows)]) == 2
    assert "dad-studio.json: not readable JSON" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_batch_runs_go_to_the_project_run_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dad-studio.json").write_text(json.dumps({"name": "p", "run_root": "records"}))
    flow = _flow(tmp_path / "flows")
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"id": "one"}\n{"id": "two"}\n')
    assert main(["batch", str(flow), "--inputs", str(rows)]) == 0, capsys.readouterr().err
    assert len(list((tmp_path / "records").glob("batch_*run_*"))) == 2
    assert not (tmp_path / "flows" / "runs").exists()


def test_runs_list_and_show_default_to_the_project_of_the_current_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dad-studio.json").write_text(json.dumps({"name": "p", "run_root": "records"}))
    flow = _flow(tmp_path / "flows")
    assert main(["run", str(flow), "--json"]) == 0
    run_id = _run_dir(capsys).name
    monkeypatch.chdir(tmp_path / "flows")  # a subfolder of the project
    assert main(["runs", "list", "--json"]) == 0
    assert [m["run_id"] for m in json.loads(capsys.readouterr().out)] == [run_id]
    assert main(["runs", "show", run_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "completed"
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    monkeypatch.chdir(outside)
    assert main(["runs", "list"]) == 0
    assert "no runs under runs" in capsys.readouterr().err


def test_run_returns_once_the_run_root_is_left_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The index connection closes (its WAL checkpoint) after the run returns; the command waits for it,
    so a caller that moves or deletes the run root next finds nothing still being written there."""
    flow = _flow(tmp_path / "flows")
    for _ in range(5):
        assert main(["run", str(flow), "--json"]) == 0
        runs = _run_dir(capsys).parent
        assert (runs / "index.sqlite").is_file()
        assert sorted(p.name for p in runs.glob("index.sqlite-*")) == []  # -wal, -shm gone: closed
