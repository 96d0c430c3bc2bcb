"""Stage 2: upgrade an older document to the current schema_version with sequential migrators.

A migrator takes the whole document (format, schema_version, root) at version n and returns it at
version n + 1; migrations chain until SCHEMA_VERSION. A newer file is refused with both versions
named, because guessing at a format we do not know would lose data silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dad_studio.fileformat.problems import Problem

SCHEMA_VERSION = 2
"""The version this code reads and writes (FLOW_FORMAT.md). 2 added a component's `comments`."""
FORMAT_NAME = "dad-flow"

Migrator = Callable[[dict[str, Any]], dict[str, Any]]

MIGRATORS: dict[int, Migrator] = {}
"""from_version -> migrator producing from_version + 1 (version 1 is the first)."""


def register_migrator(from_version: int) -> Callable[[Migrator], Migrator]:
    """Decorator: `@register_migrator(1)` upgrades version 1 documents to version 2."""

    def decorate(func: Migrator) -> Migrator:
        if from_version in MIGRATORS:
            raise ValueError(f"a migrator from schema_version {from_version} is already registered")
        MIGRATORS[from_version] = func
        return func

    return decorate


def migrate(
    document: dict[str, Any],
    problems: list[Problem],
    *,
    migrators: Mapping[int, Migrator] | None = None,
    current: int = SCHEMA_VERSION,
) -> tuple[dict[str, Any] | None, int | None]:
    """(document at `current`, the version it was upgraded from or None), or (None, None) on failure."""
    table = MIGRATORS if migrators is None else migrators
    version = document.get("schema_version")
    if "schema_version" not in document:
        problems.append(Problem("/schema_version", f"missing 'schema_version' (this version reads {current})"))
        return None, None
    if isinstance(version, bool) or not isinstance(version, int):
        problems.append(
            Problem("/schema_version", f"'schema_version' must be an integer, got {type(version).__name__}")
        )
        return None, None
    if version > current:
        problems.append(
            Problem(
                "/schema_version",
                f"the file has schema_version {version}, newer than {current} (the newest this version of "
                "dad-studio reads); upgrade dad-studio to open it",
            )
        )
        return None, None
    start = version
    while version < current:
        step = table.get(version)
        if step is None:
            problems.append(
                Problem("/schema_version", f"schema_version {version} is not supported (no migrator to {version + 1})")
            )
            return None, None
        try:
            document = step(document)
        except Exception as exc:  # a migrator meeting a malformed old file
            problems.append(
                Problem("/schema_version", f"upgrading from schema_version {version} to {version + 1} failed: {exc}")
            )
            return None, None
        version += 1
        document["schema_version"] = version
    return document, (start if start != current else None)


@register_migrator(1)
def _v1_to_v2(document: dict[str, Any]) -> dict[str, Any]:
    """Version 2 added an optional `comments` list to every component; a v1 file has none, so only
    the version number changes (`migrate` sets it). A v1 file that already held `comments` was
    invalid then and is simply read as v2 now: nothing of it is dropped."""
    return document
