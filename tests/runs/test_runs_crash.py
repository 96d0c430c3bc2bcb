"""kill -9 of a process appending to the store: every event flushed before the kill reads back.

The child appends events in a loop (some big enough to go to blobs) and prints each seq to a pipe after
`append` returns; the parent kills it at a random moment, then reads the folder. The log is a shared
memory map of the file (runs.eventlog): once with its usual window, once with windows small enough
that kills land while it moves on to the next one.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dad_studio.runs import read_run

CHILD = r"""
import sys
from pathlib import Path
from dad_studio.runs import RunWriter, eventlog, utc_timestamp

if len(sys.argv) > 2:
    eventlog.WINDOW = int(sys.argv[2])  # a small window: the log moves to a new one many times a second
writer = RunWriter(Path(sys.argv[1]))
writer.open({"root_component_id": "main"}, b"{}")
out = sys.stdout
out.write("ready\n"); out.flush()
seq = 0
while True:
    seq += 1
    if seq % 50 == 0:
        fields = {"type": "node_completed", "node_type": "noop", "status": "completed", "input": None,
                  "output": "b" * 70_000 + str(seq), "outcome": None, "error": None, "usage": None,
                  "started_at": None, "ended_at": None, "duration_ms": 0.0}
    else:
        fields = {"type": "log", "level": "info", "message": "m" * (seq % 300)}
    writer.append({"seq": seq, "ts": utc_timestamp(), "path": f"main.n{seq % 7}", **fields})
    out.write(f"{seq}\n"); out.flush()
"""

KILLS = 20


@pytest.mark.parametrize("window", [None, 1 << 16], ids=["window-default", "window-64KiB"])
def test_kill_minus_nine_at_random_moments_loses_no_flushed_event(tmp_path: Path, window: int | None) -> None:
    rng = random.Random(1234)
    blobs_seen = 0
    for attempt in range(KILLS):
        run_dir = tmp_path / f"run_{attempt}"
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(run_dir), *([str(window)] if window else [])],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n", child.stderr.read() if child.stderr else ""
        time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        # Read through the same buffered file as readline() did (communicate() would skip its read-ahead).
        printed = child.stdout.read()
        child.wait(timeout=30)
        if child.stderr is not None:
            child.stderr.close()
        child.stdout.close()
        assert child.returncode == -signal.SIGKILL
        flushed = [int(line) for line in printed.split()]
        last_flushed = flushed[-1] if flushed else 0

        record = read_run(run_dir)
        seqs = [event["seq"] for event in record.events]
        assert seqs == list(range(1, len(seqs) + 1)), f"attempt {attempt}: gap in {seqs[-5:]}"
        assert len(seqs) >= last_flushed, f"attempt {attempt}: flushed {last_flushed}, read {len(seqs)}"
        assert len(seqs) <= last_flushed + 1  # at most the one event written but not yet reported
        assert record.problems == []
        assert record.status == "interrupted"
        for result in record.results.values():  # a line never points at a blob that is not there
            assert record.load_blob(result["output"]).startswith("b" * 70_000)
            blobs_seen += 1
    assert blobs_seen > 0  # the blob path was exercised under the kills
