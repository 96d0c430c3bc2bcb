"""dad_studio.batch: run a flow over a dataset of rows, locally or on Ray, and judge the results.

    from dad_studio.batch import run_batch, LocalExecutor, RayExecutor
    report = await run_batch(Path("flow.dad.json"), Path("rows.jsonl"), executor=LocalExecutor(8))
    report.summary["pass_rate"], report.batch_dir

A row is `{"variables": {...}, "inputs": {NODE: input}, "expect": {...}}` (rows.py, expect.py); each
row is one normal run folder (run id prefix `batch_<id>`), linked to the batch record under
`<run_root>/batches/<batch_id>/` and the `batch_rows` table of index.sqlite (store.py).
Ray is optional: it is imported only when a RayExecutor runs.
"""

from dad_studio.batch.expect import CheckResult, Expectation, ExpectError, parse_expect
from dad_studio.batch.job import BatchJob, FlowLoadError, JobSpec, RowResult, run_row
from dad_studio.batch.local import LocalExecutor
from dad_studio.batch.progress import BatchProgress, NullProgress, PlainProgress, RichProgress, make_progress
from dad_studio.batch.ray_exec import RayExecutor
from dad_studio.batch.rows import BatchRow, RowsFileError, load_rows, parse_rows
from dad_studio.batch.runner import BatchError, BatchReport, default_batch_id, run_batch
from dad_studio.batch.store import BatchBusy, BatchStore, read_batch, read_row_results, table_rows
from dad_studio.batch.summary import format_summary, percentile, summarize
from dad_studio.batch.table import BATCH_COLUMNS, batch_table, list_batches

__all__ = [
    "BATCH_COLUMNS",
    "BatchBusy",
    "BatchError",
    "BatchJob",
    "BatchProgress",
    "BatchReport",
    "BatchRow",
    "BatchStore",
    "CheckResult",
    "ExpectError",
    "Expectation",
    "FlowLoadError",
    "JobSpec",
    "LocalExecutor",
    "NullProgress",
    "PlainProgress",
    "RayExecutor",
    "RichProgress",
    "RowResult",
    "RowsFileError",
    "batch_table",
    "default_batch_id",
    "format_summary",
    "list_batches",
    "load_rows",
    "make_progress",
    "parse_expect",
    "parse_rows",
    "percentile",
    "read_batch",
    "read_row_results",
    "run_batch",
    "run_row",
    "summarize",
    "table_rows",
]
