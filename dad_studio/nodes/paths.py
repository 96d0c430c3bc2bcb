"""Confinement of file-node paths to ``base_directory`` and ``allowed_directories``.

A user path is accepted only if its real location (``os.path.realpath``: every symlink followed,
``..`` collapsed, a missing tail resolved as far as it exists) lies inside one of the real roots.
Relative paths are taken from the base directory; an absolute path must itself lie inside a root.
Backslashes count as separators (so ``..\\..\\x`` is seen as the escape it means), drive letters and
UNC prefixes are refused outright, and so are NUL bytes. Check-then-use races with a concurrent
process swapping in a symlink are out of scope, and so is a flow that names ``/home`` as its base:
confinement keeps templated and model-written paths inside the folders the flow names. The
filesystem root itself is refused as a base or allowed directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

_DRIVE = re.compile(r"^[A-Za-z]:")


class PathEscape(ValueError):
    """A path outside the allowed folders (the message says which path and why)."""


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(path))


class Confinement:
    def __init__(self, base: Path, allowed: Iterable[Path] = ()) -> None:
        self.base = _real(base)
        self.roots = [self.base, *(_real(base / a) for a in allowed)]
        for root in self.roots:
            if root == Path(root.anchor):
                raise PathEscape(f"the filesystem root {root} cannot be a base or allowed directory")

    def contains(self, real: Path) -> bool:
        return any(real == root or real.is_relative_to(root) for root in self.roots)

    def resolve(self, user_path: str) -> Path:
        """The real path for ``user_path``, or PathEscape."""
        if "\x00" in user_path:
            raise PathEscape(f"path {user_path!r} contains a NUL byte")
        normalized = user_path.replace("\\", "/")
        if _DRIVE.match(normalized) or normalized.startswith("//"):
            raise PathEscape(f"path {user_path!r} is a Windows drive or network path")
        if not normalized.strip():
            raise PathEscape("empty path")
        candidate = Path(normalized)
        if not candidate.is_absolute():
            candidate = self.base / candidate
        real = _real(candidate)
        if not self.contains(real):
            raise PathEscape(f"path {user_path!r} leads outside the allowed folders ({self.describe()})")
        return real

    def relative(self, real: Path) -> str:
        """How to show a real path: relative to the base when inside it."""
        if real.is_relative_to(self.base):
            rel = real.relative_to(self.base).as_posix()
            return rel or "."
        return str(real)

    def describe(self) -> str:
        return ", ".join(str(r) for r in self.roots)


def check_pattern(pattern: str) -> None:
    """Glob patterns may not climb out of the folder they search."""
    normalized = pattern.replace("\\", "/")
    if "\x00" in pattern:
        raise PathEscape(f"pattern {pattern!r} contains a NUL byte")
    if normalized.startswith("/") or _DRIVE.match(normalized):
        raise PathEscape(f"pattern {pattern!r} is absolute; patterns are relative to the searched folder")
    if ".." in normalized.split("/"):
        raise PathEscape(f"pattern {pattern!r} contains '..'")
