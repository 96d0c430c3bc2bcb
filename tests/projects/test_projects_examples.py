"""The example projects: every flow validates and is canonical; the offline ones run end to end.

These are the newcomer's first contact (README.md), so each run checks what the example promises
in its README: the file it writes and what is in it, the branch it takes, the exit status.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from dad_studio.cli.main import main
from dad_studio.fileformat import SCHEMA_VERSION

REPO = Path(__file__).resolve().parents[2]
PROJECTS = REPO / "projects"
EXAMPLES = ("repo_digest", "interactive", "fan_out")
ALL_FLOWS = sorted(PROJECTS.glob("*/flows/*.dad.json"))
REAL_PROVIDER_FLOWS = sorted(PROJECTS.glob("*/flows/*_openai.dad.json"))


def _id(path: Path) -> str:
    return str(path.relative_to(PROJECTS))


def run_flow(capsys: pytest.CaptureFixture[str], flow: Path, run_root: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """`dad-studio run FLOW --run-root RUN_ROOT --json --non-interactive ...`: (exit status, summary)."""
    code = main(["run", str(flow), "--run-root", str(run_root), "--json", "--non-interactive", *extra])
    out = capsys.readouterr()
    summary = json.loads(out.out) if out.out.strip() else {}
    return code, summary | {"stderr": out.err}


def test_every_example_project_is_there():
    for name in EXAMPLES:
        project = PROJECTS / name
        assert (project / "README.md").is_file(), name
        assert json.loads((project / "dad-studio.json").read_text())["name"] == name
        assert (project / "flows" / f"{name}.dad.json").is_file(), name
        assert (project / "flows" / f"{name}_openai.dad.json").is_file(), name


@pytest.mark.parametrize("flow", ALL_FLOWS, ids=_id)
def test_example_flow_validates_and_is_canonical(flow, capsys):
    assert main(["validate", str(flow)]) == 0, capsys.readouterr().err
    assert main(["fmt", "--check", str(flow)]) == 0, capsys.readouterr().out
    if flow.parts[-3] in EXAMPLES:
        assert json.loads(flow.read_text())["schema_version"] == SCHEMA_VERSION, "run dad-studio fmt on it"


@pytest.mark.parametrize("flow", REAL_PROVIDER_FLOWS, ids=_id)
def test_real_provider_variant_names_its_model_and_key(flow):
    """The variant calls openai:gpt-4o-mini, and its project README says which variable it needs."""
    text = flow.read_text()
    assert "openai:gpt-4o-mini" in text
    assert "OPENAI_API_KEY" in (flow.parents[1] / "README.md").read_text()
    assert "sk-" not in text  # keys never go in flow files


def test_readmes_name_commands_that_exist():
    """Each example README's commands point at files that are there."""
    for name in EXAMPLES:
        readme = (PROJECTS / name / "README.md").read_text()
        for flow in (PROJECTS / name / "flows").glob("*.dad.json"):
            if not flow.name.startswith("explain_topic"):
                assert f"projects/{name}/flows/{flow.name}" in readme, (name, flow.name)


# -- repo_digest ------------------------------------------------------------------------------------


def _scripted_text(project: str, match: str) -> str:
    responses = json.loads((PROJECTS / project / "flows" / "responses.json").read_text())["responses"]
    return next(r["text"] for r in responses if isinstance(r, dict) and r.get("match") == match)


def test_repo_digest_writes_the_digest(tmp_path, capsys):
    code, summary = run_flow(capsys, PROJECTS / "repo_digest" / "flows" / "repo_digest.dad.json", tmp_path)
    assert code == 0, summary["stderr"]
    assert set(summary["nodes"].values()) == {"completed"} and len(summary["nodes"]) == 3
    digest = (Path(summary["run_dir"]) / "digest.md").read_text()
    assert digest.startswith("# Repository digest\n")
    assert _scripted_text("repo_digest", "Summarise this repository") in digest
    sample = PROJECTS / "repo_digest" / "sample_repo"
    files = [p for p in sample.rglob("*") if p.is_file()]
    assert f"## Layout ({len(files)} files)" in digest
    for path in files:
        assert f" {path.name}\n" in digest, path.name
    assert Path(summary["run_dir"]).parent == tmp_path


