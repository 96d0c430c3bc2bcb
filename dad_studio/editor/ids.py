"""Free ids for new elements: `base`, else `base_2`, `base_3`... within the id rules of FLOW_FORMAT.md."""

from __future__ import annotations

import re
from collections.abc import Container

from dad_studio.model import ID_PATTERN
from dad_studio.model.definitions import MAX_ID_LENGTH

__all__ = ["free_id"]

_SUFFIX = re.compile(r"_(\d+)$")


def free_id(base: str, used: Container[str], fallback: str) -> str:
    """``base`` if it is a valid id nobody uses, else ``stem_2``, ``stem_3``... where stem is base without a
    trailing ``_N``, shortened when needed so that the id stays within MAX_ID_LENGTH. An invalid base is
    replaced by ``fallback`` (itself a valid id)."""
    if not ID_PATTERN.match(base) or len(base) > MAX_ID_LENGTH:
        base = fallback
    if base not in used:
        return base
    stem = _SUFFIX.sub("", base) or base
    n = 2
    while True:
        suffix = f"_{n}"
        candidate = stem[: MAX_ID_LENGTH - len(suffix)] + suffix
        if candidate not in used:
            return candidate
        n += 1
