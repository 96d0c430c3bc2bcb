"""Run history (issue 9): the history panel, the run viewer (step through a past or running run,
re-run from a node, resume), the compare window, deletion and retention.

`HistoryController(main_window)` adds the "Run history" dock; the window keeps it as
`window.history`.
"""

from dad_studio.ui.history.compare_view import CompareView
from dad_studio.ui.history.controller import HistoryController
from dad_studio.ui.history.panel import REFRESH_MS, HistoryPanel
from dad_studio.ui.history.replay_session import ReplaySession
from dad_studio.ui.history.viewer import RunViewer

__all__ = ["REFRESH_MS", "CompareView", "HistoryController", "HistoryPanel", "ReplaySession", "RunViewer"]
