"""Qt fixtures: offscreen platform, a fresh qasync loop per test (QT_NOTES.md), a studio window."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("QT_PREFERRED_BINDING", "PySide6")

import pytest
import qasync
from PySide6 import QtCore, QtWidgets

import dad_studio.ui  # noqa: F401
from dad_studio.ui.loop import close_loop, make_loop
from dad_studio.ui.main_window import MainWindow

HERE = str(Path(__file__).parent)
if HERE not in sys.path:  # the tests' helper modules (history_helpers, run_latency_helpers)
    sys.path.insert(0, HERE)

DATA = Path(__file__).parent / "data"


@pytest.fixture
def qloop(qapp: QtWidgets.QApplication) -> Iterator[qasync.QEventLoop]:
    loop = make_loop(qapp)
    yield loop
    close_loop(loop)
    assert asyncio.get_event_loop_policy()  # the policy survives; only the loop went away


def running_timers(root: QtCore.QObject) -> list[QtCore.QTimer]:
    return [t for t in root.findChildren(QtCore.QTimer) if t.isActive()]


@pytest.fixture
def window(qtbot, qloop, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, state_dir=tmp_path / "state")
    win.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    qtbot.addWidget(win)
    win.resize(1300, 850)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    left = [(t.parent().metaObject().className(), t.parent().objectName(), t.interval()) for t in running_timers(win)]
    assert left == [], "a QTimer is still running after the window closed"


@pytest.fixture
def opened(window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path) -> tuple[MainWindow, Any, Any, Path]:
    """A window with run_latency_helpers' chain flow open, and the events of a finished run of it."""
    from run_latency_helpers import chain_flow, run_events

    path = chain_flow(tmp_path)
    assert window.open_file(path)
    component, events, run_dir = run_events(qloop, path)
    assert any(e["type"] == "run_completed" for e in events)
    return window, component, events, run_dir
