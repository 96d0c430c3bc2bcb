"""The trust prompt (issue 5) before the run viewer's "Re-run from here" and "Resume".

The continuation runs the run folder's snapshot, but trust is decided by the folder of the flow
file recorded in run.json (`flow_file`); a run whose file is gone, or that had none (untitled), is
untrusted and the prompt offers only "Run once" / "Cancel". Every answer is given by clicking the
prompt's real button, then checked against the user config file, the run folders on disk and the
node statuses of the new run's record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6 import QtCore, QtWidgets

from dad_studio.engine import FlowRunner, RunContext
from dad_studio.model import FlowDefinition
from dad_studio.nodes.trust import trust_folder
from dad_studio.runs import read_run
from dad_studio.ui.history.viewer import RunViewer
from dad_studio.ui.main_window import MainWindow
from dad_studio.ui.run.trust_prompt import TrustAnswer, TrustPrompt

CODE_FLOW: dict[str, Any] = {
    "id": "coded",
    "kind": "flow",
    "variables": {"n": "$expr{py: 20 + 1}"},
    "nodes": {
        "shell": {"type": "command", "settings": {"commands": ["echo from-the-shell"]}},
        "calc": {"type": "noop", "settings": {"value": "$expr{py: 6 * 7}"}},
        "show": {"type": "noop", "settings": {"value": "n=$var{n}"}},
    },
    "edges": [{"from": "shell", "to": "calc"}, {"from": "calc", "to": "show"}],
    "layout": {"shell": [0, 0], "calc": [300, 0], "show": [600, 0]},
}
PLAIN_FLOW: dict[str, Any] = {
    "id": "plain",
    "kind": "flow",
    "nodes": {"a": {"type": "noop", "settings": {"value": "x"}}, "b": {"type": "noop", "settings": {"value": "y"}}},
    "edges": [{"from": "a", "to": "b"}],
}
NO_ROOT_CODE = {**CODE_FLOW, "variables": {"n": 21}}
"""Runs untrusted up to the command node (a py: root variable would refuse the whole run at once)."""
ALL_DONE = {"coded.shell": "completed", "coded.calc": "completed", "coded.show": "completed"}


@pytest.fixture(autouse=True)
def user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "user-config"
    monkeypatch.setenv("DAD_STUDIO_CONFIG_DIR", str(folder))
    return folder


def trusted_in_config(config: Path) -> list[str]:
    file = config / "config.json"
    if not file.exists():
        return []
    return [str(f) for f in json.loads(file.read_text(encoding="utf-8")).get("trusted_folders", [])]


def write_flow(tmp_path: Path, root: dict[str, Any]) -> Path:
    path = tmp_path / "proj" / "flows" / "flow.dad.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": "dad-flow", "schema_version": 1, "root": root}), encoding="utf-8")
    return path


def first_run(
    qloop: qasync.QEventLoop, root: dict[str, Any], flow_path: Path | None, run_root: Path, trusted: bool
) -> Path:
    """A run made the way the CLI makes one (flow_file recorded, or none for an untitled flow)."""
    flow = FlowDefinition.model_validate(root)
    rc = RunContext(
        root_component_id=flow.id or "root",
        project_root=run_root.parent,
        run_root=run_root,
        trusted=trusted,
        flow_path=flow_path,
    )
    rc.setup_run()

    async def go() -> None:
        async with FlowRunner(flow, rc).iter() as run:
            async for _ in run:
                pass

    qloop.run_until_complete(go())
    assert rc.run_dir is not None
    return rc.run_dir


def run_dirs(run_root: Path) -> list[Path]:
    return sorted(p for p in run_root.iterdir() if p.is_dir())


def statuses(run_dir: Path) -> dict[str, str]:
    return {path: str(r["status"]) for path, r in read_run(run_dir).results.items()}


def start(viewer: RunViewer, qtbot: Any, *, rerun_from: str | None) -> TrustPrompt | None:
    """Re-run from a node (or Resume), press the plan bar's Start; the trust prompt it opened, or None."""
    if rerun_from is not None:
        viewer.canvas.scene.select_ids([rerun_from])
        viewer.rerun_action.trigger()
    else:
        assert viewer.resume_action.isEnabled()
        viewer.resume_action.trigger()
    assert viewer.plan is not None
    before = viewer.task
    prompted: list[Any] = []
    viewer.trust_prompted.connect(prompted.append)
    qtbot.mouseClick(viewer.plan_start, QtCore.Qt.MouseButton.LeftButton)
    viewer.trust_prompted.disconnect(prompted.append)
    if not prompted:
        return None
    prompt = prompted[0]
    qtbot.waitUntil(prompt.isVisible)
    assert prompt.windowModality() == QtCore.Qt.WindowModality.WindowModal
    assert viewer.trust_prompt is prompt and viewer.task is before  # nothing runs while it asks
    assert not viewer.rerun_action.isEnabled() and not viewer.resume_action.isEnabled()
    return prompt


