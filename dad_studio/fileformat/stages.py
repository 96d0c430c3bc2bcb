"""Stages 1-3 of loading, chained: read the file, parse JSON, migrate, build the model.

Semantic validation (stage 4, `validate.py`) is separate because it also runs on documents that
never were a file (the editor's in-memory document).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from dad_studio.fileformat import rawjson
from dad_studio.fileformat.migrate import migrate
from dad_studio.fileformat.problems import Problem
from dad_studio.fileformat.structure import build_component, check_envelope, check_top_level
from dad_studio.model import ComponentDefinition


def read_bytes(path: Path, problems: list[Problem]) -> bytes | None:
    """The file's bytes, or None after recording a sentence saying why it cannot be read."""
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            problems.append(Problem("", f"{path} is a directory, not a flow file"))
            return None
        if info.st_size > rawjson.MAX_FILE_BYTES:
            problems.append(
                Problem(
                    "",
                    f"the file is {info.st_size:,} bytes; flow files are limited to {rawjson.MAX_FILE_BYTES:,} bytes",
                )
            )
            return None
        with open(path, "rb") as handle:
            return handle.read(rawjson.MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        problems.append(Problem("", f"no such file: {path}"))
    except PermissionError:
        problems.append(Problem("", f"permission denied reading {path}"))
    except IsADirectoryError:
        problems.append(Problem("", f"{path} is a directory, not a flow file"))
    except OSError as exc:
        problems.append(Problem("", f"cannot read {path}: {exc.strerror or exc}"))
    except ValueError as exc:  # e.g. an embedded NUL in the path
        problems.append(Problem("", f"cannot read {path!r}: {exc}"))
    return None


@dataclass
class Parsed:
    """What stages 1-3 made of some bytes."""

    component: ComponentDefinition | None
    problems: list[Problem] = field(default_factory=list)
    migrated_from: int | None = None


def parse_bytes(data: bytes) -> Parsed:
    """Bytes -> JSON -> migrated document -> component, collecting every problem on the way."""
    problems: list[Problem] = []
    value = rawjson.parse(data, problems)
    if value is None:
        return Parsed(None, problems)
    document = check_envelope(value, problems)
    if document is None:
        return Parsed(None, problems)
    migrated, migrated_from = migrate(document, problems)
    if migrated is None or not check_top_level(migrated, problems):
        return Parsed(None, problems)
    if migrated_from is not None:
        problems.append(
            Problem(
                "/schema_version",
                f"the file was upgraded on load from schema_version {migrated_from}; "
                "`dad-studio fmt` rewrites it in the current version",
                "warning",
            )
        )
    component = build_component(migrated["root"], "/root", problems)
    return Parsed(component, problems, migrated_from)
