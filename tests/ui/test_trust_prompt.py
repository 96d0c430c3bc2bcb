"""The studio's trust prompt (issue 5), driven through the real Run action and the prompt's buttons.

Every test points DAD_STUDIO_CONFIG_DIR at a temporary folder, so the user's own trusted folders
are never read or written. Each answer is checked against the user config file, the run folders on
disk and the node statuses of the record (read_run).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6 import QtCore, QtWidgets

from dad_studio.editor.document import FlowDocument
from dad_studio.model import FlowDefinition
from dad_studio.nodes.trust import trust_folder
from dad_studio.runs import read_run
from dad_studio.ui.main_window import MainWindow
from dad_studio.ui.run import RunSession
from dad_studio.ui.run.trust_prompt import CodeSummary, TrustAnswer, TrustPrompt, ask_trust

CODE_FLOW = {
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
PLAIN_FLOW = {
    "id": "plain",
    "kind": "flow",
    "nodes": {"a": {"type": "noop", "settings": {"value": "$expr{1 + 1} py: is just text"}}},
}


@pytest.fixture(autouse=True)
def user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "user-config"
    monkeypatch.setenv("DAD_STUDIO_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture
def studio(qtbot, qloop: qasync.QEventLoop, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, state_dir=tmp_path / "state")
    win.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    left = [t.objectName() for t in win.findChildren(QtCore.QTimer) if t.isActive()]
    qloop.run_until_complete(asyncio.sleep(0.05))
    assert [t for t in asyncio.all_tasks(qloop) if not t.done()] == []
    assert left == [], "a QTimer is still running after the window closed"


def write_flow(folder: Path, root: dict[str, Any]) -> Path:
    path = folder / "proj" / "flows" / "flow.dad.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": "dad-flow", "schema_version": 1, "root": root}), encoding="utf-8")
    return path


def open_untitled(win: MainWindow) -> None:
    win.set_document(FlowDocument(FlowDefinition.model_validate(CODE_FLOW), registry=win.registry))
    assert win.doc is not None and win.doc.path is None


def run_dirs(flow: Path) -> list[Path]:
    runs = flow.parent.parent / "runs"  # <project>/runs
    return sorted(p for p in runs.iterdir() if p.is_dir()) if runs.exists() else []


def trusted_in_config(config: Path) -> list[str]:
    file = config / "config.json"
    if not file.exists():
        return []
    return [str(f) for f in json.loads(file.read_text(encoding="utf-8")).get("trusted_folders", [])]


async def until(predicate: Callable[[], bool], limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the studio")
        await asyncio.sleep(0.02)


def press_run(win: MainWindow, qtbot: Any) -> TrustPrompt | None:
    """Trigger the Run action; the prompt it opened (shown, window-modal), or None."""
    prompted: list[Any] = []
    win.runs.trust_prompted.connect(prompted.append)
    win.runs.actions["run"].trigger()
    win.runs.trust_prompted.disconnect(prompted.append)
    if not prompted:
        return None
    prompt = prompted[0]
    qtbot.waitUntil(prompt.isVisible)
    assert prompt.isModal() or prompt.windowModality() == QtCore.Qt.WindowModality.WindowModal
    assert win.runs.trust_prompt is prompt
    return prompt


def click(prompt: TrustPrompt, answer: TrustAnswer, qtbot: Any) -> tuple[TrustAnswer, RunSession | None]:
    """Click the prompt's real button; returns what the controller reported."""
    got: list[tuple[TrustAnswer, RunSession | None]] = []
    prompt.parent().runs.trust_answered.connect(lambda a, s: got.append((a, s)))  # type: ignore[union-attr]
    qtbot.mouseClick(prompt.buttons_by_answer[answer], QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(got))
    assert not prompt.isVisible()
    return got[0]


def finish(qloop: qasync.QEventLoop, session: RunSession) -> dict[str, Any]:
    qloop.run_until_complete(until(lambda: not session.active))
    assert session.error is None, session.error
    return read_run(session.run_dir).results


