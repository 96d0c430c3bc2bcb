"""Batches in the studio window: the dock, "Run Batch…", and a batch running on the qasync loop.

A batch runs the flow *file* (`run_batch` hashes its bytes into the batch id and every row loads
it), so the open document must be saved: an untitled or modified flow is refused with a message
saying so, rather than silently running something other than what the canvas shows.

The rows file is picked with a QFileDialog opened with `open()`; its `fileSelected` signal starts the
batch, so no modal loop ever runs inside a coroutine (QT_NOTES.md). The batch itself is one asyncio
task on the GUI loop with the LocalExecutor (its rows are engine runs, which never block the loop);
its progress object feeds the dock's progress bar, and Stop cancels the task: `run_batch` records
the batch as `interrupted`, and starting it again on the same files resumes it.

A flow file that runs code (the engine's `code_uses` scan) from a folder the user does not trust
waits for the issue-5 trust prompt first (window-modal, `open()`ed; `trust_prompted` /
`trust_answered`); its answer covers the whole batch (`run_batch(trusted=True)`), and Cancel starts
nothing, so no batch folder is made.
"""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore, QtGui, QtWidgets

from dad_studio.batch import (
    BatchBusy,
    BatchError,
    BatchProgress,
    BatchReport,
    FlowLoadError,
    LocalExecutor,
    RowResult,
    RowsFileError,
    run_batch,
)
from dad_studio.engine.trust import code_uses
from dad_studio.fileformat import load_flow
from dad_studio.fileformat.project import find_project_root
from dad_studio.nodes.config import CONFIG_FILE, config_dir
from dad_studio.ui.batch.models import summary_line
from dad_studio.ui.batch.panel import BatchPanel
from dad_studio.ui.run.session import project_dirs
from dad_studio.ui.run.trust_prompt import TrustAnswer, TrustPrompt, apply_answer, folder_trusted

if TYPE_CHECKING:
    from dad_studio.ui.main_window import MainWindow

__all__ = ["ROWS_FILTER", "BatchController"]

ROWS_FILTER = "Batch rows (*.jsonl);;JSON lines (*.jsonl *.ndjson);;All files (*)"
MAX_PROBLEMS = 8


class _DockProgress(BatchProgress):
    """run_batch's progress hooks, forwarded to the controller (which owns the widgets)."""

    def __init__(self, controller: BatchController) -> None:
        super().__init__()
        self.controller = controller

    def start(self, batch_id: str, total: int, already_done: int, already_failed: int = 0) -> None:
        super().start(batch_id, total, already_done, already_failed)
        self.controller._on_started(self)

    def advance(self, result: RowResult) -> None:
        super().advance(result)
        self.controller._on_advance(self)

    def text(self) -> str:
        eta = self.eta_s()
        parts = [f"{self.done}/{self.total} rows", f"{self.failed} failed", f"{self.not_passed} not passed"]
        if self.ran:
            parts.append(f"{self.rate():.1f} rows/s")
        if eta is not None and self.done < self.total:
            parts.append(f"{eta:.0f} s left")
        return " · ".join(parts)


