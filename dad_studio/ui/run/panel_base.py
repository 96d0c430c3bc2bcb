"""What every run panel shares: it follows one session and refreshes only while it can be seen.

A hidden panel (a tab behind another dock) only remembers that it is stale and catches up when it
is shown, so a run of thousands of nodes costs nothing in the panels nobody is looking at.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtGui, QtWidgets

from dad_studio.ui.run.session import RunSession


class RunPanel(QtWidgets.QWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: RunSession | None = None
        self._stale = False

    def set_session(self, session: RunSession | None) -> None:
        self.session = session
        self._stale = False
        self.rebuild()

    def on_events(self, session: RunSession, changed: set[str], events: list[dict[str, Any]]) -> None:
        """A batch of events was folded into `session.state` (only called for the selected session)."""
        if session is not self.session:
            return
        if not self.isVisible():
            self._stale = True
            return
        self.update_from(changed, events)

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.rebuild()

    def refresh_soon(self) -> None:
        """Rebuild now if shown, else when next shown."""
        if self.isVisible():
            self.rebuild()
        else:
            self._stale = True

    # -- to override -------------------------------------------------------------------------------

    def rebuild(self) -> None:
        """Show the whole session again."""

    def update_from(self, changed: set[str], events: list[dict[str, Any]]) -> None:
        """Apply one batch; the default rebuilds."""
        self.rebuild()
