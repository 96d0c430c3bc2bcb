"""The README's first command: the studio opens on an example (offscreen, DAD_STUDIO_SMOKE).

Run in a subprocess, as a user would start it, so that the QApplication, the qasync loop and the
exit status are the real ones and not pytest-qt's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.qt


def start_studio(tmp_path: Path, *args: str, smoke: str = "1") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        DAD_STUDIO_SMOKE=smoke,
        DAD_STUDIO_CONFIG_DIR=str(tmp_path / "config"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),  # the studio's QSettings (recent files) go here
    )
    return subprocess.run(
        [sys.executable, "-m", "dad_studio.cli.main", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_studio_opens_an_example_and_paints(tmp_path):
    shot = tmp_path / "studio.png"
    result = start_studio(tmp_path, "projects/repo_digest/flows/repo_digest.dad.json", smoke=str(shot))
    assert result.returncode == 0, result.stderr
    assert "dad-studio smoke: ok, projects/repo_digest/flows/repo_digest.dad.json (3 nodes)" in result.stdout
    assert shot.stat().st_size > 20_000  # a painted window, not an empty image


def test_studio_smoke_fails_on_a_flow_it_cannot_open(tmp_path):
    result = start_studio(tmp_path, str(tmp_path / "missing.dad.json"))
    assert result.returncode == 1
    assert "dad-studio smoke: FAILED" in result.stdout
    assert "no such file" in result.stderr and "Traceback" not in result.stderr