def test_repo_digest_on_another_folder(tmp_path, capsys):
    """`--var repo=FOLDER` digests any folder; its .gitignore is respected."""
    repo = tmp_path / "mine"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "widget.py").write_text("x = 1\n")
    (repo / "notes.txt").write_text("hello\n")
    (repo / "secret.log").write_text("ignored\n")
    (repo / ".gitignore").write_text("*.log\n")
    flow = PROJECTS / "repo_digest" / "flows" / "repo_digest.dad.json"
    code, summary = run_flow(capsys, flow, tmp_path / "runs", "--var", f"repo={repo}")
    assert code == 0, summary["stderr"]
    digest = (Path(summary["run_dir"]) / "digest.md").read_text()
    assert "widget.py" in digest and "notes.txt" in digest
    assert "secret.log" not in digest
    assert "## Layout (3 files)" in digest  # .gitignore, notes.txt, pkg/widget.py


# -- interactive ------------------------------------------------------------------------------------

INTERACTIVE = PROJECTS / "interactive" / "flows" / "interactive.dad.json"


def test_interactive_with_defaults_saves_without_review(tmp_path, capsys):
    code, summary = run_flow(capsys, INTERACTIVE, tmp_path, "--input", "ask={}")
    assert code == 0, summary["stderr"]
    nodes = summary["nodes"]
    assert nodes["interactive.save"] == "completed"
    assert nodes["interactive.approve"] == "skipped" and nodes["interactive.report_failure"] == "skipped"
    note = (Path(summary["run_dir"]) / "note.md").read_text()
    assert note == f"# Note on the test runner\n\n{_scripted_text('interactive', 'friendly')}\n"


@pytest.mark.parametrize("approved", [True, False])
def test_interactive_review_branch(tmp_path, capsys, approved):
    answers = tmp_path / "answers.json"
    answers.write_text(
        json.dumps({"ask": {"topic": "caching", "tone": "formal", "review": True}, "approve": {"approved": approved}})
    )
    code, summary = run_flow(capsys, INTERACTIVE, tmp_path / "runs", "--inputs", str(answers))
    assert code == 0, summary["stderr"]
    nodes = summary["nodes"]
    assert nodes["interactive.approve"] == "completed"
    note = Path(summary["run_dir"]) / "note.md"
    if approved:
        assert nodes["interactive.save"] == "completed"
        assert note.read_text() == f"# Note on caching\n\n{_scripted_text('interactive', 'formal')}\n"
    else:
        assert nodes["interactive.save"] == "skipped"
        assert not note.exists()


def test_interactive_error_branch(tmp_path, capsys):
    code, summary = run_flow(capsys, INTERACTIVE, tmp_path, "--input", 'ask={"simulate_failure": true}')
    assert code == 0, summary["stderr"]  # the error edge handles the failure: the run completes
    nodes = summary["nodes"]
    assert nodes["interactive.draft"] == "failed"
    assert nodes["interactive.report_failure"] == "completed"
    assert nodes["interactive.save"] == "skipped"
    failure = (Path(summary["run_dir"]) / "failure.md").read_text()
    assert failure.startswith("The draft failed: ") and "simulated provider outage" in failure
    assert not (Path(summary["run_dir"]) / "note.md").exists()


def test_interactive_without_an_answer_exits_3(tmp_path, capsys):
    code, summary = run_flow(capsys, INTERACTIVE, tmp_path)
    assert code == 3
    assert "input required by interactive.ask" in summary["stderr"]


