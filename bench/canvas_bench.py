"""Canvas scale: open flows of N nodes (chains + fan-out) and measure paint and pan, one process per case.

    /work/venv/bin/python bench/canvas_bench.py [--sizes 100,500,2000,5000] [--frames 30] [--reps 1]
        [--no-baseline] [--baseline-max 2000]

Each case runs in a fresh interpreter (peak RSS is per process). Rows: `studio` is our canvas built
from a FlowDocument (the studio's real open path: document -> CanvasWidget.set_document -> first
paint); `nodegraphqt` is plain NodeGraphQt (graph.create_node + connect, no widgets, push_undo off)
for comparison. Targets (issue 7): 2,000 nodes open <= 1.5 s, <= 600 MB peak, pan frame <= 30 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

TARGETS = {"open_s": 1.5, "peak_mb": 600, "pan_ms": 30}


def flow(n: int):  # type: ignore[no-untyped-def]
    """Chains of 20 with a fan-out of each chain head to the next chain's nodes every 5th step."""
    from dad_studio.model import FlowDefinition

    f = FlowDefinition(id="bench")
    for i in range(n):
        f.node(f"n{i}", type="noop")
        f.layout[f"n{i}"] = ((i % 20) * 240, (i // 20) * 140)
    f.edges = []
    for i in range(1, n):
        if i % 20:
            f.connect(f"n{i - 1}", f"n{i}")
        elif i >= 20:
            f.connect(f"n{i - 20}", f"n{i}", on_error=True)
    for i in range(0, n - 25, 25):
        f.connect(f"n{i}", f"n{i + 23}")
    return f


def _timed(fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(wall ms, CPU ms) of one call: the machine is shared, CPU time tells our cost from waiting."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - w) * 1000, (time.process_time() - c) * 1000


def _median(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def measure_zoom(app, view, frames: int, prefix: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """At the view's current zoom: first full repaint, median full repaint, median pan frame.

    A pan frame is a scroll by 15 px plus a synchronous repaint of the whole viewport (a real pan
    repaints only the uncovered strip, so this is the conservative figure).
    """
    viewport = view.viewport()
    first = _timed(viewport.repaint)
    repaints = []
    for _ in range(max(5, frames // 3)):
        viewport.update()
        repaints.append(_timed(viewport.repaint))
    bar = view.horizontalScrollBar()
    step = [15]

    def pan() -> None:
        if bar.value() + step[0] > bar.maximum() or bar.value() + step[0] < bar.minimum():
            step[0] = -step[0]
        bar.setValue(bar.value() + step[0])
        viewport.repaint()
        app.processEvents()

    pans = [_timed(pan) for _ in range(frames)]
    (rw, rc), (pw, pc) = _median(repaints), _median(pans)
    return {
        f"{prefix}first_ms": first[0],
        f"{prefix}first_cpu_ms": first[1],
        f"{prefix}repaint_ms": rw,
        f"{prefix}repaint_cpu_ms": rc,
        f"{prefix}pan_ms": pw,
        f"{prefix}pan_cpu_ms": pc,
    }


def measure_view(app, view, frames: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Repaint and pan at 100% zoom (what a user sees while working) and with every node fitted."""
    from PySide6 import QtCore

    view.resetTransform()
    if hasattr(view, "zoom_changed"):
        view.zoom_changed.emit()  # what zoom_by() does after a user zoom
    result = measure_zoom(app, view, frames, "")
    view.fitInView(view.scene().itemsBoundingRect(), QtCore.Qt.AspectRatioMode.KeepAspectRatio)
    if hasattr(view, "zoom_changed"):
        view.zoom_changed.emit()
    result.update(measure_zoom(app, view, frames, "fit_"))
    result["fit_zoom"] = view.transform().m11()
    return result


def run_studio(n: int, frames: int) -> dict[str, float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import dad_studio.ui  # noqa: F401

    f = flow(n)
    from PySide6 import QtWidgets

    from dad_studio.editor import FlowDocument
    from dad_studio.model import default_registry
    from dad_studio.ui.canvas.widget import CanvasWidget

    app = QtWidgets.QApplication([])
    registry = default_registry()
    t0, c0 = time.perf_counter(), time.process_time()
    doc = FlowDocument(f, registry=registry)
    canvas = CanvasWidget(registry)
    canvas.resize(1280, 800)
    canvas.show()
    canvas.set_document(doc)
    canvas.view.viewport().repaint()
    app.processEvents()
    opened = {"open_s": time.perf_counter() - t0, "open_cpu_s": time.process_time() - c0}
    result = {**opened, **measure_view(app, canvas.view, frames)}
    canvas.shutdown()
    return result


def run_nodegraphqt(n: int, frames: int) -> dict[str, float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["QT_PREFERRED_BINDING"] = "PySide6"
    f = flow(n)
    from NodeGraphQt import BaseNode, NodeGraph
    from PySide6 import QtWidgets

    app = QtWidgets.QApplication([])

    class Node(BaseNode):  # type: ignore[misc]
        __identifier__ = "bench"
        NODE_NAME = "node"

        def __init__(self) -> None:
            super().__init__()
            self.add_input("in")
            self.add_output("out")
            self.add_output("error")

    t0, c0 = time.perf_counter(), time.process_time()
    graph = NodeGraph()
    graph.register_node(Node)
    widget = graph.widget
    widget.resize(1280, 800)
    widget.show()
    nodes = {}
    for node_id in f.nodes:
        x, y = f.layout[node_id]
        nodes[node_id] = graph.create_node("bench.Node", name=node_id, pos=[x, y], push_undo=False)
    for edge in f.edges or []:
        port = "error" if edge.on == "error" else "out"
        nodes[edge.source].get_output(port).connect_to(nodes[edge.target].get_input("in"), push_undo=False)
    graph.viewer().viewport().repaint()
    app.processEvents()
    opened = {"open_s": time.perf_counter() - t0, "open_cpu_s": time.process_time() - c0}
    return {**opened, **measure_view(app, graph.viewer(), frames)}


def child(kind: str, n: int, frames: int) -> None:
    result = run_studio(n, frames) if kind == "studio" else run_nodegraphqt(n, frames)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,500,2000,5000")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--no-baseline", action="store_true", help="skip the plain NodeGraphQt rows")
    parser.add_argument("--baseline-max", type=int, default=2000, help="largest size for the baseline (slow)")
    parser.add_argument("--reps", type=int, default=1, help="fresh processes per case (medians across them)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.frames)
        return 0
    print(
        "wall/CPU pairs are medians; 'first' is the first repaint after the zoom change; a pan frame is\n"
        "a 15 px scroll + a full-viewport repaint. Columns at 100% zoom, then at fit zoom (whole graph).\n"
    )
    header = (
        f"{'canvas':<12}{'nodes':>6}{'open s w/cpu':>14}{'peak MB':>8} |{'first w/cpu':>13}{'repaint w/cpu':>15}"
        f"{'pan w/cpu':>13} |{'zoom':>6}{'first w/cpu':>13}{'repaint w/cpu':>15}{'pan w/cpu':>13}"
    )
    print(header)
    rows: dict[tuple[str, int], dict[str, float]] = {}
    for n in (int(s) for s in args.sizes.split(",")):
        kinds = ["studio"] + ([] if args.no_baseline or n > args.baseline_max else ["nodegraphqt"])
        for kind in kinds:
            cmd = [sys.executable, __file__, "--child", kind, str(n), "--frames", str(args.frames)]
            runs = []
            for _ in range(args.reps):
                out = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if out.returncode != 0:
                    print(f"{kind:<12}{n:>6}  failed: {out.stderr.strip().splitlines()[-1:]}")
                    break
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            if not runs:
                continue
            r = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
            rows[(kind, n)] = r

            def pair(key: str, r: dict[str, float] = r) -> str:
                return f"{r[key]:.1f}/{r[key.replace('_ms', '_cpu_ms')]:.1f}"

            print(
                f"{kind:<12}{n:>6}{r['open_s']:>8.2f}/{r['open_cpu_s']:<5.2f}{r['peak_mb']:>8.0f} |"
                f"{pair('first_ms'):>13}{pair('repaint_ms'):>15}{pair('pan_ms'):>13} |"
                f"{r['fit_zoom']:>6.2f}{pair('fit_first_ms'):>13}{pair('fit_repaint_ms'):>15}{pair('fit_pan_ms'):>13}"
            )
        if ("studio", n) in rows and ("nodegraphqt", n) in rows:
            s, b = rows[("studio", n)], rows[("nodegraphqt", n)]
            print(
                f"{'  ratio':<12}{n:>6}{s['open_s'] / b['open_s']:>8.2f}{'':6}{s['peak_mb'] / b['peak_mb']:>8.2f} |"
                f"{'':13}{s['repaint_ms'] / b['repaint_ms']:>15.2f}{s['pan_ms'] / b['pan_ms']:>13.2f} |{'':19}"
                f"{s['fit_repaint_ms'] / b['fit_repaint_ms']:>15.2f}{s['fit_pan_ms'] / b['fit_pan_ms']:>13.2f}"
            )
    if ("studio", 2000) in rows:
        r = rows[("studio", 2000)]
        ok = (
            r["open_s"] <= TARGETS["open_s"] and r["peak_mb"] <= TARGETS["peak_mb"] and r["pan_ms"] <= TARGETS["pan_ms"]
        )
        fit_ok = r["fit_pan_ms"] <= TARGETS["pan_ms"]
        print(
            f"2,000-node targets (open <= 1.5 s, <= 600 MB, pan at 100% <= 30 ms): {'met' if ok else 'NOT met'};"
            f" goal pan at fit zoom <= 30 ms: {'met' if fit_ok else 'NOT met'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
