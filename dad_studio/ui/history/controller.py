"""The history of runs in the studio window: the dock, the run viewer and the compare window.

The run root follows the open document the way the run controller chooses it (`project_dirs`:
`<project>/runs`), checked on every refresh tick, so opening another flow shows its project's runs.
Runs the studio starts or finishes trigger an immediate refresh.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore

from dad_studio.ui.history.compare_view import CompareView
from dad_studio.ui.history.panel import HistoryPanel
from dad_studio.ui.history.viewer import RunViewer
from dad_studio.ui.resources import stylesheet
from dad_studio.ui.run.session import project_dirs

if TYPE_CHECKING:
    from dad_studio.ui.main_window import MainWindow

__all__ = ["HistoryController"]


class HistoryController(QtCore.QObject):
    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        self.panel = HistoryPanel(win.settings)
        self.viewer: RunViewer | None = None
        self.compare_view: CompareView | None = None
        self.dock = win.add_panel("history", "Run history", self.panel, QtCore.Qt.DockWidgetArea.BottomDockWidgetArea)
        problems = win.docks.get("validation")
        if problems is not None:
            win.tabifyDockWidget(problems, self.dock)
            problems.raise_()
        self.panel.open_requested.connect(lambda run_dir: self.open_run(Path(run_dir)))
        self.panel.compare_requested.connect(lambda a, b: self.compare(Path(a), Path(b)))
        self.panel.resume_requested.connect(lambda run_dir: self.propose_resume(Path(run_dir)))
        self.panel.status_message.connect(win.show_status)
        self.panel.timer.timeout.connect(self.follow_document)
        win.canvas.path_changed.connect(self.follow_document)  # emitted when a document is shown
        runs = getattr(win, "runs", None)
        if runs is not None:  # the studio's own runs (issue 8): list them as soon as they start / end
            runs.session_added.connect(lambda _s: self.panel.refresh())
            runs.session_finished.connect(lambda _s: self.panel.refresh())
        self._started = False
        self.follow_document()

    def run_root_for_document(self) -> Path:
        doc = self.win.doc
        flow_path = Path(doc.path).resolve() if doc is not None and doc.path is not None else None
        runs = getattr(self.win, "runs", None)
        fallback = runs.fallback_root() if runs is not None else Path(self.win.state_dir or Path.home() / ".dad-studio")
        return project_dirs(flow_path, fallback)[1]

    def follow_document(self) -> None:
        """Show the runs of the open document's project (retention rules applied at first listing)."""
        first = not self._started
        self._started = True
        self.panel.set_run_root(self.run_root_for_document(), apply_retention_rules=first)
        if self.panel.run_root is not None and not self.panel.timer.isActive():
            self.panel.timer.start()

    # -- windows -----------------------------------------------------------------------------------

    def ensure_viewer(self) -> RunViewer:
        if self.viewer is None:
            self.viewer = RunViewer(self.win.registry, self.win)
            self.viewer.setWindowFlag(QtCore.Qt.WindowType.Window, True)
            self.viewer.setStyleSheet(self._stylesheet())
            self.viewer.continuation_started.connect(lambda _id: self.panel.refresh())
            self.viewer.continuation_finished.connect(lambda _id: self.panel.refresh())
        return self.viewer

    def _stylesheet(self) -> str:
        """The studio's theme; in the dark one, alternate rows stay dark (the theme leaves them white)."""
        theme = getattr(self.win, "theme", "dark")
        extra = "\nQAbstractItemView { alternate-background-color: #272a2f; }\n" if theme == "dark" else ""
        return stylesheet(theme) + extra

    def open_run(self, run_dir: Path) -> RunViewer:
        viewer = self.ensure_viewer()
        viewer.open_run(run_dir)
        viewer.show()
        viewer.raise_()
        return viewer

    def propose_resume(self, run_dir: Path) -> RunViewer:
        viewer = self.open_run(run_dir)
        viewer.propose_resume()
        return viewer

    def compare(self, run_a: Path, run_b: Path) -> CompareView:
        if self.compare_view is None:
            self.compare_view = CompareView(self.win)
            self.compare_view.setStyleSheet(self._stylesheet())
        self.compare_view.compare(run_a, run_b)
        self.compare_view.show()
        self.compare_view.raise_()
        return self.compare_view

    def shutdown(self) -> None:
        self.panel.shutdown()
        if self.viewer is not None:
            self.viewer.shutdown()
            self.viewer.close()
        if self.compare_view is not None:
            self.compare_view.close()
