import json
from pathlib import Path

import pytest

from dad_studio.cli.main import main
from dad_studio.cli.new_cmd import canonical_flow


def test_new_scaffolds_a_project(tmp_path, capsys):
    target = tmp_path / "my-project"
    assert main(["new", str(target)]) == 0
    assert (target / "flows" / "main.dad.json").is_file()
    assert (target / "runs").is_dir()
    assert (target / ".gitignore").read_text().splitlines()[0] == "runs/"
    settings = json.loads((target / "dad-studio.json").read_text())
    assert settings["name"] == "my_project"
    flow = json.loads((target / "flows" / "main.dad.json").read_text())
    assert flow["root"]["id"] == "my_project"
    assert flow["root"]["nodes"]["answer"]["settings"]["model"] == "echo"
    assert "my_project" in (target / "README.md").read_text()
    assert "created" in capsys.readouterr().out


def test_new_refuses_a_non_empty_folder(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("x")
    assert main(["new", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not an empty folder" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_new_model_option(tmp_path):
    assert main(["new", str(tmp_path / "p"), "--model", "openai:gpt-4o-mini"]) == 0
    flow = json.loads((tmp_path / "p" / "flows" / "main.dad.json").read_text())
    assert flow["root"]["nodes"]["answer"]["settings"]["model"] == "openai:gpt-4o-mini"


def test_scaffolded_flow_validates_is_canonical_and_runs_offline(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DAD_STUDIO_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    target = tmp_path / "demo"
    assert main(["new", str(target)]) == 0
    flow = target / "flows" / "main.dad.json"
    capsys.readouterr()
    assert main(["validate", str(flow)]) == 0, capsys.readouterr().err
    assert main(["fmt", "--check", str(flow)]) == 0, capsys.readouterr().out
    capsys.readouterr()
    code = main(["run", str(flow), "--run-root", str(tmp_path / "runs"), "--non-interactive", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    summary = json.loads(out.out)
    assert summary["nodes"] == {"demo.answer": "completed", "demo.save": "completed"}
    answer = (Path(summary["run_dir"]) / "answer.md").read_text()
    assert "Write three bullet points about DAD Studio." in answer  # the echo model answers with its prompt


def test_new_refuses_a_name_that_is_not_an_id(tmp_path, capsys):
    target = tmp_path / "p"
    assert main(["new", str(target), "--name", "9 lives"]) == 2
    assert "is not an id" in capsys.readouterr().err
    assert not target.exists()


def test_new_escapes_the_model_string(tmp_path):
    assert main(["new", str(tmp_path / "p"), "--model", 'odd"name']) == 0
    flow = json.loads((tmp_path / "p" / "flows" / "main.dad.json").read_text())
    assert flow["root"]["nodes"]["answer"]["settings"]["model"] == 'odd"name'


def test_canonical_flow_lists_the_problems_of_an_invalid_flow(tmp_path):
    text = json.dumps(
        {
            "format": "dad-flow",
            "schema_version": 1,
            "root": {"id": "x", "kind": "flow", "nodes": {}, "edges": [{"from": "a", "to": "b"}]},
        }
    )
    with pytest.raises(ValueError, match="would be invalid: /root/edges"):
        canonical_flow(text, tmp_path / "main.dad.json")
