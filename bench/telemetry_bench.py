"""Telemetry overhead per node: a 1,000-node chain's event stream fed to RunTelemetry vs a no-op sink.

Prints the median of 5 rounds of:
  hot path   µs/node that on_event adds on the event loop (it only queues the event)
  shutdown   ms to make the spans, metrics and log records from the queued events, encode and write
             them (the run's records thread, inside runner.run(); a long run's flusher does part of it)
  total      µs/node of both together: what telemetry costs per node for this stream, where every
             10th node logs a record (the SDK's protobuf encoder, ~200 µs each) and every 5th reports
             model usage; issue #6's target (<= 25 µs/node) is for tracing, measured by engine_bench.py

With --engine, also runs a chain of noop nodes through dad_studio.engine (records on) with telemetry
on and off, and prints the wall and CPU time per node each way (telemetry shutdown included).

Run: /work/venv/bin/python bench/telemetry_bench.py [--nodes 1000] [--rounds 5] [--engine]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dad_studio.observability import ObservabilitySettings, RunTelemetry


def chain_events(nodes: int) -> list[dict[str, Any]]:
    """run_started, the root component, per node started+completed (every 5th an ai_model with usage,
    every 10th with a log event), then the closing events: what the engine emits for a chain."""
    now = datetime(2025, 1, 1, tzinfo=UTC)
    seq = 0
    events: list[dict[str, Any]] = []

    def emit(type_: str, path: str, **fields: Any) -> None:
        nonlocal seq, now
        seq += 1
        now += timedelta(microseconds=150)
        events.append({"seq": seq, "ts": now.isoformat(), "type": type_, "path": path, **fields})

    emit(
        "run_started",
        "f",
        run_id="bench",
        root_component_id="f",
        previous_run_id=None,
        start_hierarchy_path=None,
        variables={},
    )
    emit("component_started", "f", kind="flow", status="running")
    for i in range(nodes):
        path = f"f.n{i}"
        ai = i % 5 == 0
        node_type = "ai_model" if ai else "noop"
        emit("node_started", path, node_type=node_type, attempt=1)
        if i % 10 == 0:
            emit("log", path, level="info", message=f"node {i} says hello")
        usage = {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42, "cost": 0.0003} if ai else None
        emit(
            "node_completed",
            path,
            node_type=node_type,
            status="completed",
            input={"x": i},
            output={"text": "ok"},
            outcome={"value": "ok"},
            error=None,
            usage=usage,
            started_at=now.isoformat(),
            ended_at=now.isoformat(),
            duration_ms=0.15,
            attempts=1,
            **({"model": "echo"} if ai else {}),
        )
    emit("component_completed", "f", kind="flow", status="completed")
    emit("run_completed", "f", status="completed", counts={"completed": nodes}, usage=None, duration_ms=1.0)
    return events


def feed(sink: Any, events: list[dict[str, Any]]) -> float:
    # CPU time of this thread: on a shared machine wall time mostly measures the neighbours
    # (the flusher thread does not run during the feed: its interval is 5 s).
    start = time.thread_time()
    for event in events:
        sink(event)
    return time.thread_time() - start


def engine_round(tmp: Path, nodes: int, telemetry: bool) -> tuple[float, float]:
    import asyncio

    from dad_studio.engine import FlowRunner, RunContext
    from dad_studio.model import FlowDefinition

    flow = FlowDefinition(id="f")
    for i in range(nodes):
        flow.node(f"n{i}", type="noop")
        if i:
            flow.connect(f"n{i - 1}", f"n{i}")
    settings = None if telemetry else {"enabled": False}
    rc = RunContext(project_root=tmp, run_root=tmp / "runs", observability_settings=settings)
    rc.setup_run("bench")
    wall, cpu = time.perf_counter(), time.process_time()
    result = asyncio.run(FlowRunner(flow, rc).run())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert result.status.value == "completed", result.status
    assert (result.run_dir / "trace" / "spans.jsonl").exists() == telemetry
    return wall, cpu


def engine_bench(nodes: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for _ in range(rounds):
            for telemetry in (False, True):
                times[telemetry].append(engine_round(Path(tmp), nodes, telemetry))
    print(f"engine, {nodes}-node noop chain, records on, {rounds} rounds, medians (telemetry shutdown included)")
    for label, index in (("wall", 0), ("cpu ", 1)):
        off = statistics.median(t[index] for t in times[False]) / nodes * 1e6
        on = statistics.median(t[index] for t in times[True]) / nodes * 1e6
        print(f"  {label}  off {off:8.1f} µs/node   on {on:8.1f} µs/node   added {on - off:8.1f} µs/node")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--engine", action="store_true", help="also measure through the engine")
    args = parser.parse_args()
    events = chain_events(args.nodes)
    baseline, hot, shutdown = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            baseline.append(feed(lambda event: None, events))
            tel = RunTelemetry(Path(tmp) / f"r{r}", ObservabilitySettings(), run_id=f"bench_{r}")
            hot.append(feed(tel.on_event, events))
            start = time.process_time()
            tel.shutdown()
            shutdown.append(time.process_time() - start)
            assert not tel.errors, tel.errors
    n = args.nodes
    base = statistics.median(baseline) / n * 1e6
    added = statistics.median(h - b for h, b in zip(hot, baseline, strict=True)) / n * 1e6
    end = statistics.median(shutdown) * 1e3
    print(f"events: {len(events)} for {n} nodes, {args.rounds} rounds, medians")
    print(f"no-op sink       {base:8.2f} µs/node")
    total = added + end * 1e3 / n
    print(f"hot path added   {added:8.2f} µs/node   (on_event: the event is queued)")
    print(f"shutdown export  {end:8.1f} ms  = {end * 1e3 / n:.1f} µs/node (spans, metrics, logs made and written)")
    print(
        f"total added      {total:8.2f} µs/node   (spans, metrics and the log records of this synthetic stream;"
        " issue #6's <= 25 is what tracing adds to engine_bench's chain)"
    )
    if args.engine:
        engine_bench(n, args.rounds)


if __name__ == "__main__":
    main()
