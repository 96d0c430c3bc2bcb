"""`dad-studio validate FLOW_FILE [--json]` and `dad-studio fmt FLOW_FILE... [--check]`.

Exit status (ARCHITECTURE.md): validate 0 when valid (warnings allowed), 2 otherwise; fmt 0 when every
file is (now) canonical, 1 with --check if one is not, 2 if one is invalid. A file of an older
schema_version that is otherwise canonical passes --check with a "needs upgrade" notice. A bad file is always a
message, never a traceback: loading never raises, and writing errors are caught here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dad_studio.fileformat import SCHEMA_VERSION, dumps_flow, load_flow, save_flow


def register(subparsers: Any) -> None:
    validate = subparsers.add_parser(
        "validate",
        help="check a flow file and print every problem",
        description="Check a flow file: JSON, schema, node types, settings, edges, cycles, templates.",
    )
    validate.add_argument("flow_file", help="a *.dad.json file")
    validate.add_argument("--json", action="store_true", help='print {"valid": bool, "problems": [...]} on stdout')
    validate.set_defaults(handler=run_validate)

    fmt = subparsers.add_parser(
        "fmt",
        help="rewrite flow files in canonical form",
        description="Rewrite flow files in canonical form (key order, indent, explicit edges).",
    )
    fmt.add_argument("flow_files", nargs="+", metavar="FLOW_FILE", help="*.dad.json files")
    fmt.add_argument("--check", action="store_true", help="only report files that are not canonical (exit 1)")
    fmt.set_defaults(handler=run_fmt)


def run_validate(args: argparse.Namespace) -> int:
    path = Path(args.flow_file)
    result = load_flow(path)
    if args.json:
        problems = []
        for problem in result.problems:
            item = {"pointer": problem.pointer, "message": problem.message, "severity": problem.severity}
            if problem.file is not None and problem.file != path:
                item["file"] = str(problem.file)  # a problem inside a subflow.ref file
            problems.append(item)
        payload = {"valid": result.ok, "problems": problems}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        for problem in result.problems:
            print(problem.format(path), file=sys.stderr if problem.severity == "error" else sys.stdout)
        if result.ok:
            warnings = len(result.warnings)
            suffix = f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
            print(f"{path}: valid{suffix}")
        else:
            print(f"{path}: {len(result.errors)} error(s)", file=sys.stderr)
    return 0 if result.ok else 2


def run_fmt(args: argparse.Namespace) -> int:
    invalid = False
    not_canonical = False
    for name in args.flow_files:
        path = Path(name)
        result = load_flow(path)
        if not result.ok or result.component is None:
            invalid = True
            for problem in result.errors:
                print(problem.format(path), file=sys.stderr)
            print(f"{path}: not formatted: the file is invalid", file=sys.stderr)
            continue
        canonical = dumps_flow(result.component)
        if canonical == result.source_bytes:
            continue
        if args.check and _only_version_differs(canonical, result.source_bytes, result.migrated_from):
            # an older version that is otherwise canonical: still a valid file, so upgrading
            # dad-studio does not fail every project's check; the upgrade is a notice
            print(
                f"{path}: canonical, but schema_version {result.migrated_from} needs upgrade to "
                f"{SCHEMA_VERSION} (run `dad-studio fmt {path}`)"
            )
            continue
        if args.check:
            not_canonical = True
            print(f"{path}: not in canonical form (run `dad-studio fmt {path}`)")
            continue
        try:
            save_flow(path, result.component)
        except OSError as exc:
            invalid = True
            print(f"{path}: cannot write: {exc.strerror or exc}", file=sys.stderr)
            continue
        print(f"{path}: formatted")
    if invalid:
        return 2
    return 1 if not_canonical else 0


def _only_version_differs(canonical: bytes, source: bytes | None, old_version: int | None) -> bool:
    """True if `source` is the canonical form of an older schema_version: `canonical` with the old
    version number (the version line is the second line of every canonical file)."""
    if source is None or old_version is None:
        return False
    head = f'  "schema_version": {SCHEMA_VERSION},\n'.encode()
    old = f'  "schema_version": {old_version},\n'.encode()
    return canonical.count(head) >= 1 and canonical.replace(head, old, 1) == source
