"""The run controller's window furniture: its docks, its actions, the run selector and summary.

Set-up only (made once per window); the controller keeps what these return.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

if TYPE_CHECKING:
    from dad_studio.ui.run.controller import RunController

__all__ = ["add_actions", "add_docks"]

Area = QtCore.Qt.DockWidgetArea


def add_docks(ctl: RunController) -> dict[str, QtWidgets.QDockWidget]:
    """The run panels' docks: [Problems | Run log | Artifacts | Inbox tabs] [Execution context] [Node outcomes]."""
    win = ctl.win
    docks = {
        "run_context": win.add_panel("run_context", "Execution context", ctl.context, Area.BottomDockWidgetArea),
        "run_outcomes": win.add_panel("run_outcomes", "Node outcomes", ctl.outcomes, Area.BottomDockWidgetArea),
        "run_log": win.add_panel("run_log", "Run log", ctl.log, Area.BottomDockWidgetArea),
        "run_artifacts": win.add_panel("run_artifacts", "Artifacts", ctl.artifacts, Area.BottomDockWidgetArea),
        "run_inbox": win.add_panel("run_inbox", "Input inbox", ctl.inbox, Area.BottomDockWidgetArea),
    }
    # bottom: [Problems | Run log | Artifacts | Inbox tabs] [Execution context] [Node outcomes]
    problems = win.docks.get("validation")
    if problems is not None:
        win.splitDockWidget(problems, docks["run_context"], QtCore.Qt.Orientation.Horizontal)
    win.splitDockWidget(docks["run_context"], docks["run_outcomes"], QtCore.Qt.Orientation.Horizontal)
    if problems is not None:
        for name in ("run_log", "run_artifacts", "run_inbox"):
            win.tabifyDockWidget(problems, docks[name])
        problems.raise_()
    win.resizeDocks([docks["run_context"]], [300], QtCore.Qt.Orientation.Vertical)
    docks["run_artifacts"].visibilityChanged.connect(ctl.artifacts.on_visibility)

    def size_docks() -> None:
        # resizeDocks only moves a tab group through its current (shown) tab
        group = [problems, *(docks[n] for n in ("run_log", "run_artifacts", "run_inbox"))]
        shown = next((d for d in group if d is not None and not d.visibleRegion().isEmpty()), None)
        row = [d for d in (shown, docks["run_context"], docks["run_outcomes"]) if d]
        width = max(win.width(), 900)
        sizes = [int(width * f) for f in (0.28, 0.34, 0.38)][-len(row) :]
        win.resizeDocks(row, sizes, QtCore.Qt.Orientation.Horizontal)

    # widths only hold once the window has its size: applied on the first pass of the event loop
    QtCore.QTimer.singleShot(0, ctl, size_docks)
    ctl.size_docks = size_docks  # again after a resize (tools/run_screenshots.py)
    return docks


def add_actions(
    ctl: RunController,
) -> tuple[dict[str, QtGui.QAction], QtWidgets.QComboBox, QtWidgets.QLabel, QtWidgets.QToolBar]:
    """Run / Stop / Run from here (menu, toolbar, shortcuts), the run selector and the run summary."""
    win = ctl.win
    style = win.style()
    pixmap = QtWidgets.QStyle.StandardPixmap
    specs = (
        ("run", "&Run", ctl.start_run, "F5", pixmap.SP_MediaPlay, "Run the flow (the document as it is now)"),
        ("stop", "&Stop", ctl.stop, "Shift+F5", pixmap.SP_MediaStop, "Stop the selected run"),
        (
            "run_from_here",
            "Run from &Here",
            ctl.run_from_here,
            "Ctrl+F5",
            pixmap.SP_MediaSeekForward,
            "Run the selected node and what follows it again, loading the rest from the selected run",
        ),
    )
    menu = QtWidgets.QMenu("&Run", win)
    help_menu = next((a for a in win.menuBar().actions() if a.text() == "&Help"), None)
    if help_menu is not None:
        win.menuBar().insertMenu(help_menu, menu)
    else:
        win.menuBar().addMenu(menu)
    toolbar = win.addToolBar("Run")
    toolbar.setObjectName("toolbar_run")
    toolbar.setMovable(False)
    actions: dict[str, QtGui.QAction] = {}
    for name, text, slot, key, icon, tip in specs:
        action = QtGui.QAction(style.standardIcon(icon), text, win)
        action.setObjectName(f"action_{name}")
        action.setShortcut(QtGui.QKeySequence(key))
        action.setStatusTip(tip)
        action.setToolTip(f"{tip} ({key})")
        action.triggered.connect(lambda _checked=False, s=slot: s())
        win.addAction(action)
        menu.addAction(action)
        toolbar.addAction(action)
        actions[name] = action
        win.actions_by_name[name] = action
    selector = QtWidgets.QComboBox()
    selector.setObjectName("run_selector")
    selector.setMinimumContentsLength(34)
    selector.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    selector.setToolTip("The run shown on the canvas and in the run panels")
    selector.currentIndexChanged.connect(ctl._on_selector)
    summary = QtWidgets.QLabel("")
    summary.setObjectName("run_summary")
    # fixed sizes: a text change then repaints the label only; a label or combo that may
    # change its size hint makes Qt lay the whole main window out again (its docks: ~10-20 ms),
    # on every batch of a run
    sample = "  9999 completed  999 running  999 waiting  999 failed  999 skipped  9999 pending"
    metrics = summary.fontMetrics()
    summary.setFixedSize(metrics.horizontalAdvance(sample), summary.sizeHint().height())
    toolbar.addSeparator()
    toolbar.addWidget(QtWidgets.QLabel(" Run: "))
    toolbar.addWidget(selector)
    selector.setFixedSize(selector.sizeHint())
    toolbar.addWidget(summary)
    view_menu = getattr(win, "view_menu", None)
    if view_menu is not None:
        view_menu.addAction(toolbar.toggleViewAction())
    return actions, selector, summary, toolbar
