"""Batches in the studio (issue 11): the Batches dock, its rows table, and "Run Batch…".

`BatchController(main_window)` adds the "Batches" dock and the Run menu's "Run Batch…"; the window
keeps it as `window.batches`. A row's run opens in the run history's viewer.
"""

from dad_studio.ui.batch.controller import BatchController
from dad_studio.ui.batch.models import BatchListModel, BatchRowsModel, RowFilterProxy, summary_line
from dad_studio.ui.batch.panel import REFRESH_MS, BatchPanel

__all__ = ["REFRESH_MS", "BatchController", "BatchListModel", "BatchPanel", "BatchRowsModel", "RowFilterProxy",
           "summary_line"]  # fmt: skip
