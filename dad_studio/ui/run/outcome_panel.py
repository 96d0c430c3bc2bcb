"""Node outcomes: input, output, outcome, error (with traceback), usage and cost of one element."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6 import QtWidgets

from dad_studio.runs.state import NodeView
from dad_studio.ui.run.json_tree import JsonTreeWidget, blob_loader_for
from dad_studio.ui.run.panel_base import RunPanel
from dad_studio.ui.run.session import RunSession, format_duration

EXPANDED = ("outcome", "error", "usage")


def outcome_record(view: NodeView) -> dict[str, Any]:
    """What the panel shows for an element: the record fields that are set, in a useful order."""
    record: dict[str, Any] = {"status": view.status}
    if view.node_type is not None:
        record["node_type"] = view.node_type
    if view.loaded:
        record["loaded"] = True
    if view.attempt:
        record["attempt"] = view.attempt
    for name in ("input", "output", "outcome", "error", "usage"):
        value = getattr(view, name)
        if value is not None:
            record[name] = value
    if view.cost is not None:
        record["cost"] = view.cost
    if view.stream:
        record["streamed"] = view.streamed_text
    if view.input_request is not None:
        record["input_request"] = view.input_request
    if view.input_source is not None:
        record["input_source"] = view.input_source
    if view.skip_reason is not None:
        record["skip_reason"] = view.skip_reason
    for name in ("started_at", "ended_at", "duration_ms"):
        value = getattr(view, name)
        if value is not None:
            record[name] = value
    if view.artifacts:
        record["artifacts"] = [a.get("artifact") for a in view.artifacts]
    return record


class OutcomePanel(RunPanel):
    """The selected element of the selected run, as a JSON tree with copy."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.path: str | None = None
        self.header = QtWidgets.QLabel("Select a node of a run")
        self.header.setWordWrap(True)
        self.tree = JsonTreeWidget()
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(self.tree, 1)

    def show_path(self, path: str | None) -> None:
        self.path = path
        if self.isVisible():
            self.rebuild()
        else:
            self._stale = True

    def rebuild(self) -> None:
        session, path = self.session, self.path
        view = session.state.nodes.get(path) if session is not None and path is not None else None
        if session is None or view is None:
            self.header.setText("Select a node of a run" if session is not None else "No run selected")
            self.tree.set_value({})
            return
        self.tree.model.blob_loader = blob_loader_for(Path(session.run_dir))
        duration = format_duration(view.duration_ms)
        self.header.setText(
            f"<b>{view.path}</b> · {view.node_type or ''} · {view.status}" + (f" · {duration}" if duration else "")
        )
        self.tree.set_value(outcome_record(view), expand=EXPANDED)

    def update_from(self, changed: set[str], events: list[dict[str, Any]]) -> None:
        if self.path is not None and self.path in changed:
            self.rebuild()

    def current_record(self) -> dict[str, Any]:
        value = self.tree.model.root.value
        return value if isinstance(value, dict) else {}

    def set_session(self, session: RunSession | None) -> None:
        if session is not self.session:
            self.path = None
        super().set_session(session)