def click(viewer: RunViewer, prompt: TrustPrompt, answer: TrustAnswer, qtbot: Any) -> Any:
    """Click the prompt's real button; the task the viewer reported (None if nothing started)."""
    got: list[tuple[TrustAnswer, Any]] = []
    viewer.trust_answered.connect(lambda a, t: got.append((a, t)))
    qtbot.mouseClick(prompt.buttons_by_answer[answer], QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(got))
    assert not prompt.isVisible() and viewer.trust_prompt is None
    assert got[0][0] is answer
    return got[0][1]


def finish(qloop: qasync.QEventLoop, viewer: RunViewer, task: Any, run_root: Path) -> Path:
    assert task is not None and task is viewer.task
    qloop.run_until_complete(task)
    assert viewer.error is None, viewer.error
    return run_root / str(viewer.new_run_id)


def test_rerun_prompt_cancel_runs_nothing(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any, tmp_path: Path, user_config: Path
) -> None:
    flow = write_flow(tmp_path, CODE_FLOW)
    run_root = tmp_path / "proj" / "runs"
    run_dir = first_run(qloop, CODE_FLOW, flow, run_root, trusted=True)
    viewer = window.history.open_run(run_dir)
    prompt = start(viewer, qtbot, rerun_from="calc")
    assert prompt is not None
    assert set(prompt.buttons_by_answer) == {TrustAnswer.TRUST_FOLDER, TrustAnswer.RUN_ONCE, TrustAnswer.CANCEL}
    assert prompt.folder == (tmp_path / "proj").resolve()  # the original file's project folder
    lines = [prompt.uses_list.item(i).text() for i in range(prompt.uses_list.count())]
    assert lines[0] == "coded.shell  (command node)" and "    coded.calc: settings.value" in lines
    assert click(viewer, prompt, TrustAnswer.CANCEL, qtbot) is None
    assert run_dirs(run_root) == [run_dir]
    assert trusted_in_config(user_config) == []
    assert "nothing ran" in viewer.notes.text()
    assert viewer.rerun_action.isEnabled()  # calc is still selected: it can be asked again
    # Escape is Cancel too
    prompt = start(viewer, qtbot, rerun_from="calc")
    assert prompt is not None
    got: list[Any] = []
    viewer.trust_answered.connect(lambda a, t: got.append((a, t)))
    qtbot.keyClick(prompt, QtCore.Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: bool(got))
    assert got == [(TrustAnswer.CANCEL, None)] and run_dirs(run_root) == [run_dir]


def test_rerun_run_once_runs_trusted_and_remembers_nothing(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any, tmp_path: Path, user_config: Path
) -> None:
    flow = write_flow(tmp_path, CODE_FLOW)
    run_root = tmp_path / "proj" / "runs"
    run_dir = first_run(qloop, CODE_FLOW, flow, run_root, trusted=True)
    viewer = window.history.open_run(run_dir)
    prompt = start(viewer, qtbot, rerun_from="shell")
    assert prompt is not None
    new_dir = finish(qloop, viewer, click(viewer, prompt, TrustAnswer.RUN_ONCE, qtbot), run_root)
    assert statuses(new_dir) == ALL_DONE
    record = read_run(new_dir)
    assert record.manifest.get("previous_run_id") == run_dir.name
    assert "from-the-shell" in json.dumps(record.resolve(record.results["coded.shell"]["outcome"]))
    assert record.resolve(record.results["coded.calc"]["outcome"])["value"] == "42"
    assert run_dirs(run_root) == sorted([run_dir, new_dir])
    assert trusted_in_config(user_config) == []
    # not remembered: the next continuation asks again
    prompt = start(viewer, qtbot, rerun_from="calc")
    assert prompt is not None
    click(viewer, prompt, TrustAnswer.CANCEL, qtbot)
    assert len(run_dirs(run_root)) == 2


