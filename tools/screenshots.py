"""Save PNGs of the studio, offscreen: `python tools/screenshots.py OUT_DIR`.

empty.png (new studio), example.png (an example flow), selected.png (a node and its properties),
problems.png (the problems panel with problems), nested.png (a for_each body opened), light.png.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtWidgets

import dad_studio.ui  # noqa: F401
from dad_studio.ui.main_window import MainWindow

EXAMPLE = Path(__file__).resolve().parents[1] / "tests" / "ui" / "data" / "example.dad.json"


def settle(app: QtWidgets.QApplication) -> None:
    for _ in range(5):
        app.processEvents()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    app = QtWidgets.QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="dad-shots-"))
    settings = QtCore.QSettings(str(tmp / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, state_dir=tmp / "state")
    win.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    win.resize(1400, 900)
    win.show()
    settle(app)

    def shot(name: str) -> None:
        settle(app)
        win.canvas.minimap.refit()
        path = out / name
        win.grab().save(str(path))
        print(path)

    shot("empty.png")
    work = tmp / "example.dad.json"
    work.write_bytes(EXAMPLE.read_bytes())
    win.open_file(work)
    win.canvas.view.fit()
    shot("example.png")
    win.canvas.scene.select_ids(["write"])
    shot("selected.png")
    doc = win.doc
    assert doc is not None
    doc.set_setting((), "write", ("prompt",), "Summarise $var{missing_name} and $hier{nowhere.outcome}")
    doc.set_setting((), "big", ("statement",), "$expr{1 +}")
    win.refresh_problems()
    win.canvas.refresh_problems()
    win.canvas.scene.select_ids(["big"])
    shot("problems.png")
    win.canvas.scene.clearSelection()
    win.canvas.open_node("per_file")
    win.canvas.scene.select_ids(["describe"])
    shot("nested.png")
    win.canvas.go_up()
    win.set_theme("light")
    win.canvas.view.fit()
    shot("light.png")
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
