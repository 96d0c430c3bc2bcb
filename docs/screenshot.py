"""Take the README's screenshots, offscreen: `python docs/screenshot.py` (writes docs/screenshots/).

studio.png: the studio on projects/interactive with the `draft` node selected (its properties shown).
Settings and autosave state go to a temporary folder: the user's studio settings are neither read
nor changed.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtWidgets

import dad_studio.ui  # noqa: F401  (sets the Qt binding environment first)
from dad_studio.ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"


def settle(app: QtWidgets.QApplication) -> None:
    for _ in range(5):
        app.processEvents()


def main() -> int:
    app = QtWidgets.QApplication(sys.argv[:1])
    tmp = Path(tempfile.mkdtemp(prefix="dad-shots-"))
    settings = QtCore.QSettings(str(tmp / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, state_dir=tmp / "state")
    win.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    win.resize(1600, 900)
    win.show()
    settle(app)
    win.resizeDocks([win.docks["validation"]], [150], QtCore.Qt.Orientation.Vertical)
    win.canvas.minimap.setVisible(False)
    OUT.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> None:
        settle(app)
        settle(app)
        path = OUT / name
        win.grab().save(str(path), "PNG", 9)
        print(f"{path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB)")

    win.open_file(ROOT / "projects" / "interactive" / "flows" / "interactive.dad.json")
    settle(app)
    win.canvas.view.fit()
    win.canvas.scene.select_ids(["draft"])
    shot("studio.png")
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
