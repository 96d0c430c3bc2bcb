import json

from dad_studio.cli.main import main


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
