"""Run-state screenshots for `python tools/screenshots.py OUT_DIR --runs` (issue 8).

A real run on the qasync loop: everything happens inside one coroutine, so the engine only steps
while the loop runs (QT_NOTES.md); windows are grabbed with QWidget.grab() (offscreen platform).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtWidgets

import dad_studio.ui  # noqa: F401
from dad_studio.ui.loop import close_loop, make_loop
from dad_studio.ui.main_window import MainWindow

REPORT = "# Weekly report\n\n- **scan**: 3 files\n- **summary**: streamed by the echo model\n\nStatus: draft\n"
RUN_DEMO: dict[str, Any] = {
    "id": "demo",
    "kind": "flow",
    "variables": {"topic": "release notes"},
    "nodes": {
        "fetch": {"type": "noop", "settings": {"value": "three files about $var{topic}"}},
        "summarize": {
            "type": "ai_model",
            "settings": {"model": "echo", "stream": True, "prompt": "Summarise $expr{$hier{fetch}.outcome.value}"},
        },
        "write_report": {
            "type": "file_operation",
            "settings": {
                "operations": [
                    {"type": "create_file", "path": "report.md", "content": REPORT},
                    {
                        "type": "edit_file",
                        "path": "report.md",
                        "edits": [{"old_text": "Status: draft", "new_text": "Status: reviewed"}],
                    },
                ]
            },
        },
        "ask": {
            "type": "input",
            "settings": {
                "prompt": "Who should receive the report?",
                "fields": {
                    "recipient": {"type": "string", "default": "team@example.com"},
                    "copies": {"type": "integer", "default": 1},
                    "urgent": {"type": "boolean", "default": False},
                    "format": {"type": "choice", "choices": ["markdown", "pdf"], "default": "markdown"},
                },
            },
        },
        "send": {"type": "noop", "settings": {"value": "sent to $expr{$hier{ask}.outcome.recipient}"}},
        "archive": {"type": "noop"},
        "deploy": {"type": "sleep", "settings": {"seconds": 0.05, "fail": True}},
        "rollback": {"type": "noop", "settings": {"value": "rolled back"}},
        "announce": {"type": "noop"},
        "per_file": {
            "type": "for_each",
            "settings": {
                "statement": "$expr{['a.md', 'b.md', 'c.md']}",
                "item_var": "item",
                "max_iterations": 10,
                "body": {"kind": "flow", "nodes": {"check": {"type": "noop", "settings": {"value": "$var{item}"}}}},
            },
        },
    },
    "edges": [
        {"from": "fetch", "to": "summarize"},
        {"from": "summarize", "to": "write_report"},
        {"from": "write_report", "to": "ask"},
        {"from": "ask", "to": "send"},
        {"from": "send", "to": "archive"},
        {"from": "deploy", "to": "rollback", "on": "error"},
        {"from": "deploy", "to": "announce"},
        {"from": "fetch", "to": "per_file"},
    ],
    "layout": {
        "fetch": [0, 0],
        "summarize": [260, 0],
        "write_report": [520, 0],
        "ask": [780, 0],
        "send": [1040, 0],
        "archive": [1300, 0],
        "per_file": [260, 190],
        "deploy": [0, 370],
        "rollback": [260, 320],
        "announce": [260, 460],
    },
}


async def until(predicate: Callable[[], bool], limit: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("the studio did not get there in time")
        await asyncio.sleep(0.02)


def run_shots(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    assert isinstance(app, QtWidgets.QApplication)
    app.setQuitOnLastWindowClosed(False)
    loop = make_loop(app)
    tmp = Path(tempfile.mkdtemp(prefix="dad-run-shots-"))
    flow = tmp / "demo" / "flows" / "demo.dad.json"
    flow.parent.mkdir(parents=True)
    flow.write_text(json.dumps({"format": "dad-flow", "schema_version": 1, "root": RUN_DEMO}), encoding="utf-8")
    settings = QtCore.QSettings(str(tmp / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, state_dir=tmp / "state")
    win.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    win.resize(1500, 1000)
    win.show()

    def save(widget: QtWidgets.QWidget, name: str) -> None:
        path = out / name
        widget.grab().save(str(path))
        print(path)

    async def scenario() -> None:
        await asyncio.sleep(0.2)
        win.runs.size_docks()
        assert win.open_file(flow)
        win.canvas.view.fit()
        runs = win.runs
        runs.actions["run"].trigger()
        session = runs.sessions[-1]
        await until(lambda: "demo.ask" in session.inputs and session.state.nodes["demo.rollback"].status == "completed")
        await asyncio.sleep(0.4)  # a flush, a canvas batch and an animation step
        win.canvas.view.fit()
        await asyncio.sleep(0.2)
        save(win, "run_in_progress.png")
        form = runs.forms[(session.number, "demo.ask")]
        save(form, "input_form.png")
        form.hide()  # "Later": the request stays in the inbox
        win.docks["run_context"].raise_()
        win.canvas.scene.select_ids(["summarize"])
        runs.context.select_path("node", "demo.summarize")
        await asyncio.sleep(0.2)
        save(win, "run_panels.png")
        win.docks["run_artifacts"].raise_()
        runs.artifacts.rebuild()
        await runs.artifacts.wait_idle()
        await until(lambda: bool(runs.artifacts.entries))
        items = _items(runs.artifacts.tree)
        report = next(i for i in items if i.text(0) == "report.md")
        runs.artifacts.tree.setCurrentItem(report)
        await runs.artifacts.wait_idle()
        await asyncio.sleep(0.1)
        save(win, "artifacts.png")
        items = _items(runs.artifacts.tree)  # a refresh may have listed the tree again meanwhile
        diff = next((i for i in items if i.text(0).endswith(".diff")), None)
        if diff is not None:
            runs.artifacts.tree.setCurrentItem(diff)
            await runs.artifacts.wait_idle()
            await asyncio.sleep(0.1)
            save(win, "artifacts_diff.png")
        form = runs.open_form(session.inputs["demo.ask"])
        form.submit()
        await until(lambda: not session.active)
        await asyncio.sleep(0.3)
        win.docks["run_log"].raise_()
        win.canvas.scene.clearSelection()
        await asyncio.sleep(0.1)
        save(win, "run_done.png")

    try:
        loop.run_until_complete(scenario())
    finally:
        win.close()
        loop.run_until_complete(asyncio.sleep(0.05))
        close_loop(loop)
    return 0


def _items(tree: QtWidgets.QTreeWidget) -> list[QtWidgets.QTreeWidgetItem]:
    found = []
    iterator = QtWidgets.QTreeWidgetItemIterator(tree)
    while iterator.value():
        found.append(iterator.value())
        iterator += 1
    return found
