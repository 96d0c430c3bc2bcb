"""The trust prompt (issue 5) before the Batches dock's "Run Batch…".

A batch of a flow file that runs code from an untrusted folder waits for the prompt; its answer
covers every row (run_batch's `trusted`). The batch is started like a user does (the Run Batch
action, the rows file dialog), the prompt is answered by clicking its real buttons, then the user
config file, the batch and run folders on disk and each row run's node statuses are checked.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6 import QtCore, QtWidgets

from dad_studio.batch import BatchReport
from dad_studio.nodes.trust import trust_folder
from dad_studio.runs import read_run
from dad_studio.ui.main_window import MainWindow
from dad_studio.ui.run.trust_prompt import TrustAnswer, TrustPrompt

CODE_FLOW: dict[str, Any] = {
    "id": "coded",
    "kind": "flow",
    "variables": {"word": "w"},
    "nodes": {
        "shell": {"type": "command", "settings": {"commands": ["echo shell-$var{word}"]}},
        "calc": {"type": "noop", "settings": {"value": "$expr{py: 6 * 7}"}},
    },
    "edges": [{"from": "shell", "to": "calc"}],
}
PLAIN_FLOW: dict[str, Any] = {
    "id": "plain",
    "kind": "flow",
    "variables": {"word": "w"},
    "nodes": {"a": {"type": "noop", "settings": {"value": "$var{word}"}}},
}
ROWS = 3


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


def project(tmp_path: Path, root: dict[str, Any]) -> tuple[Path, Path, Path]:
    """(flow file, rows file, run root) of a project folder."""
    flows = tmp_path / "proj" / "flows"
    flows.mkdir(parents=True)
    flow = flows / "flow.dad.json"
    flow.write_text(json.dumps({"format": "dad-flow", "schema_version": 1, "root": root}), encoding="utf-8")
    rows = tmp_path / "proj" / "rows.jsonl"
    rows.write_text("".join(json.dumps({"variables": {"word": f"w{i}"}}) + "\n" for i in range(ROWS)), encoding="utf-8")
    return flow, rows, tmp_path / "proj" / "runs"


async def until(predicate: Callable[[], bool], limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the studio")
        await asyncio.sleep(0.02)


def press_run_batch(window: MainWindow, rows: Path, qtbot: Any) -> TrustPrompt | None:
    """Run Batch…, choose the rows file in the dialog; the trust prompt that opened, or None."""
    batches = window.batches
    batches.observability_settings = {"enabled": False}
    prompted: list[Any] = []
    batches.trust_prompted.connect(prompted.append)
    window.actions_by_name["run_batch"].trigger()
    dialog = batches.file_dialog
    assert isinstance(dialog, QtWidgets.QFileDialog) and dialog.isVisible()
    dialog.selectFile(str(rows))
    dialog.accept()  # fileSelected(rows): the controller starts the batch, or asks first
    batches.trust_prompted.disconnect(prompted.append)
    if not prompted:
        return None
    prompt = prompted[0]
    qtbot.waitUntil(prompt.isVisible)
    assert prompt.windowModality() == QtCore.Qt.WindowModality.WindowModal
    assert batches.trust_prompt is prompt and not batches.running  # nothing runs while it asks
    return prompt


def click(window: MainWindow, prompt: TrustPrompt, answer: TrustAnswer, qtbot: Any) -> Any:
    """Click the prompt's real button; the batch task reported (None if nothing started)."""
    got: list[tuple[TrustAnswer, Any]] = []
    window.batches.trust_answered.connect(lambda a, t: got.append((a, t)))
    qtbot.mouseClick(prompt.buttons_by_answer[answer], QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(got))
    assert not prompt.isVisible() and window.batches.trust_prompt is None
    assert got[0][0] is answer
    return got[0][1]


def finish(qloop: qasync.QEventLoop, task: Any) -> BatchReport:
    assert task is not None
    report = qloop.run_until_complete(task)
    assert isinstance(report, BatchReport), "the batch did not finish"
    assert report.complete and report.ran == ROWS
    return report


def row_statuses(report: BatchReport, run_root: Path) -> list[dict[str, str]]:
    """Each row's node statuses from its run's record, in row order."""
    out = []
    for index in sorted(report.results):
        run_id = report.results[index].run_id
        assert run_id is not None
        out.append({p: str(r["status"]) for p, r in read_run(run_root / run_id).results.items()})
    return out


def folders(run_root: Path) -> list[str]:
    return sorted(p.name for p in run_root.iterdir()) if run_root.exists() else []


