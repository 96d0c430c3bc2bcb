"""`dad-studio [FLOW_FILE]`: the QApplication, the qasync loop and the main window."""

from __future__ import annotations

import sys

from PySide6 import QtWidgets

import dad_studio.ui  # noqa: F401  (sets the Qt binding environment first)
from dad_studio.ui.loop import close_loop, make_loop
from dad_studio.ui.main_window import MainWindow


def main(flow_file: str | None) -> int:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    assert isinstance(app, QtWidgets.QApplication)
    app.setApplicationName("DAD Studio")
    app.setOrganizationName("dad-studio")
    # Dialogs (recover, unsaved changes) may be the last window open for a moment: quitting must be
    # decided by the main window closing, not by Qt counting windows (QT_NOTES.md).
    app.setQuitOnLastWindowClosed(False)
    loop = make_loop(app)
    window = MainWindow()
    window.destroyed.connect(app.quit)
    window.show()
    if flow_file:
        window.open_file(flow_file)
    else:
        window.offer_untitled_recovery()
    closed = loop.create_future()

    def on_close() -> None:
        if not closed.done():
            closed.set_result(0)

    app.lastWindowClosed.connect(on_close)
    try:
        with loop:
            loop.run_until_complete(closed)
    finally:
        window.shutdown()
        close_loop(loop)
    return 0
