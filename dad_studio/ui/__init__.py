"""The Qt studio: the only layer that imports PySide6, NodeGraphQt and qasync.

The three Qt-binding switches are set here, before any Qt import, so that NodeGraphQt's Qt.py shim
(`QT_PREFERRED_BINDING`), qasync (`QT_API`) and pytest-qt all pick PySide6 (QT_NOTES.md).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("QT_PREFERRED_BINDING", "PySide6")
