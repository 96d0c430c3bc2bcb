import pytest

from dad_studio.fileformat.project import ProjectError, find_project_root, project_dirs


def _flow(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    return path


def test_settings_file_marks_the_project(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "dad-studio.json").write_text('{"name": "p", "run_root": "records"}')
    flow = _flow(tmp_path / "p" / "flows" / "deep" / "x.dad.json")
    assert find_project_root(flow) == (tmp_path / "p").resolve()
    assert project_dirs(flow) == ((tmp_path / "p").resolve(), (tmp_path / "p" / "records").resolve())


def test_flows_folder_without_settings(tmp_path):
    flow = _flow(tmp_path / "proj" / "flows" / "x.dad.json")
    assert project_dirs(flow) == ((tmp_path / "proj").resolve(), (tmp_path / "proj" / "runs").resolve())


def test_loose_file_is_its_own_project(tmp_path):
    flow = _flow(tmp_path / "a" / "x.dad.json")
    assert project_dirs(flow) == ((tmp_path / "a").resolve(), (tmp_path / "a" / "runs").resolve())


@pytest.mark.parametrize("content", ["not json", '{"run_root": 3}', '{"run_root": "  "}'])
def test_bad_settings_file_is_a_clear_error(tmp_path, content):
    (tmp_path / "dad-studio.json").write_text(content)
    with pytest.raises(ProjectError, match=r"dad-studio\.json"):
        project_dirs(_flow(tmp_path / "x.dad.json"))


def test_scaffolded_project_layout(tmp_path):
    from dad_studio.cli.main import main

    assert main(["new", str(tmp_path / "demo")]) == 0
    root, run_root = project_dirs(tmp_path / "demo" / "flows" / "main.dad.json")
    assert root == (tmp_path / "demo").resolve() and run_root == (tmp_path / "demo" / "runs").resolve()
