"""Take the README's screenshots, offscreen: `python docs/screenshot.py` (writes docs/screenshots/).

studio.png: the studio on projects/interactive with the `draft` node selected (its properties shown).
run.png: a finished run of projects/repo_digest (a copy in a temporary folder, so no run folder
lands in the checkout), with the run's status on the canvas and the node outcomes panel.
Settings and autosave state go to a temporary folder: the user's studio settings are neither read
nor changed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtWidgets

import dad_studio.ui  # noqa: F401  (sets the Qt binding environment first)
from dad_studio.ui.loop import close_loop, make_loop
from dad_studio.ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"


def settle(app: QtWidgets.QApplication) -> None:
    for _ in range(5):
        app.processEvents()


def main() -> int:
    app = QtWidgets.QApplication(sys.argv[:1])
    loop = make_loop(app)
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

    project = tmp / "repo_digest"
    shutil.copytree(ROOT / "projects" / "repo_digest", project, ignore=shutil.ignore_patterns("runs"))
    win.open_file(project / "flows" / "repo_digest.dad.json")
    settle(app)
    win.canvas.view.fit()
    session = win.runs.start_run()
    assert session is not None

    async def finished() -> None:
        while not session.finished:
            await asyncio.sleep(0.05)

    loop.run_until_complete(asyncio.wait_for(finished(), 60))
    win.runs.flush()
    win.canvas.scene.select_ids(["summarize"])
    win.docks["run_outcomes"].raise_()
    shot("run.png")
    win.close()
    settle(app)
    close_loop(loop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
