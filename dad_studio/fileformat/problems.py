"""What loading and validation report: problems with a JSON pointer, and the result of a load.

A bad file is data, not an exception: every stage appends Problems and carries on, so the user sees
all of them at once (FLOW_FORMAT.md, "All errors at once"). `FlowFileError` exists for callers that
prefer to raise (the engine: `load_flow(path).raise_for_errors()`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dad_studio.model import ComponentDefinition

Severity = Literal["error", "warning"]


def pointer_join(base: str, *parts: str | int) -> str:
    """Append reference tokens to a JSON pointer, escaping `~` and `/` (RFC 6901)."""
    out = base
    for part in parts:
        text = str(part)
        if "~" in text or "/" in text:
            text = text.replace("~", "~0").replace("/", "~1")
        out = f"{out}/{text}"
    return out


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or suspicious) in a flow file."""

    pointer: str
    """JSON pointer into the document, e.g. "/root/nodes/summarize/settings/prompt"; "" is the whole file."""
    message: str
    severity: Severity = "error"
    file: Path | None = None
    """The file the pointer is in; None for an in-memory document. Differs from the loaded file for
    problems found in a `subflow.ref` file."""

    def format(self, default_file: Path | str | None = None) -> str:
        """`file:pointer: message` (with a `warning: ` prefix for warnings), as the CLI prints it."""
        where = self.file if self.file is not None else default_file
        prefix = "warning: " if self.severity == "warning" else ""
        if where is None:
            return f"{self.pointer}: {prefix}{self.message}" if self.pointer else f"{prefix}{self.message}"
        if not self.pointer:
            return f"{where}: {prefix}{self.message}"
        return f"{where}:{self.pointer}: {prefix}{self.message}"

    def to_json(self) -> dict[str, str]:
        data = {"pointer": self.pointer, "message": self.message, "severity": self.severity}
        if self.file is not None:
            data["file"] = str(self.file)
        return data


class FlowFileError(Exception):
    """A flow file (or in-memory document) has errors; `problems` lists all of them."""

    def __init__(self, problems: Iterable[Problem], path: Path | None = None) -> None:
        self.problems = list(problems)
        self.path = path
        errors = [p for p in self.problems if p.severity == "error"]
        shown = "\n".join(p.format(path) for p in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        name = str(path) if path is not None else "flow"
        super().__init__(f"{name} is not a valid flow ({len(errors)} error(s)):\n{shown}{more}")


@dataclass
class LoadResult:
    """The outcome of loading a flow: the component (None when unusable) and every problem found.

    `component` is None when the file could not be read, parsed, migrated or mapped onto the model;
    a component that fails only semantic checks (unknown node type, dangling edge...) is returned
    alongside its problems, so the editor can open it and show them.
    """

    component: ComponentDefinition | None
    problems: list[Problem] = field(default_factory=list)
    path: Path | None = None
    source_bytes: bytes | None = None
    """The bytes that were read (None when reading failed); `fmt --check` compares them to the canonical form."""
    migrated_from: int | None = None
    """The file's schema_version when a migrator upgraded it on load, else None."""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when the flow has a component and no errors (warnings allowed)."""
        return self.component is not None and not self.errors

    def raise_for_errors(self) -> ComponentDefinition:
        """The component, or FlowFileError carrying every problem."""
        if not self.ok or self.component is None:
            raise FlowFileError(self.problems, self.path)
        return self.component
