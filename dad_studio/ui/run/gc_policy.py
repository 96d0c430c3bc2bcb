"""Keep Python's full garbage collections out of a live run on the GUI thread.

A full (generation 2) collection walks every tracked object: with a 1,000-node flow open (the
document, its canvas items, the Qt wrappers, the run state) that was 50-200 ms at a random moment
of a run, the largest stall bench/ui_latency_bench.py saw. While runs go on, the objects that
existed when the first run started are frozen (`gc.freeze()`: moved out of every generation, so no
collection walks them) and the generation-2 threshold is raised; young garbage is still collected by
the cheap generation-0/1 passes. When the last run ends, everything is unfrozen and the thresholds
restored, so cycles left from before the run are collected by the next full pass as usual.
"""

from __future__ import annotations

import gc

__all__ = ["RUN_GEN2_THRESHOLD", "RunGcPolicy"]

RUN_GEN2_THRESHOLD = 100
"""Generation-1 collections between two generation-2 ones during runs (Python's default: 10)."""


class RunGcPolicy:
    """Counts the runs going on; the first start freezes, the last end restores."""

    def __init__(self) -> None:
        self.active = 0
        self._saved: tuple[int, int, int] | None = None

    def run_started(self) -> None:
        self.active += 1
        if self.active > 1:
            return
        thresholds = gc.get_threshold()
        self._saved = (thresholds[0], thresholds[1], thresholds[2])
        gc.collect(1)  # the young objects of opening the flow, not a full pass
        gc.freeze()
        gc.set_threshold(self._saved[0], self._saved[1], max(self._saved[2], RUN_GEN2_THRESHOLD))

    def run_ended(self) -> None:
        if self.active == 0:
            return
        self.active -= 1
        if self.active:
            return
        gc.unfreeze()
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def restore(self) -> None:
        """Undo everything now (the window closes with runs still going)."""
        self.active = 1
        self.run_ended()