def test_prompt_lists_what_would_run(studio: MainWindow, qtbot: Any, tmp_path: Path) -> None:
    flow = write_flow(tmp_path, CODE_FLOW)
    assert studio.open_file(flow)
    prompt = press_run(studio, qtbot)
    assert prompt is not None
    lines = [prompt.uses_list.item(i).text() for i in range(prompt.uses_list.count())]
    assert lines[0] == "coded.shell  (command node)"
    assert "py: expressions in 2 settings:" in lines
    assert "    coded: variables.n" in lines and "    coded.calc: settings.value" in lines
    counts = prompt.findChild(QtWidgets.QLabel, "trust_counts")
    assert counts is not None and counts.text() == "It would run: 1 code node, py: expressions in 2 settings"
    text = prompt.findChild(QtWidgets.QLabel, "trust_text")
    assert text is not None and str(flow.parent.parent.resolve()) in text.text()  # the folder it would trust
    assert set(prompt.buttons_by_answer) == {TrustAnswer.TRUST_FOLDER, TrustAnswer.RUN_ONCE, TrustAnswer.CANCEL}
    assert prompt.buttons_by_answer[TrustAnswer.CANCEL].isDefault()
    # a second Run press while the question is open asks nothing more and starts nothing
    studio.runs.actions["run"].trigger()
    assert studio.runs.sessions == [] and studio.runs.trust_prompt is prompt
    click(prompt, TrustAnswer.CANCEL, qtbot)


def test_cancel_runs_nothing(studio: MainWindow, qtbot: Any, tmp_path: Path, user_config: Path) -> None:
    flow = write_flow(tmp_path, CODE_FLOW)
    assert studio.open_file(flow)
    prompt = press_run(studio, qtbot)
    assert prompt is not None
    answer, session = click(prompt, TrustAnswer.CANCEL, qtbot)
    assert (answer, session) == (TrustAnswer.CANCEL, None)
    assert studio.runs.sessions == [] and studio.runs.trust_prompt is None
    assert run_dirs(flow) == []
    assert trusted_in_config(user_config) == []
    assert "nothing ran" in studio.statusBar().currentMessage()


def test_escape_is_cancel(studio: MainWindow, qtbot: Any, tmp_path: Path, user_config: Path) -> None:
    flow = write_flow(tmp_path, CODE_FLOW)
    assert studio.open_file(flow)
    prompt = press_run(studio, qtbot)
    assert prompt is not None
    got: list[Any] = []
    studio.runs.trust_answered.connect(lambda a, s: got.append((a, s)))
    qtbot.keyClick(prompt, QtCore.Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: bool(got))
    assert got == [(TrustAnswer.CANCEL, None)]
    assert run_dirs(flow) == [] and trusted_in_config(user_config) == []


def test_run_once_runs_trusted_and_remembers_nothing(
    studio: MainWindow, qtbot: Any, qloop: qasync.QEventLoop, tmp_path: Path, user_config: Path
) -> None:
    flow = write_flow(tmp_path, CODE_FLOW)
    assert studio.open_file(flow)
    prompt = press_run(studio, qtbot)
    assert prompt is not None
    answer, session = click(prompt, TrustAnswer.RUN_ONCE, qtbot)
    assert answer is TrustAnswer.RUN_ONCE and session is not None
    results = finish(qloop, session)
    assert {k: v["status"] for k, v in results.items()} == {
        "coded.shell": "completed",
        "coded.calc": "completed",
        "coded.show": "completed",
    }
    assert session.state.nodes["coded.shell"].status == "completed"
    record = read_run(session.run_dir)
    assert "from-the-shell" in json.dumps(record.resolve(results["coded.shell"]["outcome"]))
    assert record.resolve(results["coded.calc"]["outcome"])["value"] == "42"
    assert record.resolve(results["coded.show"]["outcome"])["value"] == "n=21"
    assert run_dirs(flow) == [session.run_dir]
    assert trusted_in_config(user_config) == []  # not remembered: the next Run asks again
    prompt = press_run(studio, qtbot)
    assert prompt is not None
    click(prompt, TrustAnswer.CANCEL, qtbot)
    assert len(run_dirs(flow)) == 1