def test_interactive_rejects_a_bad_answer(tmp_path, capsys):
    code, summary = run_flow(capsys, INTERACTIVE, tmp_path, "--input", 'ask={"tone": "sarcastic"}')
    assert code == 1
    assert summary["nodes"]["interactive.ask"] == "failed"


# -- fan_out ----------------------------------------------------------------------------------------

FAN_OUT = PROJECTS / "fan_out" / "flows" / "fan_out.dad.json"


def test_fan_out_runs_the_subflow_per_topic(tmp_path, capsys):
    code, summary = run_flow(capsys, FAN_OUT, tmp_path)
    assert code == 0, summary["stderr"]
    topics = json.loads(FAN_OUT.read_text())["root"]["variables"]["topics"]
    nodes = summary["nodes"]
    for i in range(len(topics)):
        assert nodes[f"fan_out.per_topic.iter_{i}.explain.save"] == "completed"
    run_dir = Path(summary["run_dir"])
    assert sorted(p.stem for p in (run_dir / "topics").iterdir()) == sorted(topics)
    for topic in topics:
        text = (run_dir / "topics" / f"{topic}.md").read_text()
        assert text.startswith(f"# {topic}\n") and f"Explain {topic} to a new team member." in text
    assert f"{len(topics)} topics explained" in (run_dir / "index.md").read_text()


def test_fan_out_topics_from_the_command_line(tmp_path, capsys):
    code, summary = run_flow(capsys, FAN_OUT, tmp_path, "--var", 'topics=["queues", "locks"]')
    assert code == 0, summary["stderr"]
    assert sorted(os.listdir(Path(summary["run_dir"]) / "topics")) == ["locks.md", "queues.md"]


def test_fan_out_subflow_runs_on_its_own(tmp_path, capsys):
    flow = PROJECTS / "fan_out" / "flows" / "explain_topic.dad.json"
    code, summary = run_flow(capsys, flow, tmp_path, "--var", "topic=retries")
    assert code == 0, summary["stderr"]
    assert (Path(summary["run_dir"]) / "topics" / "retries.md").read_text().startswith("# retries\n")


def test_interactive_batch_rows(tmp_path, capsys):
    """`dad-studio batch` answers the prompts from projects/interactive/rows.jsonl, one run per row."""
    rows = PROJECTS / "interactive" / "rows.jsonl"
    code = main(["batch", str(INTERACTIVE), "--inputs", str(rows), "--run-root", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 0, err
    notes = sorted(p.read_text() for p in tmp_path.glob("*/note.md"))
    failures = list(tmp_path.glob("*/failure.md"))
    assert len(notes) == 2 and len(failures) == 1
    assert any(n.startswith("# Note on caching\n") for n in notes)
    assert any(n.startswith("# Note on retries\n") for n in notes)


# -- the studio's project root -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flow", "inputs", "artifact"),
    [
        ("repo_digest/flows/repo_digest.dad.json", {}, "digest.md"),
        ("interactive/flows/interactive.dad.json", {"ask": {}}, "note.md"),
        ("fan_out/flows/fan_out.dad.json", {}, "index.md"),
    ],
)
async def test_examples_run_with_the_studio_project_root(tmp_path, flow, inputs, artifact):
    """The studio runs a flow under `<project>/flows/` with the project folder as project_root (the
    CLI uses the flow's folder): the examples must run the same either way."""
    from dad_studio.engine import FlowRunner, RunContext, Status
    from dad_studio.fileformat import load_flow

    path = PROJECTS / flow
    loaded = load_flow(path)
    assert loaded.component is not None and loaded.ok
    project = path.parent.parent
    rc = RunContext(
        root_component_id=loaded.component.id or "root",
        project_root=project,
        run_root=tmp_path,
        inputs=inputs,
        flow_path=path,
        trusted=False,
    )
    result = await FlowRunner(loaded.component, rc).run()
    assert result.status is Status.COMPLETED, result.nodes
    assert (Path(result.run_dir) / artifact).is_file()