def test_resume_trust_folder_remembers_it_and_the_next_continuation_does_not_ask(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any, tmp_path: Path, user_config: Path
) -> None:
    flow = write_flow(tmp_path, NO_ROOT_CODE)
    run_root = tmp_path / "proj" / "runs"
    run_dir = first_run(qloop, NO_ROOT_CODE, flow, run_root, trusted=False)  # its code was refused
    assert read_run(run_dir).status == "failed"
    assert statuses(run_dir)["coded.shell"] == "failed"
    viewer = window.history.propose_resume(run_dir)  # what the history panel's Resume does
    assert viewer.plan is not None
    viewer.cancel_plan()
    prompt = start(viewer, qtbot, rerun_from=None)
    assert prompt is not None
    task = click(viewer, prompt, TrustAnswer.TRUST_FOLDER, qtbot)
    assert trusted_in_config(user_config) == [str((tmp_path / "proj").resolve())]
    new_dir = finish(qloop, viewer, task, run_root)
    assert statuses(new_dir) == ALL_DONE
    assert read_run(new_dir).manifest.get("previous_run_id") == run_dir.name
    # remembered: a re-run of the new run starts at once
    assert start(viewer, qtbot, rerun_from="calc") is None
    third = finish(qloop, viewer, viewer.task, run_root)
    assert statuses(third) == ALL_DONE
    assert run_dirs(run_root) == sorted([run_dir, new_dir, third])


@pytest.mark.parametrize("origin", ["file_gone", "untitled"])
def test_run_without_its_flow_file_is_untrusted_and_offers_run_once(
    origin: str, window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any, tmp_path: Path, user_config: Path
) -> None:
    flow = write_flow(tmp_path, CODE_FLOW)
    trust_folder(tmp_path / "proj")  # trusted where the file was: a file that is gone proves nothing
    user_config_before = trusted_in_config(user_config)
    run_root = tmp_path / "proj" / "runs"
    run_dir = first_run(qloop, CODE_FLOW, flow if origin == "file_gone" else None, run_root, trusted=True)
    if origin == "file_gone":
        flow.unlink()
    viewer = window.history.open_run(run_dir)
    prompt = start(viewer, qtbot, rerun_from="shell")
    assert prompt is not None
    assert set(prompt.buttons_by_answer) == {TrustAnswer.RUN_ONCE, TrustAnswer.CANCEL}  # nothing to trust or save
    assert prompt.folder is None
    text = prompt.findChild(QtWidgets.QLabel, "trust_text")
    assert text is not None
    assert ("is gone" in text.text()) if origin == "file_gone" else ("untitled flow" in text.text())
    assert click(viewer, prompt, TrustAnswer.CANCEL, qtbot) is None
    assert run_dirs(run_root) == [run_dir]
    prompt = start(viewer, qtbot, rerun_from="shell")
    assert prompt is not None
    new_dir = finish(qloop, viewer, click(viewer, prompt, TrustAnswer.RUN_ONCE, qtbot), run_root)
    assert statuses(new_dir) == ALL_DONE
    assert trusted_in_config(user_config) == user_config_before


def test_trusted_folder_and_code_free_snapshot_never_ask(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any, tmp_path: Path, user_config: Path
) -> None:
    flow = write_flow(tmp_path, CODE_FLOW)
    run_root = tmp_path / "proj" / "runs"
    run_dir = first_run(qloop, CODE_FLOW, flow, run_root, trusted=True)
    trust_folder(tmp_path)  # a parent of the project
    viewer = window.history.open_run(run_dir)
    assert start(viewer, qtbot, rerun_from="shell") is None
    assert statuses(finish(qloop, viewer, viewer.task, run_root)) == ALL_DONE

    other = tmp_path / "elsewhere"
    plain = write_flow(other, PLAIN_FLOW)  # untrusted folder, no code in the snapshot
    plain_root = other / "proj" / "runs"
    plain_run = first_run(qloop, PLAIN_FLOW, plain, plain_root, trusted=False)
    viewer = window.history.open_run(plain_run)
    assert start(viewer, qtbot, rerun_from="b") is None
    new_dir = finish(qloop, viewer, viewer.task, plain_root)
    assert statuses(new_dir) == {"plain.a": "completed", "plain.b": "completed"}
    assert trusted_in_config(user_config) == [str(tmp_path.resolve())]


def test_closing_the_viewer_with_the_prompt_open_runs_nothing(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any, tmp_path: Path
) -> None:
    flow = write_flow(tmp_path, CODE_FLOW)
    run_root = tmp_path / "proj" / "runs"
    run_dir = first_run(qloop, CODE_FLOW, flow, run_root, trusted=True)
    viewer = window.history.open_run(run_dir)
    prompt = start(viewer, qtbot, rerun_from="calc")
    assert prompt is not None
    viewer.shutdown()
    assert viewer.trust_prompt is None and viewer.task is None
    assert run_dirs(run_root) == [run_dir]
