"""The screenshot tools (tools/screenshots.py, README's and docs' images) still run against the studio:
they drive internals (docks, actions, the run controller) that refactors move."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"


@pytest.mark.parametrize(
    ("flag", "expected"),
    [("", ["empty.png", "example.png", "big_fit.png"]), ("--runs", ["run_in_progress.png", "run_done.png"])],
)
def test_screenshot_tool_runs_and_writes_pngs(tmp_path: Path, flag: str, expected: list[str]) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    cmd = [sys.executable, str(TOOLS / "screenshots.py"), str(tmp_path), *([flag] if flag else [])]
    done = subprocess.run(cmd, env=env, cwd=TOOLS, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in expected:
        png = tmp_path / name
        assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000, name
