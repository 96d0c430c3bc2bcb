"""The run store: one folder per run, an append-only event log, and an index of all runs (RUNS.md).

Sits beside dad_studio.nodes, below the engine: the engine writes through `RunWriter`, the CLI and
the studio read through `read_run`, `list_runs` and `RunIndex`.
"""

from dad_studio.runs.common import BLOB_THRESHOLD, RunNotFound, new_run_id, utc_timestamp
from dad_studio.runs.index import RunIndex, list_runs
from dad_studio.runs.reader import (
    RunRecord,
    copy_artifacts,
    find_run,
    is_blob_ref,
    load_previous_results,
    read_manifest,
    read_run,
)
from dad_studio.runs.writer import RunWriter

__all__ = [
    "BLOB_THRESHOLD",
    "RunIndex",
    "RunNotFound",
    "RunRecord",
    "RunWriter",
    "copy_artifacts",
    "find_run",
    "is_blob_ref",
    "list_runs",
    "load_previous_results",
    "new_run_id",
    "read_manifest",
    "read_run",
    "utc_timestamp",
]
