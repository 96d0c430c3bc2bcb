"""FakeNodeContext: the NodeContext protocol without the engine, for executor tests.

Templates go through the real dad_studio.template (render / evaluate with a DictLookup of given
results); deltas, artifacts and input requests are recorded; input is answered by a script.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dad_studio.nodes.base import InputUnavailable
from dad_studio.template import DictLookup, evaluate, render


class FakeNodeContext:
    def __init__(
        self,
        tmp: Path,
        *,
        node_id: str = "node",
        node_type: str = "noop",
        variables: Mapping[str, Any] | None = None,
        results: Mapping[str, Any] | None = None,
        trusted: bool = True,
        node_input: Any = None,
        resources: Mapping[str, Any] | None = None,
        answers: list[Any] | Callable[[dict[str, Any]], Any] | None = None,
        flow_dir: Path | None = None,
        project_root: Path | None = None,
    ) -> None:
        self.node_id = node_id
        self.hier_path = f"flow.{node_id}"
        self.node_type = node_type
        self.attempt = 1
        self.run_id = "run_test_1"
        self.run_dir = tmp / "run"
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.project_root = project_root or tmp
        self.flow_dir = flow_dir or tmp
        self.trusted = trusted
        self.node_input = node_input
        self.resources = dict(resources or {})
        self.logger = logging.getLogger("test.node")
        self._variables = {
            **(variables or {}),
            "run_id": self.run_id,
            "run_dir": str(self.run_dir),
            "project_root": str(self.project_root),
            "element_id": node_id,
        }
        self._lookup = DictLookup(dict(results or {}), "flow")
        self._answers = answers
        self.deltas: list[str] = []
        self.artifacts: list[tuple[Path, str]] = []
        self.input_requests: list[dict[str, Any]] = []

    @property
    def variables(self) -> Mapping[str, Any]:
        return self._variables

    def render(self, template: str) -> str:
        return render(template, self._variables, results=self._lookup, allow_python=self.trusted)

    def evaluate(self, template: str) -> Any:
        return evaluate(template, self._variables, results=self._lookup, allow_python=self.trusted)

    def render_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.evaluate(value)
        if isinstance(value, list):
            return [self.render_value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.render_value(v) for k, v in value.items()}
        return value

    async def emit_delta(self, text: str) -> None:
        self.deltas.append(text)

    async def request_input(self, request: dict[str, Any]) -> Any:
        self.input_requests.append(request)
        if self._answers is None:
            raise InputUnavailable("no answers scripted")
        if callable(self._answers):
            return self._answers(request)
        if not self._answers:
            raise InputUnavailable("scripted answers exhausted")
        return self._answers.pop(0)

    def write_artifact(self, relative_path: str, data: bytes, media_type: str = "application/octet-stream") -> Path:
        path = self.run_dir / "artifacts" / relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.artifacts.append((path, media_type))
        return path

    def record_artifact(self, path: Path, media_type: str = "application/octet-stream") -> None:
        self.artifacts.append((path, media_type))
