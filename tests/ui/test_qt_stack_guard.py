"""Guards for the pinned Qt stack (QT_NOTES.md).

PySide6 6.12.0 on Python 3.11 drops a reference to None for every call that returns a null Qt object,
and the interpreter aborts (`none_dealloc`) once None's count runs out: under NodeGraphQt after a few
thousand hover moves. The pin (<6.12) keeps it away; this test notices if a resolver or a later pin
change lets a bad build in, long before a user's session crashes.
"""

from __future__ import annotations

import sys

import PySide6
from PySide6 import QtCore


def test_null_qt_returns_keep_none_refcount() -> None:
    before = sys.getrefcount(None)
    for _ in range(1000):
        assert QtCore.QObject().parent() is None
    after = sys.getrefcount(None)
    # Other threads may hold or drop a few references meanwhile; a leaking build drops ~1,000.
    assert after - before > -50, f"PySide6 {PySide6.__version__} drops references to None ({before} -> {after})"


def test_pinned_pyside_version() -> None:
    major, minor = (int(x) for x in PySide6.__version__.split(".")[:2])
    assert (major, minor) == (6, 11), f"ARCHITECTURE.md pins PySide6-Essentials 6.11.x, found {PySide6.__version__}"
