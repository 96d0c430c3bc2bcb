"""Secrets never reach any file of a run, nor the CLI's output: env keys, credentials.json, secret variables.
And `--var` refuses unknown names and values of the wrong kind."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from dad_studio.cli.main import main
from dad_studio.engine import FlowRunner, RunContext
from dad_studio.model import FlowDefinition
from dad_studio.runs.redact import Redactor, scrub

KEY = "sk-verysecret123"


def _write(tmp_path: Path, root: dict[str, Any]) -> Path:
    path = tmp_path / "flow.dad.json"
    path.write_text(json.dumps({"format": "dad-flow", "schema_version": 2, "root": root}))
    return path


def _files_holding(folder: Path, secret: str) -> list[str]:
    return sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()
    )


def _leaky_command_flow(tmp_path: Path, echo: str) -> Path:
    return _write(
        tmp_path,
        {
            "id": "f",
            "kind": "flow",
            "variables": {"token": "none", "n": 1},
            "nodes": {"c": {"type": "command", "settings": {"commands": [f"echo key={echo} >&2; exit 1"]}}},
        },
    )


def test_env_api_key_is_in_no_file_and_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_API_KEY", KEY)
    flow = _leaky_command_flow(tmp_path, "$DEMO_API_KEY")
    assert main(["run", str(flow), "--trust", "--json"]) == 1
    out, err = capsys.readouterr()
    assert KEY not in out and KEY not in err
    assert "key=***" in err  # the progress line is there, scrubbed
    runs = tmp_path / "runs"
    assert next(runs.glob("run_*/trace/spans.jsonl")).stat().st_size > 0
    assert _files_holding(runs, KEY) == []


def test_a_key_typed_into_the_flow_stays_out_of_the_run_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot (flow.dad.json of the run) is the flow as it ran, with the run's secrets replaced."""
    monkeypatch.setenv("DEMO_API_KEY", KEY)
    flow = _write(
        tmp_path,
        {"id": "f", "kind": "flow", "nodes": {"a": {"type": "noop", "settings": {"value": f'x "{KEY}" y'}}}},
    )
    assert main(["run", str(flow), "--json"]) == 0
    capsys.readouterr()
    runs = tmp_path / "runs"
    assert _files_holding(runs, KEY) == []
    snapshot = json.loads(next(runs.glob("run_*/flow.dad.json")).read_text())
    assert snapshot["root"]["nodes"]["a"]["settings"]["value"] == 'x "***" y'
    manifest = json.loads(next(runs.glob("run_*/run.json")).read_text())
    assert manifest["flow_sha256"] == hashlib.sha256(flow.read_bytes()).hexdigest()


def test_credentials_json_key_is_redacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "credentials.json").write_text(json.dumps({"OTHER_API_KEY": KEY}))
    monkeypatch.setenv("DAD_STUDIO_CONFIG_DIR", str(config))
    monkeypatch.delenv("OTHER_API_KEY", raising=False)
    (tmp_path / "key.txt").write_text(KEY)
    # A node that prints the key (as a provider's error might); the flow file itself does not hold it.
    flow = _leaky_command_flow(tmp_path, f"$(cat {tmp_path / 'key.txt'})")
    assert main(["run", str(flow), "--trust"]) == 1
    _out, err = capsys.readouterr()
    assert KEY not in err and "key=***" in err
    assert _files_holding(tmp_path / "runs", KEY) == []


def test_secret_var_is_used_but_redacted_everywhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow = _write(
        tmp_path,
        {
            "id": "f",
            "kind": "flow",
            "variables": {"token": "none"},
            "nodes": {"a": {"type": "noop", "settings": {"value": "got $var{token}!"}}},
        },
    )
    secret = "hunter2-secret"
    assert main(["run", str(flow), "--secret-var", f"token={secret}", "--json"]) == 0
    out, err = capsys.readouterr()
    assert secret not in out + err
    run_dir = Path(json.loads(out.strip().splitlines()[-1])["run_dir"])
    assert _files_holding(tmp_path / "runs", secret) == []
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["variables"]["token"] == "***"
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert events[0]["variables"]["token"] == "***"
    done = next(e for e in events if e["type"] == "node_completed")
    assert done["outcome"] == {"value": "got ***!"}  # the node did get the value (it was replaced after)


async def test_secret_variables_hide_short_and_non_text_values_by_name(tmp_path: Path) -> None:
    flow = FlowDefinition(id="f", variables={"pin": 0, "plain": "p"})
    flow.node("a", type="noop")
    seen: list[dict[str, Any]] = []
    rc = RunContext(
        root_component_id="f",
        project_root=tmp_path,
        variables={"pin": 42},
        secret_variables={"pin"},
        observability_settings={"enabled": False},
    )
    rc.register_event_handler("*", seen.append)
    result = await FlowRunner(flow, rc).run()
    assert seen[0]["variables"] == {"pin": "***", "plain": "p"}
    assert result.run_dir is not None
    assert json.loads((result.run_dir / "run.json").read_text())["variables"]["pin"] == "***"


def test_scrub_and_redactor() -> None:
    assert scrub({"a": [f"x{KEY}y", KEY], KEY: 1}, [KEY]) == {"a": ["x***y", "***"], "***": 1}
    redactor = Redactor([KEY], {"token"})
    event = {"seq": 1, "type": "log", "message": "plain"}
    assert redactor.event(event) is event  # nothing to hide: not copied
    hidden = redactor.event({"seq": 2, "variables": {"token": 5, "other": f"={KEY}"}})
    assert hidden["variables"] == {"token": "***", "other": "=***"}
    assert redactor.text(f"a {KEY} b") == "a *** b"


# -- --var checks -------------------------------------------------------------------------------------


def _var_flow(tmp_path: Path) -> Path:
    return _write(
        tmp_path,
        {
            "id": "f",
            "kind": "flow",
            "variables": {"n": 1, "word": "w", "ratio": 0.5, "flag": False, "items": [1], "opt": None},
            "nodes": {"a": {"type": "noop", "settings": {"value": "$var{n}"}}},
        },
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--var", "nope=3"], "has no such variable; its variables: n, word, ratio, flag, items, opt"),
        (["--var", "n=abc"], "'abc' is not JSON"),
        (["--var", "n=true"], "is a boolean, but n defaults to a number"),
        (["--var", "n=1.5"], "is a number, but n defaults to a number 1"),
        (["--var", "flag=1"], "is a number, but flag defaults to a boolean"),
        (["--var", "items={}"], "is an object, but items defaults to a list"),
        (["--secret-var", "nope=x"], "--secret-var nope"),
    ],
)
def test_var_refused_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["run", str(_var_flow(tmp_path)), "--no-records", *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_var_values_of_the_declared_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--var", "n=3", "--var", "word=12", "--var", "ratio=2", "--var", "flag=true"]
    args += ["--var", "items=[1, 2]", "--var", "opt=free text", "--json"]
    assert main(["run", str(_var_flow(tmp_path)), *args]) == 0
    run_dir = Path(json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run_dir"])
    variables = json.loads((run_dir / "run.json").read_text())["variables"]
    assert variables == {"n": 3, "word": "12", "ratio": 2, "flag": True, "items": [1, 2], "opt": "free text"}
