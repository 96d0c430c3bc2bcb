"""End to end through the CLI: the all_nodes example, and model failures that must leak no key."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from nodes_fake_llm_server import FakeLLMServer

from dad_studio.cli.main import main

REPO = Path(__file__).resolve().parents[2]
ALL_NODES = REPO / "projects" / "all_nodes" / "flows" / "all_nodes.dad.json"
KEY = "sk-test-DISTINCTIVE-e2e-5b7c9d1e3f"
WRONG = "sk-wrong-DISTINCTIVE-e2e-0a2b4c6d8e"


def _all_text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file())


def test_all_nodes_example_runs_offline(tmp_path, capsys):
    code = main(
        [
            "run",
            str(ALL_NODES),
            "--trust",
            "--non-interactive",
            "--input",
            'ask={"topic": "layout"}',
            "--run-root",
            str(tmp_path),
            "--json",
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    summary = json.loads(out.out)
    nodes = summary["nodes"]
    types_seen = {
        "scan",
        "ask",
        "stats",
        "summarize",
        "classify",
        "echo",
        "big",
        "per_file",
        "report",
        "report.write",
        "report.check",
    }
    for name in types_seen:
        assert nodes[f"all_nodes.{name}"] == "completed", name
    assert nodes["all_nodes.warn"] == "skipped"
    assert sum(1 for k in nodes if k.startswith("all_nodes.per_file.iter_")) == 4
    report = (Path(summary["run_dir"]) / "report.md").read_text()
    assert report.startswith("# Folder report\n")
    assert "Label: small" in report and "Files: 4" in report
    assert "Start with the README" in report


def test_all_nodes_without_input_in_non_interactive_mode_exits_3(tmp_path, capsys):
    code = main(["run", str(ALL_NODES), "--trust", "--non-interactive", "--run-root", str(tmp_path)])
    capsys.readouterr()
    assert code == 3


def _model_flow(folder: Path, model: str) -> Path:
    flow = {
        "format": "dad-flow",
        "schema_version": 1,
        "root": {
            "id": "keyflow",
            "kind": "flow",
            "nodes": {"ask": {"type": "ai_model", "settings": {"model": model, "prompt": "hello", "stream": True}}},
            "edges": [],
        },
    }
    path = folder / "key.dad.json"
    path.write_text(json.dumps(flow))
    return path


def _configure(user_config_dir: Path, provider: str, base_url: str) -> None:
    conf = {"providers": {provider: {"base_url": base_url, "max_retries": 0, "timeout_s": 5}}}
    (user_config_dir / "config.json").write_text(json.dumps(conf))


@pytest.mark.parametrize(
    ("provider", "env", "suffix"), [("openai", "OPENAI_API_KEY", "/v1"), ("anthropic", "ANTHROPIC_API_KEY", "")]
)
def test_keys_never_reach_the_run_folder(tmp_path, capsys, monkeypatch, user_config_dir, provider, env, suffix):
    runs = tmp_path / "runs"
    flow = _model_flow(tmp_path, f"{provider}:m")
    with FakeLLMServer(KEY) as server:
        _configure(user_config_dir, provider, server.url + suffix)
        monkeypatch.setenv(env, KEY)
        assert main(["run", str(flow), "--run-root", str(runs), "--non-interactive"]) == 0
        monkeypatch.setenv(env, WRONG)
        assert main(["run", str(flow), "--run-root", str(runs), "--non-interactive", "--json"]) == 1
    out = capsys.readouterr()
    assert "authentication failed (401)" in out.err
    assert "Traceback" not in out.err
    assert "DISTINCTIVE" not in out.out + out.err
    assert "DISTINCTIVE" not in _all_text(runs)
    assert "Hello from the fake model" in _all_text(runs)  # the grep did read the records


def test_unreachable_endpoint_fails_cleanly(tmp_path, capsys, monkeypatch, user_config_dir):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _configure(user_config_dir, "openai", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    runs = tmp_path / "runs"
    code = main(["run", str(_model_flow(tmp_path, "openai:m")), "--run-root", str(runs), "--non-interactive"])
    out = capsys.readouterr()
    assert code == 1
    assert f"could not connect to http://127.0.0.1:{port}/v1" in out.err
    assert "Traceback" not in out.err and "DISTINCTIVE" not in out.err
    assert "DISTINCTIVE" not in _all_text(runs)


def test_missing_key_names_the_variable(tmp_path, capsys):
    code = main(
        ["run", str(_model_flow(tmp_path, "anthropic:m")), "--run-root", str(tmp_path / "runs"), "--non-interactive"]
    )
    out = capsys.readouterr()
    assert code == 1
    assert "set the environment variable ANTHROPIC_API_KEY" in out.err