def test_trust_folder_remembers_it_and_the_next_run_does_not_ask(
    studio: MainWindow, qtbot: Any, qloop: qasync.QEventLoop, tmp_path: Path, user_config: Path
) -> None:
    flow = write_flow(tmp_path, CODE_FLOW)
    assert studio.open_file(flow)
    prompt = press_run(studio, qtbot)
    assert prompt is not None
    answer, session = click(prompt, TrustAnswer.TRUST_FOLDER, qtbot)
    assert answer is TrustAnswer.TRUST_FOLDER and session is not None
    assert trusted_in_config(user_config) == [str(flow.parent.parent.resolve())]  # the project folder
    results = finish(qloop, session)
    assert {v["status"] for v in results.values()} == {"completed"}
    assert press_run(studio, qtbot) is None  # remembered: no question, the run starts at once
    second = studio.runs.sessions[-1]
    assert second is not session
    assert {v["status"] for v in finish(qloop, second).values()} == {"completed"}
    assert run_dirs(flow) == sorted([session.run_dir, second.run_dir])


def test_run_from_here_asks_too(
    studio: MainWindow, qtbot: Any, qloop: qasync.QEventLoop, tmp_path: Path, user_config: Path
) -> None:
    flow = write_flow(tmp_path, CODE_FLOW)
    assert studio.open_file(flow)
    prompt = press_run(studio, qtbot)
    assert prompt is not None
    _answer, first = click(prompt, TrustAnswer.RUN_ONCE, qtbot)
    assert first is not None
    finish(qloop, first)
    studio.canvas.scene.select_ids(["calc"])
    prompted: list[Any] = []
    studio.runs.trust_prompted.connect(prompted.append)
    studio.runs.actions["run_from_here"].trigger()
    assert len(prompted) == 1 and len(studio.runs.sessions) == 1
    click(prompted[0], TrustAnswer.CANCEL, qtbot)
    assert len(run_dirs(flow)) == 1
    studio.runs.actions["run_from_here"].trigger()
    answer, second = click(prompted[1], TrustAnswer.RUN_ONCE, qtbot)
    assert answer is TrustAnswer.RUN_ONCE and second is not None
    results = finish(qloop, second)
    record = read_run(second.run_dir)
    assert record.manifest.get("previous_run_id") == first.run_id
    assert second.state.nodes["coded.shell"].loaded  # loaded from the first run, not run again
    assert results["coded.calc"]["status"] == "completed"
    assert trusted_in_config(user_config) == []


def test_trusted_folder_runs_without_asking(
    studio: MainWindow, qtbot: Any, qloop: qasync.QEventLoop, tmp_path: Path
) -> None:
    flow = write_flow(tmp_path, CODE_FLOW)
    trust_folder(tmp_path)  # a parent of the project
    assert studio.open_file(flow)
    assert press_run(studio, qtbot) is None
    (session,) = studio.runs.sessions
    assert {v["status"] for v in finish(qloop, session).values()} == {"completed"}


def test_flow_without_code_never_asks(
    studio: MainWindow, qtbot: Any, qloop: qasync.QEventLoop, tmp_path: Path, user_config: Path
) -> None:
    flow = write_flow(tmp_path, PLAIN_FLOW)
    assert studio.open_file(flow)
    assert press_run(studio, qtbot) is None
    (session,) = studio.runs.sessions
    results = finish(qloop, session)
    assert results["plain.a"]["status"] == "completed"
    assert trusted_in_config(user_config) == []


