"""`dad-studio batch FLOW_FILE --inputs ROWS.jsonl ...`: one run per row, judged by each row's `expect`.

Rows file: one JSON object per line, `{"variables": {...}, "inputs": {NODE: input}, "expect": {...}}`
(see dad_studio/batch/expect.py for the assertion shape). Each row is a normal run folder (run id
prefix `batch_<id>`); the batch record is `<run_root>/batches/<batch_id>/batch.json`, plus the
`batch_rows` table of index.sqlite. Starting the same batch again (same --batch-id, or by default
the same flow and rows files) runs only the rows not recorded yet.

Exit status: 0 every row ran and passed (its run status as expected, default `completed`, and every
check held); 1 some row failed, errored or failed an assertion (or the executor broke); 2 bad usage,
an invalid flow file, a bad rows file (every bad line listed with its number), a batch id already
used for other files or being run by another process; 130 interrupted (resume by running again).
Progress goes to stderr; the summary is printed to stderr at the end, or as JSON on stdout with --json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "batch",
        help="run a flow once per row of a JSONL file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("flow_file", type=Path, help="a *.dad.json file")
    p.add_argument("--inputs", type=Path, required=True, metavar="ROWS.jsonl", help="one row per line")
    p.add_argument("--run-root", type=Path, help="where run folders and batches go (default <project>/runs)")
    p.add_argument("--concurrency", type=int, default=8, metavar="N", help="rows in flight at once (default 8)")
    p.add_argument("--executor", choices=("local", "ray"), default="local")
    p.add_argument("--ray-address", metavar="ADDR", help="an existing Ray cluster (default: start a local one)")
    p.add_argument("--ray-rows-per-task", type=int, default=1, metavar="K", help="rows run together in one Ray task")
    p.add_argument("--batch-id", metavar="ID", help="name of the batch (default: from the flow and rows files)")
    p.add_argument("--rerun-failed", action="store_true", help="also run again the rows that did not pass")
    p.add_argument("--durability", choices=("process", "power"), default="process")
    p.add_argument("--no-traces", action="store_true", help="no OpenTelemetry files in the run folders (faster)")
    p.add_argument("--trust", action="store_true", help="allow command/python nodes and py: expressions")
    p.add_argument("--json", action="store_true", help="print the batch record (with its summary) on stdout")
    p.set_defaults(handler=main)


def _usage(message: str) -> int:
    print(f"dad-studio batch: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(args: argparse.Namespace) -> int:
    from dad_studio.batch import (
        BatchBusy,
        BatchError,
        FlowLoadError,
        LocalExecutor,
        RayExecutor,
        RowsFileError,
        format_summary,
        make_progress,
        run_batch,
    )
    from dad_studio.engine.trust import is_trusted

    if args.concurrency < 1:
        return _usage("--concurrency must be at least 1")
    if args.ray_rows_per_task < 1:
        return _usage("--ray-rows-per-task must be at least 1")
    if args.executor != "ray" and args.ray_address:
        return _usage("--ray-address needs --executor ray")
    executor: LocalExecutor | RayExecutor
    if args.executor == "ray":
        executor = RayExecutor(args.concurrency, address=args.ray_address, rows_per_task=args.ray_rows_per_task)
    else:
        executor = LocalExecutor(args.concurrency)
    progress = make_progress(sys.stderr)
    try:
        report = asyncio.run(
            run_batch(
                args.flow_file,
                args.inputs,
                run_root=args.run_root,
                executor=executor,
                batch_id=args.batch_id,
                rerun_failed=args.rerun_failed,
                trusted=bool(args.trust) or is_trusted(args.flow_file),
                durability=args.durability,
                observability_settings={"enabled": False} if args.no_traces else None,
                progress=progress,
            )
        )
    except FlowLoadError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    except RowsFileError as exc:
        print(f"dad-studio batch: bad rows file {exc.path}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  line {problem}", file=sys.stderr)
        return EXIT_USAGE
    except (BatchError, BatchBusy) as exc:
        return _usage(str(exc))
    except KeyboardInterrupt:
        print("dad-studio batch: interrupted; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # the executor as a whole broke (Ray unreachable...): rows done are kept
        print(f"dad-studio batch: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(format_summary(report.summary), file=sys.stderr)
    print(
        f"batch {report.batch_id}: {report.batch_dir} ({report.ran} run now, {report.skipped} done before)",
        file=sys.stderr,
    )
    _print_failures(report.results)
    if args.json:
        print(json.dumps({**report.record, "batch_dir": str(report.batch_dir)}, ensure_ascii=False))
    return EXIT_OK if report.all_passed else EXIT_FAILED


def _print_failures(results: dict[int, Any], limit: int = 20) -> None:
    """The rows that did not pass, with why: the first `limit` of them."""
    failed = [results[i] for i in sorted(results) if not results[i].passed]
    for row in failed[:limit]:
        reasons = [f"{c['name']}: {c['message']}" for c in row.checks if not c["passed"]]
        first_error = row.error.splitlines()[0] if row.error else None
        why = "; ".join(reasons) or first_error or row.status
        if first_error and reasons:
            why += f" ({first_error})"
        print(f"  row {row.index} {row.status} {row.run_id or '-'}: {why}", file=sys.stderr)
    if len(failed) > limit:
        print(f"  ... and {len(failed) - limit} more rows did not pass", file=sys.stderr)
