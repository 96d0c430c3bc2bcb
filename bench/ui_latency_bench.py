#!/usr/bin/env python
"""Does a run stall the studio? A 5 ms QTimer records its gaps while a big flow runs in the studio.

    python bench/ui_latency_bench.py                  # 1,000-node noop chain, 3 repetitions
    python bench/ui_latency_bench.py --n 2000 --shape mix --reps 5
    python bench/ui_latency_bench.py --attribute      # + where the UI thread's time went

Offscreen (QT_QPA_PLATFORM=offscreen). Per repetition: the run is started with the real Run action
in a shown MainWindow (canvas fitted, run panels docked); the gaps between the 5 ms timer's ticks
are recorded until the run's stream ends. Printed: max / p99 / p50 gap (the p99 over the gaps of every
repetition pooled, with the sample count: one repetition is only ~40-60 gaps), the studio run's wall time,
and, in the same process, the same flow run headless with FlowRunner (no UI): on a plain asyncio
loop (what the CLI does) and on the qasync loop without a window (to tell qasync's own cost from
the studio's). Targets (issue 8): max gap <= 50 ms, p99 <= 20 ms, studio <= 1.5x headless.

Shapes: `chain` (n noop nodes in a line) and `mix` (a chain where every 10th node is a for_each
of 3 noops and every 25th a sleep of 1 ms, so loop contexts and timers are involved too).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TICK_MS = 5
CPU_S: list[float] = []
"""Process CPU seconds of each studio run (Run pressed -> stream ended): the machine is shared, so
a wall time far above its CPU time says the run waited for a core, not for the studio."""


def make_flow(n: int, shape: str) -> dict[str, Any]:
    nodes: dict[str, Any] = {}
    layout: dict[str, list[int]] = {}
    for i in range(n):
        node_id = f"n{i:04d}"
        if shape == "mix" and i % 10 == 5:
            nodes[node_id] = {
                "type": "for_each",
                "settings": {
                    "statement": "$expr{[1, 2, 3]}",
                    "item_var": "item",
                    "max_iterations": 5,
                    "body": {"kind": "flow", "nodes": {"each": {"type": "noop", "settings": {"value": "$var{item}"}}}},
                },
            }
        elif shape == "mix" and i % 25 == 7:
            nodes[node_id] = {"type": "sleep", "settings": {"seconds": 0.001}}
        else:
            nodes[node_id] = {"type": "noop"}
        layout[node_id] = [(i % 40) * 240, (i // 40) * 140]
    edges = [{"from": f"n{i:04d}", "to": f"n{i + 1:04d}"} for i in range(n - 1)]
    root = {"id": "bench", "kind": "flow", "nodes": nodes, "edges": edges, "layout": layout}
    return {"format": "dad-flow", "schema_version": 1, "root": root}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def headless_once(flow_path: Path, run_root: Path) -> float:
    from dad_studio.engine import FlowRunner, RunContext
    from dad_studio.fileformat import load_flow

    component = load_flow(flow_path).component
    assert component is not None
    rc = RunContext(
        root_component_id="bench", project_root=flow_path.parent.parent, run_root=run_root, flow_path=flow_path
    )
    rc.setup_run()
    runner = FlowRunner(component, rc)
    t0 = time.perf_counter()
    async with runner.iter() as run:
        async for _event in run:
            pass
    wall = time.perf_counter() - t0
    assert runner.result is not None and runner.result.status.value == "completed", runner.result
    await runner.aclosed()  # its index rows are written after the run returns: not in the next run's time
    return wall


async def studio_once(win: Any) -> tuple[float, list[float]]:
    """One run started with the Run action while a 5 ms timer ticks; (run wall time, gaps in ms)."""
    from PySide6 import QtCore

    ticks: list[float] = []
    timer = QtCore.QTimer()
    timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    timer.setInterval(TICK_MS)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    await asyncio.sleep(0.2)  # let the window settle
    timer.start()
    await asyncio.sleep(0.05)
    finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def done(_session: object) -> None:
        if not finished.done():
            finished.set_result(None)

    win.runs.session_finished.connect(done)
    cpu0 = time.process_time()
    pressed = time.perf_counter()
    win.runs.actions["run"].trigger()
    session = win.runs.sessions[-1]
    await finished
    CPU_S.append(time.process_time() - cpu0)
    await asyncio.sleep(0.05)
    timer.stop()
    assert session.status == "completed", (session.status, session.error)
    assert session.wall_s is not None
    RUN_WINDOWS.append((pressed, pressed + session.wall_s))
    LONG_GAPS.extend((a, b) for a, b in itertools.pairwise(ticks) if b - a > 0.02)
    return session.wall_s, [(b - a) * 1000 for a, b in itertools.pairwise(ticks)]


ATTRIBUTED = (
    ("dad_studio.ui.canvas.view", "CanvasView", "drawForeground", "canvas far-zoom paint"),
    ("dad_studio.ui.run.canvas_status", "CanvasRunOverlay", "_apply_queued", "canvas status batch"),
    ("dad_studio.ui.run.canvas_status", "CanvasRunOverlay", "refresh_all", "canvas status refresh_all"),
    ("dad_studio.ui.run.canvas_status", "CanvasRunOverlay", "_drain", "canvas items slice"),
    ("dad_studio.ui.run.canvas_status", "CanvasRunOverlay", "_regroup_overview", "canvas overview regroup"),
    ("dad_studio.ui.run.canvas_status", "CanvasRunOverlay", "_animate", "canvas animation tick"),
    ("dad_studio.ui.run.controller", "RunController", "start_run", "run start (controller)"),
    ("dad_studio.ui.run.controller", "RunController", "flush", "run event flush (controller)"),
    ("dad_studio.ui.run.controller", "RunController", "_show_folded", "run views shown (controller)"),
    ("dad_studio.ui.run.context_panel", "ContextPanel", "rebuild", "context panel rebuild"),
    ("dad_studio.ui.run.context_panel", "ContextPanel", "update_from", "context panel batch"),
    ("dad_studio.ui.run.context_panel", "ContextPanel", "_continue_build", "context rows slice"),
    ("dad_studio.ui.run.context_panel", "ContextPanel", "_apply_updates", "context updates slice"),
    ("dad_studio.ui.run.context_panel", "ContextPanel", "refresh_scope", "context scope refresh"),
    ("dad_studio.ui.run.artifacts", "ArtifactBrowser", "_fill", "artifact list fill"),
    ("dad_studio.ui.run.outcome_panel", "OutcomePanel", "rebuild", "outcome panel rebuild"),
    ("dad_studio.ui.run.log_panel", "LogPanel", "update_from", "log panel batch"),
)
"""UI-thread functions timed with --attribute (CPU and wall per call): which of them make the gaps."""


TIMELINE: list[tuple[float, float, str]] = []
"""(start, end, label) of every attributed call (--attribute): matched against the long gaps."""
LONG_GAPS: list[tuple[float, float]] = []
RUN_WINDOWS: list[tuple[float, float]] = []
"""(Run pressed, stream ended) of every studio repetition (--attribute: what ran inside each)."""
"""(start, end) of every gap over 20 ms."""


def asyncio_label(handle: Any) -> str:
    callback = getattr(handle, "_callback", None)
    task = getattr(callback, "__self__", None)
    if isinstance(task, asyncio.Task):
        coro = task.get_coro()
        return f"asyncio task {getattr(coro, '__qualname__', task.get_name())}"[:60]
    return f"asyncio {getattr(callback, '__qualname__', repr(callback))}"[:60]


def attribute(spans: dict[str, list[tuple[float, float]]]) -> None:
    """Wrap the ATTRIBUTED methods so that each call's (wall ms, CPU ms) lands in `spans`."""
    import functools
    import importlib

    for module_name, cls_name, method, label in ATTRIBUTED:
        cls = getattr(importlib.import_module(module_name), cls_name, None)
        original = getattr(cls, method, None) if cls is not None else None
        if original is None:
            print(f"  (--attribute: {module_name}.{cls_name}.{method} not found)")
            continue

        @functools.wraps(original)
        def timed(*a: Any, _original: Any = original, _label: str = label, **k: Any) -> Any:
            w, c = time.perf_counter(), time.process_time()
            try:
                return _original(*a, **k)
            finally:
                end = time.perf_counter()
                spans.setdefault(_label, []).append(((end - w) * 1000, (time.process_time() - c) * 1000))
                TIMELINE.append((w, end, _label))

        setattr(cls, method, timed)
    import asyncio.events

    run_handle = asyncio.events.Handle._run

    def timed_run(handle: Any) -> None:
        """Every asyncio callback of 2 ms or more, named by its task's coroutine (engine chunks)."""
        w, c = time.perf_counter(), time.process_time()
        try:
            run_handle(handle)
        finally:
            end = time.perf_counter()
            if end - w >= 0.002:
                label = asyncio_label(handle)
                spans.setdefault(label, []).append(((end - w) * 1000, (time.process_time() - c) * 1000))
                TIMELINE.append((w, end, label))

    asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]
    import gc

    started: list[tuple[float, float]] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append((time.perf_counter(), time.process_time()))
        elif started:
            w, c = started.pop()
            label = f"python GC gen {info.get('generation')}"
            end = time.perf_counter()
            spans.setdefault(label, []).append(((end - w) * 1000, (time.process_time() - c) * 1000))
            TIMELINE.append((w, end, label))

    gc.callbacks.append(on_gc)


