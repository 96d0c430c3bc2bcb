"""Save PNGs of the studio, offscreen: `python tools/screenshots.py OUT_DIR`.

empty.png (new studio), example.png (an example flow), selected.png (a node and its properties),
problems.png (the problems panel with problems), nested.png (a for_each body opened), light.png,
comments.png (two canvas comments, saved in the file since schema_version 2).
big_fit.png (a 2,000-node flow fitted in view, drawn by the far-zoom overview, with run statuses
and a selection) and big_45.png (the same at 45%, nodes drawn simplified).
History set (issue 9): history.png (the run history dock), run_step.png (a past run opened in the
run viewer, stepped to an event), rerun_plan.png (the plan shown before a re-run), compare.png.
`--trust` (issue 5): trust.png (the studio with the trust prompt over it, after Run on the example
flow from an untrusted folder) and trust_prompt.png (the prompt alone).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtWidgets

import dad_studio.ui  # noqa: F401
from dad_studio.ui.main_window import MainWindow

EXAMPLE = Path(__file__).resolve().parents[1] / "tests" / "ui" / "data" / "example.dad.json"


def settle(app: QtWidgets.QApplication) -> None:
    for _ in range(5):
        app.processEvents()


def main(argv: list[str]) -> int:
    runs = "--runs" in argv
    batch = "--batch" in argv  # issue 11: batch.png and batch_dock.png only (batch_shots below)
    trust = "--trust" in argv  # issue 5: trust.png and trust_prompt.png only (trust_shots below)
    argv = [a for a in argv if a not in ("--runs", "--batch", "--trust")]
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    if batch:
        return batch_shots(Path(argv[0]))
    if trust:
        return trust_shots(Path(argv[0]))
    if runs:
        from run_screenshots import run_shots  # tools/run_screenshots.py

        return run_shots(Path(argv[0]))
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    app = QtWidgets.QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="dad-shots-"))
    settings = QtCore.QSettings(str(tmp / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, state_dir=tmp / "state")
    win.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    win.resize(1400, 900)
    win.show()
    settle(app)

    def shot(name: str) -> None:
        settle(app)
        win.canvas.minimap.refit()
        path = out / name
        win.grab().save(str(path))
        print(path)

    shot("empty.png")
    work = tmp / "example.dad.json"
    work.write_bytes(EXAMPLE.read_bytes())
    win.open_file(work)
    win.canvas.view.fit()
    shot("example.png")
    win.canvas.scene.select_ids(["write"])
    shot("selected.png")
    doc = win.doc
    assert doc is not None
    doc.set_setting((), "write", ("prompt",), "Summarise $var{missing_name} and $hier{nowhere.outcome}")
    doc.set_setting((), "big", ("statement",), "$expr{1 +}")
    win.refresh_problems()
    win.canvas.refresh_problems()
    win.canvas.scene.select_ids(["big"])
    shot("problems.png")
    win.canvas.scene.clearSelection()
    win.canvas.open_node("per_file")
    win.canvas.scene.select_ids(["describe"])
    shot("nested.png")
    win.canvas.go_up()
    win.set_theme("light")
    win.canvas.view.fit()
    shot("light.png")
    win.set_theme("dark")
    comments_shot(win, tmp, shot)
    big_flow_shots(win, tmp, shot)
    history_shots(app, win, out, tmp)
    win.close()
    return 0


def comments_shot(win: MainWindow, tmp: Path, shot: Any) -> None:
    """comments.png: the example flow with two document comments (schema_version 2), one coloured."""
    work = tmp / "commented.dad.json"
    work.write_bytes(EXAMPLE.read_bytes())
    win.open_file(work)
    doc = win.doc
    assert doc is not None
    win.canvas.scene.select_ids(["scan", "focus", "per_file"])
    win.canvas.add_comment_around_selection("Gather\nscan the folder, ask for a focus, describe each file")
    win.canvas.scene.select_ids(["big", "warn", "save"])
    second = win.canvas.add_comment_around_selection("Decide and report\nlarge folders only warn")
    assert second is not None
    doc.set_comment_color((), second, "#4c9aff")
    win.canvas.scene.clearSelection()
    win.canvas.view.fit()
    shot("comments.png")


def big_flow_shots(win: MainWindow, tmp: Path, shot: Any) -> None:
    """big_fit.png and big_45.png: 2,000 nodes in chains of 20 (bench/canvas_bench.py's shape)."""
    from dad_studio.fileformat import dumps_flow
    from dad_studio.model import FlowDefinition

    f = FlowDefinition(id="big")
    for i in range(2000):
        f.node(f"n{i}", type="noop")
        f.layout[f"n{i}"] = ((i % 20) * 240, (i // 20) * 140)
    f.edges = []
    for i in range(1, 2000):
        if i % 20:
            f.connect(f"n{i - 1}", f"n{i}")
        elif i >= 20:
            f.connect(f"n{i - 20}", f"n{i}", on_error=True)
    path = tmp / "big.dad.json"
    path.write_bytes(dumps_flow(f))
    win.open_file(path)
    scene, view = win.canvas.scene, win.canvas.view
    for i in range(400):  # what a run in progress looks like (dad_studio.ui.run sets these)
        scene.nodes[f"n{i}"].set_run_state("completed", "1 ms")
    for i in range(400, 405):
        scene.nodes[f"n{i}"].set_run_state("running", "2 s")
    scene.nodes["n405"].set_run_state("failed", "4 ms")
    for edge in scene.edges.values():
        if edge.source.run_status == "completed":
            edge.set_run_state("taken")
    scene.select_ids(["n1200", "n1201"])
    view.fit()
    shot("big_fit.png")
    view.resetTransform()
    view.scale(0.45, 0.45)
    view.zoom_changed.emit()
    view.centerOn(scene.nodes["n405"].pos())
    shot("big_45.png")
    for item in scene.nodes.values():
        item.set_run_state(None)


def history_shots(app: QtWidgets.QApplication, win: MainWindow, out: Path, tmp: Path) -> None:
    """Three runs of a small flow through the real engine, then the history dock, viewer, compare."""
    import asyncio

    from dad_studio.engine import FlowRunner, RunContext
    from dad_studio.fileformat import dumps_flow
    from dad_studio.model import FlowDefinition
    from dad_studio.ui.loop import close_loop, make_loop

    def flow(value: str, fail: bool) -> FlowDefinition:
        f = FlowDefinition(id="review")
        f.node("fetch", type="noop", settings={"value": "sources"})
        f.node("draft", type="noop", settings={"value": value})
        f.node("check", type="sleep", settings={"seconds": 0.05, "fail": fail})
        f.node("publish", type="noop", settings={"value": "done"})
        f.node("report_error", type="noop", settings={"value": "check failed"})
        f.connect("fetch", "draft")
        f.connect("draft", "check")
        f.connect("check", "publish")
        f.connect("check", "report_error", on_error=True)
        f.layout.update({"fetch": (0, 0), "draft": (260, 0), "check": (520, 0), "publish": (780, -90),
                         "report_error": (780, 90)})  # fmt: skip
        return f

    flows = tmp / "proj" / "flows"
    flows.mkdir(parents=True, exist_ok=True)
    flow_path = flows / "review.dad.json"
    loop = make_loop(app)

    async def run(f: FlowDefinition) -> Path:
        rc = RunContext(root_component_id="review", project_root=flows, run_root=tmp / "proj" / "runs",
                        trusted=True, flow_path=flow_path)  # fmt: skip
        rc.setup_run()
        async with FlowRunner(f, rc).iter() as stream:
            async for _ in stream:
                pass
        assert rc.run_dir is not None
        return rc.run_dir

    runs = []
    for value, fail in (("first draft", True), ("second draft", False), ("third draft, shorter", False)):
        flow_path.write_bytes(dumps_flow(flow(value, fail)))
        runs.append(loop.run_until_complete(run(flow(value, fail))))
        loop.run_until_complete(asyncio.sleep(1.05))  # distinct start seconds
    win.open_file(flow_path)
    history = win.history  # type: ignore[attr-defined]
    history.panel.refresh(background=False)
    history.dock.raise_()
    win.resizeDocks([history.dock], [300], QtCore.Qt.Orientation.Vertical)
    history.panel.select_runs([runs[0].name])
    shot_widget(app, win, out / "history.png")

    viewer = history.open_run(runs[0])
    viewer.resize(1300, 820)
    events = viewer.session.replay.events
    k = next(i for i, e in enumerate(events, 1) if e["type"] == "node_started" and e["path"] == "review.check")
    viewer.go_to(k)
    viewer.canvas.scene.select_ids(["draft"])
    viewer.canvas.view.fit()
    shot_widget(app, viewer, out / "run_step.png")
    viewer.go_to(len(events))
    viewer.propose_rerun("review.check")
    shot_widget(app, viewer, out / "rerun_plan.png")
    viewer.cancel_plan()
    view = history.compare(runs[0], runs[2])
    shot_widget(app, view, out / "compare.png")
    history.shutdown()
    close_loop(loop)


def shot_widget(app: QtWidgets.QApplication, widget: QtWidgets.QWidget, path: Path) -> None:
    settle(app)
    widget.grab().save(str(path))
    print(path)


def batch_shots(out: Path) -> int:
    """`--batch`: batch.png (the studio with the Batches dock after a finished batch, a failed check's
    row selected) and batch_dock.png (the dock alone). The batch runs through the dock's own Run Batch
    path (BatchController.start_batch) on a qasync loop: 24 rows of a small flow, a few not passing."""
    import asyncio
    import json

    from dad_studio.ui.loop import close_loop, make_loop

    out.mkdir(parents=True, exist_ok=True)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    assert isinstance(app, QtWidgets.QApplication)
    tmp = Path(tempfile.mkdtemp(prefix="dad-shots-"))
    flows = tmp / "proj" / "flows"
    flows.mkdir(parents=True)
    flow_path = flows / "triage.dad.json"
    root = {
        "id": "triage",
        "kind": "flow",
        "variables": {"n": 1, "ticket": "t"},
        "nodes": {
            "parse": {"type": "noop", "settings": {"value": "$expr{100 / n}"}},
            "classify": {"type": "sleep", "settings": {"seconds": 0.03}},
            "route": {"type": "noop", "settings": {"value": "queue-$var{ticket}"}},
        },
        "edges": [{"from": "parse", "to": "classify"}, {"from": "classify", "to": "route"}],
        "layout": {"parse": [0, 0], "classify": [260, 0], "route": [520, 0]},
    }
    flow_path.write_text(json.dumps({"format": "dad-flow", "schema_version": 1, "root": root}))

    def rows_file(name: str, count: int) -> Path:
        lines = []
        for i in range(count):
            ticket = f"T{100 + i}"
            expected = "queue-other" if i % 7 == 5 else f"queue-{ticket}"
            checks = [{"path": "triage.route.outcome.value", "equals": expected, "name": "routed to its queue"},
                      {"path": "triage.classify", "status": "completed", "name": "classified"}]  # fmt: skip
            variables: dict[str, object] = {"n": 0 if i % 11 == 3 else 1 + i % 3, "ticket": ticket}
            lines.append(json.dumps({"id": ticket, "variables": variables, "expect": {"checks": checks}}))
        path = tmp / "proj" / name
        path.write_text("\n".join(lines) + "\n")
        return path

    settings = QtCore.QSettings(str(tmp / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, state_dir=tmp / "state")
    win.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    win.resize(1400, 900)
    win.show()
    loop = make_loop(app)
    win.open_file(flow_path)
    win.canvas.view.fit()
    batches = win.batches  # type: ignore[attr-defined]
    batches.observability_settings = {"enabled": False}

    async def run(rows: Path) -> None:
        task = batches.start_batch(rows)
        assert task is not None, batches.last_message
        await task
        await asyncio.sleep(1.05)  # distinct creation seconds for the list

    loop.run_until_complete(run(rows_file("smoke.jsonl", 6)))
    loop.run_until_complete(run(rows_file("tickets.jsonl", 24)))
    panel = batches.panel
    win.resizeDocks([batches.dock], [360], QtCore.Qt.Orientation.Vertical)
    batches.dock.raise_()
    panel.select_row(5)
    settle(app)
    panel.splitter.setSizes([470, 930])
    shot_widget(app, win, out / "batch.png")
    batches.dock.setFloating(True)
    batches.dock.resize(1400, 420)
    shot_widget(app, batches.dock, out / "batch_dock.png")
    batches.dock.setFloating(False)
    win.close()
    close_loop(loop)
    return 0


def trust_shots(out: Path) -> int:
    """`--trust`: Run pressed on the example flow (two command nodes) saved in a folder that is not
    trusted; the prompt is shot over the window (trust.png) and alone (trust_prompt.png). The user
    config is a temporary folder: nothing is read from or written to the real one."""
    import json

    from PySide6 import QtGui

    from dad_studio.ui.loop import close_loop, make_loop
    from dad_studio.ui.run.trust_prompt import TrustAnswer

    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="dad-shots-trust-"))
    os.environ["DAD_STUDIO_CONFIG_DIR"] = str(tmp / "user-config")
    app = QtWidgets.QApplication([])
    app.setQuitOnLastWindowClosed(False)
    loop = make_loop(app)
    settings = QtCore.QSettings(str(tmp / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, state_dir=tmp / "state")
    win.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    win.resize(1400, 900)
    win.show()
    flow = tmp / "downloads" / "summarise" / "example.dad.json"
    flow.parent.mkdir(parents=True)
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["root"]["variables"]["stamp"] = "$expr{py: ', '.join(sorted(['b', 'a']))}"
    data["root"]["nodes"]["big"]["settings"]["statement"] = "$expr{py: $hier{scan}.outcome.total_files > 100}"
    flow.write_text(json.dumps(data, indent=2), encoding="utf-8")
    win.open_file(flow)
    win.canvas.view.fit()
    settle(app)
    prompted: list[Any] = []
    win.runs.trust_prompted.connect(prompted.append)  # type: ignore[attr-defined]
    win.runs.actions["run"].trigger()  # type: ignore[attr-defined]
    settle(app)
    assert prompted, "the example flow runs commands: Run must ask"
    prompt = prompted[0]
    prompt.adjustSize()
    settle(app)
    dialog = prompt.grab()
    dialog.save(str(out / "trust_prompt.png"))
    print(out / "trust_prompt.png")
    shot = win.grab()
    painter = QtGui.QPainter(shot)
    painter.fillRect(shot.rect(), QtGui.QColor(0, 0, 0, 90))  # the window is blocked while it asks
    x = (shot.width() - dialog.width()) // 2
    painter.drawPixmap(x, 120, dialog)
    painter.setPen(QtGui.QColor(90, 90, 90))
    painter.drawRect(x - 1, 119, dialog.width() + 1, dialog.height() + 1)
    painter.end()
    shot.save(str(out / "trust.png"))
    print(out / "trust.png")
    prompt.buttons_by_answer[TrustAnswer.CANCEL].click()
    settle(app)
    win.close()
    close_loop(loop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
