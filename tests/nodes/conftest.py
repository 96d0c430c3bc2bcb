"""Fixtures of the node tests: a FakeNodeContext factory and an isolated user config folder."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from nodes_fake_context import FakeNodeContext


@pytest.fixture(autouse=True)
def user_config_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every node test gets its own empty user config folder and no real API keys."""
    folder = tmp_path_factory.mktemp("user_config")
    monkeypatch.setenv("DAD_STUDIO_CONFIG_DIR", str(folder))
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    return folder


@pytest.fixture
def make_ctx(tmp_path: Path) -> Any:
    def factory(**kwargs: Any) -> FakeNodeContext:
        return FakeNodeContext(tmp_path, **kwargs)

    return factory