def timed_app(spans: dict[str, list[tuple[float, float]]]) -> Any:
    """A QApplication whose notify() times every outermost Qt event delivery of 2 ms or more
    (timers, posted calls, window repaints) and every widget paint of 2 ms or more inside them,
    named by event type and receiver class."""
    from PySide6 import QtCore, QtWidgets

    class TimedApp(QtWidgets.QApplication):
        depth = 0

        def notify(self, receiver: QtCore.QObject, event: QtCore.QEvent) -> bool:
            TimedApp.depth += 1
            w, c = time.perf_counter(), time.process_time()
            try:
                return super().notify(receiver, event)
            finally:
                TimedApp.depth -= 1
                end = time.perf_counter()
                paint = event.type() == QtCore.QEvent.Type.Paint
                if (TimedApp.depth == 0 or paint) and end - w >= 0.002:
                    label = f"Qt {event.type().name} -> {type(receiver).__name__}"[:60]
                    try:
                        if isinstance(receiver, QtCore.QTimer):  # which timer: its owner and interval
                            owner = type(receiver.parent()).__name__ if receiver.parent() is not None else "-"
                            label = f"Qt QTimer {receiver.interval()} ms of {owner}"[:60]
                        if paint and isinstance(receiver, QtWidgets.QWidget) and receiver.parent() is not None:
                            label += f" in {type(receiver.parent()).__name__}"
                    except RuntimeError:  # the receiver was deleted by what it handled
                        pass
                    spans.setdefault(label, []).append(((end - w) * 1000, (time.process_time() - c) * 1000))
                    if TimedApp.depth == 0:
                        TIMELINE.append((w, end, label))

    return TimedApp([])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--shape", choices=("chain", "mix"), default="chain")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    parser.add_argument("--attribute", action="store_true", help="time the UI functions in ATTRIBUTED")
    args = parser.parse_args(argv)
    spans: dict[str, list[tuple[float, float]]] = {}
    if args.attribute:
        attribute(spans)

    from PySide6 import QtCore, QtWidgets

    import dad_studio.ui  # noqa: F401
    from dad_studio.ui.loop import close_loop, make_loop
    from dad_studio.ui.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="dad-ui-bench-"))
    flow_path = tmp / "proj" / "flows" / "bench.dad.json"
    flow_path.parent.mkdir(parents=True)
    flow_path.write_text(json.dumps(make_flow(args.n, args.shape)), encoding="utf-8")

    # headless, plain asyncio loop (the CLI's situation)
    plain = [asyncio.run(headless_once(flow_path, tmp / "headless_runs")) for _ in range(args.reps)]

    app = QtWidgets.QApplication.instance() or (timed_app(spans) if args.attribute else QtWidgets.QApplication([]))
    assert isinstance(app, QtWidgets.QApplication)
    app.setQuitOnLastWindowClosed(False)
    loop = make_loop(app)
    on_qasync = [loop.run_until_complete(headless_once(flow_path, tmp / "qasync_runs")) for _ in range(args.reps)]

    settings = QtCore.QSettings(str(tmp / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, state_dir=tmp / "state")
    win.ask_save_changes = lambda: "discard"  # type: ignore[method-assign]
    win.resize(1400, 900)
    win.show()
    for _ in range(5):
        app.processEvents()
    assert win.open_file(flow_path)
    win.canvas.view.fit()

    studio: list[float] = []
    paired: list[float] = []
    """Per repetition: the same flow headless on this qasync loop (the window idle) right before the
    studio run, so both of a pair meet the shared machine in the same state."""
    all_gaps: list[list[float]] = []
    for _rep in range(args.reps):
        paired.append(loop.run_until_complete(headless_once(flow_path, tmp / "qasync_runs")))
        wall, gaps = loop.run_until_complete(studio_once(win))
        studio.append(wall)
        all_gaps.append(gaps)

    win.shutdown()
    win.close()
    close_loop(loop)

    reps = []
    for wall, before, gaps in zip(studio, paired, all_gaps, strict=True):
        reps.append(
            {
                "wall_s": wall,
                "paired_headless_s": before,
                "max_gap_ms": max(gaps),
                "p99_ms": percentile(gaps, 0.99),
                "p50_ms": percentile(gaps, 0.5),
            }
        )
    pooled = [gap for gaps in all_gaps for gap in gaps]
    """One rep is ~40-60 gaps, so its own "p99" is its max: the percentile is taken over every rep's gaps."""
    summary = {
        "n": args.n,
        "shape": args.shape,
        "reps": args.reps,
        "max_gap_ms": statistics.median(r["max_gap_ms"] for r in reps),
        "worst_max_gap_ms": max(r["max_gap_ms"] for r in reps),
        "p99_ms": percentile(pooled, 0.99),
        "p99_samples": len(pooled),
        "over_20ms": sum(gap > 20 for gap in pooled),
        "median_rep_p99_ms": statistics.median(r["p99_ms"] for r in reps),
        "studio_cpu_s": statistics.median(CPU_S),
        "p50_ms": statistics.median(r["p50_ms"] for r in reps),
        "studio_s": statistics.median(studio),
        "headless_asyncio_s": statistics.median(plain),
        "headless_qasync_s": statistics.median(on_qasync),
    }
    summary["ratio_paired"] = statistics.median(a / b for a, b in zip(studio, paired, strict=True))
    summary["ratio_vs_asyncio"] = summary["studio_s"] / summary["headless_asyncio_s"]
    summary["ratio_vs_qasync"] = summary["studio_s"] / summary["headless_qasync_s"]
    print(f"{args.n}-node {args.shape}, {args.reps} repetitions (medians; per-rep figures below)")
    print(
        f"  5 ms timer gaps: max {summary['max_gap_ms']:.1f} ms (worst rep {summary['worst_max_gap_ms']:.1f})"
        f"   p99 {summary['p99_ms']:.1f} ms (pooled over {summary['p99_samples']} gaps of all reps;"
        f" {summary['over_20ms']} over 20 ms)   p50 {summary['p50_ms']:.1f} ms    targets: max <= 50, p99 <= 20"
    )
    print(
        f"  run wall time: studio {summary['studio_s']:.3f} s   headless asyncio {summary['headless_asyncio_s']:.3f} s"
        f"   headless on qasync {summary['headless_qasync_s']:.3f} s   (studio run CPU {summary['studio_cpu_s']:.3f} s)"
    )
    print(
        f"  ratio studio / headless asyncio: {summary['ratio_vs_asyncio']:.2f}x   "
        f"studio / headless qasync: {summary['ratio_vs_qasync']:.2f}x    target <= 1.5x"
    )
    print(
        f"  paired (each studio run / the headless qasync run just before it, median of {args.reps}): "
        f"{summary['ratio_paired']:.2f}x    target <= 1.5x"
    )
    for i, rep in enumerate(reps):
        print(
            f"  rep {i}: wall {rep['wall_s']:.3f} s (headless before it {rep['paired_headless_s']:.3f} s)  CPU {CPU_S[i]:.3f} s"
            f"  max {rep['max_gap_ms']:.1f}  p99 {rep['p99_ms']:.1f}  p50 {rep['p50_ms']:.1f}"
        )
    if spans:
        print("  UI-thread time by function (all repetitions): calls, max wall / max CPU ms, total CPU ms")
        for label, calls in sorted(spans.items(), key=lambda kv: -max(c for _, c in kv[1])):
            print(
                f"    {label:<30}{len(calls):6d}{max(w for w, _ in calls):9.1f} /{max(c for _, c in calls):6.1f}"
                f"{sum(c for _, c in calls):10.1f}"
            )
    if spans:
        print("  per repetition, UI-thread wall ms inside the run (Run pressed -> stream ended; nested calls")
        print("  count in their callers too), the 8 biggest:")
        for rep, (a, b) in enumerate(RUN_WINDOWS):
            inside: dict[str, float] = {}
            for s, e, label in TIMELINE:
                if s < b and e > a and not label.startswith("asyncio task"):
                    inside[label] = inside.get(label, 0.0) + (min(e, b) - max(s, a)) * 1000
            top = sorted(inside.items(), key=lambda kv: -kv[1])[:8]
            print(f"    rep {rep} ({(b - a) * 1000:.0f} ms): " + ", ".join(f"{k} {v:.0f}" for k, v in top))
    if spans and LONG_GAPS:
        print("  gaps over 20 ms and the attributed calls inside them (wall ms):")
        for a, b in LONG_GAPS:
            inside = [f"{label} {(min(e, b) - max(s, a)) * 1000:.0f}" for s, e, label in TIMELINE if s < b and e > a]
            print(f"    {(b - a) * 1000:6.1f}: {', '.join(inside) or '-'}")
    if args.json:
        print(json.dumps(summary))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
