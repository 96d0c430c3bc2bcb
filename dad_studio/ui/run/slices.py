"""One piece of run-view work per pass of the event loop, whichever view it belongs to.

The run views cut their big updates into slices of a few ms (events folded, canvas items, context
rows, the scope list). Each used to run on its own zero-interval QTimer, but Qt fires every timer
that is due in one pass of its loop, back to back: three slices of 5 ms queued at once were one
15 ms stall, and the UI's own timers (a 5 ms tick) only ran after all of them. A SliceQueue keeps
one zero-interval timer for all of them and runs one slice per pass, round robin, so the loop turns
(input, paints, asyncio callbacks of the engine) between any two slices.

`SliceQueue.timer(callback)` gives a SliceTimer with the QTimer calls the views use
(`start`, `stop`, `isActive`): a view's code stays the same whether its slices are shared or not.

While a run's engine streams on the same loop, the queue is paced (`pace(share)`): after a slice that
took t ms, the next one waits t * (1 / share - 1) ms, so the views take at most that share of the
thread and the engine the rest. Round robin alone gave the views a turn after every engine step, half
of the thread: a 1,000-node run took twice its headless time. The views fall behind during the run
and catch up in full-speed slices when its stream ends (the controller's `_catch_up`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6 import QtCore

__all__ = ["MAX_REST_MS", "SliceQueue", "SliceTimer"]

MAX_REST_MS = 60
"""A paced queue never rests longer than this after a slice (a view that took long still moves)."""


class SliceTimer:
    """A single-shot, zero-interval timer whose callback runs in its queue's turn."""

    def __init__(self, queue: SliceQueue, callback: Callable[[], object]) -> None:
        self.queue = queue
        self.callback = callback

    def start(self) -> None:
        """Run the callback at a coming pass of the loop (once, however often started)."""
        self.queue._request(self)

    def stop(self) -> None:
        self.queue._withdraw(self)

    def isActive(self) -> bool:  # QTimer's name: the views call either
        return self.queue.is_waiting(self)


class SliceQueue(QtCore.QObject):
    """Runs the callbacks of its SliceTimers one per pass of the event loop, oldest request first."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._waiting: dict[SliceTimer, None] = {}
        self._pass = QtCore.QTimer(self)
        self._pass.setSingleShot(True)
        self._pass.setInterval(0)
        self._pass.timeout.connect(self.run_next)
        self._share: float | None = None
        self._rest_until = 0.0
        """perf_counter() before which a paced queue runs no slice."""

    def timer(self, callback: Callable[[], object]) -> SliceTimer:
        return SliceTimer(self, callback)

    def pace(self, share: float | None) -> None:
        """Let the slices take at most `share` (0 < share <= 1) of the thread's time from now on;
        None: one slice per pass again (and no rest left from a paced slice)."""
        if share is not None and not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1], not {share!r}")
        self._share = share
        if share is None:
            self._rest_until = 0.0
            if self._waiting:
                self._pass.start(0)

    @property
    def paced(self) -> bool:
        return self._share is not None

    def _rest_ms(self) -> int:
        return max(0, round((self._rest_until - time.perf_counter()) * 1000)) if self._share is not None else 0

    def _request(self, timer: SliceTimer) -> None:
        if timer not in self._waiting:
            self._waiting[timer] = None
        if not self._pass.isActive():
            self._pass.start(self._rest_ms())

    def _withdraw(self, timer: SliceTimer) -> None:
        self._waiting.pop(timer, None)
        if not self._waiting:
            self._pass.stop()

    def is_waiting(self, timer: SliceTimer) -> bool:
        return timer in self._waiting

    @property
    def pending(self) -> int:
        """Callbacks waiting for their pass."""
        return len(self._waiting)

    def run_next(self) -> bool:
        """Run the oldest waiting callback now; False if none was waiting. A callback that starts
        its timer again goes to the back of the queue (round robin between the views)."""
        if not self._waiting:
            return False
        timer = next(iter(self._waiting))
        del self._waiting[timer]
        if self._waiting:
            self._pass.start(0)  # the others at the next pass, not this one
        share = self._share
        if share is None:
            timer.callback()
            return True
        start = time.perf_counter()
        try:
            timer.callback()
        finally:
            end = time.perf_counter()
            rest = min((end - start) * (1 / share - 1), MAX_REST_MS / 1000)
            self._rest_until = end + rest
            if self._waiting:  # the next slice after the rest, whoever asked for it
                self._pass.start(self._rest_ms())
            else:  # (run_next called directly, with the pass still set): the next request sets it
                self._pass.stop()
        return True

    def stop(self) -> None:
        """Drop every waiting callback (the window closes)."""
        self._waiting.clear()
        self._pass.stop()
        self._share = None
