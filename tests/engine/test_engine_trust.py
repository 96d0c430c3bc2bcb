"""Trust: an untrusted flow that runs code is refused before anything runs; --trust and
`dad-studio trust FOLDER` allow it. Also the telemetry options of `dad-studio run`.

Every test points DAD_STUDIO_CONFIG_DIR at a temporary folder (here and in conftest.py): the
user's real config is never read or written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dad_studio.cli.main import main
from dad_studio.engine.trust import code_uses, is_trusted
from dad_studio.fileformat import SCHEMA_VERSION, loads_flow
from dad_studio.model import FlowDefinition


@pytest.fixture(autouse=True)
def _config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "user-config"
    folder.mkdir()
    monkeypatch.setenv("DAD_STUDIO_CONFIG_DIR", str(folder))
    return folder


def _write(folder: Path, root: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "flow.dad.json"
    path.write_text(json.dumps({"format": "dad-flow", "schema_version": SCHEMA_VERSION, "root": root}))
    return path


def _command_flow(folder: Path) -> Path:
    return _write(
        folder,
        {
            "id": "demo",
            "nodes": {
                "a": {"type": "noop"},
                "sh": {"type": "command", "settings": {"commands": ["echo hello"]}},
            },
        },
    )


def _py_flow(folder: Path) -> Path:
    return _write(folder, {"id": "demo", "nodes": {"a": {"type": "noop", "settings": {"value": "$expr{py: 1 + 1}"}}}})


def test_code_uses_finds_code_nodes_and_py_expressions_in_bodies() -> None:
    body = FlowDefinition()
    body.node("inner", type="python", settings={"callable": "m:f"})
    body.node("txt", type="noop", settings={"value": "$expr{py: len(item)}"})
    flow = FlowDefinition(id="f", variables={"v": "$expr{py: 2}", "plain": "$expr{1 + 1}"})
    flow.node("sh", type="command", settings={"commands": ["ls"]})
    flow.node("ok", type="noop", settings={"value": "$var{plain} py: is just text"})
    flow.node("loop", type="for_each", settings={"statement": "$expr{[1]}", "body": body.model_dump(by_alias=True)})
    assert code_uses(flow) == [
        "f: py: expression in variables.v",
        "f.sh (command node)",
        "f.loop.inner (python node)",
        "f.loop.txt: py: expression in settings.value",
    ]
    plain = FlowDefinition(id="p")
    plain.node("a", type="noop", settings={"value": "$var{run_id}"})
    assert code_uses(plain) == []


def test_untrusted_flow_with_code_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for flow in (_command_flow(tmp_path / "cmd"), _py_flow(tmp_path / "py")):
        runs = tmp_path / "runs"
        code = main(["run", str(flow), "--run-root", str(runs), "--json"])
        err = capsys.readouterr().err
        assert code == 2
        assert "not trusted" in err and "--trust" in err and f"dad-studio trust {flow.parent.resolve()}" in err
        assert not runs.exists()  # refused before anything ran: no run folder, no index


def test_trust_flag_runs_it_once_and_trust_command_remembers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], _config_dir: Path
) -> None:
    flow = _command_flow(tmp_path / "proj")
    runs = tmp_path / "runs"
    assert main(["run", str(flow), "--run-root", str(runs), "--trust", "--json", "--no-telemetry"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["nodes"] == {"demo.a": "completed", "demo.sh": "completed"}
    assert not is_trusted(flow)  # --trust is for that run only
    assert main(["run", str(flow), "--run-root", str(runs)]) == 2
    capsys.readouterr()

    assert main(["trust", str(tmp_path / "proj")]) == 0
    assert "trusted:" in capsys.readouterr().out
    assert is_trusted(flow)
    assert str((tmp_path / "proj").resolve()) in (_config_dir / "config.json").read_text()
    assert main(["run", str(flow), "--run-root", str(runs), "--json", "--no-telemetry"]) == 0
    assert main(["trust", str(tmp_path / "missing")]) == 2


def test_untrusted_flow_without_code_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = _write(tmp_path / "plain", {"id": "demo", "nodes": {"a": {"type": "noop", "settings": {"value": "x"}}}})
    assert main(["run", str(flow), "--run-root", str(tmp_path / "runs"), "--json", "--no-telemetry"]) == 0


def test_cli_snapshot_is_the_flow_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = _write(tmp_path / "plain", {"id": "demo", "nodes": {"a": {"type": "noop"}}})
    assert main(["run", str(flow), "--run-root", str(tmp_path / "runs"), "--json", "--no-telemetry"]) == 0
    run_dir = Path(json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run_dir"])
    assert (run_dir / "flow.dad.json").read_bytes() == flow.read_bytes()
    old = _write(tmp_path / "old", {"id": "demo", "nodes": {"a": {"type": "noop"}}})
    old.write_text(old.read_text().replace(f'"schema_version": {SCHEMA_VERSION}', '"schema_version": 1'))
    assert main(["run", str(old), "--run-root", str(tmp_path / "runs"), "--json", "--no-telemetry"]) == 0
    run_dir = Path(json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run_dir"])
    snapshot = (run_dir / "flow.dad.json").read_bytes()  # migrated on load: the snapshot is the current form
    assert snapshot != old.read_bytes() and loads_flow(snapshot).component == loads_flow(old.read_bytes()).component


def test_telemetry_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = _write(tmp_path / "plain", {"id": "demo", "nodes": {"a": {"type": "noop"}}})
    runs = tmp_path / "runs"

    def run(*extra: str) -> Path:
        assert main(["run", str(flow), "--run-root", str(runs), "--json", *extra]) == 0
        return Path(json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run_dir"])

    assert not (run("--no-telemetry") / "trace").exists()
    assert (run() / "trace" / "spans.jsonl").is_file()
    with pytest.raises(SystemExit) as bad:
        main(["run", str(flow), "--log-level", "chatty"])
    assert bad.value.code == 2
    capsys.readouterr()


def test_telemetry_options_reach_the_settings() -> None:
    from dad_studio.cli.main import build_parser
    from dad_studio.cli.run_cmd import observability_settings
    from dad_studio.observability.settings import ObservabilitySettings

    args = build_parser().parse_args(
        ["run", "f.dad.json", "--otlp-endpoint", "http://127.0.0.1:4318", "--log-level", "debug"]
    )
    settings = ObservabilitySettings.model_validate(observability_settings(args))
    assert settings.otlp_endpoint == "http://127.0.0.1:4318" and settings.log_level == "DEBUG" and settings.enabled
    off = observability_settings(build_parser().parse_args(["run", "f.dad.json", "--no-telemetry"]))
    assert off == {"enabled": False}
    assert observability_settings(build_parser().parse_args(["run", "f.dad.json"])) is None


def test_code_in_a_ref_subflow_two_folders_away_is_found_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """main/flow.dad.json -> ../lib/a.dad.json -> deep/b.dad.json (relative to lib/), where the command is."""
    (tmp_path / "lib" / "deep").mkdir(parents=True)

    def doc(root: dict[str, Any]) -> str:
        return json.dumps({"format": "dad-flow", "schema_version": SCHEMA_VERSION, "root": root})

    (tmp_path / "lib" / "deep" / "b.dad.json").write_text(
        doc({"id": "b", "nodes": {"sh": {"type": "command", "settings": {"commands": ["echo hi"]}}}})
    )
    (tmp_path / "lib" / "a.dad.json").write_text(
        doc({"id": "a", "nodes": {"inner": {"type": "subflow", "settings": {"ref": "deep/b.dad.json"}}}})
    )
    flow = _write(
        tmp_path / "main",
        {"id": "demo", "nodes": {"outer": {"type": "subflow", "settings": {"ref": "../lib/a.dad.json"}}}},
    )
    component = loads_flow(flow.read_bytes()).component
    assert component is not None
    assert code_uses(component, flow_path=flow) == ["demo.outer.inner.sh (command node)"]
    runs = tmp_path / "runs"
    assert main(["run", str(flow), "--run-root", str(runs)]) == 2
    assert "demo.outer.inner.sh (command node)" in capsys.readouterr().err and not runs.exists()
    assert main(["run", str(flow), "--run-root", str(runs), "--trust", "--no-telemetry", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["nodes"]["demo.outer.inner.sh"] == "completed"
