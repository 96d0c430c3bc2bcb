"""Run, Stop and Run-from-here: runs on the qasync loop through the engine's event stream.

A run is the CLI's run: `async with runner.iter() as run: async for event in run`, the same engine,
the same run folder. What runs is a snapshot of the in-memory document (unsaved edits included;
the run folder's flow.dad.json records exactly what ran), so Run never asks to save first. A flow
that would run code from a folder the user does not trust waits for the trust prompt's answer
first (trust_prompt.py, issue 5).

Events are only queued while they arrive; every FLUSH_MS they are folded into the run's state in
slices of FOLD_SLICE_MS, and what the folds changed is handed to the canvas and the panels of the
selected run in a turn of its own. Every sliced piece of work of the run views takes its turn on
one SliceQueue (slices.py), one piece per pass of the event loop, so the GUI thread never does
more than a few ms of run updates between two looks at its input, paints and the engine. When the
stream ends, the views are caught up in the same slices before the run counts as finished.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore

from dad_studio.engine import FlowRunner, InputRequest, RunContext
from dad_studio.fileformat.project import ProjectError
from dad_studio.model import ComponentDefinition
from dad_studio.nodes.config import CONFIG_FILE, config_dir
from dad_studio.ui.run.artifacts import ArtifactBrowser
from dad_studio.ui.run.canvas_status import CanvasRunOverlay, component_path
from dad_studio.ui.run.chrome import add_actions, add_docks
from dad_studio.ui.run.context_panel import ContextPanel
from dad_studio.ui.run.gc_policy import RunGcPolicy
from dad_studio.ui.run.input_form import InboxPanel, InputForm
from dad_studio.ui.run.log_panel import LogPanel
from dad_studio.ui.run.outcome_panel import OutcomePanel
from dad_studio.ui.run.panel_base import RunPanel
from dad_studio.ui.run.session import PendingInput, RunSession, project_dirs
from dad_studio.ui.run.slices import SliceQueue
from dad_studio.ui.run.snapshot import SNAPSHOT_POLL_MS, SnapshotCache, root_id_of
from dad_studio.ui.run.trust_prompt import TrustAnswer, TrustPrompt, apply_answer, folder_trusted

if TYPE_CHECKING:
    from dad_studio.ui.main_window import MainWindow

__all__ = ["FLUSH_MS", "RunController"]

log = logging.getLogger(__name__)

FLUSH_MS = 100
"""Queued events are folded and shown at most this often (10 Hz: what a person can follow; each
batch also repaints the panels it changes, ~3-10 ms of the GUI thread)."""
FOLD_SLICE_MS = 4.0
"""Per pass of the event loop, queued events are folded for about this long; the rest waits for the
next pass (a busy 40 ms of a 1,000-node run is ~1,000 events, ~10 ms to fold)."""
CATCH_UP_LIMIT_S = 5.0
"""After the stream ends, the views are brought up to date in slices for at most this long; then
whatever is left is done at once."""
GC_RESTORE_MS = 3000
"""The garbage collector's run policy ends this long after the last run (a full pass right at the
end of a run would be the longest stall of its last frames; a run started meanwhile keeps it on)."""
RUN_VIEW_SHARE = 0.3
"""While an engine streams, the sliced view updates take at most this share of the GUI thread
(SliceQueue.pace): the run goes on at close to its headless speed and the views catch up at its end."""
RECORDS_WAIT_S = 2.0
"""At a run's end, how long the studio waits for its index rows (written after the run returns)."""
SETTLE_VIEW_SHARE = 0.05
"""The views' share of the GUI thread while the run's index rows are written (see _records_settled)."""
SNAPSHOT_QUIET_S = 0.1
"""After a run ends, the next run's snapshot waits this long (the end-of-run updates go first)."""