def test_untitled_flow_with_code_offers_save_or_run_once(
    studio: MainWindow, qtbot: Any, qloop: qasync.QEventLoop, tmp_path: Path, user_config: Path
) -> None:
    open_untitled(studio)
    prompt = press_run(studio, qtbot)
    assert prompt is not None
    assert set(prompt.buttons_by_answer) == {TrustAnswer.SAVE, TrustAnswer.RUN_ONCE, TrustAnswer.CANCEL}
    answer, session = click(prompt, TrustAnswer.RUN_ONCE, qtbot)
    assert answer is TrustAnswer.RUN_ONCE and session is not None
    assert finish(qloop, session)["coded.shell"]["status"] == "completed"
    assert trusted_in_config(user_config) == []


def test_untitled_save_then_asks_about_the_saved_folder(
    studio: MainWindow, qtbot: Any, tmp_path: Path, user_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_untitled(studio)
    target = tmp_path / "saved" / "flow.dad.json"
    target.parent.mkdir()
    monkeypatch.setattr(studio, "save_as", lambda: studio._save_to(target))  # no file dialog offscreen
    prompt = press_run(studio, qtbot)
    assert prompt is not None
    prompted: list[Any] = []
    studio.runs.trust_prompted.connect(prompted.append)
    answer, session = click(prompt, TrustAnswer.SAVE, qtbot)
    assert (answer, session) == (TrustAnswer.SAVE, None)
    qtbot.waitUntil(lambda: bool(prompted))
    assert target.exists() and studio.doc.path == target  # type: ignore[union-attr]
    assert prompted[0].folder == target.parent.resolve()
    click(prompted[0], TrustAnswer.CANCEL, qtbot)
    assert studio.runs.sessions == [] and trusted_in_config(user_config) == []


def test_closing_the_window_with_the_prompt_open_runs_nothing(studio: MainWindow, qtbot: Any, tmp_path: Path) -> None:
    flow = write_flow(tmp_path, CODE_FLOW)
    assert studio.open_file(flow)
    assert press_run(studio, qtbot) is not None
    studio.runs.shutdown()
    assert studio.runs.trust_prompt is None and studio.runs.sessions == []
    assert run_dirs(flow) == []


def test_ask_trust_awaits_inside_a_coroutine(qtbot: Any, qloop: qasync.QEventLoop, tmp_path: Path) -> None:
    """The coroutine form: answered by a click while other tasks keep running (no nested exec())."""
    ticks: list[int] = []

    async def ticker() -> None:
        while True:
            ticks.append(1)
            await asyncio.sleep(0.01)

    async def scenario() -> TrustAnswer:
        tick = asyncio.ensure_future(ticker())
        asking = asyncio.ensure_future(ask_trust(None, tmp_path / "f.dad.json", tmp_path, ["f.a (python node)"]))
        await until(
            lambda: any(isinstance(w, TrustPrompt) and w.isVisible() for w in QtWidgets.QApplication.topLevelWidgets())
        )
        prompt = next(
            w for w in QtWidgets.QApplication.topLevelWidgets() if isinstance(w, TrustPrompt) and w.isVisible()
        )
        before = len(ticks)
        await asyncio.sleep(0.1)
        assert len(ticks) > before  # the loop was not blocked by the open prompt
        QtCore.QTimer.singleShot(0, prompt.buttons_by_answer[TrustAnswer.RUN_ONCE].click)
        answer = await asking
        tick.cancel()
        return answer

    assert qloop.run_until_complete(scenario()) is TrustAnswer.RUN_ONCE


def test_code_summary_groups_and_keeps_unknown_lines() -> None:
    summary = CodeSummary(
        ["f.a (command node)", "f.b.iter (python node)", "f: py: expression in variables.x", "something new"]
    )
    assert summary.nodes == [("f.a", "command"), ("f.b.iter", "python")]
    assert summary.expressions == [("f", "variables.x")]
    assert summary.headline() == "2 code nodes, py: expressions in 1 setting, 1 other use of code"
    assert summary.lines()[-1] == "something new"
