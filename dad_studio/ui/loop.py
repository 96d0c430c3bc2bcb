"""The one place where the asyncio loop is put on the Qt GUI thread (qasync).

ARCHITECTURE.md: asyncio runs on the GUI thread, so the engine must never block it. Dialogs inside
coroutines are awaited with `ask()` (a future + `dialog.open()`), never `exec()` (QT_NOTES.md).
"""

from __future__ import annotations

import asyncio

import qasync
from PySide6 import QtWidgets


def make_loop(app: QtWidgets.QApplication) -> qasync.QEventLoop:
    """A qasync loop bound to `app`, installed as the current asyncio loop."""
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    return loop


def close_loop(loop: qasync.QEventLoop) -> None:
    """Close a loop made by make_loop (never `stop()` it: that calls app.exit(), QT_NOTES.md)."""
    if not loop.is_closed():
        loop.close()
    asyncio.set_event_loop(None)


async def ask(dialog: QtWidgets.QDialog) -> int:
    """Show `dialog` window-modal and wait for its result without nesting an event loop."""
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def done(result: int) -> None:
        if not future.done():
            future.set_result(result)

    dialog.finished.connect(done)
    dialog.open()
    return await future
