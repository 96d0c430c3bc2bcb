"""Run history in the studio (Qt, offscreen): the panel listing 1,000 runs, the viewer opening a
10,000-event run, and one timeline step with the canvas and panels updated.

    QT_QPA_PLATFORM=offscreen /work/venv/bin/python bench/history_ui_bench.py [--runs 1000] [--events 10000]

The run folders come from bench/history_bench.py's generator (the real RunWriter). Measured:
- listing: `HistoryPanel.set_run_root` (index read, model filled, proxy sorted) + first paint of
  the table (`table.viewport().repaint()`), index already built; target <= 200 ms.
- open: `RunViewer.open_run` on the big run (Replay parse, snapshot canvas, fold to the last event,
  context tree + outcome panel + canvas statuses) + first paint; target <= 500 ms.
- step: `RunViewer.go_to(k +- 1)` (replay, canvas items, context rows, outcome panel) + processing
  the paint it queues; target <= 16 ms. Also a slider jump (any k), for the record.
Medians of wall time (what a user waits under the machine's current load) and of this thread's CPU
time (what the code costs) are printed; the Qt-free parts are in bench/history_bench.py.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))

from history_bench import figures, pct, write_big_run, write_small_runs
from PySide6 import QtCore, QtWidgets

import dad_studio.ui  # noqa: F401
from dad_studio.runs import RunIndex
from dad_studio.ui.history.panel import HistoryPanel
from dad_studio.ui.history.viewer import RunViewer
from dad_studio.ui.resources import stylesheet

TARGETS_MS = {"list": 200.0, "open": 500.0, "step": 16.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    QtCore.qInstallMessageHandler(lambda *_: None)  # offscreen's "propagateSizeHints" line per window
    app = QtWidgets.QApplication([])
    root = Path(tempfile.mkdtemp(prefix="history_ui_bench_"))
    try:
        t0 = time.perf_counter()
        write_small_runs(root, args.runs)
        big = write_big_run(root, args.events)
        with RunIndex(root) as index:
            listed = len(index.list())
        print(f"wrote and indexed {listed} runs (one of {args.events} events) in {time.perf_counter() - t0:.1f} s")

        lists: list[float] = []
        list_cpu: list[float] = []
        for _ in range(9):
            panel = HistoryPanel()
            panel.resize(1200, 500)
            panel.setStyleSheet(stylesheet("dark"))
            panel.show()
            app.processEvents()
            t0, c0 = time.perf_counter(), time.thread_time()
            panel.set_run_root(root)
            panel.table.viewport().repaint()
            list_cpu.append((time.thread_time() - c0) * 1000)
            lists.append((time.perf_counter() - t0) * 1000)
            assert panel.model.rowCount() == listed
            panel.wait_idle()
            app.processEvents()
            panel.shutdown()
            panel.close()
            panel.deleteLater()
            app.processEvents()
        print(f"panel listing {listed} runs (model + sort + first paint): {figures(lists, list_cpu)} "
              f"[target <= {TARGETS_MS['list']:.0f}]")  # fmt: skip

        viewer = RunViewer()
        viewer.setStyleSheet(stylesheet("dark"))
        viewer.resize(1300, 820)
        viewer.show()
        app.processEvents()
        opens: list[float] = []
        open_cpu: list[float] = []
        for _ in range(7):
            t0, c0 = time.perf_counter(), time.thread_time()
            viewer.open_run(big)
            viewer.repaint()
            open_cpu.append((time.thread_time() - c0) * 1000)
            opens.append((time.perf_counter() - t0) * 1000)
            app.processEvents()
        session = viewer.session
        assert session is not None
        n = len(session)
        print(f"viewer opening the big run ({n} events, {len(session.state.nodes)} elements, "
              f"canvas + context + outcome + paint): {figures(opens, open_cpu)} "
              f"[target <= {TARGETS_MS['open']:.0f}]")  # fmt: skip

        # step inside a group so that the canvas shows the elements being stepped over
        viewer.select_node("g3.n1")
        viewer.outcomes.show_path(f"{session.root_id}.g3.n1")
        app.processEvents()
        rng = random.Random(3)
        steps: list[float] = []
        step_cpu: list[float] = []
        k0 = next(i for i, e in enumerate(session.replay.events, 1) if e["path"].startswith("big.g3."))
        viewer.go_to(k0)
        app.processEvents()
        for _ in range(400):
            target = viewer.step + rng.choice((1, 1, 1, -1))
            if not 0 < target < n:
                target = k0
            t0, c0 = time.perf_counter(), time.thread_time()
            viewer.go_to(target)
            app.processEvents()
            step_cpu.append((time.thread_time() - c0) * 1000)
            steps.append((time.perf_counter() - t0) * 1000)
        print(f"one timeline step +-1 (400, canvas + panels + paint): {figures(steps, step_cpu, 2)}, "
              f"p99 {pct(steps, 0.99):.2f} ms wall ({pct(step_cpu, 0.99):.2f} CPU), max {max(steps):.2f} ms "
              f"[target <= {TARGETS_MS['step']:.0f}]")  # fmt: skip
        jumps: list[float] = []
        for _ in range(60):
            t0 = time.perf_counter()
            viewer.timeline.slider.setValue(rng.randint(0, n))
            app.processEvents()
            jumps.append((time.perf_counter() - t0) * 1000)
        print(f"slider jump to any step (60, views rebuilt): median {statistics.median(jumps):.1f} ms, "
              f"p99 {pct(jumps, 0.99):.1f} ms")  # fmt: skip
        viewer.shutdown()
        viewer.close()
        QtCore.QCoreApplication.processEvents()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
