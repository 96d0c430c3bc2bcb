"""The run viewer: the flow snapshot that ran, stepped through event by event, and continuations.

A window of its own (the editor's canvas keeps the document being edited): a read-only canvas
built from the run's flow.dad.json, the issue-8 context and outcomes panels and canvas overlay
pointed at a `ReplaySession`, a timeline, and "Re-run from here" / "Resume". Before a continuation
starts, the canvas shows the plan (`plan_rerun` / `plan_resume`: which elements run, which load)
in a bar with Start / Cancel, so no modal dialog is ever needed. A run still being written is
followed: the log is re-read on a short timer and when the file watcher sees it grow.

A continuation runs the run folder's snapshot, but whether its code may run is decided by the
folder of the flow file the run came from (run.json `flow_file`), as Run in the editor decides it:
if that folder is not trusted and the snapshot runs code, the issue-5 trust prompt asks first
(window-modal, `open()`ed; `trust_prompted` / `trust_answered`). A run with no flow file, or whose
file is gone, has no folder to trust: it is untrusted, and the prompt offers "Run once" / "Cancel".
"""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.editor import FlowDocument
from dad_studio.engine import FlowRunner, RunContext
from dad_studio.engine.trust import code_uses
from dad_studio.fileformat.project import find_project_root
from dad_studio.model import NodeTypeRegistry, default_registry
from dad_studio.nodes.config import CONFIG_FILE, config_dir
from dad_studio.runs import read_run
from dad_studio.runs.common import EVENTS_NAME
from dad_studio.runs.plan import RerunPlan, RerunPlanError, plan_rerun, plan_resume
from dad_studio.runs.replay import Replay
from dad_studio.runs.state import ContextNode
from dad_studio.ui.canvas.items import RUN_COLOURS, RUN_LABELS
from dad_studio.ui.canvas.widget import CanvasWidget
from dad_studio.ui.history.flowdiff import FlowDiff, diff_flows, load_current_flow
from dad_studio.ui.history.replay_session import ReplaySession
from dad_studio.ui.history.timeline import TimelineBar
from dad_studio.ui.run.canvas_status import CanvasRunOverlay, component_path
from dad_studio.ui.run.context_panel import KIND_ROLE, PATH_ROLE, ContextPanel
from dad_studio.ui.run.outcome_panel import OutcomePanel
from dad_studio.ui.run.trust_prompt import TrustPrompt, apply_answer, folder_trusted

__all__ = ["FOLLOW_MS", "RunViewer"]

FOLLOW_MS = 250
Area = QtCore.Qt.DockWidgetArea

# Two plan marks drawn like run statuses (the canvas paints any status found in these tables).
RUN_COLOURS.setdefault("plan_execute", "#4c9aff")
RUN_COLOURS.setdefault("plan_load", "#3fb6b0")
RUN_LABELS.setdefault("plan_execute", "will run")
RUN_LABELS.setdefault("plan_load", "will load")
RESUMABLE = ("interrupted", "failed", "cancelled")


