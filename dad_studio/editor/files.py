"""Files around a document: bytes, atomic writes, recovery copies and external-change detection."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from dad_studio import fileformat
from dad_studio.fileformat import Problem
from dad_studio.model import ComponentDefinition, NodeTypeRegistry

RECOVERY_SUFFIX = ".dad.json"


def dumps(component: ComponentDefinition) -> bytes:
    """The document's canonical bytes (the file format's, so save and compare agree)."""
    return fileformat.dumps_flow(component)


def write_atomic(path: Path, data: bytes) -> None:
    """fileformat's atomic write, creating the folder first (recovery folders start missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fileformat.write_atomic(path, data)


def recovery_path(original: Path | None, *, state_dir: Path | None = None) -> Path:
    """Where the autosave copy of ``original`` goes: <user_state_dir>/recovery/<sha of abs path>.dad.json.

    An unsaved document (no path) gets a fixed name per process so two windows do not collide.
    """
    base = state_dir if state_dir is not None else Path(platformdirs.user_state_dir("dad-studio"))
    key = str(original.resolve()) if original is not None else f"untitled-{os.getpid()}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return base / "recovery" / f"{digest}{RECOVERY_SUFFIX}"


@dataclass(frozen=True)
class Fingerprint:
    """What a file was when we last read or wrote it."""

    mtime_ns: int
    size: int
    sha256: str

    @classmethod
    def of(cls, path: Path) -> Fingerprint | None:
        try:
            stat = path.stat()
            data = path.read_bytes()
        except OSError:
            return None
        return cls(stat.st_mtime_ns, stat.st_size, hashlib.sha256(data).hexdigest())

    def differs(self, path: Path) -> bool:
        """True if the file changed since; cheap when mtime and size match (no hashing then)."""
        try:
            stat = path.stat()
        except OSError:
            return True
        if stat.st_mtime_ns == self.mtime_ns and stat.st_size == self.size:
            return False
        if stat.st_size != self.size:
            return True
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest() != self.sha256
        except OSError:
            return True


def load(path: Path, registry: NodeTypeRegistry | None) -> tuple[ComponentDefinition | None, list[Problem]]:
    """The component (None when unusable) and every problem fileformat found."""
    result = fileformat.load_flow(path, registry=registry)
    return result.component, list(result.problems)