class RunController(QtCore.QObject):
    """Owns the runs of one main window, their panels, actions and input forms."""

    session_added = QtCore.Signal(object)
    session_finished = QtCore.Signal(object)
    selected_changed = QtCore.Signal(object)
    trust_prompted = QtCore.Signal(object)
    """A TrustPrompt was opened (the run waits for its answer)."""
    trust_answered = QtCore.Signal(object, object)
    """(TrustAnswer, the RunSession started or None) once the prompt is answered."""

    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        self.sessions: list[RunSession] = []
        self.selected: RunSession | None = None
        self.forms: dict[tuple[int, str], InputForm] = {}
        self.trust_prompt: TrustPrompt | None = None
        """The open trust prompt, if a Run waits for one (trust_prompt.py)."""
        self.slices = SliceQueue(self)
        """Every sliced update of the run views, one slice per pass of the loop (slices.py)."""
        self._streaming = 0
        """Runs whose engine stream is open: the slices are paced meanwhile (RUN_VIEW_SHARE)."""
        self.overlay = CanvasRunOverlay(win.canvas, slices=self.slices)
        self.snapshots = SnapshotCache()
        """The run snapshot of the open document, made while the studio idles (snapshot.py)."""
        self.snapshot_timer = QtCore.QTimer(self)
        self.snapshot_timer.setInterval(SNAPSHOT_POLL_MS)
        self.snapshot_timer.timeout.connect(self._prepare_snapshot)
        self.snapshot_timer.start()
        self._last_finish = 0.0
        self._closed = False
        """Set by shutdown: a run ending afterwards is finished at once, not caught up in slices."""
        self.gc_policy = RunGcPolicy()
        """No full garbage collection pass while runs go on (gc_policy.py)."""
        self.context = ContextPanel(slices=self.slices)
        self.outcomes = OutcomePanel()
        # resizeDocks does not move a tabbed group reliably; minimum widths keep these two readable
        self.context.setMinimumWidth(300)
        self.outcomes.setMinimumWidth(340)
        self.artifacts = ArtifactBrowser()
        self.log = LogPanel()
        self.inbox = InboxPanel()
        self.panels: tuple[RunPanel, ...] = (self.context, self.outcomes, self.artifacts, self.log)
        self._flush_scheduled = False
        self.flush_timer = QtCore.QTimer(self)
        self.flush_timer.setSingleShot(True)
        self.flush_timer.setInterval(FLUSH_MS)
        self.fold_timer = self.slices.timer(self.flush)
        """Folds queued events in their turn among the slices (FOLD_SLICE_MS a turn)."""
        self._folded: dict[RunSession, tuple[set[str], list[dict[str, Any]]]] = {}
        """What folds changed that the views have not been given yet (`_show_folded`)."""
        self.show_timer = self.slices.timer(self._show_folded)
        """Hands the folded changes to the views in a turn of their own (not on top of a fold)."""
        self.flush_timer.timeout.connect(self.fold_timer.start)
        self.size_docks: Callable[[], None] = lambda: None
        """Gives the bottom row of run docks its proportions (set by add_docks)."""
        self.docks = add_docks(self)
        self.actions, self.selector, self.summary, self.toolbar = add_actions(self)
        self.context.node_selected.connect(self.outcomes.show_path)
        self.inbox.open_requested.connect(self._open_from_inbox)
        self.inbox.cancel_requested.connect(lambda pending: self.stop(pending.session))
        win.canvas.selection_changed.connect(self._on_canvas_selection)
        self._update_actions()

    # -- starting and stopping ---------------------------------------------------------------------

    def fallback_root(self) -> Path:
        if self.win.state_dir is not None:
            return Path(self.win.state_dir)
        location = QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.StandardLocation.AppLocalDataLocation)
        return Path(location or Path.home() / ".dad-studio")

    def start_run(
        self,
        *,
        previous: RunSession | None = None,
        start_path: str | None = None,
        variables: dict[str, Any] | None = None,
    ) -> RunSession | None:
        """Start a run of the current document; returns its session (None if nothing can run).

        A flow that would run code (command / python nodes, `py:` expressions, ref subflows
        included) from a folder the user does not trust does not start here: the trust prompt opens
        (`trust_prompt`, window-modal, never exec()ed) and None is returned; the run starts when the
        prompt is answered with "Trust folder and run" or "Run once" (`trust_answered` tells)."""
        doc = self.win.doc
        if doc is None:
            return None
        if self.trust_prompt is not None:  # one question at a time
            self.trust_prompt.raise_()
            self.trust_prompt.activateWindow()
            return None
        component = self.snapshots.take(doc)
        flow_path = Path(doc.path).resolve() if doc.path is not None else None
        try:
            project_root, run_root = project_dirs(flow_path, self.fallback_root(), strict=True)
        except ProjectError as exc:
            self.win.show_status(f"Cannot run: {exc}")
            return None
        if previous is not None:
            run_root = Path(previous.run_dir).parent
        launch = partial(
            self._launch, doc, component, flow_path, project_root, run_root, previous, start_path, variables
        )
        trusted, note = folder_trusted(flow_path)
        if note:
            self.win.show_status(note)
        uses = self.snapshots.code_uses(doc, component, self.win.registry, flow_path) if not trusted else []
        if uses:
            prompt = TrustPrompt(
                self.win, flow_path, project_root if flow_path else None, uses, config_path=config_dir() / CONFIG_FILE
            )
            retry = partial(self.start_run, previous=previous, start_path=start_path, variables=variables)
            prompt.finished.connect(lambda _result: self._on_trust_answer(prompt, launch, retry))
            self.trust_prompt = prompt
            prompt.open()  # window-modal, returns at once (QT_NOTES.md: never exec())
            self.trust_prompted.emit(prompt)
            return None
        # an untrusted flow with no code found runs untrusted: code met later (a ref subflow that
        # only loads while running) is refused by the engine at node level
        return launch(trusted)

    def _prepare_snapshot(self) -> None:
        """Copy the document for its next run while nothing runs (a 1,000-node copy is ~20-25 ms:
        paid at an idle moment instead of inside the first frames of the run)."""
        doc = self.win.doc
        if doc is None or self.active_sessions() or self.trust_prompt is not None:
            return
        if time.monotonic() - self._last_finish < SNAPSHOT_QUIET_S:
            return  # the end of a run repaints and lists the artifacts: not on top of that
        # one piece per pass of the loop (short idle chunks), the next piece right after
        flow_path = Path(doc.path).resolve() if doc.path is not None else None
        if self.snapshots.prepare_next(doc, self.win.registry, flow_path):
            QtCore.QTimer.singleShot(0, self, self._prepare_snapshot)

    def _on_trust_answer(
        self, prompt: TrustPrompt, launch: Callable[[bool], RunSession | None], retry: Callable[[], object]
    ) -> None:
        if self.trust_prompt is prompt:
            self.trust_prompt = None
        prompt.deleteLater()
        start, message = apply_answer(prompt.answer, prompt.folder)
        session = launch(True) if start else None
        if message:
            self.win.show_status(message if session is None else f"{message}; run {session.run_id} started")
        if prompt.answer is TrustAnswer.SAVE:
            # from the event loop, not this signal: save() may open a file dialog (a plain slot's exec())
            QtCore.QTimer.singleShot(0, lambda: retry() if self.win.doc is not None and self.win.save() else None)
        self.trust_answered.emit(prompt.answer, session)

    def _launch(
        self,
        doc: Any,
        component: ComponentDefinition,
        flow_path: Path | None,
        project_root: Path,
        run_root: Path,
        previous: RunSession | None,
        start_path: str | None,
        variables: dict[str, Any] | None,
        trusted: bool,
    ) -> RunSession | None:
        """Make the run folder and start the engine on the qasync loop."""
        root_id = root_id_of(component)
        rc = RunContext(
            root_component_id=root_id,
            project_root=project_root,
            run_root=run_root,
            previous_run_id=previous.run_id if previous is not None else None,
            start_hierarchy_path=start_path,
            variables=dict(variables or {}),
            trusted=trusted,
            flow_path=flow_path,
        )
        rc.setup_run()
        assert rc.run_id is not None and rc.run_dir is not None
        session = RunSession(
            len(self.sessions) + 1,
            component,
            root_id,
            rc.run_id,
            rc.run_dir,
            document=doc,
            flow_path=flow_path,
            state=self.snapshots.take_state(component),
        )
        rc.register_node_input_handler(partial(self._ask, session))
        runner = FlowRunner(component, rc, node_types=self.win.registry)
        self.sessions.append(session)
        self.selector.addItem(session.label, session.number)
        self.select(session)
        self.overlay.set_live(True)
        self.gc_policy.run_started()
        session.task = asyncio.get_event_loop().create_task(
            self._execute(session, runner), name=f"studio-run-{rc.run_id}"
        )
        self.session_added.emit(session)
        self.win.show_status(f"Run {session.run_id} started in {rc.run_dir}")
        self._update_actions()
        return session

    def run_from_here(self) -> RunSession | None:
        """Re-run the selected node and what follows it, loading everything else from the selected run."""
        base = self.selected
        ids = self.win.canvas.scene.selected_ids()
        if base is None or base.active or base.document is not self.win.doc or len(ids) != 1:
            self.win.show_status("Run from here: select one node and a finished run of this flow")
            return None
        cpath = component_path(base, self.win.canvas.cpath)
        if cpath is None:
            return None
        return self.start_run(previous=base, start_path=f"{cpath}.{ids[0]}")

    def stop(self, session: RunSession | None = None) -> None:
        """Cancel a run (the selected one by default): the engine records it as cancelled."""
        session = session or self.selected
        if session is None or not session.active:
            return
        if session.run_task is not None and not session.run_task.done():
            session.run_task.cancel()
        elif session.task is not None:
            session.task.cancel()
        self.win.show_status(f"Stopping run {session.run_id}…")

    async def _execute(self, session: RunSession, runner: FlowRunner) -> None:
        t0 = time.perf_counter()
        self._streaming += 1
        self.slices.pace(RUN_VIEW_SHARE)
        self.overlay.set_streaming(True)
        try:
            async with runner.iter() as run:
                session.run_task = run.task
                async for event in run:
                    session.pending.append(event)
                    if not self._flush_scheduled:
                        self._flush_scheduled = True
                        self.flush_timer.start()
        except asyncio.CancelledError:
            session.error = "the studio stopped the run"
        except Exception as exc:  # refused definition, bad continuation, engine error: shown, never raised
            session.error = f"{type(exc).__name__}: {exc}"
        finally:
            session.result = runner.result
            session.wall_s = time.perf_counter() - t0
            try:
                await self._records_settled(runner)
            finally:
                self._streaming -= 1
                if not self._streaming:  # catch up at full speed
                    self.slices.pace(None)
                    self.overlay.set_streaming(False)
                try:
                    await self._catch_up(session)
                finally:  # a cancel while catching up (window closing): _finished does the rest at once
                    session.finished = True
                    self._finished(session)

    async def _records_settled(self, runner: FlowRunner) -> None:
        """Wait for the run's index rows, which the records thread writes after the run returns
        (engine/records.py), before the views catch up: the history hears of the end with its row
        written, and the views do not fight that thread for the GIL meanwhile (a GUI slice waiting
        for it takes up to 5 ms longer, the interpreter's switch interval), so they all but wait
        (SETTLE_VIEW_SHARE; ~10 ms for 1,000 nodes). Bounded: a locked index (another process
        writing) must not keep the run unfinished; the history re-reads the folder then."""
        if runner.state is None or runner.state.recorder is None:
            return
        if self._streaming == 1:  # no other run streams: the views all but wait (the end follows)
            self.slices.pace(SETTLE_VIEW_SHARE)
        try:
            await asyncio.wait_for(asyncio.shield(runner.aclosed()), RECORDS_WAIT_S)
        except TimeoutError:
            log.warning("run %s: its index rows are still being written; going on", runner.run_context.run_id)

    async def _catch_up(self, session: RunSession) -> None:
        """The stream has ended: fold its last events and bring the views of the run up to date in
        slices (passes of the loop) before the run counts as finished, instead of one long stall.

        The end state is the one `_finished` would make at once: it runs after this and completes
        whatever is left (nothing, unless CATCH_UP_LIMIT_S passed)."""
        if self._closed:  # the slices were dropped with the window: _finished does it all
            return
        limit = time.monotonic() + CATCH_UP_LIMIT_S
        if session.pending:
            self.fold_timer.start()  # folds in its turns (slices.py) until nothing is left
        self.overlay.apply_soon()
        # the slices run on the shared queue's Qt timer; this only waits for them (no asyncio
        # event says when they are done)
        while self._views_busy(session) and time.monotonic() < limit:
            await asyncio.sleep(0.002)
            if session is self.selected and not session.pending:
                self.overlay.apply_soon()  # the last folds' changes, without waiting CANVAS_MS

    def _views_busy(self, session: RunSession) -> bool:
        if self._closed:
            return False
        if session.pending or session in self._folded:
            return True
        return session is self.selected and bool(self.overlay.pending or self.context.busy)

    def _finished(self, session: RunSession) -> None:
        self._last_finish = time.monotonic()
        self.flush(everything=True)
        if session is self.selected:
            self.overlay.update_paths(set(), now=True)
            self.context.finish_updates()
        if not self.active_sessions():
            self.overlay.set_live(False)
        QtCore.QTimer.singleShot(GC_RESTORE_MS, self, self.gc_policy.run_ended)
        for key in [k for k in self.forms if k[0] == session.number]:
            self.forms.pop(key).close()
        self._refresh_inbox()
        self._update_label(session)
        self._update_actions()
        if session is self.selected:
            self.artifacts.refresh_soon()
        message = f"Run {session.run_id} {session.status}"
        if session.error:
            message += f": {session.error}"
        elif session.wall_s is not None:
            message += f" in {session.wall_s:.2f} s"
        self.win.show_status(message)
        self.session_finished.emit(session)

    # -- events -> views ---------------------------------------------------------------------------

    def flush(self, *, everything: bool = False) -> None:
        """Fold queued events for about FOLD_SLICE_MS (`everything`: all of them) and hand the
        views of the selected run what changed; what is left is folded at the next pass."""
        self._flush_scheduled = False
        self.flush_timer.stop()
        self.fold_timer.stop()
        deadline = None if everything else time.perf_counter() + FOLD_SLICE_MS / 1000
        for session in self.sessions:
            if not session.pending:
                continue
            changed, events = session.apply_pending(deadline=deadline)
            folded = self._folded.get(session)
            if folded is None:
                self._folded[session] = (changed, events)
            else:
                folded[0].update(changed)
                folded[1].extend(events)
        if any(s.pending for s in self.sessions):
            self._flush_scheduled = True  # the stream's own start of flush_timer waits for this
            self.fold_timer.start()
        if everything:
            self._show_folded()
        elif self._folded:
            self.show_timer.start()

    def _show_folded(self) -> None:
        """Give the views what the folds since the last call changed (the selected run's views)."""
        self.show_timer.stop()
        folded, self._folded = self._folded, {}
        for session, (changed, events) in folded.items():
            if session is self.selected:
                self.overlay.update_paths(changed)
                for panel in self.panels:
                    panel.on_events(session, changed, events)
                self._update_summary()
            if session in self.sessions:
                self._update_label(session)

    def select(self, session: RunSession | None) -> None:
        if session is self.selected:
            return
        self.selected = session
        index = self.sessions.index(session) if session is not None else -1
        if self.selector.currentIndex() != index:
            self.selector.setCurrentIndex(index)
        self.overlay.show_session(session, sliced=True)  # a big flow: over several passes of the loop
        for panel in self.panels:
            panel.set_session(session)
        self._on_canvas_selection()
        self._update_summary()
        self._update_actions()
        self.selected_changed.emit(session)

    def _on_selector(self, index: int) -> None:
        if 0 <= index < len(self.sessions):
            self.select(self.sessions[index])

    def _update_label(self, session: RunSession) -> None:
        index = self.sessions.index(session)
        if self.selector.itemText(index) != session.label:
            self.selector.setItemText(index, session.label)

    def _update_summary(self) -> None:
        session = self.selected
        if session is None:
            self.summary.setText("")
            return
        counts = session.state.counts
        order = ("completed", "running", "waiting_input", "failed", "skipped", "cancelled", "pending")
        text = "  ".join(f"{counts[k]} {k.replace('_input', '')}" for k in order if counts.get(k))
        self.summary.setText(f"  {text}")

    def _update_actions(self) -> None:
        selected = self.selected
        self.actions["stop"].setEnabled(selected is not None and selected.active)
        self.actions["run_from_here"].setEnabled(selected is not None and not selected.active)

    def _on_canvas_selection(self) -> None:
        session = self.selected
        ids = self.win.canvas.scene.selected_ids()
        if session is None or len(ids) != 1 or session.document is not self.win.doc:
            return
        cpath = component_path(session, self.win.canvas.cpath)
        if cpath is not None:
            path = f"{cpath}.{ids[0]}"
            self.outcomes.show_path(path)
            if self.context.isVisible():
                self.context.select_path("node", path)

    # -- input -------------------------------------------------------------------------------------

    async def _ask(self, session: RunSession, request: InputRequest) -> None:
        """The node-input handler of a studio run: a form and the inbox; waits as long as needed."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        pending = PendingInput(session, request, future)
        session.inputs[request.hier_path] = pending
        self._refresh_inbox()
        self.docks["run_inbox"].raise_()
        if not any(form.isVisible() for form in self.forms.values()):
            self.open_form(pending)
        try:
            answer = await future
        finally:
            session.inputs.pop(request.hier_path, None)
            form = self.forms.pop((session.number, request.hier_path), None)
            if form is not None:
                form.close()
                form.deleteLater()
            self._refresh_inbox()
        request.input = answer
        request.handled = True
        request.source = "dialog"
        following = self.waiting()
        if following and not any(form.isVisible() for form in self.forms.values()):
            self.open_form(following[0])

    def waiting(self) -> list[PendingInput]:
        """Every request waiting for an answer, oldest first, across runs."""
        entries = [p for s in self.sessions for p in s.inputs.values()]
        return sorted(entries, key=lambda p: p.asked_at)

    def _open_from_inbox(self, pending: object) -> None:
        if isinstance(pending, PendingInput):
            self.open_form(pending)

    def open_form(self, pending: PendingInput) -> InputForm:
        key = (pending.session.number, pending.path)
        form = self.forms.get(key)
        if form is None:
            form = InputForm(pending, self.win)
            future = pending.future

            def answer(value: Any) -> None:
                if not future.done():
                    future.set_result(value)

            form.answered.connect(answer)
            form.cancel_run.connect(lambda: self.stop(pending.session))
            self.forms[key] = form
        form.show()
        form.raise_()
        form.activateWindow()
        return form

    def _refresh_inbox(self) -> None:
        waiting = self.waiting()
        self.inbox.show_pending(waiting)
        self.docks["run_inbox"].setWindowTitle(f"Input inbox ({len(waiting)})" if waiting else "Input inbox")

    # -- shutdown ----------------------------------------------------------------------------------

    def active_sessions(self) -> list[RunSession]:
        return [s for s in self.sessions if s.active]

    def shutdown(self) -> None:
        """Stop runs, timers and forms (window closing); runs still going are cancelled."""
        self._closed = True
        for session in self.active_sessions():
            self.stop(session)
        self.flush_timer.stop()
        self.fold_timer.stop()
        self.slices.stop()
        self._folded.clear()
        self.snapshot_timer.stop()
        self.overlay.shutdown()
        self.artifacts.refresh_timer.stop()
        self.context.scope_timer.stop()
        self.context.stop_build()
        self.gc_policy.restore()
        for form in self.forms.values():
            form.close()
        self.forms.clear()
        prompt, self.trust_prompt = self.trust_prompt, None
        if prompt is not None:  # closing the window answers nothing: no run starts
            prompt.finished.disconnect()
            prompt.close()
            prompt.deleteLater()
