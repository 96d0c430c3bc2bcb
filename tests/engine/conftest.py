"""Engine tests: make the test node types (engine_testnodes) importable by their executor strings,
and keep every test away from the user's real config (trusted folders, credentials)."""

import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@pytest.fixture(autouse=True)
def _private_user_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAD_STUDIO_CONFIG_DIR", str(tmp_path_factory.mktemp("user-config")))
