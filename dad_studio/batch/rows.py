"""The rows file: one JSON object per line, each one run of the flow (a batch row).

    {"variables": {...}, "inputs": {NODE_ID or PATH: input}, "expect": {...}}

Every key is optional; blank lines and lines starting with `#` are skipped (they still count for line
numbers, so an error names the line an editor shows). The whole file is checked before anything
runs, and every bad line is reported at once: a typo in line 812 must not surface after 811 runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dad_studio.batch.expect import Expectation, ExpectError, parse_expect

__all__ = ["BatchRow", "RowsFileError", "load_rows", "parse_rows"]

_ROW_KEYS = frozenset({"variables", "inputs", "expect", "id"})


class RowsFileError(ValueError):
    """The rows file cannot be used; `problems` holds one `line N: message` per bad line."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}:{p}" for p in problems))


@dataclass(frozen=True)
class BatchRow:
    """One row: its 0-based index among the rows (not counting blank or comment lines) and its line."""

    index: int
    line: int
    variables: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    expect: Expectation = field(default_factory=Expectation)
    label: str | None = None
    """Optional `id` of the row, shown in tables; the index stays the key."""

    def to_json(self) -> dict[str, Any]:
        """What a Ray worker receives: plain JSON types only."""
        return {
            "index": self.index,
            "line": self.line,
            "variables": self.variables,
            "inputs": self.inputs,
            "expect": self.expect.to_json(),
            "label": self.label,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchRow:
        return cls(
            index=data["index"],
            line=data["line"],
            variables=data["variables"],
            inputs=data["inputs"],
            expect=parse_expect(data["expect"]),
            label=data.get("label"),
        )


def _row(index: int, line_no: int, data: Any) -> BatchRow:
    if not isinstance(data, dict):
        raise ValueError(f"a row is a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - _ROW_KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}; a row has variables, inputs, expect, id")
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ValueError(f"'variables' must be an object, got {type(variables).__name__}")
    inputs = data.get("inputs", {})
    if not isinstance(inputs, dict):
        raise ValueError(f"'inputs' must be an object (node id or path -> input), got {type(inputs).__name__}")
    label = data.get("id")
    if label is not None and not isinstance(label, str | int):
        raise ValueError("'id' must be a string or an integer")
    try:
        expect = parse_expect(data.get("expect"))
    except ExpectError as exc:
        raise ValueError(f"expect: {exc}") from None
    return BatchRow(index, line_no, variables, inputs, expect, None if label is None else str(label))


def parse_rows(data: bytes, path: str = "<rows>") -> list[BatchRow]:
    """All rows of a rows file's bytes; RowsFileError lists every bad line."""
    rows: list[BatchRow] = []
    problems: list[str] = []
    for line_no, raw in enumerate(data.split(b"\n"), 1):
        text = raw.strip()
        if not text or text.startswith(b"#"):
            continue
        try:
            value = json.loads(text)
        except UnicodeDecodeError:
            problems.append(f"{line_no}: not UTF-8 text")
            continue
        except json.JSONDecodeError as exc:
            problems.append(f"{line_no}: not JSON ({exc.msg} at column {exc.colno})")
            continue
        try:
            rows.append(_row(len(rows), line_no, value))
        except ValueError as exc:
            problems.append(f"{line_no}: {exc}")
    if problems:
        raise RowsFileError(path, problems)
    if not rows:
        raise RowsFileError(path, ["0: the file holds no rows"])
    return rows


def load_rows(path: Path) -> tuple[list[BatchRow], str]:
    """The rows of a file and the sha256 of its bytes (part of the default batch id)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RowsFileError(str(path), [f"0: cannot read ({exc.strerror or exc})"]) from None
    return parse_rows(data, str(path)), hashlib.sha256(data).hexdigest()