def test_batch_prompt_cancel_runs_nothing(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any, tmp_path: Path, user_config: Path
) -> None:
    flow, rows, run_root = project(tmp_path, CODE_FLOW)
    assert window.open_file(flow)
    prompt = press_run_batch(window, rows, qtbot)
    assert prompt is not None
    assert set(prompt.buttons_by_answer) == {TrustAnswer.TRUST_FOLDER, TrustAnswer.RUN_ONCE, TrustAnswer.CANCEL}
    assert prompt.folder == (tmp_path / "proj").resolve()
    lines = [prompt.uses_list.item(i).text() for i in range(prompt.uses_list.count())]
    assert lines[0] == "coded.shell  (command node)" and "    coded.calc: settings.value" in lines
    # a second start while it asks starts nothing and opens no second prompt
    assert window.batches.start_batch(rows) is None and window.batches.trust_prompt is prompt
    assert click(window, prompt, TrustAnswer.CANCEL, qtbot) is None
    assert not window.batches.running and window.batches.report is None
    assert folders(run_root) == []  # no batch folder, no run folder
    assert trusted_in_config(user_config) == []
    assert "nothing ran" in window.batches.panel.message.text()
    assert window.batches.panel.run_button.isEnabled()


def test_batch_run_once_trusts_every_row_and_remembers_nothing(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any, tmp_path: Path, user_config: Path
) -> None:
    flow, rows, run_root = project(tmp_path, CODE_FLOW)
    assert window.open_file(flow)
    prompt = press_run_batch(window, rows, qtbot)
    assert prompt is not None
    report = finish(qloop, click(window, prompt, TrustAnswer.RUN_ONCE, qtbot))
    assert row_statuses(report, run_root) == [{"coded.shell": "completed", "coded.calc": "completed"}] * ROWS
    first_run = read_run(run_root / str(report.results[0].run_id))
    assert "shell-w0" in json.dumps(first_run.resolve(first_run.results["coded.shell"]["outcome"]))
    assert first_run.resolve(first_run.results["coded.calc"]["outcome"])["value"] == "42"
    assert trusted_in_config(user_config) == []
    # not remembered: the next batch asks again
    prompt = press_run_batch(window, rows, qtbot)
    assert prompt is not None
    click(window, prompt, TrustAnswer.CANCEL, qtbot)


def test_batch_trust_folder_remembers_it_and_the_next_batch_does_not_ask(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any, tmp_path: Path, user_config: Path
) -> None:
    flow, rows, run_root = project(tmp_path, CODE_FLOW)
    assert window.open_file(flow)
    prompt = press_run_batch(window, rows, qtbot)
    assert prompt is not None
    report = finish(qloop, click(window, prompt, TrustAnswer.TRUST_FOLDER, qtbot))
    assert trusted_in_config(user_config) == [str((tmp_path / "proj").resolve())]
    assert row_statuses(report, run_root) == [{"coded.shell": "completed", "coded.calc": "completed"}] * ROWS
    assert "batches" in folders(run_root)
    # remembered: a batch over another rows file starts at once
    more = rows.with_name("more.jsonl")
    more.write_text("".join(json.dumps({"variables": {"word": f"m{i}"}}) + "\n" for i in range(ROWS)), encoding="utf-8")
    assert press_run_batch(window, more, qtbot) is None
    task = window.batches.task
    second = finish(qloop, task)
    assert second.batch_id != report.batch_id
    assert row_statuses(second, run_root) == [{"coded.shell": "completed", "coded.calc": "completed"}] * ROWS


def test_batch_trusted_folder_or_code_free_flow_never_asks(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any, tmp_path: Path, user_config: Path
) -> None:
    flow, rows, run_root = project(tmp_path / "trusted", CODE_FLOW)
    trust_folder(tmp_path / "trusted")  # a parent of the project
    assert window.open_file(flow)
    assert press_run_batch(window, rows, qtbot) is None
    report = finish(qloop, window.batches.task)
    assert row_statuses(report, run_root) == [{"coded.shell": "completed", "coded.calc": "completed"}] * ROWS

    plain, plain_rows, plain_root = project(tmp_path / "untrusted", PLAIN_FLOW)
    assert window.open_file(plain)
    assert press_run_batch(window, plain_rows, qtbot) is None
    report = finish(qloop, window.batches.task)
    assert row_statuses(report, plain_root) == [{"plain.a": "completed"}] * ROWS
    assert trusted_in_config(user_config) == [str((tmp_path / "trusted").resolve())]


def test_closing_the_window_with_the_batch_prompt_open_runs_nothing(
    window: MainWindow, qtbot: Any, tmp_path: Path
) -> None:
    flow, rows, run_root = project(tmp_path, CODE_FLOW)
    assert window.open_file(flow)
    prompt = press_run_batch(window, rows, qtbot)
    assert prompt is not None
    window.batches.shutdown()
    assert window.batches.trust_prompt is None and not window.batches.running
    assert folders(run_root) == []
