"""`dad-studio trust FOLDER`: let the flows in FOLDER run code (command / python nodes, `py:`).

Remembered in the user config (outside every project; DAD_STUDIO_CONFIG_DIR overrides where),
so later runs of flows in that folder or below it need no `--trust`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("trust", help="trust a folder: its flows may run code", description=__doc__)
    p.add_argument("folder", type=Path, help="a folder (a flow file means its folder)")
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from dad_studio.nodes.config import ConfigError
    from dad_studio.nodes.trust import trust_folder

    folder: Path = args.folder
    if not folder.exists():
        print(f"dad-studio trust: {folder} does not exist", file=sys.stderr)
        return 2
    try:
        stored = trust_folder(folder)
    except (ConfigError, OSError) as exc:
        print(f"dad-studio trust: {exc}", file=sys.stderr)
        return 2
    print(f"trusted: {stored} (flows in it may run command and python nodes and py: expressions)")
    return 0
