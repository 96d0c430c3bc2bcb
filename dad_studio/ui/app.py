"""`dad-studio [FLOW_FILE]`: the QApplication, the qasync loop and the main window.

`DAD_STUDIO_SMOKE=1` makes the studio a smoke test of itself (packaging/smoke_test.sh, the README's
fresh-clone check): no modal dialog, and once the loop runs it paints the window, prints one line
on stdout and quits with 0, or 1 if the flow file could not be opened. `DAD_STUDIO_SMOKE=FILE.png`
does the same and saves what was painted there (to look at a packaged or fresh-clone studio).
"""

from __future__ import annotations

import os
import sys

from PySide6 import QtCore, QtWidgets

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
    smoke_value = os.environ.get(SMOKE_ENV, "")
    smoke = smoke_value == "1" or smoke_value.endswith(".png")
    if smoke:
        _no_dialogs(window)
    window.show()
    opened = True
    if flow_file:
        opened = window.open_file(flow_file)
    else:
        window.offer_untitled_recovery()
    closed = loop.create_future()
    status = [0]

    def on_close() -> None:
        if not closed.done():
            closed.set_result(status[0])

    if smoke:

        def report() -> None:
            image = window.grab()  # forces a full paint of the window, canvas included
            if smoke_value.endswith(".png"):
                image.save(smoke_value)
            nodes = len(window.doc.root.nodes) if window.doc is not None else 0
            what = f"{flow_file} ({nodes} nodes)" if opened and flow_file else "no flow"
            print(f"dad-studio smoke: {'ok' if opened else 'FAILED'}, {what}, painted {image.width()}x{image.height()}")
            sys.stdout.flush()
            status[0] = 0 if opened else 1
            window.close()

        QtCore.QTimer.singleShot(0, report)

    app.lastWindowClosed.connect(on_close)
    try:
        with loop:
            loop.run_until_complete(closed)
    finally:
        window.shutdown()
        close_loop(loop)
    return int(closed.result()) if closed.done() else 0


SMOKE_ENV = "DAD_STUDIO_SMOKE"


def _no_dialogs(window: MainWindow) -> None:
    """Smoke mode: answer what would otherwise be a modal dialog, and say so on stderr."""

    def show_error(title: str, text: str) -> None:
        print(f"dad-studio: {title}: {text}", file=sys.stderr)

    window.show_error = show_error  # type: ignore[method-assign]
    window.ask_recover = lambda path: False  # type: ignore[method-assign]
    window.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
