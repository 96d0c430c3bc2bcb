"""Stage 1: bytes -> JSON values, with every way a file can be broken turned into a Problem.

Guards around `json.loads`: a size limit, strict UTF-8 (UTF-16/32 are named, a UTF-8 BOM is tolerated
with a warning), and a depth limit: `[[[[...` 100,000 levels deep makes the C decoder raise
RecursionError, which becomes a message, and anything it did read is walked (iteratively) to refuse
more than MAX_NESTING levels, so later stages never recurse too deep. Duplicate keys are errors with a pointer (never last-wins), found by an
`object_pairs_hook` that marks the offending objects and a walk that only runs when one was seen.
"""

from __future__ import annotations

import json
import math
from typing import Any

from dad_studio.fileformat.problems import Problem, pointer_join

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Flow files larger than this are refused (a 5,000-node flow is about 2 MB)."""
MAX_NESTING = 400
"""Deepest array/object nesting accepted; far above any real flow, well below Python's recursion limit."""


class _DuplicateKeys(dict[str, Any]):
    """A JSON object in which some keys appeared more than once (the last value is kept)."""

    duplicates: list[str]


def nesting_depth(value: Any, limit: int = MAX_NESTING) -> int:
    """Depth of nested arrays/objects in a parsed value, walked iteratively; stops early past `limit`."""
    if not isinstance(value, dict | list):
        return 0
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def decode(data: bytes, problems: list[Problem]) -> str | None:
    """UTF-8 text of a flow file, or None after recording why it is not."""
    if not data.strip():
        problems.append(Problem("", "the file is empty; a flow file is a JSON object (FLOW_FORMAT.md)"))
        return None
    if len(data) > MAX_FILE_BYTES:
        problems.append(
            Problem("", f"the file is {len(data):,} bytes; flow files are limited to {MAX_FILE_BYTES:,} bytes")
        )
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        problems.append(
            Problem(
                "", "the file is UTF-16/UTF-32 encoded (it starts with a byte order mark); flow files must be UTF-8"
            )
        )
        return None
    if b"\x00" in data[:4096]:
        problems.append(
            Problem(
                "",
                "the file contains NUL bytes: it is binary, or UTF-16/UTF-32 encoded; flow files are UTF-8 JSON text",
            )
        )
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        problems.append(Problem("", "the file starts with a UTF-8 byte order mark; `fmt` removes it", "warning"))
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problems.append(
            Problem(
                "",
                f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}, line {line}); "
                "flow files must be UTF-8 text",
            )
        )
        return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (numbers must be finite)")


def _finite_float(text: str) -> float:
    number = float(text)
    if number in (math.inf, -math.inf):
        raise ValueError(f"the number {text[:30]} is too large for a float")
    return number


def parse(data: bytes, problems: list[Problem]) -> Any:
    """The JSON value of `data`, or None after recording every reason it cannot be parsed."""
    text = decode(data, problems)
    if text is None:
        return None
    seen_duplicate = False

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal seen_duplicate
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        seen_duplicate = True
        marked = _DuplicateKeys(obj)
        counts: dict[str, int] = {}
        for key, _ in pairs:
            counts[key] = counts.get(key, 0) + 1
        marked.duplicates = [key for key, n in counts.items() if n > 1]
        return marked

    try:
        value = json.loads(
            text, object_pairs_hook=pairs_hook, parse_constant=_reject_constant, parse_float=_finite_float
        )
    except json.JSONDecodeError as exc:
        hint = " (the file ends early: truncated?)" if exc.pos >= len(text.rstrip()) else ""
        problems.append(Problem("", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}{hint}"))
        return None
    except RecursionError:  # the C decoder counts its own depth: [[[[... 100,000 deep ends here
        problems.append(Problem("", f"the JSON is nested too deeply (more than {MAX_NESTING} levels are refused)"))
        return None
    except ValueError as exc:  # NaN/Infinity, integers longer than Python's digit limit
        problems.append(Problem("", f"invalid JSON: {exc}"))
        return None
    if nesting_depth(value) > MAX_NESTING:
        problems.append(Problem("", f"the JSON is nested more than {MAX_NESTING} levels deep; that is refused"))
        return None
    if seen_duplicate:
        _report_duplicates(value, problems)
    return value


def _report_duplicates(value: Any, problems: list[Problem]) -> None:
    """Walk the parsed value (iteratively) and report every object marked by the pairs hook."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        pointer, item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item, _DuplicateKeys):
                for key in item.duplicates:
                    what = "element id" if pointer.endswith("/nodes") else "key"
                    problems.append(
                        Problem(
                            pointer_join(pointer, key),
                            f"duplicate {what} {key!r}: it appears more than once in the same object",
                        )
                    )
            stack.extend((pointer_join(pointer, k), v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((pointer_join(pointer, i), v) for i, v in enumerate(item))
