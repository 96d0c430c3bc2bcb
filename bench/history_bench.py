"""Run history at scale: listing 1,000 runs, opening a 10,000-event run, stepping its timeline.

    /work/venv/bin/python bench/history_bench.py [--runs 1000] [--events 10000] [--root DIR] [--keep]

Every run is written through the real RunWriter (so the folders, the manifest and the log are the
real format). Targets (issue 9): listing <= 200 ms, opening the big run (Replay + state_at(last))
<= 500 ms, one timeline step <= 16 ms. Prints medians (and p99 / max where a frame budget matters)
and, for jumps, the ratio to the naive baseline: folding from event 0 on every jump.
The panel-level part (Qt) is measured separately by the UI benchmarks.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from dad_studio.fileformat import dumps_flow
from dad_studio.model import FlowDefinition
from dad_studio.runs import RunIndex, RunWriter
from dad_studio.runs.common import utc_timestamp
from dad_studio.runs.replay import Replay, load_flow_snapshot
from dad_studio.runs.state import RunState
from dad_studio.runs.testing import EventLog

TARGETS_MS = {"list": 200.0, "open": 500.0, "step": 16.0}


def ms(seconds: float) -> float:
    return seconds * 1000.0


def write_small_runs(root: Path, count: int) -> None:
    start = _dt.datetime(2025, 1, 1, tzinfo=_dt.UTC)
    for i in range(count):
        run_dir = root / f"run_{i:05d}"
        writer = RunWriter(run_dir)
        stamp = utc_timestamp(start + _dt.timedelta(minutes=i))
        writer.open({"root_component_id": f"flow{i % 7}", "started_at": stamp}, b'{"root": {}}')
        log = EventLog(writer)
        log.emit("run_started", f"flow{i % 7}", run_id=run_dir.name, root_component_id=f"flow{i % 7}",
                 previous_run_id=None, start_hierarchy_path=None, variables={"i": i})  # fmt: skip
        status = "failed" if i % 11 == 0 else "completed"
        for n in range(5):
            log.node(f"flow{i % 7}.n{n}", "failed" if status == "failed" and n == 4 else "completed")
        usage = {"total_tokens": 15, "cost": 2.5}
        log.emit("run_completed", f"flow{i % 7}", status=status, counts={status: 5}, usage=usage, duration_ms=3.0)
        writer.close(status=status)


def big_flow(groups: int, per_group: int) -> FlowDefinition:
    flow = FlowDefinition(id="big")
    for g in range(groups):
        body = FlowDefinition()
        for n in range(per_group):
            body.node(f"n{n}", type="noop")
        flow.subflow(f"g{g}", body)
    return flow  # unconnected: groups run in order, nodes of each group in order


def write_big_run(root: Path, events: int) -> Path:
    """node_started + node_output_delta + node_completed per element, with the component events."""
    per_group = 50
    groups = max(1, events // (3 * per_group + 4))
    flow = big_flow(groups, per_group)
    run_dir = root / "run_big"
    writer = RunWriter(run_dir)
    writer.open({"root_component_id": "big"}, dumps_flow(flow))
    log = EventLog(writer)
    log.emit("run_started", "big", run_id="run_big", root_component_id="big", previous_run_id=None,
             start_hierarchy_path=None, variables={})  # fmt: skip
    log.emit("component_started", "big", kind="flow", status="running")
    rng = random.Random(7)
    for g in range(groups):
        sub = f"big.g{g}"
        if log.seq >= events - 2:
            break
        log.emit("node_started", sub, node_type="subflow", attempt=1)
        log.emit("component_started", sub, kind="flow", status="running")
        for n in range(per_group):
            if log.seq >= events - 4:
                break
            path = f"{sub}.n{n}"
            log.emit("node_started", path, node_type="noop", attempt=1)
            log.emit("node_output_delta", path, text="token " * 5)
            status = "failed" if rng.random() < 0.01 else "completed"
            log.emit("node_completed", path, node_type="noop", status=status, input={"n": n}, output=None,
                     outcome={"value": f"v{n}"}, error={"message": "x"} if status == "failed" else None,
                     usage={"total_tokens": 3, "cost": 0.001}, started_at=utc_timestamp(), ended_at=utc_timestamp(),
                     duration_ms=0.5)  # fmt: skip
        log.emit("component_completed", sub, kind="flow", status="completed")
        log.emit("node_completed", sub, node_type="subflow", status="completed", input=None, output=None,
                 outcome={}, error=None, usage=None, started_at=None, ended_at=None, duration_ms=1.0)  # fmt: skip
    while log.seq < events - 1:
        log.emit("log", "big", level="info", message="filler")
    log.emit("run_completed", "big", status="completed", counts={}, usage={}, duration_ms=1.0)
    writer.close(status="completed")
    return run_dir


def timed(fn: Any, repeat: int) -> list[float]:
    """Wall times in ms (see `timed2` for CPU beside them)."""
    return timed2(fn, repeat)[0]


def timed2(fn: Any, repeat: int) -> tuple[list[float], list[float]]:
    """(wall ms, CPU ms of this thread) per call. The machine is shared: CPU time says what the code
    costs, wall time what a user would have waited under the current load."""
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.thread_time()
        fn()
        cpu.append(ms(time.thread_time() - c0))
        wall.append(ms(time.perf_counter() - t0))
    return wall, cpu


def med(values: list[float]) -> float:
    return statistics.median(values)


def figures(wall: list[float], cpu: list[float], digits: int = 1) -> str:
    """'median wall X ms (CPU Y ms)'."""
    return f"median {med(wall):.{digits}f} ms wall, {med(cpu):.{digits}f} ms CPU"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    root = args.root or Path(tempfile.mkdtemp(prefix="history_bench_"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        write_small_runs(root, args.runs)
        big = write_big_run(root, args.events)
        print(f"wrote {args.runs} runs + 1 run of {args.events} events in {time.perf_counter() - t0:.1f} s ({root})")
        print("figures: medians; wall = what a user waits under the current load, CPU = this thread's CPU time")

        index = RunIndex(root)
        cold = timed(lambda: index.list(), 1)[0]
        warm = timed2(lambda: index.list(), 15)
        no_refresh = timed2(lambda: index.list(refresh=False), 15)
        rows = timed2(lambda: index.rows(), 15)
        listed = len(index.list())
        index.close()
        print(f"listing {listed} runs: first (builds index.sqlite) {cold:.0f} ms")
        print(f"  list() with refresh: {figures(*warm)} [target <= {TARGETS_MS['list']:.0f}]")
        print(f"  list(refresh=False): {figures(*no_refresh)}")
        print(f"  rows() (the panel's query): {figures(*rows)}")

        def open_big() -> Replay:
            replay = Replay(big)
            replay.state_at(len(replay))
            return replay

        opens = timed2(open_big, 9)
        replay = open_big()
        n = len(replay)
        state = replay.state_at(n)
        print(f"opening the big run ({n} events, {len(state.nodes)} elements), Replay + state_at(last): "
              f"{figures(*opens)} [target <= {TARGETS_MS['open']:.0f}]")  # fmt: skip
        parts = {
            "Replay(events only, no flow)": lambda: Replay(big, load_flow=False),
            "flow snapshot": lambda: load_flow_snapshot(big),
            "RunState(flow) (pending views)": lambda: RunState(replay.flow, root_id="big"),
            "fold of every event (fresh state)": lambda: RunState(replay.flow, root_id="big").apply_all(replay.events),
        }
        for name, fn in parts.items():
            print(f"  {name}: {figures(*timed2(fn, 9))}")

        rng = random.Random(1)
        steps: list[float] = []
        step_cpu: list[float] = []
        for _ in range(1000):
            k = rng.randint(1, n - 1)
            replay.state_at(k)
            target = k + rng.choice((-1, 1))
            t0, c0 = time.perf_counter(), time.thread_time()
            replay.state_at(target)
            step_cpu.append(ms(time.thread_time() - c0))
            steps.append(ms(time.perf_counter() - t0))
        print(f"step +-1 (1000 random): {figures(steps, step_cpu, 3)}, p99 {pct(steps, 0.99):.2f} ms wall "
              f"({pct(step_cpu, 0.99):.2f} CPU), max {max(steps):.2f} ms [target <= {TARGETS_MS['step']:.0f}]")  # fmt: skip

        jumps: list[float] = []
        for _ in range(300):
            k = rng.randint(0, n)
            t0 = time.perf_counter()
            replay.state_at(k)
            jumps.append(ms(time.perf_counter() - t0))
        naive: list[float] = []
        for _ in range(30):
            k = rng.randint(0, n)
            t0 = time.perf_counter()
            RunState(replay.flow, root_id="big").apply_all(replay.events[:k])
            naive.append(ms(time.perf_counter() - t0))
        jm, nm = statistics.median(jumps), statistics.median(naive)
        print(f"random jump (300): median {jm:.2f} ms, p99 {pct(jumps, 0.99):.2f} ms, max {max(jumps):.2f} ms; "
              f"baseline re-fold from event 0: median {nm:.1f} ms -> {nm / jm:.0f}x faster")  # fmt: skip
    finally:
        if not args.keep and args.root is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
