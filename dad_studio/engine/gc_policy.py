"""Keep Python's full garbage collections out of runs.

A full (generation 2) collection walks every tracked object of the process. A 1,000-node run
leaves ~10,000 young objects alive (results, the recorder's rows), which is enough to trigger one
full pass in the middle of the run: 13-25 ms on this machine with only the engine loaded (13-25 µs
per node of a 1,000-node chain), 50-200 ms in the studio with a big flow open. While runs go on,
the objects that existed when the first one started are frozen (`gc.freeze()`: moved out of every
generation, so no collection walks them) and the generation-2 threshold is raised; young garbage is
still collected by the cheap generation-0/1 passes, and a full pass still happens every
`RUN_GEN2_THRESHOLD` generation-1 passes. When the last run of the process ends, everything is
unfrozen and the thresholds are restored, so cycles left from before are collected as usual.

The garbage collector is process-wide, so this policy is too: the one piece of process state the
engine touches. It is reference-counted (concurrent runs, runs in threads) and restores exactly what
it found. `RunContext(tune_gc=False)` leaves the collector alone.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["RUN_GEN2_THRESHOLD", "RunGcPolicy", "gc_tuned_for_run", "process_policy"]

RUN_GEN2_THRESHOLD = 100
"""Generation-1 collections between two generation-2 ones during runs (Python's default: 10)."""


class RunGcPolicy:
    """Counts the runs going on; the first start freezes, the last end restores."""

    def __init__(self) -> None:
        self.active = 0
        self._saved: tuple[int, int, int] | None = None
        self._lock = threading.Lock()

    def run_started(self) -> None:
        with self._lock:
            self.active += 1
            if self.active > 1:
                return
            thresholds = gc.get_threshold()
            self._saved = (thresholds[0], thresholds[1], thresholds[2])
            gc.collect(1)  # the young objects of loading the flow, not a full pass
            gc.freeze()
            gc.set_threshold(self._saved[0], self._saved[1], max(self._saved[2], RUN_GEN2_THRESHOLD))

    def run_ended(self) -> None:
        with self._lock:
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
        """Undo everything now, whatever the count (the studio's window closes with runs going on)."""
        with self._lock:
            if self.active == 0:
                return
            self.active = 1
        self.run_ended()


_PROCESS_POLICY = RunGcPolicy()


def process_policy() -> RunGcPolicy:
    """The process's one policy (the collector is one per process): the engine's runs and the studio's
    share it, so that nested users count together and the last one out restores."""
    return _PROCESS_POLICY


@contextlib.contextmanager
def gc_tuned_for_run() -> Iterator[None]:
    policy = _PROCESS_POLICY
    policy.run_started()
    try:
        yield
    finally:
        policy.run_ended()
