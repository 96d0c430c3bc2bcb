"""Shared helpers for the editor tests: a signal recorder and small documents built inline."""

from __future__ import annotations

from typing import Any

import pytest

from dad_studio.editor import FlowDocument
from dad_studio.model import FlowDefinition

SIGNALS = (
    "node_added",
    "node_removed",
    "node_moved",
    "node_renamed",
    "edge_added",
    "edge_removed",
    "settings_changed",
    "variables_changed",
    "structure_changed",
    "dirty_changed",
    "undo_changed",
)


class Recorder:
    """Connects to every document signal and keeps (signal name, args) in emission order."""

    def __init__(self, doc: FlowDocument) -> None:
        self.events: list[tuple[Any, ...]] = []
        for name in SIGNALS:
            getattr(doc, name).connect(self._slot(name))

    def _slot(self, name: str) -> Any:
        def slot(*args: Any) -> None:
            self.events.append((name, *args))

        return slot

    def of(self, *names: str) -> list[tuple[Any, ...]]:
        return [e for e in self.events if e[0] in names]

    def clear(self) -> None:
        self.events.clear()


@pytest.fixture
def chain_doc() -> FlowDocument:
    """a -> b -> c, positioned, plus a conditional `cond` on its own."""
    flow = FlowDefinition(id="chain")
    for i, node_id in enumerate(("a", "b", "c")):
        flow.node(node_id, type="ai_model", settings={"prompt": f"step {node_id}"})
        flow.layout[node_id] = (i * 100, 0)
    flow.conditional("cond", "$expr{1 > 0}")
    flow.layout["cond"] = (0, 200)
    flow.connect("a", "b")
    flow.connect("b", "c")
    return FlowDocument(flow)


@pytest.fixture
def recorder_factory() -> Any:
    return Recorder
