"""Keep Python's full garbage collections out of a live run on the GUI thread.

A full (generation 2) collection walks every tracked object: with a 1,000-node flow open (the
document, its canvas items, the Qt wrappers, the run state) that was 50-200 ms at a random moment
of a run, the largest stall bench/ui_latency_bench.py saw. While runs go on, the objects that
existed when the first run started are frozen (`gc.freeze()`: moved out of every generation, so no
collection walks them) and the generation-2 threshold is raised; young garbage is still collected by
the cheap generation-0/1 passes. When the last run ends, everything is unfrozen and the thresholds
restored, so cycles left from before the run are collected by the next full pass as usual.

The collector is one per process, and the engine keeps full passes out of its runs the same way
(engine.gc_policy): the studio counts its runs on the engine's process-wide policy, so the engine's
own start and end of a run nest inside the studio's (an engine run ending no longer unfreezes what
the studio froze, and the studio's end can wait a few seconds after the last run: controller.py).
This class only remembers how many of the process policy's counts are the studio's, so that a
window closing gives back exactly those.
"""

from __future__ import annotations

from dad_studio.engine.gc_policy import RUN_GEN2_THRESHOLD, process_policy
from dad_studio.engine.gc_policy import RunGcPolicy as ProcessGcPolicy

__all__ = ["RUN_GEN2_THRESHOLD", "RunGcPolicy"]


class RunGcPolicy:
    """The studio's runs counted on the process's policy; the first start freezes, the last end restores."""

    def __init__(self, process: ProcessGcPolicy | None = None) -> None:
        self.process = process if process is not None else process_policy()
        self.active = 0
        """Runs (of this studio window) counted on the process policy and not yet ended."""

    def run_started(self) -> None:
        self.active += 1
        self.process.run_started()

    def run_ended(self) -> None:
        if self.active == 0:
            return
        self.active -= 1
        self.process.run_ended()

    def restore(self) -> None:
        """Give back every count of this window now (the window closes with runs still going)."""
        while self.active:
            self.run_ended()
