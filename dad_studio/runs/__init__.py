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

_LAZY = {
    "RunState": "dad_studio.runs.state",
    "NodeView": "dad_studio.runs.state",
    "Replay": "dad_studio.runs.replay",
    "RerunPlan": "dad_studio.runs.plan",
    "RerunPlanError": "dad_studio.runs.plan",
    "plan_rerun": "dad_studio.runs.plan",
    "plan_resume": "dad_studio.runs.plan",
    "NodeComparison": "dad_studio.runs.compare",
    "compare_runs": "dad_studio.runs.compare",
    "apply_retention": "dad_studio.runs.retention",
}
"""Reading-side helpers of the studio, imported on first use so that the engine's import stays small."""


def __getattr__(name: str) -> object:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'dad_studio.runs' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)


__all__ = [
    "BLOB_THRESHOLD",
    "NodeComparison",
    "NodeView",
    "Replay",
    "RerunPlan",
    "RerunPlanError",
    "RunIndex",
    "RunNotFound",
    "RunRecord",
    "RunState",
    "RunWriter",
    "apply_retention",
    "compare_runs",
    "copy_artifacts",
    "find_run",
    "is_blob_ref",
    "list_runs",
    "load_previous_results",
    "new_run_id",
    "plan_rerun",
    "plan_resume",
    "read_manifest",
    "read_run",
    "utc_timestamp",
]
