"""Which folders may run code (``command`` and ``python`` nodes, ``py:`` expressions).

Decision: a flow is trusted only when its file lies inside a folder the user listed in the user
config (``dad-studio trust FOLDER``, or ``dad-studio run --trust FLOW`` for one run). Nothing is
trusted automatically, not even the example projects shipped with the package: a copied or
downloaded example is as unknown as any other folder. Paths are compared after ``realpath``, so a
symlink into a trusted folder is judged by where it really leads.
"""

from __future__ import annotations

import os
from pathlib import Path

from dad_studio.nodes.config import UserConfig


def _real(path: Path) -> Path:
    return Path(os.path.realpath(os.path.expanduser(path)))


def is_trusted(path: Path, config: UserConfig | None = None) -> bool:
    """True if ``path`` (a flow file or folder) is inside one of the user's trusted folders."""
    config = config if config is not None else UserConfig.load()
    target = _real(path)
    return any(target.is_relative_to(_real(folder)) for folder in config.trusted_folders)


def trust_folder(path: Path, config: UserConfig | None = None) -> Path:
    """Remember ``path`` (a folder; a file means its folder) as trusted; returns the stored path."""
    config = config if config is not None else UserConfig.load()
    folder = _real(path)
    if folder.is_file():
        folder = folder.parent
    if not any(folder == _real(f) for f in config.trusted_folders):
        config.trusted_folders.append(folder)
        config.save()
    return folder


def untrusted_message(what: str, flow_dir: Path) -> str:
    """The refusal text shared by the code-running executors."""
    return (
        f"{what} refused: the flow folder {flow_dir} is not trusted. "
        f"Run it once with `dad-studio run --trust FLOW`, or trust the folder with `dad-studio trust {flow_dir}`."
    )
