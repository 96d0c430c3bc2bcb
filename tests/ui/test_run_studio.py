"""Runs driven from the studio's real actions and forms, checked against the run folder (read_run).

The qasync loop runs while the run does (`qloop.run_until_complete(until(...))`); widgets are
clicked and typed into between those stretches, as a user would between two looks at the screen.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from pydantic import BaseModel, ConfigDict
from PySide6 import QtCore, QtWidgets

from dad_studio.fileformat import save_flow
from dad_studio.model import FlowDefinition, NodeType, default_registry
from dad_studio.nodes.base import NodeContext, NodeOutput
from dad_studio.runs import read_run
from dad_studio.ui.main_window import MainWindow
from dad_studio.ui.run import RunSession, project_dirs
from dad_studio.ui.run.json_tree import blob_loader_for
from dad_studio.ui.run.session import log_rows

# -- a node type that logs, streams and writes artifacts (registered like a plugin's) ----------------


class ChattySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    big: int = 0


class ChattyExecutor:
    async def execute(self, ctx: NodeContext, settings: BaseModel) -> NodeOutput:
        assert isinstance(settings, ChattySettings)
        ctx.log("chatty starts", "info")  # type: ignore[attr-defined]
        ctx.log("something to watch", "warning")  # type: ignore[attr-defined]
        ctx.log("internal detail", "debug")  # type: ignore[attr-defined]
        for piece in ("Hello ", "streamed ", "world"):
            await ctx.emit_delta(piece)
        ctx.write_artifact("notes.md", b"# Notes\n\nSome *markdown*.\n", "text/markdown")
        ctx.write_artifact("data.json", b'{"a": 1, "b": [1, 2]}', "application/json")
        ctx.write_artifact("change.diff", b"--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n", "text/x-diff")
        return NodeOutput(outcome={"text": "Hello streamed world", "big": "x" * settings.big})


_MODULE = types.ModuleType("dad_run_test_nodes")
_MODULE.ChattyExecutor = ChattyExecutor  # type: ignore[attr-defined]
sys.modules["dad_run_test_nodes"] = _MODULE
CHATTY = NodeType(
    "chatty", "Chatty", "Logs, streams, writes artifacts", ChattySettings, "dad_run_test_nodes:ChattyExecutor"
)


def write_flow(folder: Path, root: dict[str, Any]) -> Path:
    path = folder / "proj" / "flows" / "flow.dad.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": "dad-flow", "schema_version": 1, "root": root}), encoding="utf-8")
    return path


async def until(predicate: Callable[[], bool], limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the studio")
        await asyncio.sleep(0.02)


def other_tasks(loop: asyncio.AbstractEventLoop) -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks(loop) if not t.done()]


@pytest.fixture
def studio(qtbot, qloop: qasync.QEventLoop, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    registry = default_registry()
    registry.register(CHATTY)
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(registry=registry, settings=settings, state_dir=tmp_path / "state")
    win.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    qtbot.addWidget(win)
    win.resize(1300, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    left = [t.objectName() or type(t.parent()).__name__ for t in win.findChildren(QtCore.QTimer) if t.isActive()]
    qloop.run_until_complete(asyncio.sleep(0.05))  # let cancelled runs finish their clean-up
    assert other_tasks(qloop) == [], "a run task is still alive after the window closed"
    assert left == [], "a QTimer is still running after the window closed"


def run_to_end(win: MainWindow, loop: qasync.QEventLoop, action: str = "run") -> RunSession:
    before = len(win.runs.sessions)
    win.runs.actions[action].trigger()
    assert len(win.runs.sessions) == before + 1
    session = win.runs.sessions[-1]
    loop.run_until_complete(until(lambda: not session.active))
    return session


BRANCHY = {
    "id": "branchy",
    "kind": "flow",
    "variables": {"who": "studio"},
    "nodes": {
        "talk": {"type": "chatty", "settings": {"big": 70_000}},
        "after": {"type": "noop", "settings": {"value": "hi $var{who}"}},
        "boom": {"type": "sleep", "settings": {"seconds": 0.01, "fail": True}},
        "rescue": {"type": "noop"},
        "never": {"type": "noop"},
        "loop": {
            "type": "for_each",
            "settings": {
                "statement": "$expr{[1, 2]}",
                "item_var": "item",
                "max_iterations": 10,
                "body": {"kind": "flow", "nodes": {"each": {"type": "noop", "settings": {"value": "$var{item}"}}}},
            },
        },
    },
    "edges": [
        {"from": "talk", "to": "after"},
        {"from": "boom", "to": "rescue", "on": "error"},
        {"from": "boom", "to": "never"},
    ],
    "layout": {"talk": [0, 0], "after": [300, 0], "boom": [0, 200], "rescue": [300, 150], "never": [300, 300]},
}


def test_run_action_completes_and_every_panel_matches_the_record(studio: MainWindow, qloop: qasync.QEventLoop) -> None:
    path = write_flow(Path(studio.state_dir or "."), BRANCHY)  # type: ignore[arg-type]
    assert studio.open_file(path)
    session = run_to_end(studio, qloop)
    assert session.error is None
    assert session.run_dir.parent == path.parent.parent / "runs"  # <project>/runs, beside flows/
    record = read_run(session.run_dir)
    assert record.status == session.status
    results = record.results
    root = "branchy"
    assert results[f"{root}.boom"]["status"] == "failed"
    assert results[f"{root}.never"]["status"] == "skipped"
    assert results[f"{root}.loop.iter_1.each"]["status"] == "completed"

    # canvas: every node's pill is the record's status, the edges say which way the run went
    scene = studio.canvas.scene
    for node_id, item in scene.nodes.items():
        assert item.run_status == results[f"{root}.{node_id}"]["status"], node_id
    states = {(e.edge.source, e.edge.target): e.run_state for e in scene.edges.values()}
    assert states[("talk", "after")] == "taken"
    assert states[("boom", "rescue")] == "taken"
    assert states[("boom", "never")] == "dead"
    assert scene.nodes["talk"].run_text.endswith("ms")

    # context tree: one row per element of the record (loop iterations included), same status
    rows = studio.runs.context.rows()
    for hier, result in results.items():
        label = {"waiting_input": "waiting for input"}.get(result["status"], result["status"])
        assert rows[("node", hier)] == label, hier
    assert rows[("component", f"{root}.loop.iter_0")] == "completed"
    assert rows[("run", root)] == record.status

    # outcomes: select the failed node on the canvas; the panel shows the record's error
    scene.select_ids(["boom"])
    shown = studio.runs.outcomes.current_record()
    assert shown["status"] == "failed"
    assert shown["error"] == record.resolve(results[f"{root}.boom"]["error"])
    scene.select_ids(["talk"])
    shown = studio.runs.outcomes.current_record()
    assert shown["outcome"] == record.resolve(results[f"{root}.talk"]["outcome"])
    assert shown["streamed"] == "Hello streamed world"
    studio.runs.outcomes.tree.copy_all.trigger()
    assert json.loads(QtWidgets.QApplication.clipboard().text())["outcome"]["text"] == "Hello streamed world"

    # log: the run's log events and failures, filtered by level
    log = studio.runs.log
    assert log.model.rows == log_rows(record.events)
    assert ("", "warning", f"{root}.talk", "something to watch") in [("", *r[1:]) for r in log.model.rows]
    log.level.setCurrentIndex(2)  # warning and above
    assert {r[1] for r in log.visible_rows()} <= {"warning", "error"}
    assert any(r[3] == "internal detail" for r in log.model.rows)
    assert not any(r[3] == "internal detail" for r in log.visible_rows())

    # artifacts: every file the record announces and a record entry per element, by hierarchy path
    browser = studio.runs.artifacts
    studio.docks["run_artifacts"].raise_()
    browser.rebuild()
    qloop.run_until_complete(browser.wait_idle())
    leaves = set(browser.leaf_entries())
    for event in record.events:
        if event["type"] == "artifact_written":
            assert (event["path"], Path(event["artifact"]).name) in leaves
    for hier in results:
        assert (hier, "record.json") in leaves
    notes = next(i for i in _tree_items(browser.tree) if i.text(0) == "notes.md")
    browser.tree.setCurrentItem(notes)
    qloop.run_until_complete(browser.wait_idle())
    assert browser.preview_kind == "markdown" and "Notes" in browser.text.toPlainText()
    diff = next(i for i in _tree_items(browser.tree) if i.text(0) == "change.diff")
    browser.tree.setCurrentItem(diff)
    qloop.run_until_complete(browser.wait_idle())
    assert browser.preview_kind == "diff" and "#4cc38a" in browser.text.toHtml()
    # a refresh (as artifacts arrive during a run) lists again and keeps the picked row and preview
    before = browser.tree.currentItem()
    browser.rebuild()
    qloop.run_until_complete(browser.wait_idle())
    picked = browser.tree.currentItem()
    assert picked is not None and picked is not before and picked.text(0) == "change.diff"
    assert browser.selected_entry() is not None and browser.selected_entry().label == "change.diff"
    assert browser.preview_kind == "diff" and "#4cc38a" in browser.text.toHtml()

    assert other_tasks(qloop) == []


def _tree_items(tree: QtWidgets.QTreeWidget) -> list[QtWidgets.QTreeWidgetItem]:
    items = []
    iterator = QtWidgets.QTreeWidgetItemIterator(tree)
    while iterator.value():
        items.append(iterator.value())
        iterator += 1
    return items


def test_big_outcome_loads_lazily_from_its_blob(studio: MainWindow, qloop: qasync.QEventLoop) -> None:
    path = write_flow(Path(studio.state_dir or "."), BRANCHY)  # type: ignore[arg-type]
    studio.open_file(path)
    session = run_to_end(studio, qloop)
    record = read_run(session.run_dir)
    ref = record.results["branchy.talk"]["outcome"]
    assert set(ref) == {"$blob", "size"}  # over 64 KiB: the record holds a blob reference
    tree = studio.runs.outcomes.tree
    tree.model.blob_loader = blob_loader_for(session.run_dir)
    tree.set_value({"outcome": ref})
    model = tree.model
    index = model.index(0, 0)
    assert model.rowCount(index) == 0 and model.hasChildren(index)
    tree.view.expand(index)
    qloop.run_until_complete(tree.wait_loaded())
    keys = [model.index(r, 0, index).data() for r in range(model.rowCount(index))]
    assert keys == list(record.load_blob(ref))
    assert model.item(index).value == record.load_blob(ref)


ASKING = {
    "id": "asking",
    "kind": "flow",
    "nodes": {
        "first": {
            "type": "input",
            "settings": {
                "prompt": "Topic and count?",
                "fields": {
                    "topic": {"type": "string", "default": "architecture"},
                    "count": {"type": "integer"},
                    "deep": {"type": "boolean", "default": False},
                    "tone": {"type": "choice", "choices": ["plain", "formal"], "default": "plain"},
                },
            },
        },
        "second": {"type": "input", "settings": {"fields": {"note": {"type": "text"}}}},
        "use": {"type": "noop", "settings": {"value": "$expr{$hier{first}.outcome.topic}"}},
    },
    "edges": [{"from": "first", "to": "use"}],
}


def test_input_forms_are_answered_by_typing_and_the_inbox_lists_both(
    studio: MainWindow,
    qloop: qasync.QEventLoop,
    qtbot: Any,
) -> None:
    # Everything happens inside one coroutine: qasync steps tasks whenever Qt processes events, and
    # outside run_until_complete there is no running loop for them (asyncio queues then refuse).
    studio.open_file(write_flow(Path(studio.state_dir or "."), ASKING))  # type: ignore[arg-type]
    runs = studio.runs

    async def scenario() -> RunSession:
        runs.actions["run"].trigger()
        session = runs.sessions[-1]
        await until(lambda: len(session.inputs) == 2 and bool(runs.forms))
        assert {p.path for p in runs.inbox.entries()} == {"asking.first", "asking.second"}
        open_forms = [f for f in runs.forms.values() if f.isVisible()]
        assert len(open_forms) == 1  # one form at a time; the other waits in the inbox
        assert not open_forms[0].isModal()
        await until(lambda: studio.canvas.scene.nodes["first"].run_status == "waiting_input")
        assert studio.canvas.scene.nodes["second"].run_status == "waiting_input"
        # the context tree shows that status whole (the column fits it; names are cut in the middle)
        tree = runs.context.tree
        await until(lambda: runs.context.rows().get(("node", "asking.first")) == "waiting for input")
        assert tree.columnWidth(1) > tree.fontMetrics().horizontalAdvance("waiting for input") + 4
        assert tree.textElideMode() == QtCore.Qt.TextElideMode.ElideMiddle

        form = runs.open_form(session.inputs["asking.first"])
        topic = form.widgets["topic"]
        assert isinstance(topic, QtWidgets.QLineEdit) and topic.text() == "architecture"
        topic.clear()
        qtbot.keyClicks(topic, "layout")
        count = form.widgets["count"]
        assert isinstance(count, QtWidgets.QLineEdit)
        count.clear()
        qtbot.keyClicks(count, "-")  # let through while typed; submitted alone, it is said plainly
        qtbot.mouseClick(form.ok_button, QtCore.Qt.MouseButton.LeftButton)
        assert form.error.text() == "count: '-' is not a whole number" and form.isVisible()
        count.clear()
        qtbot.keyClicks(count, "3x")  # the integer validator drops the x
        qtbot.keyClick(form.widgets["deep"], QtCore.Qt.Key.Key_Space)
        tone = form.widgets["tone"]
        assert isinstance(tone, QtWidgets.QComboBox)
        tone.setCurrentIndex(1)
        qtbot.mouseClick(form.ok_button, QtCore.Qt.MouseButton.LeftButton)
        await until(lambda: "asking.first" not in session.inputs)
        # the next waiting request opens by itself
        await until(lambda: (session.number, "asking.second") in runs.forms)
        second = runs.forms[(session.number, "asking.second")]
        assert second.isVisible()
        qtbot.keyClicks(second.widgets["note"], "all good")
        qtbot.mouseClick(second.ok_button, QtCore.Qt.MouseButton.LeftButton)
        await until(lambda: not session.active)
        return session

    session = qloop.run_until_complete(scenario())
    assert session.error is None, session.error
    record = read_run(session.run_dir)
    assert record.status == "completed"
    assert record.results["asking.first"]["outcome"] == {"topic": "layout", "count": 3, "deep": True, "tone": "formal"}
    assert record.results["asking.second"]["outcome"] == {"note": "all good"}
    assert record.results["asking.use"]["outcome"] == {"value": "layout"}
    received = [e for e in record.events if e["type"] == "node_input_received"]
    assert {e["source"] for e in received} == {"dialog"}
    assert runs.inbox.entries() == [] and runs.forms == {}


FLUSH_S = 0.1

SLOW = {
    "id": "slow",
    "kind": "flow",
    "nodes": {"wait": {"type": "sleep", "settings": {"seconds": 60}}, "then": {"type": "noop"}},
    "edges": [{"from": "wait", "to": "then"}],
}


def test_stop_action_cancels_the_run_and_leaves_no_task(studio: MainWindow, qloop: qasync.QEventLoop) -> None:
    studio.open_file(write_flow(Path(studio.state_dir or "."), SLOW))  # type: ignore[arg-type]
    studio.runs.actions["run"].trigger()
    session = studio.runs.sessions[-1]
    qloop.run_until_complete(until(lambda: studio.canvas.scene.nodes["wait"].run_status == "running"))
    assert studio.runs.actions["stop"].isEnabled()
    started = time.monotonic()
    studio.runs.actions["stop"].trigger()
    qloop.run_until_complete(until(lambda: not session.active, limit=10))
    assert time.monotonic() - started < 5
    record = read_run(session.run_dir)
    assert record.status == "cancelled" == session.status
    assert record.manifest["status"] == "cancelled"
    assert studio.canvas.scene.nodes["then"].run_status != "completed"
    assert not studio.runs.actions["stop"].isEnabled()
    qloop.run_until_complete(asyncio.sleep(0.05))
    assert other_tasks(qloop) == []


def test_cancel_from_the_input_form(studio: MainWindow, qloop: qasync.QEventLoop, qtbot: Any) -> None:
    studio.open_file(write_flow(Path(studio.state_dir or "."), ASKING))  # type: ignore[arg-type]

    async def scenario() -> RunSession:
        studio.runs.actions["run"].trigger()
        session = studio.runs.sessions[-1]
        await until(lambda: any(f.isVisible() for f in studio.runs.forms.values()))
        form = next(f for f in studio.runs.forms.values() if f.isVisible())
        qtbot.mouseClick(form.cancel_button, QtCore.Qt.MouseButton.LeftButton)
        await until(lambda: not session.active, limit=10)
        return session

    session = qloop.run_until_complete(scenario())
    assert read_run(session.run_dir).status == "cancelled" == session.status
    assert studio.runs.inbox.entries() == [] and studio.runs.forms == {}


def test_two_runs_and_the_selector(studio: MainWindow, qloop: qasync.QEventLoop) -> None:
    studio.open_file(write_flow(Path(studio.state_dir or "."), BRANCHY))  # type: ignore[arg-type]
    first = run_to_end(studio, qloop)
    second = run_to_end(studio, qloop)
    assert first.run_dir != second.run_dir
    runs = studio.runs
    assert runs.selected is second and runs.selector.count() == 2
    runs.selector.setCurrentIndex(0)
    assert runs.selected is first
    assert runs.log.model.rows == first.log_rows
    assert runs.context.rows()[("run", "branchy")] == first.status


def test_run_from_here_loads_the_rest(studio: MainWindow, qloop: qasync.QEventLoop) -> None:
    studio.open_file(write_flow(Path(studio.state_dir or "."), BRANCHY))  # type: ignore[arg-type]
    first = run_to_end(studio, qloop)
    studio.canvas.scene.select_ids(["after"])
    second = run_to_end(studio, qloop, "run_from_here")
    assert second.error is None, second.error
    record = read_run(second.run_dir)
    assert record.manifest["previous_run_id"] == first.run_id
    assert record.results["branchy.talk"]["status"] == "completed"
    assert any(e["type"] == "node_loaded" and e["path"] == "branchy.talk" for e in record.events)
    assert any(e["type"] == "node_completed" and e["path"] == "branchy.after" for e in record.events)


def test_project_dirs(tmp_path: Path) -> None:
    flow = tmp_path / "proj" / "flows" / "sub" / "a.dad.json"
    assert project_dirs(flow, tmp_path / "x") == (tmp_path / "proj", tmp_path / "proj" / "runs")
    loose = tmp_path / "elsewhere" / "b.dad.json"
    assert project_dirs(loose, tmp_path / "x") == (tmp_path / "elsewhere", tmp_path / "elsewhere" / "runs")
    assert project_dirs(None, tmp_path / "x") == (tmp_path / "x", tmp_path / "x" / "runs")


def test_bad_project_settings_refuse_the_run_with_a_message(studio: MainWindow, tmp_path: Path) -> None:
    """A broken dad-studio.json is reported in the status bar; nothing runs and nothing is written."""
    project = tmp_path / "proj"
    (project / "flows").mkdir(parents=True)
    (project / "dad-studio.json").write_text("{not json")
    flow = FlowDefinition(id="f")
    flow.node("a", type="noop")
    target = project / "flows" / "f.dad.json"
    save_flow(target, flow)
    assert studio.open_file(target)
    assert studio.runs.start_run() is None
    assert "dad-studio.json" in studio.statusBar().currentMessage()
    assert not (project / "runs").exists()
