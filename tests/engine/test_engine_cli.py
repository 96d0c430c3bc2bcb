"""`dad-studio run`: exit codes, --json, inputs, continuation errors, and a kill -9 crash loop."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dad_studio.cli.main import main
from dad_studio.runs import read_run


def _write(tmp_path: Path, root: dict[str, Any], name: str = "flow.dad.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"format": "dad-flow", "schema_version": 1, "root": root}))
    return path


def _flow(tmp_path: Path) -> Path:
    return _write(
        tmp_path,
        {
            "id": "demo",
            "kind": "flow",
            "variables": {"n": 1, "word": "w"},
            "nodes": {
                "a": {"type": "noop", "settings": {"value": "$var{n}/$var{word}"}},
                "ask": {"type": "input", "settings": {"prompt": "who?", "fields": {"who": {"type": "string"}}}},
                "b": {"type": "noop"},
            },
            "edges": [{"from": "a", "to": "ask"}, {"from": "ask", "to": "b"}],
        },
    )


def _summary(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    out = capsys.readouterr().out
    return json.loads(out.strip().splitlines()[-1])


def test_cli_json_summary_vars_and_static_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = _flow(tmp_path)
    code = main(["run", str(flow), "--json", "--var", "n=7", "--var", "word=x", "--input", 'ask={"who": "me"}'])
    summary = _summary(capsys)
    assert code == 0
    assert summary["status"] == "completed"
    assert summary["nodes"] == {"demo.a": "completed", "demo.ask": "completed", "demo.b": "completed"}
    record = read_run(Path(summary["run_dir"]))
    assert record.results["demo.a"]["outcome"] == {"value": "7/x"}
    assert record.results["demo.ask"]["outcome"] == {"who": "me"}


def test_cli_inputs_file_and_no_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = _flow(tmp_path)
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"demo.ask": {"who": "file"}}))
    code = main(["run", str(flow), "--json", "--inputs", str(inputs), "--no-records"])
    assert code == 0
    assert _summary(capsys)["run_dir"] is None
    assert not (tmp_path / "runs").exists()


def test_cli_non_interactive_missing_input_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(_flow(tmp_path)), "--non-interactive", "--json"])
    err = capsys.readouterr().err
    assert code == 3
    assert "demo.ask" in err and "fields who" in err


def test_cli_invalid_flow_prints_every_problem_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _write(
        tmp_path,
        {
            "id": "bad",
            "kind": "flow",
            "nodes": {"a": {"type": "no_such_type"}, "b": {"type": "noop"}},
            "edges": [{"from": "a", "to": "ghost"}],
        },
    )
    code = main(["run", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert "no_such_type" in err and "ghost" in err


def test_cli_bad_continuation_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = _flow(tmp_path)
    assert main(["run", str(flow), "--previous-run", "run_missing", "--start-at", "demo.b"]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["run", str(flow), "--start-at", "demo.b"]) == 2
    assert main(["run", str(flow), "--var", "novalue"]) == 2


def _crash_flow(tmp_path: Path, chains: int = 6, length: int = 50) -> Path:
    nodes: dict[str, Any] = {}
    edges = []
    for c in range(chains):
        for i in range(length):
            # 50 x 6 ms: a chain takes >= 0.3 s, so every kill (0-0.2 s after the first event) lands mid-run.
            nodes[f"c{c}_{i}"] = {"type": "sleep", "settings": {"seconds": 0.006}}
            if i:
                edges.append({"from": f"c{c}_{i - 1}", "to": f"c{c}_{i}"})
    return _write(tmp_path, {"id": "crash", "kind": "flow", "nodes": nodes, "edges": edges})


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "dad_studio.cli.main", "run", *args]


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume(tmp_path: Path) -> None:
    flow = _crash_flow(tmp_path)
    rng = random.Random(1234)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    deadline = time.monotonic() + 150
    for trial in range(20):
        assert time.monotonic() < deadline, f"crash loop too slow (trial {trial})"
        run_root = tmp_path / f"runs{trial}"
        proc = subprocess.Popen(
            _cli(str(flow), "--run-root", str(run_root), "--json"),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        events_file = None
        while proc.poll() is None and events_file is None:
            found = list(run_root.glob("run_*/events.jsonl"))
            if found and found[0].stat().st_size > 0:
                events_file = found[0]
            else:
                time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert events_file is not None, "the run ended before writing events"
        first = read_run(events_file.parent)
        assert first.status == "interrupted", f"trial {trial}: {first.status}"
        assert [e["seq"] for e in first.events] == list(range(1, len(first.events) + 1))
        done_first = {p for p, r in first.results.items() if r.get("status") == "completed"}

        out = subprocess.run(
            _cli(str(flow), "--run-root", str(run_root), "--resume", first.run_id, "--json"),
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        summary = json.loads(out.stdout.strip().splitlines()[-1])
        second = read_run(Path(summary["run_dir"]))
        executed = {e["path"] for e in second.events if e["type"] == "node_started"}
        assert not executed & done_first, f"trial {trial}: re-executed {sorted(executed & done_first)[:5]}"
        assert len(executed) + len(done_first) == 300
        assert second.status == "completed" and len(summary["nodes"]) == 300
