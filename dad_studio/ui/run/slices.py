"""One piece of run-view work per pass of the event loop, whichever view it belongs to.

The run views cut their big updates into slices of a few ms (events folded, canvas items, context
rows, the scope list). Each used to run on its own zero-interval QTimer, but Qt fires every timer
that is due in one pass of its loop, back to back: three slices of 5 ms queued at once were one
15 ms stall, and the UI's own timers (a 5 ms tick) only ran after all of them. A SliceQueue keeps
one zero-interval timer for all of them and runs one slice per pass, round robin, so the loop turns
(input, paints, asyncio callbacks of the engine) between any two slices.

`SliceQueue.timer(callback)` gives a SliceTimer with the QTimer calls the views use
(`start`, `stop`, `isActive`): a view's code stays the same whether its slices are shared or not.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore

__all__ = ["SliceQueue", "SliceTimer"]


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

    def timer(self, callback: Callable[[], object]) -> SliceTimer:
        return SliceTimer(self, callback)

    def _request(self, timer: SliceTimer) -> None:
        if timer not in self._waiting:
            self._waiting[timer] = None
        if not self._pass.isActive():
            self._pass.start()

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
            self._pass.start()  # the others at the next pass, not this one
        timer.callback()
        return True

    def stop(self) -> None:
        """Drop every waiting callback (the window closes)."""
        self._waiting.clear()
        self._pass.stop()
