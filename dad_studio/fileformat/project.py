"""Where a flow's project is, and where its runs go: one rule for the CLI, the studio and batches.

A project is a folder with a `dad-studio.json` settings file (what `dad-studio new` writes); its
`run_root` setting (default `runs`) names the run root, relative to the project. Without a settings
file, a flow under a `flows/` folder belongs to the folder that holds `flows/`; any other flow is its
own project, in the folder that holds it. RUNS.md: runs go to `<project>/runs` unless overridden.
"""

from __future__ import annotations

import json
from pathlib import Path

PROJECT_FILE = "dad-studio.json"
FLOWS_DIR = "flows"
DEFAULT_RUN_ROOT = "runs"


class ProjectError(ValueError):
    """The project settings file exists but cannot be used; the message says why."""


def find_project_root(flow_path: Path) -> Path:
    """The project folder of a flow file (see the module docstring for the rule)."""
    folder = flow_path.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / PROJECT_FILE).is_file():
            return candidate
    for candidate in (folder, *folder.parents):
        if candidate.name == FLOWS_DIR:
            return candidate.parent
    return folder


def project_dirs(flow_path: Path) -> tuple[Path, Path]:
    """(project root, run root) of a flow file."""
    root = find_project_root(flow_path)
    settings_file = root / PROJECT_FILE
    run_root = DEFAULT_RUN_ROOT
    if settings_file.is_file():
        try:
            settings = json.loads(settings_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ProjectError(f"{settings_file}: not readable JSON ({exc})") from None
        value = settings.get("run_root", DEFAULT_RUN_ROOT) if isinstance(settings, dict) else None
        if not isinstance(value, str) or not value.strip():
            raise ProjectError(f"{settings_file}: 'run_root' must be a non-empty string")
        run_root = value
    return root, (root / run_root).resolve()
