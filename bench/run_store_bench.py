"""Cost of RunWriter.append per event, against bare write loops on the same disk.

    /work/venv/bin/python bench/run_store_bench.py [--n 100000] [--dir /tmp] [--reps 5]

Prints the median (over reps) of the per-event cost in µs for:
  - baseline f.write(line): a buffered text file, the line already serialized (no flush: the floor)
  - baseline os.write(line): one unbuffered syscall per pre-serialized line (what durability costs)
  - baseline json + os.write: the store's JSON encoder and one syscall, no checks (the writer's floor)
  - RunWriter.append: json.dumps + size check + one os.write per event (the real hot path)
  - RunWriter.append with secrets: the same with a redaction check
plus read_run of the resulting log (µs per event), and the ratios to the baselines.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dad_studio.runs import RunWriter, read_run, utc_timestamp
from dad_studio.runs.common import dumps


def make_events(n: int) -> list[dict[str, Any]]:
    """Small events shaped like the engine's: started / completed pairs of a noop node."""
    ts = utc_timestamp()
    events: list[dict[str, Any]] = []
    for seq in range(1, n + 1):
        path = f"main.node_{seq // 2 % 1000}"
        if seq % 2:
            events.append(
                {"seq": seq, "ts": ts, "type": "node_started", "path": path, "node_type": "noop", "attempt": 1}
            )
        else:
            events.append(
                {
                    "seq": seq,
                    "ts": ts,
                    "type": "node_completed",
                    "path": path,
                    "node_type": "noop",
                    "status": "completed",
                    "input": {"x": seq},
                    "output": "ok",
                    "outcome": None,
                    "error": None,
                    "usage": None,
                    "started_at": ts,
                    "ended_at": ts,
                    "duration_ms": 0.01,
                }
            )
    return events


def bench_fwrite(folder: Path, lines: list[str]) -> float:
    with open(folder / "bare.jsonl", "w") as f:
        start = time.perf_counter()
        for line in lines:
            f.write(line)
        elapsed = time.perf_counter() - start
    return elapsed


def bench_oswrite(folder: Path, lines: list[str]) -> float:
    data = [line.encode() for line in lines]
    fd = os.open(folder / "bare_os.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        start = time.perf_counter()
        for chunk in data:
            os.write(fd, chunk)
        return time.perf_counter() - start
    finally:
        os.close(fd)


def bench_dumps_oswrite(folder: Path, events: list[dict[str, Any]]) -> float:
    fd = os.open(folder / "bare_json.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        start = time.perf_counter()
        for event in events:
            os.write(fd, (dumps(event) + "\n").encode())
        return time.perf_counter() - start
    finally:
        os.close(fd)


def bench_append(folder: Path, events: list[dict[str, Any]], **kwargs: Any) -> float:
    writer = RunWriter(folder / "run", **kwargs)
    writer.open({"root_component_id": "main"}, b"{}")
    append = writer.append
    start = time.perf_counter()
    for event in events:
        append(event)
    elapsed = time.perf_counter() - start
    writer.close(status="completed")
    return elapsed


def bench_read(folder: Path, events: list[dict[str, Any]]) -> float:
    bench_append(folder, events)
    start = time.perf_counter()
    record = read_run(folder / "run")
    elapsed = time.perf_counter() - start
    assert len(record.events) == len(events)
    return elapsed


def median_us(run: Callable[[Path], float], n: int, reps: int, base: Path) -> float:
    samples = []
    for _ in range(reps):
        with tempfile.TemporaryDirectory(dir=base) as tmp:
            samples.append(run(Path(tmp)) / n * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    events = make_events(args.n)

    lines = [json.dumps(e, separators=(",", ":")) + "\n" for e in events]
    mean_size = sum(len(line) for line in lines) / len(lines)
    n, reps, base = args.n, args.reps, args.dir
    fwrite = median_us(lambda d: bench_fwrite(d, lines), n, reps, base)
    oswrite = median_us(lambda d: bench_oswrite(d, lines), n, reps, base)
    json_os = median_us(lambda d: bench_dumps_oswrite(d, events), n, reps, base)
    append = median_us(lambda d: bench_append(d, events), n, reps, base)
    secret = median_us(lambda d: bench_append(d, events, secrets=["sk-not-in-any-event-0123456789"]), n, reps, base)
    read = median_us(lambda d: bench_read(d, events), n, reps, base)
    print(f"run store bench: {n} events of {mean_size:.0f} B on average, in {base}, median of {reps}")
    print(f"  baseline f.write(line)         {fwrite:7.2f} µs/event")
    print(f"  baseline os.write(line)        {oswrite:7.2f} µs/event")
    print(f"  baseline json + os.write       {json_os:7.2f} µs/event  (the store's encoder + one syscall, no checks)")
    print(
        f"  RunWriter.append               {append:7.2f} µs/event  ({append / fwrite:.1f}x f.write, "
        f"{append / oswrite:.1f}x os.write, {append / json_os:.2f}x json + os.write)"
    )
    print(f"  RunWriter.append with secrets  {secret:7.2f} µs/event  ({secret / append:.2f}x append)")
    print(f"  read_run                       {read:7.2f} µs/event")


if __name__ == "__main__":
    main()
