"""Batch tests: make batch_testdata importable; the engine-crash fixture."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@pytest.fixture
def crash_on_word(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows whose `word` is "crash" make the engine itself raise (not a node failure)."""
    from dad_studio.engine.runner import ComponentRunner

    original = ComponentRunner.run

    async def run(self: ComponentRunner) -> Any:
        if self.run_context.variables.get("word") == "crash":
            raise RuntimeError("engine exploded")
        return await original(self)

    monkeypatch.setattr(ComponentRunner, "run", run)
