"""What changed in a flow file since a run: elements added, removed or changed, edges changed.

Compared by hierarchy path (relative to the root, so a renamed root id still lines up). An element
is `changed` when its type, settings (bodies aside: they are compared element by element),
description, join, timeout, retry or pre_events differ. No Qt here; the viewer paints the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dad_studio.model.definitions import ComponentDefinition, NodeDefinition

__all__ = ["FlowDiff", "diff_flows", "load_current_flow"]


@dataclass
class FlowDiff:
    """Paths are relative to the root (`step`, `loop.inner`)."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    """Path -> names of the fields that differ."""
    edges_changed: list[str] = field(default_factory=list)
    """Component paths ('' for the root) whose edges differ."""

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.edges_changed)

    def marks(self) -> dict[str, tuple[str, str]]:
        """Path -> (kind, note) for the canvas badges of elements that exist in the snapshot."""
        out: dict[str, tuple[str, str]] = {p: ("removed", "removed from the file since this run") for p in self.removed}
        for path, fields in self.changed.items():
            out[path] = ("changed", "changed in the file since this run: " + ", ".join(fields))
        return out

    def summary(self) -> str:
        if self.empty:
            return "The flow file is unchanged since this run."
        parts = []
        if self.changed:
            parts.append(f"{len(self.changed)} changed ({', '.join(sorted(self.changed)[:5])})")
        if self.removed:
            parts.append(f"{len(self.removed)} removed ({', '.join(self.removed[:5])})")
        if self.added:
            parts.append(f"{len(self.added)} added ({', '.join(self.added[:5])})")
        if self.edges_changed:
            parts.append("edges changed in " + ", ".join(p or "the root" for p in self.edges_changed[:5]))
        return "The flow file changed since this run: " + "; ".join(parts) + "."


_FIELDS = ("type", "description", "join", "timeout_s", "retry", "pre_events")


def _elements(component: ComponentDefinition) -> dict[str, NodeDefinition]:
    return {path.split(".", 1)[1]: node for _c, path, node in component.walk("r")}


def _components(component: ComponentDefinition, prefix: str = "") -> dict[str, ComponentDefinition]:
    found = {prefix: component}
    for node_id, node in component.nodes.items():
        if node.body is not None:
            found.update(_components(node.body, f"{prefix}.{node_id}" if prefix else node_id))
    return found


def _settings(node: NodeDefinition) -> dict[str, Any]:
    return {k: v for k, v in node.settings.items() if k != "body"}


def _edges(component: ComponentDefinition) -> set[tuple[str, str, str, str | None]]:
    return {(e.source, e.target, e.on, e.port) for e in component.effective_edges()}


def diff_flows(snapshot: ComponentDefinition, current: ComponentDefinition) -> FlowDiff:
    before, after = _elements(snapshot), _elements(current)
    diff = FlowDiff(
        added=[p for p in after if p not in before],
        removed=[p for p in before if p not in after],
    )
    for path, old in before.items():
        new = after.get(path)
        if new is None:
            continue
        fields = [name for name in _FIELDS if getattr(old, name) != getattr(new, name)]
        if _settings(old) != _settings(new):
            fields.append("settings")
        if fields:
            diff.changed[path] = fields
    old_components, new_components = _components(snapshot), _components(current)
    for path, component in old_components.items():
        other = new_components.get(path)
        if other is not None and _edges(component) != _edges(other):
            diff.edges_changed.append(path)
    return diff


def load_current_flow(flow_file: str | None) -> tuple[ComponentDefinition | None, str]:
    """The flow file as it is now (None and why when it cannot be read)."""
    if not flow_file:
        return None, "the run does not name its flow file"
    path = Path(flow_file)
    if not path.is_file():
        return None, f"{path} no longer exists"
    from dad_studio.fileformat import load_flow

    loaded = load_flow(path)
    if loaded.component is None:
        return None, f"{path} cannot be loaded"
    return loaded.component, ""