class BatchController(QtCore.QObject):
    batch_started = QtCore.Signal(str)
    """The batch id, once its record exists (the dock lists and selects it)."""
    batch_finished = QtCore.Signal(object)
    """The BatchReport, or None when the batch was refused, stopped or broke (see `last_message`)."""
    trust_prompted = QtCore.Signal(object)
    """A TrustPrompt was opened (the batch waits for its answer)."""
    trust_answered = QtCore.Signal(object, object)
    """(TrustAnswer, the batch's task or None) once the prompt is answered."""

    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        self.panel = BatchPanel()
        self.dock = win.add_panel("batches", "Batches", self.panel, QtCore.Qt.DockWidgetArea.BottomDockWidgetArea)
        neighbour = win.docks.get("history") or win.docks.get("validation")
        if neighbour is not None and neighbour is not self.dock:
            win.tabifyDockWidget(neighbour, self.dock)
            problems = win.docks.get("validation")
            if problems is not None:
                problems.raise_()
        self.task: asyncio.Task[BatchReport | None] | None = None
        self.progress: _DockProgress | None = None
        self.file_dialog: QtWidgets.QFileDialog | None = None
        self.trust_prompt: TrustPrompt | None = None
        """The open trust prompt, if a batch waits for one."""
        self.report: BatchReport | None = None
        self.last_message = ""
        self._closed = False
        self.observability_settings: Any = None
        """Passed to run_batch (None: the defaults; tests turn tracing off for speed)."""
        self._add_action()

        self.panel.run_requested.connect(self.choose_rows_file)
        self.panel.stop_requested.connect(self.stop)
        self.panel.open_requested.connect(lambda run_dir: self.open_run(Path(run_dir)))
        self.panel.status_message.connect(win.show_status)
        self.panel.timer.timeout.connect(self.follow_document)
        win.canvas.path_changed.connect(self.follow_document)  # emitted when a document is shown
        self.follow_document()

    def _add_action(self) -> None:
        action = QtGui.QAction("Run &Batch…", self.win)
        action.setObjectName("action_run_batch")
        action.setShortcut(QtGui.QKeySequence("Ctrl+Shift+B"))
        tip = "Run the saved flow once per row of a rows file (.jsonl) and judge each row's expectations"
        action.setStatusTip(tip)
        action.setToolTip(f"{tip} (Ctrl+Shift+B)")
        action.triggered.connect(lambda _checked=False: self.choose_rows_file())
        self.win.addAction(action)
        menu = next((a.menu() for a in self.win.menuBar().actions() if a.text() == "&Run" and a.menu()), None)
        if isinstance(menu, QtWidgets.QMenu):
            menu.addSeparator()
            menu.addAction(action)
        self.win.actions_by_name["run_batch"] = action
        self.action = action

    # -- where batches live ------------------------------------------------------------------------

    def run_root_for_document(self) -> Path:
        """The run root of the open document's project (the same one the run history shows)."""
        history = getattr(self.win, "history", None)
        if history is not None:
            return Path(history.run_root_for_document())
        doc = self.win.doc
        flow_path = Path(doc.path).resolve() if doc is not None and doc.path is not None else None
        fallback = Path(self.win.state_dir or Path.home() / ".dad-studio")
        return project_dirs(flow_path, fallback)[1]

    def follow_document(self) -> None:
        self.panel.set_run_root(self.run_root_for_document())

    # -- starting ----------------------------------------------------------------------------------

    def flow_to_run(self) -> Path | None:
        """The open flow's file if it can be run as a batch; else None, with the reason shown."""
        doc = self.win.doc
        if doc is None or doc.path is None:
            self._say("A batch runs a saved flow file: save this flow first (File > Save As…)", error=True)
            return None
        if doc.dirty:
            self._say(
                f"{Path(doc.path).name} has unsaved changes: save it (Ctrl+S) before running a batch, "
                "which runs the file on disk",
                error=True,
            )
            return None
        return Path(doc.path).resolve()

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def choose_rows_file(self) -> QtWidgets.QFileDialog | None:
        """Ask for the rows file (window-modal, `open()`); choosing one starts the batch."""
        if self.running:
            self._say("A batch is already running: stop it or wait for it to end", error=True)
            return None
        flow = self.flow_to_run()
        if flow is None:
            return None
        if self.file_dialog is not None:
            self.file_dialog.raise_()
            return self.file_dialog
        dialog = QtWidgets.QFileDialog(self.win, f"Rows for a batch of {flow.name}", str(flow.parent), ROWS_FILTER)
        dialog.setObjectName("batch_rows_dialog")
        dialog.setFileMode(QtWidgets.QFileDialog.FileMode.ExistingFile)
        dialog.setAcceptMode(QtWidgets.QFileDialog.AcceptMode.AcceptOpen)
        dialog.fileSelected.connect(lambda name: self.start_batch(Path(name)))
        dialog.finished.connect(lambda _result: self._dialog_closed(dialog))
        self.file_dialog = dialog
        dialog.open()
        return dialog

    def _dialog_closed(self, dialog: QtWidgets.QFileDialog) -> None:
        if self.file_dialog is dialog:
            self.file_dialog = None
        dialog.deleteLater()

    def start_batch(self, rows_file: Path) -> asyncio.Task[BatchReport | None] | None:
        """Start a batch of the open (saved) flow over `rows_file` with the LocalExecutor.

        If the flow file runs code and its folder is not trusted, the trust prompt opens instead
        and None is returned; the batch starts when it is answered "Trust folder and run" or
        "Run once" (`trust_answered` tells), trusted for every row."""
        if self.running:
            self._say("A batch is already running: stop it or wait for it to end", error=True)
            return None
        if self.trust_prompt is not None:  # one question at a time
            self.trust_prompt.raise_()
            self.trust_prompt.activateWindow()
            return None
        flow = self.flow_to_run()  # again: the flow may have been edited while the dialog was open
        if flow is None:
            return None
        trusted, note = folder_trusted(flow)
        if note:
            self._say(note, error=True)
        uses = [] if trusted else self._code_uses(flow)
        if not uses:
            # untrusted without code found: rows run untrusted, and the engine refuses any code it
            # meets later (a ref subflow loaded while running) at node level
            return self._begin(Path(rows_file), trusted)
        prompt = TrustPrompt(self.win, flow, find_project_root(flow), uses, config_path=config_dir() / CONFIG_FILE)
        prompt.setWindowTitle("Run a batch with code from an untrusted folder?")
        prompt.finished.connect(lambda _result: self._on_trust_answer(prompt, partial(self._begin, Path(rows_file))))
        self.trust_prompt = prompt
        prompt.open()  # window-modal, returns at once (QT_NOTES.md: never exec())
        self.trust_prompted.emit(prompt)
        return None

    def _code_uses(self, flow: Path) -> list[str]:
        """What the flow file on disk (what every row loads) would run as code."""
        loaded = load_flow(flow, registry=self.win.registry, resolve_refs=False)
        if loaded.component is None:
            return []  # run_batch refuses the file with its problems; nothing runs
        return code_uses(loaded.component, self.win.registry, flow)

    def _on_trust_answer(self, prompt: TrustPrompt, begin: Any) -> None:
        if self.trust_prompt is not prompt:
            return  # closed by shutdown: nothing runs
        self.trust_prompt = None
        prompt.deleteLater()
        start, message = apply_answer(prompt.answer, prompt.folder)
        task = begin(True) if start else None
        if prompt.answer is TrustAnswer.CANCEL:
            self._say("Batch cancelled: the flow's code was not trusted; nothing ran")
        elif message and not start:  # trusting the folder failed: nothing ran
            self._say(message, error=True)
        elif message and task is not None:
            self.win.show_status(f"{message}; batch started")
        self.trust_answered.emit(prompt.answer, task)

    def _begin(self, rows_file: Path, trusted: bool) -> asyncio.Task[BatchReport | None] | None:
        """Start the batch task (the trust question, if any, answered)."""
        if self.running or self._closed:
            return None
        flow = self.flow_to_run()
        if flow is None:
            return None
        run_root = self.run_root_for_document()
        executor = LocalExecutor(self.panel.concurrency.value())
        self.progress = _DockProgress(self)
        self.report = None
        self._say("")
        self.panel.set_running(True)
        self.panel.show_progress(0, 1, f"starting a batch over {rows_file.name}…")
        self.dock.show()
        self.dock.raise_()
        coroutine = self._execute(flow, Path(rows_file), run_root, executor, self.progress, trusted)
        self.task = asyncio.get_event_loop().create_task(coroutine, name=f"studio-batch-{flow.stem}")
        return self.task

    async def _execute(
        self,
        flow: Path,
        rows_file: Path,
        run_root: Path,
        executor: LocalExecutor,
        progress: _DockProgress,
        trusted: bool,
    ) -> BatchReport | None:
        report: BatchReport | None = None
        try:
            report = await run_batch(
                flow,
                rows_file,
                run_root=run_root,
                executor=executor,
                trusted=trusted,
                observability_settings=self.observability_settings,
                progress=progress,
            )
        except FlowLoadError as exc:
            self._say(_problems(f"{flow.name} cannot run:", exc.problems), error=True)
        except RowsFileError as exc:
            lines = [f"line {p}" for p in exc.problems]
            self._say(_problems(f"Bad rows file {rows_file.name}:", lines), error=True)
        except (BatchError, BatchBusy) as exc:
            self._say(str(exc), error=True)
        except asyncio.CancelledError:
            done = f"{progress.done}/{progress.total}" if progress.total else "no"
            self._say(f"Batch stopped ({done} rows recorded); run it again on the same rows file to resume it")
        except Exception as exc:  # the executor broke as a whole: shown, never raised into Qt
            self._say(f"The batch broke: {type(exc).__name__}: {exc}", error=True)
        finally:
            self.task = None
            if not self._closed:  # a batch stopped by the window closing has no dock to update
                self.panel.set_running(False)
                self._finished(report, progress)
        return report

    def _finished(self, report: BatchReport | None, progress: _DockProgress) -> None:
        self.report = report
        if progress.total:
            self.panel.show_progress(progress.done, progress.total, progress.text())
        else:
            self.panel.show_progress(0, 1, "no batch running")
        if report is not None:
            self.panel.refresh()
            self.panel.select_batch(report.batch_id)
            line = summary_line({**report.record, "summary": report.summary})
            self.win.show_status(f"Batch {report.batch_id}: {line}")
            self.last_message = line
        else:
            self.panel.refresh()
        self.batch_finished.emit(report)

    def _on_started(self, progress: _DockProgress) -> None:
        if self._closed:
            return
        self.panel.show_progress(progress.done, progress.total, progress.text())
        self.panel.refresh()
        self.panel.select_batch(progress.batch_id)
        self.win.show_status(f"Batch {progress.batch_id} started: {progress.total} rows")
        self.batch_started.emit(progress.batch_id)

    def _on_advance(self, progress: _DockProgress) -> None:
        if self._closed:
            return
        self.panel.show_progress(progress.done, progress.total, progress.text())
        if self.panel.batch_id == progress.batch_id:
            self.panel.refresh_soon()  # the table follows (debounced: one re-read per burst of rows)

    def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            self.win.show_status("Stopping the batch…")

    # -- opening a row's run -----------------------------------------------------------------------

    def open_run(self, run_dir: Path) -> Any:
        """Open a row's run in the run history's viewer (timeline, context, outcomes)."""
        history = getattr(self.win, "history", None)
        if history is None:
            self._say("The run history is not available to open runs", error=True)
            return None
        if not run_dir.is_dir():
            self._say(f"The run folder {run_dir} is gone", error=True)
            return None
        return history.open_run(run_dir)

    # -- messages and shutdown ---------------------------------------------------------------------

    def _say(self, text: str, *, error: bool = False) -> None:
        self.last_message = text
        if self._closed:
            return
        self.panel.show_message(text, error=error)
        if text:
            self.win.show_status(text.splitlines()[0])

    def shutdown(self) -> None:
        """Stop the batch (its finished rows stay recorded), timers and the file dialog."""
        self.stop()
        self._closed = True
        if self.file_dialog is not None:
            self.file_dialog.close()
        prompt, self.trust_prompt = self.trust_prompt, None
        if prompt is not None:  # closing answers nothing: no batch starts
            prompt.finished.disconnect()
            prompt.close()
            prompt.deleteLater()
        self.panel.shutdown()


def _problems(title: str, problems: list[str]) -> str:
    shown = problems[:MAX_PROBLEMS]
    more = len(problems) - len(shown)
    return "\n".join([title, *shown, *([f"… and {more} more"] if more > 0 else [])])
