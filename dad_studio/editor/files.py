"""Files around a document: bytes, atomic writes, recovery copies and external-change detection."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from dad_studio import fileformat
from dad_studio.model import ComponentDefinition

RECOVERY_SUFFIX = ".dad.json"


def dumps(component: ComponentDefinition) -> bytes:
    """The document's canonical bytes (fileformat's when it is there)."""
    dumps_flow = getattr(fileformat, "dumps_flow", None)
    if dumps_flow is not None:
        data: bytes = dumps_flow(component)
        return data
    body = component.model_dump(mode="json", by_alias=True)
    doc = {"format": "dad-flow", "schema_version": 1, "root": body}
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def load(path: Path) -> tuple[ComponentDefinition | None, list[Any]]:
    """The component and the problems found, through fileformat.load_flow when it is there."""
    load_flow = getattr(fileformat, "load_flow", None)
    if load_flow is not None:
        result = load_flow(path)
        return result.component, list(result.problems)
    from dad_studio.model import component_from_dict

    data = json.loads(path.read_bytes())
    return component_from_dict(data["root"]), []
