"""`dad-studio`: the command-line entry point.

Each subcommand lives in its own module exposing `register(subparsers)`; the module's handler returns
the exit status (ARCHITECTURE.md: 0 completed, 1 run failed, 2 bad usage or invalid flow, 3 input
required and unavailable, 130 interrupted). With no subcommand, or with a flow file as the only
argument, the studio opens.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from dad_studio import __version__

SUBCOMMANDS: tuple[tuple[str, str], ...] = (
    ("run", "dad_studio.cli.run_cmd"),
    ("validate", "dad_studio.cli.validate_cmd"),
    ("fmt", "dad_studio.cli.validate_cmd"),
    ("runs", "dad_studio.cli.runs_cmd"),
    ("batch", "dad_studio.cli.batch_cmd"),
    ("new", "dad_studio.cli.new_cmd"),
    ("trust", "dad_studio.cli.trust_cmd"),
)
"""Subcommand name -> module with `register(subparsers)`. Modules not written yet are skipped."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dad-studio",
        description="Design, run and debug DAD agent flows. With no command, opens the studio.",
    )
    parser.add_argument("--version", action="version", version=f"dad-studio {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    registered: set[str] = set()
    for _name, module_name in SUBCOMMANDS:
        if module_name in registered:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # that subcommand has not been built yet
            raise
        module.register(subparsers)
        registered.add(module_name)
    return parser


def _open_studio(argv: Sequence[str]) -> int:
    studio = argparse.ArgumentParser(prog="dad-studio", description="Open the studio")
    studio.add_argument("flow_file", nargs="?", help="a *.dad.json file to open")
    args = studio.parse_args(argv)
    try:
        app = importlib.import_module("dad_studio.ui.app")
    except ModuleNotFoundError as exc:
        print(f"dad-studio: the studio is not available ({exc})", file=sys.stderr)
        return 2
    result: int = app.main(args.flow_file)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {name for name, _ in SUBCOMMANDS}
    if not argv or (argv[0] not in commands and not argv[0].startswith("-")):
        return _open_studio(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        status: int = handler(args)
    except KeyboardInterrupt:
        print("dad-studio: interrupted", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":
    raise SystemExit(main())