class FastContextPanel(ContextPanel):
    """The issue-8 context panel, built lazily: a full rebuild makes the run, the root component and
    its elements; the inside of a subflow or loop is made when its row is expanded (or when a step
    touches it, through the base class's `_ensure_*`). A 3,000-element run opens with ~100 rows
    made instead of 3,000.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree.itemExpanded.connect(self._on_expanded)

    def rebuild(self) -> None:
        self.tree.clear()
        self.items.clear()
        session = self.session
        if session is None:
            self.scope.clear()
            return
        state = session.state
        run_item = self._make(None, ContextNode("run", state.root_id, state.status, state.run_id or state.root_id))
        root = state.components.get(state.root_id)
        if root is not None:
            label = root.path.rsplit(".", 1)[-1]
            component_item = self._make(run_item, ContextNode("component", root.path, root.status, label))
            self._fill(component_item, root.path)
        self.tree.addTopLevelItem(run_item)
        run_item.setExpanded(True)
        for index in range(run_item.childCount()):
            run_item.child(index).setExpanded(True)
        self.scope_path = self.scope_path if self.scope_path in state.components else session.root_id
        self.refresh_scope()

    def _fill(self, component_item: QtWidgets.QTreeWidgetItem, path: str) -> None:
        assert self.session is not None
        state = self.session.state
        owners = {c.owner for c in state.components.values() if c.owner is not None}
        for child in state.components[path].children:
            if ("node", child) in self.items:
                continue
            view = state.nodes[child]
            item = self._make(component_item, ContextNode("node", child, view.status, view.id))
            if child in owners:
                item.setChildIndicatorPolicy(QtWidgets.QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)

    def _on_expanded(self, item: QtWidgets.QTreeWidgetItem) -> None:
        session = self.session
        if session is None or item.data(0, KIND_ROLE) != "node" or item.childCount():
            return
        path = str(item.data(0, PATH_ROLE))
        for component in [c for c in session.state.components.values() if c.owner == path]:
            self._ensure_component(component.path)

    def _ensure_component(self, path: str) -> QtWidgets.QTreeWidgetItem | None:
        made = ("component", path) not in self.items
        item = super()._ensure_component(path)
        if made and item is not None:
            owner = self.session.state.components[path].owner if self.session is not None else None
            parent = self.items.get(("node", owner)) if owner is not None else None
            if parent is not None:
                parent.setChildIndicatorPolicy(
                    QtWidgets.QTreeWidgetItem.ChildIndicatorPolicy.DontShowIndicatorWhenChildless
                )
        return item


class RunViewer(QtWidgets.QMainWindow):
    """One past (or running) run: snapshot canvas, timeline, context and outcomes at step k."""

    continuation_started = QtCore.Signal(str)
    """Run id of a continuation this viewer started."""
    continuation_finished = QtCore.Signal(str)
    step_changed = QtCore.Signal(int)
    trust_prompted = QtCore.Signal(object)
    """A TrustPrompt was opened (the continuation waits for its answer)."""
    trust_answered = QtCore.Signal(object, object)
    """(TrustAnswer, the continuation's task or None) once the prompt is answered."""

    def __init__(self, registry: NodeTypeRegistry | None = None, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Run viewer — DAD Studio")
        self.setObjectName("run_viewer")
        self.resize(1300, 820)
        self.registry = registry if registry is not None else default_registry()
        self.session: ReplaySession | None = None
        self.doc: FlowDocument | None = None
        self.diff: FlowDiff | None = None
        self.plan: RerunPlan | None = None
        self.task: asyncio.Task[Any] | None = None
        self.new_run_id: str | None = None
        self.error: str | None = None
        self.trust_prompt: TrustPrompt | None = None
        """The open trust prompt, if a continuation waits for one."""

        self.canvas = CanvasWidget(self.registry, self)
        view = self.canvas.view
        view.connect_requested.disconnect(self.canvas._on_connect_requested)
        view.nodes_moved.disconnect(self.canvas._on_nodes_moved)
        view.type_dropped.disconnect(self.canvas.add_node_of_type)
        view.setAcceptDrops(False)
        view.empty_hint = None  # a past run's flow is read here, not built
        # A snapshot's own validation problems are not what the viewer is about (and cost ~0.5 s on
        # thousands of nodes); its badges mark what changed in the file since (`_apply_marks`).
        self.canvas.refresh_problems = lambda: None  # type: ignore[method-assign]
        self.overlay = CanvasRunOverlay(self.canvas)
        self.context = FastContextPanel()
        self.outcomes = OutcomePanel()
        self.timeline = TimelineBar()
        self.notes = QtWidgets.QLabel("")
        self.notes.setObjectName("viewer_notes")
        self.notes.setWordWrap(True)
        self.notes.setContentsMargins(8, 4, 8, 4)
        self.plan_bar = QtWidgets.QFrame()
        self.plan_bar.setObjectName("viewer_plan_bar")
        self.plan_bar.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.plan_label = QtWidgets.QLabel("")
        self.plan_label.setWordWrap(True)
        self.plan_start = QtWidgets.QPushButton("Start")
        self.plan_start.setObjectName("viewer_plan_start")
        self.plan_cancel = QtWidgets.QPushButton("Cancel")
        bar = QtWidgets.QHBoxLayout(self.plan_bar)
        bar.addWidget(self.plan_label, 1)
        bar.addWidget(self.plan_start)
        bar.addWidget(self.plan_cancel)
        self.plan_bar.hide()

        central = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.notes)
        column.addWidget(self.plan_bar)
        column.addWidget(self.canvas, 1)
        column.addWidget(self.timeline)
        self.setCentralWidget(central)
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        for name, title, widget in (
            ("context", "Execution context", self.context),
            ("outcomes", "Node outcome", self.outcomes),
        ):
            dock = QtWidgets.QDockWidget(title, self)
            dock.setObjectName(f"viewer_dock_{name}")
            dock.setWidget(widget)
            dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)
            self.addDockWidget(Area.RightDockWidgetArea, dock)
            self.docks[name] = dock
        self.resizeDocks([self.docks["context"]], [420], QtCore.Qt.Orientation.Horizontal)

        toolbar = self.addToolBar("Run")
        toolbar.setObjectName("viewer_toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        style = self.style()
        self.rerun_action = QtGui.QAction(
            style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MediaSeekForward), "Re-run from here", self
        )
        self.rerun_action.setToolTip("Run the selected node and what follows it again, loading the rest from this run")
        self.resume_action = QtGui.QAction(
            style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_BrowserReload), "Resume", self
        )
        self.resume_action.setToolTip("Continue this interrupted or failed run: completed nodes are loaded")
        self.rerun_action.triggered.connect(lambda: self.propose_rerun())
        self.resume_action.triggered.connect(lambda: self.propose_resume())
        toolbar.addAction(self.rerun_action)
        toolbar.addAction(self.resume_action)
        self.title = QtWidgets.QLabel("")
        self.title.setObjectName("viewer_title")
        toolbar.addSeparator()
        toolbar.addWidget(self.title)

        self.follow_timer = QtCore.QTimer(self)
        self.follow_timer.setInterval(FOLLOW_MS)
        self.follow_timer.timeout.connect(self.follow)
        self.watcher = QtCore.QFileSystemWatcher(self)
        # The timer follows the log: a mapped log (runs.eventlog) grows without the write() calls a
        # watcher hears. The watcher catches what is written (the fallback's lines, the final cut).
        self.watcher.fileChanged.connect(lambda _name: self.follow())

        self.timeline.step_requested.connect(self.go_to)
        self.timeline.next_failure_requested.connect(self.next_failure)
        self.timeline.next_node_requested.connect(self.next_node_event)
        self.timeline.prev_node_requested.connect(self.prev_node_event)
        self.canvas.path_changed.connect(self._after_canvas_rebuild)
        self.canvas.selection_changed.connect(self._on_canvas_selection)
        self.context.node_selected.connect(self.outcomes.show_path)
        self.plan_start.clicked.connect(self.confirm_plan)
        self.plan_cancel.clicked.connect(self.cancel_plan)
        self._update_actions()

    # -- opening -----------------------------------------------------------------------------------

    def open_run(self, run_dir: Path, *, step: int | None = None) -> ReplaySession:
        """Show a run folder at `step` (default: the last event, i.e. the final statuses)."""
        self.cancel_plan()
        self.timeline.stop()
        replay = Replay(Path(run_dir))
        component = replay.flow
        # The snapshot is shared with the replay, not copied: the viewer's document is never edited.
        doc = FlowDocument(component, registry=self.registry)
        self.doc = doc
        session = ReplaySession(replay, document=doc)
        self.session = session
        self.canvas.set_document(doc)  # path_changed -> read-only items, diff marks
        self.diff = None
        note = ""
        if component is not None:
            current, why = load_current_flow(replay.manifest.get("flow_file"))
            if current is not None:
                self.diff = diff_flows(component, current)
                note = self.diff.summary()
            else:
                note = f"Cannot compare with the flow file: {why}."
        else:
            note = "This run has no readable flow snapshot (flow.dad.json): statuses only in the panels."
        self.notes.setText(note)
        self.notes.setStyleSheet("" if self.diff is None or self.diff.empty else "color: #e5894a;")
        self._apply_marks()
        self.title.setText(f"  {session.run_id} · {session.status}")
        self.setWindowTitle(f"{session.run_id} — Run viewer")
        session.go_to(len(replay) if step is None else step)
        self.overlay.show_session(session)
        for panel in (self.context, self.outcomes):
            panel.set_session(session)
        self._show_step()
        if self.watcher.files():
            self.watcher.removePaths(self.watcher.files())
        events = Path(run_dir) / EVENTS_NAME
        if session.status == "running":
            if events.exists():
                self.watcher.addPath(str(events))
            self.follow_timer.start()
        else:
            self.follow_timer.stop()
        self._update_actions()
        return session

    def _after_canvas_rebuild(self) -> None:
        movable = QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIsMovable
        for item in self.canvas.scene.nodes.values():
            item.setFlag(movable, False)
        self._apply_marks()

    def _apply_marks(self) -> None:
        """Badges on elements that changed or were removed in the flow file since the run."""
        marks = self.diff.marks() if self.diff is not None else {}
        prefix = ".".join(self.canvas.cpath)
        for node_id, item in self.canvas.scene.nodes.items():
            rel = f"{prefix}.{node_id}" if prefix else node_id
            mark = marks.get(rel)
            item.set_problems("warning" if mark else None, mark[1] if mark else "")
            item.setToolTip(mark[1] if mark else item.description)

    # -- stepping ----------------------------------------------------------------------------------

    @property
    def step(self) -> int:
        return self.session.step if self.session is not None else 0

    def go_to(self, k: int) -> None:
        """Show the state after event k on the canvas and in the panels."""
        session = self.session
        if session is None or self.plan is not None:
            return
        changed = session.go_to(k)
        if changed is None:
            self.overlay.refresh_all()
            for panel in (self.context, self.outcomes):
                panel.set_session(session)
        else:
            # now: a step shows its state at once (the live run's overlay batches by time instead)
            self.overlay.update_paths(changed, now=True)
            events = session.replay.events[max(0, session.step - 1) : session.step]
            for panel in (self.context, self.outcomes):
                panel.on_events(session, changed, events)
            # the "in scope" list too, when the step touched it: a live run refreshes it at most every
            # SCOPE_MS, a step at once (~3 ms for its 200 rows: not for steps elsewhere)
            if self.context.scope_touched(changed):
                self.context.refresh_scope()
        self._show_step()

    def _show_step(self) -> None:
        session = self.session
        if session is None:
            return
        self.timeline.show_step(session.step, len(session), session.event_label(session.step))
        self.step_changed.emit(session.step)

    def step_by(self, delta: int) -> None:
        self.go_to(self.step + delta)

    def next_failure(self) -> None:
        if self.session is not None:
            k = self.session.replay.next_failure(self.step)
            if k is not None:
                self.go_to(k)

    def next_node_event(self) -> None:
        if self.session is not None:
            k = self.session.replay.next_node_event(self.step)
            if k is not None:
                self.go_to(k)

    def prev_node_event(self) -> None:
        if self.session is not None:
            k = self.session.replay.prev_node_event(self.step)
            if k is not None:
                self.go_to(k)

    def follow(self) -> None:
        """A run still being written: read what was appended; stay at the end if we were there."""
        session = self.session
        if session is None:
            self.follow_timer.stop()
            return
        at_end = session.step == len(session)
        added = session.replay.refresh()
        if added and at_end:
            self.go_to(len(session))
        elif added:
            self._show_step()
        if session.status != "running":
            self.follow_timer.stop()
            if at_end:
                self.go_to(len(session))
            self.title.setText(f"  {session.run_id} · {session.status}")
            self._update_actions()
        elif not self.watcher.files() and (session.run_dir / EVENTS_NAME).exists():
            self.watcher.addPath(str(session.run_dir / EVENTS_NAME))

    # -- selection ---------------------------------------------------------------------------------

    def selected_path(self) -> str | None:
        """Hierarchy path (in the run) of the node selected on the canvas."""
        session = self.session
        ids = self.canvas.scene.selected_ids()
        if session is None or len(ids) != 1:
            return None
        cpath = component_path(session, self.canvas.cpath)
        return f"{cpath}.{ids[0]}" if cpath is not None else None

    def select_node(self, path: str) -> None:
        """Open the component holding `path` (relative to the root or absolute) and select the node."""
        session = self.session
        if session is None:
            return
        rel = path[len(session.root_id) + 1 :] if path.startswith(session.root_id + ".") else path
        parts = [p for p in rel.split(".") if not p.startswith("iter_")]
        if tuple(parts[:-1]) != self.canvas.cpath:
            self.canvas.open_path(tuple(parts[:-1]))
        self.canvas.scene.select_ids([parts[-1]])

    def _on_canvas_selection(self) -> None:
        path = self.selected_path()
        if path is not None:
            self.outcomes.show_path(path)
            self.context.select_path("node", path)
        self._update_actions()

    # -- continuations -----------------------------------------------------------------------------

    def _previous_results(self) -> dict[str, str]:
        assert self.session is not None
        record = read_run(self.session.run_dir)
        return {path: str(result.get("status")) for path, result in record.results.items()}

    def propose_rerun(self, path: str | None = None) -> RerunPlan | None:
        """Mark on the canvas what a re-run from `path` (default: the selected node) runs and loads."""
        session = self.session
        path = path or self.selected_path()
        if session is None or path is None:
            self.notes.setText("Re-run from here: select one node of the run first.")
            return None
        try:
            plan = plan_rerun(session.component, path, self._previous_results(), root_id=session.root_id)
        except RerunPlanError as exc:
            self.notes.setText(f"Cannot re-run from {path}: {exc}")
            return None
        self._show_plan(plan, f"Re-run from <b>{plan.start_path}</b>")
        return plan

    def propose_resume(self) -> RerunPlan | None:
        session = self.session
        if session is None or session.status not in RESUMABLE:
            self.notes.setText("Resume: only an interrupted, failed or cancelled run can be resumed.")
            return None
        plan = plan_resume(session.component, self._previous_results(), root_id=session.root_id)
        self._show_plan(plan, f"Resume <b>{session.run_id}</b>")
        return plan

    def _show_plan(self, plan: RerunPlan, what: str) -> None:
        self.timeline.stop()
        self.plan = plan
        self._paint_plan()
        self.plan_label.setText(
            f"{what}: {len(plan.execute)} element(s) will run (blue), {len(plan.load)} will be loaded from this run "
            "(teal). Start?"
        )
        self.plan_bar.show()
        self.timeline.setEnabled(False)
        self._update_actions()

    def _paint_plan(self) -> None:
        session, plan = self.session, self.plan
        if session is None or plan is None:
            return
        base = component_path(session, self.canvas.cpath)
        for node_id, item in self.canvas.scene.nodes.items():
            action = plan.action(f"{base}.{node_id}") if base is not None else None
            item.set_run_state(f"plan_{action}" if action else None)
        for edge in self.canvas.scene.edges.values():
            edge.set_run_state(None)
        self.overlay.timer.stop()

    def plan_marks(self) -> dict[str, str | None]:
        """node id -> plan mark on the canvas (tests, screenshots)."""
        return {node_id: item.run_status for node_id, item in self.canvas.scene.nodes.items()}

    def cancel_plan(self) -> None:
        if self.plan is None:
            return
        self.plan = None
        self.plan_bar.hide()
        self.timeline.setEnabled(True)
        self.overlay.refresh_all()
        self._update_actions()

    def confirm_plan(self) -> asyncio.Task[Any] | None:
        """Start the continuation shown; the viewer then follows the new run."""
        session, plan = self.session, self.plan
        if session is None or plan is None:
            return None
        self.cancel_plan()
        return self.start_continuation(plan.start_path)

    def start_continuation(self, start_path: str | None) -> asyncio.Task[Any] | None:
        """A new run from this one (start_path) or resuming it (None), on the qasync loop.

        If the snapshot runs code and the original flow file's folder is not trusted (or the file
        is gone), the trust prompt opens instead and None is returned; the continuation starts when
        it is answered "Trust folder and run" or "Run once" (`trust_answered` tells)."""
        session = self.session
        if session is None or (self.task is not None and not self.task.done()):
            return None
        if self.trust_prompt is not None:  # one question at a time
            self.trust_prompt.raise_()
            self.trust_prompt.activateWindow()
            return None
        flow_path = session.flow_path
        original = self.original_flow_file(session)
        trusted, note = folder_trusted(original)
        if note:
            self.notes.setText(note)
        uses = code_uses(session.component, self.registry, flow_path) if not trusted else []
        launch = partial(self._launch, session, start_path)
        if not uses:
            # an untrusted run with no code found runs untrusted: code met later (a ref subflow)
            # is refused by the engine at node level
            return launch(trusted)
        if original is not None:
            prompt = TrustPrompt(
                self, original, find_project_root(original), uses, config_path=config_dir() / CONFIG_FILE
            )
        else:
            if flow_path is not None:
                reason = (
                    f"The flow file this run came from ({flow_path}) is gone, so there is no folder to "
                    "trust: run the run's snapshot once, or cancel."
                )
            else:
                reason = "This run was of an untitled flow, so there is no folder to trust: run it once, or cancel."
            prompt = TrustPrompt(self, flow_path, None, uses, offer_save=False, reason=reason)
        prompt.finished.connect(lambda _result: self._on_trust_answer(prompt, launch))
        self.trust_prompt = prompt
        prompt.open()  # window-modal, returns at once (QT_NOTES.md: never exec())
        self._update_actions()
        self.trust_prompted.emit(prompt)
        return None

    @staticmethod
    def original_flow_file(session: ReplaySession) -> Path | None:
        """The flow file the run came from (run.json `flow_file`), if it still exists; a relative
        record cannot be placed and counts as gone."""
        path = session.flow_path
        if path is None or not path.is_absolute() or not path.is_file():
            return None
        return path.resolve()

    def _on_trust_answer(self, prompt: TrustPrompt, launch: Any) -> None:
        if self.trust_prompt is not prompt:
            return  # closed by shutdown: nothing runs
        self.trust_prompt = None
        prompt.deleteLater()
        start, message = apply_answer(prompt.answer, prompt.folder)
        task = launch(True) if start else None
        if message:
            self.notes.setText(message)
        self._update_actions()
        self.trust_answered.emit(prompt.answer, task)

    def _launch(self, session: ReplaySession, start_path: str | None, trusted: bool) -> asyncio.Task[Any] | None:
        """Make the continuation's run folder and start the engine on the qasync loop."""
        if self.task is not None and not self.task.done():
            return None
        flow_path = session.flow_path
        run_root = session.run_dir.parent
        project_root = flow_path.parent if flow_path is not None else run_root.parent
        rc = RunContext(
            root_component_id=session.root_id,
            project_root=project_root,
            run_root=run_root,
            previous_run_id=session.run_id,
            start_hierarchy_path=start_path,
            resume=session.run_id if start_path is None else None,
            trusted=trusted,
            flow_path=flow_path,
        )
        try:
            rc.setup_run()
        except ValueError as exc:
            self.notes.setText(f"Cannot start: {exc}")
            return None
        assert rc.run_id is not None and rc.run_dir is not None
        runner = FlowRunner(session.component.model_copy(deep=True), rc, node_types=self.registry)
        self.new_run_id = rc.run_id
        self.error = None
        self.task = asyncio.get_event_loop().create_task(self._execute(runner, rc.run_dir), name=f"history-{rc.run_id}")
        self.continuation_started.emit(rc.run_id)
        return self.task

    async def _execute(self, runner: FlowRunner, run_dir: Path) -> Any:
        opened = False
        try:
            async with runner.iter() as run:
                async for _event in run:
                    if not opened and (run_dir / EVENTS_NAME).exists():
                        opened = True
                        self.open_run(run_dir)
        except Exception as exc:  # a continuation the engine refuses: shown in the viewer, not raised
            self.error = f"{type(exc).__name__}: {exc}"
            self.notes.setText(f"The continuation failed to run: {self.error}")
        finally:
            if (run_dir / EVENTS_NAME).exists():
                if not opened:
                    self.open_run(run_dir)
                self.follow()
            self._update_actions()
            self.continuation_finished.emit(run_dir.name)
        return runner.result

    def _update_actions(self) -> None:
        session = self.session
        busy = (
            self.plan is not None or self.trust_prompt is not None or (self.task is not None and not self.task.done())
        )
        self.rerun_action.setEnabled(session is not None and not busy and len(self.canvas.scene.selected_ids()) == 1)
        self.resume_action.setEnabled(session is not None and not busy and session.status in RESUMABLE)

    # -- closing -----------------------------------------------------------------------------------

    def shutdown(self) -> None:
        self.timeline.stop()
        self.follow_timer.stop()
        self.overlay.shutdown()
        self.context.scope_timer.stop()
        self.canvas.shutdown()
        if self.watcher.files():
            self.watcher.removePaths(self.watcher.files())
        if self.task is not None and not self.task.done():
            self.task.cancel()
        prompt, self.trust_prompt = self.trust_prompt, None
        if prompt is not None:  # closing answers nothing: no continuation starts
            prompt.finished.disconnect()
            prompt.close()
            prompt.deleteLater()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.timeline.stop()
        self.follow_timer.stop()
        self.overlay.timer.stop()
        self.overlay.paint_timer.stop()
        self.context.scope_timer.stop()
        super().closeEvent(event)
