"""Icons and stylesheets, from `resources/` in a checkout or `dad_studio/_resources` when installed."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6 import QtGui


@cache
def resource_dir() -> Path:
    packaged = Path(__file__).resolve().parent.parent / "_resources"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "resources"


@cache
def icon(name: str) -> QtGui.QIcon:
    """The SVG icon `name`, or the generic node icon when a (plugin) type has none."""
    path = resource_dir() / "icons" / f"{name}.svg"
    if not path.is_file():
        path = resource_dir() / "icons" / "node.svg"
    return QtGui.QIcon(str(path))


def stylesheet(theme: str) -> str:
    path = resource_dir() / "themes" / f"{theme}.qss"
    return path.read_text(encoding="utf-8") if path.is_file() else ""
