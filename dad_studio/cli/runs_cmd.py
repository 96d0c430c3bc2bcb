"""`dad-studio runs list|show|events`: past runs from the run store (RUNS.md, ARCHITECTURE.md).

`list` prints runs newest first (a table on a terminal, tab-separated text otherwise; `--json`: the
manifests); `show RUN_ID` prints one manifest and its elements (`--json`: the manifest with `nodes`,
hierarchy path -> status); `events RUN_ID` prints the run's event log, one JSON object per line, and
with `--follow` goes on printing what a running run writes until it ends (what `tail -f` on
events.jsonl did before the log was mapped: a mapped log is followed by zeros and does not grow in
size). An unknown run exits 2 with one line on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from dad_studio.runs import RunNotFound, find_run, list_runs, read_run
from dad_studio.runs.common import EVENTS_NAME
from dad_studio.runs.eventlog import read_appended
from dad_studio.runs.reader import derive_status, read_manifest

DEFAULT_RUN_ROOT = Path("runs")
"""Outside any project: ./runs."""
FOLLOW_S = 0.2
"""How often `runs events --follow` looks at the log of a running run."""


def default_run_root(cwd: Path | None = None) -> Path:
    """The run root of the project the current directory is in (a `dad-studio.json` in it or a
    parent: its `run_root` setting, default runs), else ./runs. Raises ProjectError for a broken
    settings file."""
    from dad_studio.fileformat.project import PROJECT_FILE, project_dirs

    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return project_dirs(folder / PROJECT_FILE)[1]
    return DEFAULT_RUN_ROOT


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("runs", help="list and inspect past runs", description="List and inspect past runs.")
    commands = parser.add_subparsers(dest="runs_command", metavar="SUBCOMMAND")
    parser.set_defaults(handler=lambda args: _usage(parser))

    listing = commands.add_parser("list", help="list runs, newest first")
    _common(listing)
    listing.set_defaults(handler=run_list)

    show = commands.add_parser("show", help="show one run: manifest and element statuses")
    show.add_argument("run_id", metavar="RUN_ID")
    _common(show)
    show.set_defaults(handler=run_show)

    events = commands.add_parser(
        "events",
        help="print a run's events, one JSON object per line",
        description="Print the run's event log (events.jsonl), one JSON object per line, without the zero "
        "tail a running or killed run's log has.",
    )
    events.add_argument("run_id", metavar="RUN_ID")
    events.add_argument(
        "-f", "--follow", action="store_true", help="go on printing the events of a running run until it ends"
    )
    _common(events, json_flag=False)
    events.set_defaults(handler=run_events)


def _common(parser: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    parser.add_argument(
        "--run-root",
        type=Path,
        help="folder of runs (default: the run root of the project the current directory is in, found by its "
        "dad-studio.json here or in a parent folder; outside a project ./runs)",
    )
    if json_flag:
        parser.add_argument("--json", action="store_true", help="print JSON on stdout")


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _resolve_run_root(args: argparse.Namespace, command: str) -> bool:
    """Fill in the default run root; False (after saying why) when the project settings are broken."""
    if args.run_root is None:
        from dad_studio.fileformat.project import ProjectError

        try:
            args.run_root = default_run_root()
        except ProjectError as exc:
            print(f"dad-studio runs {command}: {exc}", file=sys.stderr)
            return False
    return True


def run_list(args: argparse.Namespace) -> int:
    if not _resolve_run_root(args, "list"):
        return 2
    manifests = list_runs(args.run_root)
    if args.json:
        json.dump(manifests, sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
        return 0
    rows = [
        (
            str(m.get("run_id")),
            str(m.get("root_component_id") or m.get("flow_file") or ""),
            str(m.get("status")),
            _when(m.get("started_at")),
            _duration(m),
            _cost(m.get("usage")),
        )
        for m in manifests
    ]
    if not rows:
        print(f"no runs under {args.run_root}", file=sys.stderr)
        return 0
    header = ("RUN", "FLOW", "STATUS", "STARTED", "DURATION", "COST")
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(*header)
        for row in rows:
            table.add_row(*row)
        Console().print(table)
    else:
        for row in (header, *rows):
            print("\t".join(row))
    return 0


def run_show(args: argparse.Namespace) -> int:
    if not _resolve_run_root(args, "show"):
        return 2
    try:
        record = read_run(find_run(args.run_root, args.run_id))
    except RunNotFound as exc:
        print(f"dad-studio runs show: {exc}", file=sys.stderr)
        return 2
    manifest = {**record.manifest, "status": record.status, "counts": record.counts, "usage": record.usage}
    if args.json:
        nodes = {path: result.get("status") for path, result in record.results.items()}
        json.dump({**manifest, "nodes": nodes}, sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
        return 0
    for key in ("run_id", "status", "root_component_id", "flow_file", "started_at", "ended_at", "previous_run_id"):
        if manifest.get(key) is not None:
            print(f"{key}: {manifest[key]}")
    print(f"duration: {_duration(manifest)}  cost: {_cost(record.usage)}")
    if record.counts:
        print("counts: " + ", ".join(f"{k} {v}" for k, v in sorted(record.counts.items())))
    print("nodes:")
    for path, result in record.results.items():
        line = f"  {path}: {result.get('status')}"
        error = result.get("error")
        if error:
            line += f"  ({error.get('message') if isinstance(error, dict) else error})"
        print(line)
    for problem in record.problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 0


def run_events(args: argparse.Namespace) -> int:
    if not _resolve_run_root(args, "events"):
        return 2
    try:
        run_dir = find_run(args.run_root, args.run_id)
    except RunNotFound as exc:
        print(f"dad-studio runs events: {exc}", file=sys.stderr)
        return 2
    path = run_dir / EVENTS_NAME
    out = sys.stdout.buffer
    offset = 0
    try:
        while True:
            ended = args.follow and _writer_gone(run_dir)
            got = read_appended(path, offset)
            if got is None:
                print(f"dad-studio runs events: {path} was rewritten while it was read", file=sys.stderr)
                return 1
            chunk, offset = got
            if chunk:
                out.write(chunk)
                out.flush()
            # The end: run_completed is the log's last line (then the writer closes), or the writer is
            # gone without it (interrupted, cancelled): everything it wrote has been printed above.
            if not args.follow or ended or _ends_with_run_completed(chunk):
                return 0
            time.sleep(FOLLOW_S)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `| head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 0


def _writer_gone(run_dir: Path) -> bool:
    """Whether the run's writer has closed the log or died: nothing more will be appended."""
    try:
        return derive_status(read_manifest(run_dir), None) != "running"
    except RunNotFound:
        return False  # run.json not written yet: the run is starting


def _ends_with_run_completed(chunk: bytes) -> bool:
    last = chunk.rstrip(b"\n").rpartition(b"\n")[2]
    if b'"run_completed"' not in last:
        return False
    try:
        return bool(json.loads(last).get("type") == "run_completed")
    except (ValueError, AttributeError):
        return False


def _when(timestamp: Any) -> str:
    if not isinstance(timestamp, str):
        return ""
    try:
        moment = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _duration(manifest: dict[str, Any]) -> str:
    ms = manifest.get("duration_ms")
    if not isinstance(ms, int | float):
        try:
            start = dt.datetime.fromisoformat(str(manifest["started_at"]).replace("Z", "+00:00"))
            end = dt.datetime.fromisoformat(str(manifest["ended_at"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            return ""
        ms = (end - start).total_seconds() * 1000
    return f"{ms / 1000:.2f}s" if ms >= 1000 else f"{ms:.0f}ms"


def _cost(usage: Any) -> str:
    cost = usage.get("cost") if isinstance(usage, dict) else None
    return f"${cost:.4f}" if isinstance(cost, int | float) and cost else ""
