"""Suite-wide: keep every test away from the user's real configuration and state.

The user config (credentials, trusted folders, prices), Qt's settings and the recovery files live
under platformdirs' user folders; a test that trusts a folder or writes a recovery file must never
touch the developer's own, and a machine whose user config trusts /tmp must not make CI differ from
a laptop. Tests that need their own folder still set DAD_STUDIO_CONFIG_DIR with monkeypatch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_user_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    root = tmp_path_factory.mktemp("user")
    names = {
        "DAD_STUDIO_CONFIG_DIR": root / "dad-studio-config",
        "XDG_CONFIG_HOME": root / "config",
        "XDG_STATE_HOME": root / "state",
        "XDG_CACHE_HOME": root / "cache",
        "XDG_DATA_HOME": root / "data",
    }
    saved = {name: os.environ.get(name) for name in names}
    for name, path in names.items():
        path.mkdir(parents=True, exist_ok=True)
        os.environ[name] = str(path)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
